//! Loom models of the thread pool: shutdown against submit, worker reuse
//! against thread start, initializer failure against submit. Each drives the
//! real `thread-exec` code; its workers are loom threads.
#![cfg(exec_loom)]

use future_core::ResultError;
use loom::thread;
use std::sync::Arc;
use thread_exec::{SubmitErrorKind, TaskError, ThreadPoolExecutor};

fn pool(max_workers: usize) -> Arc<ThreadPoolExecutor> {
    Arc::new(
        ThreadPoolExecutor::builder()
            .max_workers(max_workers)
            .build()
            .unwrap(),
    )
}

/// shutdown(cancel_futures) races a submit and a worker taking work: every
/// accepted future ends finished or cancelled (never pending), and nothing is
/// accepted after shutdown.
#[test]
fn shutdown_with_cancel_against_submit_and_a_running_worker() {
    loom::model(|| {
        let p = pool(1);
        let first = p.submit(|| 10).unwrap();
        let submitter = {
            let p = Arc::clone(&p);
            thread::spawn(move || p.submit(|| 20).ok())
        };
        let stopper = {
            let p = Arc::clone(&p);
            thread::spawn(move || p.shutdown(false, true))
        };
        let second = submitter.join().unwrap();
        stopper.join().unwrap();
        p.shutdown(true, false);
        for (future, value) in [(Some(first), 10), (second, 20)] {
            if let Some(future) = future {
                match future.into_result() {
                    Ok(v) => assert_eq!(v, value),
                    Err(ResultError::Cancelled) => {}
                    Err(other) => panic!("unexpected outcome {other:?}"),
                }
            }
        }
        assert_eq!(
            p.submit(|| 0).unwrap_err().kind(),
            &SubmitErrorKind::Shutdown
        );
        assert_eq!(p.num_threads(), 0);
    });
}

/// A worker finishing a task while another thread submits: the submit either
/// reuses it or (when allowed) starts a thread, never more than max_workers,
/// and the new task always runs (a stranded task would be a loom deadlock).
#[test]
fn a_finishing_worker_against_a_submit() {
    loom::model(|| {
        let p = pool(1);
        let first = p.submit(|| 1).unwrap();
        let submitter = {
            let p = Arc::clone(&p);
            thread::spawn(move || p.submit(|| 2).unwrap().into_result())
        };
        assert_eq!(first.into_result(), Ok(1));
        assert_eq!(submitter.join().unwrap(), Ok(2));
        assert!(p.num_threads() <= 1);
    });
}

/// An initializer that fails, against two submits: every accepted future
/// fails with the broken-pool error, refusals say broken, and broken is sticky.
#[test]
fn initializer_failure_against_submits() {
    loom::model(|| {
        let p = Arc::new(
            ThreadPoolExecutor::builder()
                .max_workers(1)
                .initializer(|| Err::<(), _>("init failed"))
                .build()
                .unwrap(),
        );
        let submit = |p: Arc<ThreadPoolExecutor>| {
            thread::spawn(move || match p.submit(|| 0) {
                Ok(f) => match f.into_result() {
                    Err(ResultError::Failed(TaskError::Broken(b))) => b.cause().to_string(),
                    other => panic!("an accepted task must fail as broken: {other:?}"),
                },
                Err(e) => match e.kind() {
                    SubmitErrorKind::Broken(b) => b.cause().to_string(),
                    other => panic!("a refusal must say broken: {other:?}"),
                },
            })
        };
        let a = submit(Arc::clone(&p));
        let b = submit(Arc::clone(&p));
        assert_eq!(a.join().unwrap(), "init failed");
        assert_eq!(b.join().unwrap(), "init failed");
        assert!(matches!(
            p.submit(|| 0).unwrap_err().kind(),
            SubmitErrorKind::Broken(_)
        ));
    });
}
