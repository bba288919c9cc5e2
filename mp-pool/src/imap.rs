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
/// Dropping the iterator cancels the chunks not yet sent to a worker.
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
/// sent to a worker.
pub type ImapUnordered<I, R> = Results<MapUnordered<I, R>>;

/// The results of
/// [`Pool::try_imap_unordered`](crate::Pool::try_imap_unordered): as
/// [`ImapUnordered`], and the input's first `Err` is yielded as
/// [`PoolError::Input`] once every item read before it was.
pub type TryImapUnordered<I, R> = Results<MapUnordered<Fallible<I>, R>>;

/// A proc-exec map iterator with the pool's errors: what [`Imap`] and
/// [`ImapUnordered`] are.
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
}

impl<M: fmt::Debug> fmt::Debug for Results<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Results").field(&self.map).finish()
    }
}
