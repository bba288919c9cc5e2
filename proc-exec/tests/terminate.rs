//! `terminate_workers` and `kill_workers` signal the workers from the
//! calling thread, before they return, even while the manager thread is busy
//! in a done callback; and a worker that ignores SIGTERM cannot make the pool
//! wait for ever: it gets SIGKILL after the grace period.

mod common;

use std::os::fd::OwnedFd;
use std::sync::{Mutex, mpsc};
use std::time::Duration;

use common::signals::ignore_sigterm;
use common::{GUARD, Gate, Step, clean, methods, step, watchdog};
use future_core::ResultError;
use proc_exec::{ProcessPoolExecutor, StartMethod, TaskError};
use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::process::{Pid, PidfdFlags, pidfd_open};

fn pool(method: StartMethod) -> ProcessPoolExecutor {
    ProcessPoolExecutor::builder()
        .max_workers(2)
        .start_method(method)
        .build()
        .unwrap()
}

/// A pidfd for each live worker: readable once the worker has ended.
fn worker_pidfds(pool: &ProcessPoolExecutor) -> Vec<OwnedFd> {
    pool.worker_pids()
        .into_iter()
        .map(|pid| {
            let pid = Pid::from_raw(pid as i32).unwrap();
            pidfd_open(pid, PidfdFlags::empty()).unwrap()
        })
        .collect()
}

/// Whether the process behind `pidfd` ends within a generous guard.
fn ends(pidfd: &OwnedFd) -> bool {
    let mut fds = [PollFd::new(pidfd, PollFlags::IN)];
    let guard = Timespec {
        tv_sec: 30,
        tv_nsec: 0,
    };
    poll(&mut fds, Some(&guard)).unwrap() == 1
}

fn the_pool_broke<R>(result: Result<&R, ResultError<&TaskError>>) -> bool {
    matches!(result, Err(ResultError::Failed(TaskError::Broken(_))))
}

/// With the manager thread held in a done callback, `terminate_workers` and
/// `kill_workers` still end every worker before the manager moves again;
/// the task that was running then fails with a broken pool.
#[test]
fn signals_go_out_before_the_call_returns() {
    for method in methods() {
        for kill in [false, true] {
            let clean = clean();
            watchdog(&format!("{method:?} kill={kill}"), move || {
                let pool = pool(method);
                let running_gate = Gate::new("terminate-running");
                let running = pool.submit(step, running_gate.step()).unwrap();
                running_gate.wait_started();
                // A second task, held until its done callback is in place:
                // the callback then runs on the manager thread, and holds it.
                let busy_gate = Gate::new("terminate-busy");
                let busy = pool.submit(step, busy_gate.step()).unwrap();
                busy_gate.wait_started();
                let (entered, on_manager) = mpsc::channel();
                let (release, held) = mpsc::channel::<()>();
                let held = Mutex::new(held);
                busy.add_done_callback(move |_| {
                    entered.send(()).unwrap();
                    let _ = held.lock().unwrap().recv();
                });
                busy_gate.open();
                on_manager.recv_timeout(GUARD.unwrap()).unwrap();

                let pidfds = worker_pidfds(&pool);
                assert_eq!(pidfds.len(), 2);
                if kill {
                    pool.kill_workers();
                } else {
                    pool.terminate_workers();
                }
                for pidfd in &pidfds {
                    assert!(
                        ends(pidfd),
                        "a worker outlived the call while the manager was busy"
                    );
                }
                release.send(()).unwrap();
                assert!(
                    the_pool_broke(running.result(GUARD)),
                    "{:?}",
                    running.result(GUARD)
                );
                assert_eq!(busy.result(GUARD), Ok(&2));
                pool.shutdown(true, false);
                drop(pidfds);
                drop((running_gate, busy_gate));
            });
            clean.check();
        }
    }
}

/// A task that makes its worker ignore SIGTERM, then runs `step`.
fn ignore_sigterm_then(step: Step) -> u64 {
    ignore_sigterm();
    common::step(step)
}

/// A worker that ignores SIGTERM is killed after the grace period, whether
/// the pool broke (another worker crashed) or `terminate_workers` was
/// called: dropping the pool returns.
#[test]
fn a_worker_ignoring_sigterm_is_killed_after_the_grace_period() {
    for method in methods() {
        for terminate in [false, true] {
            let clean = clean();
            let what = format!("{method:?} terminate={terminate}");
            watchdog(&what, move || {
                let pool = ProcessPoolExecutor::builder()
                    .max_workers(2)
                    .start_method(method)
                    .terminate_grace(Duration::from_millis(100))
                    .build()
                    .unwrap();
                let gate = Gate::new("ignores-sigterm");
                let stubborn = pool.submit(ignore_sigterm_then, gate.step()).unwrap();
                gate.wait_started();
                if terminate {
                    pool.terminate_workers();
                } else {
                    let crash = pool.submit(step, Step::KillSelf).unwrap();
                    assert!(the_pool_broke(crash.result(GUARD)));
                }
                assert!(the_pool_broke(stubborn.result(GUARD)));
                drop(pool);
                drop(gate);
            });
            clean.check();
        }
    }
}
