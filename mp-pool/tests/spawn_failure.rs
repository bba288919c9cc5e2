//! A worker that cannot be started (no file descriptor left for its pipes)
//! fails the jobs waiting for it at once: the pool breaks, saying why, the
//! workers already running are terminated, and every job ends.
//!
//! A binary of its own: these tests lower `RLIMIT_NOFILE` for the process.

mod common;

use common::{GUARD, Gate, clean, exhaust_fds, methods, square, step, watchdog};
use mp_pool::{AsyncResult, Pool, PoolError};
use proc_exec::TaskError;

/// Room for what the test binary holds open, and no more.
const FD_LIMIT: u64 = 64;

/// The job fails with a broken pool whose cause is the failed spawn.
fn assert_spawn_failed<R: std::fmt::Debug>(job: &AsyncResult<R>) {
    match job.get(GUARD) {
        Err(PoolError::Task(TaskError::Broken(broken))) => {
            let text = broken.to_string();
            assert!(text.contains("could not be started"), "{text}");
        }
        other => panic!("expected a failed spawn, got {other:?}"),
    }
}

/// With `maxtasksperchild(1)` the replacement of a retired worker cannot be
/// started: the waiting job fails at once and the pool is dropped cleanly.
#[test]
fn a_replacement_cannot_be_started() {
    for method in methods() {
        let clean = clean();
        watchdog(&format!("{method:?}: replacement fails"), move || {
            let pool = Pool::builder()
                .processes(1)
                .maxtasksperchild(1)
                .start_method(method)
                .build()
                .unwrap();
            assert_eq!(pool.apply(square, 2), Ok(4));
            let full = exhaust_fds(FD_LIMIT);
            let job = pool.apply_async(square, 3).unwrap();
            assert_spawn_failed(&job);
            drop(full);
            drop(pool);
        });
        clean.check();
    }
}

/// A second worker cannot be started while the first runs a job: the pool
/// breaks, the running job's worker is terminated and that job fails too;
/// `close` + `join` return.
#[test]
fn a_running_worker_is_terminated_when_a_spawn_fails() {
    for method in methods() {
        let clean = clean();
        watchdog(
            &format!("{method:?}: spawn fails beside a job"),
            move || {
                let pool = Pool::builder()
                    .processes(2)
                    .start_method(method)
                    .build()
                    .unwrap();
                let gate = Gate::new("mp-spawn-failure");
                let running = pool.apply_async(step, gate.step()).unwrap();
                gate.wait_started();
                let full = exhaust_fds(FD_LIMIT);
                let job = pool.apply_async(square, 3).unwrap();
                assert_spawn_failed(&job);
                assert!(
                    matches!(
                        running.get(GUARD),
                        Err(PoolError::Task(TaskError::Broken(_)))
                    ),
                    "{:?}",
                    running.get(GUARD)
                );
                drop(full);
                pool.close();
                pool.join().unwrap();
                drop(gate);
            },
        );
        clean.check();
    }
}
