//! [`Imap`] and [`ImapUnordered`]: proc-exec's bounded `map` iterators in
//! `multiprocessing`'s keep-going mode, with its errors.

use std::fmt;
use std::time::Duration;

use proc_exec::{Map, MapUnordered};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::PoolError;

/// The results of [`Pool::imap`](crate::Pool::imap), in input order.
///
/// A failed item yields its `Err` and the next item follows. Dropping the
/// iterator cancels the chunks not yet sent to a worker.
pub struct Imap<I: Iterator, R> {
    map: Map<I, R>,
}

impl<I: Iterator, R> Imap<I, R> {
    pub(crate) fn new(map: Map<I, R>) -> Self {
        Self { map }
    }
}

impl<I, R> Imap<I, R>
where
    I: Iterator,
    I::Item: Serialize,
    R: DeserializeOwned + Send + Sync + 'static,
{
    /// The next result, waiting at most `timeout` (Python's
    /// `next(timeout)`): [`PoolError::Timeout`] if it is not ready by then,
    /// and a later call yields that same item.
    pub fn next_timeout(&mut self, timeout: Duration) -> Option<Result<R, PoolError>> {
        self.map
            .next_timeout(timeout)
            .map(|r| r.map_err(PoolError::from))
    }
}

impl<I, R> Iterator for Imap<I, R>
where
    I: Iterator,
    I::Item: Serialize,
    R: DeserializeOwned + Send + Sync + 'static,
{
    type Item = Result<R, PoolError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.map.next().map(|r| r.map_err(PoolError::from))
    }
}

impl<I: Iterator, R> fmt::Debug for Imap<I, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Imap").field(&self.map).finish()
    }
}

/// The results of [`Pool::imap_unordered`](crate::Pool::imap_unordered), in
/// the order their chunks finish.
///
/// A failed item yields its `Err` and the iteration goes on. Dropping the
/// iterator cancels the chunks not yet sent to a worker.
pub struct ImapUnordered<I: Iterator, R> {
    map: MapUnordered<I, R>,
}

impl<I: Iterator, R> ImapUnordered<I, R> {
    pub(crate) fn new(map: MapUnordered<I, R>) -> Self {
        Self { map }
    }
}

impl<I, R> ImapUnordered<I, R>
where
    I: Iterator,
    I::Item: Serialize,
    R: DeserializeOwned + Send + Sync + 'static,
{
    /// The next result to finish, waiting at most `timeout`:
    /// [`PoolError::Timeout`] if none is ready by then; the iteration goes
    /// on.
    pub fn next_timeout(&mut self, timeout: Duration) -> Option<Result<R, PoolError>> {
        self.map
            .next_timeout(timeout)
            .map(|r| r.map_err(PoolError::from))
    }
}

impl<I, R> Iterator for ImapUnordered<I, R>
where
    I: Iterator,
    I::Item: Serialize,
    R: DeserializeOwned + Send + Sync + 'static,
{
    type Item = Result<R, PoolError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.map.next().map(|r| r.map_err(PoolError::from))
    }
}

impl<I: Iterator, R> fmt::Debug for ImapUnordered<I, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ImapUnordered").field(&self.map).finish()
    }
}
