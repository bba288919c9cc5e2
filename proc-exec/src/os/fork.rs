//! The only place that forks, and what a forked child may do.
//!
//! # Safety
//!
//! `fork` copies the whole address space of the calling process but only the
//! calling thread. When the parent has other threads, the child starts in a
//! strange world:
//!
//! - **Only the forking thread exists.** Every other thread of the parent is
//!   simply absent; whatever it was doing stops mid-step, forever. Nothing the
//!   child does can wait for, join or be woken by those threads.
//! - **Locks other threads held stay locked.** A mutex (ours, std's, the
//!   `stdout`/`stderr` locks, the environment lock, a lock inside some
//!   library) that another thread held at the instant of the fork is copied
//!   in the locked state, and no thread in the child will ever unlock it.
//!   Taking such a lock in the child deadlocks. Data it guarded may also be
//!   half-updated. This is why POSIX allows a child of a multi-threaded
//!   process to call only async-signal-safe functions until it calls `exec`.
//! - **The C library makes `malloc` usable again.** We call the C library's
//!   `fork` (not the raw syscall), so its at-fork handlers run: glibc and musl
//!   take the allocator's locks before forking and release them in both
//!   processes afterwards, so the child may allocate and free. Rust's default
//!   global allocator is that `malloc`. Other libraries' at-fork handlers run
//!   too.
//! - **The child must leave with `_exit`.** The child holds copies of the
//!   parent's stack frames. Returning or unwinding out of the function that
//!   forked would run the parent's code and destructors a second time:
//!   flushing buffered output twice, removing files the parent still uses,
//!   answering the parent's callers. A child therefore ends only through
//!   [`exit_child`] (`_exit`, which runs no `atexit` handlers and flushes no
//!   stdio buffers), and wraps its body in [`run_child`] so a panic is caught
//!   before it unwinds into the parent's frames.
//! - **File descriptors are shared.** The child inherits every descriptor,
//!   close-on-exec or not (that flag only acts on `exec`). A pipe end held
//!   by a stray child keeps its peer from ever seeing end of file. Children
//!   call [`close_fds_except`] early.
//!
//! The pool's answer is to fork as little as possible from the multi-threaded
//! parent: it forks one [fork server](super::fork_server) (ideally before the
//! pool starts any thread), which is single-threaded and forks the workers.
//!
//! # Death of the parent
//!
//! [`die_with_parent`] asks the kernel for `SIGKILL` when the parent goes
//! away. Linux sends that signal when the *thread* that forked the child
//! exits, not when the whole parent process does: a child forked from a
//! short-lived thread is killed as soon as that thread ends. Fork from a
//! thread that lives as long as the children should.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::panic::AssertUnwindSafe;

use rustix::io::Errno;
use rustix::process::{
    Pid, Resource, Signal, getpid, getppid, getrlimit, kill_process,
    set_parent_process_death_signal,
};

/// The exit code of a child whose body panicked (the code Rust itself uses
/// for a panicking `main`).
pub(crate) const PANIC_EXIT_CODE: i32 = 101;

/// Which side of a [`fork`] we are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub(crate) enum Forked {
    /// The parent; the new child has this pid (and must be reaped).
    Parent(Pid),
    /// The new child. It must end with [`exit_child`] (see the module docs).
    Child,
}

/// `fork()`—Creates a child process that is a copy of this one.
///
/// Goes through the C library, so at-fork handlers run and the child can use
/// `malloc`.
///
/// # Safety
///
/// In the [`Forked::Child`] branch the caller must:
/// - not take any lock that a thread other than the caller might have held
///   when `fork` was called (std's `stdout`/`stderr` and environment locks
///   included), unless the process had only one thread at the time;
/// - not rely on any other thread of the parent: they do not exist in the
///   child;
/// - leave only through [`exit_child`] (or `exec`), never by returning from
///   or unwinding past the function that called `fork`;
/// - keep its work small: allocating, system calls, and reading memory the
///   forking thread owned are fine; anything touching state shared with other
///   threads is not.
///
/// # References
///  - [Linux]
///
/// [Linux]: https://man7.org/linux/man-pages/man2/fork.2.html
// The one place allowed to call it (see the workspace's clippy.toml).
#[allow(clippy::disallowed_methods)]
pub(crate) unsafe fn fork() -> io::Result<Forked> {
    // SAFETY: `fork` itself has no preconditions; what makes forking a multi-threaded process hazardous is what the child does next, and the caller has promised (see `# Safety`) to keep the child within bounds.
    let pid = unsafe { libc::fork() };
    match pid {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(Forked::Child),
        pid => Pid::from_raw(pid)
            .map(Forked::Parent)
            .ok_or_else(|| io::Error::other("fork returned a negative pid")),
    }
}

/// `_exit(code)`—Ends this process at once: no destructors, no `atexit`
/// handlers, no flushing of stdio buffers.
///
/// The way out of a forked child. Output the child wrote through buffered
/// writers and did not flush is lost; write to descriptors directly, or
/// flush first.
///
/// # References
///  - [Linux]
///
/// [Linux]: https://man7.org/linux/man-pages/man2/_exit.2.html
#[doc(alias = "_exit")]
pub(crate) fn exit_child(code: i32) -> ! {
    // SAFETY: `_exit` is async-signal-safe and has no preconditions; it does not return, so no state is left half-updated behind it.
    unsafe { libc::_exit(code) }
}

/// Runs a forked child's `body` and ends the process with the code it
/// returns, or with [`PANIC_EXIT_CODE`] if it panics.
///
/// The panic is caught here, so it never unwinds into the parent's frames
/// (see the module docs). The panic hook still runs first and prints to
/// `stderr`, which takes std's `stderr` lock: a child of a multi-threaded
/// parent should not panic.
pub(crate) fn run_child<F: FnOnce() -> i32>(body: F) -> ! {
    let code = match std::panic::catch_unwind(AssertUnwindSafe(body)) {
        Ok(code) => code,
        Err(payload) => {
            // Dropping the payload could run arbitrary code (and panic
            // again); the process is about to end, so leak it.
            std::mem::forget(payload);
            PANIC_EXIT_CODE
        }
    };
    exit_child(code)
}

/// `prctl(PR_SET_PDEATHSIG, SIGKILL)`—Has this child killed when its parent
/// goes away; for a child to call first thing.
///
/// The parent may already have died between `fork` and this call, in which
/// case the signal would never come: if `getppid()` is no longer `parent`,
/// this process kills itself with `SIGKILL` at once, so it ends exactly as
/// if the death signal had been delivered. It returns only if the parent is
/// still there.
///
/// Linux sends the signal when the parent *thread* that forked this process
/// exits, not when the parent process does (see the module docs).
///
/// # References
///  - [Linux `prctl`]
///  - [Linux `getppid`]
///
/// [Linux `prctl`]: https://man7.org/linux/man-pages/man2/PR_SET_PDEATHSIG.2const.html
/// [Linux `getppid`]: https://man7.org/linux/man-pages/man2/getppid.2.html
#[doc(alias = "PR_SET_PDEATHSIG")]
pub(crate) fn die_with_parent(parent: Pid) -> io::Result<()> {
    set_parent_process_death_signal(Some(Signal::KILL))?;
    if getppid() != Some(parent) {
        // A signal sent to oneself is delivered before `kill` returns to
        // user space, so this does not come back; `_exit` is a backstop.
        let _ = kill_process(getpid(), Signal::KILL);
        exit_child(PANIC_EXIT_CODE);
    }
    Ok(())
}

/// `close_range(3, ~0, 0)` around `keep`—Closes every descriptor `>= 3` that
/// is not in `keep`; for a forked child to drop what it inherited.
///
/// Descriptors 0, 1 and 2 always stay open. The gaps between the kept
/// descriptors are closed with the `close_range` system call (called through
/// `syscall`, since an old C library may lack the wrapper); where the kernel
/// lacks it (`ENOSYS`, or `EPERM` from a seccomp filter that does not know
/// it) each descriptor up to the soft `RLIMIT_NOFILE` is closed in turn.
/// Allocates nothing.
///
/// # Safety
///
/// - Closing a descriptor behind the back of whatever owns it breaks I/O
///   safety: after this call no `OwnedFd`, `File` or other owner of a closed
///   descriptor may be used or dropped (the number may be reused by then).
///   Call it in a forked child that will leave with [`exit_child`] and will
///   only touch `keep` and descriptors it opens afterwards.
/// - No other thread may be using descriptors (in a forked child there is
///   no other thread).
///
/// # References
///  - [Linux `close_range`]
///  - [Linux `getrlimit`]
///
/// [Linux `close_range`]: https://man7.org/linux/man-pages/man2/close_range.2.html
/// [Linux `getrlimit`]: https://man7.org/linux/man-pages/man2/getrlimit.2.html
#[doc(alias = "close_range")]
pub(crate) unsafe fn close_fds_except(keep: &[BorrowedFd<'_>]) -> io::Result<()> {
    // SAFETY: the caller's contract is ours (see `# Safety`).
    unsafe { close_gaps(keep, close_range_or_loop) }
}

/// Calls `close(first, last)` on each maximal range of descriptors `>= 3`
/// that holds none of `keep` (in increasing order; `last` may be `u32::MAX`).
///
/// # Safety
///
/// - `close` closes descriptors; the caller of [`close_fds_except`] answers
///   for every descriptor in the ranges (see its `# Safety`).
unsafe fn close_gaps(
    keep: &[BorrowedFd<'_>],
    close: unsafe fn(u32, u32) -> io::Result<()>,
) -> io::Result<()> {
    let mut first: u32 = 3;
    loop {
        // The smallest kept descriptor at or above `first`: a quadratic scan,
        // fine for the handful a child keeps, and it needs no allocation.
        let next_kept = keep
            .iter()
            .filter_map(|fd| u32::try_from(fd.as_raw_fd()).ok())
            .filter(|&fd| fd >= first)
            .min();
        match next_kept {
            None => {
                // SAFETY: the caller answers for the descriptors closed here.
                return unsafe { close(first, u32::MAX) };
            }
            Some(kept) => {
                if kept > first {
                    // SAFETY: the caller answers for the descriptors closed here.
                    unsafe { close(first, kept - 1) }?;
                }
                match kept.checked_add(1) {
                    Some(next) => first = next,
                    None => return Ok(()),
                }
            }
        }
    }
}

/// Closes descriptors `first..=last` with `close_range`, or one by one where
/// the kernel lacks that call.
///
/// # Safety
///
/// - The caller answers for every descriptor in the range (see
///   [`close_fds_except`]).
unsafe fn close_range_or_loop(first: u32, last: u32) -> io::Result<()> {
    let unsupported = [Errno::NOSYS.raw_os_error(), Errno::PERM.raw_os_error()];
    // SAFETY: forwarded from our caller.
    match unsafe { sys_close_range(first, last) } {
        Err(e)
            if e.raw_os_error()
                .is_some_and(|raw| unsupported.contains(&raw)) =>
        {
            // SAFETY: forwarded from our caller.
            unsafe { close_loop(first, last) };
            Ok(())
        }
        other => other,
    }
}

/// `syscall(SYS_close_range, first, last, 0)`.
///
/// # Safety
///
/// - The caller answers for every descriptor in the range (see
///   [`close_fds_except`]).
unsafe fn sys_close_range(first: u32, last: u32) -> io::Result<()> {
    // SAFETY: `close_range` touches no memory of ours, only the descriptor table; the caller answers for the descriptors it closes. The arguments are passed as `c_ulong`, the width of the `long` the variadic `syscall` reads (32 bits on 32-bit targets, where `c_long` cannot hold `u32::MAX`), and the kernel takes the low 32 bits as the `unsigned int`s it declares.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            libc::c_ulong::from(first),
            libc::c_ulong::from(last),
            0 as libc::c_ulong,
        )
    };
    if ret == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Closes each descriptor in `first..=last` below the soft `RLIMIT_NOFILE`
/// with the C library's `close`, ignoring `EBADF`.
///
/// No descriptor can be opened at or above the soft limit; one opened before
/// the limit was lowered would survive.
///
/// # Safety
///
/// - The caller answers for every descriptor in the range (see
///   [`close_fds_except`]).
unsafe fn close_loop(first: u32, last: u32) {
    // Unlimited is not a value Linux allows for RLIMIT_NOFILE; 2^20 is the
    // default ceiling (`fs.nr_open`) should it ever be reported.
    let limit = getrlimit(Resource::Nofile).current.unwrap_or(1 << 20);
    let end = u64::from(last).min(limit.saturating_sub(1));
    let mut fd = u64::from(first);
    while fd <= end {
        // `fd < limit <= i32::MAX` in practice; stop rather than wrap.
        let Ok(raw) = RawFd::try_from(fd) else { return };
        // SAFETY: the caller answers for the descriptor; `close` on a number that is not open fails with EBADF, which is ignored. (Not rustix's `close`: it asserts success in debug builds, and most numbers here are not open.)
        unsafe { libc::close(raw) };
        fd += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::os::child::Child;
    use crate::os::fd::{pipe, read, write_all_blocking};
    use crate::os::status::ExitStatus;
    use crate::os::test_support::{fork_child, read_to_end, serial};
    use rustix::io::fcntl_dupfd_cloexec;
    use rustix::process::{PidfdFlags, pidfd_open, set_child_subreaper};
    use std::os::fd::{AsFd, OwnedFd};
    use std::time::Duration;

    /// The descriptors `>= 3` open in this process, read from `/proc/self/fd`
    /// (the listing includes the directory's own descriptor).
    fn open_fds_at_least_3() -> Vec<RawFd> {
        let mut fds: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .map(|e| e.unwrap().file_name().to_str().unwrap().parse().unwrap())
            .filter(|&fd| fd >= 3)
            .collect();
        fds.sort_unstable();
        fds
    }

    /// Forks a child that keeps `report` and `high` (a descriptor at 200 or
    /// above, so there is a gap before and after it), closes the rest by
    /// `close`, and reports its open descriptors `>= 3`: they must be exactly
    /// the two kept ones plus the one the listing itself opened.
    fn check_close(close: unsafe fn(u32, u32) -> io::Result<()>) {
        let (report_r, report_w) = pipe().unwrap();
        let (extra_r, extra_w) = pipe().unwrap();
        let high = fcntl_dupfd_cloexec(&extra_w, 200).unwrap();
        let (keep_w, keep_high) = (report_w.as_raw_fd(), high.as_raw_fd());
        let mut child = fork_child(|| {
            // SAFETY: in a forked child that leaves with `_exit` and touches only the kept descriptors afterwards.
            if unsafe { close_gaps(&[report_w.as_fd(), high.as_fd()], close) }.is_err() {
                return 1;
            }
            let listing: Vec<u8> = open_fds_at_least_3()
                .iter()
                .flat_map(|fd| fd.to_le_bytes())
                .collect();
            match write_all_blocking(report_w.as_fd(), &listing) {
                Ok(()) => 0,
                Err(_) => 2,
            }
        });
        drop((report_w, extra_w, high));
        let bytes = read_to_end(report_r.as_fd());
        assert_eq!(
            child.wait(Some(Duration::from_secs(60))).unwrap(),
            Some(ExitStatus::Exited(0))
        );
        let fds: Vec<RawFd> = bytes
            .chunks(4)
            .map(|c| RawFd::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(fds.len(), 3, "kept two, plus the listing's own: {fds:?}");
        assert!(fds.contains(&keep_w) && fds.contains(&keep_high), "{fds:?}");
        drop((report_r, extra_r));
    }

    /// In a child, `close_range` on the gaps around the kept descriptors
    /// leaves only those (and 0, 1, 2) open.
    #[test]
    fn close_fds_except_closes_the_rest() {
        let _serial = serial();
        check_close(close_range_or_loop);
    }

    /// The same with the fallback that closes one descriptor at a time up to
    /// `RLIMIT_NOFILE`, as on kernels without `close_range`.
    #[test]
    fn close_fds_except_fallback_loop() {
        let _serial = serial();
        /// [`close_loop`] with `close_range`'s signature.
        ///
        /// # Safety
        ///
        /// - As for [`close_loop`].
        unsafe fn by_loop(first: u32, last: u32) -> io::Result<()> {
            // SAFETY: forwarded from the caller.
            unsafe { close_loop(first, last) };
            Ok(())
        }
        check_close(by_loop);
    }

    /// A grandchild that called `die_with_parent` is killed by `SIGKILL`
    /// when its parent (the intermediate child) is killed. The test process
    /// is made a child subreaper for the duration, so the orphaned grandchild
    /// is re-parented to it and can be reaped here (no zombie left).
    #[test]
    fn die_with_parent_kills_the_orphan() {
        let _serial = serial();
        set_child_subreaper(Some(getpid())).unwrap();
        let (report_r, report_w) = pipe().unwrap();
        let (hold_r, hold_w) = pipe().unwrap();
        let mut middle = fork_child(|| {
            let me = getpid();
            // SAFETY: in a forked child that leaves with `_exit`; the middle process is single-threaded, so its own fork is unrestricted.
            match unsafe { fork() } {
                Ok(Forked::Child) => run_child(|| {
                    if die_with_parent(me).is_err() {
                        return 1;
                    }
                    let pid = getpid().as_raw_nonzero().get().to_le_bytes();
                    if write_all_blocking(report_w.as_fd(), &pid).is_err() {
                        return 2;
                    }
                    // Blocks until the test closes `hold_w` (it never does
                    // before this process is killed).
                    let _ = read(hold_r.as_fd(), &mut [0u8; 1]);
                    3
                }),
                Ok(Forked::Parent(_)) => {
                    let _ = read(hold_r.as_fd(), &mut [0u8; 1]);
                    4
                }
                Err(_) => 5,
            }
        });
        drop(report_w);
        let mut pid = [0u8; 4];
        let mut got = 0;
        while got < 4 {
            let n = read(report_r.as_fd(), &mut pid[got..]).unwrap();
            assert!(n > 0, "the grandchild died before reporting");
            got += n;
        }
        let grandchild = Pid::from_raw(i32::from_le_bytes(pid)).unwrap();
        // Open the pidfd while the grandchild is certainly alive (it blocks
        // on `hold`), so it names that process and no recycled pid.
        let pidfd: OwnedFd = pidfd_open(grandchild, PidfdFlags::empty()).unwrap();

        middle.signal(Signal::KILL).unwrap();
        let status = middle.wait(Some(Duration::from_secs(60))).unwrap();
        assert_eq!(
            status,
            Some(ExitStatus::Signaled {
                signal: 9,
                core_dumped: false
            })
        );

        // Now an orphan of ours (we are its subreaper): reap it.
        let mut grandchild = Child::from_pidfd(grandchild, pidfd);
        let status = grandchild.wait(Some(Duration::from_secs(60))).unwrap();
        assert_eq!(
            status,
            Some(ExitStatus::Signaled {
                signal: 9,
                core_dumped: false
            })
        );
        set_child_subreaper(None).unwrap();
        drop((hold_r, hold_w, report_r));
    }

    /// A child whose named parent is not its parent (here: pid 1) kills
    /// itself at once, as if the death signal had come.
    #[test]
    fn die_with_parent_when_parent_already_gone() {
        let _serial = serial();
        let mut child = fork_child(|| {
            let _ = die_with_parent(Pid::INIT);
            0
        });
        let status = child.wait(Some(Duration::from_secs(60))).unwrap();
        assert_eq!(
            status,
            Some(ExitStatus::Signaled {
                signal: 9,
                core_dumped: false
            })
        );
    }

    /// A panic in a child body is caught and becomes exit code 101.
    #[test]
    fn run_child_turns_a_panic_into_101() {
        let _serial = serial();
        // The message goes to this test thread's captured output.
        let mut child = fork_child(|| panic!("boom"));
        let status = child.wait(Some(Duration::from_secs(60))).unwrap();
        assert_eq!(status, Some(ExitStatus::Exited(PANIC_EXIT_CODE)));
    }
}
