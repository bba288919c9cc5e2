//! `map_async` and `starmap_async`: a list cut into chunks, each chunk one
//! proc-exec task, gathered back into one list on the result handler.
//!
//! As in CPython the job is ready only when every chunk has finished (no
//! fail-fast). Unlike CPython, each item in a chunk carries its own outcome,
//! so the error reported is the first failing *item* in input order, not the
//! first failing chunk in arrival order: the same input gives the same error
//! every run.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use future_core::{Completer, Future};
use proc_exec::{ChunkFuture, Function, ProcessPoolExecutor, TaskError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::dispatch::Dispatcher;
use crate::error::PoolError;
use crate::result::{AsyncResult, Callbacks, finish, task_outcome};
use crate::sync::Mutex;

/// Python's default chunksize for `map`: `len / (4 * processes)`, plus one
/// if there is a remainder (so 100 items on 4 processes give 7, 3 give 1),
/// and nothing for an empty input.
pub(crate) fn default_chunksize(len: usize, processes: usize) -> usize {
    len.div_ceil(4 * processes.max(1))
}

/// The chunksize to use: `requested`, or Python's default.
pub(crate) fn chunksize(
    requested: Option<usize>,
    len: usize,
    processes: usize,
) -> Result<usize, PoolError> {
    match requested {
        Some(0) => Err(PoolError::ZeroChunksize),
        Some(n) => Ok(n),
        None => Ok(default_chunksize(len, processes)),
    }
}

/// Submits `items` in chunks of `chunksize` and returns the job that
/// gathers them.
pub(crate) fn map_async<A, R>(
    exec: &ProcessPoolExecutor,
    dispatcher: &Dispatcher,
    function: Function<A, R>,
    items: &[A],
    chunksize: usize,
    callbacks: Callbacks<Vec<R>>,
) -> Result<AsyncResult<Vec<R>>, PoolError>
where
    A: Serialize,
    R: DeserializeOwned + Send + Sync + 'static,
{
    let job = Future::new();
    let completer = job.completer();
    if items.is_empty() {
        dispatcher.run_later(move || finish(Ok(Vec::new()), callbacks, &completer));
        return Ok(AsyncResult::from_job(job));
    }
    let mut chunks = Vec::with_capacity(items.len().div_ceil(chunksize));
    for args in items.chunks(chunksize) {
        match exec.submit_chunk(function, args) {
            Ok(chunk) => chunks.push(chunk),
            Err(error) => {
                // The job is refused as a whole: nothing of it may run on.
                chunks.iter().for_each(|chunk| {
                    chunk.cancel();
                });
                return Err(error.into());
            }
        }
    }
    let gather = Arc::new(Mutex::new(Gather {
        arrived: (0..chunks.len()).map(|_| None).collect(),
        left: chunks.len(),
        callbacks: Some(callbacks),
        completer,
    }));
    for (index, chunk) in chunks.into_iter().enumerate() {
        let gather = Arc::clone(&gather);
        dispatcher.when_done(chunk, move |chunk| gather.lock().arrive(index, chunk));
    }
    Ok(AsyncResult::from_job(job))
}

/// The chunks of one map, gathered as they finish. Touched only on the
/// result handler.
struct Gather<R> {
    /// Each chunk's outcome, by position.
    arrived: Vec<Option<ChunkOutcome<R>>>,
    left: usize,
    callbacks: Option<Callbacks<Vec<R>>>,
    completer: Completer<Vec<R>, PoolError>,
}

/// One chunk's values, or its first failure.
type ChunkOutcome<R> = Result<Vec<R>, PoolError>;

impl<R: DeserializeOwned> Gather<R> {
    /// Chunk `index` finished: its items are decoded now, as the others
    /// still run; the last chunk to finish ends the job.
    fn arrive(&mut self, index: usize, chunk: ChunkFuture<R>) {
        // Decoding catches `Deserialize`'s panics; a failing item drops the
        // values decoded before it, and a panic in their `Drop` must still
        // count this chunk as arrived, or the job would never be ready.
        let values = catch_unwind(AssertUnwindSafe(|| {
            task_outcome(chunk.into_result())
                .and_then(|items| items.map(|item| item.map_err(PoolError::from)).collect())
        }))
        .unwrap_or_else(|payload| {
            let message = crate::result::panic_message(&*payload);
            future_core::drop_panic_payload(payload);
            let message = format!("dropping a result panicked: {message}");
            Err(PoolError::Task(TaskError::Panicked(message)))
        });
        self.arrived[index] = Some(values);
        self.left -= 1;
        if self.left > 0 {
            return;
        }
        let outcome = flatten(std::mem::take(&mut self.arrived));
        let callbacks = self.callbacks.take().unwrap_or_default();
        finish(outcome, callbacks, &self.completer);
    }
}

/// Every item's value in order, or the first failure in input order.
fn flatten<R>(chunks: Vec<Option<ChunkOutcome<R>>>) -> Result<Vec<R>, PoolError> {
    let mut values = Vec::new();
    for chunk in chunks {
        // Every chunk arrived before this is called.
        values.extend(chunk.unwrap_or(Err(PoolError::Terminated))?);
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_chunksize_is_pythons() {
        // CPython: divmod(len, 4 * processes), plus one for a remainder.
        assert_eq!(default_chunksize(100, 4), 7);
        assert_eq!(default_chunksize(3, 4), 1);
        assert_eq!(default_chunksize(32, 4), 2);
        assert_eq!(default_chunksize(33, 4), 3);
        assert_eq!(default_chunksize(0, 4), 0);
        assert_eq!(chunksize(None, 1_000_000, 2), Ok(125_000));
        assert_eq!(chunksize(Some(9), 5, 2), Ok(9));
        assert_eq!(chunksize(Some(0), 5, 2), Err(PoolError::ZeroChunksize));
    }

    #[test]
    fn the_first_failure_in_input_order_wins() {
        let chunks: Vec<Option<ChunkOutcome<u32>>> = vec![
            Some(Ok(vec![1, 2])),
            Some(Err(PoolError::Task(TaskError::Panicked("second".into())))),
            Some(Err(PoolError::Terminated)),
        ];
        assert_eq!(
            flatten(chunks),
            Err(PoolError::Task(TaskError::Panicked("second".into())))
        );
        let chunks = vec![Some(Ok(vec![1])), Some(Ok(vec![2, 3]))];
        assert_eq!(flatten(chunks), Ok(vec![1, 2, 3]));
    }
}
