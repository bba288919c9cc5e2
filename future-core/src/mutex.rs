//! A small mutual-exclusion lock built on the crate's parker.

use crate::{
    park::{DefaultParker, Park},
    sync::{AtomicU32, Ordering, SPIN_LIMIT, UnsafeCell, maybe_const_fn, spin_loop},
};
use core::{
    fmt,
    ops::{Deref, DerefMut},
};

/// Free.
const UNLOCKED: u32 = 0;
/// Held, and nobody is parked waiting for it: unlocking needs no wake.
const LOCKED: u32 = 1;
/// Held, and a thread may be parked on it: unlocking must wake one.
const CONTENDED: u32 = 2;

/// A mutual-exclusion lock that works without std and can live in a `static`.
///
/// Three states in one word (free, held, held with sleepers), so an
/// uncontended lock and unlock are one atomic operation each and make no
/// system call. There is no poisoning: a panic while holding the guard simply
/// releases the lock.
///
/// # Examples
///
/// ```
/// use future_core::Mutex;
///
/// static COUNTER: Mutex<u32> = Mutex::new(0);
///
/// std::thread::scope(|s| {
///     for _ in 0..4 {
///         s.spawn(|| *COUNTER.lock() += 1);
///     }
/// });
/// assert_eq!(*COUNTER.lock(), 4);
/// ```
pub struct Mutex<T> {
    state: AtomicU32,
    data: UnsafeCell<T>,
}

// SAFETY: the lock hands out access to `T` to one thread at a time, so sharing the mutex only ever moves `T` between threads: `T: Send` is enough.
unsafe impl<T: Send> Sync for Mutex<T> {}
// SAFETY: owning the mutex is owning the `T` inside it.
unsafe impl<T: Send> Send for Mutex<T> {}

impl<T> Mutex<T> {
    maybe_const_fn! {
        /// A new, unlocked mutex holding `value`.
        pub fn new(value: T) -> Self {
            Self {
                state: AtomicU32::new(UNLOCKED),
                data: UnsafeCell::new(value),
            }
        }
    }

    /// Locks, blocking while another thread holds the lock.
    ///
    /// # Blocking
    ///
    /// Spins briefly, then parks. Locking a mutex this thread already holds
    /// deadlocks.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        // ORDERING: Acquire on taking the lock pairs with the Release in
        // `unlock`, so the previous holder's writes to `data` are visible.
        if self
            .state
            .compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
        MutexGuard { mutex: self }
    }

    /// Locks if the lock is free, without blocking.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        // ORDERING: as in `lock`.
        self.state
            .compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| MutexGuard { mutex: self })
    }

    /// Consumes the mutex and returns the value.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }

    #[cold]
    fn lock_contended(&self) {
        let mut state = self.spin();
        if state == UNLOCKED {
            // ORDERING: as in `lock`.
            match self.state.compare_exchange(
                UNLOCKED,
                LOCKED,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(s) => state = s,
            }
        }
        loop {
            // Mark the lock contended before sleeping, so the holder wakes us.
            // If it was free, we now hold it (conservatively marked contended).
            // ORDERING: Acquire as in `lock`.
            if state != CONTENDED && self.state.swap(CONTENDED, Ordering::Acquire) == UNLOCKED {
                return;
            }
            DefaultParker::wait(&self.state, CONTENDED, None);
            state = self.spin();
        }
    }

    /// Spins while the lock is held without sleepers, hoping it comes free.
    fn spin(&self) -> u32 {
        let mut spins = 0;
        loop {
            let state = self.state.load(Ordering::Relaxed);
            // SPIN_LIMIT is zero under loom, which makes this always true there.
            #[allow(clippy::absurd_extreme_comparisons)]
            if state != LOCKED || spins >= SPIN_LIMIT {
                return state;
            }
            spins += 1;
            spin_loop();
        }
    }

    fn unlock(&self) {
        // ORDERING: Release publishes this holder's writes to the next one.
        if self.state.swap(UNLOCKED, Ordering::Release) == CONTENDED {
            DefaultParker::wake_one(&self.state);
        }
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let locked = self.state.load(Ordering::Relaxed) != UNLOCKED;
        f.debug_struct("Mutex")
            .field("locked", &locked)
            .finish_non_exhaustive()
    }
}

/// Holds a [`Mutex`] locked; unlocks it when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct MutexGuard<'a, T> {
    mutex: &'a Mutex<T>,
}

impl<'a, T> MutexGuard<'a, T> {
    /// Unlocks without running the guard's destructor twice.
    pub(crate) fn unlock_and_forget(self) -> &'a Mutex<T> {
        let mutex = self.mutex;
        core::mem::forget(self);
        mutex.unlock();
        mutex
    }
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // The guard exists only while this thread holds the lock.
        // SAFETY: the lock is held, so no other reference to the data is live.
        self.mutex.data.with(|p| unsafe { &*p })
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // `&mut self` makes this the only reference handed out by this guard.
        // SAFETY: as in `deref`: the lock is held, so nothing else aliases it.
        self.mutex.data.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.mutex.unlock();
    }
}

impl<T: fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
