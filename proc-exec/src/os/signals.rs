//! The fork server's own signal state.
//!
//! Signal dispositions and the signal mask belong to the application, and a
//! forked process inherits them. The fork server must reap its workers
//! itself, so it cannot live with an inherited `SIGCHLD` set to `SIG_IGN`
//! (the kernel then reaps every child at once and `waitid` fails with
//! `ECHILD`) or with the application's handler (which may reap with
//! `waitpid(-1)` before the server's `waitid`). So the server puts `SIGCHLD`
//! back to its default and unblocks every signal as it starts, and gives each
//! worker the application's settings back before the worker runs user code,
//! so a worker sees what a [`Fork`](crate::StartMethod::Fork) worker sees.
//!
//! Both calls are async-signal-safe, as a forked child requires.
#![allow(unsafe_code)]

use std::io;
use std::mem::MaybeUninit;

/// The application's `SIGCHLD` action and signal mask, as a forked process
/// inherited them.
pub(crate) struct Inherited {
    /// `SIGCHLD`'s action.
    sigchld: libc::sigaction,
    /// The signal mask of the thread that forked.
    mask: libc::sigset_t,
}

impl Inherited {
    /// `sigaction(SIGCHLD, SIG_DFL)`, `sigprocmask(SIG_SETMASK, {})`—Gives
    /// this (single-threaded, freshly forked) process the default `SIGCHLD`
    /// and an empty signal mask; returns what it had.
    ///
    /// # References
    ///  - [Linux `sigaction`]
    ///  - [Linux `sigprocmask`]
    ///
    /// [Linux `sigaction`]: https://man7.org/linux/man-pages/man2/sigaction.2.html
    /// [Linux `sigprocmask`]: https://man7.org/linux/man-pages/man2/sigprocmask.2.html
    pub(crate) fn take_over() -> io::Result<Self> {
        let mut default = MaybeUninit::<libc::sigaction>::zeroed();
        let mut sigchld = MaybeUninit::<libc::sigaction>::uninit();
        let mut empty = MaybeUninit::<libc::sigset_t>::uninit();
        let mut mask = MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: `default` is zeroed (a valid `sigaction`: empty mask, no flags, `sa_sigaction` 0 is `SIG_DFL`) and `sigemptyset` initialises its mask; `sigaction` and `sigprocmask` write the old values through the pointers, which point to live locals, and are async-signal-safe.
        unsafe {
            libc::sigemptyset(&raw mut (*default.as_mut_ptr()).sa_mask);
            (*default.as_mut_ptr()).sa_sigaction = libc::SIG_DFL;
            check(libc::sigaction(
                libc::SIGCHLD,
                default.as_ptr(),
                sigchld.as_mut_ptr(),
            ))?;
            libc::sigemptyset(empty.as_mut_ptr());
            check(libc::sigprocmask(
                libc::SIG_SETMASK,
                empty.as_ptr(),
                mask.as_mut_ptr(),
            ))?;
            Ok(Self {
                sigchld: sigchld.assume_init(),
                mask: mask.assume_init(),
            })
        }
    }

    /// Puts the application's `SIGCHLD` action and signal mask back; for a
    /// worker forked from the server, before it runs user code.
    pub(crate) fn restore(&self) -> io::Result<()> {
        // SAFETY: both values were filled in by the kernel in `take_over`; the calls read them and write nothing back (null old-value pointers).
        unsafe {
            check(libc::sigaction(
                libc::SIGCHLD,
                &self.sigchld,
                std::ptr::null_mut(),
            ))?;
            check(libc::sigprocmask(
                libc::SIG_SETMASK,
                &self.mask,
                std::ptr::null_mut(),
            ))
        }
    }
}

/// A C call's `0`/`-1` result as an `io::Result`.
fn check(result: libc::c_int) -> io::Result<()> {
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::os::fork::exit_child;
    use crate::os::status::ExitStatus;
    use crate::os::test_support::{fork_child, serial};

    /// The current `SIGCHLD` handler (`SIG_IGN`, `SIG_DFL` or a function).
    fn sigchld_handler() -> libc::sighandler_t {
        let mut now = MaybeUninit::<libc::sigaction>::uninit();
        // SAFETY: a query (null new action) into a live local.
        let got = unsafe { libc::sigaction(libc::SIGCHLD, std::ptr::null(), now.as_mut_ptr()) };
        assert_eq!(got, 0);
        // SAFETY: filled in by the kernel above.
        unsafe { now.assume_init() }.sa_sigaction
    }

    /// In a child that inherited `SIGCHLD` ignored and blocked: `take_over`
    /// gives it the default, unblocked, and `restore` puts both back.
    #[test]
    fn take_over_then_restore() {
        let _serial = serial();
        let mut child = fork_child(|| {
            // SAFETY: this forked child only makes async-signal-safe calls and leaves with `_exit`.
            unsafe {
                libc::signal(libc::SIGCHLD, libc::SIG_IGN);
                let mut blocked = MaybeUninit::<libc::sigset_t>::uninit();
                libc::sigemptyset(blocked.as_mut_ptr());
                libc::sigaddset(blocked.as_mut_ptr(), libc::SIGCHLD);
                libc::sigprocmask(libc::SIG_BLOCK, blocked.as_ptr(), std::ptr::null_mut());
            }
            let Ok(inherited) = Inherited::take_over() else {
                exit_child(1)
            };
            if sigchld_handler() != libc::SIG_DFL {
                exit_child(2);
            }
            let mut mask = MaybeUninit::<libc::sigset_t>::uninit();
            // SAFETY: a query into a live local.
            let blocked = unsafe {
                libc::sigprocmask(libc::SIG_SETMASK, std::ptr::null(), mask.as_mut_ptr());
                libc::sigismember(mask.as_ptr(), libc::SIGCHLD)
            };
            if blocked != 0 {
                exit_child(3);
            }
            if inherited.restore().is_err() || sigchld_handler() != libc::SIG_IGN {
                exit_child(4);
            }
            // SAFETY: as above.
            let blocked = unsafe {
                libc::sigprocmask(libc::SIG_SETMASK, std::ptr::null(), mask.as_mut_ptr());
                libc::sigismember(mask.as_ptr(), libc::SIGCHLD)
            };
            if blocked != 1 {
                exit_child(5);
            }
            0
        });
        let status = child.wait(Some(std::time::Duration::from_secs(60)));
        assert_eq!(status.unwrap(), Some(ExitStatus::Exited(0)));
    }
}
