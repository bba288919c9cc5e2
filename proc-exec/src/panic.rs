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
