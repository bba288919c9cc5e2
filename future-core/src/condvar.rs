//! A condition variable for [`Mutex`], with Python's `threading.Condition` surface.

use crate::{
    Mutex, MutexGuard,
    clock::{Clock, Deadline},
    park::{DefaultParker, Park},
    sync::{AtomicU32, Ordering, maybe_const_fn},
};
use core::{fmt, time::Duration};

/// Waits for a condition guarded by a [`Mutex`] to become true.
///
/// The surface of Python's `threading.Condition`: [`wait`](Self::wait),
/// [`wait_timeout`](Self::wait_timeout), [`wait_for`](Self::wait_for)
/// (a predicate), [`notify_one`](Self::notify_one) and
/// [`notify_all`](Self::notify_all). A notification bumps a sequence number and
/// wakes sleepers, so a notify that lands between unlocking the mutex and
/// going to sleep is never lost.
///
/// # Spurious wake-ups
///
/// Like every condition variable, [`wait`](Self::wait) may return without a
/// notification. Re-check the condition, or use [`wait_for`](Self::wait_for),
/// which does.
///
/// # Examples
///
/// ```
/// use future_core::{Condvar, Mutex};
/// use std::sync::Arc;
///
/// let pair = Arc::new((Mutex::new(false), Condvar::new()));
/// let pair2 = Arc::clone(&pair);
/// std::thread::spawn(move || {
///     *pair2.0.lock() = true;
///     pair2.1.notify_all();
/// });
/// let (lock, cvar) = &*pair;
/// let ready = cvar.wait_for(lock.lock(), |ready| *ready);
/// assert!(*ready);
/// ```
pub struct Condvar {
    seq: AtomicU32,
}

impl Condvar {
    maybe_const_fn! {
        /// A new condition variable with no waiters.
        pub fn new() -> Self {
            Self { seq: AtomicU32::new(0) }
        }
    }

    /// Unlocks the guard's mutex, sleeps until notified (or spuriously), and
    /// locks it again.
    pub fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.wait_inner(guard, None)
    }

    /// Like [`wait`](Self::wait), for at most `timeout`. The flag is true when
    /// the timeout passed (Python's `wait` returns the opposite).
    #[cfg(any(feature = "std", all(feature = "futex", target_os = "linux")))]
    pub fn wait_timeout<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: Duration,
    ) -> (MutexGuard<'a, T>, bool) {
        self.wait_timeout_with_clock(guard, timeout, &crate::clock::DefaultClock::default())
    }

    /// [`wait_timeout`](Self::wait_timeout) measured on `clock`.
    pub fn wait_timeout_with_clock<'a, T, C: Clock + ?Sized>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: Duration,
        clock: &C,
    ) -> (MutexGuard<'a, T>, bool) {
        let deadline = Deadline::after(clock, Some(timeout));
        let guard = self.wait_inner(guard, deadline.remaining());
        (guard, deadline.expired())
    }

    /// Waits until `condition` holds for the guarded value (checked first,
    /// before any wait), and returns the guard with it true.
    pub fn wait_for<'a, T>(
        &self,
        mut guard: MutexGuard<'a, T>,
        mut condition: impl FnMut(&mut T) -> bool,
    ) -> MutexGuard<'a, T> {
        while !condition(&mut guard) {
            guard = self.wait(guard);
        }
        guard
    }

    /// Like [`wait_for`](Self::wait_for), giving up after `timeout`. The flag
    /// is the condition's last value, as Python's `wait_for` returns.
    #[cfg(any(feature = "std", all(feature = "futex", target_os = "linux")))]
    pub fn wait_for_timeout<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: Duration,
        condition: impl FnMut(&mut T) -> bool,
    ) -> (MutexGuard<'a, T>, bool) {
        let clock = crate::clock::DefaultClock::default();
        self.wait_for_timeout_with_clock(guard, timeout, &clock, condition)
    }

    /// [`wait_for_timeout`](Self::wait_for_timeout) measured on `clock`.
    pub fn wait_for_timeout_with_clock<'a, T, C: Clock + ?Sized>(
        &self,
        mut guard: MutexGuard<'a, T>,
        timeout: Duration,
        clock: &C,
        mut condition: impl FnMut(&mut T) -> bool,
    ) -> (MutexGuard<'a, T>, bool) {
        let deadline = Deadline::after(clock, Some(timeout));
        loop {
            if condition(&mut guard) {
                return (guard, true);
            }
            if deadline.expired() {
                return (guard, false);
            }
            guard = self.wait_inner(guard, deadline.remaining());
        }
    }

    /// Wakes one thread waiting on this condition variable, if any.
    pub fn notify_one(&self) {
        // ORDERING: the notifier changed the guarded state under the mutex;
        // the waiter re-locks the mutex before looking, so the mutex carries
        // the data. The counter only has to change, hence Relaxed.
        self.seq.fetch_add(1, Ordering::Relaxed);
        DefaultParker::wake_one(&self.seq);
    }

    /// Wakes every thread waiting on this condition variable.
    pub fn notify_all(&self) {
        // ORDERING: as in `notify_one`.
        self.seq.fetch_add(1, Ordering::Relaxed);
        DefaultParker::wake_all(&self.seq);
    }

    fn wait_inner<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: Option<Duration>,
    ) -> MutexGuard<'a, T> {
        // Read the sequence while still holding the lock: a notify after we
        // unlock changes it, and the parker then returns at once.
        // ORDERING: Relaxed suffices; the mutex orders the guarded data.
        let seq = self.seq.load(Ordering::Relaxed);
        let mutex: &'a Mutex<T> = guard.unlock_and_forget();
        DefaultParker::wait(&self.seq, seq, timeout);
        mutex.lock()
    }
}

impl Default for Condvar {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Condvar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condvar").finish_non_exhaustive()
    }
}
