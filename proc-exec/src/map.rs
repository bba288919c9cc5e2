//! `map` and `map_unordered`: many items, sent to workers in chunks, with
//! one outcome per item.
//!
//! A chunk is one `Run` frame with several arguments; the worker answers it
//! with one `Done` frame holding one outcome per argument, so a failing item
//! fails alone (CPython fails its whole chunk). Each chunk is one work item
//! of the pool with its own future; the iterators below wait on those.

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::fmt;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use future_core::{Completer, Future, ResultError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ExitStatus;
use crate::codec::{self, RaisedDecoder};
use crate::error::{SubmitError, TaskError};
use crate::executor::{encode_chunk_frame, start};
use crate::pool_state::Failure;
use crate::shared::{Pending, Shared};
use crate::sync::{Condvar, Mutex};
use crate::wire::{CallRef, Kind, Outcomes};

/// Settings of [`map_with`](crate::ProcessPoolExecutor::map_with) and
/// [`map_unordered`](crate::ProcessPoolExecutor::map_unordered).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapOptions {
    chunksize: NonZeroUsize,
    timeout: Option<Duration>,
    buffersize: Option<NonZeroUsize>,
}

impl Default for MapOptions {
    fn default() -> Self {
        Self {
            chunksize: NonZeroUsize::MIN,
            timeout: None,
            buffersize: None,
        }
    }
}

impl MapOptions {
    /// Python's defaults: chunks of one item, no timeout, every item
    /// submitted at once.
    pub fn new() -> Self {
        Self::default()
    }

    /// Items per chunk (default 1): a chunk crosses to a worker as one frame
    /// and comes back as one, which for small items is much cheaper than one
    /// round trip each. Zero cannot be written (Python: `ValueError`).
    pub fn chunksize(mut self, n: NonZeroUsize) -> Self {
        self.chunksize = n;
        self
    }

    /// One deadline for the whole iteration, counted from the `map` call.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// At most `n` chunks in flight (Python 3.14's `buffersize`): `map`
    /// submits the first `n` chunks, and each time the iterator takes a
    /// finished chunk it submits the next one first. Without it the whole
    /// input is read and submitted inside the `map` call, as in CPython.
    pub fn buffersize(mut self, n: NonZeroUsize) -> Self {
        self.buffersize = Some(n);
        self
    }
}

/// Why a map iteration stopped. It yields one of these and then ends.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MapError<E = Infallible> {
    /// An item's task failed (it panicked or returned `Err`), or its chunk
    /// was lost (its worker died, the pool broke).
    Task(TaskError<E>),
    /// An item's chunk was cancelled, by `shutdown(cancel_futures = true)`.
    Cancelled,
    /// The deadline passed before the next result was ready.
    Timeout,
    /// The pool refused the next chunk (with `buffersize`, after a shutdown
    /// or once broken), or its arguments could not be encoded.
    Submit(SubmitError),
}

impl<E: fmt::Display> fmt::Display for MapError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Task(error) => fmt::Display::fmt(error, f),
            Self::Cancelled => f.write_str("a chunk of the map was cancelled"),
            Self::Timeout => f.write_str("map timed out waiting for the next result"),
            Self::Submit(error) => fmt::Display::fmt(error, f),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for MapError<E> {}

/// One chunk's per-item results.
type ChunkFuture<R, E> = Future<Vec<Result<R, TaskError<E>>>, TaskError<E>>;

/// Reads the input and submits it chunk by chunk.
struct Feeder<I, E> {
    shared: Arc<Shared>,
    call: CallRef,
    raised: RaisedDecoder<E>,
    chunksize: usize,
    /// `None` once the input is spent or the iteration ended.
    input: Option<I>,
}

impl<I, E> Feeder<I, E>
where
    I: Iterator,
    I::Item: Serialize,
    E: Send + Sync + 'static,
{
    /// Submits the next chunk; `None` when the input is spent.
    fn next_chunk<R>(&mut self) -> Option<Result<ChunkFuture<R, E>, SubmitError>>
    where
        R: DeserializeOwned + Send + Sync + 'static,
    {
        let input = self.input.as_mut()?;
        let args: Vec<I::Item> = input.by_ref().take(self.chunksize).collect();
        if args.is_empty() {
            self.input = None;
            return None;
        }
        let max = self.shared.config.max_frame_size;
        let submitted = encode_chunk_frame(Kind::Run, self.call, &args, max).and_then(|frame| {
            let future = Future::new();
            let chunk = Chunk::<R, E> {
                completer: future.completer(),
                raised: self.raised,
                len: args.len(),
            };
            self.shared.submit(frame, Box::new(chunk))?;
            Ok(future)
        });
        if submitted.is_err() {
            self.input = None;
        }
        Some(submitted)
    }
}

/// Starts a map: the feeder, and the chunks submitted inside the call.
fn start_map<I, R, E>(
    shared: Arc<Shared>,
    call: CallRef,
    raised: RaisedDecoder<E>,
    input: I,
    options: MapOptions,
    mut on_chunk: impl FnMut(ChunkFuture<R, E>),
) -> Result<Feeder<I, E>, SubmitError>
where
    I: Iterator,
    I::Item: Serialize,
    R: DeserializeOwned + Send + Sync + 'static,
    E: Send + Sync + 'static,
{
    let mut feeder = Feeder {
        shared,
        call,
        raised,
        chunksize: options.chunksize.get(),
        input: Some(input),
    };
    let first = options.buffersize.map_or(usize::MAX, NonZeroUsize::get);
    for _ in 0..first {
        match feeder.next_chunk() {
            Some(chunk) => on_chunk(chunk?),
            None => break,
        }
    }
    if options.buffersize.is_none() {
        feeder.input = None;
    }
    Ok(feeder)
}

/// The results of [`map`](crate::ProcessPoolExecutor::map), in input order.
///
/// CPython 3.14's semantics, chosen deliberately:
/// - without `buffersize` every item is submitted inside `map`, so the work
///   runs even if the iterator is never read;
/// - with it, taking a finished chunk submits the next one first, keeping
///   `buffersize` chunks in flight;
/// - the timeout is one deadline counted from the `map` call;
/// - the first failure, cancellation or timeout is yielded as an `Err`,
///   cancels every chunk not yet sent to a worker, and ends the iteration;
/// - dropping the iterator early also cancels every chunk not yet sent
///   (sent ones finish; their results are discarded).
///
/// Better than CPython: the items of a chunk before a failing one are
/// yielded first (CPython fails the whole chunk). A chunk whose worker dies
/// fails as a whole: its answer is written when the chunk ends.
pub struct Map<I, R, E = Infallible> {
    feeder: Feeder<I, E>,
    in_flight: VecDeque<ChunkFuture<R, E>>,
    current: std::vec::IntoIter<Result<R, TaskError<E>>>,
    deadline: Option<Instant>,
    finished: bool,
}

impl<I, R, E> Map<I, R, E>
where
    I: Iterator,
    I::Item: Serialize,
    R: DeserializeOwned + Send + Sync + 'static,
    E: Send + Sync + 'static,
{
    pub(crate) fn start(
        shared: Arc<Shared>,
        call: CallRef,
        raised: RaisedDecoder<E>,
        input: I,
        options: MapOptions,
    ) -> Result<Self, SubmitError> {
        let deadline = options.timeout.map(|t| Instant::now() + t);
        let mut in_flight = VecDeque::new();
        let feeder = start_map(shared, call, raised, input, options, |chunk| {
            in_flight.push_back(chunk);
        });
        match feeder {
            Ok(feeder) => Ok(Self {
                feeder,
                in_flight,
                current: Vec::new().into_iter(),
                deadline,
                finished: false,
            }),
            Err(error) => {
                // Nothing of this map may keep running.
                for chunk in &in_flight {
                    chunk.cancel();
                }
                Err(error)
            }
        }
    }

    /// Ends the iteration with `error`, cancelling what was not sent.
    fn fail(&mut self, error: MapError<E>) -> Option<Result<R, MapError<E>>> {
        self.end();
        Some(Err(error))
    }
}

impl<I, R, E> Map<I, R, E> {
    fn end(&mut self) {
        for chunk in self.in_flight.drain(..) {
            chunk.cancel();
        }
        self.feeder.input = None;
        self.current = Vec::new().into_iter();
        self.finished = true;
    }
}

impl<I, R, E> Iterator for Map<I, R, E>
where
    I: Iterator,
    I::Item: Serialize,
    R: DeserializeOwned + Send + Sync + 'static,
    E: Send + Sync + 'static,
{
    type Item = Result<R, MapError<E>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.finished {
                return None;
            }
            match self.current.next() {
                Some(Ok(value)) => return Some(Ok(value)),
                Some(Err(error)) => return self.fail(MapError::Task(error)),
                None => {}
            }
            let Some(oldest) = self.in_flight.pop_front() else {
                self.finished = true;
                return None;
            };
            match self.feeder.next_chunk() {
                Some(Ok(chunk)) => self.in_flight.push_back(chunk),
                Some(Err(error)) => {
                    oldest.cancel();
                    return self.fail(MapError::Submit(error));
                }
                None => {}
            }
            let remaining = self
                .deadline
                .map(|d| d.saturating_duration_since(Instant::now()));
            if let Err(ResultError::Timeout) = oldest.result(remaining) {
                oldest.cancel();
                return self.fail(MapError::Timeout);
            }
            match settled(oldest) {
                Ok(items) => self.current = items.into_iter(),
                Err(error) => return self.fail(error),
            }
        }
    }
}

/// A finished chunk's items, or why it has none.
fn settled<R, E>(chunk: ChunkFuture<R, E>) -> Result<Vec<Result<R, TaskError<E>>>, MapError<E>> {
    match chunk.into_result() {
        Ok(items) => Ok(items),
        Err(ResultError::Failed(error)) => Err(MapError::Task(error)),
        Err(ResultError::Cancelled) => Err(MapError::Cancelled),
        Err(ResultError::Timeout) => Err(MapError::Timeout),
    }
}

impl<I, R, E> Drop for Map<I, R, E> {
    fn drop(&mut self) {
        self.end();
    }
}

impl<I, R, E> fmt::Debug for Map<I, R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Map")
            .field("chunks_in_flight", &self.in_flight.len())
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

/// Chunks that finished, by number, in the order they finished.
#[derive(Default)]
struct Finished {
    chunks: Mutex<VecDeque<u64>>,
    changed: Condvar,
}

impl Finished {
    fn push(&self, id: u64) {
        self.chunks.lock().push_back(id);
        self.changed.notify_one();
    }

    /// The next finished chunk; `None` if `deadline` passes first.
    fn pop(&self, deadline: Option<Instant>) -> Option<u64> {
        let mut chunks = self.chunks.lock();
        loop {
            if let Some(id) = chunks.pop_front() {
                return Some(id);
            }
            chunks = match deadline {
                None => self.changed.wait(chunks),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return None;
                    }
                    self.changed.wait_timeout(chunks, left).0
                }
            };
        }
    }
}

/// The results of [`map_unordered`](crate::ProcessPoolExecutor::map_unordered),
/// in the order chunks finish (items of one chunk in their input order).
///
/// The same rules as [`Map`] otherwise: `buffersize` chunks in flight (each
/// finished chunk taken submits the next), one deadline, the first failure
/// ends the iteration and cancels what was not sent, and so does dropping it.
pub struct MapUnordered<I, R, E = Infallible> {
    feeder: Feeder<I, E>,
    pending: BTreeMap<u64, ChunkFuture<R, E>>,
    finished_chunks: Arc<Finished>,
    next_id: u64,
    current: std::vec::IntoIter<Result<R, TaskError<E>>>,
    deadline: Option<Instant>,
    finished: bool,
}

impl<I, R, E> MapUnordered<I, R, E>
where
    I: Iterator,
    I::Item: Serialize,
    R: DeserializeOwned + Send + Sync + 'static,
    E: Send + Sync + 'static,
{
    pub(crate) fn start(
        shared: Arc<Shared>,
        call: CallRef,
        raised: RaisedDecoder<E>,
        input: I,
        options: MapOptions,
    ) -> Result<Self, SubmitError> {
        let finished_chunks = Arc::new(Finished::default());
        let mut pending = BTreeMap::new();
        let mut next_id = 0;
        let feeder = start_map(shared, call, raised, input, options, |chunk| {
            track(&finished_chunks, &mut pending, &mut next_id, chunk);
        });
        let feeder = match feeder {
            Ok(feeder) => feeder,
            Err(error) => {
                // Nothing of this map may keep running.
                for chunk in pending.values() {
                    chunk.cancel();
                }
                return Err(error);
            }
        };
        Ok(Self {
            feeder,
            pending,
            finished_chunks,
            next_id,
            current: Vec::new().into_iter(),
            deadline: options.timeout.map(|t| Instant::now() + t),
            finished: false,
        })
    }

    fn fail(&mut self, error: MapError<E>) -> Option<Result<R, MapError<E>>> {
        self.end();
        Some(Err(error))
    }
}

/// Numbers a chunk and has it report itself finished.
fn track<R, E>(
    finished: &Arc<Finished>,
    pending: &mut BTreeMap<u64, ChunkFuture<R, E>>,
    next_id: &mut u64,
    chunk: ChunkFuture<R, E>,
) where
    R: Send + Sync + 'static,
    E: Send + Sync + 'static,
{
    let id = *next_id;
    *next_id += 1;
    let finished = Arc::clone(finished);
    chunk.add_done_callback(move |_| finished.push(id));
    pending.insert(id, chunk);
}

impl<I, R, E> MapUnordered<I, R, E> {
    fn end(&mut self) {
        for chunk in std::mem::take(&mut self.pending).into_values() {
            chunk.cancel();
        }
        self.feeder.input = None;
        self.current = Vec::new().into_iter();
        self.finished = true;
    }
}

impl<I, R, E> Iterator for MapUnordered<I, R, E>
where
    I: Iterator,
    I::Item: Serialize,
    R: DeserializeOwned + Send + Sync + 'static,
    E: Send + Sync + 'static,
{
    type Item = Result<R, MapError<E>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.finished {
                return None;
            }
            match self.current.next() {
                Some(Ok(value)) => return Some(Ok(value)),
                Some(Err(error)) => return self.fail(MapError::Task(error)),
                None => {}
            }
            if self.pending.is_empty() {
                self.finished = true;
                return None;
            }
            let Some(id) = self.finished_chunks.pop(self.deadline) else {
                return self.fail(MapError::Timeout);
            };
            let Some(chunk) = self.pending.remove(&id) else {
                continue;
            };
            match self.feeder.next_chunk() {
                Some(Ok(next)) => {
                    let (finished, pending) = (&self.finished_chunks, &mut self.pending);
                    track(finished, pending, &mut self.next_id, next);
                }
                Some(Err(error)) => return self.fail(MapError::Submit(error)),
                None => {}
            }
            match settled(chunk) {
                Ok(items) => self.current = items.into_iter(),
                Err(error) => return self.fail(error),
            }
        }
    }
}

impl<I, R, E> Drop for MapUnordered<I, R, E> {
    fn drop(&mut self) {
        self.end();
    }
}

impl<I, R, E> fmt::Debug for MapUnordered<I, R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapUnordered")
            .field("chunks_in_flight", &self.pending.len())
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

/// One chunk's future, seen from the manager.
struct Chunk<R, E> {
    completer: Completer<Vec<Result<R, TaskError<E>>>, TaskError<E>>,
    raised: RaisedDecoder<E>,
    len: usize,
}

impl<R, E> Pending for Chunk<R, E>
where
    R: DeserializeOwned + Send + Sync + 'static,
    E: Send + Sync + 'static,
{
    fn start(&self) -> bool {
        start(&self.completer)
    }

    fn identity(&self) -> *const () {
        self.completer.identity()
    }

    fn timeout(&self) -> Option<Duration> {
        None
    }

    fn complete(self: Box<Self>, outcomes: Outcomes<'_>) {
        let mut items: Vec<Result<R, TaskError<E>>> = outcomes
            .take(self.len)
            .map(|outcome| codec::decode_outcome(outcome, self.raised))
            .collect();
        // A worker stops at an argument it cannot decode: the ones after it
        // cannot be found.
        while items.len() < self.len {
            let text = "an earlier argument of its chunk could not be deserialized";
            items.push(Err(TaskError::ArgDecode(text.to_owned())));
        }
        drop(self.completer.set_result(items));
    }

    fn fail(self: Box<Self>, failure: Failure<ExitStatus>) {
        let error = TaskError::from_failure(failure, None);
        drop(self.completer.set_exception(error));
    }

    fn cancel(self: Box<Self>) {
        self.completer.cancel();
    }
}
