//! Loom models of the process pool's driver: the real submit, shutdown and
//! manager locking code and the real pool state machine, with the OS replaced
//! by simulated workers (`proc_exec::loom_model`). A simulated worker runs
//! each item through the real trampoline, or dies on `loom_model::die`; a
//! replacement (started after a death) answers `Ready` a round after it is
//! spawned, so work can reach it, and other workers can die, while it is
//! still starting. The simulated manager itself checks, after every action
//! and worker step, that no more worker processes exist than `max_workers`,
//! and that no item resolves twice.
#![cfg(exec_loom)]

use std::sync::Arc;

use future_core::{Future, ResultError};
use loom::thread;
use proc_exec::loom_model::{DEATH, die};
use proc_exec::{OnWorkerDeath, ProcessPoolExecutor, SubmitError, TaskError};

fn triple(n: u64) -> u64 {
    3 * n
}

fn pool(max_workers: usize, max_tasks_per_child: Option<usize>) -> Arc<ProcessPoolExecutor> {
    let mut builder = ProcessPoolExecutor::builder()
        .max_workers(max_workers)
        .max_in_flight_per_worker(std::num::NonZeroUsize::MIN);
    if let Some(n) = max_tasks_per_child {
        builder = builder.max_tasks_per_child(n);
    }
    Arc::new(builder.build().unwrap())
}

/// A pool under [`OnWorkerDeath::Replace`].
fn replacing_pool(max_workers: usize, max_in_flight: usize) -> Arc<ProcessPoolExecutor> {
    let builder = ProcessPoolExecutor::builder()
        .max_workers(max_workers)
        .max_in_flight_per_worker(std::num::NonZeroUsize::new(max_in_flight).unwrap())
        .on_worker_death(OnWorkerDeath::Replace);
    Arc::new(builder.build().unwrap())
}

/// The future ended (never pending) in one of the ways `allowed` accepts.
fn ended<R: std::fmt::Debug>(
    future: &Future<R, TaskError>,
    allowed: impl Fn(Result<&R, &TaskError>) -> bool,
) {
    assert!(future.done(), "a future was left pending");
    if future.cancelled() {
        return;
    }
    let outcome = match future.result(None) {
        Ok(value) => Ok(value),
        Err(ResultError::Failed(error)) => Err(error),
        Err(other) => panic!("a done future that is not cancelled: {other:?}"),
    };
    assert!(allowed(outcome), "unexpected outcome {outcome:?}");
}

fn broken_by_death(error: &TaskError) -> bool {
    matches!(error, TaskError::Broken(b) if b.exit_status() == Some(DEATH))
}

/// Under Replace: only the item its worker was running fails, naming how
/// the worker died.
fn died(error: &TaskError) -> bool {
    matches!(error, TaskError::Died { status, .. } if *status == DEATH)
}

/// The future finished (not cancelled) with this value.
fn finished_with(future: &Future<u64, TaskError>, value: u64) {
    assert!(!future.cancelled(), "a future was cancelled");
    ended(future, |outcome| outcome == Ok(&value));
}

/// A worker dies while a submit and a shutdown(cancel_futures) race: every
/// accepted future ends exactly once (finished, cancelled, or broken), a
/// refused submit says why, and the pool shuts down without deadlock.
#[test]
fn worker_death_against_submit_and_shutdown_with_cancel() {
    loom::model(|| {
        let p = pool(1, None);
        let doomed = p.submit(die, ()).unwrap();
        let submitter = {
            let p = Arc::clone(&p);
            thread::spawn(move || p.submit(triple, 2))
        };
        let stopper = {
            let p = Arc::clone(&p);
            thread::spawn(move || p.shutdown(false, true))
        };
        let second = submitter.join().unwrap();
        stopper.join().unwrap();
        p.shutdown(true, false);
        ended(
            &doomed,
            |outcome| matches!(outcome, Err(e) if broken_by_death(e)),
        );
        match second {
            Ok(future) => ended(&future, |outcome| match outcome {
                Ok(&value) => value == 6,
                Err(error) => broken_by_death(error),
            }),
            Err(SubmitError::Shutdown | SubmitError::Broken(_)) => {}
            Err(other) => panic!("{other:?}"),
        }
        // Nothing is accepted once shut down or broken.
        assert!(p.submit(triple, 1).is_err());
    });
}

/// A worker exits at max_tasks_per_child while work is queued and more is
/// submitted: a replacement starts, and every item runs.
#[test]
fn max_tasks_per_child_replacement_runs_queued_work() {
    loom::model(|| {
        let p = pool(1, Some(1));
        let first = p.submit(triple, 1).unwrap();
        let submitter = {
            let p = Arc::clone(&p);
            thread::spawn(move || p.submit(triple, 2).unwrap())
        };
        let second = submitter.join().unwrap();
        let third = p.submit(triple, 3).unwrap();
        p.shutdown(true, false);
        for (future, value) in [(first, 3), (second, 6), (third, 9)] {
            ended(&future, |outcome| outcome == Ok(&value));
            assert!(!future.cancelled());
        }
        assert_eq!(p.live_workers(), 0);
    });
}

/// Issue 5, the Replace policy: a worker dies running one item while the
/// next item waits in its pipe, so the replacement starts with work; while
/// it is starting (spawned, not yet ready), a submit (this thread) and a
/// shutdown(wait) race. Every future ends exactly once (the dead worker's
/// item with `Died`, the one behind it and the racing submit with their
/// values, or the submit is refused), at most `max_workers` (1) processes
/// are ever alive (checked in the manager after every step), and shutdown
/// joins everything (no live worker once it returns).
#[test]
fn replace_death_while_replacement_starts_against_submit_and_shutdown() {
    loom::model(|| {
        let p = replacing_pool(1, 2);
        let doomed = p.submit(die, ()).unwrap();
        // In the dying worker's pipe, behind `die`: it must be sent again.
        let behind = p.submit(triple, 1).unwrap();
        let stopper = {
            let p = Arc::clone(&p);
            thread::spawn(move || {
                p.shutdown(true, false);
                assert_eq!(p.live_workers(), 0, "shutdown returned with workers alive");
            })
        };
        let second = p.submit(triple, 2);
        stopper.join().unwrap();
        ended(&doomed, |outcome| matches!(outcome, Err(e) if died(e)));
        finished_with(&behind, 3);
        match second {
            Ok(future) => finished_with(&future, 6),
            Err(SubmitError::Shutdown) => {}
            Err(other) => panic!("{other:?}"),
        }
        assert!(p.submit(triple, 1).is_err());
    });
}

/// Issue 5, the Replace policy with two workers: one dies while the other is
/// busy and work is queued, so a replacement starts; while it is starting a
/// submit (this thread) and a shutdown(wait, cancel_futures) race. The
/// starting replacement counts as live: the submit must wait for a worker
/// rather than start a third process. Every future ends exactly once
/// (finished, cancelled while queued, or `Died`), at most 2 processes are
/// ever alive (checked in the manager after every step), and shutdown joins
/// everything (no live worker once it returns).
#[test]
fn replace_with_two_workers_against_submit_and_shutdown_with_cancel() {
    loom::model(|| {
        let p = replacing_pool(2, 1);
        let doomed = p.submit(die, ()).unwrap();
        let busy = p.submit(triple, 1).unwrap();
        // Both workers are full: this waits in the pool's queue.
        let queued = p.submit(triple, 3).unwrap();
        let stopper = {
            let p = Arc::clone(&p);
            thread::spawn(move || {
                p.shutdown(true, true);
                assert_eq!(p.live_workers(), 0, "shutdown returned with workers alive");
            })
        };
        let second = p.submit(triple, 2);
        stopper.join().unwrap();
        ended(&doomed, |outcome| matches!(outcome, Err(e) if died(e)));
        finished_with(&busy, 3);
        ended(&queued, |outcome| outcome == Ok(&9));
        match second {
            Ok(future) => ended(&future, |outcome| outcome == Ok(&6)),
            Err(SubmitError::Shutdown) => {}
            Err(other) => panic!("{other:?}"),
        }
        assert!(p.submit(triple, 1).is_err());
    });
}
