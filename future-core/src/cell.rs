//! [`FutureCell`]: Python's `Future` as one value that needs no allocator.

use crate::{
    Completion, Mutex, ResultError, State, Status, TryResultError, WaitError,
    callback::Callback,
    clock::{Clock, Deadline},
    error::{CapacityError, InvalidStateError, UnexpectedStateError},
    park::{DefaultParker, Park},
    registry::{Phase, Registry, WakerKey},
    state::{
        CANCELLED, CANCELLED_AND_NOTIFIED, COMPLETING, FAILED, FINISHED, HANDLE, PARKED, PENDING,
        REGISTERED, RUNNING, SETTLED, STATE_MASK, TAKEN, is_done, is_settled, state_of,
    },
    sync::{AtomicU32, Ordering, SPIN_BEFORE_PARK, UnsafeCell, maybe_const_fn, spin_loop},
};
use core::{fmt, mem::MaybeUninit, task::Waker, time::Duration};

mod reuse;
mod settle;
use settle::Held;

/// The outcome of a task that may not have run yet: Python's
/// `concurrent.futures.Future`, with no allocation.
///
/// A `FutureCell` can be a `static` or live on the stack; it is shared by
/// reference. Done callbacks and waker registrations are kept inline, up to
/// `N` of each; without the `alloc` feature going over is a
/// [`CapacityError`], with it the lists grow.
///
/// # States
///
/// Exactly Python's: `PENDING` → `RUNNING` (by an executor's
/// [`set_running_or_notify_cancel`](Self::set_running_or_notify_cancel)) →
/// `FINISHED` (by [`set_result`](Self::set_result) or
/// [`set_exception`](Self::set_exception), also allowed straight from
/// `PENDING`); `PENDING` → `CANCELLED` (by [`cancel`](Self::cancel)) →
/// `CANCELLED_AND_NOTIFIED` (when an executor acknowledges it).
///
/// # Reuse
///
/// A done cell (a `static` one, typically) is re-armed for its next round by
/// [`reset`](Self::reset), which also hands back the outcome by value; its
/// rules are checked (done, settled, never lent by reference, no waiter key
/// out). [`try_result`](Self::try_result) reads without waiting or a clock.
/// A reader blocked in [`result`](Self::result) when the cell is reset (woken
/// by the completion, but not reading yet) waits on for the next round's
/// outcome: on a reused cell, a blocking read returns the outcome of the first
/// round it finds done, not necessarily the round current when it began.
///
/// # Interrupts
///
/// Completing and reading without waiting are safe in an interrupt handler;
/// registering and blocking are not. See the crate docs' "In interrupts".
///
/// # Blocking
///
/// [`result`](Self::result) and [`exception`](Self::exception) park the thread
/// until the future is done or the timeout passes. Reading a finished outcome
/// takes no lock: the outcome is written once, before `FINISHED` is published.
///
/// # Better than CPython
///
/// [`cancel`](Self::cancel) wakes waiters at once, and `wait`/`as_completed`
/// (the `waiters` crate) count a cancelled future as done, so they never hang
/// on a future cancelled by the user or by an executor's shutdown
/// (CPython gh-92001, gh-109934).
///
/// # Thread safety
///
/// A finished outcome is read by reference from every thread that holds the
/// future, and by done callbacks in the completing thread, so sharing a
/// future needs `T: Send + Sync` (and the same of `E`), and so does adding a
/// done callback (it may run in another thread than the readers). Only
/// producing an outcome needs no more than `Send`: a
/// `Completer` moves to the worker with `T: Send`.
///
/// ```compile_fail
/// fn shared<T: Sync>() {}
/// shared::<future_core::FutureCell<std::cell::Cell<u8>, ()>>();
/// ```
///
/// ```compile_fail
/// fn sent<T: Send>() {}
/// sent::<future_core::Future<std::rc::Rc<u8>, ()>>();
/// ```
///
/// ```compile_fail
/// let cell = future_core::FutureCell::<std::cell::Cell<u8>, ()>::new();
/// cell.add_done_callback_fn(|_| {}).unwrap();
/// ```
///
/// # Examples
///
/// A static future with plain-function callbacks, no allocator involved:
///
/// ```
/// use core::time::Duration;
/// use future_core::{Completion, FutureCell};
///
/// static ANSWER: FutureCell<u32, &str, 2> = FutureCell::new();
///
/// fn log(c: Completion<'_, u32, &str>) {
///     assert!(matches!(c, Completion::Returned(&42)));
/// }
/// ANSWER.add_done_callback_fn(log).unwrap();
///
/// std::thread::spawn(|| ANSWER.set_result(42).unwrap());
/// assert_eq!(ANSWER.result(Some(Duration::from_secs(10))), Ok(&42));
/// ```
pub struct FutureCell<T, E, const N: usize = 2> {
    /// State and flags; see the `state` module for who may touch `outcome` when.
    word: AtomicU32,
    outcome: UnsafeCell<MaybeUninit<Result<T, E>>>,
    registry: Mutex<Registry<T, E, N>>,
}

// SAFETY: `&FutureCell` lets one thread move a `T`/`E` in (needs `Send`) and
// every thread read it by reference (needs `Sync`). Callbacks and wakers in
// the registry are `Send` and reached only under its mutex.
unsafe impl<T: Send + Sync, E: Send + Sync, const N: usize> Sync for FutureCell<T, E, N> {}
// SAFETY: moving the cell moves the outcome (and callbacks, which are `Send`).
unsafe impl<T: Send, E: Send, const N: usize> Send for FutureCell<T, E, N> {}

impl<T, E, const N: usize> FutureCell<T, E, N> {
    maybe_const_fn! {
        /// A new `PENDING` future. `const`, so it can be a `static`.
        pub fn new() -> Self {
            Self {
                word: AtomicU32::new(PENDING),
                outcome: UnsafeCell::new(MaybeUninit::uninit()),
                registry: Mutex::new(Registry::new()),
            }
        }
    }

    /// A new `PENDING` cell for a `Future` handle: marked so it is never reset.
    #[cfg(feature = "alloc")]
    pub(crate) fn for_handle() -> Self {
        let cell = Self::new();
        // ORDERING: Relaxed; the cell is not shared yet.
        cell.word.fetch_or(HANDLE, Ordering::Relaxed);
        cell
    }

    // ===== queries =====

    /// The current state.
    pub fn state(&self) -> State {
        State::from_word(self.word.load(Ordering::Acquire))
    }

    /// The state plus whether a finished future failed, in one read.
    pub fn status(&self) -> Status {
        Status::from_word(self.word.load(Ordering::Acquire))
    }

    /// True when cancelled or finished.
    pub fn done(&self) -> bool {
        is_done(self.word.load(Ordering::Acquire))
    }

    /// True only while `RUNNING`.
    pub fn running(&self) -> bool {
        self.state() == State::Running
    }

    /// True when `CANCELLED` or `CANCELLED_AND_NOTIFIED`.
    pub fn cancelled(&self) -> bool {
        matches!(self.state(), State::Cancelled | State::CancelledAndNotified)
    }

    // ===== transitions =====

    /// Cancels a future that has not started.
    ///
    /// `PENDING` → `CANCELLED`: wakes every waiter, runs the done callbacks in
    /// this thread, and returns true. Already cancelled: returns true and does
    /// nothing (callbacks do not run again). `RUNNING` or `FINISHED`: returns
    /// false and changes nothing.
    pub fn cancel(&self) -> bool {
        match self.cancel_if(|state| state == PENDING) {
            Ok(()) => true,
            Err(state) => matches!(state, CANCELLED | CANCELLED_AND_NOTIFIED),
        }
    }

    /// Moves the future to `CANCELLED` if `cancellable(state)`, then wakes
    /// the parked readers and settles; otherwise returns the state it found.
    fn cancel_if(&self, cancellable: fn(u32) -> bool) -> Result<(), u32> {
        let mut word = self.word.load(Ordering::Relaxed);
        loop {
            if !cancellable(state_of(word)) {
                return Err(state_of(word));
            }
            // ORDERING: Release, so a reader that sees CANCELLED sees what the
            // canceller did before; nothing is read through this CAS.
            match self.word.compare_exchange_weak(
                word,
                terminal_word(word, CANCELLED),
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(actual) => word = actual,
            }
        }
        self.after_publish(word);
        Ok(())
    }

    /// After a terminal state replaced `previous`: wake parked readers, and
    /// settle if anything was registered.
    fn after_publish(&self, previous: u32) {
        if previous & PARKED != 0 {
            DefaultParker::wake_all(&self.word);
        }
        if previous & REGISTERED != 0 {
            self.settle();
        }
    }

    /// For executors, before running the task: `PENDING` → `RUNNING` and
    /// `Ok(true)`; `CANCELLED` → `CANCELLED_AND_NOTIFIED` and `Ok(false)` (skip
    /// the task). Any other state is an executor bug, reported as
    /// [`UnexpectedStateError`].
    pub fn set_running_or_notify_cancel(&self) -> Result<bool, UnexpectedStateError> {
        let mut word = self.word.load(Ordering::Relaxed);
        loop {
            let (next, started) = match state_of(word) {
                PENDING => (RUNNING, true),
                CANCELLED => (CANCELLED_AND_NOTIFIED, false),
                _ => {
                    return Err(UnexpectedStateError {
                        state: State::from_word(word),
                    });
                }
            };
            // ORDERING: Relaxed; the state change carries no data. Flags are kept.
            match self.word.compare_exchange_weak(
                word,
                (word & !STATE_MASK) | next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(started),
                Err(actual) => word = actual,
            }
        }
    }

    /// Finishes the future with a value (from `PENDING` or `RUNNING`).
    ///
    /// Wakes the waiters, then runs the done callbacks in this thread (or
    /// leaves both to a registration in progress, which runs them as it
    /// returns: never waits for it; see the crate's "In interrupts"). On a
    /// future that is already done the value is handed back in an
    /// [`InvalidStateError`] and the first outcome stays.
    pub fn set_result(&self, value: T) -> Result<(), InvalidStateError<T>> {
        self.complete(Ok(value))
            .map_err(|(state, outcome)| match outcome {
                Ok(value) => InvalidStateError::new(state, value),
                Err(_) => unreachable!("complete hands back what it was given"),
            })
    }

    /// Finishes the future with an error; otherwise like [`set_result`](Self::set_result).
    pub fn set_exception(&self, error: E) -> Result<(), InvalidStateError<E>> {
        self.complete(Err(error))
            .map_err(|(state, outcome)| match outcome {
                Err(error) => InvalidStateError::new(state, error),
                Ok(_) => unreachable!("complete hands back what it was given"),
            })
    }

    fn complete(&self, outcome: Result<T, E>) -> Result<(), (State, Result<T, E>)> {
        let mut word = self.word.load(Ordering::Relaxed);
        loop {
            if !matches!(state_of(word), PENDING | RUNNING) {
                let state = match state_of(word) {
                    COMPLETING => State::Finished,
                    _ => State::from_word(word),
                };
                return Err((state, outcome));
            }
            // ORDERING: Relaxed; winning this CAS only grants the right to
            // write the cell, which nobody reads before FINISHED is published.
            match self.word.compare_exchange_weak(
                word,
                (word & (PARKED | REGISTERED | HANDLE)) | COMPLETING,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(actual) => word = actual,
            }
        }
        let failed = if outcome.is_err() { FAILED } else { 0 };
        // Readers wait for FINISHED, so nobody looks at the cell yet.
        // SAFETY: in COMPLETING only the CAS winner (us) may touch the cell.
        self.outcome.with_mut(|p| unsafe { (*p).write(outcome) });
        let mut word = (word & (PARKED | REGISTERED | HANDLE)) | COMPLETING;
        loop {
            // Only flag bits can change under us (PARKED, REGISTERED).
            // ORDERING: Release publishes the outcome written above to every
            // Acquire load that sees FINISHED.
            match self.word.compare_exchange_weak(
                word,
                terminal_word(word, FINISHED | failed),
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(actual) => word = actual,
            }
        }
        self.after_publish(word);
        Ok(())
    }

    /// The done future's outcome as callbacks see it.
    fn completion(&self) -> Completion<'_, T, E> {
        let word = self.word.load(Ordering::Acquire);
        match state_of(word) {
            FINISHED => match self.outcome_ref(word) {
                Ok(v) => Completion::Returned(v),
                Err(e) => Completion::Raised(e),
            },
            _ => Completion::Cancelled,
        }
    }

    /// The stored outcome. `word` must be an Acquire reading showing FINISHED.
    fn outcome_ref(&self, word: u32) -> &Result<T, E> {
        debug_assert_eq!(state_of(word), FINISHED);
        debug_assert_eq!(word & TAKEN, 0);
        // `word` was read with Acquire and is FINISHED, so the write in
        // `complete` happened before, and the cell is never written again. It
        // is moved out only through `&mut self` or by the unique handle after
        // SETTLED, and neither can coexist with this `&self` borrow.
        // SAFETY: (as above) initialised, published, and never moved while borrowed.
        self.outcome.with(|p| unsafe { (*p).assume_init_ref() })
    }

    // ===== blocking reads =====

    /// Waits up to `timeout` (`None`: forever) for the outcome and borrows it.
    ///
    /// Returns the value, [`ResultError::Failed`] with the task's error,
    /// [`ResultError::Cancelled`], or [`ResultError::Timeout`]. A zero timeout
    /// never blocks.
    ///
    /// # Blocking
    ///
    /// Parks the calling thread; a woken reader may return before the done
    /// callbacks have run (as in Python). If the cell is [reset](Self::reset)
    /// before the woken reader reads, it waits on for the next round (see
    /// "Reuse" above).
    #[cfg(any(feature = "std", all(feature = "futex", target_os = "linux")))]
    pub fn result(&self, timeout: Option<Duration>) -> Result<&T, ResultError<&E>> {
        self.result_with_clock(timeout, &crate::clock::DefaultClock::default())
    }

    /// [`result`](Self::result) with deadlines measured on `clock` (for targets
    /// without a default clock). With `None` or a zero timeout the clock is
    /// never read.
    pub fn result_with_clock<C: Clock + ?Sized>(
        &self,
        timeout: Option<Duration>,
        clock: &C,
    ) -> Result<&T, ResultError<&E>> {
        loop {
            self.block_until(is_done, timeout, clock)?;
            match self.try_result() {
                Ok(value) => return Ok(value),
                Err(TryResultError::Failed(e)) => return Err(ResultError::Failed(e)),
                Err(TryResultError::Cancelled) => return Err(ResultError::Cancelled),
                // Reset between the wait and the read: wait for the next round.
                Err(TryResultError::NotDone) => {}
            }
        }
    }

    /// Waits like [`result`](Self::result) and returns the task's error, or
    /// `None` if it succeeded. Never returns the error as `Err`.
    #[cfg(any(feature = "std", all(feature = "futex", target_os = "linux")))]
    pub fn exception(&self, timeout: Option<Duration>) -> Result<Option<&E>, WaitError> {
        self.exception_with_clock(timeout, &crate::clock::DefaultClock::default())
    }

    /// [`exception`](Self::exception) with deadlines measured on `clock`.
    pub fn exception_with_clock<C: Clock + ?Sized>(
        &self,
        timeout: Option<Duration>,
        clock: &C,
    ) -> Result<Option<&E>, WaitError> {
        match self.result_with_clock(timeout, clock) {
            Ok(_) => Ok(None),
            Err(ResultError::Failed(e)) => Ok(Some(e)),
            Err(ResultError::Cancelled) => Err(WaitError::Cancelled),
            Err(ResultError::Timeout) => Err(WaitError::Timeout),
        }
    }

    /// Parks until `ready(word)` holds or the deadline passes; returns the
    /// word that satisfied it, read with Acquire.
    pub(crate) fn block_until<C: Clock + ?Sized>(
        &self,
        ready: fn(u32) -> bool,
        timeout: Option<Duration>,
        clock: &C,
    ) -> Result<u32, WaitError> {
        // ORDERING: Acquire, so a FINISHED seen here carries the outcome.
        let mut word = self.word.load(Ordering::Acquire);
        if ready(word) {
            return Ok(word);
        }
        if timeout == Some(Duration::ZERO) {
            return Err(WaitError::Timeout);
        }
        // A countdown rather than a range: the limit is zero under loom.
        let mut spins = SPIN_BEFORE_PARK;
        while spins > 0 {
            spins -= 1;
            spin_loop();
            // ORDERING: Acquire, as above.
            word = self.word.load(Ordering::Acquire);
            if ready(word) {
                return Ok(word);
            }
        }
        let deadline = Deadline::after(clock, timeout);
        loop {
            if word & PARKED == 0 {
                // Announce ourselves, so the next change of the word wakes us.
                // ORDERING: Acquire on failure, as for the load above.
                match self.word.compare_exchange_weak(
                    word,
                    word | PARKED,
                    Ordering::Relaxed,
                    Ordering::Acquire,
                ) {
                    Ok(_) => word |= PARKED,
                    Err(actual) => {
                        word = actual;
                        if ready(word) {
                            return Ok(word);
                        }
                        continue;
                    }
                }
            }
            let remaining = deadline.remaining();
            if remaining == Some(Duration::ZERO) {
                return Err(WaitError::Timeout);
            }
            DefaultParker::wait(&self.word, word, remaining);
            // ORDERING: Acquire, as above.
            word = self.word.load(Ordering::Acquire);
            if ready(word) {
                return Ok(word);
            }
        }
    }

    // ===== callbacks =====

    /// Adds a plain-function done callback (no allocation).
    ///
    /// On a future that is not done yet it runs when the future finishes or is
    /// cancelled, in the completing thread (or, if that completion met a
    /// registration in progress, in the registering thread as it returns),
    /// after the waiters are woken, in registration order. On a done future
    /// it runs at once, in this thread.
    /// Each callback runs exactly once.
    ///
    /// # Errors
    ///
    /// [`CapacityError`] when `N` callbacks are already waiting and the `alloc`
    /// feature is off. The callback is then not registered.
    ///
    /// Needs `T: Sync` and `E: Sync`: the callback reads the outcome by
    /// reference in the completing thread while the future's holders may read
    /// it in theirs. (A `Completer` is `Send` with `T: Send` alone; this
    /// bound is what keeps that sound.)
    pub fn add_done_callback_fn(&self, f: fn(Completion<'_, T, E>)) -> Result<(), CapacityError>
    where
        T: Sync,
        E: Sync,
    {
        self.add_callback(Callback::Fn(f))
    }

    /// Adds a closure as a done callback; otherwise like
    /// [`add_done_callback_fn`](Self::add_done_callback_fn), and never fails.
    #[cfg(feature = "alloc")]
    pub fn add_done_callback(&self, f: impl FnOnce(Completion<'_, T, E>) + Send + 'static)
    where
        T: Sync,
        E: Sync,
    {
        let added = self.add_callback(Callback::Boxed(alloc::boxed::Box::new(f)));
        debug_assert!(added.is_ok(), "with alloc the callback list grows");
    }

    fn add_callback(&self, callback: Callback<T, E>) -> Result<(), CapacityError> {
        let run_now = match self.lock_registry() {
            Some(mut registry) => registry.add_callback(callback)?,
            None => Some(callback),
        };
        if let Some(callback) = run_now {
            match self.lent_completion() {
                Some(completion) => callback.run(completion),
                // Reset since the registry refused it: it belongs to the next round.
                None => return self.add_callback(callback),
            }
        }
        Ok(())
    }

    /// Locks the registry to add to it, announcing REGISTERED first; `None`
    /// when the future is already settled (nothing can be registered: run
    /// callbacks now, report wakers' phases as over).
    fn lock_registry(&self) -> Option<Held<'_, T, E, N>> {
        let registry = Held::new(self, self.registry.lock());
        // ORDERING: AcqRel. Release orders this before a completer's CAS that
        // sees REGISTERED (and so will settle); Acquire pairs with the publish
        // so a SETTLED seen here carries the outcome.
        let word = self.word.fetch_or(REGISTERED, Ordering::AcqRel);
        (!is_settled(word)).then_some(registry)
    }

    // ===== wakers (waiters and async) =====

    /// Registers `waker` to be woken once, when the future is done (before
    /// done callbacks run). `Ok(None)` if it is already done: nothing was
    /// registered.
    ///
    /// Register first, then re-check [`status`](Self::status): a completion
    /// between the check and the registration cannot be missed that way.
    ///
    /// # Errors
    ///
    /// [`CapacityError`] when `N` wakers are registered and `alloc` is off.
    pub fn register_waker(&self, waker: &Waker) -> Result<Option<WakerKey>, CapacityError> {
        match self.lock_registry() {
            Some(mut registry) => registry.add_waker(waker, Phase::Done),
            None => Ok(None),
        }
    }

    /// Removes a registration; harmless if it was already woken.
    pub fn unregister_waker(&self, key: WakerKey) {
        Held::new(self, self.registry.lock()).remove_waker(key);
    }

    /// Registers or refreshes an async waiter for `phase`; true when the
    /// phase is already over (ready to proceed).
    pub(crate) fn poll_phase(
        &self,
        waker: &Waker,
        key: &mut Option<WakerKey>,
        phase: Phase,
    ) -> bool {
        let reached = |w: u32| match phase {
            Phase::Done => is_done(w),
            Phase::Settled => is_settled(w),
        };
        // ORDERING: Acquire, so a terminal word carries the outcome.
        if reached(self.word.load(Ordering::Acquire)) {
            self.forget_key(key);
            return true;
        }
        let Some(mut registry) = self.lock_registry() else {
            *key = None;
            return true;
        };
        if let Some(k) = *key {
            if registry.update_waker(k, waker) {
                return false;
            }
            *key = None;
            return true;
        }
        match registry.add_waker(waker, phase) {
            Ok(Some(k)) => {
                *key = Some(k);
                false
            }
            Ok(None) => true,
            Err(CapacityError { .. }) => {
                // No room to be told: ask to be polled again instead. Busy,
                // but never lost.
                drop(registry);
                waker.wake_by_ref();
                false
            }
        }
    }

    pub(crate) fn forget_key(&self, key: &mut Option<WakerKey>) {
        if let Some(k) = key.take() {
            self.unregister_waker(k);
        }
    }

    // ===== moving the outcome out =====

    /// Moves the outcome out of a finished future: `Some` once, then `None`.
    /// `None` also for a future that is not finished (pending or cancelled).
    ///
    /// `&mut self` proves nobody else can be reading the outcome.
    pub fn take_outcome(&mut self) -> Option<Result<T, E>> {
        let word = self.word.load(Ordering::Acquire);
        if state_of(word) != FINISHED || word & TAKEN != 0 {
            return None;
        }
        // `&mut self` is exclusive, so no callback or reader holds a reference
        // into the cell; TAKEN was clear, so it is initialised.
        // SAFETY: FINISHED, not TAKEN, and nobody else can read the outcome.
        Some(unsafe { self.take_settled(word) })
    }

    /// Moves the outcome out and marks it taken.
    ///
    /// # Safety
    ///
    /// - `word` is an Acquire reading of this cell showing FINISHED, not TAKEN;
    /// - no other reference into the outcome exists or can be made: the
    ///   caller is the only party able to read it, and completion is settled
    ///   (no callback is still looking at it).
    pub(crate) unsafe fn take_settled(&self, word: u32) -> Result<T, E> {
        debug_assert_eq!(state_of(word), FINISHED);
        // ORDERING: Relaxed; only this cell's own drop reads TAKEN, after
        // whatever synchronises the drop with us.
        self.word.fetch_or(TAKEN, Ordering::Relaxed);
        // TAKEN (just set) stops the cell being read or dropped again.
        // SAFETY: the caller guarantees the cell is initialised and unshared.
        self.outcome.with(|p| unsafe { (*p).assume_init_read() })
    }

    /// For handles whose completers all went away: `PENDING` or `RUNNING` →
    /// `CANCELLED`, so nobody waits for an outcome that can never come.
    #[cfg(feature = "alloc")]
    pub(crate) fn abandon(&self) {
        let _ = self.cancel_if(|state| matches!(state, PENDING | RUNNING));
    }

    /// An address that identifies this future (for de-duplication).
    pub fn identity(&self) -> *const () {
        core::ptr::from_ref(self).cast()
    }

    #[cfg(feature = "alloc")]
    pub(crate) fn word(&self) -> u32 {
        self.word.load(Ordering::Acquire)
    }
}

impl<T, E, const N: usize> Default for FutureCell<T, E, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, E, const N: usize> Drop for FutureCell<T, E, N> {
    fn drop(&mut self) {
        let word = self.word.load(Ordering::Acquire);
        if state_of(word) == FINISHED && word & TAKEN == 0 {
            let drop_outcome = |p: *mut MaybeUninit<Result<T, E>>| {
                // SAFETY: `&mut self`; FINISHED, not TAKEN: initialised and owned.
                unsafe { (*p).assume_init_drop() }
            };
            self.outcome.with_mut(drop_outcome);
        }
    }
}

impl<T, E, const N: usize> fmt::Debug for FutureCell<T, E, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Python's repr words: "finished returned"/"finished raised".
        let word = self.word.load(Ordering::Acquire);
        let state = match Status::from_word(word) {
            Status::Pending => "pending",
            Status::Running => "running",
            Status::Cancelled => "cancelled",
            Status::Succeeded => "finished returned",
            Status::Failed => "finished raised",
        };
        f.debug_struct("FutureCell").field("state", &state).finish()
    }
}

/// The word that replaces `previous` when a terminal `state` is published:
/// PARKED is dropped (the publisher wakes the sleepers), REGISTERED and
/// HANDLE kept, and
/// when nothing was ever registered the future is settled at once, since
/// there is nothing to run. A later registration sees SETTLED and acts alone.
const fn terminal_word(previous: u32, state: u32) -> u32 {
    let registered = previous & REGISTERED;
    let settled = if registered == 0 { SETTLED } else { 0 };
    state | registered | settled | (previous & HANDLE)
}
