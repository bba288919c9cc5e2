//! File descriptors: pipes, reads and writes that retry `EINTR`, and an
//! eventfd wake-up.
//!
//! Reads and writes return `WouldBlock` on a non-blocking descriptor with
//! nothing to do (`EAGAIN` becomes [`io::ErrorKind::WouldBlock`] through the
//! usual errno mapping), so a caller that polls can tell "not now" from
//! "broken".

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::event::{EventfdFlags, PollFd, PollFlags, eventfd};
use rustix::fs::{OFlags, fcntl_getfl, fcntl_setfl};
use rustix::io::Errno;
use rustix::pipe::{PipeFlags, pipe_with};

/// `pipe2(fds, O_CLOEXEC)`—Creates a pipe; returns `(read end, write end)`.
///
/// Both ends close on `exec`. A `fork`ed child inherits them regardless;
/// see [`close_fds_except`](super::fork::close_fds_except).
///
/// # References
///  - [Linux]
///
/// [Linux]: https://man7.org/linux/man-pages/man2/pipe.2.html
#[doc(alias = "pipe2")]
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(pipe_with(PipeFlags::CLOEXEC)?)
}

/// `fcntl(fd, F_SETPIPE_SZ, size)`—Asks for a pipe buffer of `size` bytes,
/// so large frames cross in fewer reads, writes and wake-ups.
///
/// Best effort: an unprivileged process may not exceed
/// `/proc/sys/fs/pipe-max-size` (1 MiB by default), and the kernel rounds up
/// to a power of two pages. Returns the size the pipe has now.
///
/// # References
///  - [Linux]
///
/// [Linux]: https://man7.org/linux/man-pages/man2/F_SETPIPE_SZ.2const.html
#[doc(alias = "F_SETPIPE_SZ")]
pub(crate) fn grow_pipe(fd: BorrowedFd<'_>, size: usize) -> io::Result<usize> {
    Ok(rustix::pipe::fcntl_setpipe_size(fd, size)?)
}

/// `fcntl(fd, F_SETFL, flags ± O_NONBLOCK)`—Makes reads and writes on `fd`
/// fail with `WouldBlock` instead of waiting (or wait again).
///
/// The flag belongs to the open file description, so every duplicate of
/// `fd`, in this process or another, sees the change.
///
/// # References
///  - [Linux]
///
/// [Linux]: https://man7.org/linux/man-pages/man2/fcntl.2.html
#[doc(alias = "O_NONBLOCK")]
pub(crate) fn set_nonblocking(fd: BorrowedFd<'_>, nonblocking: bool) -> io::Result<()> {
    let flags = fcntl_getfl(fd)?;
    let wanted = if nonblocking {
        flags | OFlags::NONBLOCK
    } else {
        flags - OFlags::NONBLOCK
    };
    if wanted != flags {
        fcntl_setfl(fd, wanted)?;
    }
    Ok(())
}

/// `read(fd, buf)`—Reads up to `buf.len()` bytes; `Ok(0)` is end of file.
///
/// Retries `EINTR`. On a non-blocking descriptor with nothing to read the
/// error kind is [`io::ErrorKind::WouldBlock`].
///
/// # References
///  - [Linux]
///
/// [Linux]: https://man7.org/linux/man-pages/man2/read.2.html
pub(crate) fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match rustix::io::read(fd, &mut *buf) {
            Err(Errno::INTR) => continue,
            other => return Ok(other?),
        }
    }
}

/// `write(fd, buf)`—Writes up to `buf.len()` bytes; returns how many went.
///
/// Retries `EINTR`. On a non-blocking descriptor that is full the error kind
/// is [`io::ErrorKind::WouldBlock`]. Writing to a pipe with no reader fails
/// with `EPIPE` (Rust programs ignore `SIGPIPE` by default).
///
/// # References
///  - [Linux]
///
/// [Linux]: https://man7.org/linux/man-pages/man2/write.2.html
pub(crate) fn write(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    loop {
        match rustix::io::write(fd, buf) {
            Err(Errno::INTR) => continue,
            other => return Ok(other?),
        }
    }
}

/// Writes all of `buf`, waiting as long as it takes: the worker side's way to
/// send a whole frame.
///
/// Works on blocking and non-blocking descriptors alike: on `WouldBlock` it
/// waits in `poll` for `POLLOUT` and tries again. A write that makes no
/// progress fails with [`io::ErrorKind::WriteZero`].
///
/// # References
///  - [Linux `write`]
///  - [Linux `poll`]
///
/// [Linux `write`]: https://man7.org/linux/man-pages/man2/write.2.html
/// [Linux `poll`]: https://man7.org/linux/man-pages/man2/poll.2.html
pub(crate) fn write_all_blocking(fd: BorrowedFd<'_>, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        match write(fd, buf) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let mut fds = [PollFd::from_borrowed_fd(fd, PollFlags::OUT)];
                super::poll::poll(&mut fds, None)?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A level-triggered wake-up flag that `poll` can watch: an eventfd.
///
/// [`wake`](Self::wake) may be called any number of times, from any thread;
/// the descriptor stays readable, as one event, until [`drain`](Self::drain)
/// clears it. Wakes coalesce: ten wakes before a drain are one readable
/// event, and one drain clears them all.
#[derive(Debug)]
pub(crate) struct Wakeup {
    /// The eventfd, created `EFD_CLOEXEC | EFD_NONBLOCK`.
    fd: OwnedFd,
}

impl Wakeup {
    /// `eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)`—Creates a cleared wake-up.
    ///
    /// # References
    ///  - [Linux]
    ///
    /// [Linux]: https://man7.org/linux/man-pages/man2/eventfd.2.html
    pub(crate) fn new() -> io::Result<Self> {
        let fd = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        Ok(Self { fd })
    }

    /// `write(efd, 1)`—Makes the descriptor readable (if it was not already).
    ///
    /// # References
    ///  - [Linux]
    ///
    /// [Linux]: https://man7.org/linux/man-pages/man2/eventfd.2.html
    pub(crate) fn wake(&self) -> io::Result<()> {
        match write(self.fd.as_fd(), &1u64.to_ne_bytes()) {
            Ok(_) => Ok(()),
            // The counter is at its maximum: it is readable already.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `read(efd)`—Clears every wake so far; a no-op if there was none.
    ///
    /// # References
    ///  - [Linux]
    ///
    /// [Linux]: https://man7.org/linux/man-pages/man2/eventfd.2.html
    pub(crate) fn drain(&self) -> io::Result<()> {
        let mut counter = [0u8; 8];
        match read(self.fd.as_fd(), &mut counter) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The descriptor to watch for `POLLIN`.
    pub(crate) fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::os::poll::poll;
    use crate::os::test_support::serial;
    use rustix::io::{FdFlags, fcntl_getfd};
    use std::time::Duration;

    /// Both pipe ends are close-on-exec; an empty non-blocking read end says
    /// `WouldBlock`; bytes written come back; switching back to blocking
    /// clears `O_NONBLOCK`.
    #[test]
    fn pipe_nonblocking_read_would_block() {
        let _serial = serial();
        let (r, w) = pipe().unwrap();
        assert!(fcntl_getfd(&r).unwrap().contains(FdFlags::CLOEXEC));
        assert!(fcntl_getfd(&w).unwrap().contains(FdFlags::CLOEXEC));

        set_nonblocking(r.as_fd(), true).unwrap();
        let mut buf = [0u8; 8];
        let err = read(r.as_fd(), &mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);

        assert_eq!(write(w.as_fd(), b"hi").unwrap(), 2);
        assert_eq!(read(r.as_fd(), &mut buf).unwrap(), 2);
        assert_eq!(&buf[..2], b"hi");

        set_nonblocking(r.as_fd(), false).unwrap();
        assert!(!fcntl_getfl(&r).unwrap().contains(OFlags::NONBLOCK));
        drop(w);
        assert_eq!(
            read(r.as_fd(), &mut buf).unwrap(),
            0,
            "EOF once the writer is gone"
        );
    }

    /// Many wakes make one readable event; one drain clears them all; a
    /// drain with nothing pending is a no-op.
    #[test]
    fn wakeup_coalesces() {
        let _serial = serial();
        let wakeup = Wakeup::new().unwrap();
        let readable = |w: &Wakeup| {
            let mut fds = [PollFd::from_borrowed_fd(w.as_fd(), PollFlags::IN)];
            poll(&mut fds, Some(Duration::ZERO)).unwrap()
        };
        assert_eq!(readable(&wakeup), 0);
        for _ in 0..5 {
            wakeup.wake().unwrap();
        }
        assert_eq!(readable(&wakeup), 1);
        wakeup.drain().unwrap();
        assert_eq!(readable(&wakeup), 0, "one drain clears every wake");
        wakeup.drain().unwrap();
        assert_eq!(readable(&wakeup), 0);
    }

    /// `write_all_blocking` pushes 1 MiB through a non-blocking pipe (far
    /// more than the pipe holds) by waiting for `POLLOUT`, while a reader
    /// thread drains it; every byte arrives in order.
    #[test]
    fn write_all_blocking_waits_on_a_full_nonblocking_pipe() {
        let _serial = serial();
        let (r, w) = pipe().unwrap();
        set_nonblocking(w.as_fd(), true).unwrap();
        let data: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            let mut buf = [0u8; 8192];
            loop {
                match read(r.as_fd(), &mut buf).unwrap() {
                    0 => return got,
                    n => got.extend_from_slice(&buf[..n]),
                }
            }
        });
        write_all_blocking(w.as_fd(), &data).unwrap();
        drop(w);
        assert!(reader.join().unwrap() == data);
    }
}
