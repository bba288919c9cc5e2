//! The one place in this crate that knows about loom.
//!
//! Locks come from future-core, which switches to loom itself under
//! `--cfg exec_loom`; the result handler's thread comes from here.

pub(crate) use future_core::{Condvar, Mutex};

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

/// A number for each pool's result-handler thread name. Plain std: a name
/// counter no model needs to see (loom's atomics cannot be `static`).
pub(crate) fn next_pool_number() -> usize {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    // ORDERING: a name counter; no other memory depends on it.
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

// Loom runs a model's threads on one OS thread, so it has its own
// thread-locals.
#[cfg(exec_loom)]
loom::thread_local! {
    /// Set on a pool's result-handler thread.
    static RESULT_HANDLER: std::cell::Cell<bool> = std::cell::Cell::new(false);
}

#[cfg(not(exec_loom))]
std::thread_local! {
    /// Set on a pool's result-handler thread.
    static RESULT_HANDLER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks this thread as a result handler (see [`on_result_handler`]).
pub(crate) fn mark_result_handler() {
    RESULT_HANDLER.with(|flag| flag.set(true));
}

/// Whether this is a result-handler thread: a pool dropped by one of its
/// own callbacks must not wait for that thread to end.
pub(crate) fn on_result_handler() -> bool {
    RESULT_HANDLER.with(std::cell::Cell::get)
}
