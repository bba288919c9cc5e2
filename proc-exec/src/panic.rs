//! Turning a task's panic into the text its future's error carries.

use std::any::Any;
use std::cell::{Cell, RefCell};

use crate::sync::Once;

std::thread_local! {
    /// Where the last panic on this thread happened, recorded by the hook.
    static LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
    /// Set on a worker's one thread, so the hook records instead of printing.
    static IN_WORKER: Cell<bool> = const { Cell::new(false) };
}

/// Installs, once per process and in the parent, the panic hook that
/// workers use: in a worker it records the panic's location (which
/// [`message`] appends) and prints nothing, since a task's panic travels
/// back to the parent as its future's error and printing it in the worker
/// as well would only repeat it on the shared stderr; on every other thread
/// it hands the panic to the hook it replaced.
///
/// Installed here, on a thread of the parent, because a worker must not
/// call `std::panic::set_hook`: that takes std's hook lock for writing, and
/// a fork made while another thread of the parent was inside a panic (any
/// panic, caught or not) copies that lock as held, so the worker would wait
/// for it forever. The worker only sets a thread-local flag.
///
/// A hook the application sets later replaces this one; its workers then
/// report panics through the application's hook, and their messages carry
/// no location.
pub(crate) fn install_worker_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_WORKER.with(Cell::get) {
                let location = info.location().map(|l| l.to_string());
                LOCATION.with(|slot| *slot.borrow_mut() = location);
            } else {
                previous(info);
            }
        }));
    });
}

/// Marks this thread, a worker's only one, as a worker's: its panics are
/// recorded by the hook [`install_worker_hook`] installed, not printed.
/// Takes no lock.
pub(crate) fn enter_worker() {
    IN_WORKER.with(|flag| flag.set(true));
}

/// The message of a caught panic, as [`message`]; the payload is dropped
/// without letting a panicking `Drop` of it escape (it is user code too).
pub(crate) fn into_message(payload: Box<dyn Any + Send>) -> String {
    let text = message(&*payload);
    future_core::drop_panic_payload(payload);
    text
}

/// Runs `f`, user code on one of the pool's own threads (dropping a user's
/// value, say): a panic is reported through future-core's callback-panic
/// hook and goes no further, so the thread lives.
pub(crate) fn contain(f: impl FnOnce()) {
    if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        future_core::report_callback_panic(payload);
    }
}

/// The panic's message (`&str` or `String` payloads; others get a fixed
/// text), followed by where it happened when the worker hook recorded it.
pub(crate) fn message(payload: &(dyn Any + Send)) -> String {
    let text = if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic with a non-string payload".to_owned()
    };
    match LOCATION.with(|slot| slot.borrow_mut().take()) {
        Some(location) => format!("{text} (at {location})"),
        None => text,
    }
}
