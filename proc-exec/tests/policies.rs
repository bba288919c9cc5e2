//! Worker-death policies, task timeouts and `cancel_running`, with real
//! processes. Every test ends with no child left and no fd leaked.

mod common;

use std::num::NonZeroUsize;
use std::time::Duration;

use common::{Fifo, GUARD, builder, clean, exec_methods, methods};
use future_core::ResultError;
use proc_exec::{
    ExitStatus, OnWorkerDeath, ProcessPoolExecutor, StartMethod, TaskError, TaskOptions,
};

fn replacing(method: StartMethod, workers: usize, in_flight: usize) -> ProcessPoolExecutor {
    ProcessPoolExecutor::builder()
        .max_workers(workers)
        .start_method(method)
        .max_in_flight_per_worker(NonZeroUsize::new(in_flight).unwrap())
        .on_worker_death(OnWorkerDeath::Replace)
        .build()
        .unwrap()
}

fn failure<R: std::fmt::Debug>(future: future_core::Future<R, TaskError>) -> TaskError {
    match future.into_result() {
        Err(ResultError::Failed(error)) => error,
        other => panic!("expected a task error, got {other:?}"),
    }
}

fn square(n: u64) -> u64 {
    n * n
}

fn pid(_: ()) -> u32 {
    std::process::id()
}

fn kill_self(_: ()) -> u64 {
    rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL)
        .unwrap();
    unreachable!("SIGKILL cannot be caught");
}

fn abort(_: ()) -> u64 {
    std::process::abort();
}

/// Never returns (sleeping is this task's work, not a synchronisation).
fn forever(_: ()) -> u64 {
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// Tells the test it started (through `started`), then waits on `gate`.
fn start_then_wait(paths: (String, String)) -> String {
    std::fs::write(&paths.0, std::process::id().to_string()).unwrap();
    std::fs::read_to_string(paths.1).unwrap()
}

#[test]
fn replace_fails_only_the_task_whose_worker_died() {
    for method in methods() {
        let clean = clean();
        let pool = replacing(method, 2, 1);
        let killed = pool.submit(kill_self, ()).unwrap();
        let killed = failure(killed);
        let TaskError::Died { pid, status } = killed else {
            panic!("{method:?}: {killed:?}");
        };
        assert_ne!(pid, 0);
        assert_eq!(status.signal(), Some(9), "{method:?}");
        assert!(killed.to_string().contains(&pid.to_string()), "{killed}");
        let aborted = failure(pool.submit(abort, ()).unwrap());
        assert!(
            matches!(
                aborted,
                TaskError::Died {
                    status: ExitStatus::Signaled { signal: 6, .. },
                    ..
                }
            ),
            "{method:?}: {aborted:?}"
        );
        // The pool goes on.
        let squares: Vec<u64> = (0..20u64)
            .map(|n| pool.submit(square, n).unwrap())
            .map(|f| f.into_result().unwrap())
            .collect();
        assert_eq!(squares, (0..20u64).map(|n| n * n).collect::<Vec<_>>());
        assert!(pool.live_workers() <= 2);
        drop(pool);
        clean.check();
    }
}

#[test]
fn tasks_queued_behind_a_crash_on_its_worker_still_run() {
    for method in methods() {
        let clean = clean();
        // One worker, four items in its pipe: 1, the crash, 2, 3.
        let pool = replacing(method, 1, 4);
        let first = pool.submit(square, 1).unwrap();
        let crash = pool.submit(kill_self, ()).unwrap();
        let rest: Vec<_> = [2u64, 3].map(|n| pool.submit(square, n).unwrap()).into();
        assert_eq!(first.result(GUARD), Ok(&1));
        assert!(matches!(failure(crash), TaskError::Died { .. }));
        let rest: Vec<u64> = rest.into_iter().map(|f| f.into_result().unwrap()).collect();
        assert_eq!(rest, [4, 9], "{method:?}");
        drop(pool);
        clean.check();
    }
}

#[test]
fn under_break_pool_the_default_a_crash_still_breaks_the_pool() {
    let clean = clean();
    let pool = builder().max_workers(1).build().unwrap();
    assert!(matches!(
        failure(pool.submit(kill_self, ()).unwrap()),
        TaskError::Broken(_)
    ));
    assert!(pool.submit(square, 2).is_err());
    drop(pool);
    clean.check();
}

#[test]
fn a_task_past_its_timeout_is_killed_and_its_worker_replaced() {
    for method in methods() {
        let clean = clean();
        // The default policy: a kill the pool asked for does not break it.
        let pool = ProcessPoolExecutor::builder()
            .max_workers(1)
            .start_method(method)
            .build()
            .unwrap();
        let before = pool.submit(pid, ()).unwrap().into_result().unwrap();
        let timeout = Duration::from_millis(100);
        let options = TaskOptions::new().timeout(timeout);
        let stuck = pool.submit_with(forever, (), options).unwrap();
        let queued = pool.submit(square, 7).unwrap();
        let error = failure(stuck);
        assert_eq!(
            error,
            TaskError::TimedOut {
                pid: Some(before),
                timeout
            },
            "{method:?}"
        );
        assert!(error.to_string().contains("timeout"), "{error}");
        // Queued behind it on the same worker, it runs on the replacement.
        assert_eq!(queued.into_result(), Ok(49));
        let after = pool.submit(pid, ()).unwrap().into_result().unwrap();
        assert_ne!(before, after);
        // A task that ends in time is not touched.
        let quick = pool.submit_with(square, 3, options).unwrap();
        assert_eq!(quick.into_result(), Ok(9));
        drop(pool);
        clean.check();
    }
}

#[test]
fn cancel_running_kills_only_the_worker_running_it() {
    let clean = clean();
    let pool = builder()
        .max_workers(2)
        .max_in_flight_per_worker(NonZeroUsize::MIN)
        .build()
        .unwrap();
    let started = Fifo::new("cancel-running-started");
    let gate = Fifo::new("cancel-running-gate");
    let running = pool
        .submit(start_then_wait, (started.path.clone(), gate.path.clone()))
        .unwrap();
    let running_pid: u32 = started.read_all().parse().unwrap();
    // As in Python, `cancel` cannot stop a running task...
    assert!(!running.cancel());
    // ...`cancel_running` can.
    assert!(pool.cancel_running(&running));
    assert_eq!(
        running.exception(GUARD),
        Ok(Some(&TaskError::Stopped {
            pid: Some(running_pid)
        }))
    );
    // A finished future: nothing to stop.
    let done = pool.submit(square, 5).unwrap();
    assert_eq!(done.result(GUARD), Ok(&25));
    assert!(!pool.cancel_running(&done));
    let pids: Vec<u32> = (0..4)
        .map(|_| pool.submit(pid, ()).unwrap().into_result().unwrap())
        .collect();
    assert!(!pids.contains(&running_pid));
    drop(pool);
    drop((started, gate));
    clean.check();
}

/// Allocates and touches `mib` MiB; returns how many bytes it touched.
fn allocate(mib: usize) -> usize {
    let mut block = vec![0u8; mib << 20];
    // Touch every page so the allocation is real.
    for page in block.chunks_mut(4096) {
        page[0] = 1;
    }
    block.iter().map(|&b| usize::from(b)).sum::<usize>() * 4096
}

fn own_nice(_: ()) -> i32 {
    rustix::process::getpriority_process(None).unwrap()
}

#[test]
fn a_memory_limit_stops_a_task_allocating_a_gibibyte() {
    // Not `Fork`: its workers inherit this test binary's mappings, which
    // may not leave room under the limit for the first allocation.
    for method in exec_methods() {
        memory_limit(method);
    }
}

fn memory_limit(method: StartMethod) {
    let clean = clean();
    let pool = ProcessPoolExecutor::builder()
        .max_workers(1)
        .start_method(method)
        .on_worker_death(OnWorkerDeath::Replace)
        .memory_limit(256 << 20)
        .niceness(3)
        .build()
        .unwrap();
    // Under the limit: fine.
    assert_eq!(
        pool.submit(allocate, 16).unwrap().into_result(),
        Ok(16 << 20)
    );
    // Over it: the allocation fails, the task aborts, only it fails.
    let error = failure(pool.submit(allocate, 1024).unwrap());
    assert!(
        matches!(
            error,
            TaskError::Died {
                status: ExitStatus::Signaled { signal: 6, .. },
                ..
            }
        ),
        "{method:?}: {error:?}"
    );
    assert_eq!(pool.submit(own_nice, ()).unwrap().into_result(), Ok(3));
    drop(pool);
    clean.check();
}
