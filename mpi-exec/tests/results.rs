//! Results, errors, maps, callbacks and waiters over MPI ranks.

mod common;

use std::collections::BTreeSet;
use std::sync::mpsc;
use std::time::Duration;

use future_core::ResultError;
use mpi_exec::{MapOptions, MpiExecutor, SubmitError, TaskError};

fn square(n: u64) -> u64 {
    n * n
}

fn checked(n: u32) -> Result<u32, String> {
    if n.is_multiple_of(2) {
        Ok(n / 2)
    } else {
        Err(format!("{n} is odd"))
    }
}

fn boom(n: u32) -> u32 {
    assert!(n < 10, "too big: {n}");
    n
}

fn echo_len(bytes: Vec<u8>) -> (usize, Vec<u8>) {
    (bytes.len(), bytes)
}

/// Blocks until rank 0 opens `fifo` for writing.
fn blocker(fifo: String) -> u32 {
    drop(std::fs::File::open(fifo).unwrap());
    1
}

/// A future still queued at rank 0 (every worker's slots held by blockers)
/// cancels, and is never sent; the rest finish.
fn cancel_queued(exec: &MpiExecutor) {
    let fifo = std::env::temp_dir().join(format!("mpi-exec-cancel-{}", std::process::id()));
    let path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: `path` is a live C string.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
    let name = fifo.to_str().unwrap().to_owned();
    let blockers: Vec<_> = (0..exec.workers() * IN_FLIGHT)
        .map(|_| exec.submit(blocker, name.clone()).unwrap())
        .collect();
    let victim = exec.submit(square, 5).unwrap();
    assert!(victim.cancel(), "the queued future could not be cancelled");
    // Opening for writing waits for a reader: one blocker at least.
    let writer = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    for blocker in &blockers {
        assert_eq!(blocker.result(GUARD), Ok(&1));
    }
    drop(writer);
    std::fs::remove_file(&fifo).unwrap();
    assert_eq!(victim.result(GUARD), Err(ResultError::Cancelled));
    assert_eq!(exec.submit(square, 6).unwrap().into_result(), Ok(36));
}

/// Frames in flight per worker in the scenarios here.
const IN_FLIGHT: usize = 2;

const GUARD: Option<Duration> = Some(Duration::from_secs(30));

fn body(exec: &MpiExecutor) {
    assert!(exec.workers() >= 1);
    let four = exec.submit(square, 2).unwrap();
    assert_eq!(four.result(GUARD), Ok(&4));

    let half = exec.submit_fallible(checked, 8).unwrap();
    assert_eq!(half.into_result(), Ok(4));
    let odd = exec.submit_fallible(checked, 3).unwrap();
    assert_eq!(
        odd.into_result(),
        Err(ResultError::Failed(TaskError::Raised(
            "3 is odd".to_owned()
        )))
    );

    // A task's panic is its own error; the worker serves on.
    match exec.submit(boom, 99).unwrap().into_result() {
        Err(ResultError::Failed(TaskError::Panicked(message))) => {
            assert!(message.contains("too big: 99"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(exec.submit(boom, 3).unwrap().into_result(), Ok(3));

    // Frames above the eager limit both ways, several in flight.
    let big: Vec<_> = (0..6)
        .map(|i| exec.submit(echo_len, vec![i as u8; 1 << 20]).unwrap())
        .collect();
    for (i, fut) in big.into_iter().enumerate() {
        let (len, bytes) = fut.into_result().unwrap();
        assert_eq!(len, 1 << 20);
        assert!(bytes.iter().all(|b| *b == i as u8));
    }

    // Ordered map, chunked, with a small window.
    let squares: Vec<u64> = exec
        .map(square, 0..1000u64, MapOptions::new().chunksize(7).window(3))
        .map(Result::unwrap)
        .collect();
    assert_eq!(squares, (0..1000u64).map(|n| n * n).collect::<Vec<_>>());
    let unordered: BTreeSet<u64> = exec
        .map_unordered(square, 0..500u64, MapOptions::new().chunksize(10))
        .map(Result::unwrap)
        .collect();
    assert_eq!(unordered, (0..500u64).map(|n| n * n).collect());
    let mixed: Vec<_> = exec
        .map(boom, [1, 20, 3], MapOptions::new().chunksize(2))
        .collect();
    assert_eq!(mixed[0], Ok(1));
    assert!(matches!(
        &mixed[1],
        Err(mpi_exec::MapError::Task(TaskError::Panicked(_)))
    ));
    assert_eq!(mixed[2], Ok(3));

    // Done callbacks, wait and as_completed over MPI futures.
    let (tx, rx) = mpsc::channel();
    let futures: Vec<_> = (0..20u64)
        .map(|n| exec.submit(square, n).unwrap())
        .collect();
    for fut in &futures {
        let tx = tx.clone();
        fut.add_done_callback(move |done| {
            let _ = tx.send(*done.result().unwrap());
        });
    }
    let done = waiters::wait(
        futures.iter().map(|f| &**f),
        GUARD,
        waiters::ReturnWhen::AllCompleted,
    );
    assert_eq!(done.done.len(), 20);
    let completed: BTreeSet<u64> = waiters::as_completed(futures.iter().map(|f| &**f), GUARD)
        .map(|f| *f.unwrap().result(None).unwrap())
        .collect();
    assert_eq!(completed, (0..20u64).map(|n| n * n).collect());
    let called: BTreeSet<u64> = (0..20)
        .map(|_| rx.recv_timeout(GUARD.unwrap()).unwrap())
        .collect();
    assert_eq!(called, completed);

    exec.shutdown(true);
    assert_eq!(exec.submit(square, 1).unwrap_err(), SubmitError::Shutdown);
}

fn main() {
    match common::scenario().as_deref() {
        Some("results") => {
            let options = mpi_exec::Options::new().max_in_flight(IN_FLIGHT);
            let ran = mpi_exec::run_with(options, |exec| {
                cancel_queued(exec);
                body(exec)
            })
            .unwrap();
            if let Some(()) = ran {
                println!("rank 0: all checks passed");
            }
        }
        Some(other) => panic!("unknown scenario {other}"),
        None => {
            common::expect_success(&[2, 3, 4], "results");
            println!("results: ok");
        }
    }
}
