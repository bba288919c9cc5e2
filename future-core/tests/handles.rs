//! `Future` and `Completer`: cross-thread wake-ups, taking by value, abandonment.
#![cfg(feature = "std")]

use future_core::{Future, ResultError, State};
use std::{sync::Barrier, thread, time::Duration};

const GUARD: Option<Duration> = Some(Duration::from_secs(30));

#[test]
fn a_blocked_reader_is_woken_by_set_result() {
    let fut: Future<String, ()> = Future::new();
    let completer = fut.completer();
    let barrier = std::sync::Arc::new(Barrier::new(2));
    let b = barrier.clone();
    let worker = thread::spawn(move || {
        b.wait();
        completer.set_result("hello".into()).unwrap();
    });
    barrier.wait();
    assert_eq!(fut.result(GUARD).map(String::as_str), Ok("hello"));
    worker.join().unwrap();
}

#[test]
fn a_blocked_reader_is_woken_by_cancel() {
    let fut: Future<u8, ()> = Future::new();
    let completer = fut.completer();
    thread::scope(|s| {
        s.spawn(|| assert!(completer.cancel()));
        assert_eq!(fut.result(GUARD), Err(ResultError::Cancelled));
    });
}

#[test]
fn many_readers_all_wake() {
    let fut: Future<u64, ()> = Future::new();
    thread::scope(|s| {
        let readers: Vec<_> = (0..4)
            .map(|_| s.spawn(|| *fut.result(GUARD).unwrap()))
            .collect();
        fut.set_result(77).unwrap();
        for r in readers {
            assert_eq!(r.join().unwrap(), 77);
        }
    });
}

#[test]
fn into_result_moves_the_value_and_the_error() {
    let ok: Future<Vec<u8>, String> = Future::new();
    ok.set_result(vec![1, 2, 3]).unwrap();
    assert_eq!(ok.into_result(), Ok(vec![1, 2, 3]));

    let err: Future<Vec<u8>, String> = Future::new();
    err.completer().set_exception("no".into()).unwrap();
    assert_eq!(err.into_result(), Err(ResultError::Failed("no".into())));
}

#[test]
fn into_result_waits_for_callbacks_to_finish() {
    // The callback holds the completing thread until the reader has woken and
    // is blocked in into_result; the value must not move while it runs.
    let fut: Future<String, ()> = Future::new();
    let completer = fut.completer();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    fut.add_done_callback(move |c| {
        let value = c.result().unwrap().clone();
        rx.recv().unwrap();
        assert_eq!(value, "payload");
    });
    let worker = thread::spawn(move || completer.set_result("payload".into()).unwrap());
    assert_eq!(fut.result(GUARD).map(String::as_str), Ok("payload"));
    tx.send(()).unwrap();
    assert_eq!(fut.into_result(), Ok("payload".into()));
    worker.join().unwrap();
}

#[test]
fn dropping_every_completer_of_a_pending_future_cancels_it() {
    let fut: Future<u8, ()> = Future::new();
    let a = fut.completer();
    let b = a.clone();
    drop(a);
    assert_eq!(fut.state(), State::Pending, "one completer is still alive");
    thread::spawn(move || drop(b)).join().unwrap();
    assert_eq!(fut.state(), State::Cancelled);
    assert_eq!(fut.into_result(), Err(ResultError::Cancelled));
}

#[test]
fn dropping_the_completer_of_a_running_future_cancels_it() {
    let fut: Future<u8, ()> = Future::new();
    let c = fut.completer();
    assert_eq!(c.set_running_or_notify_cancel(), Ok(true));
    drop(c);
    assert!(fut.cancelled());
}

#[test]
fn dropping_the_completer_of_a_finished_future_changes_nothing() {
    let fut: Future<u8, ()> = Future::new();
    let c = fut.completer();
    c.set_result(4).unwrap();
    drop(c);
    assert_eq!(fut.into_result(), Ok(4));
}

#[test]
fn the_outcome_is_dropped_with_the_last_handle() {
    let value = std::sync::Arc::new(());
    let fut: Future<std::sync::Arc<()>, ()> = Future::new();
    let completer = fut.completer();
    completer.set_result(value.clone()).unwrap();
    drop(fut);
    assert_eq!(
        std::sync::Arc::strong_count(&value),
        2,
        "the completer keeps the state alive"
    );
    drop(completer);
    assert_eq!(std::sync::Arc::strong_count(&value), 1);
}
