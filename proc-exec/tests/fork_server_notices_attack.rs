//! A hostile user's load on the fork server's exit notices: hundreds of
//! workers that each retire after one tiny task, all submitted at once;
//! many workers that die together and are replaced; `terminate_workers`
//! racing deaths; and all of it while the application owns `SIGCHLD`.
//! No hang, no lost result, no zombie. Its own binary: it changes `SIGCHLD`.

mod common;

use std::time::Duration;

use common::signals::{DISPOSITIONS, Disposition};
use common::{clean, methods, watchdog};
use proc_exec::{OnWorkerDeath, ProcessPoolExecutor, ResultError, TaskError};

fn square(n: u64) -> u64 {
    n * n
}

fn die_if_odd(n: u64) -> u64 {
    if n % 2 == 1 {
        // SAFETY: ends this worker at once, as a crash would.
        unsafe { libc::_exit(7) };
    }
    n
}

/// Each disposition, and none (`SIG_DFL`).
fn dispositions() -> Vec<Option<Disposition>> {
    std::iter::once(None)
        .chain(DISPOSITIONS.into_iter().map(Some))
        .collect()
}

#[test]
fn hundreds_of_one_task_workers_submitted_at_once() {
    for method in methods() {
        for disposition in dispositions() {
            let clean = clean();
            let _restore = disposition.map(Disposition::before_pool);
            watchdog(&format!("{method:?} {disposition:?}: retirements"), || {
                let pool = ProcessPoolExecutor::builder()
                    .max_workers(4)
                    .start_method(method)
                    .max_tasks_per_child(1)
                    .build()
                    .unwrap();
                let futures: Vec<_> = (0..300u64)
                    .map(|n| {
                        if n == 10 {
                            disposition.inspect(|d| d.while_running());
                        }
                        pool.submit(square, n).unwrap()
                    })
                    .collect();
                for (n, future) in futures.into_iter().enumerate() {
                    let n = n as u64;
                    assert_eq!(
                        future.into_result(),
                        Ok(n * n),
                        "{method:?} {disposition:?}"
                    );
                }
                pool.shutdown(true, false);
            });
            clean.check();
        }
    }
}

#[test]
fn half_the_tasks_kill_their_worker_and_are_replaced() {
    for method in methods() {
        for disposition in dispositions() {
            let clean = clean();
            let _restore = disposition.map(Disposition::before_pool);
            watchdog(&format!("{method:?} {disposition:?}: deaths"), || {
                let pool = ProcessPoolExecutor::builder()
                    .max_workers(6)
                    .start_method(method)
                    .on_worker_death(OnWorkerDeath::Replace)
                    .build()
                    .unwrap();
                disposition.inspect(|d| d.while_running());
                let futures: Vec<_> = (0..200u64)
                    .map(|n| pool.submit(die_if_odd, n).unwrap())
                    .collect();
                for (n, future) in futures.into_iter().enumerate() {
                    let n = n as u64;
                    match future.into_result() {
                        Ok(got) => assert_eq!(got, n, "{method:?} {disposition:?}"),
                        // An even item queued behind a dying one may die
                        // with it (sent ahead to its pipe) only if it was
                        // started; it is otherwise sent again.
                        Err(ResultError::Failed(TaskError::Died { .. })) if n % 2 == 1 => {}
                        other => panic!("{method:?} {disposition:?} item {n}: {other:?}"),
                    }
                }
                assert_eq!(pool.submit(square, 9).unwrap().into_result(), Ok(81));
                pool.shutdown(true, false);
            });
            clean.check();
        }
    }
}

fn sleepy(n: u64) -> u64 {
    if n.is_multiple_of(3) {
        // SAFETY: ends this worker at once, as a crash would.
        unsafe { libc::_exit(1) };
    }
    // Work that lasts, not a synchronisation.
    std::thread::sleep(Duration::from_millis(n % 5));
    n
}

#[test]
fn terminate_races_deaths() {
    for method in methods() {
        for disposition in dispositions() {
            let clean = clean();
            let _restore = disposition.map(Disposition::before_pool);
            watchdog(&format!("{method:?} {disposition:?}: terminate"), || {
                for round in 0..5u64 {
                    let pool = ProcessPoolExecutor::builder()
                        .max_workers(4)
                        .start_method(method)
                        .on_worker_death(OnWorkerDeath::Replace)
                        .build()
                        .unwrap();
                    disposition.inspect(|d| d.while_running());
                    let futures: Vec<_> = (0..60u64)
                        .map(|n| pool.submit(sleepy, n + round).unwrap())
                        .collect();
                    // Once the first death is known, terminate while others
                    // die and are replaced.
                    let first_death = (3 - round as usize % 3) % 3;
                    let _ = futures[first_death].exception(common::GUARD);
                    if round % 2 == 0 {
                        pool.terminate_workers();
                    } else {
                        pool.kill_workers();
                    }
                    for future in futures {
                        // Every future ends: a value, a death, or the
                        // termination's broken pool / cancellation.
                        let _ = future.exception(common::GUARD).unwrap_or(None);
                        assert!(future.done(), "{method:?} {disposition:?}");
                    }
                    pool.shutdown(true, false);
                }
            });
            clean.check();
        }
    }
}
