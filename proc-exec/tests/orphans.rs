//! A pool's parent killed with SIGKILL leaves no worker behind: each worker
//! (and the fork server) asked the kernel to kill it when its parent goes
//! (`PR_SET_PDEATHSIG`).
//!
//! The parent is this test binary started again as a child process, running
//! the ignored test `pool_parent_role`, so it starts single-threaded and
//! builds its pool the way a program would.

mod common;

use std::process::{Command, Stdio};

use common::{Fifo, Method, START_METHOD, builder, clean};
use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::process::{Pid, PidfdFlags, pidfd_open};

/// Reports the worker's pid through the FIFO at `paths.0`, then blocks on a
/// FIFO nobody ever writes.
fn report_then_block(paths: (String, String)) -> String {
    std::fs::write(&paths.0, format!("{}\n", std::process::id())).unwrap();
    std::fs::read_to_string(paths.1).unwrap()
}

/// The parent's role: a pool with two busy workers, then wait to be killed.
#[test]
#[ignore = "run as a child process by the test below"]
fn pool_parent_role() {
    let (Ok(report), Ok(gate)) = (
        std::env::var("PROC_EXEC_REPORT"),
        std::env::var("PROC_EXEC_GATE"),
    ) else {
        return;
    };
    // The test sets the start method through `START_METHOD`.
    let pool = builder()
        .max_workers(2)
        .max_in_flight_per_worker(std::num::NonZeroUsize::MIN)
        .build()
        .unwrap();
    let futures: Vec<_> = (0..2)
        .map(|_| {
            pool.submit(report_then_block, (report.clone(), gate.clone()))
                .unwrap()
        })
        .collect();
    for future in futures {
        // Never returns: the test kills this process first.
        let _ = future.into_result();
    }
}

/// Waits (with a generous guard) until the process `pid` has ended; it is
/// not our child, so it is watched through a pidfd, not reaped.
fn ended(pid: u32) -> bool {
    let Some(pid) = Pid::from_raw(pid as i32) else {
        return true;
    };
    let pidfd = match pidfd_open(pid, PidfdFlags::empty()) {
        Ok(pidfd) => pidfd,
        // Already gone (and reaped by init).
        Err(_) => return true,
    };
    let guard = Timespec {
        tv_sec: 60,
        tv_nsec: 0,
    };
    let mut fds = [PollFd::new(&pidfd, PollFlags::IN)];
    matches!(poll(&mut fds, Some(&guard)), Ok(1))
}

#[test]
fn a_killed_parent_leaves_no_worker_behind() {
    for method in Method::to_test() {
        let method = method.name();
        let clean = clean();
        let report = Fifo::new(&format!("orphans-report-{method}"));
        let gate = Fifo::new(&format!("orphans-gate-{method}"));
        let mut parent = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "pool_parent_role", "--ignored", "--nocapture"])
            .env("PROC_EXEC_REPORT", &report.path)
            .env("PROC_EXEC_GATE", &gate.path)
            .env(START_METHOD, method)
            // If a worker did outlive the parent, it must not hold the test
            // run's output open.
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut workers = Vec::new();
        while workers.len() < 2 {
            let text = report.read_all();
            workers.extend(text.lines().map(|line| line.parse::<u32>().unwrap()));
        }
        parent.kill().unwrap();
        parent.wait().unwrap();
        for pid in workers {
            assert!(
                ended(pid),
                "{method}: worker {pid} outlived its killed parent"
            );
        }
        clean.check();
    }
}
