//! The one place in this crate that knows about loom.
//!
//! The pool's shared state is guarded by future-core's `Mutex`, which switches
//! to loom itself under `--cfg exec_loom`; threads come from here.

pub(crate) use future_core::{Mutex, MutexGuard};

#[cfg(exec_loom)]
pub(crate) use loom::thread::JoinHandle;
#[cfg(not(exec_loom))]
pub(crate) use std::thread::JoinHandle;

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
