//! Runs a test binary's scenarios under `mpirun`: `cargo test` starts the
//! binary without MPI; it starts itself again under
//! `timeout -k 5 60 mpirun ... -n N`, with the scenario's name in the
//! environment, and each rank runs that scenario.
#![allow(dead_code)]

use std::process::Command;
use std::time::{Duration, Instant};

/// The environment variable naming the scenario a rank runs.
const SCENARIO: &str = "MPI_EXEC_TEST_SCENARIO";

/// The hang guard: a job still running after this is killed and fails.
const GUARD_SECS: u64 = 60;

/// How a job under `mpirun` ended.
#[derive(Debug)]
pub(crate) struct Ended {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    pub(crate) took: Duration,
}

impl Ended {
    /// It ended on its own, not by the hang guard (which fires at 60 s).
    pub(crate) fn ended_by_itself(&self) -> bool {
        self.took < Duration::from_secs(GUARD_SECS - 5)
    }
}

/// The scenario this process runs as a rank, if it is one.
pub(crate) fn scenario() -> Option<String> {
    std::env::var(SCENARIO).ok()
}

/// Runs `scenario` on `ranks` ranks of this binary; `env` goes to every
/// rank (`mpirun -x`). `mpmd` extra env for rank 1 only (MPMD form) when set.
pub(crate) fn launch(
    ranks: usize,
    scenario: &str,
    env: &[(&str, &str)],
    rank1_env: Option<(&str, &str)>,
) -> Ended {
    launch_with(&[], ranks, scenario, env, rank1_env)
}

/// As [`launch`], with `mpirun_args` given to `mpirun` too.
pub(crate) fn launch_with(
    mpirun_args: &[&str],
    ranks: usize,
    scenario: &str,
    env: &[(&str, &str)],
    rank1_env: Option<(&str, &str)>,
) -> Ended {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut command = Command::new("timeout");
    command
        .args(["-k", "5", &GUARD_SECS.to_string(), "mpirun"])
        .args(["--allow-run-as-root", "--oversubscribe"])
        .args(mpirun_args);
    let exports = |command: &mut Command| {
        command.args(["-x", &format!("{SCENARIO}={scenario}")]);
        for (key, value) in env {
            command.args(["-x", &format!("{key}={value}")]);
        }
    };
    match rank1_env {
        None => {
            command.args(["-n", &ranks.to_string()]);
            exports(&mut command);
            command.arg(&exe);
        }
        Some((key, value)) => {
            command.args(["-n", "1"]);
            exports(&mut command);
            command.arg(&exe).arg(":").args(["-n", "1"]);
            exports(&mut command);
            command.args(["-x", &format!("{key}={value}")]).arg(&exe);
            if ranks > 2 {
                command.arg(":").args(["-n", &(ranks - 2).to_string()]);
                exports(&mut command);
                command.arg(&exe);
            }
        }
    }
    let started = Instant::now();
    let output = command
        .output()
        .expect("timeout and mpirun run (apt-get install openmpi-bin)");
    let ended = Ended {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        took: started.elapsed(),
    };
    eprintln!(
        "-- {scenario} on {ranks} ranks: exit {:?} after {:?}\n{}{}",
        ended.code, ended.took, ended.stdout, ended.stderr
    );
    ended
}

/// Runs `scenario` on each size and asserts that every job succeeded.
pub(crate) fn expect_success(sizes: &[usize], scenario: &str) {
    for &ranks in sizes {
        let ended = launch(ranks, scenario, &[], None);
        assert!(ended.ended_by_itself(), "{scenario} on {ranks} ranks hung");
        assert_eq!(ended.code, Some(0), "{scenario} on {ranks} ranks failed");
    }
}
