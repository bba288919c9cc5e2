//! Signal dispositions set by the application or by user code: the
//! `SIGCHLD` dispositions an application may choose, for the tests that
//! check the pools work whatever it is (process-wide state: use them only in
//! a test binary of their own, under [`clean`](crate::clean)), and a task's
//! way to ignore `SIGTERM` in its worker.
#![allow(unsafe_code)]

/// What the application does with `SIGCHLD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// `SIG_IGN`, set before the pool starts: the kernel reaps every child.
    Ignore,
    /// A handler that reaps every child, installed before the pool starts.
    ReapBefore,
    /// The same handler, installed once the pool runs a worker.
    ReapWhileRunning,
}

/// Every [`Disposition`].
pub const DISPOSITIONS: [Disposition; 3] = [
    Disposition::Ignore,
    Disposition::ReapBefore,
    Disposition::ReapWhileRunning,
];

impl Disposition {
    /// Sets the part that comes before the pool starts; the returned guard
    /// puts `SIGCHLD` back to `SIG_DFL` when dropped (even by a panic).
    pub fn before_pool(self) -> Restore {
        match self {
            Self::Ignore => set_sigchld(libc::SIG_IGN),
            Self::ReapBefore => set_sigchld(reaper()),
            Self::ReapWhileRunning => {}
        }
        Restore(())
    }

    /// Sets the part that comes while the pool runs.
    pub fn while_running(self) {
        if self == Self::ReapWhileRunning {
            set_sigchld(reaper());
        }
    }
}

/// Puts `SIGCHLD` back to its default when dropped.
#[derive(Debug)]
pub struct Restore(());

impl Drop for Restore {
    fn drop(&mut self) {
        set_sigchld(libc::SIG_DFL);
    }
}

/// What a server's `SIGCHLD` handler often does: reap every child that has
/// ended, whoever started it.
extern "C" fn reap_every_child(_: libc::c_int) {
    // SAFETY: `__errno_location` points to this thread's errno for the thread's life; the handler leaves the interrupted code's errno as it found it.
    let errno = unsafe { *libc::__errno_location() };
    // SAFETY: `waitpid` is async-signal-safe; a null status pointer is allowed.
    while unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) } > 0 {}
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
}

fn reaper() -> libc::sighandler_t {
    reap_every_child as extern "C" fn(libc::c_int) as libc::sighandler_t
}

/// Sets `SIGCHLD`'s disposition: `SIG_IGN`, `SIG_DFL` or a handler.
fn set_sigchld(handler: libc::sighandler_t) {
    // SAFETY: an all-zero `sigaction` is a valid value (empty mask, no flags) before the fields are set.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = handler;
    action.sa_flags = libc::SA_RESTART | libc::SA_NOCLDSTOP;
    // SAFETY: a valid action for a catchable signal; the handler makes only async-signal-safe calls.
    let set = unsafe { libc::sigaction(libc::SIGCHLD, &action, std::ptr::null_mut()) };
    assert_eq!(set, 0, "sigaction(SIGCHLD)");
}

/// Sets `SIGTERM` to `SIG_IGN` in the calling process: what a task does in
/// its worker to play a worker that will not stop when asked.
pub fn ignore_sigterm() {
    // SAFETY: `SIG_IGN` for a catchable signal; no handler runs.
    let old = unsafe { libc::signal(libc::SIGTERM, libc::SIG_IGN) };
    assert_ne!(old, libc::SIG_ERR, "signal(SIGTERM)");
}
