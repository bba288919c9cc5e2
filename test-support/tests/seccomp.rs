//! The seccomp helper: the calls it names fail with the `errno` it names,
//! in every thread (also one started before), and nothing else changes.
//! Each filter is installed in a test binary run of its own
//! ([`run_alone`]), since it cannot be removed.
#![cfg(target_os = "linux")]

use std::os::fd::AsFd;

use rustix::io::Errno;
use rustix::process::{PidfdFlags, WaitId, WaitIdOptions, getpid, pidfd_open, waitid};
use test_support::seccomp::{Fail, fail_syscalls, fail_syscalls_if};
use test_support::subprocess::{is_role, run_alone};

#[test]
fn named_calls_fail_with_the_named_errno() {
    run_alone("pidfd_open_fails_role");
}

#[test]
fn a_call_can_fail_for_one_first_argument_only() {
    run_alone("waitid_pidfd_fails_role");
}

#[test]
fn an_errno_out_of_range_is_refused_before_anything_changes() {
    for errno in [0, 4096] {
        let err = fail_syscalls(&[(libc::SYS_getppid, errno)]).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    }
    // No filter was installed: the call still runs.
    assert!(pidfd_open(getpid(), PidfdFlags::empty()).is_ok());
}

#[test]
#[ignore = "a role: run alone by named_calls_fail_with_the_named_errno"]
fn pidfd_open_fails_role() {
    if !is_role("pidfd_open_fails_role") {
        return;
    }
    // A thread started before the filter is under it too (TSYNC).
    let (go, went) = std::sync::mpsc::channel::<()>();
    let earlier = std::thread::spawn(move || {
        went.recv().unwrap();
        pidfd_open(getpid(), PidfdFlags::empty()).map(drop)
    });
    fail_syscalls(&[(libc::SYS_pidfd_open, libc::ENOSYS)]).unwrap();
    assert_eq!(
        pidfd_open(getpid(), PidfdFlags::empty()).unwrap_err(),
        Errno::NOSYS
    );
    go.send(()).unwrap();
    assert_eq!(earlier.join().unwrap().unwrap_err(), Errno::NOSYS);
    // Other calls run.
    assert!(rustix::process::getppid().is_some());
}

#[test]
#[ignore = "a role: run alone by a_call_can_fail_for_one_first_argument_only"]
fn waitid_pidfd_fails_role() {
    if !is_role("waitid_pidfd_fails_role") {
        return;
    }
    let me = pidfd_open(getpid(), PidfdFlags::empty()).unwrap();
    let old_kernel = Fail::new(libc::SYS_waitid, libc::ENOSYS).when_first_arg(libc::P_PIDFD);
    fail_syscalls_if(&[old_kernel]).unwrap();
    let options = WaitIdOptions::EXITED | WaitIdOptions::NOHANG;
    assert_eq!(
        waitid(WaitId::PidFd(me.as_fd()), options).unwrap_err(),
        Errno::NOSYS
    );
    // Another idtype is let through: this process has no child.
    assert_eq!(waitid(WaitId::All, options).unwrap_err(), Errno::CHILD);
}
