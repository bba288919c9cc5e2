//! Loom models of mp-pool's result handler, over proc-exec's simulated
//! workers (`proc_exec::loom_model`): the hand-over of a finished task to
//! the result-handler thread races the registration of its done callback
//! (`Dispatcher::when_done`), and a map's chunks finish in any order.
#![cfg(exec_loom)]

use std::sync::Arc;

use loom::sync::atomic::{AtomicUsize, Ordering};
use mp_pool::{Callbacks, Pool, PoolError};
use proc_exec::TaskError;
use proc_exec::loom_model::{DEATH, die};

fn triple(n: u64) -> u64 {
    3 * n
}

fn pool() -> Pool {
    Pool::builder().processes(1).build().unwrap()
}

/// Three threads at least (caller, proc-exec's manager, the result
/// handler), so a preemption bound of 2 at most keeps each model within
/// seconds (bound 3 ran past ten minutes).
fn model(f: impl Fn() + Send + Sync + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(builder.preemption_bound.unwrap_or(2).min(2));
    builder.check(f);
}

/// The callback runs exactly once, and before the job is ready, however the
/// task's completion interleaves with the registration of its callback
/// (CPython's rule: callbacks run before `get` returns).
#[test]
fn a_callback_runs_once_before_its_job_is_ready() {
    model(|| {
        let pool = pool();
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&calls);
        let callbacks = Callbacks::new().on_success(move |value: &u64| {
            assert_eq!(*value, 6);
            // ORDERING: the job's completion publishes this to `get`'s caller.
            counter.fetch_add(1, Ordering::Relaxed);
        });
        let job = pool.apply_async_with(triple, 2, callbacks).unwrap();
        assert_eq!(job.get(None), Ok(&6));
        assert_eq!(calls.load(Ordering::Relaxed), 1);
        drop(pool);
        assert_eq!(calls.load(Ordering::Relaxed), 1);
    });
}

/// A map's chunks reach the result handler in any order; the list comes
/// out in input order, once, after both.
#[test]
fn a_map_is_gathered_in_order_from_chunks_finishing_in_any_order() {
    model(|| {
        let pool = pool();
        let job = pool.map_async(triple, [1, 2], Some(1)).unwrap();
        assert_eq!(job.into_result(), Ok(vec![3, 6]));
    });
}

/// A worker that dies while running a task fails that task (never leaves
/// it pending) and the pool replaces the worker (bpo-22393).
#[test]
fn a_dead_worker_fails_its_task_and_the_pool_goes_on() {
    model(|| {
        let pool = pool();
        let doomed = pool.apply_async(die, ()).unwrap();
        match doomed.get(None) {
            Err(PoolError::Task(TaskError::Died { status, .. })) => assert_eq!(status, DEATH),
            other => panic!("{other:?}"),
        }
        assert_eq!(pool.apply(triple, 1), Ok(3));
    });
}
