//! The process pool with real processes. Every test ends by checking that
//! no child process and no file descriptor is left behind.

mod common;

use std::collections::BTreeSet;
use std::num::NonZeroUsize;

use common::{Fifo, GUARD, builder, chosen_method, clean, methods};
use future_core::ResultError;
use proc_exec::{BuildError, ExitStatus, ProcessPoolExecutor, StartMethod, SubmitError, TaskError};
use serde::{Deserialize, Serialize};

fn pool(method: StartMethod, workers: usize) -> ProcessPoolExecutor {
    ProcessPoolExecutor::builder()
        .max_workers(workers)
        .start_method(method)
        .build()
        .unwrap()
}

fn failure<R: std::fmt::Debug, E: std::fmt::Debug>(
    future: future_core::Future<R, TaskError<E>>,
) -> TaskError<E> {
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

#[test]
fn results_come_back_from_worker_processes() {
    for method in methods() {
        let clean = clean();
        let pool = pool(method, 2);
        let futures: Vec<_> = (0..50u64)
            .map(|n| pool.submit(square, n).unwrap())
            .collect();
        for (n, future) in futures.into_iter().enumerate() {
            assert_eq!(future.result(GUARD), Ok(&(n as u64 * n as u64)));
        }
        let pid = pool.submit(pid, ()).unwrap().into_result().unwrap();
        assert_ne!(pid, std::process::id(), "{method:?}: ran in the parent");
        assert!(pool.live_workers() <= 2);
        assert!(
            pool.worker_pids().contains(&pid),
            "{method:?}: pid not listed"
        );
        drop(pool);
        clean.check();
    }
}

#[test]
fn one_at_a_time_uses_one_worker() {
    let clean = clean();
    let pool = pool(chosen_method(), 4);
    let pids: BTreeSet<u32> = (0..5)
        .map(|_| pool.submit(pid, ()).unwrap().into_result().unwrap())
        .collect();
    assert_eq!(pids.len(), 1);
    assert_eq!(pool.live_workers(), 1);
    drop(pool);
    clean.check();
}

#[test]
fn a_closure_that_captures_nothing_is_a_function() {
    let clean = clean();
    let pool = pool(chosen_method(), 1);
    let f = pool
        .submit(|s: String| s.to_uppercase(), "shout".to_owned())
        .unwrap();
    assert_eq!(f.into_result().unwrap(), "SHOUT");
    drop(pool);
    clean.check();
}

#[test]
fn a_panic_fails_its_future_and_the_worker_survives() {
    for method in methods() {
        let clean = clean();
        let pool = pool(method, 1);
        let before = pool.submit(pid, ()).unwrap().into_result().unwrap();
        let boom = pool
            .submit(|n: u32| -> u32 { panic!("bad input {n}") }, 7)
            .unwrap();
        match failure(boom) {
            TaskError::Panicked(message) => {
                assert!(message.starts_with("bad input 7 (at "), "{message}");
                assert!(message.contains("tests/pool.rs"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let after = pool.submit(pid, ()).unwrap().into_result().unwrap();
        assert_eq!(before, after, "the same worker goes on");
        drop(pool);
        clean.check();
    }
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
enum Rejected {
    Negative(i64),
}

fn checked_sqrt(n: i64) -> Result<u32, Rejected> {
    if n < 0 {
        Err(Rejected::Negative(n))
    } else {
        Ok((n as f64).sqrt() as u32)
    }
}

#[test]
fn a_task_error_crosses_back_with_its_type() {
    let clean = clean();
    let pool = pool(chosen_method(), 1);
    assert_eq!(
        pool.submit_fallible(checked_sqrt, 81)
            .unwrap()
            .into_result()
            .unwrap(),
        9
    );
    let error = failure(pool.submit_fallible(checked_sqrt, -4).unwrap());
    assert_eq!(error, TaskError::Raised(Rejected::Negative(-4)));
    drop(pool);
    clean.check();
}

fn abort(_: ()) {
    std::process::abort();
}

fn kill_self(_: ()) {
    rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL)
        .unwrap();
    unreachable!("SIGKILL cannot be caught");
}

fn exit_99(_: ()) {
    // SAFETY: leaves the worker at once, as a task calling `_exit` would.
    unsafe { libc::_exit(99) }
}

#[test]
fn a_worker_that_dies_breaks_the_pool_and_names_itself() {
    let cases: [(fn(()), ExitStatus); 3] = [
        (
            abort,
            ExitStatus::Signaled {
                signal: 6,
                core_dumped: false,
            },
        ),
        (
            kill_self,
            ExitStatus::Signaled {
                signal: 9,
                core_dumped: false,
            },
        ),
        (exit_99, ExitStatus::Exited(99)),
    ];
    for method in methods() {
        for (task, expected) in cases {
            let clean = clean();
            let pool = pool(method, 1);
            let worker = pool.submit(pid, ()).unwrap().into_result().unwrap();
            let doomed = pool.submit(task, ()).unwrap();
            let broken = match failure(doomed) {
                TaskError::Broken(broken) => broken,
                other => panic!("{other:?}"),
            };
            assert_eq!(broken.pid(), Some(worker));
            // Core dumps depend on the machine's limits.
            let status = broken.exit_status().unwrap();
            assert_eq!(status.code(), expected.code());
            assert_eq!(status.signal(), expected.signal());
            assert_eq!(broken.sent_to(), Some(worker));
            let text = broken.to_string();
            assert!(text.contains(&worker.to_string()), "{text}");
            match pool.submit(square, 1) {
                Err(SubmitError::Broken(later)) => assert_eq!(later.pid(), Some(worker)),
                other => panic!("{other:?}"),
            }
            drop(pool);
            clean.check();
        }
    }
}

#[test]
fn results_finished_before_a_crash_are_kept() {
    for method in methods() {
        let clean = clean();
        // Two items in flight on one worker: the first finishes, the second
        // kills the worker.
        let pool = pool(method, 1);
        let finished = pool.submit(square, 7).unwrap();
        let doomed = pool.submit(kill_self, ()).unwrap();
        assert_eq!(finished.into_result().unwrap(), 49);
        assert!(matches!(failure(doomed), TaskError::Broken(_)));
        drop(pool);
        clean.check();
    }
}

/// Blocks until the test writes to the FIFO named by `path`.
fn wait_for(path: String) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// Tells the test it started (through `started`), then waits on `gate`.
fn start_then_wait(paths: (String, String)) -> String {
    std::fs::write(&paths.0, std::process::id().to_string()).unwrap();
    std::fs::read_to_string(paths.1).unwrap()
}

/// A pool of `workers` with one item in flight per worker, whose first
/// worker runs [`start_then_wait`] and has reported that it started.
struct Blocked {
    pool: ProcessPoolExecutor,
    running: future_core::Future<String, TaskError>,
    running_pid: u32,
    /// Write to it to let the blocked task finish.
    gate: Fifo,
    _started: Fifo,
}

fn blocked(name: &str, workers: usize) -> Blocked {
    let pool = builder()
        .max_workers(workers)
        .max_in_flight_per_worker(NonZeroUsize::MIN)
        .build()
        .unwrap();
    let started = Fifo::new(&format!("{name}-started"));
    let gate = Fifo::new(&format!("{name}-gate"));
    let running = pool
        .submit(start_then_wait, (started.path.clone(), gate.path.clone()))
        .unwrap();
    let running_pid = started.read_all().parse().unwrap();
    Blocked {
        pool,
        running,
        running_pid,
        gate,
        _started: started,
    }
}

#[test]
fn every_pending_future_gets_its_own_broken_error() {
    let clean = clean();
    // Every field is bound: a dropped `Fifo` would delete the path the
    // blocked task is about to open.
    let Blocked {
        pool,
        running: innocent,
        running_pid: innocent_pid,
        gate: _gate,
        _started,
    } = blocked("broken", 2);
    let doomed = pool.submit(kill_self, ()).unwrap();
    let queued = pool.submit(square, 3).unwrap();
    let (doomed, queued, innocent) = (failure(doomed), failure(queued), failure(innocent));
    let [
        TaskError::Broken(doomed),
        TaskError::Broken(queued),
        TaskError::Broken(innocent),
    ] = [doomed, queued, innocent]
    else {
        panic!("all three fail with BrokenProcessPool");
    };
    let dead = doomed.pid().unwrap();
    assert_ne!(dead, innocent_pid);
    assert_eq!(doomed.sent_to(), Some(dead));
    assert_eq!(innocent.sent_to(), Some(innocent_pid));
    assert_eq!(innocent.pid(), Some(dead));
    assert_eq!(queued.sent_to(), None);
    assert!(
        innocent.to_string().contains("was terminated"),
        "{innocent}"
    );
    drop(pool);
    clean.check();
}

#[derive(Debug, Deserialize)]
struct Unserializable;

impl Serialize for Unserializable {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom(
            "this value refuses to be serialized",
        ))
    }
}

#[test]
fn serialization_failures_stay_with_their_task() {
    let clean = clean();
    let pool = pool(chosen_method(), 1);
    match pool.submit(|_: Unserializable| 1u8, Unserializable) {
        // postcard keeps no text of a custom serde error, only its kind.
        Err(SubmitError::ArgEncode(message)) => {
            assert!(message.contains("Serialization"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    let bad_result = pool.submit(|_: ()| Unserializable, ()).unwrap();
    match failure(bad_result) {
        TaskError::ResultEncode(message) => assert!(message.contains("Serialization"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(pool.submit(square, 4).unwrap().into_result().unwrap(), 16);
    drop(pool);
    clean.check();
}

fn echo(bytes: Vec<u8>) -> Vec<u8> {
    bytes.into_iter().rev().collect()
}

#[test]
fn sixteen_mebibytes_each_way() {
    for method in methods() {
        let clean = clean();
        let pool = pool(method, 2);
        let big: Vec<u8> = (0..16 << 20).map(|i: u32| (i % 251) as u8).collect();
        let futures: Vec<_> = (0..2)
            .map(|_| pool.submit(echo, big.clone()).unwrap())
            .collect();
        let reversed: Vec<u8> = big.iter().rev().copied().collect();
        for future in futures {
            assert!(future.into_result().unwrap() == reversed);
        }
        drop(pool);
        clean.check();
    }
}

#[test]
fn too_large_arguments_and_results_are_errors() {
    let clean = clean();
    let pool = builder()
        .max_workers(1)
        .max_frame_size(64 << 10)
        .build()
        .unwrap();
    match pool.submit(echo, vec![0; 100 << 10]) {
        Err(SubmitError::ArgTooLarge { max, .. }) => assert_eq!(max, 64 << 10),
        other => panic!("{other:?}"),
    }
    let grown = pool.submit(|n: usize| vec![1u8; n], 100 << 10).unwrap();
    assert!(matches!(failure(grown), TaskError::ResultTooLarge(_)));
    assert_eq!(pool.submit(square, 5).unwrap().into_result().unwrap(), 25);
    drop(pool);
    clean.check();
}

#[test]
fn max_tasks_per_child_one_over_a_hundred_tasks() {
    for method in methods() {
        let clean = clean();
        let pool = ProcessPoolExecutor::builder()
            .max_workers(2)
            .start_method(method)
            .max_tasks_per_child(1)
            .build()
            .unwrap();
        let futures: Vec<_> = (0..100).map(|_| pool.submit(pid, ()).unwrap()).collect();
        let pids: BTreeSet<u32> = futures
            .into_iter()
            .map(|f| f.into_result().unwrap())
            .collect();
        assert_eq!(pids.len(), 100, "{method:?}: every task had a fresh worker");
        assert!(pool.live_workers() <= 2);
        drop(pool);
        clean.check();
    }
}

#[test]
fn shutdown_with_cancel_futures_while_a_task_runs() {
    let clean = clean();
    let Blocked {
        pool,
        running,
        gate,
        _started,
        ..
    } = blocked("cancel", 1);
    let queued: Vec<_> = (0..3).map(|n| pool.submit(square, n).unwrap()).collect();
    pool.shutdown(false, true);
    for future in &queued {
        assert!(future.cancelled(), "queued work is cancelled at once");
    }
    assert!(matches!(pool.submit(square, 1), Err(SubmitError::Shutdown)));
    assert!(running.running());
    gate.write("go");
    assert_eq!(running.into_result().unwrap(), "go");
    pool.shutdown(true, false);
    pool.shutdown(true, true);
    drop(pool);
    clean.check();
}

#[test]
fn shutdown_without_cancel_runs_everything_queued() {
    let clean = clean();
    let pool = pool(chosen_method(), 2);
    let futures: Vec<_> = (0..20u64)
        .map(|n| pool.submit(square, n).unwrap())
        .collect();
    pool.shutdown(true, false);
    assert_eq!(pool.live_workers(), 0);
    for (n, future) in futures.into_iter().enumerate() {
        assert_eq!(future.into_result().unwrap(), (n * n) as u64);
    }
    drop(pool);
    clean.check();
}

#[test]
fn terminate_workers_stops_running_tasks() {
    let clean = clean();
    let Blocked {
        pool,
        running,
        gate: _gate,
        _started,
        ..
    } = blocked("terminate", 1);
    let queued = pool.submit(square, 2).unwrap();
    pool.kill_workers();
    assert!(queued.cancelled());
    match failure(running) {
        TaskError::Broken(broken) => {
            assert_eq!(broken.exit_status().and_then(|s| s.signal()), Some(9));
            assert!(broken.to_string().contains("kill_workers"), "{broken}");
        }
        other => panic!("{other:?}"),
    }
    pool.kill_workers();
    drop(pool);
    clean.check();
}

fn failing_init(tag: String) -> Result<(), String> {
    Err(format!("cannot initialize {tag}"))
}

fn panicking_init(_: u8) {
    panic!("initializer exploded");
}

#[test]
fn a_failing_initializer_breaks_the_pool() {
    for method in methods() {
        let clean = clean();
        let pool = ProcessPoolExecutor::builder()
            .max_workers(1)
            .start_method(method)
            .try_initializer(failing_init, "db".to_owned())
            .build()
            .unwrap();
        let future = pool.submit(square, 2).unwrap();
        match failure(future) {
            TaskError::Broken(broken) => {
                assert_eq!(broken.initializer_error(), Some("cannot initialize db"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            pool.submit(square, 2),
            Err(SubmitError::Broken(_))
        ));
        drop(pool);
        clean.check();
    }
    let clean = clean();
    let pool = builder()
        .max_workers(1)
        .initializer(panicking_init, 0)
        .build()
        .unwrap();
    match failure(pool.submit(square, 2).unwrap()) {
        TaskError::Broken(broken) => {
            let cause = broken.initializer_error().unwrap();
            assert!(cause.contains("initializer exploded"), "{cause}");
        }
        other => panic!("{other:?}"),
    }
    drop(pool);
    clean.check();
}

static mut SEEN_BY_INIT: u64 = 0;

fn remember(n: u64) {
    // SAFETY: a worker runs its initializer before any task, on its one thread; nothing else touches this static in the worker.
    unsafe { SEEN_BY_INIT = n };
}

fn recall(_: ()) -> u64 {
    // SAFETY: as in `remember`: read on the worker's only thread.
    unsafe { SEEN_BY_INIT }
}

#[test]
fn the_initializer_runs_in_each_worker_before_its_tasks() {
    let clean = clean();
    let pool = builder()
        .max_workers(2)
        .initializer(remember, 42)
        .build()
        .unwrap();
    let futures: Vec<_> = (0..10).map(|_| pool.submit(recall, ()).unwrap()).collect();
    for future in futures {
        assert_eq!(future.into_result().unwrap(), 42);
    }
    drop(pool);
    clean.check();
}

fn scribble_on_pipes(_: ()) {
    // A worker holds only its two pipes above stdio; garbage on the result
    // pipe is what a corrupted worker would send.
    for fd in 3..16 {
        // SAFETY: writing a buffer we own to a raw fd number; a wrong fd only fails with EBADF.
        unsafe { libc::write(fd, b"\xff\xff\xff\xff garbage".as_ptr().cast(), 13) };
    }
}

#[test]
fn a_malformed_frame_from_a_worker_breaks_the_pool() {
    let clean = clean();
    let pool = pool(chosen_method(), 1);
    let future = pool.submit(scribble_on_pipes, ()).unwrap();
    match failure(future) {
        TaskError::Broken(broken) => assert!(broken.to_string().contains("protocol"), "{broken}"),
        other => panic!("{other:?}"),
    }
    drop(pool);
    clean.check();
}

#[test]
fn zero_is_refused_when_building() {
    assert!(matches!(
        ProcessPoolExecutor::builder().max_workers(0).build(),
        Err(BuildError::ZeroWorkers)
    ));
    assert!(matches!(
        ProcessPoolExecutor::builder()
            .max_tasks_per_child(0)
            .build(),
        Err(BuildError::ZeroTasksPerChild)
    ));
}

#[test]
fn cancelled_before_sent_is_never_run() {
    let clean = clean();
    let Blocked {
        pool,
        running,
        gate,
        _started,
        ..
    } = blocked("skip", 1);
    let marker = Fifo::new("skip-marker");
    // Would block forever on the marker FIFO if it ever ran.
    let skipped = pool.submit(wait_for, marker.path.clone()).unwrap();
    assert!(skipped.cancel());
    gate.write("go");
    running.into_result().unwrap();
    assert_eq!(pool.submit(square, 3).unwrap().into_result().unwrap(), 9);
    drop(pool);
    clean.check();
}

fn counter(start: u32) -> std::cell::Cell<u32> {
    std::cell::Cell::new(start)
}

#[test]
fn a_send_but_not_sync_result_needs_only_send() {
    // A `Cell` crosses as bytes and is rebuilt in the parent: `Send` is all
    // a result needs, as for `std::thread::spawn`.
    let clean = clean();
    let pool = pool(StartMethod::Fork, 1);
    let future = pool.submit(counter, 41).unwrap();
    let cell = future.result(GUARD).unwrap();
    cell.set(cell.get() + 1);
    assert_eq!(future.into_result().unwrap().get(), 42);
    let cells: Vec<u32> = pool
        .map(counter, 1..4u32)
        .unwrap()
        .map(|c| c.unwrap().get())
        .collect();
    assert_eq!(cells, [1, 2, 3]);
    drop(pool);
    clean.check();
}
