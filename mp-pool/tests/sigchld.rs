//! `SIGCHLD` belongs to the application: the pool works whether it is
//! ignored or handled by a handler that reaps every child, installed before
//! the pool starts or while it runs, with both start methods. A worker's
//! status the pool cannot collect is reported as unknown, never made up;
//! nothing hangs; no child is left.
//!
//! A binary of its own: these tests change process-wide signal dispositions.

mod common;

use common::signals::DISPOSITIONS;
use common::{GUARD, clean, methods, square, watchdog};
use mp_pool::{Pool, PoolError};
use proc_exec::{ExitStatus, StartMethod, TaskError};

fn pool(method: StartMethod, maxtasksperchild: Option<usize>) -> Pool {
    let builder = Pool::builder().processes(2).start_method(method);
    match maxtasksperchild {
        Some(n) => builder.maxtasksperchild(n),
        None => builder,
    }
    .build()
    .unwrap()
}

fn abort(_: ()) -> u64 {
    // No core file, whatever `core_pattern` says.
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
    std::process::abort();
}

/// `apply` works; a task that aborts its worker fails with the worker's true
/// status (`SIGABRT`, or unknown where the application reaped it first, never
/// an invented signal) and the pool goes on; `close` + `join` return.
#[test]
fn apply_crash_close_join() {
    for method in methods() {
        for disposition in DISPOSITIONS {
            let clean = clean();
            let _restore = disposition.before_pool();
            let what = format!("{method:?} {disposition:?}: apply, crash, close, join");
            watchdog(&what, move || {
                let pool = pool(method, None);
                assert_eq!(pool.apply(square, 7), Ok(49));
                disposition.while_running();
                assert_eq!(pool.apply(square, 8), Ok(64));
                let status = match pool.apply_async(abort, ()).unwrap().get(GUARD) {
                    Err(PoolError::Task(TaskError::Died { status, .. })) => status,
                    other => panic!("{method:?} {disposition:?}: {other:?}"),
                };
                let aborted = ExitStatus::Signaled {
                    signal: 6,
                    core_dumped: false,
                };
                if method == StartMethod::ForkServer {
                    // The server owns its dispositions: it always collects.
                    assert_eq!(status, aborted, "{disposition:?}");
                } else {
                    assert!(
                        status == aborted || status == ExitStatus::Unknown,
                        "{disposition:?}: {status}"
                    );
                }
                // The dead worker was replaced.
                assert_eq!(pool.apply(square, 9), Ok(81));
                let job = pool.apply_async(square, 10).unwrap();
                pool.close();
                pool.join().unwrap();
                assert_eq!(job.get(GUARD), Ok(&100));
                drop(pool);
            });
            clean.check();
        }
    }
}

/// With `maxtasksperchild(1)` every worker retires after one task: no
/// retirement counts as a death, every job succeeds, and dropping the pool
/// returns.
#[test]
fn retirements_are_not_deaths() {
    for method in methods() {
        for disposition in DISPOSITIONS {
            let clean = clean();
            let _restore = disposition.before_pool();
            let what = format!("{method:?} {disposition:?}: maxtasksperchild(1)");
            watchdog(&what, move || {
                let pool = pool(method, Some(1));
                for n in 0..6u64 {
                    if n == 2 {
                        disposition.while_running();
                    }
                    assert_eq!(pool.apply(square, n), Ok(n * n), "{disposition:?}");
                }
                let out = pool.map(square, 0..20u64, Some(3)).unwrap();
                assert_eq!(out, (0..20u64).map(square).collect::<Vec<_>>());
                drop(pool);
            });
            clean.check();
        }
    }
}
