//! `.await` on futures, with a minimal executor written here (no runtime).
#![cfg(feature = "alloc")]

use future_core::{Future, FutureCell, ResultError};
use std::{
    pin::pin,
    sync::{Arc, Condvar, Mutex},
    task::{Context, Poll, Wake, Waker},
    thread,
};

/// Wakes by setting a flag under a std mutex and notifying: enough of an executor.
#[derive(Default)]
struct Signal {
    woken: Mutex<bool>,
    cv: Condvar,
}

impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        *self.woken.lock().unwrap() = true;
        self.cv.notify_all();
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    let signal = Arc::new(Signal::default());
    let waker = Waker::from(Arc::clone(&signal));
    let mut cx = Context::from_waker(&waker);
    let mut f = pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        let mut woken = signal.woken.lock().unwrap();
        while !*woken {
            woken = signal.cv.wait(woken).unwrap();
        }
        *woken = false;
    }
}

#[test]
fn awaiting_a_handle_yields_the_value_by_value() {
    let fut: Future<String, ()> = Future::new();
    let completer = fut.completer();
    let t = thread::spawn(move || completer.set_result("async".into()).unwrap());
    assert_eq!(block_on(fut), Ok("async".to_string()));
    t.join().unwrap();
}

#[test]
fn awaiting_a_cancelled_handle_is_cancelled() {
    let fut: Future<u8, ()> = Future::new();
    let completer = fut.completer();
    let t = thread::spawn(move || completer.cancel());
    assert_eq!(block_on(fut), Err(ResultError::Cancelled));
    assert!(t.join().unwrap());
}

#[test]
fn awaiting_a_borrowed_cell_yields_a_reference() {
    let cell: FutureCell<u32, &str, 1> = FutureCell::new();
    thread::scope(|s| {
        s.spawn(|| cell.set_exception("nope").unwrap());
        assert_eq!(
            block_on(async { (&cell).await }),
            Err(ResultError::Failed(&"nope"))
        );
    });
}

#[test]
fn a_pending_poll_registers_and_drop_unregisters() {
    let cell: FutureCell<u32, (), 1> = FutureCell::new();
    let mut cx = Context::from_waker(Waker::noop());
    {
        let mut waiting = pin!(cell.done_async());
        assert!(waiting.as_mut().poll(&mut cx).is_pending());
        // Re-polling with the same waker does not take a second slot.
        assert!(waiting.as_mut().poll(&mut cx).is_pending());
    }
    // Dropped: its slot is free again, so a capacity-1 cell can take another.
    let key = cell.register_waker(Waker::noop()).unwrap();
    assert!(key.is_some());
}
