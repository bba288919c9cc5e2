//! Starting a fresh copy of this program: `fork` then `exec` of our own
//! executable, with a few descriptors kept open across the `exec`.
//!
//! A forked child of a threaded process is a copy of every lock as it stood
//! (see [`fork`](super::fork)); a child that `exec`s at once leaves that copy
//! behind before touching any of it. Between the `fork` and the `exec` the
//! child here calls only async-signal-safe functions (`fcntl`, `fexecve`,
//! `write`, `_exit`) on memory prepared by the parent beforehand, so it takes
//! no lock at all. The new image starts single-threaded with a fresh heap:
//! what it does before `main` is up to the program (see `divert.rs`).
//!
//! # Reporting back
//!
//! The parent learns how the start went through a *report* pipe whose write
//! end the child keeps across the `exec`. If `exec` fails, the child writes
//! the `errno` there and exits with [`EXIT_EXEC_FAILED`]; once the new image
//! is set up it writes its own word there (see [`await_report`]). The parent
//! waits for a word or for the child's pidfd, whichever comes first, so a
//! copy of the write end held by some other process (the application forking
//! at the same moment) cannot make it wait: it never relies on end of file.
#![allow(unsafe_code)]

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use rustix::fs::{Mode, OFlags, open};
use rustix::process::Pid;

use super::child::Child;
use super::fd;
use super::fork::{Forked, exit_child, fork};
use super::poll::{PollFd, PollFlags, poll};

/// The exit code of a child whose `exec` failed (the shell's "command not
/// executable").
pub(crate) const EXIT_EXEC_FAILED: i32 = 126;

/// Where Linux shows the running program's executable.
const SELF_EXE: &str = "/proc/self/exe";

/// This program's executable, held open so that it can be started again.
///
/// Opened once (with `O_PATH`, so an executable without read permission
/// works too) and `exec`ed through the descriptor: every copy runs exactly
/// the file this process runs, even if a new file has been renamed over its
/// path since (Linux refuses writes to a running executable, `ETXTBSY`, so
/// its contents cannot change either).
#[derive(Debug)]
pub(crate) struct Program {
    /// `/proc/self/exe`, opened `O_PATH | O_CLOEXEC`.
    exe: OwnedFd,
    /// The name the copies get as `argv[0]` (what `ps` shows): ours.
    argv0: CString,
}

impl Program {
    /// `open("/proc/self/exe", O_PATH | O_CLOEXEC)`—Opens this program's
    /// executable.
    ///
    /// # Errors
    ///
    /// When `/proc` is not mounted (or hides `self/exe`), the error says so.
    ///
    /// # References
    ///  - [Linux `proc_pid_exe(5)`]
    ///
    /// [Linux `proc_pid_exe(5)`]: https://man7.org/linux/man-pages/man5/proc_pid_exe.5.html
    pub(crate) fn current() -> io::Result<Self> {
        let exe = open(SELF_EXE, OFlags::PATH | OFlags::CLOEXEC, Mode::empty()).map_err(|e| {
            io::Error::new(
                io::Error::from(e).kind(),
                format!("cannot open {SELF_EXE} to start a fresh copy of this program: {e} (is /proc mounted?)"),
            )
        })?;
        let argv0 = std::env::args_os()
            .next()
            .unwrap_or_else(|| OsString::from("proc-exec"));
        let argv0 = CString::new(argv0.into_vec()).unwrap_or_else(|_| c"proc-exec".to_owned());
        Ok(Self { exe, argv0 })
    }

    /// Forks a child that `exec`s this program with `var` set in its
    /// environment (replacing any inherited value) and `keep`, plus
    /// `report`, open across the `exec` under the same numbers. Returns
    /// the child's pid; the caller takes charge of it at once
    /// ([`Child::spawned`]) and reads `report`'s other end with
    /// [`await_report`].
    ///
    /// Every other descriptor of ours is close-on-exec (std and this crate
    /// open them so) or is closed by the new image itself.
    ///
    /// # References
    ///  - [Linux `fexecve`]
    ///  - [Linux `fcntl`, `F_SETFD`]
    ///
    /// [Linux `fexecve`]: https://man7.org/linux/man-pages/man3/fexecve.3.html
    /// [Linux `fcntl`, `F_SETFD`]: https://man7.org/linux/man-pages/man2/fcntl.2.html
    pub(crate) fn spawn(
        &self,
        var: (&OsStr, &OsStr),
        keep: &[BorrowedFd<'_>],
        report: BorrowedFd<'_>,
    ) -> io::Result<Pid> {
        // Everything the child needs is built here, before the fork.
        let env = environment(var)?;
        let mut envp: Vec<*const libc::c_char> = env.iter().map(|v| v.as_ptr()).collect();
        envp.push(std::ptr::null());
        let argv = [self.argv0.as_ptr(), std::ptr::null()];
        let mut raw_keep: Vec<libc::c_int> = keep.iter().map(|fd| fd.as_raw_fd()).collect();
        raw_keep.push(report.as_raw_fd());
        let exe = self.exe.as_raw_fd();
        let report = report.as_raw_fd();
        // SAFETY: the child calls only `fcntl`, `fexecve`, `write` and `_exit`, all async-signal-safe, on the descriptors and the `argv`/`envp` arrays built above (which stay alive: the child's copy of this frame is never left), and leaves only by `exec` or `_exit`. It takes no lock.
        match unsafe { fork() }? {
            Forked::Child => {
                for &fd in &raw_keep {
                    // SAFETY: `fd` is open (borrowed by our caller); clearing its close-on-exec flag changes nothing else.
                    if unsafe { libc::fcntl(fd, libc::F_SETFD, 0) } == -1 {
                        fail(report);
                    }
                }
                // SAFETY: `exe` is open; `argv` and `envp` are null-terminated arrays of pointers to NUL-terminated strings that outlive the call. On success it does not return.
                unsafe { libc::fexecve(exe, argv.as_ptr(), envp.as_ptr()) };
                fail(report)
            }
            Forked::Parent(pid) => Ok(pid),
        }
    }
}

/// In the forked child: reports `errno` on `report` and exits.
fn fail(report: libc::c_int) -> ! {
    let errno = io::Error::last_os_error().raw_os_error().unwrap_or(0);
    let word = errno.to_le_bytes();
    // SAFETY: `write` is async-signal-safe; `word` is a live local of the length given. Nothing can be done about a failed write: the exit code still tells.
    let _ = unsafe { libc::write(report, word.as_ptr().cast(), word.len()) };
    exit_child(EXIT_EXEC_FAILED)
}

/// This process's environment as `KEY=VALUE` strings, with `var` set.
fn environment((name, value): (&OsStr, &OsStr)) -> io::Result<Vec<CString>> {
    let entry = |key: &OsStr, value: &OsStr| {
        let mut bytes = Vec::with_capacity(key.len() + 1 + value.len());
        bytes.extend_from_slice(key.as_bytes());
        bytes.push(b'=');
        bytes.extend_from_slice(value.as_bytes());
        // The environment cannot hold NUL bytes; only `var` could.
        CString::new(bytes).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
    };
    let mut env = Vec::new();
    for (key, value) in std::env::vars_os() {
        if key != name {
            env.push(entry(&key, &value)?);
        }
    }
    env.push(entry(name, value)?);
    Ok(env)
}

/// What a started child reported on its report pipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Report {
    /// A word from the new image (its meaning is the caller's).
    Word(i32),
    /// The `exec` failed with this `errno` (the child has exited).
    ExecFailed(i32),
    /// The child ended, or closed the pipe, without a word.
    Nothing,
}

/// Waits until the child reports on `report` (the read end; the write end
/// must be closed in this process already) or ends.
///
/// The `exec` failure's `errno` and the new image's words share the pipe:
/// the child's exit code tells them apart, so on [`Report::Word`] the caller
/// must be ready for a child that has exited with [`EXIT_EXEC_FAILED`]. To
/// keep that simple the new image only writes words that are never an
/// `errno`: zero or negative.
pub(crate) fn await_report(report: &OwnedFd, child: &Child) -> io::Result<Report> {
    let mut word = [0u8; 4];
    let mut got = 0;
    fd::set_nonblocking(report.as_fd(), true)?;
    loop {
        let mut fds = [
            PollFd::new(report, PollFlags::IN),
            PollFd::from_borrowed_fd(child.pidfd(), PollFlags::IN),
        ];
        poll(&mut fds, None)?;
        let readable = !fds[0].revents().is_empty();
        let ended = !fds[1].revents().is_empty();
        if readable {
            match fd::read(report.as_fd(), &mut word[got..]) {
                Ok(0) => return Ok(Report::Nothing),
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            if got == word.len() {
                let value = i32::from_le_bytes(word);
                return Ok(if value > 0 {
                    Report::ExecFailed(value)
                } else {
                    Report::Word(value)
                });
            }
        } else if ended {
            return Ok(Report::Nothing);
        }
    }
}
