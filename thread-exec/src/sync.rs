//! The one place in this crate that knows about loom.
//!
//! Locks and condition variables come from future-core, which switches them
//! itself. Here: the pool's atomics, fence and cell, and thread spawning and
//! joining, which must be loom's threads under `--cfg exec_loom`. The pool's
//! state is shared through std's `Arc`: its reference count guards no data
//! the models need to see.

pub(crate) use future_core::{
    Condvar, Mutex,
    park::{DefaultParker, Park},
};

// `AtomicU32` is the word future-core's parker sleeps on (loom's under loom).
#[cfg(exec_loom)]
pub(crate) use loom::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU32, AtomicUsize, Ordering, fence,
};
#[cfg(not(exec_loom))]
pub(crate) use std::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU32, AtomicUsize, Ordering, fence,
};

#[cfg(exec_loom)]
pub(crate) use loom::cell::UnsafeCell;

/// `core::cell::UnsafeCell` with loom's `with`/`with_mut` shape, so each
/// access is written once and loom checks it.
#[cfg(not(exec_loom))]
pub(crate) struct UnsafeCell<T>(core::cell::UnsafeCell<T>);

#[cfg(not(exec_loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self(core::cell::UnsafeCell::new(value))
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

/// Slots per block of the job queue: 31 plus the block's link fill about
/// three quarters of a kilobyte. Two under loom, so a model with three jobs
/// already crosses into a second block.
#[cfg(not(exec_loom))]
pub(crate) const BLOCK_CAP: usize = 31;
#[cfg(exec_loom)]
pub(crate) const BLOCK_CAP: usize = 2;

#[cfg(exec_loom)]
pub(crate) use loom::hint::spin_loop;
#[cfg(exec_loom)]
pub(crate) use loom::thread::{JoinHandle, current};
#[cfg(not(exec_loom))]
pub(crate) use std::hint::spin_loop;

/// How an idle worker watches for new work before it parks: it looks, then
/// pauses 1, 2, 4, ... up to 2^`steps` spin hints between looks (a few
/// microseconds in all), then yields its CPU `yields` times, looking after
/// each. Long enough to catch the next submit of a caller that is
/// collecting results one at a time, short enough not to hold a CPU that a
/// submitter may need (the yields hand it over on a busy machine). `None`
/// under loom, where every spin is a branch to explore.
pub(crate) struct Spin {
    pub(crate) steps: u32,
    pub(crate) yields: u32,
}

#[cfg(not(exec_loom))]
pub(crate) const IDLE_SPIN: Option<Spin> = Some(Spin {
    steps: 6,
    yields: 4,
});
#[cfg(exec_loom)]
pub(crate) const IDLE_SPIN: Option<Spin> = None;

#[cfg(exec_loom)]
pub(crate) use loom::thread::yield_now;
#[cfg(not(exec_loom))]
pub(crate) use std::thread::yield_now;

#[cfg(not(exec_loom))]
pub(crate) use std::thread::{JoinHandle, current};

/// Starts a named thread. Loom's threads have no names; the name is dropped.
#[cfg(not(exec_loom))]
pub(crate) fn spawn(
    name: String,
    body: impl FnOnce() + Send + 'static,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name(name).spawn(body)
}

/// Starts a named (loom) thread.
#[cfg(exec_loom)]
pub(crate) fn spawn(
    name: String,
    body: impl FnOnce() + Send + 'static,
) -> std::io::Result<JoinHandle<()>> {
    loom::thread::Builder::new().name(name).spawn(body)
}

/// The number of CPUs for the default `max_workers` (loom: a fixed 2, so
/// models stay small and deterministic).
#[cfg(not(exec_loom))]
pub(crate) fn available_parallelism() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// The number of CPUs for the default `max_workers` (loom: a fixed 2, so
/// models stay small and deterministic).
#[cfg(exec_loom)]
pub(crate) fn available_parallelism() -> usize {
    2
}

/// Numbers default executor names, process-wide. A plain std counter in both
/// configurations: a name carries no data, and loom statics cannot be `const`.
pub(crate) fn next_executor_number() -> usize {
    static EXECUTORS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    // ORDERING: only uniqueness matters.
    EXECUTORS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}
