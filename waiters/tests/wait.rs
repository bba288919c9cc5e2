//! `wait`: Python's semantics (cpython-api.md 1.3) and the cancel fix.

mod common;

use common::Counted;
use future_core::{Future, Waitable};
use std::{thread, time::Duration};
use waiters::{ReturnWhen, wait};

const GUARD: Option<Duration> = Some(Duration::from_secs(30));

fn futures(n: usize) -> Vec<Future<u32, &'static str>> {
    (0..n).map(|_| Future::new()).collect()
}

#[test]
fn an_empty_input_returns_at_once() {
    let none: Vec<Future<u32, ()>> = Vec::new();
    for rw in [
        ReturnWhen::FirstCompleted,
        ReturnWhen::FirstException,
        ReturnWhen::AllCompleted,
    ] {
        let r = wait(&none, None, rw);
        assert!(r.done.is_empty() && r.not_done.is_empty());
    }
}

#[test]
fn duplicates_count_once_and_order_is_kept() {
    let fs = futures(3);
    fs[2].set_result(2).unwrap();
    let input = [&fs[0], &fs[2], &fs[0], &fs[1], &fs[2]];
    let r = wait(input, Some(Duration::ZERO), ReturnWhen::AllCompleted);
    assert_eq!(r.done.len(), 1);
    assert!(std::ptr::eq(r.done[0], &fs[2]));
    assert_eq!(r.not_done.len(), 2);
    assert!(std::ptr::eq(r.not_done[0], &fs[0]) && std::ptr::eq(r.not_done[1], &fs[1]));
}

#[test]
fn a_timeout_is_not_an_error() {
    let fs = futures(2);
    let r = wait(
        &fs,
        Some(Duration::from_millis(5)),
        ReturnWhen::AllCompleted,
    );
    assert_eq!((r.done.len(), r.not_done.len()), (0, 2));
}

#[test]
fn first_completed_wakes_on_the_first_completion() {
    let fs = futures(3);
    thread::scope(|s| {
        s.spawn(|| fs[1].set_result(1).unwrap());
        let r = wait(&fs, GUARD, ReturnWhen::FirstCompleted);
        assert!(r.done.iter().any(|f| std::ptr::eq(*f, &fs[1])));
        assert!(r.not_done.len() <= 2);
    });
}

#[test]
fn first_exception_returns_on_a_failure_not_on_a_success_or_cancel() {
    let fs = futures(3);
    fs[0].set_result(0).unwrap();
    assert!(fs[1].cancel());
    // A success and a cancellation: no exception yet, and not all done.
    let r = wait(&fs, Some(Duration::ZERO), ReturnWhen::FirstException);
    assert_eq!(r.not_done.len(), 1);
    thread::scope(|s| {
        s.spawn(|| fs[2].set_exception("boom").unwrap());
        let r = wait(&fs, GUARD, ReturnWhen::FirstException);
        assert_eq!(r.done.len(), 3);
    });
}

#[test]
fn first_exception_without_any_failure_is_all_completed() {
    let fs = futures(2);
    thread::scope(|s| {
        s.spawn(|| {
            fs[0].set_result(0).unwrap();
            fs[1].set_result(1).unwrap();
        });
        let r = wait(&fs, GUARD, ReturnWhen::FirstException);
        assert_eq!((r.done.len(), r.not_done.len()), (2, 0));
    });
}

#[test]
fn all_completed_waits_for_every_future() {
    let fs = futures(8);
    thread::scope(|s| {
        for (i, f) in fs.iter().enumerate() {
            s.spawn(move || f.set_result(i as u32).unwrap());
        }
        let r = wait(&fs, GUARD, ReturnWhen::AllCompleted);
        assert_eq!((r.done.len(), r.not_done.len()), (8, 0));
    });
}

#[test]
fn a_cancel_wakes_the_waiter() {
    // CPython gh-92001: wait() on a future cancelled (and never acknowledged by
    // an executor) hangs until its timeout. Here it returns with it done.
    let fs = futures(2);
    fs[0].set_result(0).unwrap();
    thread::scope(|s| {
        s.spawn(|| assert!(fs[1].cancel()));
        let r = wait(&fs, GUARD, ReturnWhen::AllCompleted);
        assert_eq!(r.done.len(), 2);
    });
}

#[test]
fn registrations_are_removed_when_wait_returns() {
    let a = Counted::default();
    let b = Counted::default();
    let r = wait(
        [&a, &b],
        Some(Duration::from_millis(2)),
        ReturnWhen::AllCompleted,
    );
    assert_eq!(r.not_done.len(), 2);
    assert_eq!((a.live(), b.live()), (0, 0));
    thread::scope(|s| {
        s.spawn(|| a.cell.set_result(1).unwrap());
        let r = wait([&a, &b], GUARD, ReturnWhen::FirstCompleted);
        assert!(!r.done.is_empty());
    });
    assert_eq!((a.live(), b.live()), (0, 0));
}

#[test]
fn futures_of_different_types_together() {
    let a: Future<u8, ()> = Future::new();
    let b: Future<String, u64> = Future::new();
    b.set_exception(3).unwrap();
    let mixed: [&dyn Waitable; 2] = [&a, &b];
    let r = wait(mixed, Some(Duration::ZERO), ReturnWhen::FirstException);
    assert_eq!((r.done.len(), r.not_done.len()), (1, 1));
}
