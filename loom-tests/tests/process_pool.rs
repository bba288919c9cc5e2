//! Loom models of the process pool's driver: the real submit, shutdown and
//! manager locking code and the real pool state machine, with the OS replaced
//! by simulated workers (`proc_exec::loom_model`). A simulated worker runs
//! each item through the real trampoline, or dies on `loom_model::die`.
#![cfg(exec_loom)]

use std::sync::Arc;

use future_core::{Future, ResultError};
use loom::thread;
use proc_exec::loom_model::{DEATH, die};
use proc_exec::{ProcessPoolExecutor, SubmitError, TaskError};

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
