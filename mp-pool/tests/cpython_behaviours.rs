//! The behaviours CPython's `test_multiprocessing` checks of `Pool` that no
//! other file here checks, in this crate's terms; each under a watchdog, as
//! each could hang.

mod common;

use std::collections::BTreeSet;
use std::sync::mpsc;
use std::time::Duration;

use common::{Gate, Step, clean, panics_on_zero, pid, pool, square, step, watchdog};
use mp_pool::{Callbacks, NotReady, PoolError, StillRunning};
use proc_exec::TaskError;
use serde::{Deserialize, Serialize};

fn add(a: u64, b: u64) -> u64 {
    a + b
}

/// `test_pool_worker_lifetime_early_close` (bpo-10332): `close` while
/// short-lived workers still have work must not hang `join`, and every
/// result arrives.
#[test]
fn closing_while_short_lived_workers_have_work_loses_nothing() {
    watchdog("maxtasksperchild, close, join", || {
        let clean = clean();
        let pool = common::builder()
            .processes(3)
            .maxtasksperchild(1)
            .build()
            .unwrap();
        let jobs: Vec<_> = (0..6).map(|_| pool.apply_async(pid, ()).unwrap()).collect();
        pool.close();
        pool.join().unwrap();
        let pids: BTreeSet<u32> = jobs.iter().map(|job| *job.get(None).unwrap()).collect();
        assert_eq!(pids.len(), 6, "each task had a fresh worker");
        drop(pool);
        clean.check();
    });
}

/// `test_pool_worker_lifetime`: workers are replaced as they reach their
/// limit, every result arrives, and a `map` chunk counts as one task.
#[test]
fn workers_past_their_limit_are_replaced_and_every_result_arrives() {
    watchdog("maxtasksperchild lifetime", || {
        let clean = clean();
        let pool = common::builder()
            .processes(3)
            .maxtasksperchild(10)
            .build()
            .unwrap();
        let jobs: Vec<_> = (0..100u64)
            .map(|n| pool.apply_async(square, n).unwrap())
            .collect();
        for (n, job) in (0..100u64).zip(&jobs) {
            assert_eq!(job.get(None), Ok(&(n * n)));
        }
        let pids: BTreeSet<u32> = pool
            .map(pid, vec![(); 100], Some(1))
            .unwrap()
            .into_iter()
            .collect();
        assert!(pids.len() >= 10, "100 tasks at 10 per worker: {pids:?}");
        drop(pool);

        // Twenty items in chunks of five on one worker living one task:
        // four chunks, four workers.
        let pool = common::builder()
            .processes(1)
            .maxtasksperchild(1)
            .build()
            .unwrap();
        let pids: BTreeSet<u32> = pool
            .map(pid, vec![(); 20], Some(5))
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(pids.len(), 4, "{pids:?}");
        drop(pool);
        clean.check();
    });
}

/// `test_empty_iterable`: every form over an empty input ends at once with
/// nothing.
#[test]
fn an_empty_input_gives_an_empty_result_in_every_form() {
    watchdog("empty inputs", || {
        let clean = clean();
        let pool = pool(2);
        assert_eq!(pool.map(square, Vec::new(), None), Ok(Vec::new()));
        assert_eq!(pool.map(square, Vec::new(), Some(1)), Ok(Vec::new()));
        assert_eq!(pool.starmap(add, Vec::new(), None), Ok(Vec::new()));
        let job = pool.map_async(square, Vec::new(), None).unwrap();
        assert_eq!(job.get(None), Ok(&Vec::new()));
        assert_eq!(job.successful(), Ok(true));
        assert_eq!(pool.imap(square, Vec::new(), 1).unwrap().next(), None);
        assert_eq!(
            pool.imap_unordered(square, Vec::new(), 3).unwrap().next(),
            None
        );
        // The callbacks of an empty map run too, once, with the empty list.
        let (tx, rx) = mpsc::channel();
        let callbacks =
            Callbacks::new().on_success(move |list: &Vec<u64>| tx.send(list.len()).unwrap());
        let job = pool
            .map_async_with(square, Vec::new(), None, callbacks)
            .unwrap();
        assert_eq!(job.get(None), Ok(&Vec::new()));
        assert_eq!(rx.try_recv(), Ok(0));
        drop(pool);
        assert!(rx.recv().is_err(), "once");
        clean.check();
    });
}

/// `test_imap`, `test_imap_unordered`: with chunks, every result once; and
/// after the end, the end again (Python raises `StopIteration` again).
#[test]
fn imap_with_chunks_yields_every_result_once_then_stays_ended() {
    watchdog("imap with chunks", || {
        let clean = clean();
        let pool = pool(2);
        let mut ordered = pool.imap(square, 0..1000u64, 100).unwrap();
        let got: Vec<u64> = ordered.by_ref().map(Result::unwrap).collect();
        assert_eq!(got, (0..1000u64).map(square).collect::<Vec<_>>());
        assert_eq!(ordered.next(), None);
        assert_eq!(ordered.next_timeout(Duration::ZERO), None);

        let mut unordered = pool.imap_unordered(square, 0..1000u64, 53).unwrap();
        let mut got: Vec<u64> = unordered.by_ref().map(Result::unwrap).collect();
        got.sort_unstable();
        assert_eq!(got, (0..1000u64).map(square).collect::<Vec<_>>());
        assert_eq!(unordered.next(), None);
        drop((ordered, unordered));
        drop(pool);
        clean.check();
    });
}

/// `test_map_async_callbacks` for a failure: the error callback runs once
/// with the map's error, the success callback never.
#[test]
fn a_failed_map_calls_its_error_callback_once() {
    watchdog("map error callback", || {
        let clean = clean();
        let pool = pool(2);
        let (tx, rx) = mpsc::channel();
        let callbacks = Callbacks::new()
            .on_success(|_: &Vec<u64>| panic!("the success callback ran for a failure"))
            .on_error(move |error| tx.send(error.clone()).unwrap());
        let job = pool
            .map_async_with(panics_on_zero, [3, 0, 4, 0, 5], Some(1), callbacks)
            .unwrap();
        let error = job.get(None).unwrap_err();
        assert!(
            matches!(error, PoolError::Task(TaskError::Panicked(_))),
            "{error:?}"
        );
        assert_eq!(job.successful(), Ok(false));
        assert_eq!(rx.try_recv(), Ok(error));
        drop(pool);
        assert!(rx.recv().is_err(), "once");
        clean.check();
    });
}

/// `test_async_timeout` and `successful` before ready, for a job the result
/// handler finishes (a map, or one with callbacks): the same rules as a
/// plain `apply_async`.
#[test]
fn a_gathered_job_times_out_and_is_not_ready_until_every_chunk_ends() {
    watchdog("gathered job timeouts", || {
        let clean = clean();
        let pool = pool(2);
        let gate = Gate::new("gathered");
        let job = pool
            .map_async(step, vec![Step::Value(1), gate.step()], Some(1))
            .unwrap();
        gate.wait_started();
        assert!(!job.ready());
        assert_eq!(job.successful(), Err(NotReady));
        assert_eq!(
            job.get(Some(Duration::from_millis(10))),
            Err(PoolError::Timeout)
        );
        assert!(!job.wait(Some(Duration::ZERO)));
        gate.open();
        assert!(job.wait(None));
        assert_eq!(job.successful(), Ok(true));
        assert_eq!(job.get(Some(Duration::ZERO)), Ok(&vec![1, 2]));
        drop(pool);
        drop(gate);
        clean.check();
    });
}

/// A task that ends its worker with a clean exit status (Python's
/// `os._exit(0)`, or a `SystemExit` Pool's worker does not catch, PR
/// #101081): the job fails naming the worker, which is replaced; it does
/// not pass for a worker that retired.
#[test]
fn a_task_that_exits_its_worker_cleanly_fails_and_the_worker_is_replaced() {
    fn exit_cleanly(_: ()) -> u64 {
        // SAFETY: `_exit` ends this worker process at once, which is the
        // point; nothing of the parent's is touched.
        unsafe { libc::_exit(0) }
    }
    watchdog("a task exiting with 0", || {
        let clean = clean();
        let pool = pool(1);
        let first = pool.apply(pid, ()).unwrap();
        match pool.apply(exit_cleanly, ()) {
            Err(PoolError::Task(TaskError::Died { pid, status })) => {
                assert_eq!(pid, first);
                assert_eq!(status.code(), Some(0));
            }
            other => panic!("{other:?}"),
        }
        let jobs: Vec<_> = (0..10u64)
            .map(|n| pool.apply_async(square, n).unwrap())
            .collect();
        for (n, job) in (0..10u64).zip(&jobs) {
            assert_eq!(job.get(None), Ok(&(n * n)));
        }
        drop(pool);
        clean.check();
    });
}

/// Refuses to be serialized: a result that cannot cross back.
#[derive(Debug, Deserialize)]
struct Unsendable;

impl Serialize for Unsendable {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("this result refuses to be sent"))
    }
}

fn unsendable(_: ()) -> Unsendable {
    Unsendable
}

/// `test_unpickleable_result`: a result that cannot be sent back fails its
/// own job (CPython's `MaybeEncodingError`); the worker and the pool go on.
#[test]
fn a_result_that_cannot_be_sent_fails_its_own_job() {
    watchdog("unsendable result", || {
        let clean = clean();
        let pool = pool(1);
        let first = pool.apply(pid, ()).unwrap();
        let job = pool.apply_async(unsendable, ()).unwrap();
        assert!(
            matches!(
                job.get(None),
                Err(PoolError::Task(TaskError::ResultEncode(_)))
            ),
            "{job:?}"
        );
        assert_eq!(job.successful(), Ok(false));
        assert!(matches!(
            pool.map(unsendable, vec![(); 3], None),
            Err(PoolError::Task(TaskError::ResultEncode(_)))
        ));
        assert_eq!(pool.apply(pid, ()), Ok(first), "the worker lived");
        drop(pool);
        clean.check();
    });
}

/// The state rules: every call refused after `close` or `terminate`,
/// `join` only after one of them, and every order of `close`, `terminate`
/// and `join` returning (Python: `ValueError("Pool not running")`,
/// `ValueError("Pool is still running")`).
#[test]
fn close_terminate_and_join_in_any_order_return_and_refuse_new_work() {
    watchdog("lifecycle orders", || {
        let clean = clean();
        // A pool that never ran anything: close and join.
        let idle = pool(2);
        assert_eq!(idle.join(), Err(StillRunning));
        idle.close();
        idle.join().unwrap();
        idle.terminate();
        idle.join().unwrap();
        drop(idle);

        // Terminate twice, then close, then join twice.
        let stopped = pool(2);
        assert_eq!(stopped.apply(square, 2), Ok(4));
        stopped.terminate();
        stopped.terminate();
        stopped.close();
        stopped.join().unwrap();
        stopped.join().unwrap();
        assert_eq!(stopped.apply(square, 1), Err(PoolError::NotRunning));
        assert_eq!(
            stopped.apply_async(square, 1).err(),
            Some(PoolError::NotRunning)
        );
        assert_eq!(
            stopped.apply_async_with(square, 1, Callbacks::new()).err(),
            Some(PoolError::NotRunning)
        );
        assert_eq!(stopped.map(square, [1], None), Err(PoolError::NotRunning));
        assert_eq!(
            stopped.starmap(add, [(1, 2)], None),
            Err(PoolError::NotRunning)
        );
        assert!(matches!(
            stopped.starmap_async(add, [(1, 2)], None),
            Err(PoolError::NotRunning)
        ));
        assert!(matches!(
            stopped.imap_unordered(square, [1], 1),
            Err(PoolError::NotRunning)
        ));
        assert!(matches!(
            stopped.try_imap(square, [Ok::<u64, String>(1)], 1),
            Err(PoolError::NotRunning)
        ));
        assert_eq!(PoolError::NotRunning.to_string(), "Pool not running");
        assert_eq!(StillRunning.to_string(), "Pool is still running");
        drop(stopped);

        // Close, join, then terminate: nothing left to stop.
        let pool = pool(1);
        let job = pool.apply_async(square, 5).unwrap();
        pool.close();
        pool.join().unwrap();
        pool.terminate();
        assert_eq!(job.get(Some(Duration::ZERO)), Ok(&25));
        drop(pool);
        clean.check();
    });
}

/// A job ended by `terminate` is ready and not successful (CPython's never
/// becomes ready).
#[test]
fn a_job_ended_by_terminate_is_ready_and_not_successful() {
    watchdog("terminated job state", || {
        let clean = clean();
        let pool = pool(1);
        let gate = Gate::new("terminated-state");
        let running = pool.apply_async(step, gate.step()).unwrap();
        gate.wait_started();
        let queued = pool.map_async(square, 0..10u64, Some(2)).unwrap();
        pool.terminate();
        for ready in [running.ready(), queued.ready()] {
            assert!(ready);
        }
        assert!(running.wait(Some(Duration::ZERO)));
        assert_eq!(running.successful(), Ok(false));
        assert_eq!(queued.successful(), Ok(false));
        drop(pool);
        drop(gate);
        clean.check();
    });
}

/// An `imap` outlives its pool: dropping the pool (terminate) while an
/// `imap` has work in flight ends the iteration with errors, never a hang.
#[test]
fn an_imap_whose_pool_is_dropped_ends_instead_of_hanging() {
    watchdog("imap after its pool dropped", || {
        let clean = clean();
        let pool = pool(1);
        let gate = Gate::new("imap-dropped");
        let mut out = pool
            .imap(step, [Step::Value(1), gate.step(), Step::Value(3)], 1)
            .unwrap();
        assert_eq!(out.next(), Some(Ok(1)));
        gate.wait_started();
        drop(pool);
        let rest: Vec<_> = out.by_ref().collect();
        assert!(!rest.is_empty(), "the blocked item has an outcome");
        assert!(
            rest.iter()
                .all(|r| matches!(r, Err(PoolError::Terminated | PoolError::NotRunning))),
            "{rest:?}"
        );
        assert_eq!(out.next(), None);
        drop(out);
        drop(gate);
        clean.check();
    });
}
