//! [`Imap`], [`ImapUnordered`] and their `try_` forms: proc-exec's bounded
//! `map` iterators in `multiprocessing`'s keep-going mode, with its errors.

use std::fmt;
use std::time::Duration;

use proc_exec::{Fallible, Map, MapError, MapInput, MapUnordered};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::PoolError;

/// The results of [`Pool::imap`](crate::Pool::imap), in input order.
///
/// A failed item yields its `Err` and the next item follows. An input that
/// panics yields [`PoolError::Input`] in its place and ends the iteration.
/// Dropping the iterator cancels the chunks not yet sent to a worker (see
/// [`Results`]).
pub type Imap<I, R> = Results<Map<I, R>>;

/// The results of [`Pool::try_imap`](crate::Pool::try_imap), in input
/// order: as [`Imap`], and the input's first `Err` is yielded in its place
/// as [`PoolError::Input`], ending the iteration.
pub type TryImap<I, R> = Results<Map<Fallible<I>, R>>;

/// The results of [`Pool::imap_unordered`](crate::Pool::imap_unordered), in
/// the order their chunks finish.
///
/// A failed item yields its `Err` and the iteration goes on. An input that
/// panics yields [`PoolError::Input`] once every item read before it was,
/// and ends the iteration. Dropping the iterator cancels the chunks not yet
/// sent to a worker (see [`Results`]).
pub type ImapUnordered<I, R> = Results<MapUnordered<I, R>>;

/// The results of
/// [`Pool::try_imap_unordered`](crate::Pool::try_imap_unordered): as
/// [`ImapUnordered`], and the input's first `Err` is yielded as
/// [`PoolError::Input`] once every item read before it was.
pub type TryImapUnordered<I, R> = Results<MapUnordered<Fallible<I>, R>>;

/// A proc-exec map iterator with the pool's errors: what [`Imap`] and
/// [`ImapUnordered`] are.
///
/// # Dropping
///
/// Dropping it, read to its end or not, cancels every chunk not yet sent
/// to a worker and reads no more input; the chunks already sent run to
/// their end and their results are discarded. An `imap` reads no input
/// before its first `next`, so one that is never read runs nothing. To run
/// one for its side effects, read it to the end:
/// `results.try_for_each(|r| r.map(drop))` stops at the first error and
/// returns it, `results.for_each(drop)` goes on past failed items.
#[must_use = "an imap runs only as it is read, and dropping it cancels the rest: read it, e.g. with `.for_each(drop)`"]
pub struct Results<M> {
    map: M,
}

impl<M> Results<M> {
    pub(crate) fn new(map: M) -> Self {
        Self { map }
    }
}

/// The proc-exec iterators a [`Results`] wraps: [`Map`] and
/// [`MapUnordered`].
pub trait NextTimeout: Iterator<Item = Result<Self::Value, MapError>> {
    /// What each item's task returns.
    type Value;

    /// The next item, waiting at most `timeout`.
    fn next_timeout(&mut self, timeout: Duration) -> Option<Result<Self::Value, MapError>>;
}

impl<I, R> NextTimeout for Map<I, R>
where
    I: MapInput,
    I::Arg: Serialize,
    R: DeserializeOwned + Send + 'static,
{
    type Value = R;

    fn next_timeout(&mut self, timeout: Duration) -> Option<Result<R, MapError>> {
        Map::next_timeout(self, timeout)
    }
}

impl<I, R> NextTimeout for MapUnordered<I, R>
where
    I: MapInput,
    I::Arg: Serialize,
    R: DeserializeOwned + Send + 'static,
{
    type Value = R;

    fn next_timeout(&mut self, timeout: Duration) -> Option<Result<R, MapError>> {
        MapUnordered::next_timeout(self, timeout)
    }
}

impl<M: NextTimeout> Results<M> {
    /// The next result, waiting at most `timeout` (Python's
    /// `next(timeout)`): [`PoolError::Timeout`] if it is not ready by then,
    /// and the iteration goes on (for `imap`, a later call yields that same
    /// item).
    pub fn next_timeout(&mut self, timeout: Duration) -> Option<Result<M::Value, PoolError>> {
        self.map
            .next_timeout(timeout)
            .map(|r| r.map_err(PoolError::from))
    }
}

impl<M: NextTimeout> Iterator for Results<M> {
    type Item = Result<M::Value, PoolError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.map.next().map(|r| r.map_err(PoolError::from))
    }

    /// The items still to come if the iteration runs to its end (an input
    /// that fails ends it early): exact when the input's `size_hint` is.
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.map.size_hint()
    }
}

/// When the input is an [`ExactSizeIterator`], so are the results (as
/// long as nothing ends them early, see [`Iterator::size_hint`] above):
/// a progress bar such as indicatif's `.progress()` can show them.
impl<M: NextTimeout + ExactSizeIterator> ExactSizeIterator for Results<M> {}

impl<M: fmt::Debug> fmt::Debug for Results<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Results").field(&self.map).finish()
    }
}
