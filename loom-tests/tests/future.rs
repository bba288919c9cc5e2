//! Loom models of a future's races: completion against cancel against a
//! blocked reader, callbacks registered during completion, taking the value.
//!
//! Run: `RUSTFLAGS="--cfg exec_loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p loom-tests --release`
#![cfg(exec_loom)]

use future_core::{Future, ResultError, State};
use loom::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    thread,
};

/// set_result, cancel and a blocked `result(None)` race: exactly one of the
/// two transitions wins, and the reader sees the winner's outcome.
#[test]
fn set_result_against_cancel_against_a_blocked_reader() {
    loom::model(|| {
        let fut: Arc<Future<u32, ()>> = Arc::new(Future::new());
        let setter = {
            let completer = fut.completer();
            thread::spawn(move || completer.set_result(7).is_ok())
        };
        let canceller = {
            let completer = fut.completer();
            thread::spawn(move || completer.cancel())
        };
        let seen = fut.result(None).copied().map_err(|e| e.map(|_| ()));
        let set = setter.join().unwrap();
        let cancelled = canceller.join().unwrap();
        assert!(set ^ cancelled, "exactly one transition wins");
        if set {
            assert_eq!(seen, Ok(7));
            assert_eq!(fut.state(), State::Finished);
        } else {
            assert_eq!(seen, Err(ResultError::Cancelled));
        }
    });
}

/// A callback added while another thread completes the future runs exactly
/// once, whichever thread ends up running it.
#[test]
fn a_callback_registered_during_completion_runs_once() {
    loom::model(|| {
        let fut: Future<u32, ()> = Future::new();
        let runs = Arc::new(AtomicUsize::new(0));
        let completer = fut.completer();
        let t = thread::spawn(move || completer.set_result(1).unwrap());
        let r = Arc::clone(&runs);
        fut.add_done_callback(move |c| {
            assert!(matches!(c, future_core::Completion::Returned(&1)));
            r.fetch_add(1, Ordering::SeqCst);
        });
        t.join().unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    });
}

/// into_result may not move the value while a callback still reads it: it
/// waits for completion to settle.
#[test]
fn into_result_waits_for_a_running_callback() {
    loom::model(|| {
        let fut: Future<String, ()> = Future::new();
        fut.add_done_callback(|c| {
            // Reads the value in place; a concurrent move would be a data race
            // that loom reports on the outcome cell.
            assert_eq!(c.result().map(String::len), Ok(2));
        });
        let completer = fut.completer();
        let t = thread::spawn(move || completer.set_result("ok".into()).unwrap());
        assert_eq!(fut.into_result(), Ok("ok".to_string()));
        t.join().unwrap();
    });
}

/// The last completer dropped while another completes: the future ends
/// exactly once, finished or cancelled, and a reader never hangs.
#[test]
fn the_last_completer_dropped_against_set_result() {
    loom::model(|| {
        let fut: Future<u32, ()> = Future::new();
        let a = fut.completer();
        let b = a.clone();
        let t1 = thread::spawn(move || {
            let _ = a.set_result(5);
        });
        let t2 = thread::spawn(move || drop(b));
        let outcome = fut.result(None).copied().map_err(|e| e.map(|_| ()));
        t1.join().unwrap();
        t2.join().unwrap();
        assert!(matches!(outcome, Ok(5) | Err(ResultError::Cancelled)));
        assert!(fut.done());
    });
}

/// The lock-free completion path (nothing registered yet) against a waker
/// registration and a callback arriving at the same moment: the waker is
/// woken or told the future is done, and the callback runs exactly once.
#[test]
fn a_registration_racing_the_unregistered_fast_path() {
    use std::task::{Wake, Waker};

    struct Flag(loom::sync::atomic::AtomicBool);
    impl Wake for Flag {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    loom::model(|| {
        let fut: Future<u32, ()> = Future::new();
        let completer = fut.completer();
        let t = thread::spawn(move || completer.set_result(3).unwrap());
        let flag = std::sync::Arc::new(Flag(loom::sync::atomic::AtomicBool::new(false)));
        let key = fut
            .register_waker(&Waker::from(std::sync::Arc::clone(&flag)))
            .unwrap();
        let runs = Arc::new(AtomicUsize::new(0));
        let r = Arc::clone(&runs);
        fut.add_done_callback(move |_| {
            r.fetch_add(1, Ordering::SeqCst);
        });
        t.join().unwrap();
        assert!(
            key.is_none() || flag.0.load(Ordering::SeqCst),
            "a registered waker is woken"
        );
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(fut.into_result(), Ok(3));
    });
}
