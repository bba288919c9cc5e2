//! The one place in this crate that knows about loom.
//!
//! Everything else imports atomics, the cell type, spin hints and the parker
//! chosen for this build from here. Under `--cfg exec_loom` they become loom's,
//! so the loom models in `loom-tests` check the real code, not a copy of it.
//!
//! Three arms:
//! - loom: loom's atomics and cell, and a parker that yields to the model;
//! - Linux with the `futex` feature: futexes through rustix;
//! - otherwise the standard library's bucket parker with `std`, or spinning on
//!   bare metal.

#[cfg(all(not(exec_loom), target_has_atomic = "32"))]
pub(crate) use core::sync::atomic::{AtomicU32, Ordering};
// Targets without compare-and-swap (Cortex-M0/M0+, RISC-V without the A
// extension): portable-atomic emulates it inside a critical section, which
// the application provides (as for embassy). Targets with CAS keep core's
// atomics even with the feature on, so nothing changes there.
#[cfg(all(
    not(exec_loom),
    not(target_has_atomic = "32"),
    feature = "portable-atomic"
))]
pub(crate) use portable_atomic::{AtomicU32, Ordering};
#[cfg(all(
    not(exec_loom),
    not(target_has_atomic = "32"),
    not(feature = "portable-atomic")
))]
compile_error!(
    "future-core needs 32-bit compare-and-swap, which this target lacks: enable \
     future-core's `portable-atomic` feature and link a `critical-section` \
     implementation (e.g. cortex-m's `critical-section-single-core` feature)"
);
#[cfg(exec_loom)]
pub(crate) use loom::sync::atomic::{AtomicU32, Ordering};

#[cfg(all(feature = "alloc", not(exec_loom)))]
pub(crate) use core::sync::atomic::AtomicUsize;
#[cfg(all(feature = "alloc", exec_loom))]
pub(crate) use loom::sync::atomic::AtomicUsize;

#[cfg(all(feature = "alloc", not(exec_loom)))]
pub(crate) use alloc::sync::Arc;
#[cfg(all(feature = "alloc", exec_loom))]
pub(crate) use loom::sync::Arc;

#[cfg(not(exec_loom))]
pub(crate) use core::hint::spin_loop;
#[cfg(exec_loom)]
pub(crate) use loom::hint::spin_loop;

/// How many times a contended lock spins before it parks. Under loom every spin
/// is a branch the model must explore, so it does not spin at all.
#[cfg(not(exec_loom))]
pub(crate) const SPIN_LIMIT: u32 = 100;
#[cfg(exec_loom)]
pub(crate) const SPIN_LIMIT: u32 = 0;

/// How many times a blocking read re-checks the state word before it parks:
/// a task that finishes within a few microseconds is then seen without a
/// futex wait and wake (a cross-CPU wake costs tens of microseconds). Zero
/// under loom, where every spin is a branch to explore.
#[cfg(not(exec_loom))]
pub(crate) const SPIN_BEFORE_PARK: u32 = 200;
#[cfg(exec_loom)]
pub(crate) const SPIN_BEFORE_PARK: u32 = 0;

/// The parker this build uses for every blocking wait in the crate.
#[cfg(exec_loom)]
pub(crate) type DefaultParker = LoomParker;
#[cfg(all(not(exec_loom), feature = "futex", target_os = "linux"))]
pub(crate) type DefaultParker = crate::park::FutexParker;
#[cfg(all(
    not(exec_loom),
    not(all(feature = "futex", target_os = "linux")),
    feature = "std"
))]
pub(crate) type DefaultParker = crate::park::TableParker;
#[cfg(all(
    not(exec_loom),
    not(all(feature = "futex", target_os = "linux")),
    not(feature = "std")
))]
pub(crate) type DefaultParker = crate::park::SpinParker;

/// The standard library's own lock, for the few places that must not be
/// modelled (a process-wide hook) or that implement parking itself.
#[cfg(feature = "std")]
pub(crate) use std::sync::{Condvar as StdCondvar, Mutex as StdMutex, RwLock as StdRwLock};

/// Declares a `const fn` normally and a plain `fn` under loom, whose atomics
/// cannot be built in a const context.
macro_rules! maybe_const_fn {
    ($(#[$meta:meta])* $vis:vis fn $($rest:tt)*) => {
        #[cfg(not(exec_loom))]
        $(#[$meta])* $vis const fn $($rest)*
        #[cfg(exec_loom)]
        $(#[$meta])* $vis fn $($rest)*
    };
}
pub(crate) use maybe_const_fn;

/// Compiles the items only outside loom (for code built on real OS atomics).
macro_rules! cfg_not_loom {
    ($($item:item)*) => {
        $( #[cfg(not(exec_loom))] $item )*
    };
}
pub(crate) use cfg_not_loom;

/// `core::cell::UnsafeCell` with loom's `with`/`with_mut` shape, so each access
/// site is written once and loom can check it.
#[cfg(not(exec_loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(core::cell::UnsafeCell<T>);

#[cfg(not(exec_loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self(core::cell::UnsafeCell::new(value))
    }

    pub(crate) fn into_inner(self) -> T {
        self.0.into_inner()
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

#[cfg(exec_loom)]
pub(crate) use loom::cell::UnsafeCell;

/// The parker under loom: the table parker's algorithm with one bucket, on
/// loom's own `Mutex` and `Condvar`, so a parked thread is blocked in the
/// model (not spinning) and a lost wake-up shows up as a loom deadlock.
/// Loom has no time: a timed wait yields once and returns (callers re-check
/// and treat it as spurious).
#[cfg(exec_loom)]
#[derive(Debug)]
pub struct LoomParker;

#[cfg(exec_loom)]
loom::lazy_static! {
    static ref LOOM_BUCKET: (loom::sync::Mutex<()>, loom::sync::Condvar) =
        (loom::sync::Mutex::new(()), loom::sync::Condvar::new());
}

#[cfg(exec_loom)]
impl crate::park::Park for LoomParker {
    fn wait(word: &AtomicU32, expected: u32, timeout: Option<core::time::Duration>) {
        if timeout.is_some() {
            loom::thread::yield_now();
            return;
        }
        let (lock, condvar) = &*LOOM_BUCKET;
        let guard = lock.lock().unwrap();
        // ORDERING: checked under the bucket lock, which every waker takes
        // after changing the word: the change or the notify is seen.
        if word.load(Ordering::Acquire) == expected {
            drop(condvar.wait(guard).unwrap());
        }
    }

    fn wake_one(word: &AtomicU32) {
        Self::wake_all(word);
    }

    fn wake_all(_word: &AtomicU32) {
        let (lock, condvar) = &*LOOM_BUCKET;
        drop(lock.lock().unwrap());
        condvar.notify_all();
    }
}
