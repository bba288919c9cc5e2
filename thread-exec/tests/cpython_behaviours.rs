//! The behaviours CPython's `test_concurrent_futures` checks of
//! `ThreadPoolExecutor` that no other file here checks, in this crate's
//! terms; each under a watchdog, as each could hang.

mod common;

use std::sync::{Arc, mpsc};
use std::time::Duration;

use common::{GUARD, Gate, pool};
use test_support::watchdog;

/// `test_shutdown_no_wait`: `shutdown(wait = false)` returns while a task
/// runs, and the work queued behind it still runs.
#[test]
fn shutdown_without_wait_returns_and_the_queue_still_runs() {
    watchdog("shutdown(wait=false)", || {
        let p = pool(1);
        let gate = Gate::new();
        let g = gate.clone();
        let running = p.submit(move || g.wait()).unwrap();
        let queued: Vec<_> = (0..5u32)
            .map(|n| p.submit(move || n * 2).unwrap())
            .collect();
        p.shutdown(false, false);
        assert!(!queued.iter().any(|f| f.done()), "nothing ran yet");
        assert!(p.submit(|| 0).is_err());
        gate.open();
        assert_eq!(running.result(GUARD), Ok(&()));
        for (n, f) in (0..5u32).zip(&queued) {
            assert_eq!(f.result(GUARD), Ok(&(n * 2)));
        }
        p.shutdown(true, false);
        assert_eq!(p.num_threads(), 0);
    });
}

/// The last handle on the executor dropped by one of its own tasks: `Drop`
/// is `shutdown(wait = true)`, which there cannot wait for its own thread.
/// It returns, and the work queued behind still runs.
#[test]
fn the_executor_dropped_by_its_own_task_does_not_wait_for_itself() {
    watchdog("drop in a task", || {
        let p = Arc::new(pool(1));
        let inner = Arc::clone(&p);
        let gate = Gate::new();
        let g = gate.clone();
        let (tx, rx) = mpsc::channel();
        let first = p
            .submit(move || {
                g.wait();
                drop(inner);
                tx.send(()).unwrap();
            })
            .unwrap();
        let queued: Vec<_> = (0..5u32)
            .map(|n| p.submit(move || n + 1).unwrap())
            .collect();
        drop(p);
        gate.open();
        rx.recv_timeout(Duration::from_secs(30))
            .expect("the drop in the task returned");
        assert_eq!(first.result(GUARD), Ok(&()));
        for (n, f) in (0..5u32).zip(&queued) {
            assert_eq!(f.result(GUARD), Ok(&(n + 1)));
        }
    });
}

/// A done callback runs on the worker that finished the task; one that
/// submits to the same pool (chaining) does not wait on its own thread.
#[test]
fn a_done_callback_may_submit_to_its_own_pool() {
    watchdog("submit from a done callback", || {
        let p = Arc::new(pool(1));
        let inner = Arc::clone(&p);
        let (tx, rx) = mpsc::channel();
        let first = p.submit(|| 3u32).unwrap();
        first.add_done_callback(move |done| {
            let n = *done.result().unwrap();
            tx.send(inner.submit(move || n * n).unwrap()).unwrap();
        });
        let next = rx.recv_timeout(Duration::from_secs(30)).unwrap();
        assert_eq!(next.result(GUARD), Ok(&9));
        p.shutdown(true, false);
        assert_eq!(p.num_threads(), 0);
    });
}
