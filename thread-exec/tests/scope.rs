//! Scoped tasks borrow from the caller's stack and end before the scope does.

mod common;

use common::Gate;
use std::sync::atomic::{AtomicUsize, Ordering};
use thread_exec::ThreadPoolExecutor;

#[test]
fn tasks_borrow_and_all_end_before_the_scope_returns() {
    let pool = ThreadPoolExecutor::builder()
        .max_workers(3)
        .build()
        .unwrap();
    let data: Vec<u64> = (1..=100).collect();
    let sum = AtomicUsize::new(0);
    pool.scope(|s| {
        for chunk in data.chunks(10) {
            // The futures are dropped unread: the scope still waits.
            drop(
                s.submit(|| {
                    sum.fetch_add(chunk.iter().sum::<u64>() as usize, Ordering::SeqCst);
                })
                .unwrap(),
            );
        }
    });
    assert_eq!(sum.load(Ordering::SeqCst), 5050);
}

#[test]
fn a_panicking_scope_body_still_waits_for_its_tasks() {
    let pool = ThreadPoolExecutor::builder()
        .max_workers(1)
        .build()
        .unwrap();
    let finished = AtomicUsize::new(0);
    let gate = Gate::new();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pool.scope(|s| {
            drop(s.submit(|| {
                gate.wait();
                finished.fetch_add(1, Ordering::SeqCst);
            }));
            gate.open();
            panic!("body failed");
        })
    }));
    assert!(outcome.is_err());
    assert_eq!(finished.load(Ordering::SeqCst), 1);
}

#[test]
fn scoped_tasks_cancelled_by_shutdown_release_the_scope() {
    let pool = ThreadPoolExecutor::builder()
        .max_workers(1)
        .build()
        .unwrap();
    let ran = AtomicUsize::new(0);
    let gate = Gate::new();
    pool.scope(|s| {
        drop(s.submit(|| gate.wait()));
        let queued: Vec<_> = (0..5)
            .map(|_| s.submit(|| ran.fetch_add(1, Ordering::SeqCst)).unwrap())
            .collect();
        pool.shutdown(false, true);
        assert!(queued.iter().all(|f| f.cancelled()));
        gate.open();
    });
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}
