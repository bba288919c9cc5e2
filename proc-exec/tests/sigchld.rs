//! `SIGCHLD` belongs to the application: the pool works whether it is
//! ignored (the kernel then reaps children itself) or handled by a handler
//! that reaps every child (`waitpid(-1, WNOHANG)`), installed before the pool
//! starts or while it runs. A status the pool cannot collect is reported as
//! [`ExitStatus::Unknown`], never made up; nothing hangs; no child is left.
//!
//! A binary of its own: these tests change process-wide signal dispositions.

mod common;

use std::time::Duration;

use common::signals::{DISPOSITIONS, Disposition};
use common::{GUARD, clean, methods, watchdog};
use future_core::ResultError;
use proc_exec::{ExitStatus, ProcessPoolExecutor, StartMethod, TaskError};

fn pool(method: StartMethod, max_tasks_per_child: Option<usize>) -> ProcessPoolExecutor {
    let builder = ProcessPoolExecutor::builder()
        .max_workers(2)
        .start_method(method);
    match max_tasks_per_child {
        Some(n) => builder.max_tasks_per_child(n),
        None => builder,
    }
    .build()
    .unwrap()
}

fn square(n: u64) -> u64 {
    n * n
}

fn abort(_: ()) -> u64 {
    // No core file, whatever `core_pattern` says.
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
    std::process::abort();
}

fn failure<R: std::fmt::Debug>(future: future_core::Future<R, TaskError>) -> TaskError {
    match future.result(GUARD) {
        Err(ResultError::Failed(error)) => error.clone(),
        other => panic!("expected a task error, got {other:?}"),
    }
}

/// The status a crashed worker is reported with: `SIGABRT` where the pool
/// could collect it (always through the fork server, which owns its own
/// dispositions), `Unknown` where the application reaped it first; never an
/// invented signal.
fn check_abort_status(method: StartMethod, disposition: Disposition, status: ExitStatus) {
    let aborted = ExitStatus::Signaled {
        signal: 6,
        core_dumped: false,
    };
    match method {
        StartMethod::ForkServer => assert_eq!(status, aborted, "{disposition:?}"),
        _ => assert!(
            status == aborted || status == ExitStatus::Unknown,
            "{method:?} {disposition:?}: {status}"
        ),
    }
    // `Fork` and `Spawn` workers are the pool's own children.
    if disposition == Disposition::Ignore && method != StartMethod::ForkServer {
        assert_eq!(status, ExitStatus::Unknown, "the kernel reaped it");
    }
}

/// Submits work, then a task that aborts its worker: the results come back,
/// the crash fails its future with a typed error naming a true status (the
/// pool breaks, as by default), and dropping the pool returns.
#[test]
fn a_crash_is_reported_and_drop_returns() {
    for method in methods() {
        for disposition in DISPOSITIONS {
            let clean = clean();
            let _restore = disposition.before_pool();
            watchdog(
                &format!("{method:?} {disposition:?}: submit, crash, drop"),
                move || {
                    let pool = pool(method, None);
                    assert_eq!(pool.submit(square, 7).unwrap().result(GUARD), Ok(&49));
                    disposition.while_running();
                    assert_eq!(pool.submit(square, 8).unwrap().result(GUARD), Ok(&64));
                    let error = failure(pool.submit(abort, ()).unwrap());
                    let TaskError::Broken(broken) = &error else {
                        panic!("{method:?} {disposition:?}: {error:?}");
                    };
                    let status = broken.exit_status().unwrap();
                    check_abort_status(method, disposition, status);
                    assert!(error.to_string().contains(&status.to_string()), "{error}");
                    drop(pool);
                },
            );
            clean.check();
        }
    }
}

/// Dropping a pool whose workers are busy and alive returns (the workers
/// are told to exit and are reaped, or found reaped).
#[test]
fn drop_after_work_returns() {
    for method in methods() {
        for disposition in DISPOSITIONS {
            let clean = clean();
            let _restore = disposition.before_pool();
            watchdog(
                &format!("{method:?} {disposition:?}: submit then drop"),
                move || {
                    let pool = pool(method, None);
                    let futures: Vec<_> = (0..20u64)
                        .map(|n| pool.submit(square, n).unwrap())
                        .collect();
                    disposition.while_running();
                    for (n, future) in (0..20u64).zip(futures) {
                        assert_eq!(future.result(GUARD), Ok(&(n * n)));
                    }
                    drop(pool);
                },
            );
            clean.check();
        }
    }
}

/// With `max_tasks_per_child(1)` every task's worker retires after it: a
/// retirement is never a death, whether or not its status could be
/// collected, so the pool does not break.
#[test]
fn retirements_are_not_deaths() {
    for method in methods() {
        for disposition in DISPOSITIONS {
            let clean = clean();
            let _restore = disposition.before_pool();
            watchdog(
                &format!("{method:?} {disposition:?}: max_tasks_per_child(1)"),
                move || {
                    let pool = pool(method, Some(1));
                    for n in 0..6u64 {
                        if n == 2 {
                            disposition.while_running();
                        }
                        let result = pool.submit(square, n).unwrap().into_result();
                        assert_eq!(result, Ok(n * n), "{method:?} {disposition:?}");
                    }
                    pool.shutdown(true, false);
                },
            );
            clean.check();
        }
    }
}

/// A task running when the pool is terminated fails with a broken-pool
/// error, and the pool finishes, whoever reaps the worker.
#[test]
fn terminate_workers_ends_the_pool() {
    fn forever(_: ()) -> u64 {
        loop {
            // Sleeping is this task's work, not a synchronisation.
            std::thread::sleep(Duration::from_secs(1));
        }
    }
    for method in methods() {
        for disposition in DISPOSITIONS {
            let clean = clean();
            let _restore = disposition.before_pool();
            watchdog(
                &format!("{method:?} {disposition:?}: kill_workers"),
                move || {
                    let pool = pool(method, None);
                    assert_eq!(pool.submit(square, 3).unwrap().result(GUARD), Ok(&9));
                    disposition.while_running();
                    let running = pool.submit(forever, ()).unwrap();
                    pool.kill_workers();
                    let error = failure(running);
                    assert!(matches!(error, TaskError::Broken(_)), "{error:?}");
                    pool.shutdown(true, false);
                },
            );
            clean.check();
        }
    }
}
