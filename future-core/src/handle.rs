//! [`Future`] and [`Completer`]: shared, `Arc`-backed handles (feature `alloc`).

use crate::{
    FutureCell, ResultError,
    registry::{Phase, WakerKey},
    state::{FINISHED, is_settled, state_of},
    sync::{Arc, AtomicUsize, Ordering},
};
use core::{
    fmt,
    ops::Deref,
    pin::Pin,
    task::{Context, Poll},
};

/// The heap part of a future: the cell, plus a count of live completers.
struct Shared<T, E> {
    cell: FutureCell<T, E, 0>,
    completers: AtomicUsize,
}

/// A future that can be shared across threads and awaited: the handle an
/// executor returns from `submit`.
///
/// It dereferences to a [`FutureCell`], so every Python method is there
/// (`result`, `exception`, `cancel`, `done`, `add_done_callback`, and the
/// `set_*` methods). On top of the cell it can
/// - move the outcome out by value with [`into_result`](Self::into_result),
///   since a `Future` is the one handle that may read the outcome (it is not
///   `Clone`; share it by reference);
/// - hand out [`Completer`]s: cloneable handles for the producing side that
///   cannot read the outcome. If every completer is dropped before the future
///   is done, the future is cancelled, so nobody waits forever for a result
///   that can no longer come;
/// - be `.await`ed: it is a [`core::future::Future`], in any async runtime.
///
/// # Examples
///
/// ```
/// use future_core::Future;
///
/// let fut: Future<u64, String> = Future::new();
/// let completer = fut.completer();
/// std::thread::spawn(move || completer.set_result((1..=20).product()).unwrap());
/// assert_eq!(fut.into_result(), Ok(2_432_902_008_176_640_000));
/// ```
pub struct Future<T, E> {
    shared: Arc<Shared<T, E>>,
    /// The async registration of this handle, if it was polled.
    waker_key: Option<WakerKey>,
}

impl<T, E> Future<T, E> {
    /// A new `PENDING` future.
    pub fn new() -> Self {
        Self {
            shared: Arc::new(Shared {
                cell: FutureCell::for_handle(),
                completers: AtomicUsize::new(0),
            }),
            waker_key: None,
        }
    }

    /// A new handle for the producing side of this future.
    pub fn completer(&self) -> Completer<T, E> {
        Completer::new(Arc::clone(&self.shared))
    }

    /// Waits until the future is done and its done callbacks have run, then
    /// moves the outcome out.
    ///
    /// # Blocking
    ///
    /// Parks without a timeout; to bound the wait, first call
    /// [`result`](FutureCell::result) or [`exception`](FutureCell::exception)
    /// with one. Waits for callbacks too, since they may still be reading the
    /// outcome.
    pub fn into_result(mut self) -> Result<T, ResultError<E>> {
        self.shared.cell.forget_key(&mut self.waker_key);
        let word = self
            .shared
            .cell
            .block_until(is_settled, None, &crate::clock::Unread)
            .map_err(ResultError::from)?;
        self.take(word)
    }

    /// Moves the outcome out of a settled future.
    fn take(&self, word: u32) -> Result<T, ResultError<E>> {
        if state_of(word) != FINISHED {
            return Err(ResultError::Cancelled);
        }
        // `word` is an Acquire reading showing FINISHED and SETTLED.
        // This handle is the only one that can read the outcome (`Future` is
        // not `Clone`; completers cannot read it), it is borrowed by nobody
        // (we hold `&self` of the last such reader, and `result()` borrows
        // from `&self` too, so none is live across this call), and SETTLED
        // means no done callback is still looking at it. It was not TAKEN:
        // only this function takes, and it is reached once per handle.
        // SAFETY: (as above) FINISHED, SETTLED, not TAKEN, and unshared.
        let outcome = unsafe { self.shared.cell.take_settled(word) };
        outcome.map_err(ResultError::Failed)
    }
}

impl<T, E> Default for Future<T, E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, E> Deref for Future<T, E> {
    type Target = FutureCell<T, E, 0>;

    fn deref(&self) -> &Self::Target {
        &self.shared.cell
    }
}

impl<T, E> Drop for Future<T, E> {
    fn drop(&mut self) {
        self.shared.cell.forget_key(&mut self.waker_key);
    }
}

/// `.await` yields the outcome by value (like [`into_result`](Future::into_result)).
///
/// # Panics
///
/// Polling again after it returned `Ready` panics: the outcome has been
/// moved out (the usual contract of [`core::future::Future`]).
impl<T, E> core::future::Future for Future<T, E> {
    type Output = Result<T, ResultError<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let cell = &this.shared.cell;
        if !cell.poll_phase(cx.waker(), &mut this.waker_key, Phase::Settled) {
            return Poll::Pending;
        }
        let word = cell.word();
        assert!(
            state_of(word) != FINISHED || word & crate::state::TAKEN == 0,
            "future-core: Future polled after it returned Ready"
        );
        Poll::Ready(this.take(word))
    }
}

impl<T, E> fmt::Debug for Future<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.shared.cell, f)
    }
}

/// The producing side of a [`Future`]: completes it, cannot read it.
///
/// Executors hold one while the task is queued and running. Cloneable. When
/// the last completer is dropped and the future is still `PENDING` or
/// `RUNNING`, the future is cancelled (waking its waiters and running its
/// callbacks), so a lost task never leaves a waiter hanging.
pub struct Completer<T, E> {
    shared: Arc<Shared<T, E>>,
}

impl<T, E> Completer<T, E> {
    fn new(shared: Arc<Shared<T, E>>) -> Self {
        // ORDERING: Relaxed; a new completer is made from a live handle, so
        // the count cannot concurrently reach zero for this future's sake.
        shared.completers.fetch_add(1, Ordering::Relaxed);
        Self { shared }
    }

    /// See [`FutureCell::set_running_or_notify_cancel`].
    pub fn set_running_or_notify_cancel(&self) -> Result<bool, crate::UnexpectedStateError> {
        self.shared.cell.set_running_or_notify_cancel()
    }

    /// See [`FutureCell::set_result`].
    pub fn set_result(&self, value: T) -> Result<(), crate::InvalidStateError<T>> {
        self.shared.cell.set_result(value)
    }

    /// See [`FutureCell::set_exception`].
    pub fn set_exception(&self, error: E) -> Result<(), crate::InvalidStateError<E>> {
        self.shared.cell.set_exception(error)
    }

    /// See [`FutureCell::cancel`].
    pub fn cancel(&self) -> bool {
        self.shared.cell.cancel()
    }

    /// See [`FutureCell::state`].
    pub fn state(&self) -> crate::State {
        self.shared.cell.state()
    }

    /// See [`FutureCell::done`].
    pub fn done(&self) -> bool {
        self.shared.cell.done()
    }

    /// See [`FutureCell::cancelled`].
    pub fn cancelled(&self) -> bool {
        self.shared.cell.cancelled()
    }

    /// The identity of the future this completes: equal to
    /// [`FutureCell::identity`] of its [`Future`] handles.
    pub fn identity(&self) -> *const () {
        self.shared.cell.identity()
    }
}

// SAFETY: a completer never reads the outcome, so it needs `T: Send` (to
// move a value in, or to drop the shared cell with the value in it when it
// holds the last reference) and never `T: Sync`. Every way the completing
// thread could obtain `&T` was checked:
// - its own methods: `set_result`/`set_exception` move a value in and hand
//   back only that same value on failure; `cancel`, `state`, `done`,
//   `cancelled`, `identity`, `Debug` read the state word alone;
// - done callbacks, which it runs and which see `Completion` (`&T`/`&E`):
//   registering one needs `T: Sync, E: Sync` (`FutureCell::add_done_callback`);
// - wakers, which it wakes: they never see the outcome;
// - drops: the last `Arc` (a completer or the future) drops the cell and so
//   the outcome, in whatever thread it is, which needs `T: Send` only; the
//   `Arc` count's Release/Acquire orders every reader's borrow before it.
// The handle that reads (`Future`) keeps the auto-derived bounds: it is
// `Send`/`Sync` only when `T` and `E` are `Send + Sync`.
unsafe impl<T: Send, E: Send> Send for Completer<T, E> {}
// SAFETY: `&Completer` offers only the methods above (none reads `&T`), and
// cloning one is an atomic increment; so sharing it needs what sending it
// needs, like `std::sync::mpsc::Sender`.
unsafe impl<T: Send, E: Send> Sync for Completer<T, E> {}

impl<T, E> Clone for Completer<T, E> {
    fn clone(&self) -> Self {
        Self::new(Arc::clone(&self.shared))
    }
}

impl<T, E> Drop for Completer<T, E> {
    fn drop(&mut self) {
        // ORDERING: AcqRel so the last completer sees every other completer's
        // completion attempt before deciding to abandon.
        if self.shared.completers.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.cell.abandon();
        }
    }
}

impl<T, E> fmt::Debug for Completer<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Completer")
            .field("state", &self.state())
            .finish()
    }
}
