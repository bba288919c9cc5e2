//! `Executor.map`: results in input order, with a deadline and a bounded window.

use crate::{
    SubmitError, SubmitErrorKind, TaskError,
    auto_chunk::{AutoChunk, MAX_ITEMS, WINDOW_PER_WORKER},
    error::panic_message,
    executor::submit_to,
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
#[must_use = "options do nothing until passed to a map"]
pub struct MapOptions {
    timeout: Option<Duration>,
    /// `None`: four tasks per worker thread.
    buffersize: Option<NonZeroUsize>,
    /// `None`: chosen as the map goes.
    chunksize: Option<NonZeroUsize>,
}

impl MapOptions {
    /// The defaults: no timeout, items grouped into tasks whose size is
    /// chosen as the map goes, at most four tasks per worker thread in
    /// flight.
    ///
    /// # Where this differs from CPython, and why
    ///
    /// CPython submits every item at once, one task each: over a million
    /// cheap items that is a million futures held at once (hundreds of
    /// megabytes) and most of the time spent on them. Here, by default:
    /// - the first tasks take one item each, and the next ones grow
    ///   (doubling at most) to what keeps a thread busy about 2 ms, judged
    ///   by how long the finished tasks ran per item (joblib's
    ///   `batch_size="auto"`); never past `Pool.map`'s
    ///   `ceil(len / (4 * max_workers))` when the input's length is known
    ///   (its `size_hint` is exact), nor past 16,384 items. Slow items stay
    ///   one per task and spread over every thread;
    /// - at most four tasks per worker thread are in flight (as if
    ///   [`buffersize`](Self::buffersize) were `4 * max_workers`): the input
    ///   is read as results are taken, so an endless input works and memory
    ///   stays bounded.
    ///
    /// `buffersize(NonZeroUsize::MAX)` with `chunksize(NonZeroUsize::MIN)`
    /// is CPython's behaviour.
    pub fn new() -> Self {
        Self::default()
    }

    /// One deadline for the whole iteration, counted from the `map` call.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// At most `n` tasks in flight (default four per worker thread): `map`
    /// submits the first `n` tasks, and moving on to the next task's results
    /// submits one more first. A zero cannot be written (Python:
    /// `ValueError("buffersize must be None or > 0")`).
    pub fn buffersize(mut self, n: NonZeroUsize) -> Self {
        self.buffersize = Some(n);
        self
    }

    /// Items per task (default: chosen as the map goes, see
    /// [`new`](Self::new)). CPython takes a `chunksize` here and ignores it;
    /// this one is used.
    pub fn chunksize(mut self, n: NonZeroUsize) -> Self {
        self.chunksize = Some(n);
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
/// - `buffersize` tasks in flight (by default four per worker thread, see
///   [`MapOptions::new`]; CPython's default submits every item inside
///   `map`): the call submits the first ones, and moving on to the next
///   task's results submits one more task *before* waiting for them;
/// - the timeout is one deadline counted from the `map` call;
/// - the first failure, cancellation or timeout is yielded as an `Err`,
///   cancels every item not yet started, and ends the iteration.
///
/// Unlike CPython, an input that panics (inside `map` or in `next`) does
/// not unwind: the items read before it yield their results, then
/// [`MapError::InputPanicked`] ends the iteration.
///
/// # Size
///
/// [`size_hint`](Iterator::size_hint) counts the items still to come if
/// the iteration runs to its end: it is exact, and the map an
/// [`ExactSizeIterator`] (so a progress bar such as indicatif's
/// `.progress()` can show it), when the input is one. An error that ends
/// the iteration early yields fewer: the count may overstate what is left,
/// never understate it.
///
/// # Dropping
///
/// Dropping the iterator, read to its end or not, cancels every task not
/// yet started and reads no more input; the tasks already running finish
/// and their results are discarded. A map that is never read therefore runs
/// only what started before it was dropped. To run one for its side
/// effects, read it to the end: `map.try_for_each(|r| r.map(drop))` stops
/// at the first error and returns it, `map.for_each(drop)` ignores errors.
#[must_use = "dropping a map cancels its tasks not yet started: read it, e.g. with `.for_each(drop)`"]
pub struct Map<I, F, R> {
    shared: Arc<Shared>,
    f: Arc<F>,
    /// Items not submitted yet; `None` once spent, failed or ended.
    input: Option<I>,
    /// Items read from the input so far.
    read: usize,
    /// The input's panic, yielded once every item before it was.
    input_failure: Option<MapError>,
    /// Submitted tasks, oldest first, with their items' count.
    in_flight: VecDeque<(Future<Ran<R>, TaskError>, usize)>,
    /// The outcomes of the task being yielded.
    current: std::vec::IntoIter<Result<R, TaskError>>,
    /// Tasks kept in flight.
    window: usize,
    /// The chunksize given; `None` for sizes chosen by `auto`.
    chunksize: Option<usize>,
    auto: AutoChunk,
    deadline: Option<Instant>,
    finished: bool,
}

/// What one task of a map hands back: one outcome per item, up to and
/// including the first that panicked (the iteration ends there, so the
/// items after it do not run), and how long it ran.
struct Ran<R> {
    outcomes: Vec<Result<R, TaskError>>,
    elapsed: Duration,
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
        let workers = shared.max_workers();
        let len = match input.size_hint() {
            (lower, Some(upper)) if lower == upper => Some(lower),
            _ => None,
        };
        let window = options.buffersize.map_or_else(
            || WINDOW_PER_WORKER.saturating_mul(workers),
            NonZeroUsize::get,
        );
        let mut map = Self {
            shared,
            f: Arc::new(f),
            input: Some(input),
            read: 0,
            input_failure: None,
            in_flight: VecDeque::new(),
            current: Vec::new().into_iter(),
            window,
            chunksize: options.chunksize.map(NonZeroUsize::get),
            auto: AutoChunk::new(workers, len),
            deadline: options.timeout.map(|t| Instant::now() + t),
            finished: false,
        };
        for _ in 0..window {
            match map.submit_next() {
                Ok(true) => {}
                Ok(false) => break,
                Err(kind) => {
                    // Nothing of this map may keep running.
                    map.cancel_in_flight();
                    return Err(SubmitError::new(kind, ()));
                }
            }
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

    /// Reads the next task's items and submits it; false at the end of the
    /// input.
    fn submit_next(&mut self) -> Result<bool, SubmitErrorKind> {
        let size = self.chunksize.unwrap_or_else(|| self.auto.next_size());
        let mut items = Vec::with_capacity(size.min(MAX_ITEMS));
        while items.len() < size {
            match self.read() {
                Some(item) => items.push(item),
                None => break,
            }
        }
        if items.is_empty() {
            return Ok(false);
        }
        let len = items.len();
        let f = Arc::clone(&self.f);
        let future =
            submit_to(&self.shared, move || run(&*f, items)).map_err(|e| e.kind().clone())?;
        self.in_flight.push_back((future, len));
        Ok(true)
    }

    /// Ends the iteration with `error`, cancelling what has not started.
    fn fail(&mut self, error: MapError) -> Option<Result<R, MapError>> {
        self.end();
        Some(Err(error))
    }
}

/// Runs `f` on each item in turn, up to the first that panics.
fn run<T, R>(f: &impl Fn(T) -> R, items: Vec<T>) -> Ran<R> {
    let started = Instant::now();
    let mut outcomes = Vec::with_capacity(items.len());
    for item in items {
        match catch_unwind(AssertUnwindSafe(|| f(item))) {
            Ok(value) => outcomes.push(Ok(value)),
            Err(payload) => {
                let message = panic_message(payload.as_ref());
                // The payload is the task's too: its `Drop` may panic.
                future_core::drop_panic_payload(payload);
                outcomes.push(Err(TaskError::Panicked(message)));
                break;
            }
        }
    }
    Ran {
        outcomes,
        elapsed: started.elapsed(),
    }
}

impl<I, F, R> Map<I, F, R> {
    fn cancel_in_flight(&mut self) {
        for (future, _) in self.in_flight.drain(..) {
            future.cancel();
        }
    }

    fn end(&mut self) {
        self.cancel_in_flight();
        self.input = None;
        self.current = Vec::new().into_iter();
        self.finished = true;
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
        loop {
            if self.finished {
                return None;
            }
            match self.current.next() {
                Some(Ok(value)) => return Some(Ok(value)),
                Some(Err(error)) => return self.fail(MapError::Task(error)),
                None => {}
            }
            // The next task goes in before the oldest one's results come out.
            while self.in_flight.len() <= self.window {
                match self.submit_next() {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(kind) => return self.fail(MapError::Submit(kind)),
                }
            }
            let Some((oldest, _)) = self.in_flight.pop_front() else {
                self.finished = true;
                return self.input_failure.take().map(Err);
            };
            let remaining = self
                .deadline
                .map(|d| d.saturating_duration_since(Instant::now()));
            if let Err(ResultError::Timeout) = oldest.result(remaining) {
                oldest.cancel();
                return self.fail(MapError::Timeout);
            }
            match oldest.into_result() {
                Ok(ran) => {
                    self.auto.ran(ran.outcomes.len(), ran.elapsed);
                    self.current = ran.outcomes.into_iter();
                }
                Err(ResultError::Failed(e)) => return self.fail(MapError::Task(e)),
                Err(ResultError::Cancelled) => return self.fail(MapError::Cancelled),
                Err(ResultError::Timeout) => return self.fail(MapError::Timeout),
            }
        }
    }

    /// The items still to come if the iteration runs to its end: exact when
    /// the input's `size_hint` is (see [`Map`]'s `# Size`).
    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.finished {
            return (0, Some(0));
        }
        let ahead = self.current.len()
            + self.in_flight.iter().map(|(_, len)| len).sum::<usize>()
            + usize::from(self.input_failure.is_some());
        let (lower, upper) = self.input.as_ref().map_or((0, Some(0)), I::size_hint);
        (
            lower.saturating_add(ahead),
            upper.and_then(|n| n.checked_add(ahead)),
        )
    }
}

impl<I, F, R> ExactSizeIterator for Map<I, F, R>
where
    I: ExactSizeIterator,
    I::Item: Send + 'static,
    F: Fn(I::Item) -> R + Send + Sync + 'static,
    R: Send + Sync + 'static,
{
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
