//! Callbacks with real processes: where and when they run, and what a
//! panicking one does.

mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::{clean, panics_on_zero, pool, square};
use mp_pool::{Callbacks, PoolError};
use proc_exec::TaskError;

#[test]
fn the_callback_runs_once_on_the_result_handler_before_the_job_is_ready() {
    let clean = clean();
    let pool = pool(2);
    let (tx, rx) = mpsc::channel();
    let callbacks = Callbacks::new()
        .on_success(move |value: &u64| {
            let thread = std::thread::current().name().unwrap_or_default().to_owned();
            tx.send((*value, thread)).unwrap();
        })
        .on_error(|_| panic!("the error callback ran for a success"));
    let job = pool.apply_async_with(square, 9, callbacks).unwrap();
    assert_eq!(job.get(common::GUARD), Ok(&81));
    // Ready implies the callback already ran.
    let (value, thread) = rx.try_recv().unwrap();
    assert_eq!(value, 81);
    assert!(thread.starts_with("mp-pool-results-"), "{thread}");
    // Once.
    drop(pool);
    assert!(rx.recv().is_err());
    clean.check();
}

#[test]
fn the_error_callback_sees_the_error() {
    let clean = clean();
    let pool = pool(1);
    let (tx, rx) = mpsc::channel();
    let callbacks = Callbacks::new()
        .on_success(|_: &u64| panic!("the success callback ran for a failure"))
        .on_error(move |error| tx.send(error.clone()).unwrap());
    let job = pool.apply_async_with(panics_on_zero, 0, callbacks).unwrap();
    let error = job.get(common::GUARD).unwrap_err();
    assert!(matches!(error, PoolError::Task(TaskError::Panicked(_))));
    assert_eq!(rx.try_recv(), Ok(error));
    drop(pool);
    clean.check();
}

#[test]
fn a_panicking_callback_fails_its_job_and_result_handling_goes_on() {
    let clean = clean();
    let pool = pool(2);
    let bad = Callbacks::new().on_success(|_: &u64| panic!("callback bug"));
    let job = pool.apply_async_with(square, 3, bad).unwrap();
    match job.get(common::GUARD) {
        Err(PoolError::Callback(message)) => assert!(message.contains("callback bug")),
        other => panic!("{other:?}"),
    }
    assert_eq!(job.successful(), Ok(false));
    // CPython's result handler died here and every later result hung
    // (gh-83371): ours goes on running callbacks.
    let (tx, rx) = mpsc::channel();
    let jobs: Vec<_> = (0..20u64)
        .map(|n| {
            let tx = tx.clone();
            let callbacks = Callbacks::new().on_success(move |v: &u64| tx.send(*v).unwrap());
            pool.apply_async_with(square, n, callbacks).unwrap()
        })
        .collect();
    for (n, job) in (0..20u64).zip(&jobs) {
        assert_eq!(job.get(common::GUARD), Ok(&(n * n)));
    }
    drop(tx);
    let mut seen: Vec<u64> = rx.iter().take(20).collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..20u64).map(square).collect::<Vec<_>>());
    // A panicking error callback, too.
    let bad = Callbacks::new().on_error(|_| panic!("error callback bug"));
    let job = pool.apply_async_with(panics_on_zero, 0, bad).unwrap();
    assert!(matches!(
        job.get(common::GUARD),
        Err(PoolError::Callback(_))
    ));
    assert_eq!(pool.apply(square, 5), Ok(25));
    drop(pool);
    clean.check();
}

#[test]
fn map_async_callbacks_see_the_whole_list_once() {
    let clean = clean();
    let pool = pool(2);
    let (tx, rx) = mpsc::channel();
    let callbacks =
        Callbacks::new().on_success(move |all: &Vec<u64>| tx.send(all.clone()).unwrap());
    let job = pool
        .map_async_with(square, 0..50u64, Some(4), callbacks)
        .unwrap();
    let all = job.get(common::GUARD).unwrap().clone();
    assert_eq!(rx.try_recv(), Ok(all));
    // An empty map still calls back, with an empty list.
    let (tx, rx) = mpsc::channel();
    let callbacks = Callbacks::new().on_success(move |all: &Vec<u64>| tx.send(all.len()).unwrap());
    let job = pool
        .map_async_with(square, Vec::new(), None, callbacks)
        .unwrap();
    assert_eq!(job.get(common::GUARD), Ok(&Vec::new()));
    assert_eq!(rx.try_recv(), Ok(0));
    // A failing map calls the error callback once.
    let (tx, rx) = mpsc::channel();
    let callbacks = Callbacks::new().on_error(move |e| tx.send(e.clone()).unwrap());
    let job = pool
        .map_async_with(panics_on_zero, [1, 0, 2, 0], Some(1), callbacks)
        .unwrap();
    assert!(job.wait(common::GUARD));
    assert!(rx.try_recv().is_ok());
    assert!(rx.recv_timeout(Duration::from_millis(50)).is_err());
    drop(pool);
    clean.check();
}

#[test]
fn dropping_the_pool_in_its_own_callback_does_not_deadlock() {
    let clean = clean();
    let pool = std::sync::Arc::new(pool(1));
    let (tx, rx) = mpsc::channel();
    let held = std::sync::Arc::clone(&pool);
    let callbacks = Callbacks::new().on_success(move |_: &u64| {
        // The last handle may go here, on the result handler.
        drop(held);
        tx.send(()).unwrap();
    });
    let job = pool.apply_async_with(square, 2, callbacks).unwrap();
    drop(pool);
    assert_eq!(rx.recv_timeout(common::GUARD.unwrap()), Ok(()));
    assert!(job.wait(common::GUARD));
    clean.check();
}

fn add(a: u64, b: u64) -> u64 {
    a + b
}

#[test]
fn starmap_async_calls_back_with_the_list() {
    let clean = clean();
    let pool = pool(2);
    let (tx, rx) = mpsc::channel();
    let callbacks =
        Callbacks::new().on_success(move |all: &Vec<u64>| tx.send(all.clone()).unwrap());
    let job = pool
        .starmap_async_with(add, [(1, 2), (3, 4), (5, 6)], None, callbacks)
        .unwrap();
    assert_eq!(job.get(common::GUARD), Ok(&vec![3, 7, 11]));
    assert_eq!(rx.try_recv(), Ok(vec![3, 7, 11]));
    drop(pool);
    clean.check();
}
