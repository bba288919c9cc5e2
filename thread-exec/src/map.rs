//! `Executor.map`: results in input order, with a deadline and a bounded window.

use crate::{
    SubmitError, SubmitErrorKind, TaskError, error::panic_message, executor::submit_to,
    pool::Shared,
};
use future_core::{Future, ResultError};
use std::{
    collections::VecDeque,
    fmt,
    num::NonZeroUsize,
    panic::{AssertUnwindSafe, catch_unwind},
    sync::Arc,
    time::{Duration, Instant},
};

/// Settings of [`map_with`](crate::ThreadPoolExecutor::map_with).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MapOptions {
    timeout: Option<Duration>,
    buffersize: Option<NonZeroUsize>,
}

impl MapOptions {
    /// No timeout, every item submitted at once (Python's defaults).
    pub fn new() -> Self {
        Self::default()
    }

    /// One deadline for the whole iteration, counted from the `map` call.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// At most `n` tasks in flight: `map` submits the first `n` items, and
    /// each `next` submits one more before it waits for the oldest. A zero
    /// cannot be written (Python: `ValueError("buffersize must be None or > 0")`).
    pub fn buffersize(mut self, n: NonZeroUsize) -> Self {
        self.buffersize = Some(n);
        self
    }
}

/// Why [`Map`] stopped early. The iteration ends after yielding one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MapError {
    /// An item's task failed (it panicked, or the pool broke before it ran).
    Task(TaskError),
    /// An item's task was cancelled, by `shutdown(cancel_futures = true)`.
    Cancelled,
    /// The deadline passed before the next result was ready.
    Timeout,
    /// The pool refused to take the next item (with `buffersize`, after a
    /// shutdown or once broken).
    Submit(SubmitErrorKind),
    /// The input iterator panicked while reading item `index` (counted from
    /// 0), with this message; the results of the items before it were
    /// yielded first. (CPython lets the input's exception out of `map` or
    /// `next`, losing the results already computed.)
    InputPanicked {
        /// The place of the item that could not be read.
        index: usize,
        /// The panic's message.
        message: String,
    },
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Task(e) => fmt::Display::fmt(e, f),
            Self::Cancelled => f.write_str("the task of a map item was cancelled"),
            Self::Timeout => f.write_str("map timed out waiting for the next result"),
            Self::Submit(kind) => fmt::Display::fmt(kind, f),
            Self::InputPanicked { index, message } => {
                write!(f, "the map's input panicked at item {index}: {message}")
            }
        }
    }
}

impl std::error::Error for MapError {}

/// The results of [`map`](crate::ThreadPoolExecutor::map), in input order.
///
/// CPython 3.14's semantics, chosen deliberately:
/// - without `buffersize` every item is submitted inside `map`, so the work
///   runs even if the iterator is never read;
/// - with it, each `next` submits the next item *before* waiting for the
///   oldest result, keeping `buffersize` tasks in flight;
/// - the timeout is one deadline counted from the `map` call;
/// - the first failure, cancellation or timeout is yielded as an `Err`,
///   cancels every item not yet started, and ends the iteration;
/// - dropping the iterator early also cancels every item not yet started
///   (running ones finish; their results are discarded).
///
/// Unlike CPython, an input that panics (inside `map` or in `next`) does
/// not unwind: the items read before it yield their results, then
/// [`MapError::InputPanicked`] ends the iteration.
pub struct Map<I, F, R> {
    shared: Arc<Shared>,
    f: Arc<F>,
    /// Items not submitted yet (only with `buffersize`).
    input: Option<I>,
    /// Items read from the input so far.
    read: usize,
    /// The input's panic, yielded once every item before it was.
    input_failure: Option<MapError>,
    in_flight: VecDeque<Future<R, TaskError>>,
    deadline: Option<Instant>,
    finished: bool,
}

impl<I, F, R> Map<I, F, R>
where
    I: Iterator,
    I::Item: Send + 'static,
    F: Fn(I::Item) -> R + Send + Sync + 'static,
    R: Send + 'static,
{
    pub(crate) fn start(
        shared: Arc<Shared>,
        f: F,
        input: I,
        options: MapOptions,
    ) -> Result<Self, SubmitError<()>> {
        let mut map = Self {
            shared,
            f: Arc::new(f),
            input: Some(input),
            read: 0,
            input_failure: None,
            in_flight: VecDeque::new(),
            deadline: options.timeout.map(|t| Instant::now() + t),
            finished: false,
        };
        let first = options.buffersize.map_or(usize::MAX, NonZeroUsize::get);
        for _ in 0..first {
            let Some(item) = map.read() else { break };
            if let Err(kind) = map.submit(item) {
                // Nothing of this map may keep running.
                map.cancel_in_flight();
                return Err(SubmitError::new(kind, ()));
            }
        }
        if options.buffersize.is_none() {
            map.input = None;
        }
        Ok(map)
    }

    /// The next input item; `None` at its end, or when it panicked (the
    /// panic is kept for after the items before it).
    fn read(&mut self) -> Option<I::Item> {
        let input = self.input.as_mut()?;
        // The input is dropped below whatever state the panic left it in.
        match catch_unwind(AssertUnwindSafe(|| input.next())) {
            Ok(Some(item)) => {
                self.read += 1;
                return Some(item);
            }
            Ok(None) => {}
            Err(payload) => {
                self.input_failure = Some(MapError::InputPanicked {
                    index: self.read,
                    message: panic_message(payload.as_ref()),
                });
            }
        }
        // Dropping may panic too, most likely in an input that just did.
        let input = self.input.take();
        let _ = catch_unwind(AssertUnwindSafe(move || drop(input)));
        None
    }

    fn submit(&mut self, item: I::Item) -> Result<(), SubmitErrorKind> {
        let f = Arc::clone(&self.f);
        let future = submit_to(&self.shared, move || f(item)).map_err(|e| e.kind().clone())?;
        self.in_flight.push_back(future);
        Ok(())
    }

    /// Ends the iteration with `error`, cancelling what has not started.
    fn fail(&mut self, error: MapError) -> Option<Result<R, MapError>> {
        self.cancel_in_flight();
        self.input = None;
        self.finished = true;
        Some(Err(error))
    }
}

impl<I, F, R> Map<I, F, R> {
    fn cancel_in_flight(&mut self) {
        for future in self.in_flight.drain(..) {
            future.cancel();
        }
    }
}

impl<I, F, R> Iterator for Map<I, F, R>
where
    I: Iterator,
    I::Item: Send + 'static,
    F: Fn(I::Item) -> R + Send + Sync + 'static,
    R: Send + 'static,
{
    type Item = Result<R, MapError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        if let Some(item) = self.read() {
            if let Err(kind) = self.submit(item) {
                return self.fail(MapError::Submit(kind));
            }
        }
        let Some(oldest) = self.in_flight.pop_front() else {
            self.finished = true;
            return self.input_failure.take().map(Err);
        };
        let remaining = self
            .deadline
            .map(|d| d.saturating_duration_since(Instant::now()));
        match oldest.result(remaining) {
            Ok(_) => {}
            Err(ResultError::Timeout) => {
                oldest.cancel();
                return self.fail(MapError::Timeout);
            }
            Err(ResultError::Cancelled) => return self.fail(MapError::Cancelled),
            Err(ResultError::Failed(_)) => {}
        }
        match oldest.into_result() {
            Ok(value) => Some(Ok(value)),
            Err(ResultError::Failed(e)) => self.fail(MapError::Task(e)),
            Err(ResultError::Cancelled) => self.fail(MapError::Cancelled),
            Err(ResultError::Timeout) => self.fail(MapError::Timeout),
        }
    }
}

impl<I, F, R> Drop for Map<I, F, R> {
    fn drop(&mut self) {
        self.cancel_in_flight();
    }
}

impl<I, F, R> fmt::Debug for Map<I, F, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Map")
            .field("in_flight", &self.in_flight.len())
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}
