//! `poll` with a timeout that survives `EINTR`.

use std::io;
use std::time::{Duration, Instant};

use rustix::event::Timespec;
use rustix::io::Errno;

pub(crate) use rustix::event::{PollFd, PollFlags};

/// `poll(fds, timeout)`—Waits until one of `fds` is ready or `timeout` passes;
/// returns how many entries have events (`0` on timeout).
///
/// `None` waits without limit. `EINTR` is retried with the time that is
/// left, so a signal neither ends the wait early nor stretches it. A timeout
/// too large to represent is treated as no limit.
///
/// # References
///  - [Linux]
///
/// [Linux]: https://man7.org/linux/man-pages/man2/poll.2.html
#[doc(alias = "ppoll")]
pub(crate) fn poll(fds: &mut [PollFd<'_>], timeout: Option<Duration>) -> io::Result<usize> {
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    let mut remaining = timeout;
    loop {
        let ts = remaining.and_then(|d| Timespec::try_from(d).ok());
        match rustix::event::poll(fds, ts.as_ref()) {
            Ok(n) => return Ok(n),
            Err(Errno::INTR) => {
                if let Some(deadline) = deadline {
                    remaining = Some(deadline.saturating_duration_since(Instant::now()));
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// The time left until `deadline` (`None`: no deadline, wait forever).
pub(crate) fn remaining(deadline: Option<Instant>) -> Option<Duration> {
    deadline.map(|d| d.saturating_duration_since(Instant::now()))
}

/// The deadline `timeout` from now (`None` if there is no timeout, or it is
/// too far away to represent, which amounts to the same).
pub(crate) fn deadline(timeout: Option<Duration>) -> Option<Instant> {
    timeout.and_then(|t| Instant::now().checked_add(t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::os::fd::{pipe, write};
    use crate::os::test_support::serial;
    use std::os::fd::AsFd;

    /// A poll on an empty pipe times out with `0` after (not before) the
    /// timeout; a zero timeout returns at once.
    #[test]
    fn poll_timeout_returns_zero() {
        let _serial = serial();
        let (r, _w) = pipe().unwrap();
        let mut fds = [PollFd::new(&r, PollFlags::IN)];
        assert_eq!(poll(&mut fds, Some(Duration::ZERO)).unwrap(), 0);
        let start = Instant::now();
        assert_eq!(poll(&mut fds, Some(Duration::from_millis(30))).unwrap(), 0);
        assert!(start.elapsed() >= Duration::from_millis(30));
    }

    /// A readable pipe is reported, with `POLLIN` in `revents`.
    #[test]
    fn poll_reports_readable() {
        let _serial = serial();
        let (r, w) = pipe().unwrap();
        write(w.as_fd(), b"x").unwrap();
        let mut fds = [PollFd::new(&r, PollFlags::IN)];
        assert_eq!(poll(&mut fds, Some(Duration::from_secs(60))).unwrap(), 1);
        assert!(fds[0].revents().contains(PollFlags::IN));
    }
}
