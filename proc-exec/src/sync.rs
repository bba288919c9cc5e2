//! The one place in this crate that knows about loom.
//!
//! The pool's shared state is guarded by future-core's `Mutex`, which switches
//! to loom itself under `--cfg exec_loom`; threads come from here.

pub(crate) use future_core::{Condvar, Mutex, MutexGuard};

/// The worker panic hook is installed once per process (see `panic.rs`):
/// process-wide set-up, outside every modelled race, so std's `Once` in
/// loom models too.
pub(crate) use std::sync::Once;

/// Per-thread state (the descriptors of the frame being encoded or
/// decoded) is never shared, so plain `std` cells serve under loom too.
pub(crate) use std::cell::Cell;

/// How submitters wake the manager: an eventfd it polls with its pipes.
#[cfg(not(exec_loom))]
pub(crate) use crate::os::fd::Wakeup;

/// Under loom the manager is a model thread that waits on a condition
/// variable instead of polling an eventfd.
#[cfg(exec_loom)]
#[derive(Debug, Default)]
pub(crate) struct Wakeup {
    woken: future_core::Mutex<bool>,
    condvar: future_core::Condvar,
}

#[cfg(exec_loom)]
impl Wakeup {
    /// A wake-up nobody has signalled.
    pub(crate) fn new() -> std::io::Result<Self> {
        Ok(Self::default())
    }

    /// Signals the manager.
    pub(crate) fn wake(&self) -> std::io::Result<()> {
        *self.woken.lock() = true;
        self.condvar.notify_one();
        Ok(())
    }

    /// Blocks until signalled, and clears the signal.
    pub(crate) fn wait(&self) {
        let mut woken = self.woken.lock();
        while !*woken {
            woken = self.condvar.wait(woken);
        }
        *woken = false;
    }
}

/// Items compiled only in loom models (`--cfg exec_loom`).
macro_rules! cfg_loom {
    ($($item:item)*) => { $( #[cfg(exec_loom)] $item )* };
}

/// Items compiled only outside loom models.
macro_rules! cfg_not_loom {
    ($($item:item)*) => { $( #[cfg(not(exec_loom))] $item )* };
}

pub(crate) use {cfg_loom, cfg_not_loom};

#[cfg(exec_loom)]
pub(crate) use loom::thread::JoinHandle;
#[cfg(not(exec_loom))]
pub(crate) use std::thread::JoinHandle;

/// Whether `handle` is the calling thread's own: a done callback runs on
/// the manager thread, which cannot join itself.
#[cfg(not(exec_loom))]
pub(crate) fn is_current(handle: &JoinHandle<()>) -> bool {
    handle.thread().id() == std::thread::current().id()
}

/// Whether `handle` is the calling (loom) thread's own.
#[cfg(exec_loom)]
pub(crate) fn is_current(handle: &JoinHandle<()>) -> bool {
    handle.thread().id() == loom::thread::current().id()
}

/// Starts a named thread.
#[cfg(not(exec_loom))]
pub(crate) fn spawn(
    name: String,
    body: impl FnOnce() + Send + 'static,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name(name).spawn(body)
}

/// Starts a (loom) thread; loom's threads have no names.
#[cfg(exec_loom)]
pub(crate) fn spawn(
    _name: String,
    body: impl FnOnce() + Send + 'static,
) -> std::io::Result<JoinHandle<()>> {
    Ok(loom::thread::spawn(body))
}

/// A number for each pool's manager thread name. Plain std: a name counter
/// that no model needs to see (loom's atomics cannot be `static`).
pub(crate) fn next_pool_number() -> usize {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    // ORDERING: a name counter; no other memory depends on it.
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}
