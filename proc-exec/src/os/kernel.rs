//! What this crate needs from the kernel, asked once per process.
//!
//! A child is held by its pidfd (see [`child`](super::child)): opened with
//! `pidfd_open` (Linux 5.3), signalled with `pidfd_send_signal` (5.1),
//! polled for its exit (5.3), and reaped with `waitid(P_PIDFD)` (5.4). None
//! has a sound fallback: a bare pid may name a stranger once the process
//! has been reaped (by a `SIGCHLD` handler of the application, say), which
//! is the hazard pidfds exist to remove. So the pool asks the kernel for each
//! call before it starts anything, and a kernel (or a sandbox) that lacks one
//! gets a [`MissingSyscall`] naming it, instead of a bare "Function not
//! implemented" from somewhere deep in the pool later. `close_range` (5.9)
//! is used where present, with a fallback (see [`fork`](super::fork)).
//!
//! The questions are asked of this very process, so nothing is started:
//! a pidfd for ourselves, a signal 0 through it, and a `waitid` on it,
//! which a kernel that knows `P_PIDFD` answers with `ECHILD` (we are not
//! our own child). A kernel before 5.4 answers `EINVAL` (an unknown
//! `idtype`); a seccomp filter may answer `ENOSYS` or `EPERM`. A definite
//! answer is kept for the life of the process; an inconclusive one (no
//! descriptor left, say) is not, and lets the pool try, and fail on its own.
#![allow(unsafe_code)]

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::OnceLock;

use rustix::io::Errno;
use rustix::process::{PidfdFlags, WaitId, WaitIdOptions, getpid, pidfd_open, waitid};

/// The oldest Linux release that has every system call this crate needs.
pub const MIN_LINUX: &str = "5.4";

/// A system call this crate needs that the running kernel (or a sandbox
/// around the process) refuses: the pool cannot run here.
///
/// In [`BuildError::Kernel`](crate::BuildError::Kernel) and
/// [`ProcessError::Kernel`](crate::ProcessError::Kernel). The check runs
/// once per process, before the first pool or [`Process`](crate::Process)
/// starts anything.
///
/// # Examples
///
/// ```
/// use proc_exec::{BuildError, ProcessPoolExecutor};
///
/// match ProcessPoolExecutor::builder().build() {
///     Ok(pool) => pool.shutdown(true, false),
///     Err(BuildError::Kernel(missing)) => {
///         eprintln!("{missing}"); // names the call and the Linux that has it
///         assert_eq!(missing.needed(), proc_exec::MIN_LINUX);
///     }
///     Err(other) => panic!("{other}"),
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissingSyscall {
    /// The call, as the man pages write it.
    syscall: &'static str,
    /// The Linux release that added it.
    since: &'static str,
    /// What the kernel answered.
    errno: i32,
}

impl MissingSyscall {
    /// The refused call: `"pidfd_open"`, `"pidfd_send_signal"` or
    /// `"waitid(P_PIDFD)"`.
    pub fn syscall(&self) -> &'static str {
        self.syscall
    }

    /// The Linux release that added the call (`"5.3"`, say).
    pub fn since(&self) -> &'static str {
        self.since
    }

    /// The Linux release this crate needs: [`MIN_LINUX`].
    pub fn needed(&self) -> &'static str {
        MIN_LINUX
    }

    /// What the kernel answered, as an I/O error (`ENOSYS`, `EINVAL`, `EPERM`).
    pub fn error(&self) -> io::Error {
        io::Error::from_raw_os_error(self.errno)
    }
}

impl fmt::Display for MissingSyscall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "this kernel refuses {} ({}), which Linux has since {}: proc-exec needs Linux {MIN_LINUX} or later, with pidfds allowed",
            self.syscall,
            self.error(),
            self.since,
        )
    }
}

// The kernel's answer is in `Display`; there is no other cause to show.
impl std::error::Error for MissingSyscall {}

/// Checks, once per process, that the kernel has every call this crate
/// needs; see the module docs.
pub(crate) fn check() -> Result<(), MissingSyscall> {
    static ANSWER: OnceLock<Result<(), MissingSyscall>> = OnceLock::new();
    if let Some(answer) = ANSWER.get() {
        return *answer;
    }
    match ask() {
        Some(answer) => *ANSWER.get_or_init(|| answer),
        None => Ok(()),
    }
}

/// Asks the kernel; `None` if it could not tell.
fn ask() -> Option<Result<(), MissingSyscall>> {
    let pidfd = match pidfd_open(getpid(), PidfdFlags::empty()) {
        Ok(pidfd) => pidfd,
        Err(e) => return refused(e, "pidfd_open", "5.3"),
    };
    if let Err(e) = signal_zero(&pidfd) {
        return refused(e, "pidfd_send_signal", "5.1");
    }
    loop {
        let options = WaitIdOptions::EXITED | WaitIdOptions::NOHANG;
        return match waitid(WaitId::PidFd(pidfd.as_fd()), options) {
            Err(Errno::INTR) => continue,
            // This process is not its own child: the kernel knows P_PIDFD.
            Ok(_) | Err(Errno::CHILD) => Some(Ok(())),
            Err(e) => refused(e, "waitid(P_PIDFD)", "5.4"),
        };
    }
}

/// The answer for a call that failed with `e`: missing if `e` says the
/// call (or its argument) is unknown or forbidden, else inconclusive.
fn refused(
    e: Errno,
    syscall: &'static str,
    since: &'static str,
) -> Option<Result<(), MissingSyscall>> {
    matches!(e, Errno::NOSYS | Errno::INVAL | Errno::PERM | Errno::ACCESS).then_some(Err(
        MissingSyscall {
            syscall,
            since,
            errno: e.raw_os_error(),
        },
    ))
}

/// `pidfd_send_signal(pidfd, 0, NULL, 0)`: checks the call without sending
/// anything (rustix's `Signal` cannot be 0).
fn signal_zero(pidfd: &OwnedFd) -> Result<(), Errno> {
    // SAFETY: a null `siginfo` is allowed and nothing else is a pointer; signal 0 is only checked, never delivered, and `pidfd` is open for the call's duration.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            libc::c_long::from(pidfd.as_raw_fd()),
            0 as libc::c_long,
            std::ptr::null::<libc::siginfo_t>(),
            0 as libc::c_long,
        )
    };
    if ret == 0 {
        Ok(())
    } else {
        Err(Errno::from_io_error(&io::Error::last_os_error()).unwrap_or(Errno::IO))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel the tests run on has every call (CI runs Linux >= 5.4),
    /// and the answer is kept.
    #[test]
    fn this_kernel_has_every_call() {
        assert_eq!(check(), Ok(()));
        assert_eq!(check(), Ok(()));
    }

    /// The message names the call, the kernel's answer, the release that
    /// added it, and the one this crate needs.
    #[test]
    fn the_message_names_the_call_and_the_kernels() {
        let missing = MissingSyscall {
            syscall: "waitid(P_PIDFD)",
            since: "5.4",
            errno: Errno::INVAL.raw_os_error(),
        };
        let text = missing.to_string();
        assert!(
            text.starts_with("this kernel refuses waitid(P_PIDFD) ("),
            "{text}"
        );
        assert!(text.contains("which Linux has since 5.4"), "{text}");
        assert!(text.contains("needs Linux 5.4 or later"), "{text}");
        assert_eq!(
            missing.error().raw_os_error(),
            Some(Errno::INVAL.raw_os_error())
        );
    }
}
