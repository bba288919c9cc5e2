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

fn main() {
    let options = Options::new().recover_dead_ranks(DEADLINE);
    match common::scenario().as_deref() {
        Some("killed") => {
            mpi_exec::run_with(options, killed).unwrap();
        }
        Some(other) => panic!("unknown scenario {other}"),
        None => {
            for ranks in [3, 4] {
                let ended = common::launch_with(&["--enable-recovery"], ranks, "killed", &[], None);
                assert!(ended.ended_by_itself(), "a killed rank hung the job");
                assert_eq!(ended.code, Some(0), "{}", ended.stderr);
                assert!(ended.stdout.contains("recovered:"), "{}", ended.stdout);
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
