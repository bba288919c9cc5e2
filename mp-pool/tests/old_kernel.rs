//! A kernel older than the pools need, simulated with a seccomp filter (a
//! 5.3 kernel: `waitid` refuses `P_PIDFD` with `EINVAL`): `Pool::new` says
//! which call is missing and which Linux has it, at once.
//!
//! The filter stays for the life of its process, so the case is a role run
//! alone in a fresh copy of this binary. Under qemu-user no filter can be
//! installed: `.ci/run` skips this binary there.

mod common;

use common::{clean, watchdog};
use mp_pool::{BuildError, Pool};
use test_support::seccomp::{Fail, fail_syscalls_if};
use test_support::subprocess::{is_role, run_alone};

#[test]
fn on_linux_5_3_the_pool_names_the_missing_call() {
    run_alone("linux_5_3_role");
}

#[test]
#[ignore = "a role: run alone by on_linux_5_3_the_pool_names_the_missing_call"]
fn linux_5_3_role() {
    if !is_role("linux_5_3_role") {
        return;
    }
    let clean = clean();
    let rule = Fail::new(libc::SYS_waitid, libc::EINVAL).when_first_arg(libc::P_PIDFD);
    fail_syscalls_if(&[rule]).expect("installing the seccomp filter");
    let built = watchdog("Pool::new on Linux 5.3", Pool::new);
    match built {
        Err(BuildError::Exec(proc_exec::BuildError::Kernel(missing))) => {
            assert_eq!(missing.syscall(), "waitid(P_PIDFD)");
            let text = BuildError::Exec(proc_exec::BuildError::Kernel(missing)).to_string();
            assert!(
                text.contains("refuses waitid(P_PIDFD)") && text.contains("Linux 5.4 or later"),
                "{text}"
            );
        }
        Err(other) => panic!("expected the kernel's refusal, got {other:?}"),
        Ok(_) => panic!("the pool was built on Linux 5.3"),
    }
    clean.check();
}
