//! `map` and `map_unordered`: many items, sent to workers in chunks, with
//! one outcome per item.
//!
//! A chunk is one `Run` frame with several arguments; the worker answers it
//! with one `Done` frame holding one outcome per argument, so a failing item
//! fails alone (CPython fails its whole chunk). Each chunk is one work item
//! of the pool with its own future; the iterators below wait on those.
//!
//! Every item read from the input is accounted for: it yields its result,
//! or an error (its own, its chunk's, or the refusal of its chunk), unless
//! the iteration ended before reaching it.

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::fmt;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use future_core::ResultError;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Function;
use crate::auto_chunk::{self, AutoChunk, MAX_ITEMS, WINDOW_PER_WORKER};
use crate::chunk::{ChunkFuture, ChunkResults, OnSettled, submit_chunk};
use crate::error::{SubmitError, TaskError};
use crate::map_input::{Fallible, InputError, MapInput, Reader};
use crate::shared::Shared;
use crate::sync::{Condvar, Mutex};

/// What dropping a map does, said once for [`Map`] and [`MapUnordered`].
macro_rules! DROPPING {
    () => {
        "Dropping the iterator, read to its end or not, cancels every chunk \
         not yet sent to a worker and reads no more input; the chunks already \
         sent run to their end and their results are discarded. A map that \
         is never read therefore runs only what was sent before it was \
         dropped. To run one for its side effects, read it to the end: \
         `map.try_for_each(|r| r.map(drop))` stops at the first error and \
         returns it, `map.for_each(drop)` ignores errors."
    };
}

/// The `#[must_use]` message of the map iterators.
macro_rules! DISCARDED {
    () => {
        "dropping a map cancels its work not yet sent to a worker: read it, \
         e.g. with `.for_each(drop)`"
    };
}

/// Settings of [`map_with`](crate::ProcessPoolExecutor::map_with) and
/// [`map_unordered`](crate::ProcessPoolExecutor::map_unordered).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[must_use = "options do nothing until passed to a map"]
pub struct MapOptions {
    /// `None`: chosen as the map goes (see [`MapOptions::new`]).
    chunksize: Option<NonZeroUsize>,
    timeout: Option<Duration>,
    /// `None`: four chunks per worker.
    buffersize: Option<NonZeroUsize>,
    keep_going: bool,
    defer_start: bool,
}

impl MapOptions {
    /// The defaults: chunk sizes chosen as the map goes, a bounded window
    /// of chunks in flight, no timeout, the first error ends the iteration.
    ///
    /// # Where this differs from CPython, and why
    ///
    /// CPython's `Executor.map` sends every item at once, one per chunk
    /// (`chunksize=1`): over a million cheap items it spends its time and
    /// memory on a million round trips and futures. Here, by default:
    /// - the first chunks hold one item each, and the next ones grow
    ///   (doubling at most) to what keeps a worker busy about 10 ms, judged
    ///   by how fast the answered chunks came back, as joblib's
    ///   `batch_size="auto"` does; never past `Pool.map`'s
    ///   `ceil(len / (4 * workers))` when the input's length is known
    ///   (its `size_hint` is exact), never past 65,536 items, and never
    ///   past 1 MiB of arguments or results per chunk. Slow items stay one
    ///   per chunk and spread over every worker; cheap ones go by the
    ///   thousand;
    /// - at most four chunks per worker are in flight (as if
    ///   [`buffersize`](Self::buffersize) were `4 * max_workers`): the
    ///   input is read as results are taken, so an endless input works and
    ///   memory stays bounded.
    ///
    /// [`chunksize`](Self::chunksize) and [`buffersize`](Self::buffersize)
    /// set either by hand; `buffersize(NonZeroUsize::MAX)` with
    /// `chunksize(NonZeroUsize::MIN)` is CPython's behaviour.
    pub fn new() -> Self {
        Self::default()
    }

    /// Items per chunk (default: chosen as the map goes, see
    /// [`new`](Self::new)): a chunk crosses to a worker as one frame and
    /// comes back as one, which for small items is much cheaper than one
    /// round trip each. Zero cannot be written (Python: `ValueError`).
    pub fn chunksize(mut self, n: NonZeroUsize) -> Self {
        self.chunksize = Some(n);
        self
    }

    /// One deadline for the whole iteration, counted from the `map` call.
    /// When it passes, the iteration yields [`MapError::Timeout`] and ends.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// At most `n` chunks in flight (Python 3.14's `buffersize`; default
    /// four per worker): `map` submits the first `n` chunks, and each time
    /// the iterator takes a finished chunk it submits the next one first.
    /// `NonZeroUsize::MAX` reads and submits the whole input inside the
    /// `map` call, as CPython does without a `buffersize`.
    pub fn buffersize(mut self, n: NonZeroUsize) -> Self {
        self.buffersize = Some(n);
        self
    }

    /// Go on after a failed item (`multiprocessing.Pool.imap`'s rule)
    /// instead of ending the iteration (`Executor.map`'s, the default): the
    /// failure is yielded at the item's place and the next item follows. A
    /// chunk lost as a whole yields its error once per item; a refused chunk
    /// (an argument that does not serialize) yields the refusal once per
    /// item and the input goes on; a pool that stopped accepting work ends
    /// the input there. The timeout still ends the iteration.
    pub fn keep_going(mut self) -> Self {
        self.keep_going = true;
        self
    }

    /// Read no input inside the `map` call (`multiprocessing.Pool.imap`'s
    /// rule: its call returns at once, whatever the input does): the first
    /// `next` reads and submits the first window. The call then cannot see
    /// a pool that refuses work; the first `next` yields the refusal.
    pub fn defer_start(mut self) -> Self {
        self.defer_start = true;
        self
    }
}

/// Why an item has no result, or why a map iteration stopped.
///
/// Without [`MapOptions::keep_going`] the iteration yields one of these and
/// then ends; with it, only [`Timeout`](Self::Timeout) (of the whole map)
/// ends it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MapError<E = Infallible> {
    /// The item's task failed (it panicked or returned `Err`), or its chunk
    /// was lost (its worker died, the pool broke).
    Task(TaskError<E>),
    /// The item's chunk was cancelled, by `shutdown(cancel_futures = true)`.
    Cancelled,
    /// The deadline passed before the next result was ready.
    Timeout,
    /// The pool refused the item's chunk: after a shutdown, once broken, or
    /// because an argument in it could not be serialized.
    Submit(SubmitError),
    /// The input failed (its iterator panicked, or a [`Fallible`] input
    /// yielded `Err`) at this place; the items before it were yielded
    /// first, and the iteration ends here.
    ///
    /// [`Fallible`]: crate::Fallible
    Input(InputError),
}

impl<E: fmt::Display> fmt::Display for MapError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Task(error) => fmt::Display::fmt(error, f),
            Self::Cancelled => f.write_str("a chunk of the map was cancelled"),
            Self::Timeout => f.write_str("map timed out waiting for the next result"),
            Self::Submit(error) => fmt::Display::fmt(error, f),
            Self::Input(error) => fmt::Display::fmt(error, f),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for MapError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Task(error) => error.source(),
            Self::Submit(error) => error.source(),
            Self::Input(error) => error.source(),
            Self::Cancelled | Self::Timeout => None,
        }
    }
}

/// What became of one chunk read from the input.
enum Slot<R, E> {
    /// Queued in the pool, as chunk number `id` of its map.
    Sent {
        chunk: ChunkFuture<R, E>,
        len: usize,
        id: u64,
    },
    /// The pool refused it; its items get the error.
    Refused { error: SubmitError, len: usize },
}

impl<R, E> Slot<R, E> {
    /// Its items.
    fn len(&self) -> usize {
        match self {
            Self::Sent { len, .. } | Self::Refused { len, .. } => *len,
        }
    }

    fn cancel(&self) {
        if let Self::Sent { chunk, .. } = self {
            chunk.cancel();
        }
    }
}

/// Reads the input and submits it chunk by chunk.
struct Feeder<I, A, R, E> {
    shared: Arc<Shared>,
    function: Function<A, R, E>,
    /// The chunksize given; `None` for sizes chosen by `auto`.
    chunksize: Option<usize>,
    auto: AutoChunk,
    keep_going: bool,
    input: Reader<I>,
    /// The number of the next chunk.
    next_id: u64,
    /// Where each chunk reports itself settled: for `map_unordered`, and
    /// for the chunk sizes chosen as the map goes.
    finished: Option<Arc<Finished>>,
}

impl<I, A, R, E> Feeder<I, A, R, E>
where
    I: MapInput<Arg = A>,
    A: Serialize,
    R: DeserializeOwned + Send + 'static,
    E: Send + 'static,
{
    /// Reads and submits the next chunk; `None` when the input is spent.
    fn next_slot(&mut self) -> Option<Slot<R, E>> {
        let size = self.chunksize.unwrap_or_else(|| self.auto.next_size());
        // A panic in the input ends the chunk being read: the items read
        // before it are sent as a shorter chunk.
        let mut args = Vec::with_capacity(size.min(MAX_ITEMS));
        while args.len() < size {
            match self.input.next() {
                Some(arg) => args.push(arg),
                None => break,
            }
        }
        if args.is_empty() {
            return None;
        }
        let len = args.len();
        let id = self.next_id;
        self.next_id += 1;
        let on_settled = self.finished.as_ref().map(|finished| {
            let finished = Arc::clone(finished);
            // A refused chunk reports itself too; nobody waits for it.
            Box::new(move |bytes: Option<usize>| {
                finished.push(Settled {
                    id,
                    answered: bytes.map(|bytes| (len, bytes, Instant::now())),
                });
            }) as OnSettled
        });
        Some(
            match submit_chunk(&self.shared, self.function, &args, on_settled) {
                Ok((chunk, bytes)) => {
                    self.auto.sent(len, bytes);
                    Slot::Sent { chunk, len, id }
                }
                Err(error) => {
                    // A pool that refuses work refuses the rest too; an argument
                    // that does not serialize spoils only its own chunk.
                    let spoilt_chunk = matches!(
                        error,
                        SubmitError::ArgEncode(_)
                            | SubmitError::ArgTooLarge { .. }
                            | SubmitError::ChunkTooLarge { .. }
                    );
                    if !(spoilt_chunk && self.keep_going) {
                        self.input.stop();
                    }
                    Slot::Refused { error, len }
                }
            },
        )
    }

    /// Tells the chunk sizes how a chunk was answered.
    fn note(&mut self, settled: &Settled) {
        if let Some((items, bytes, at)) = settled.answered {
            self.auto.answered(items, bytes, at);
        }
    }

    /// Takes every report of a settled chunk, for `map`, which waits on
    /// its chunks' futures instead.
    fn catch_up(&mut self) {
        let Some(finished) = &self.finished else {
            return;
        };
        for settled in finished.take_all() {
            self.note(&settled);
        }
    }
}

/// The start of a map: the feeder, after the chunks submitted inside the
/// call went to `on_slot`.
fn start_map<I, A, R, E>(
    shared: Arc<Shared>,
    function: Function<A, R, E>,
    input: I,
    options: MapOptions,
    finished: Option<Arc<Finished>>,
    mut on_slot: impl FnMut(Slot<R, E>),
) -> Result<Feeder<I, A, R, E>, SubmitError>
where
    I: MapInput<Arg = A>,
    A: Serialize,
    R: DeserializeOwned + Send + 'static,
    E: Send + 'static,
{
    let workers = shared.config.limits.max_workers.get();
    let budget = auto_chunk::byte_budget(shared.config.max_frame_size);
    let input = Reader::new(input);
    let len = match input.size_hint() {
        (lower, Some(upper)) if lower == upper => Some(lower),
        _ => None,
    };
    let mut feeder = Feeder {
        shared,
        function,
        chunksize: options.chunksize.map(NonZeroUsize::get),
        auto: AutoChunk::new(workers, len, budget),
        keep_going: options.keep_going,
        input,
        next_id: 0,
        finished,
    };
    if options.defer_start {
        return Ok(feeder);
    }
    for n in 0..window(&feeder.shared, options) {
        match feeder.next_slot() {
            // Nothing was accepted: the call itself is refused.
            Some(Slot::Refused {
                error: error @ (SubmitError::Shutdown | SubmitError::Broken(_)),
                ..
            }) if n == 0 => return Err(error),
            Some(slot) => on_slot(slot),
            None => break,
        }
    }
    Ok(feeder)
}

/// The chunks a map keeps in flight: its `buffersize`, or four per worker.
fn window(shared: &Shared, options: MapOptions) -> usize {
    options.buffersize.map_or_else(
        || WINDOW_PER_WORKER.saturating_mul(shared.config.limits.max_workers.get()),
        NonZeroUsize::get,
    )
}

/// The items of the chunk being yielded.
enum Current<R, E> {
    /// None: the next chunk is needed.
    Done,
    /// A finished chunk's results, decoded as they are taken.
    Items(ChunkResults<R, E>),
    /// A chunk lost or refused as a whole, under `keep_going`: its error,
    /// once for each of its items still to yield.
    Failed(MapError<E>, usize),
}

impl<R, E> Current<R, E> {
    /// The items it has still to yield.
    fn len(&self) -> usize {
        match self {
            Self::Done => 0,
            Self::Items(items) => items.left(),
            Self::Failed(_, left) => *left,
        }
    }
}

/// The bounds of a map's `size_hint`: `ahead` items read (settled or in
/// flight) and not yet yielded, and the input's bounds.
fn size_hint(ahead: usize, (lower, upper): (usize, Option<usize>)) -> (usize, Option<usize>) {
    (
        lower.saturating_add(ahead),
        upper.and_then(|n| n.checked_add(ahead)),
    )
}

impl<R: DeserializeOwned, E: Clone> Current<R, E> {
    fn next(&mut self) -> Option<Result<R, MapError<E>>> {
        match self {
            Self::Done => None,
            Self::Items(items) => Some(items.next()?.map_err(MapError::Task)),
            Self::Failed(error, left) => {
                *left = left.checked_sub(1)?;
                Some(Err(error.clone()))
            }
        }
    }
}

/// The items of a settled slot, as the iteration yields them; `Err` if the
/// whole slot failed and the iteration ends with that error.
fn settle<R, E>(slot: Slot<R, E>, keep_going: bool) -> Result<Current<R, E>, MapError<E>> {
    let (error, len) = match slot {
        Slot::Sent { chunk, len, .. } => match chunk.into_result() {
            Ok(items) => return Ok(Current::Items(items)),
            Err(ResultError::Failed(error)) => (MapError::Task(error), len),
            Err(ResultError::Cancelled) => (MapError::Cancelled, len),
            Err(ResultError::Timeout) => (MapError::Timeout, len),
        },
        Slot::Refused { error, len } => (MapError::Submit(error), len),
    };
    if keep_going {
        Ok(Current::Failed(error, len))
    } else {
        Err(error)
    }
}

/// The earlier of the whole map's deadline and one call's.
fn earlier(deadline: Option<Instant>, call: Option<Instant>) -> Option<Instant> {
    match (deadline, call) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The results of [`map`](crate::ProcessPoolExecutor::map), in input order.
///
/// CPython 3.14's semantics, chosen deliberately:
/// - `buffersize` chunks in flight (by default four per worker, see
///   [`MapOptions::new`]; CPython's default sends every item inside `map`):
///   the call submits the first ones, and taking a finished chunk submits
///   the next one first;
/// - the timeout is one deadline counted from the `map` call;
/// - the first failure, cancellation or timeout is yielded as an `Err`,
///   cancels every chunk not yet sent to a worker, and ends the iteration
///   (unless [`MapOptions::keep_going`]).
///
/// # Size
///
/// [`size_hint`](Iterator::size_hint) counts the items still to come if
/// the iteration runs to its end: it is exact, and the map an
/// [`ExactSizeIterator`] (so a progress bar such as indicatif's
/// `.progress()` can show it), when the input is one. An error that ends
/// the iteration early (see above) yields fewer: the count may overstate
/// what is left, never understate it.
///
/// # Dropping
///
#[doc = DROPPING!()]
///
/// Better than CPython: the items of a chunk before a failing one are
/// yielded first (CPython fails the whole chunk). A chunk whose worker dies
/// fails as a whole: its answer is written when the chunk ends. An input
/// that panics (inside `map` or in `next`), or a [`Fallible`](crate::Fallible)
/// input's `Err`, is yielded as [`MapError::Input`] after every item read
/// before it and ends the iteration (CPython lets the exception out of `map`
/// or `next`, losing the results already computed).
#[must_use = DISCARDED!()]
pub struct Map<I: MapInput, R, E = Infallible> {
    feeder: Feeder<I, I::Arg, R, E>,
    /// Oldest first.
    slots: VecDeque<Slot<R, E>>,
    current: Current<R, E>,
    /// Chunks kept in flight behind the oldest one.
    window: usize,
    deadline: Option<Instant>,
    keep_going: bool,
    finished: bool,
}

impl<I, R, E> Map<I, R, E>
where
    I: MapInput,
    I::Arg: Serialize,
    R: DeserializeOwned + Send + 'static,
    E: Clone + Send + 'static,
{
    pub(crate) fn start(
        shared: Arc<Shared>,
        function: Function<I::Arg, R, E>,
        input: I,
        options: MapOptions,
    ) -> Result<Self, SubmitError> {
        let deadline = options.timeout.map(|t| Instant::now() + t);
        let window = window(&shared, options);
        // Only chosen chunk sizes need to hear of each settled chunk.
        let finished = options
            .chunksize
            .is_none()
            .then(|| Arc::new(Finished::default()));
        let mut slots = VecDeque::new();
        let feeder = start_map(shared, function, input, options, finished, |slot| {
            slots.push_back(slot);
        });
        match feeder {
            Ok(feeder) => Ok(Self {
                feeder,
                slots,
                current: Current::Done,
                window,
                deadline,
                keep_going: options.keep_going,
                finished: false,
            }),
            Err(error) => {
                // Nothing of this map may keep running.
                slots.iter().for_each(Slot::cancel);
                Err(error)
            }
        }
    }

    /// Like [`next`](Iterator::next), waiting at most `timeout` for the next
    /// result (`multiprocessing`'s `IMapIterator.next(timeout)`). When it
    /// passes first this yields [`MapError::Timeout`] and the iteration goes
    /// on: a later call yields that same item.
    pub fn next_timeout(&mut self, timeout: Duration) -> Option<Result<R, MapError<E>>> {
        self.next_until(Some(Instant::now() + timeout))
    }

    fn next_until(&mut self, call: Option<Instant>) -> Option<Result<R, MapError<E>>> {
        loop {
            if self.finished {
                return None;
            }
            match self.current.next() {
                Some(Ok(value)) => return Some(Ok(value)),
                Some(Err(error)) if self.keep_going => return Some(Err(error)),
                Some(Err(error)) => return self.fail(error),
                None => {}
            }
            // The next input goes in before the oldest result comes out.
            self.feeder.catch_up();
            while self.slots.len() <= self.window {
                match self.feeder.next_slot() {
                    Some(slot) => self.slots.push_back(slot),
                    None => break,
                }
            }
            let Some(oldest) = self.slots.front() else {
                return self.input_end();
            };
            if let Slot::Sent { chunk, .. } = oldest {
                let until = earlier(self.deadline, call);
                let left = until.map(|d| d.saturating_duration_since(Instant::now()));
                if let Err(ResultError::Timeout) = chunk.result(left) {
                    if self.deadline.is_some_and(|d| Instant::now() >= d) {
                        return self.fail(MapError::Timeout);
                    }
                    return Some(Err(MapError::Timeout));
                }
            }
            let oldest = self
                .slots
                .pop_front()
                .expect("the front slot was just seen");
            match settle(oldest, self.keep_going) {
                Ok(items) => self.current = items,
                Err(error) => return self.fail(error),
            }
        }
    }

    /// Ends the iteration with `error`, cancelling what was not sent.
    fn fail(&mut self, error: MapError<E>) -> Option<Result<R, MapError<E>>> {
        self.end();
        Some(Err(error))
    }

    /// Every item read was yielded: the input's failure, if it failed, ends
    /// the iteration in its place.
    fn input_end(&mut self) -> Option<Result<R, MapError<E>>> {
        let failure = self.feeder.input.take_failure();
        self.end();
        failure.map(|error| Err(MapError::Input(error)))
    }
}

impl<I: MapInput, R, E> Map<I, R, E> {
    fn end(&mut self) {
        self.slots.drain(..).for_each(|slot| slot.cancel());
        self.feeder.input.stop();
        self.current = Current::Done;
        self.finished = true;
    }
}

impl<I, R, E> Iterator for Map<I, R, E>
where
    I: MapInput,
    I::Arg: Serialize,
    R: DeserializeOwned + Send + 'static,
    E: Clone + Send + 'static,
{
    type Item = Result<R, MapError<E>>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_until(None)
    }

    /// The items still to come if the iteration runs to its end: exact when
    /// the input's `size_hint` is (see [`Map`]'s `# Size`).
    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.finished {
            return (0, Some(0));
        }
        let ahead = self.current.len() + self.slots.iter().map(Slot::len).sum::<usize>();
        size_hint(ahead, self.feeder.input.size_hint())
    }
}

impl<I, R, E> ExactSizeIterator for Map<I, R, E>
where
    I: ExactSizeIterator,
    I::Item: Serialize,
    R: DeserializeOwned + Send + Sync + 'static,
    E: Clone + Send + Sync + 'static,
{
}

impl<I, A, X, R, E> ExactSizeIterator for Map<Fallible<I>, R, E>
where
    I: ExactSizeIterator<Item = Result<A, X>>,
    X: fmt::Display,
    A: Serialize,
    R: DeserializeOwned + Send + Sync + 'static,
    E: Clone + Send + Sync + 'static,
{
}

impl<I: MapInput, R, E> Drop for Map<I, R, E> {
    fn drop(&mut self) {
        self.end();
    }
}

impl<I: MapInput, R, E> fmt::Debug for Map<I, R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Map")
            .field("chunks_in_flight", &self.slots.len())
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

/// A chunk that settled: its number, and if it was answered, its items,
/// the bytes of its answer and when.
struct Settled {
    id: u64,
    answered: Option<(usize, usize, Instant)>,
}

/// Chunks that finished, in the order they finished.
#[derive(Default)]
struct Finished {
    state: Mutex<FinishedState>,
    changed: Condvar,
}

#[derive(Default)]
struct FinishedState {
    chunks: VecDeque<Settled>,
    /// The iterator sleeps on `changed`: only then does a push wake it (a
    /// wake is a system call, and most pushes find it busy).
    waiting: bool,
}

impl Finished {
    fn push(&self, settled: Settled) {
        let mut state = self.state.lock();
        state.chunks.push_back(settled);
        let wake = state.waiting;
        drop(state);
        if wake {
            self.changed.notify_one();
        }
    }

    /// Every chunk that finished since the last look, without waiting.
    fn take_all(&self) -> VecDeque<Settled> {
        std::mem::take(&mut self.state.lock().chunks)
    }

    /// The next finished chunk; `None` if `deadline` passes first.
    fn pop(&self, deadline: Option<Instant>) -> Option<Settled> {
        let mut state = self.state.lock();
        loop {
            if let Some(settled) = state.chunks.pop_front() {
                return Some(settled);
            }
            state.waiting = true;
            state = match deadline {
                None => self.changed.wait(state),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        state.waiting = false;
                        return None;
                    }
                    self.changed.wait_timeout(state, left).0
                }
            };
            state.waiting = false;
        }
    }
}

/// The results of [`map_unordered`](crate::ProcessPoolExecutor::map_unordered),
/// in the order chunks finish (items of one chunk in their input order).
///
/// The same rules as [`Map`] otherwise: `buffersize` chunks in flight (each
/// finished chunk taken submits the next), one deadline, the first failure
/// ends the iteration and cancels what was not sent (unless
/// [`MapOptions::keep_going`]). An input that fails is yielded as
/// [`MapError::Input`] once every item read before it was.
///
/// # Dropping
///
#[doc = DROPPING!()]
#[must_use = DISCARDED!()]
pub struct MapUnordered<I: MapInput, R, E = Infallible> {
    feeder: Feeder<I, I::Arg, R, E>,
    /// Sent chunks not yet taken, by number.
    pending: BTreeMap<u64, Slot<R, E>>,
    /// Refused chunks: settled already, taken first.
    refused: VecDeque<Slot<R, E>>,
    finished_chunks: Arc<Finished>,
    current: Current<R, E>,
    window: usize,
    deadline: Option<Instant>,
    keep_going: bool,
    finished: bool,
}

impl<I, R, E> MapUnordered<I, R, E>
where
    I: MapInput,
    I::Arg: Serialize,
    R: DeserializeOwned + Send + 'static,
    E: Clone + Send + 'static,
{
    pub(crate) fn start(
        shared: Arc<Shared>,
        function: Function<I::Arg, R, E>,
        input: I,
        options: MapOptions,
    ) -> Result<Self, SubmitError> {
        let finished_chunks = Arc::new(Finished::default());
        let window = window(&shared, options);
        let mut slots = Vec::new();
        let finished = Some(Arc::clone(&finished_chunks));
        let feeder = match start_map(shared, function, input, options, finished, |slot| {
            slots.push(slot);
        }) {
            Ok(feeder) => feeder,
            Err(error) => {
                // Nothing of this map may keep running.
                slots.iter().for_each(Slot::cancel);
                return Err(error);
            }
        };
        let mut this = Self {
            feeder,
            pending: BTreeMap::new(),
            refused: VecDeque::new(),
            finished_chunks,
            current: Current::Done,
            window,
            deadline: options.timeout.map(|t| Instant::now() + t),
            keep_going: options.keep_going,
            finished: false,
        };
        slots.into_iter().for_each(|slot| this.track(slot));
        Ok(this)
    }

    /// Like [`next`](Iterator::next), waiting at most `timeout` for a chunk
    /// to finish. When it passes first this yields [`MapError::Timeout`] and
    /// the iteration goes on.
    pub fn next_timeout(&mut self, timeout: Duration) -> Option<Result<R, MapError<E>>> {
        self.next_until(Some(Instant::now() + timeout))
    }

    /// Keeps a sent chunk until it reports itself settled (its chunk
    /// carries the report, see `Feeder::next_slot`), a refused one to be
    /// taken next.
    fn track(&mut self, slot: Slot<R, E>) {
        match slot {
            Slot::Sent { id, .. } => {
                self.pending.insert(id, slot);
            }
            Slot::Refused { .. } => self.refused.push_back(slot),
        }
    }

    /// Reads and submits chunks until `window` are pending.
    fn fill(&mut self) {
        while self.pending.len() < self.window {
            match self.feeder.next_slot() {
                Some(next) => self.track(next),
                None => break,
            }
        }
    }

    fn next_until(&mut self, call: Option<Instant>) -> Option<Result<R, MapError<E>>> {
        loop {
            if self.finished {
                return None;
            }
            match self.current.next() {
                Some(Ok(value)) => return Some(Ok(value)),
                Some(Err(error)) if self.keep_going => return Some(Err(error)),
                Some(Err(error)) => return self.fail(error),
                None => {}
            }
            // A map started with `defer_start` has sent nothing yet.
            self.fill();
            let slot = match self.refused.pop_front() {
                Some(slot) => slot,
                None => {
                    if self.pending.is_empty() {
                        return self.input_end();
                    }
                    let Some(settled) = self.finished_chunks.pop(earlier(self.deadline, call))
                    else {
                        if self.deadline.is_some_and(|d| Instant::now() >= d) {
                            return self.fail(MapError::Timeout);
                        }
                        return Some(Err(MapError::Timeout));
                    };
                    self.feeder.note(&settled);
                    let Some(slot) = self.pending.remove(&settled.id) else {
                        continue;
                    };
                    // Taking a finished chunk submits the next.
                    self.fill();
                    slot
                }
            };
            match settle(slot, self.keep_going) {
                Ok(items) => self.current = items,
                Err(error) => return self.fail(error),
            }
        }
    }

    fn fail(&mut self, error: MapError<E>) -> Option<Result<R, MapError<E>>> {
        self.end();
        Some(Err(error))
    }

    /// Every item read was yielded: the input's failure, if it failed, ends
    /// the iteration in its place.
    fn input_end(&mut self) -> Option<Result<R, MapError<E>>> {
        let failure = self.feeder.input.take_failure();
        self.end();
        failure.map(|error| Err(MapError::Input(error)))
    }
}

impl<I: MapInput, R, E> MapUnordered<I, R, E> {
    fn end(&mut self) {
        for slot in std::mem::take(&mut self.pending).into_values() {
            slot.cancel();
        }
        self.refused.clear();
        self.feeder.input.stop();
        self.current = Current::Done;
        self.finished = true;
    }
}

impl<I, R, E> Iterator for MapUnordered<I, R, E>
where
    I: MapInput,
    I::Arg: Serialize,
    R: DeserializeOwned + Send + 'static,
    E: Clone + Send + 'static,
{
    type Item = Result<R, MapError<E>>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_until(None)
    }

    /// The items still to come if the iteration runs to its end: exact when
    /// the input's `size_hint` is (see [`Map`]'s `# Size`).
    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.finished {
            return (0, Some(0));
        }
        let pending = self.pending.values().chain(&self.refused);
        let ahead = self.current.len() + pending.map(Slot::len).sum::<usize>();
        size_hint(ahead, self.feeder.input.size_hint())
    }
}

impl<I, R, E> ExactSizeIterator for MapUnordered<I, R, E>
where
    I: ExactSizeIterator,
    I::Item: Serialize,
    R: DeserializeOwned + Send + Sync + 'static,
    E: Clone + Send + Sync + 'static,
{
}

impl<I, A, X, R, E> ExactSizeIterator for MapUnordered<Fallible<I>, R, E>
where
    I: ExactSizeIterator<Item = Result<A, X>>,
    X: fmt::Display,
    A: Serialize,
    R: DeserializeOwned + Send + Sync + 'static,
    E: Clone + Send + Sync + 'static,
{
}

impl<I: MapInput, R, E> Drop for MapUnordered<I, R, E> {
    fn drop(&mut self) {
        self.end();
    }
}

impl<I: MapInput, R, E> fmt::Debug for MapUnordered<I, R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapUnordered")
            .field("chunks_in_flight", &self.pending.len())
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}
