//! Opt-in survival of a dead worker rank (`Options::recover_dead_ranks`,
//! under `mpirun --enable-recovery`): only the dead rank's tasks fail, with
//! `TaskError::RankLost` naming it; the others run on and the job ends on
//! its own within seconds.

mod common;

use std::time::Duration;

use future_core::ResultError;

use mpi_exec::{MapOptions, MpiExecutor, Options, TaskError};

/// Long enough for any task here on a loaded machine; the killed rank's
/// task is declared lost after it.
const DEADLINE: Duration = Duration::from_secs(2);

fn square(n: u64) -> u64 {
    n * n
}

/// Kills its own rank, as the OOM killer or an operator would.
fn die(_: ()) -> u32 {
    // SAFETY: `raise` has no preconditions.
    unsafe { libc::raise(libc::SIGKILL) };
    0
}

/// A task slower than the deadline: its rank is declared dead though it
/// lives on. The answer is above the eager limit, so it could only go out
/// if rank 0 received it.
fn slow(secs: u64) -> Vec<u8> {
    std::thread::sleep(Duration::from_secs(secs));
    vec![7; 1 << 20]
}

fn expect_lost<T: std::fmt::Debug>(outcome: Result<T, ResultError<TaskError>>, rank: u32) {
    match outcome {
        Err(ResultError::Failed(TaskError::RankLost { rank: lost, .. })) if lost == rank => {}
        other => panic!("expected rank {rank} lost, got {other:?}"),
    }
}

/// Rank 1 (the least loaded worker takes the first frame) is killed by its
/// task; everything else is served by the remaining ranks.
fn killed(exec: &MpiExecutor) {
    let doomed = exec.submit(die, ()).unwrap();
    expect_lost(doomed.into_result(), 1);
    for n in 0..50 {
        assert_eq!(exec.submit(square, n).unwrap().into_result(), Ok(n * n));
    }
    let squares: Vec<u64> = exec
        .map(square, 0..1000u64, MapOptions::new().chunksize(10))
        .map(Result::unwrap)
        .collect();
    assert_eq!(squares, (0..1000u64).map(square).collect::<Vec<_>>());
    println!("recovered: rank 1 lost, the others served on");
}

/// Rank 1 runs a task longer than the deadline: declared dead, its task
/// fails; when it wakes it is told to leave, and the job ends on its own.
fn overdue(exec: &MpiExecutor) {
    let late = exec.submit(slow, 2 * DEADLINE.as_secs()).unwrap();
    expect_lost(late.into_result(), 1);
    for n in 0..50 {
        assert_eq!(exec.submit(square, n).unwrap().into_result(), Ok(n * n));
    }
    println!("recovered: rank 1 overdue, the others served on");
}

/// No rank dies: the recovery mode's answers (sent without blocking) and
/// its usual ending (`MPI_Finalize`).
fn healthy(exec: &MpiExecutor) {
    let futures: Vec<_> = (0..200u64)
        .map(|n| exec.submit(square, n).unwrap())
        .collect();
    for (n, future) in (0..200u64).zip(futures) {
        assert_eq!(future.into_result(), Ok(n * n));
    }
    let big = exec.submit(slow, 0).unwrap().into_result().unwrap();
    assert_eq!(big.len(), 1 << 20);
    println!("recovered: nothing to recover");
}

/// The only worker is killed: its task and every later one fail, naming it.
fn alone(exec: &MpiExecutor) {
    expect_lost(exec.submit(die, ()).unwrap().into_result(), 1);
    expect_lost(exec.submit(square, 3).unwrap().into_result(), 1);
    println!("recovered: no worker left, later tasks fail");
}

fn main() {
    let options = Options::new().recover_dead_ranks(DEADLINE);
    match common::scenario().as_deref() {
        Some("killed") => {
            mpi_exec::run_with(options, killed).unwrap();
        }
        Some("alone") => {
            mpi_exec::run_with(options, alone).unwrap();
        }
        Some("healthy") => {
            mpi_exec::run_with(options, healthy).unwrap();
        }
        Some("overdue") => {
            mpi_exec::run_with(options, overdue).unwrap();
        }
        Some(other) => panic!("unknown scenario {other}"),
        None => {
            // Both of Open MPI 4.1's spellings of its recovery setting.
            let recovery: [&[&str]; 2] = [
                &["--enable-recovery"],
                &["--mca", "orte_enable_recovery", "1"],
            ];
            for (ranks, scenario, args) in [
                (3, "killed", recovery[0]),
                (4, "killed", recovery[1]),
                (3, "overdue", recovery[0]),
                (2, "alone", recovery[0]),
                (3, "healthy", recovery[0]),
            ] {
                let ended = common::launch_with(args, ranks, scenario, &[], None);
                assert!(ended.ended_by_itself(), "{scenario}: the job hung");
                assert_eq!(ended.code, Some(0), "{}", ended.stderr);
                assert!(ended.stdout.contains("recovered:"), "{}", ended.stdout);
                if scenario == "healthy" {
                    assert!(!ended.stderr.contains("declared dead"), "{}", ended.stderr);
                    continue;
                }
                assert!(
                    ended.stderr.contains("rank 1 declared dead"),
                    "{}",
                    ended.stderr
                );
            }
            println!("recovery: ok");
        }
    }
}
