//! Never hang: every failure outside a task ends the whole job within
//! seconds, with a message naming the rank.

mod common;

use mpi_exec::MpiExecutor;

fn square(n: u64) -> u64 {
    n * n
}

/// Kills its own rank, as the OOM killer or an operator would.
fn die(_: ()) -> u32 {
    // SAFETY: `raise` has no preconditions.
    unsafe { libc::raise(libc::SIGKILL) };
    0
}

fn run_some(exec: &MpiExecutor) {
    for n in 0..50 {
        assert_eq!(exec.submit(square, n).unwrap().into_result(), Ok(n * n));
    }
}

fn main() {
    match common::scenario().as_deref() {
        // `MPI_EXEC_TEST_FAULT=panic-rank:N` panics rank N's serving loop.
        Some("serve") => {
            mpi_exec::run(run_some).unwrap();
        }
        Some("rank0-panic") => {
            mpi_exec::run(|exec| {
                run_some(exec);
                panic!("the main job's own bug");
            })
            .unwrap();
        }
        Some("killed") => {
            mpi_exec::run(|exec| {
                run_some(exec);
                let fut = exec.submit(die, ()).unwrap();
                // The job ends here: the rank running it is killed.
                let _ = fut.into_result();
            })
            .unwrap();
        }
        Some("single") => match mpi_exec::run(run_some) {
            Err(mpi_exec::RunError::NoWorkers) => println!("one rank: NoWorkers"),
            other => panic!("one rank: {:?}", other.map(|_| ())),
        },
        Some("mismatch") => {
            mpi_exec::run(run_some).unwrap();
        }
        Some(other) => panic!("unknown scenario {other}"),
        None => {
            let fault = [("MPI_EXEC_TEST_FAULT", "panic-rank:1")];
            let ended = common::launch(3, "serve", &fault, None);
            assert!(ended.ended_by_itself(), "a worker's panic hung the job");
            assert_ne!(ended.code, Some(0));
            assert!(
                ended
                    .stderr
                    .contains("mpi-exec: rank 1: the worker's serving loop panicked"),
                "{}",
                ended.stderr
            );

            let ended = common::launch(2, "rank0-panic", &[], None);
            assert!(ended.ended_by_itself(), "rank 0's panic hung the job");
            assert_ne!(ended.code, Some(0));
            assert!(ended.stderr.contains("mpi-exec: rank 0: the closure given to mpi_exec::run panicked: the main job's own bug"), "{}", ended.stderr);

            let ended = common::launch(3, "killed", &[], None);
            assert!(ended.ended_by_itself(), "a killed rank hung the job");
            assert_ne!(ended.code, Some(0));

            let salt = ("MPI_EXEC_TEST_BUILD_SALT", "other");
            let ended = common::launch(3, "mismatch", &[], Some(salt));
            assert!(ended.ended_by_itself(), "a build mismatch hung the job");
            assert_ne!(ended.code, Some(0));
            assert!(
                ended.stderr.contains("ranks [1] run another build"),
                "{}",
                ended.stderr
            );
            let ended = common::launch(1, "single", &[], None);
            assert_eq!(ended.code, Some(0));
            assert!(
                ended.stdout.contains("one rank: NoWorkers"),
                "{}",
                ended.stdout
            );
            println!("failures: ok");
        }
    }
}
