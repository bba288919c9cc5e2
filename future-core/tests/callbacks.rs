//! Done callbacks: when, where, in which order, and exactly once.
#![cfg(feature = "std")]

use future_core::{Completion, Future, FutureCell};
use std::{
    sync::{Arc, Mutex},
    thread,
};

#[test]
fn callbacks_run_in_registration_order_once_in_the_completing_thread() {
    let fut: Future<u32, ()> = Future::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    for i in 0..5 {
        let log = Arc::clone(&log);
        fut.add_done_callback(move |c| {
            log.lock()
                .unwrap()
                .push((i, thread::current().id(), c.result().ok().copied()));
        });
    }
    let completer = fut.completer();
    let worker = thread::spawn(move || {
        completer.set_result(3).unwrap();
        thread::current().id()
    });
    let worker_id = worker.join().unwrap();
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 5);
    for (i, entry) in log.iter().enumerate() {
        assert_eq!(*entry, (i, worker_id, Some(3)));
    }
}

#[test]
fn a_callback_on_a_done_future_runs_at_once_in_the_adding_thread() {
    let fut: Future<u32, ()> = Future::new();
    fut.set_result(1).unwrap();
    let ran_in = Arc::new(Mutex::new(None));
    let r = Arc::clone(&ran_in);
    fut.add_done_callback(move |_| *r.lock().unwrap() = Some(thread::current().id()));
    assert_eq!(*ran_in.lock().unwrap(), Some(thread::current().id()));
}

#[test]
fn cancel_runs_callbacks_and_a_second_cancel_does_not() {
    let fut: Future<u32, ()> = Future::new();
    let count = Arc::new(Mutex::new(0));
    let c = Arc::clone(&count);
    fut.add_done_callback(move |done| {
        assert!(done.cancelled());
        *c.lock().unwrap() += 1;
    });
    assert!(fut.cancel());
    assert!(fut.cancel());
    assert_eq!(fut.set_running_or_notify_cancel(), Ok(false));
    assert_eq!(*count.lock().unwrap(), 1);
}

#[test]
fn a_panicking_callback_does_not_stop_the_others_or_poison_the_future() {
    fn record(p: &future_core::CallbackPanic<'_>) {
        PANICS.lock().unwrap().push(p.message().to_string());
    }
    static PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());
    future_core::set_callback_panic_hook(Some(record));

    let fut: Future<u32, ()> = Future::new();
    let after = Arc::new(Mutex::new(false));
    fut.add_done_callback(|_| panic!("callback one exploded"));
    let a = Arc::clone(&after);
    fut.add_done_callback(move |_| *a.lock().unwrap() = true);
    fut.set_result(9).unwrap();
    future_core::set_callback_panic_hook(None);

    assert!(*after.lock().unwrap(), "the second callback still ran");
    assert_eq!(fut.result(None), Ok(&9));
    assert!(
        PANICS
            .lock()
            .unwrap()
            .iter()
            .any(|m| m == "callback one exploded")
    );
    assert_eq!(fut.into_result(), Ok(9));
}

#[test]
fn the_same_function_added_twice_runs_twice() {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    fn count(_: Completion<'_, u8, ()>) {
        RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
    let cell: FutureCell<u8, (), 2> = FutureCell::new();
    cell.add_done_callback_fn(count).unwrap();
    cell.add_done_callback_fn(count).unwrap();
    cell.set_result(0).unwrap();
    assert_eq!(RUNS.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[test]
fn callbacks_see_the_error() {
    let fut: Future<u8, String> = Future::new();
    let seen = Arc::new(Mutex::new(None));
    let s = Arc::clone(&seen);
    fut.add_done_callback(move |c| {
        if let Completion::Raised(e) = c {
            *s.lock().unwrap() = Some(e.clone());
        }
    });
    fut.set_exception("bad".into()).unwrap();
    assert_eq!(seen.lock().unwrap().as_deref(), Some("bad"));
}
