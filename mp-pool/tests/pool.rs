//! `Pool` with real processes: apply, map, starmap, the chunksize rule,
//! lifecycle (close, join, terminate, drop), worker deaths, initializers.

mod common;

use std::collections::BTreeSet;

use common::{Gate, NOT_YET, Step, clean, panics_on_zero, pid, pool, square, step};
use mp_pool::{BuildError, NotReady, Pool, PoolError, StillRunning};
use proc_exec::{SubmitError, TaskError};

#[test]
fn apply_and_apply_async_return_results() {
    let clean = clean();
    let pool = pool(2);
    assert_eq!(pool.apply(square, 7), Ok(49));
    let jobs: Vec<_> = (0..20u64)
        .map(|n| pool.apply_async(square, n).unwrap())
        .collect();
    for (n, job) in (0..20u64).zip(&jobs) {
        assert_eq!(job.get(common::GUARD), Ok(&(n * n)));
        assert!(job.ready());
        assert_eq!(job.successful(), Ok(true));
    }
    drop(jobs);
    drop(pool);
    clean.check();
}

fn counter(start: u64) -> std::cell::Cell<u64> {
    std::cell::Cell::new(start)
}

#[test]
fn apply_and_imap_need_only_a_send_result() {
    let clean = clean();
    let pool = pool(1);
    let cell = pool.apply(counter, 41).unwrap();
    cell.set(cell.get() + 1);
    assert_eq!(cell.get(), 42);
    let job = pool.apply_async(counter, 7).unwrap();
    assert_eq!(job.get(common::GUARD).map(std::cell::Cell::get), Ok(7));
    let cells: Vec<u64> = pool
        .imap(counter, 1..4u64, 1)
        .unwrap()
        .map(|c| c.unwrap().get())
        .collect();
    assert_eq!(cells, [1, 2, 3]);
    drop(job);
    drop(pool);
    clean.check();
}

#[test]
fn successful_is_an_error_before_ready_and_get_times_out() {
    let clean = clean();
    let pool = pool(1);
    let gate = Gate::new("not-ready");
    let job = pool.apply_async(step, gate.step()).unwrap();
    gate.wait_started();
    assert!(!job.ready());
    assert_eq!(job.successful(), Err(NotReady));
    assert_eq!(
        job.get(Some(std::time::Duration::ZERO)),
        Err(PoolError::Timeout)
    );
    assert!(!job.wait(Some(std::time::Duration::ZERO)));
    gate.open();
    assert!(job.wait(common::GUARD));
    assert_eq!(job.into_result(), Ok(2));
    drop(pool);
    drop(gate);
    clean.check();
}

#[test]
fn a_failing_task_is_its_jobs_error() {
    let clean = clean();
    let pool = pool(1);
    let job = pool.apply_async(panics_on_zero, 0).unwrap();
    match job.get(common::GUARD) {
        Err(PoolError::Task(TaskError::Panicked(message))) => {
            assert!(message.contains("zero is not allowed"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(job.successful(), Ok(false));
    // The worker and the pool go on.
    assert_eq!(pool.apply(square, 3), Ok(9));
    drop(pool);
    clean.check();
}

#[test]
fn the_default_chunksize_follows_python() {
    let clean = clean();
    let pool = pool(2);
    // 8 chunks for 2 processes: results in order whatever the chunking.
    let out = pool.map(square, 0..1001u64, None).unwrap();
    assert_eq!(out, (0..1001u64).map(square).collect::<Vec<_>>());
    for chunksize in [1, 7, 2000] {
        let out = pool.map(square, 0..100u64, Some(chunksize)).unwrap();
        assert_eq!(out, (0..100u64).map(square).collect::<Vec<_>>());
    }
    // No work, an empty list at once.
    assert_eq!(pool.map(square, Vec::new(), None), Ok(Vec::new()));
    // Zero is an error, not Python's silent `[None] * n`.
    assert_eq!(
        pool.map(square, [1, 2], Some(0)),
        Err(PoolError::ZeroChunksize)
    );
    assert!(matches!(
        pool.imap(square, [1, 2], 0),
        Err(PoolError::ZeroChunksize)
    ));
    drop(pool);
    clean.check();
}

#[test]
fn map_waits_for_every_chunk_and_reports_the_first_failing_item() {
    let clean = clean();
    let pool = pool(2);
    let gate = Gate::new("no-fail-fast");
    // Two chunks: a failure, and a task that blocks.
    let items = vec![Step::Value(1), Step::Panic, gate.step()];
    let job = pool.map_async(step, items, Some(2)).unwrap();
    gate.wait_started();
    // No fail-fast: the job waits for the blocked chunk (CPython's
    // test_map_no_failfast).
    assert!(!job.wait(Some(NOT_YET)));
    gate.open();
    match job.get(common::GUARD) {
        Err(PoolError::Task(TaskError::Panicked(message))) => {
            assert!(message.contains("on purpose"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // The first failing item in input order, not in arrival order.
    let items = [5, 0, 6, 0, 7];
    for _ in 0..3 {
        assert!(matches!(
            pool.map(panics_on_zero, items, Some(1)),
            Err(PoolError::Task(TaskError::Panicked(_)))
        ));
    }
    drop(pool);
    drop(gate);
    clean.check();
}

fn add(a: u64, b: u64) -> u64 {
    a + b
}

#[test]
fn starmap_spreads_each_pair() {
    let clean = clean();
    let pool = pool(2);
    let pairs: Vec<(u64, u64)> = (0..50).map(|n| (n, 100 * n)).collect();
    let sums = pool.starmap(add, pairs.clone(), None).unwrap();
    assert_eq!(sums, pairs.iter().map(|(a, b)| a + b).collect::<Vec<_>>());
    let job = pool.starmap_async(add, [(1, 2), (3, 4)], Some(1)).unwrap();
    assert_eq!(job.into_result(), Ok(vec![3, 7]));
    drop(pool);
    clean.check();
}

/// Fails to serialize.
#[derive(Debug, serde::Deserialize)]
struct Unserializable;

impl serde::Serialize for Unserializable {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("this value does not cross"))
    }
}

#[test]
fn an_argument_that_does_not_serialize_is_refused_by_the_call() {
    let clean = clean();
    let pool = pool(1);
    let refused = pool.apply_async(|_: Unserializable| 1u8, Unserializable);
    assert!(matches!(
        refused,
        Err(PoolError::Submit(SubmitError::ArgEncode(_)))
    ));
    let refused = pool.map_async(|_: Unserializable| 1u8, [Unserializable], None);
    assert!(matches!(
        refused,
        Err(PoolError::Submit(SubmitError::ArgEncode(_)))
    ));
    assert_eq!(pool.apply(square, 2), Ok(4));
    drop(pool);
    clean.check();
}

#[test]
fn a_worker_that_dies_fails_its_task_and_is_replaced() {
    let clean = clean();
    let pool = pool(1);
    let first = pool.apply(pid, ()).unwrap();
    // CPython's result would never arrive (bpo-22393).
    match pool.apply(step, Step::KillSelf) {
        Err(PoolError::Task(TaskError::Died { pid, status })) => {
            assert_eq!(pid, first);
            assert_eq!(status.signal(), Some(9));
        }
        other => panic!("{other:?}"),
    }
    let second = pool.apply(pid, ()).unwrap();
    assert_ne!(first, second, "a new worker replaced the dead one");
    assert_eq!(pool.map(square, 0..10u64, None).unwrap().len(), 10);
    drop(pool);
    clean.check();
}

#[test]
fn maxtasksperchild_gives_each_task_a_fresh_worker() {
    let clean = clean();
    let pool = common::builder()
        .processes(1)
        .maxtasksperchild(1)
        .build()
        .unwrap();
    let pids: BTreeSet<u32> = (0..10).map(|_| pool.apply(pid, ()).unwrap()).collect();
    assert_eq!(pids.len(), 10);
    drop(pool);
    clean.check();
}

fn refuse_to_start(reason: String) -> Result<(), String> {
    Err(reason)
}

#[test]
fn an_initializer_that_keeps_failing_breaks_the_pool_instead_of_respawning() {
    let clean = clean();
    let pool = common::builder()
        .processes(2)
        .try_initializer(refuse_to_start, "no database".to_owned())
        .build()
        .unwrap();
    // CPython respawns failing workers forever and the task hangs
    // (gh-87472).
    match pool.apply(square, 2) {
        Err(PoolError::Task(TaskError::Broken(broken))) => {
            assert_eq!(broken.initializer_error(), Some("no database"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        pool.apply_async(square, 3),
        Err(PoolError::Submit(SubmitError::Broken(_)))
    ));
    drop(pool);
    clean.check();
}

fn remember(value: u64) {
    INIT_VALUE.with(|v| v.set(value));
}

std::thread_local! {
    static INIT_VALUE: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

fn initialized(_: ()) -> u64 {
    INIT_VALUE.with(std::cell::Cell::get)
}

#[test]
fn the_initializer_runs_in_each_worker_first() {
    let clean = clean();
    let pool = common::builder()
        .processes(2)
        .initializer(remember, 42)
        .build()
        .unwrap();
    let seen = pool.map(initialized, vec![(); 20], Some(1)).unwrap();
    assert!(seen.iter().all(|&v| v == 42), "{seen:?}");
    drop(pool);
    clean.check();
}

#[test]
fn building_refuses_zeros() {
    assert!(matches!(
        Pool::builder().processes(0).build(),
        Err(BuildError::ZeroProcesses)
    ));
    assert!(matches!(
        Pool::builder().maxtasksperchild(0).build(),
        Err(BuildError::ZeroMaxTasksPerChild)
    ));
    assert_eq!(
        BuildError::ZeroProcesses.to_string(),
        "Number of processes must be at least 1"
    );
}

#[test]
fn close_refuses_new_work_and_join_waits_for_the_rest() {
    let clean = clean();
    let pool = pool(2);
    assert_eq!(pool.join(), Err(StillRunning));
    let jobs: Vec<_> = (0..30u64)
        .map(|n| pool.apply_async(square, n).unwrap())
        .collect();
    let mapped = pool.map_async(square, 0..100u64, Some(3)).unwrap();
    pool.close();
    pool.close();
    assert_eq!(
        pool.apply_async(square, 1).err(),
        Some(PoolError::NotRunning)
    );
    assert!(matches!(
        pool.map(square, [1], None),
        Err(PoolError::NotRunning)
    ));
    assert_eq!(pool.join(), Ok(()));
    // Everything submitted before close ran, and was ready by join's end.
    for (n, job) in (0..30u64).zip(&jobs) {
        assert!(job.ready());
        assert_eq!(job.get(None), Ok(&(n * n)));
    }
    assert_eq!(mapped.get(None).map(Vec::len), Ok(100));
    assert!(pool.worker_pids().is_empty());
    assert_eq!(pool.join(), Ok(()));
    drop(pool);
    clean.check();
}

#[test]
fn terminate_fails_unfinished_jobs_instead_of_leaving_them_pending() {
    let clean = clean();
    let pool = pool(1);
    let gate = Gate::new("terminate");
    let running = pool.apply_async(step, gate.step()).unwrap();
    gate.wait_started();
    let queued: Vec<_> = (0..10u64)
        .map(|n| pool.apply_async(square, n).unwrap())
        .collect();
    pool.terminate();
    // CPython's unfinished results never become ready.
    assert_eq!(running.get(None), Err(PoolError::Terminated));
    for job in &queued {
        assert_eq!(
            job.get(Some(std::time::Duration::ZERO)),
            Err(PoolError::Terminated)
        );
    }
    assert_eq!(
        pool.apply_async(square, 1).err(),
        Some(PoolError::NotRunning)
    );
    assert_eq!(pool.join(), Ok(()));
    drop(pool);
    drop(gate);
    clean.check();
}

#[test]
fn dropping_the_pool_terminates_it() {
    let clean = clean();
    let pool = pool(1);
    let gate = Gate::new("drop");
    let running = pool.apply_async(step, gate.step()).unwrap();
    gate.wait_started();
    let queued = pool.map_async(square, 0..10u64, Some(1)).unwrap();
    drop(pool);
    assert_eq!(
        running.get(Some(std::time::Duration::ZERO)),
        Err(PoolError::Terminated)
    );
    assert_eq!(queued.get(None), Err(PoolError::Terminated));
    drop(gate);
    clean.check();
}
