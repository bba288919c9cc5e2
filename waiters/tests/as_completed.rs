//! `as_completed`: Python's semantics (cpython-api.md 1.4) and the cancel fix.

mod common;

use common::Counted;
use future_core::Future;
use std::{thread, time::Duration};
use waiters::{AsCompletedTimeout, as_completed};

const GUARD: Option<Duration> = Some(Duration::from_secs(30));

fn futures(n: usize) -> Vec<Future<u32, ()>> {
    (0..n).map(|_| Future::new()).collect()
}

fn index_of(fs: &[Future<u32, ()>], f: &Future<u32, ()>) -> usize {
    fs.iter().position(|x| std::ptr::eq(x, f)).unwrap()
}

#[test]
fn done_ones_first_then_in_completion_order() {
    let fs = futures(4);
    fs[3].set_result(3).unwrap();
    fs[1].set_result(1).unwrap();
    let mut it = as_completed(&fs, GUARD);
    // Already done: input order.
    assert_eq!(index_of(&fs, it.next().unwrap().unwrap()), 1);
    assert_eq!(index_of(&fs, it.next().unwrap().unwrap()), 3);
    // Then the order in which they complete.
    fs[2].set_result(2).unwrap();
    assert_eq!(index_of(&fs, it.next().unwrap().unwrap()), 2);
    let f0 = &fs[0];
    thread::scope(|s| {
        s.spawn(move || f0.set_result(0).unwrap());
        assert_eq!(index_of(&fs, it.next().unwrap().unwrap()), 0);
    });
    assert!(it.next().is_none());
}

#[test]
fn each_future_once_even_if_passed_twice() {
    let fs = futures(2);
    for f in &fs {
        f.set_result(0).unwrap();
    }
    let input = [&fs[0], &fs[1], &fs[0], &fs[0]];
    assert_eq!(as_completed(input, None).count(), 2);
}

#[test]
fn the_timeout_is_an_error_naming_the_unfinished_count() {
    let fs = futures(4);
    fs[0].set_result(0).unwrap();
    fs[1].set_result(1).unwrap();
    let results: Vec<_> = as_completed(&fs, Some(Duration::from_millis(5))).collect();
    assert_eq!(results.len(), 3);
    assert!(results[0].is_ok() && results[1].is_ok());
    let err = results[2].unwrap_err();
    assert_eq!(
        err,
        AsCompletedTimeout {
            unfinished: 2,
            total: 4
        }
    );
    assert_eq!(err.to_string(), "2 (of 4) futures unfinished");
}

#[test]
fn a_zero_timeout_yields_the_done_ones_then_the_error() {
    let fs = futures(2);
    fs[1].set_result(1).unwrap();
    let results: Vec<_> = as_completed(&fs, Some(Duration::ZERO)).collect();
    assert_eq!(results.len(), 2);
    assert_eq!(index_of(&fs, results[0].unwrap()), 1);
    assert_eq!(results[1].unwrap_err().unfinished, 1);
}

#[test]
fn the_deadline_starts_at_the_first_next() {
    let fs = futures(1);
    let mut it = as_completed(&fs, Some(Duration::ZERO));
    // The iterator was made before completion; with a deadline fixed at
    // creation it would have expired, but it starts counting here.
    fs[0].set_result(0).unwrap();
    assert!(it.next().unwrap().is_ok());
    assert!(it.next().is_none());
}

#[test]
fn a_cancel_is_yielded() {
    let fs = futures(2);
    let mut it = as_completed(&fs, GUARD);
    thread::scope(|s| {
        s.spawn(|| assert!(fs[0].cancel()));
        let first = it.next().unwrap().unwrap();
        assert!(first.cancelled());
    });
    fs[1].set_result(1).unwrap();
    assert!(it.next().unwrap().is_ok());
    assert!(it.next().is_none());
}

#[test]
fn dropping_the_iterator_removes_its_registrations() {
    let a = Counted::default();
    let b = Counted::default();
    a.cell.set_result(1).unwrap();
    {
        let mut it = as_completed([&a, &b], GUARD);
        assert!(it.next().unwrap().is_ok());
        assert_eq!(b.live(), 1, "b is being watched");
    }
    assert_eq!((a.live(), b.live()), (0, 0));
}

#[test]
fn many_futures_completed_from_many_threads() {
    let fs = futures(200);
    thread::scope(|s| {
        for chunk in fs.chunks(50) {
            s.spawn(move || {
                for f in chunk {
                    f.set_result(1).unwrap();
                }
            });
        }
        let total: u32 = as_completed(&fs, GUARD)
            .map(|f| *f.unwrap().result(None).unwrap())
            .sum();
        assert_eq!(total, 200);
    });
}
