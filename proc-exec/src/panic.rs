//! Turning a task's panic into the text its future's error carries.

use std::any::Any;
use std::cell::RefCell;

std::thread_local! {
    /// Where the last panic on this thread happened, recorded by the hook.
    static LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Replaces the panic hook in a worker: a task's panic travels back to the
/// parent as its future's error, so printing it in the worker as well would
/// only repeat it on the shared stderr. The hook records the location, which
/// [`message`] appends.
pub(crate) fn install_worker_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info.location().map(|l| l.to_string());
        LOCATION.with(|slot| *slot.borrow_mut() = location);
    }));
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
