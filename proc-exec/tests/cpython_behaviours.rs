//! The behaviours CPython's `test_concurrent_futures` checks of
//! `ProcessPoolExecutor` that no other file here checks, in this crate's
//! terms, and the CPython bugs of that list we must not repeat; each under a
//! watchdog, as each could hang.

mod common;

use std::collections::BTreeSet;
use std::num::NonZeroUsize;
use std::time::Duration;

use common::{Gate, builder, clean, methods, watchdog};
use future_core::{Future, ResultError};
use proc_exec::{ProcessPoolExecutor, StartMethod, SubmitError, TaskError};
use test_support::step;
use waiters::{ReturnWhen, as_completed, wait};

fn square(n: u64) -> u64 {
    n * n
}

fn pid(_: ()) -> u32 {
    std::process::id()
}

fn exit_cleanly(_: ()) -> u32 {
    // SAFETY: `_exit` ends this worker process at once, which is the point;
    // nothing of the parent's is touched.
    unsafe { libc::_exit(0) }
}

fn failure<R: std::fmt::Debug>(future: Future<R, TaskError>) -> TaskError {
    match future.into_result() {
        Err(ResultError::Failed(error)) => error,
        other => panic!("expected a task error, got {other:?}"),
    }
}

fn short_lived(method: StartMethod, workers: usize, tasks: usize) -> ProcessPoolExecutor {
    ProcessPoolExecutor::builder()
        .max_workers(workers)
        .max_tasks_per_child(tasks)
        .start_method(method)
        .build()
        .unwrap()
}

/// gh-115634: one worker living two tasks, ten tasks queued. CPython 3.11
/// to 3.14.0 hang after the first two (no replacement started with a
/// backlog); here every task runs, two per worker.
#[test]
fn a_backlog_on_one_worker_living_two_tasks_all_runs() {
    for method in methods() {
        watchdog("max_tasks_per_child 2, backlog of 10", || {
            let clean = clean();
            let pool = short_lived(method, 1, 2);
            let futures: Vec<_> = (0..10).map(|_| pool.submit(pid, ()).unwrap()).collect();
            let pids: Vec<u32> = futures
                .into_iter()
                .map(|f| f.into_result().unwrap())
                .collect();
            let distinct: BTreeSet<u32> = pids.iter().copied().collect();
            assert_eq!(distinct.len(), 5, "{method:?}: {pids:?}");
            for pair in pids.chunks(2) {
                assert_eq!(pair[0], pair[1], "{method:?}: two tasks per worker");
            }
            drop(pool);
            clean.check();
        });
    }
}

/// gh-119592, gh-152967: after `shutdown(wait = false)`, a worker that
/// retires at its limit is still replaced, so the queued work runs; then
/// `shutdown(wait = true)` returns.
#[test]
fn shutdown_without_wait_still_replaces_retired_workers_for_the_queue() {
    for method in methods() {
        watchdog("max_tasks_per_child with shutdown(wait=false)", || {
            let clean = clean();
            let pool = short_lived(method, 2, 1);
            let futures: Vec<_> = (0..12u64)
                .map(|n| pool.submit(square, n).unwrap())
                .collect();
            pool.shutdown(false, false);
            assert!(matches!(pool.submit(square, 1), Err(SubmitError::Shutdown)));
            for (n, future) in (0..12u64).zip(futures) {
                assert_eq!(future.into_result().unwrap(), n * n, "{method:?}");
            }
            pool.shutdown(true, false);
            assert_eq!(pool.live_workers(), 0);
            drop(pool);
            clean.check();
        });
    }
}

/// CPython: a garbage-collected executor fails what is left with
/// BrokenProcessPool ("garbage collected"). Here dropping the executor is
/// `shutdown(wait = true)` (see the crate docs): what was queued runs.
#[test]
fn dropping_the_executor_runs_what_was_queued() {
    watchdog("drop with a queue", || {
        let clean = clean();
        let pool = builder().max_workers(2).build().unwrap();
        let futures: Vec<_> = (0..40u64)
            .map(|n| pool.submit(square, n).unwrap())
            .collect();
        drop(pool);
        for (n, future) in (0..40u64).zip(futures) {
            assert_eq!(future.result(Some(Duration::ZERO)).copied(), Ok(n * n));
        }
        clean.check();
    });
}

/// gh-87893, gh-92001, gh-109934: futures cancelled by `shutdown(cancel_futures
/// = true)`, or by the user while queued, are done for `wait` and
/// `as_completed` at once (CPython's never are: both hang or time out).
#[test]
fn futures_cancelled_while_queued_are_done_for_wait_and_as_completed() {
    watchdog("wait on cancelled futures", || {
        let clean = clean();
        let pool = builder()
            .max_workers(1)
            .max_in_flight_per_worker(NonZeroUsize::MIN)
            .build()
            .unwrap();
        let gate = Gate::new("cancelled-wait");
        let running = pool.submit(step, gate.step()).unwrap();
        gate.wait_started();
        let by_user = pool.submit(square, 1).unwrap();
        assert!(by_user.cancel());
        let done = wait([&by_user], None, ReturnWhen::AllCompleted);
        assert_eq!((done.done.len(), done.not_done.len()), (1, 0));

        let queued: Vec<_> = (0..3u64).map(|n| pool.submit(square, n).unwrap()).collect();
        pool.shutdown(false, true);
        let done = wait(&queued, None, ReturnWhen::AllCompleted);
        assert_eq!((done.done.len(), done.not_done.len()), (3, 0));
        let done = wait(&queued, None, ReturnWhen::FirstException);
        assert_eq!(done.done.len(), 3, "a cancel is not an exception");
        let yielded = as_completed(&queued, None).map(Result::unwrap).count();
        assert_eq!(yielded, 3);
        for future in &queued {
            assert_eq!(future.result(None).err(), Some(ResultError::Cancelled));
        }

        // The running one is not cancelled, and `wait` sees it finish.
        let both = [&running];
        let first = wait(both, Some(Duration::ZERO), ReturnWhen::FirstCompleted);
        assert_eq!(first.not_done.len(), 1);
        gate.open();
        let first = wait(both, None, ReturnWhen::FirstCompleted);
        assert_eq!(first.done.len(), 1);
        assert_eq!(running.into_result().unwrap(), 2);
        drop(pool);
        drop(gate);
        clean.check();
    });
}

/// `terminate_workers` / `kill_workers` (3.14): harmless with no worker
/// started, called again, or on a broken pool; a later submit is refused,
/// and a broken pool still says it is broken (CPython checks "broken" before
/// "shut down").
#[test]
fn terminate_and_kill_workers_are_harmless_in_every_state() {
    watchdog("terminate_workers in every state", || {
        let clean = clean();
        let idle = builder().max_workers(2).build().unwrap();
        idle.terminate_workers();
        idle.kill_workers();
        idle.terminate_workers();
        assert!(matches!(idle.submit(square, 1), Err(SubmitError::Shutdown)));
        idle.shutdown(true, true);
        assert_eq!(idle.live_workers(), 0);
        drop(idle);

        let broken = builder().max_workers(2).build().unwrap();
        let doomed = broken.submit(exit_cleanly, ()).unwrap();
        assert!(matches!(failure(doomed), TaskError::Broken(_)));
        broken.terminate_workers();
        broken.kill_workers();
        broken.shutdown(true, false);
        assert!(matches!(
            broken.submit(square, 1),
            Err(SubmitError::Broken(_))
        ));
        drop(broken);
        clean.check();
    });
}

/// A task that ends its worker with exit status 0 (Python's `os._exit(0)`)
/// is a death, not a retirement: the pool breaks, naming the worker and its
/// status, and the task's future fails rather than waiting forever.
#[test]
fn a_task_that_exits_its_worker_cleanly_breaks_the_pool() {
    for method in methods() {
        watchdog("a task exiting with 0", || {
            let clean = clean();
            let pool = builder()
                .max_workers(1)
                .start_method(method)
                .build()
                .unwrap();
            let worker = pool.submit(pid, ()).unwrap().into_result().unwrap();
            let doomed = pool.submit(exit_cleanly, ()).unwrap();
            let TaskError::Broken(broken) = failure(doomed) else {
                panic!("{method:?}: not a broken pool");
            };
            assert_eq!(broken.pid(), Some(worker));
            assert_eq!(broken.exit_status().and_then(|s| s.code()), Some(0));
            assert!(matches!(
                pool.submit(square, 3),
                Err(SubmitError::Broken(_))
            ));
            drop(pool);
            clean.check();
        });
    }
}

/// The last handle on the executor dropped by a done callback, which runs
/// on the pool's manager thread: `Drop` is `shutdown(wait = true)`, and the
/// manager cannot wait for itself. CPython's `join` of the current thread
/// raises (and the callback's error is logged); here the drop returns, the
/// work still queued runs, and the manager ends by itself.
#[test]
fn the_executor_dropped_by_a_done_callback_does_not_wait_for_itself() {
    watchdog("drop in a done callback", || {
        let clean = clean();
        let pool = builder()
            .max_workers(1)
            .max_in_flight_per_worker(NonZeroUsize::MIN)
            .build()
            .unwrap();
        let gate = Gate::new("drop-in-callback");
        let first = pool.submit(step, gate.step()).unwrap();
        let queued: Vec<_> = (0..5u64).map(|n| pool.submit(square, n).unwrap()).collect();
        let (tx, rx) = std::sync::mpsc::channel();
        first.add_done_callback(move |_| {
            drop(pool);
            tx.send(()).unwrap();
        });
        gate.wait_started();
        gate.open();
        rx.recv_timeout(Duration::from_secs(30))
            .expect("the drop in the callback returned");
        for (n, future) in (0..5u64).zip(queued) {
            assert_eq!(future.into_result().unwrap(), n * n);
        }
        assert_eq!(first.into_result().unwrap(), 2);
        drop(gate);
        // Nothing can join the manager now: it reaps the workers and ends
        // by itself (the watchdog bounds this).
        while manager_threads() > 0 {
            std::thread::yield_now();
        }
        clean.check();
    });
}

/// The manager threads of this process's pools (a thread's name is cut to
/// 15 bytes in `/proc`). The tests run one at a time: only one pool's.
fn manager_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("proc-exec-manag"))
        .count()
}

/// The same with `shutdown(wait = true)` called by a done callback while
/// other handles live.
#[test]
fn shutdown_with_wait_in_a_done_callback_does_not_wait_for_itself() {
    watchdog("shutdown in a done callback", || {
        let clean = clean();
        let pool = std::sync::Arc::new(builder().max_workers(1).build().unwrap());
        let inner = std::sync::Arc::clone(&pool);
        let (tx, rx) = std::sync::mpsc::channel();
        let first = pool.submit(square, 3).unwrap();
        first.add_done_callback(move |_| {
            inner.shutdown(true, false);
            tx.send(()).unwrap();
        });
        rx.recv_timeout(Duration::from_secs(30))
            .expect("the shutdown in the callback returned");
        assert!(matches!(pool.submit(square, 1), Err(SubmitError::Shutdown)));
        pool.shutdown(true, false);
        assert_eq!(pool.live_workers(), 0);
        drop(pool);
        assert_eq!(first.into_result().unwrap(), 9);
        clean.check();
    });
}

/// A done callback that submits more work to its own pool (chaining, as
/// CPython allows from its manager thread): the submit does not wait on the
/// thread that runs it.
#[test]
fn a_done_callback_may_submit_to_its_own_pool() {
    watchdog("submit from a done callback", || {
        let clean = clean();
        let pool = std::sync::Arc::new(builder().max_workers(2).build().unwrap());
        let inner = std::sync::Arc::clone(&pool);
        let (tx, rx) = std::sync::mpsc::channel();
        let first = pool.submit(square, 3).unwrap();
        first.add_done_callback(move |done| {
            let n = *done.result().unwrap();
            tx.send(inner.submit(square, n).unwrap()).unwrap();
        });
        let next = rx.recv_timeout(Duration::from_secs(30)).unwrap();
        assert_eq!(next.into_result().unwrap(), 81);
        assert_eq!(first.into_result().unwrap(), 9);
        drop(pool);
        clean.check();
    });
}
