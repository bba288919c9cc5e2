//! A worker that cannot be started (no file descriptor left for its pipes)
//! fails the work waiting for it at once: the pool breaks, saying why, the
//! workers already running are terminated, and every future ends.
//!
//! A binary of its own: these tests lower `RLIMIT_NOFILE` for the process.

mod common;

use common::{GUARD, Gate, clean, exhaust_fds, methods, step, watchdog};
use future_core::ResultError;
use proc_exec::{ProcessPoolExecutor, SubmitError, TaskError};

/// Room for what the test binary holds open, and no more.
const FD_LIMIT: u64 = 64;

fn square(n: u64) -> u64 {
    n * n
}

/// The future fails with a broken pool whose cause is the failed spawn.
fn assert_spawn_failed<R: std::fmt::Debug>(future: &future_core::Future<R, TaskError>) {
    match future.result(GUARD) {
        Err(ResultError::Failed(TaskError::Broken(broken))) => {
            let text = broken.to_string();
            assert!(text.contains("could not be started"), "{text}");
            assert_eq!(broken.exit_status(), None, "{text}");
        }
        other => panic!("expected a failed spawn, got {other:?}"),
    }
}

/// The first worker cannot be started: the submitted future fails at once,
/// later submits are refused, and the pool is dropped cleanly.
#[test]
fn the_first_worker_cannot_be_started() {
    for method in methods() {
        let clean = clean();
        watchdog(&format!("{method:?}: first spawn fails"), move || {
            let pool = ProcessPoolExecutor::builder()
                .max_workers(2)
                .start_method(method)
                .build()
                .unwrap();
            let full = exhaust_fds(FD_LIMIT);
            let future = pool.submit(square, 3).unwrap();
            assert_spawn_failed(&future);
            drop(full);
            assert!(matches!(
                pool.submit(square, 4),
                Err(SubmitError::Broken(_))
            ));
            drop(pool);
        });
        clean.check();
    }
}

/// With `max_tasks_per_child(1)` the replacement of a retired worker cannot
/// be started: the waiting future fails at once.
#[test]
fn a_replacement_cannot_be_started() {
    for method in methods() {
        let clean = clean();
        watchdog(&format!("{method:?}: replacement fails"), move || {
            let pool = ProcessPoolExecutor::builder()
                .max_workers(1)
                .max_tasks_per_child(1)
                .start_method(method)
                .build()
                .unwrap();
            assert_eq!(pool.submit(square, 2).unwrap().into_result(), Ok(4));
            let full = exhaust_fds(FD_LIMIT);
            let future = pool.submit(square, 3).unwrap();
            assert_spawn_failed(&future);
            drop(full);
            drop(pool);
        });
        clean.check();
    }
}

/// A second worker cannot be started while the first runs a task: the pool
/// breaks, the running task's worker is terminated and its future fails too.
#[test]
fn a_running_worker_is_terminated_when_a_spawn_fails() {
    for method in methods() {
        let clean = clean();
        watchdog(
            &format!("{method:?}: spawn fails beside a task"),
            move || {
                let pool = ProcessPoolExecutor::builder()
                    .max_workers(2)
                    .start_method(method)
                    .build()
                    .unwrap();
                let gate = Gate::new("spawn-failure");
                let running = pool.submit(step, gate.step()).unwrap();
                gate.wait_started();
                let full = exhaust_fds(FD_LIMIT);
                let future = pool.submit(square, 3).unwrap();
                assert_spawn_failed(&future);
                match running.result(GUARD) {
                    Err(ResultError::Failed(TaskError::Broken(broken))) => {
                        assert!(broken.sent_to().is_some(), "{broken}");
                    }
                    other => panic!("expected the running task to fail, got {other:?}"),
                }
                drop(full);
                drop(pool);
                drop(gate);
            },
        );
        clean.check();
    }
}
