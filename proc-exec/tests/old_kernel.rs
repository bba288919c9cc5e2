//! Kernels older than the crate needs, simulated with a seccomp filter that
//! refuses one call the way such a kernel does (`ENOSYS` for a call it has
//! not got, `EINVAL` for `waitid`'s unknown `P_PIDFD`): every start method
//! and `Process` get a typed error naming the call and the Linux release
//! that has it, at once, with nothing started or left behind.
//!
//! And the hang of issue 16: `waitid(P_PIDFD)` failing in a pool that got
//! past the check (the filter installed once it passed) must neither hang
//! shutdown nor a dropped child.
//!
//! Each filter stays for the life of its process, so each case is a role
//! run alone in a fresh copy of this binary ([`run_alone`]). Under
//! qemu-user no filter can be installed: `.ci/run` skips this binary there.

mod common;

use std::time::Duration;

use common::errors::assert_reads_once;
use common::{GUARD, clean, methods, watchdog};
use future_core::ResultError;
use proc_exec::{BuildError, MIN_LINUX, Process, ProcessError, ProcessPoolExecutor, TaskError};
use test_support::seccomp::{Fail, fail_syscalls_if};
use test_support::subprocess::{is_role, run_alone};

fn double(n: u64) -> u64 {
    2 * n
}

/// With `rule` in force, every start method and `Process::start` refuse
/// with the same typed error, naming `syscall` and `since`.
fn refused_everywhere(rule: Fail, syscall: &str, since: &str) {
    let clean = clean();
    fail_syscalls_if(&[rule]).expect("installing the seccomp filter");
    watchdog("building pools on an old kernel", || {
        for method in methods() {
            let built = ProcessPoolExecutor::builder()
                .max_workers(1)
                .start_method(method)
                .build();
            let missing = match built {
                Err(BuildError::Kernel(missing)) => missing,
                Err(other) => panic!("{method:?}: expected BuildError::Kernel, got {other:?}"),
                Ok(_) => panic!("{method:?}: the pool was built on an old kernel"),
            };
            assert_eq!(missing.syscall(), syscall);
            assert_eq!(missing.since(), since);
            assert_eq!(missing.needed(), MIN_LINUX);
            assert_eq!(missing.error().raw_os_error(), Some(rule.errno));
            let texts = assert_reads_once(&BuildError::Kernel(missing));
            let text = &texts[0];
            assert!(
                text.contains(&format!("refuses {syscall} ("))
                    && text.contains(&format!("since {since}"))
                    && text.contains(&format!("needs Linux {MIN_LINUX} or later")),
                "{text}"
            );
            let mut process = Process::new(double, 1).unwrap().start_method(method);
            match process.start() {
                Err(ProcessError::Kernel(same)) => {
                    assert_eq!(same, missing);
                    assert_reads_once(&ProcessError::Kernel(same));
                }
                other => panic!("{method:?}: expected ProcessError::Kernel, got {other:?}"),
            }
        }
    });
    clean.check();
}

#[test]
fn without_pidfd_open_linux_5_2_every_start_is_refused_by_name() {
    run_alone("no_pidfd_open_role");
}

#[test]
#[ignore = "a role: run alone by without_pidfd_open_linux_5_2_every_start_is_refused_by_name"]
fn no_pidfd_open_role() {
    if !is_role("no_pidfd_open_role") {
        return;
    }
    let rule = Fail::new(libc::SYS_pidfd_open, libc::ENOSYS);
    refused_everywhere(rule, "pidfd_open", "5.3");
}

#[test]
fn without_pidfd_send_signal_linux_5_0_every_start_is_refused_by_name() {
    run_alone("no_pidfd_send_signal_role");
}

#[test]
#[ignore = "a role: run alone by without_pidfd_send_signal_linux_5_0_every_start_is_refused_by_name"]
fn no_pidfd_send_signal_role() {
    if !is_role("no_pidfd_send_signal_role") {
        return;
    }
    let rule = Fail::new(libc::SYS_pidfd_send_signal, libc::ENOSYS);
    refused_everywhere(rule, "pidfd_send_signal", "5.1");
}

#[test]
fn without_waitid_p_pidfd_linux_5_3_every_start_is_refused_by_name() {
    run_alone("no_waitid_pidfd_role");
    run_alone("waitid_pidfd_einval_role");
}

#[test]
#[ignore = "a role: run alone by without_waitid_p_pidfd_linux_5_3_every_start_is_refused_by_name"]
fn no_waitid_pidfd_role() {
    if !is_role("no_waitid_pidfd_role") {
        return;
    }
    let rule = Fail::new(libc::SYS_waitid, libc::ENOSYS).when_first_arg(libc::P_PIDFD);
    refused_everywhere(rule, "waitid(P_PIDFD)", "5.4");
}

/// What a real 5.3 kernel answers: `EINVAL`, an `idtype` it does not know.
#[test]
#[ignore = "a role: run alone by without_waitid_p_pidfd_linux_5_3_every_start_is_refused_by_name"]
fn waitid_pidfd_einval_role() {
    if !is_role("waitid_pidfd_einval_role") {
        return;
    }
    let rule = Fail::new(libc::SYS_waitid, libc::EINVAL).when_first_arg(libc::P_PIDFD);
    refused_everywhere(rule, "waitid(P_PIDFD)", "5.4");
}

#[test]
fn waitid_failing_after_the_check_hangs_nothing() {
    run_alone("waitid_fails_after_the_check_role");
}

/// Issue 16's hang: the fork server's `waitid` fails, its "unknown status"
/// notice is taken, and shutdown (a dropped child) waited for it forever.
/// The check passes first (and is kept), then the filter comes: the fork
/// servers started from then on, and this process, cannot reap. No
/// zombie check: nothing can reap here, by construction.
#[test]
#[ignore = "a role: run alone by waitid_failing_after_the_check_hangs_nothing"]
fn waitid_fails_after_the_check_role() {
    if !is_role("waitid_fails_after_the_check_role") {
        return;
    }
    drop(
        ProcessPoolExecutor::builder()
            .max_workers(1)
            .build()
            .unwrap(),
    );
    let rule = Fail::new(libc::SYS_waitid, libc::ENOSYS).when_first_arg(libc::P_PIDFD);
    fail_syscalls_if(&[rule]).expect("installing the seccomp filter");
    for method in methods() {
        watchdog(&format!("{method:?}: a pool that cannot reap"), || {
            let pool = ProcessPoolExecutor::builder()
                .max_workers(2)
                .start_method(method)
                .build()
                .unwrap();
            let fine = pool.submit(double, 21).unwrap();
            assert_eq!(fine.result(GUARD), Ok(&42));
            let crash = pool
                .submit(|_: ()| -> u8 { std::process::abort() }, ())
                .unwrap();
            match crash.into_result() {
                Err(ResultError::Failed(TaskError::Broken(_))) => {}
                other => panic!("{method:?}: expected a broken pool, got {other:?}"),
            }
            pool.shutdown(true, false);
        });
        watchdog(
            &format!("{method:?}: a Process that cannot be reaped"),
            || {
                let mut process = Process::new(double, 4).unwrap().start_method(method);
                process.start().unwrap();
                // Its result, or the failed reap: either way, an answer.
                match process.join(Some(Duration::from_secs(30))) {
                    Ok(result) => assert_eq!(result, &Ok(8)),
                    Err(ProcessError::Io(_)) => {}
                    Err(other) => panic!("{method:?}: {other:?}"),
                }
                drop(process);
            },
        );
    }
}
