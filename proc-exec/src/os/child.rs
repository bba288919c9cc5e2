//! A child process held by its pidfd.
//!
//! A pid names a process only until the process is reaped; after that the
//! number may be given to a new, unrelated process. A pidfd names one process
//! for as long as the descriptor is open, so signals sent and waits made
//! through it cannot hit a stranger. [`Child`] owns both and never uses the
//! bare pid for anything but display and `waitpid` checks.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustix::io::Errno;
use rustix::process::{
    Pid, PidfdFlags, Signal, WaitId, WaitIdOptions, WaitOptions, kill_process, pidfd_open,
    pidfd_send_signal, waitid, waitpid,
};

use super::fork_server::{Link, Notice};
use super::poll::{PollFd, PollFlags, deadline, poll, remaining};
use super::status::ExitStatus;

/// A child process: its pid, a pidfd for it, and its exit status once known.
///
/// Either a child of this process (reaped here with `waitid` on the pidfd) or
/// a worker started by a [`ForkServer`](super::fork_server::ForkServer) (reaped by the server,
/// which sends the status over its socket; see that module).
///
/// # Dropping
///
/// Dropping a `Child` whose status is not known yet kills it with `SIGKILL`
/// and waits for it to end (reaping it, or for a server's child receiving its
/// notice), so a dropped `Child` never leaves a zombie or a stray process.
/// That wait blocks until the kernel has ended the process.
///
/// # Statuses collected elsewhere
///
/// The application owns `SIGCHLD`: with it ignored, the kernel reaps our
/// children itself; a handler calling `waitpid(-1, ...)` may reap them
/// before we do. Either way `waitid` then fails with `ECHILD` for a process
/// that has ended; its status is reported as [`ExitStatus::Unknown`], and
/// kept like any other, so nothing waits for it again.
#[derive(Debug)]
pub(crate) struct Child {
    /// The process id, for display and for callers that need the number.
    pid: Pid,
    /// Names this very process; readable once it has exited. Shared with
    /// the [`Signaller`]s handed out.
    pidfd: Arc<OwnedFd>,
    /// Set once the process has been reaped (here or by the fork server).
    status: Option<ExitStatus>,
    /// Who reaps the process.
    reaper: Reaper,
}

/// Who reaps a [`Child`].
#[derive(Debug)]
enum Reaper {
    /// This process: `waitid(P_PIDFD)` here.
    Us,
    /// A fork server, which reports the status as notice `id` over `link`.
    Server {
        /// The state shared with the server handle and its other children.
        link: Arc<Link>,
        /// The worker's number in the server's messages.
        id: u32,
    },
}

impl Child {
    /// `pidfd_open(pid, 0)`—Takes charge of `pid`, a child just forked by
    /// this process; call it in the parent right after `fork`.
    ///
    /// If the pidfd cannot be opened (for example at the descriptor limit),
    /// the child is killed and reaped through its pid before the error is
    /// returned, so no zombie is left. That is safe because an unreaped child's
    /// pid cannot be reused.
    ///
    /// # References
    ///  - [Linux]
    ///
    /// [Linux]: https://man7.org/linux/man-pages/man2/pidfd_open.2.html
    pub(crate) fn spawned(pid: Pid) -> io::Result<Self> {
        match pidfd_open(pid, PidfdFlags::empty()) {
            Ok(pidfd) => Ok(Self::from_pidfd(pid, pidfd)),
            Err(e) => {
                let _ = kill_process(pid, Signal::KILL);
                while let Err(Errno::INTR) = waitpid(Some(pid), WaitOptions::empty()) {}
                Err(e.into())
            }
        }
    }

    /// Takes charge of the process `pidfd` names, which is (or will be, by
    /// re-parenting to this process as a child subreaper, before it exits) a
    /// child of this process.
    pub(crate) fn from_pidfd(pid: Pid, pidfd: OwnedFd) -> Self {
        Self {
            pid,
            pidfd: Arc::new(pidfd),
            status: None,
            reaper: Reaper::Us,
        }
    }

    /// A worker of a fork server: the server reaps it and reports notice `id`.
    pub(super) fn from_server(pid: Pid, pidfd: OwnedFd, link: Arc<Link>, id: u32) -> Self {
        Self {
            pid,
            pidfd: Arc::new(pidfd),
            status: None,
            reaper: Reaper::Server { link, id },
        }
    }

    /// The process id.
    pub(crate) fn pid(&self) -> Pid {
        self.pid
    }

    /// The pidfd: it polls readable (`POLLIN`) once the process has exited.
    ///
    /// For a fork server's worker, readable means exited, not yet reported:
    /// the status arrives on the server's socket a moment later.
    pub(crate) fn pidfd(&self) -> BorrowedFd<'_> {
        self.pidfd.as_fd()
    }

    /// A handle through which another thread can signal this process
    /// without touching the `Child`.
    pub(crate) fn signaller(&self) -> Signaller {
        Signaller(Arc::clone(&self.pidfd))
    }

    /// Whether the exit status is known (the process has been reaped).
    #[cfg(test)]
    pub(crate) fn is_reaped(&self) -> bool {
        self.status.is_some()
    }

    /// `waitid(P_PIDFD, pidfd, WEXITED | WNOHANG)`—The exit status if the
    /// process has ended, `Ok(None)` if it is still running. Never blocks.
    ///
    /// The status is kept once known; later calls return it again.
    ///
    /// For a fork server's worker this reads the server's pending notices
    /// instead. If the server has gone (it was killed, or its handle dropped
    /// while the worker ran), the status is lost: once the worker has ended
    /// it is [`ExitStatus::Unknown`], unless this process is its subreaper, in
    /// which case the worker is reaped here.
    ///
    /// # References
    ///  - [Linux]
    ///
    /// [Linux]: https://man7.org/linux/man-pages/man2/waitid.2.html
    pub(crate) fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if self.status.is_some() {
            return Ok(self.status);
        }
        let status = match &self.reaper {
            Reaper::Us => self.reap()?,
            Reaper::Server { link, id } => match link.try_take(*id) {
                Notice::Status(status) => Some(status),
                Notice::Pending => None,
                Notice::ServerGone => self.orphan_wait(Some(Instant::now()))?,
            },
        };
        self.status = status;
        Ok(status)
    }

    /// Waits up to `timeout` (`None`: without limit) for the process to end;
    /// returns its status, or `Ok(None)` on timeout.
    ///
    /// Polls the pidfd, then reaps. For a fork server's worker it waits for
    /// the server's notice instead (see [`try_wait`](Self::try_wait)).
    ///
    /// # References
    ///  - [Linux `poll`]
    ///  - [Linux `waitid`]
    ///
    /// [Linux `poll`]: https://man7.org/linux/man-pages/man2/poll.2.html
    /// [Linux `waitid`]: https://man7.org/linux/man-pages/man2/waitid.2.html
    pub(crate) fn wait(&mut self, timeout: Option<Duration>) -> io::Result<Option<ExitStatus>> {
        if self.status.is_some() {
            return Ok(self.status);
        }
        let deadline = deadline(timeout);
        let status = match &self.reaper {
            Reaper::Us => loop {
                if let Some(status) = self.reap()? {
                    break Some(status);
                }
                if !self.poll_exited(deadline)? {
                    break None;
                }
            },
            Reaper::Server { link, id } => match link.wait_notice(*id, deadline)? {
                Notice::Status(status) => Some(status),
                Notice::Pending => None,
                Notice::ServerGone => self.orphan_wait(deadline)?,
            },
        };
        self.status = status;
        Ok(status)
    }

    /// `pidfd_send_signal(pidfd, sig, NULL, 0)`—Sends `sig` to the process.
    ///
    /// Does nothing if the process has been reaped or has already ended
    /// (`ESRCH`): the pidfd guarantees the signal reaches this process or no
    /// process.
    ///
    /// # References
    ///  - [Linux]
    ///
    /// [Linux]: https://man7.org/linux/man-pages/man2/pidfd_send_signal.2.html
    pub(crate) fn signal(&self, sig: Signal) -> io::Result<()> {
        if self.status.is_some() {
            return Ok(());
        }
        send_signal(&self.pidfd, sig)
    }

    /// `waitid(P_PIDFD, pidfd, WEXITED | WNOHANG)`, retrying `EINTR`.
    ///
    /// `ECHILD` for a process that has ended means its status was collected
    /// elsewhere (see [`Child`]): [`ExitStatus::Unknown`]. For one still
    /// running (an orphan not yet re-parented to us) it is `None`, as for
    /// any running process.
    fn reap(&self) -> io::Result<Option<ExitStatus>> {
        loop {
            let id = WaitId::PidFd(self.pidfd.as_fd());
            match waitid(id, WaitIdOptions::EXITED | WaitIdOptions::NOHANG) {
                Ok(status) => return Ok(status.as_ref().and_then(ExitStatus::from_waitid)),
                Err(Errno::INTR) => continue,
                Err(Errno::CHILD) => {
                    let ended = self.poll_exited(Some(Instant::now()))?;
                    return Ok(ended.then_some(ExitStatus::Unknown));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Waits until `deadline` for the pidfd to become readable; returns
    /// whether it did (the process has exited).
    fn poll_exited(&self, deadline: Option<Instant>) -> io::Result<bool> {
        let mut fds = [PollFd::new(&self.pidfd, PollFlags::IN)];
        Ok(poll(&mut fds, remaining(deadline))? > 0)
    }

    /// A fork server's worker whose server has gone: waits until `deadline`
    /// for the worker to end, then reaps it if it has become our child (this
    /// process is a subreaper), or reports its status as
    /// [`ExitStatus::Unknown`].
    fn orphan_wait(&self, deadline: Option<Instant>) -> io::Result<Option<ExitStatus>> {
        if !self.poll_exited(deadline)? {
            return Ok(None);
        }
        Ok(Some(self.reap()?.unwrap_or(ExitStatus::Unknown)))
    }
}

/// Signals one [`Child`] from any thread; from [`Child::signaller`].
///
/// It holds the child's pidfd, so a signal reaches that process or, once it
/// has ended (even reaped and its pid reused), no process at all.
#[derive(Debug, Clone)]
pub(crate) struct Signaller(Arc<OwnedFd>);

impl Signaller {
    /// `pidfd_send_signal(pidfd, sig, NULL, 0)`—Sends `sig` to the process;
    /// nothing if it has ended (`ESRCH`).
    ///
    /// # References
    ///  - [Linux]
    ///
    /// [Linux]: https://man7.org/linux/man-pages/man2/pidfd_send_signal.2.html
    pub(crate) fn signal(&self, sig: Signal) -> io::Result<()> {
        send_signal(&self.0, sig)
    }
}

/// `pidfd_send_signal`, with an ended process (`ESRCH`) no error.
fn send_signal(pidfd: &OwnedFd, sig: Signal) -> io::Result<()> {
    match pidfd_send_signal(pidfd, sig) {
        Ok(()) | Err(Errno::SRCH) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

impl Drop for Child {
    /// Kills (`SIGKILL`) and waits for a process whose status is not known,
    /// so no zombie remains; see [`Child`].
    fn drop(&mut self) {
        if self.status.is_some() {
            return;
        }
        let _ = self.signal(Signal::KILL);
        // Waits for the end and the status (or its notice), neither of which
        // has been taken yet: a taken status is kept in `self.status`.
        let _ = self.wait(None);
    }
}

#[cfg(test)]
#[allow(unsafe_code)] // the children close inherited descriptors
mod tests {
    use super::*;
    use crate::os::fd::{pipe, read, write_all_blocking};
    use crate::os::fork::{close_fds_except, exit_child};
    use crate::os::test_support::{fork_child, read_to_end, serial};
    use rustix::process::{DumpableBehavior, set_dumpable_behavior};

    /// Generous: only a guard against hanging, never reached when all is well.
    const LONG: Option<Duration> = Some(Duration::from_secs(60));

    /// A child writes to a pipe and exits with 7: the parent reads its bytes,
    /// `wait` reports `Exited(7)` (exitcode 7), and the status is kept.
    #[test]
    fn exit_code_and_output() {
        let _serial = serial();
        let (r, w) = pipe().unwrap();
        let mut child = fork_child(|| {
            // SAFETY: a forked child that leaves with `_exit`.
            if unsafe { close_fds_except(&[w.as_fd()]) }.is_err() {
                return 1;
            }
            if write_all_blocking(w.as_fd(), b"hello").is_err() {
                return 2;
            }
            exit_child(7)
        });
        drop(w);
        assert_eq!(read_to_end(r.as_fd()), b"hello");
        let status = child.wait(LONG).unwrap().unwrap();
        assert_eq!(status, ExitStatus::Exited(7));
        assert_eq!(status.exitcode(), Some(7));
        assert_eq!(status.to_string(), "exited with code 7");
        assert!(child.is_reaped());
        assert_eq!(child.try_wait().unwrap(), Some(status), "kept once reaped");
        assert_eq!(child.wait(None).unwrap(), Some(status));
    }

    /// A running child: `try_wait` and a zero-timeout `wait` say `None`;
    /// `signal(SIGKILL)` ends it with `Signaled 9` (exitcode -9); signalling
    /// after the reap is a no-op.
    #[test]
    fn sigkill_through_signal() {
        let _serial = serial();
        let (hold_r, hold_w) = pipe().unwrap();
        let mut child = fork_child(|| {
            let _ = read(hold_r.as_fd(), &mut [0u8; 1]);
            0
        });
        assert_eq!(child.try_wait().unwrap(), None);
        assert_eq!(child.wait(Some(Duration::ZERO)).unwrap(), None);
        child.signal(Signal::KILL).unwrap();
        let status = child.wait(LONG).unwrap().unwrap();
        assert_eq!(
            status,
            ExitStatus::Signaled {
                signal: 9,
                core_dumped: false
            }
        );
        assert_eq!(status.exitcode(), Some(-9));
        assert_eq!(status.to_string(), "killed by signal 9 (SIGKILL)");
        child.signal(Signal::KILL).unwrap();
        drop((hold_r, hold_w));
    }

    /// `try_wait` is `None` while the child blocks on a pipe the test holds;
    /// closing the pipe lets it exit with 3.
    #[test]
    fn try_wait_is_none_until_the_child_exits() {
        let _serial = serial();
        let (hold_r, hold_w) = pipe().unwrap();
        let mut child = fork_child(|| {
            // SAFETY: a forked child that leaves with `_exit`; dropping the inherited write end lets the read below see end of file.
            if unsafe { close_fds_except(&[hold_r.as_fd()]) }.is_err() {
                return 1;
            }
            match read(hold_r.as_fd(), &mut [0u8; 1]) {
                Ok(0) => 3,
                _ => 4,
            }
        });
        assert_eq!(child.try_wait().unwrap(), None);
        drop(hold_w);
        assert_eq!(child.wait(LONG).unwrap(), Some(ExitStatus::Exited(3)));
        drop(hold_r);
    }

    /// `std::process::abort()` in a child is `Signaled 6`; the child is made
    /// non-dumpable first so no core file is written and `core_dumped` is
    /// false whatever `core_pattern` says.
    #[test]
    fn abort_is_signal_6() {
        let _serial = serial();
        let mut child = fork_child(|| {
            let _ = set_dumpable_behavior(DumpableBehavior::NotDumpable);
            std::process::abort()
        });
        let status = child.wait(LONG).unwrap().unwrap();
        assert_eq!(
            status,
            ExitStatus::Signaled {
                signal: 6,
                core_dumped: false
            }
        );
        assert_eq!(status.to_string(), "killed by signal 6 (SIGABRT)");
    }

    /// Dropping a running child kills and reaps it: `waitpid` on its pid
    /// then fails with `ECHILD` (no zombie is left).
    #[test]
    fn drop_of_a_running_child_leaves_no_zombie() {
        let _serial = serial();
        let (hold_r, hold_w) = pipe().unwrap();
        let child = fork_child(|| {
            let _ = read(hold_r.as_fd(), &mut [0u8; 1]);
            0
        });
        let pid = child.pid();
        drop(child);
        assert_eq!(
            waitpid(Some(pid), WaitOptions::NOHANG).unwrap_err(),
            Errno::CHILD
        );
        drop((hold_r, hold_w));
    }
}
