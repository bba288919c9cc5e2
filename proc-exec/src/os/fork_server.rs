//! A fork server: one single-threaded process that forks the workers.
//!
//! Forking the multi-threaded pool process copies whatever locks its other
//! threads hold (see [`fork`](super::fork)). So the pool starts one clean,
//! single-threaded *server* (a fresh copy of the program, `exec`ed: see the
//! crate's `start` module) and asks it for every worker. The server runs
//! one thread and takes no lock anyone else could hold, so its forks carry
//! no foreign locks, and each worker starts in a clean copy of the server,
//! not of the busy parent.
//!
//! # Lifecycle
//!
//! - [`ForkServer::start`] makes a `socketpair(AF_UNIX, SOCK_SEQPACKET)` and
//!   has its caller start the server process over one end. The server (in
//!   [`serve_socket`]) takes `SIGCHLD` and its signal mask back from the
//!   application ([`signals`]), and loops in `poll` over its socket and its
//!   workers' pidfds. It was set up by its starter to die with its parent
//!   ([`die_with_parent`]) and to hold no descriptor but its socket.
//! - [`ForkServer::spawn`] sends a request (bytes plus descriptors). The
//!   server forks a worker, which asks for `SIGKILL` on the server's death,
//!   gets the application's `SIGCHLD` action and signal mask back, closes
//!   every descriptor but the ones it was sent (and 0, 1, 2), and calls the
//!   `entry` function given to `start` with the request; `entry` never
//!   returns. The server closes its copies of the sent descriptors and
//!   replies with the worker's pid and a pidfd for it.
//! - When a worker exits the server reaps it and sends a notice with its
//!   status. The parent files notices in a table shared by the
//!   [`ForkServer`] and its [`Child`]ren, where `try_wait`/`wait` find them.
//! - When its socket reads end of file (the handle was dropped, or the
//!   parent died) the server kills its remaining workers with `SIGKILL`,
//!   reaps them, sends their notices and `_exit(0)`s. Dropping the handle
//!   reads those last notices and reaps the server.
//!
//! # Messages
//!
//! One message per `SOCK_SEQPACKET` datagram; integers are little-endian.
//!
//! Parent to server, a spawn request:
//!
//! | bytes | field                                                   |
//! |-------|---------------------------------------------------------|
//! | 0     | tag `1` (spawn)                                         |
//! | 1..5  | `id: u32`, chosen by the parent, names the worker       |
//! | 5..   | the request bytes for `entry` (at most [`MAX_REQUEST`]) |
//!
//! with up to [`MAX_FDS`] descriptors attached (`SCM_RIGHTS`).
//!
//! Server to parent, always 13 bytes:
//!
//! | bytes | field        | tag `2` spawned | tag `3` failed | tag `4` exited      |
//! |-------|--------------|-----------------|----------------|---------------------|
//! | 0     | `tag: u8`    |                 |                |                     |
//! | 1..5  | `id: u32`    | the request's   | the request's  | the worker's        |
//! | 5..9  | `pid: i32`   | the worker's    | `0`            | the worker's        |
//! | 9..13 | `value: i32` | `0`             | the `errno`    | its `wait` status   |
//!
//! A "spawned" reply carries the worker's pidfd (`SCM_RIGHTS`). The `id`, not
//! the pid, keys replies and notices: a pid is free for reuse once the server
//! has reaped its worker, possibly before the parent has read the notice.
//!
//! # Threads
//!
//! The handle and its children may be used from several threads. One thread
//! at a time polls the socket (the reader) while others needing a message
//! wait on a condition variable; the reader files everything it reads and
//! wakes them. A thread that reads without waiting (`pump`, `try_wait`)
//! wakes a blocked reader through an eventfd, so no message is missed.
//!
//! [`die_with_parent`]: super::fork::die_with_parent
//! [`signals`]: super::signals
#![allow(unsafe_code)]

use std::collections::{HashMap, VecDeque};
use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
// Plain std::sync, not the crate's loom-switched `sync` module: this is the
// OS layer's plumbing around a socket, which loom cannot model, and the pool's
// own locking (which loom does model) never reaches in here.
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rustix::io::{Errno, fcntl_dupfd_cloexec};
use rustix::net::{
    AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, ReturnFlags,
    SendAncillaryBuffer, SendAncillaryMessage, SendFlags, Shutdown, SocketFlags, SocketType,
    recvmsg, sendmsg, shutdown, socketpair,
};
use rustix::process::{
    Pid, PidfdFlags, Signal, WaitId, WaitIdOptions, WaitOptions, getpid, kill_process, pidfd_open,
    pidfd_send_signal, waitid, waitpid,
};

use super::child::Child;
use super::fd::Wakeup;
use super::fork::{Forked, close_fds_except, die_with_parent, fork, run_child};
use super::poll::{PollFd, PollFlags, poll, remaining};
use super::signals::Inherited;
use super::status::ExitStatus;

/// What a worker runs: the request bytes and the descriptors sent with them
/// (in order, close-on-exec). It must not return; it ends the worker with
/// [`exit_child`](super::fork::exit_child).
pub(crate) type Entry = fn(request: &[u8], fds: Vec<OwnedFd>) -> !;

/// The largest request [`ForkServer::spawn`] accepts, in bytes.
pub(crate) const MAX_REQUEST: usize = 64 * 1024;

/// The most descriptors one [`ForkServer::spawn`] may send.
pub(crate) const MAX_FDS: usize = 16;

/// The exit code of a worker or server whose setup (`prctl`, closing
/// descriptors) failed before it could run: `EX_OSERR` from `sysexits.h`.
pub(crate) const EX_OSERR: i32 = 71;

/// Tag of a spawn request (parent to server).
const TAG_SPAWN: u8 = 1;
/// Tag of a reply: the worker runs; its pidfd is attached.
const TAG_SPAWNED: u8 = 2;
/// Tag of a reply: no worker; `value` is the `errno`.
const TAG_FAILED: u8 = 3;
/// Tag of a notice: the worker exited; `value` is its `wait` status.
const TAG_EXITED: u8 = 4;
/// Bytes in front of the request bytes in a spawn request (tag and id).
const REQUEST_HEADER: usize = 5;
/// The size of every server-to-parent message.
const MESSAGE_LEN: usize = 13;
/// The `value` of a notice for a worker the server could not reap: decodes
/// to [`ExitStatus::Unknown`].
const STATUS_UNKNOWN: i32 = ExitStatus::RAW_UNKNOWN;

/// A server-to-parent message (see the module docs for the layout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Message {
    /// [`TAG_SPAWNED`], [`TAG_FAILED`] or [`TAG_EXITED`].
    tag: u8,
    /// The worker's (or request's) id.
    id: u32,
    /// The worker's pid, or 0.
    pid: i32,
    /// `errno` or `wait` status, depending on `tag`.
    value: i32,
}

impl Message {
    /// The 13 bytes on the wire.
    fn encode(self) -> [u8; MESSAGE_LEN] {
        let mut bytes = [0u8; MESSAGE_LEN];
        bytes[0] = self.tag;
        bytes[1..5].copy_from_slice(&self.id.to_le_bytes());
        bytes[5..9].copy_from_slice(&self.pid.to_le_bytes());
        bytes[9..13].copy_from_slice(&self.value.to_le_bytes());
        bytes
    }

    /// Reads a message; `None` unless `bytes` is exactly 13 bytes long.
    fn decode(bytes: &[u8]) -> Option<Self> {
        let b: &[u8; MESSAGE_LEN] = bytes.try_into().ok()?;
        Some(Self {
            tag: b[0],
            id: u32::from_le_bytes([b[1], b[2], b[3], b[4]]),
            pid: i32::from_le_bytes([b[5], b[6], b[7], b[8]]),
            value: i32::from_le_bytes([b[9], b[10], b[11], b[12]]),
        })
    }
}

/// A handle on a running fork server; see the module docs.
///
/// Dropping it closes the server's input, waits for the server to kill,
/// reap and report its remaining workers, and reaps the server, so no
/// process and no zombie is left. [`Child`]ren of the server that outlive
/// the handle find their final status in the shared table.
#[derive(Debug)]
pub(crate) struct ForkServer {
    /// The socket and notice table, shared with the server's children.
    link: Arc<Link>,
    /// The server process, a child of this one.
    server: Child,
}

impl ForkServer {
    /// Starts the server: `launch` starts a process that runs
    /// [`serve_socket`] over the socket it is given (the child's end of a
    /// fresh socket pair, close-on-exec here) and returns it once it runs.
    ///
    /// Call this from a thread that lives as long as the server should:
    /// Linux kills the server when the thread that started it exits (see
    /// [`die_with_parent`]).
    ///
    /// # References
    ///  - [Linux `socketpair`]
    ///
    /// [Linux `socketpair`]: https://man7.org/linux/man-pages/man2/socketpair.2.html
    pub(crate) fn start(
        launch: impl FnOnce(BorrowedFd<'_>) -> io::Result<Child>,
    ) -> io::Result<Self> {
        let (ours, theirs) = socketpair(
            AddressFamily::UNIX,
            SocketType::SEQPACKET,
            SocketFlags::CLOEXEC,
            None,
        )?;
        let wakeup = Wakeup::new()?;
        let filed = Wakeup::new()?;
        let server = launch(theirs.as_fd())?;
        drop(theirs);
        let link = Link {
            sock: ours,
            wakeup,
            filed,
            state: Mutex::new(State::default()),
            turn: Condvar::new(),
        };
        Ok(Self {
            link: Arc::new(link),
            server,
        })
    }

    /// Asks the server for a worker running `entry(request, fds)`; returns
    /// the worker once it runs.
    ///
    /// The descriptors are duplicated into the worker (this process keeps
    /// its own). Blocks until the server replies; exit notices read on the
    /// way are filed for their children.
    ///
    /// # Errors
    ///
    /// - [`io::ErrorKind::InvalidInput`] for more than [`MAX_REQUEST`] bytes
    ///   or [`MAX_FDS`] descriptors;
    /// - the server's `errno` if it could not fork;
    /// - [`io::ErrorKind::BrokenPipe`] if the server has gone.
    ///
    /// # References
    ///  - [Linux `sendmsg`]
    ///  - [Linux `unix(7)`, `SCM_RIGHTS`]
    ///
    /// [Linux `sendmsg`]: https://man7.org/linux/man-pages/man2/sendmsg.2.html
    /// [Linux `unix(7)`, `SCM_RIGHTS`]: https://man7.org/linux/man-pages/man7/unix.7.html
    pub(crate) fn spawn(&self, request: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<Child> {
        if request.len() > MAX_REQUEST || fds.len() > MAX_FDS {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "spawn request too large for the fork server",
            ));
        }
        let id = {
            let mut state = self.link.lock();
            if state.gone {
                return Err(server_gone());
            }
            let id = state.next_id;
            state.next_id = id.wrapping_add(1);
            id
        };
        let mut header = [0u8; REQUEST_HEADER];
        header[0] = TAG_SPAWN;
        header[1..].copy_from_slice(&id.to_le_bytes());
        let iov = [IoSlice::new(&header), IoSlice::new(request)];
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS))];
        let mut control = SendAncillaryBuffer::new(&mut space);
        if !fds.is_empty() && !control.push(SendAncillaryMessage::ScmRights(fds)) {
            return Err(io::Error::other("descriptor buffer too small"));
        }
        loop {
            match sendmsg(&self.link.sock, &iov, &mut control, SendFlags::NOSIGNAL) {
                Ok(_) => break,
                Err(Errno::INTR) => continue,
                Err(Errno::PIPE) => return Err(server_gone()),
                Err(e) => return Err(e.into()),
            }
        }
        // If this wait fails (only `poll` itself can fail here), the reply
        // stays in the table unclaimed and its worker unsupervised; the
        // server still kills it when it shuts down.
        match self
            .link
            .wait_until(None, |state| state.replies.remove(&id))?
        {
            Waited::Done(Reply::Spawned { pid, pidfd }) => {
                Ok(Child::from_server(pid, pidfd, Arc::clone(&self.link), id))
            }
            Waited::Done(Reply::Failed(errno)) => Err(io::Error::from_raw_os_error(errno)),
            Waited::Gone | Waited::TimedOut => Err(server_gone()),
        }
    }

    /// The server's pid.
    #[cfg(test)]
    pub(crate) fn pid(&self) -> Pid {
        self.server.pid()
    }

    /// The socket, for a caller's own `poll`: readable when messages are
    /// pending (then call [`pump`](Self::pump)) or when the server has gone.
    ///
    /// Poll [`filed_fd`](Self::filed_fd) beside it: any other read of the
    /// socket (a [`spawn`](Self::spawn), a `Child::try_wait` or `wait`, on
    /// this thread or another) may take a notice off it first, and then
    /// only that descriptor says so.
    pub(crate) fn as_fd(&self) -> BorrowedFd<'_> {
        self.link.sock.as_fd()
    }

    /// Readable once an exit notice has been filed in the table, whichever
    /// thread read it, until [`clear_filed`](Self::clear_filed). A poller
    /// that waits for notices clears it, then takes what was filed
    /// (`Child::try_wait`), then polls it again with the socket: a notice
    /// filed in between keeps it readable, so none is waited for in vain.
    pub(crate) fn filed_fd(&self) -> BorrowedFd<'_> {
        self.link.filed.as_fd()
    }

    /// Makes [`filed_fd`](Self::filed_fd) unreadable until the next notice
    /// is filed.
    pub(crate) fn clear_filed(&self) {
        let _ = self.link.filed.drain();
    }

    /// Reads every pending message without blocking and files the notices
    /// for the children's `try_wait`.
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::BrokenPipe`] once the server has gone (its socket
    /// then polls readable for ever, so a poller must stop watching it).
    #[cfg(test)]
    pub(crate) fn pump(&self) -> io::Result<()> {
        let mut state = self.link.lock();
        self.link.read_and_notify(&mut state);
        if state.gone {
            Err(server_gone())
        } else {
            Ok(())
        }
    }
}

impl Drop for ForkServer {
    /// Closes the server's input, takes its last notices, and reaps it.
    fn drop(&mut self) {
        // `shutdown`, not `close`: it reaches the server even if some other
        // process inherited a copy of our socket.
        let closed = shutdown(&self.link.sock, Shutdown::Write).is_ok();
        let drained =
            closed && matches!(self.link.wait_until(None, |_| None::<()>), Ok(Waited::Gone));
        if !drained {
            let _ = self.server.signal(Signal::KILL);
        }
        let _ = self.server.wait(None);
    }
}

/// The error for a server that has exited (or broken its protocol).
fn server_gone() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the fork server has exited")
}

/// What the parent shares between a [`ForkServer`] and the [`Child`]ren it
/// spawned: the socket and the messages read from it.
#[derive(Debug)]
pub(super) struct Link {
    /// Our end of the socket pair.
    sock: OwnedFd,
    /// Wakes the thread blocked polling `sock` when another thread has read
    /// from it (see the module docs).
    wakeup: Wakeup,
    /// Readable once an exit notice has been filed: the wake source of a
    /// caller that polls `sock` itself, outside `wait_until` (the pool's
    /// manager), when someone else read the notice first.
    filed: Wakeup,
    /// Messages read and not yet claimed.
    state: Mutex<State>,
    /// Signalled whenever messages have been filed or the reader's turn ends.
    turn: Condvar,
}

/// The parent's table of messages from the server.
#[derive(Debug, Default)]
struct State {
    /// The id for the next spawn request.
    next_id: u32,
    /// Exit notices not yet claimed: worker id to raw `wait` status.
    notices: HashMap<u32, i32>,
    /// Spawn replies not yet claimed, by request id.
    replies: HashMap<u32, Reply>,
    /// Whether some thread is polling the socket (outside the lock).
    reading: bool,
    /// Whether the server has gone: its socket read end of file, failed, or
    /// carried a malformed message. Nothing more will arrive.
    gone: bool,
}

/// The server's answer to a spawn request.
#[derive(Debug)]
enum Reply {
    /// The worker runs.
    Spawned {
        /// Its pid.
        pid: Pid,
        /// A pidfd for it, made by the server before it could be reaped.
        pidfd: OwnedFd,
    },
    /// No worker; the `errno`.
    Failed(i32),
}

/// What a [`Child`] of the server learns about its exit.
#[derive(Debug)]
pub(super) enum Notice {
    /// The server reaped it with this status.
    Status(ExitStatus),
    /// No notice yet.
    Pending,
    /// No notice, and none will come: the server has gone.
    ServerGone,
}

/// How a wait on the server's messages ended.
#[derive(Debug)]
enum Waited<T> {
    /// The awaited message arrived.
    Done(T),
    /// The deadline passed first.
    TimedOut,
    /// The server went first.
    Gone,
}

impl Link {
    /// Locks the table (a panic elsewhere while it was held does not make it
    /// unusable: every update to it is a single insert or remove).
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The notice for worker `id`, after reading what is pending. Never
    /// blocks. A notice is taken once: the caller keeps the status.
    pub(super) fn try_take(&self, id: u32) -> Notice {
        let mut state = self.lock();
        self.read_and_notify(&mut state);
        match state.notices.remove(&id) {
            Some(raw) => Notice::Status(decode_status(raw)),
            None if state.gone => Notice::ServerGone,
            None => Notice::Pending,
        }
    }

    /// Waits until `deadline` for the notice for worker `id`.
    pub(super) fn wait_notice(&self, id: u32, deadline: Option<Instant>) -> io::Result<Notice> {
        match self.wait_until(deadline, |state| state.notices.remove(&id))? {
            Waited::Done(raw) => Ok(Notice::Status(decode_status(raw))),
            Waited::TimedOut => Ok(Notice::Pending),
            Waited::Gone => Ok(Notice::ServerGone),
        }
    }

    /// Waits until `check` finds what it looks for in the table, the
    /// deadline passes, or the server goes (checked in that order).
    ///
    /// One thread at a time polls the socket, outside the lock; the others
    /// wait on `turn` until it has filed what it read.
    fn wait_until<T>(
        &self,
        deadline: Option<Instant>,
        mut check: impl FnMut(&mut State) -> Option<T>,
    ) -> io::Result<Waited<T>> {
        let mut state = self.lock();
        loop {
            if let Some(found) = check(&mut state) {
                return Ok(Waited::Done(found));
            }
            if state.gone {
                return Ok(Waited::Gone);
            }
            let left = remaining(deadline);
            if left == Some(Duration::ZERO) {
                return Ok(Waited::TimedOut);
            }
            if state.reading {
                state = match left {
                    None => self
                        .turn
                        .wait(state)
                        .unwrap_or_else(PoisonError::into_inner),
                    Some(left) => {
                        let waited = self.turn.wait_timeout(state, left);
                        waited.unwrap_or_else(PoisonError::into_inner).0
                    }
                };
                continue;
            }
            state.reading = true;
            drop(state);
            let polled = {
                let mut fds = [
                    PollFd::new(&self.sock, PollFlags::IN),
                    PollFd::from_borrowed_fd(self.wakeup.as_fd(), PollFlags::IN),
                ];
                poll(&mut fds, left)
            };
            state = self.lock();
            state.reading = false;
            let _ = self.wakeup.drain();
            self.read_pending(&mut state);
            self.turn.notify_all();
            polled?;
        }
    }

    /// Reads what is pending and, if anything came, tells the threads that
    /// may be waiting for it: the reader blocked in `poll`, and the others
    /// on `turn`.
    fn read_and_notify(&self, state: &mut State) {
        if self.read_pending(state) {
            if state.reading {
                let _ = self.wakeup.wake();
            }
            self.turn.notify_all();
        }
    }

    /// Reads every message waiting on the socket into `state`, never
    /// blocking; returns whether anything changed.
    fn read_pending(&self, state: &mut State) -> bool {
        let mut changed = false;
        while !state.gone {
            let mut bytes = [0u8; MESSAGE_LEN + 1];
            let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
            let mut control = RecvAncillaryBuffer::new(&mut space);
            let flags = RecvFlags::DONTWAIT | RecvFlags::CMSG_CLOEXEC;
            let received = recvmsg(
                &self.sock,
                &mut [IoSliceMut::new(&mut bytes)],
                &mut control,
                flags,
            );
            let received = match received {
                Ok(received) => received,
                Err(Errno::INTR) => continue,
                Err(Errno::AGAIN) => return changed,
                Err(_) => {
                    state.gone = true;
                    return true;
                }
            };
            changed = true;
            let fd = first_fd(&mut control);
            let message = if received.flags.contains(ReturnFlags::TRUNC) {
                None
            } else {
                Message::decode(&bytes[..received.bytes])
            };
            match message {
                // End of file (a zero-length read) or a malformed message:
                // either way nothing more can be trusted from the server.
                None => state.gone = true,
                Some(m) => match (m.tag, fd) {
                    (TAG_EXITED, _) => {
                        state.notices.insert(m.id, m.value);
                        // Worker deaths are rare: a write each is cheap.
                        let _ = self.filed.wake();
                    }
                    (TAG_SPAWNED, Some(pidfd)) => {
                        let reply = match Pid::from_raw(m.pid) {
                            Some(pid) => Reply::Spawned { pid, pidfd },
                            None => Reply::Failed(Errno::PROTO.raw_os_error()),
                        };
                        state.replies.insert(m.id, reply);
                    }
                    (TAG_FAILED, _) => {
                        state.replies.insert(m.id, Reply::Failed(m.value));
                    }
                    _ => state.gone = true,
                },
            }
        }
        changed
    }
}

/// Decodes a notice's status: [`ExitStatus::Unknown`] for
/// [`STATUS_UNKNOWN`] (and for a word that is no exit status at all).
fn decode_status(raw: i32) -> ExitStatus {
    ExitStatus::from_raw(raw).unwrap_or(ExitStatus::Unknown)
}

/// Takes the first descriptor a message carried; closes any others.
fn first_fd(control: &mut RecvAncillaryBuffer<'_>) -> Option<OwnedFd> {
    let mut first = None;
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(fds) = message {
            for fd in fds {
                if first.is_none() {
                    first = Some(fd);
                }
            }
        }
    }
    first
}

// ---------------------------------------------------------------------------
// The server process.

/// A worker the server forked and has not reaped yet.
#[derive(Debug)]
struct Worker {
    /// The id the parent gave it.
    id: u32,
    /// Its pid.
    pid: Pid,
    /// The server's pidfd for it: polled for its exit, and used to reap it.
    pidfd: OwnedFd,
}

/// A message waiting for room on the socket, with the descriptor it carries.
#[derive(Debug)]
struct Outgoing {
    /// The message.
    message: Message,
    /// For a "spawned" reply, the server's duplicate of the worker's pidfd.
    fd: Option<OwnedFd>,
}

/// The server process's `main`, over its end of the socket pair: returns
/// its exit code. The process must be single-threaded, hold no descriptor
/// but `sock` (and stdio), and die with its parent (see [`die_with_parent`]):
/// a fresh copy of the program set up by `divert` is.
pub(crate) fn serve_socket(sock: OwnedFd, entry: Entry) -> i32 {
    // The server reaps its workers itself, whatever the application does
    // with SIGCHLD (see `signals`).
    let Ok(inherited) = Inherited::take_over() else {
        return EX_OSERR;
    };
    serve(&sock, entry, &inherited);
    0
}

/// The server's loop; returns once the parent's end is closed, after killing
/// and reporting every worker.
/// `inherited` is what each worker gets back before it runs `entry`.
fn serve(sock: &OwnedFd, entry: Entry, inherited: &Inherited) {
    let me = getpid();
    let mut workers: Vec<Worker> = Vec::new();
    let mut outbox: VecDeque<Outgoing> = VecDeque::new();
    let mut buf = vec![0u8; REQUEST_HEADER + MAX_REQUEST];
    loop {
        let (sock_events, exited) = {
            let mut want = PollFlags::IN;
            if !outbox.is_empty() {
                want |= PollFlags::OUT;
            }
            let mut fds = Vec::with_capacity(1 + workers.len());
            fds.push(PollFd::new(sock, want));
            fds.extend(workers.iter().map(|w| PollFd::new(&w.pidfd, PollFlags::IN)));
            if poll(&mut fds, None).is_err() {
                break;
            }
            let exited: Vec<usize> = fds[1..]
                .iter()
                .enumerate()
                .filter(|(_, fd)| !fd.revents().is_empty())
                .map(|(i, _)| i)
                .collect();
            (fds[0].revents(), exited)
        };
        // Highest index first, so `swap_remove` only moves entries already seen.
        for i in exited.into_iter().rev() {
            if let Some(raw) = reap(&workers[i].pidfd, WaitIdOptions::NOHANG) {
                let worker = workers.swap_remove(i);
                outbox.push_back(notice(&worker, raw));
            }
        }
        if sock_events.intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR) {
            match receive(sock, &mut buf) {
                Received::Nothing => {}
                Received::Eof => break,
                Received::Bad { id, errno } => outbox.push_back(failed(id, errno)),
                Received::Request { id, len, fds } => {
                    let request = &buf[REQUEST_HEADER..len];
                    let worker = Request { id, request, fds };
                    let reply = spawn_worker(me, worker, entry, inherited, &mut workers);
                    outbox.push_back(reply);
                }
            }
        }
        flush(sock, &mut outbox, SendFlags::DONTWAIT);
    }
    for worker in &workers {
        let _ = pidfd_send_signal(&worker.pidfd, Signal::KILL);
    }
    for worker in workers.drain(..) {
        let raw = reap(&worker.pidfd, WaitIdOptions::empty()).unwrap_or(STATUS_UNKNOWN);
        outbox.push_back(notice(&worker, raw));
    }
    flush(sock, &mut outbox, SendFlags::empty());
}

/// What one `recvmsg` on the server's socket gave.
#[derive(Debug)]
enum Received {
    /// Nothing pending after all.
    Nothing,
    /// End of file, or the socket failed: time to shut down.
    Eof,
    /// A request that cannot be served; reply with this `errno`.
    Bad {
        /// The request's id.
        id: u32,
        /// Why it cannot be served.
        errno: i32,
    },
    /// A spawn request: its bytes are `buf[REQUEST_HEADER..len]`.
    Request {
        /// The id the parent chose.
        id: u32,
        /// The length of the datagram in `buf`.
        len: usize,
        /// The descriptors sent with it.
        fds: Vec<OwnedFd>,
    },
}

/// Receives one request into `buf` without blocking.
fn receive(sock: &OwnedFd, buf: &mut [u8]) -> Received {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let flags = RecvFlags::DONTWAIT | RecvFlags::CMSG_CLOEXEC;
    let received = loop {
        match recvmsg(sock, &mut [IoSliceMut::new(buf)], &mut control, flags) {
            Ok(received) => break received,
            Err(Errno::INTR) => continue,
            Err(Errno::AGAIN) => return Received::Nothing,
            Err(_) => return Received::Eof,
        }
    };
    let mut fds = Vec::new();
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(received) = message {
            fds.extend(received);
        }
    }
    let len = received.bytes;
    if len == 0 {
        return Received::Eof;
    }
    if len < REQUEST_HEADER {
        // No id to answer to; the parent never sends this.
        return Received::Nothing;
    }
    let id = u32::from_le_bytes([buf[1], buf[2], buf[3], buf[4]]);
    if received
        .flags
        .intersects(ReturnFlags::TRUNC | ReturnFlags::CTRUNC)
    {
        Received::Bad {
            id,
            errno: Errno::MSGSIZE.raw_os_error(),
        }
    } else if buf[0] != TAG_SPAWN {
        Received::Bad {
            id,
            errno: Errno::INVAL.raw_os_error(),
        }
    } else {
        Received::Request { id, len, fds }
    }
}

/// A spawn request as the server received it.
struct Request<'a> {
    /// The id the parent chose.
    id: u32,
    /// The bytes for `entry`.
    request: &'a [u8],
    /// The descriptors sent with it.
    fds: Vec<OwnedFd>,
}

/// Forks the worker for a request; returns the reply to send.
fn spawn_worker(
    server: Pid,
    Request { id, request, fds }: Request<'_>,
    entry: Entry,
    inherited: &Inherited,
    workers: &mut Vec<Worker>,
) -> Outgoing {
    // SAFETY: the server has a single thread (it is a forked child that starts none), so no lock is held by a thread missing from the worker. The worker runs only `worker_main` under `run_child`, which ends it with `_exit`.
    let pid = match unsafe { fork() } {
        Ok(Forked::Child) => run_child(move || worker_main(server, request, fds, entry, inherited)),
        Ok(Forked::Parent(pid)) => pid,
        Err(e) => return failed(id, errno_of(&e)),
    };
    drop(fds);
    // The worker cannot be reaped before we wait for it, so this pidfd and
    // its duplicate (the parent's copy) name it and no later process.
    let opened = pidfd_open(pid, PidfdFlags::empty())
        .and_then(|pidfd| Ok((fcntl_dupfd_cloexec(&pidfd, 0)?, pidfd)));
    match opened {
        Ok((copy, pidfd)) => {
            workers.push(Worker { id, pid, pidfd });
            let message = Message {
                tag: TAG_SPAWNED,
                id,
                pid: pid.as_raw_nonzero().get(),
                value: 0,
            };
            Outgoing {
                message,
                fd: Some(copy),
            }
        }
        Err(e) => {
            // Safe to use the pid: our unreaped child's pid cannot be reused.
            let _ = kill_process(pid, Signal::KILL);
            while let Err(Errno::INTR) = waitpid(Some(pid), WaitOptions::empty()) {}
            failed(id, e.raw_os_error())
        }
    }
}

/// The worker process's `main`: sets up, then runs `entry`, which never
/// returns; returns an exit code only if the setup fails.
fn worker_main(
    server: Pid,
    request: &[u8],
    fds: Vec<OwnedFd>,
    entry: Entry,
    inherited: &Inherited,
) -> i32 {
    if die_with_parent(server).is_err() || inherited.restore().is_err() {
        return EX_OSERR;
    }
    let keep: Vec<BorrowedFd<'_>> = fds.iter().map(AsFd::as_fd).collect();
    // SAFETY: this worker ends in `run_child`'s `_exit` and never returns to the server's frames, so the server's descriptors closed here (its socket, its workers' pidfds) are never used or dropped again in this process; the kept ones are `fds`, which go to `entry`.
    if unsafe { close_fds_except(&keep) }.is_err() {
        return EX_OSERR;
    }
    drop(keep);
    entry(request, fds)
}

/// `waitid(P_PIDFD, pidfd, WEXITED | options)` in the server: the raw
/// `wait` status, `None` if not exited (with `WNOHANG`), [`STATUS_UNKNOWN`]
/// if the wait failed.
fn reap(pidfd: &OwnedFd, options: WaitIdOptions) -> Option<i32> {
    loop {
        match waitid(
            WaitId::PidFd(pidfd.as_fd()),
            WaitIdOptions::EXITED | options,
        ) {
            Ok(Some(status)) => {
                return Some(
                    ExitStatus::from_waitid(&status).map_or(STATUS_UNKNOWN, ExitStatus::to_raw),
                );
            }
            Ok(None) => return None,
            Err(Errno::INTR) => continue,
            Err(_) => return Some(STATUS_UNKNOWN),
        }
    }
}

/// The exit notice for `worker`.
fn notice(worker: &Worker, raw: i32) -> Outgoing {
    let pid = worker.pid.as_raw_nonzero().get();
    Outgoing {
        message: Message {
            tag: TAG_EXITED,
            id: worker.id,
            pid,
            value: raw,
        },
        fd: None,
    }
}

/// A "failed" reply to request `id`.
fn failed(id: u32, errno: i32) -> Outgoing {
    Outgoing {
        message: Message {
            tag: TAG_FAILED,
            id,
            pid: 0,
            value: errno,
        },
        fd: None,
    }
}

/// The `errno` in an I/O error (`EIO` if it has none).
fn errno_of(e: &io::Error) -> i32 {
    e.raw_os_error().unwrap_or(Errno::IO.raw_os_error())
}

/// Sends queued messages in order until the socket is full (with
/// `DONTWAIT`) or all are sent. If the parent's end is gone the rest are
/// dropped: nobody is left to read them.
fn flush(sock: &OwnedFd, outbox: &mut VecDeque<Outgoing>, flags: SendFlags) {
    while let Some(out) = outbox.front() {
        let bytes = out.message.encode();
        let fds: Vec<BorrowedFd<'_>> = out.fd.iter().map(AsFd::as_fd).collect();
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut control = SendAncillaryBuffer::new(&mut space);
        if !fds.is_empty() {
            control.push(SendAncillaryMessage::ScmRights(&fds));
        }
        let iov = [IoSlice::new(&bytes)];
        match sendmsg(sock, &iov, &mut control, flags | SendFlags::NOSIGNAL) {
            Ok(_) => {
                outbox.pop_front();
            }
            Err(Errno::INTR) => {}
            Err(Errno::AGAIN) => return,
            Err(_) => {
                outbox.clear();
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::os::fd::{pipe, read, write_all_blocking};
    use crate::os::fork::exit_child;
    use crate::os::test_support::{count_open_fds, read_to_end, serial};
    use rustix::process::set_child_subreaper;

    /// Generous: only a guard against hanging, never reached when all is well.
    const LONG: Option<Duration> = Some(Duration::from_secs(60));

    /// A fork server, a fresh copy of this test binary, whose workers run
    /// `entry`.
    fn start_server(entry: Entry) -> ForkServer {
        let program = crate::os::exec::Program::current().unwrap();
        ForkServer::start(|sock| {
            crate::start::start_copy(&program, crate::start::Role::Server, entry, &[], &[sock])
        })
        .unwrap()
    }

    /// The workers' entry for these tests. Requests:
    /// - `w`, code, payload: write the payload to `fds[0]`, exit with code;
    /// - `b`: block reading `fds[0]` until end of file, exit 0;
    /// - `f`: write the list of own descriptors `>= 3` to `fds[0]`, exit 0;
    /// - anything else: exit 99.
    fn entry(request: &[u8], fds: Vec<OwnedFd>) -> ! {
        let code = match (request, fds.first()) {
            ([b'w', code, payload @ ..], Some(fd)) => match write_all_blocking(fd.as_fd(), payload)
            {
                Ok(()) => i32::from(*code),
                Err(_) => 98,
            },
            ([b'b'], Some(fd)) => {
                while let Ok(1..) = read(fd.as_fd(), &mut [0u8; 16]) {}
                0
            }
            ([b'f'], Some(fd)) => {
                let listing: Vec<u8> = std::fs::read_dir("/proc/self/fd")
                    .map(|dir| {
                        dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
                    })
                    .into_iter()
                    .flatten()
                    .filter(|&fd| fd >= 3)
                    .flat_map(i32::to_le_bytes)
                    .collect();
                match write_all_blocking(fd.as_fd(), &listing) {
                    Ok(()) => 0,
                    Err(_) => 98,
                }
            }
            _ => 99,
        };
        exit_child(code)
    }

    /// A worker running `b` (blocked until `hold` is closed or it is killed)
    /// and the write end that holds it.
    fn blocked_worker(server: &ForkServer) -> (Child, OwnedFd) {
        let (r, w) = pipe().unwrap();
        (server.spawn(b"b", &[r.as_fd()]).unwrap(), w)
    }

    /// Whether `fd` is readable now.
    fn readable(fd: BorrowedFd<'_>) -> bool {
        let mut fds = [PollFd::from_borrowed_fd(fd, PollFlags::IN)];
        poll(&mut fds, Some(Duration::ZERO)).unwrap() == 1
    }

    /// A notice read off the socket by someone else's read is filed where
    /// its child finds it, and `filed_fd` says so: the wake source of a
    /// caller that polls the socket itself. (The pool's manager polled the
    /// socket for a worker whose notice the `try_wait` of another worker had
    /// already filed, and waited for ever: mp-pool's soak found it.)
    #[test]
    fn a_notice_read_by_another_read_turns_filed_fd_readable() {
        let _serial = serial();
        let server = start_server(entry);
        let (mut first, hold_first) = blocked_worker(&server);
        let (mut second, hold_second) = blocked_worker(&server);
        assert!(!readable(server.filed_fd()), "nothing filed yet");
        // The first ends; its notice is on the socket, unread.
        drop(hold_first);
        let mut fds = [PollFd::from_borrowed_fd(server.as_fd(), PollFlags::IN)];
        assert_eq!(poll(&mut fds, LONG).unwrap(), 1);
        // The second's look reads it and files it: the socket has nothing
        // left for a poller, `filed_fd` has.
        assert_eq!(second.try_wait().unwrap(), None);
        assert!(!readable(server.as_fd()), "the notice was read");
        assert!(readable(server.filed_fd()), "and filed with a wake-up");
        server.clear_filed();
        assert!(!readable(server.filed_fd()), "cleared");
        assert_eq!(first.try_wait().unwrap(), Some(ExitStatus::Exited(0)));
        drop(hold_second);
        assert_eq!(second.wait(LONG).unwrap(), Some(ExitStatus::Exited(0)));
        assert!(readable(server.filed_fd()), "the second notice too");
    }

    /// The whole life of a server, with no descriptor leaked at the end:
    /// three workers write through passed pipes and their exit codes (from
    /// the request) arrive as notices; a worker has closed everything it
    /// inherited but its passed descriptor; a blocked worker killed with
    /// `SIGKILL` reports `Signaled 9`; `pump` files a notice the test saw
    /// arrive with its own `poll`; dropping an unreaped worker kills it and
    /// takes its notice; oversized requests are refused; a worker outliving
    /// the handle gets its notice from the server's shutdown; and the
    /// dropped server is reaped (`waitpid` gives `ECHILD`).
    #[test]
    fn fork_server_lifecycle() {
        let _serial = serial();
        let fds_before = count_open_fds();
        let server = start_server(entry);
        let server_pid = server.pid();

        let mut pids = Vec::new();
        for i in 0..3u8 {
            let (r, w) = pipe().unwrap();
            let payload = format!("worker {i}");
            let request = [&[b'w', 10 + i][..], payload.as_bytes()].concat();
            let mut child = server.spawn(&request, &[w.as_fd()]).unwrap();
            drop(w);
            assert_eq!(read_to_end(r.as_fd()), payload.as_bytes());
            let status = child.wait(LONG).unwrap().unwrap();
            assert_eq!(status, ExitStatus::Exited(i32::from(10 + i)));
            assert!(child.is_reaped());
            pids.push(child.pid().as_raw_nonzero().get());
        }
        pids.push(server_pid.as_raw_nonzero().get());
        pids.sort_unstable();
        pids.dedup();
        assert_eq!(pids.len(), 4, "distinct workers, none the server");

        // The worker sees only the descriptor it was sent (plus the one its
        // own listing opened).
        let (r, w) = pipe().unwrap();
        let mut child = server.spawn(b"f", &[w.as_fd()]).unwrap();
        drop(w);
        let listing = read_to_end(r.as_fd());
        assert_eq!(listing.len(), 2 * 4, "{listing:?}");
        assert_eq!(child.wait(LONG).unwrap(), Some(ExitStatus::Exited(0)));
        drop((child, r));

        // Killed while running.
        let (mut child, hold) = blocked_worker(&server);
        assert_eq!(child.try_wait().unwrap(), None);
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
        drop((child, hold));

        // An outside poller: the socket turns readable, `pump` files the
        // notice, `try_wait` finds it. The worker is held until `spawn` has
        // returned: one that exits at once can have its notice read (and
        // filed) together with the spawn reply, and the socket would never
        // turn readable for it.
        let (mut child, hold) = blocked_worker(&server);
        assert_eq!(child.try_wait().unwrap(), None);
        drop(hold);
        let mut fds = [PollFd::from_borrowed_fd(server.as_fd(), PollFlags::IN)];
        assert_eq!(poll(&mut fds, LONG).unwrap(), 1);
        server.pump().unwrap();
        assert_eq!(child.try_wait().unwrap(), Some(ExitStatus::Exited(0)));
        drop(child);

        // Dropping a running worker kills it and waits for its notice: a
        // pidfd for it is readable (exited) at once.
        let (child, hold) = blocked_worker(&server);
        let pidfd = fcntl_dupfd_cloexec(child.pidfd(), 0).unwrap();
        drop(child);
        let mut fds = [PollFd::new(&pidfd, PollFlags::IN)];
        assert_eq!(poll(&mut fds, Some(Duration::ZERO)).unwrap(), 1);
        drop((pidfd, hold));

        // Refused before anything is sent.
        let too_long = vec![0u8; MAX_REQUEST + 1];
        let err = server.spawn(&too_long, &[]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let (r, w) = pipe().unwrap();
        let err = server.spawn(b"w", &[r.as_fd(); MAX_FDS + 1]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        drop((r, w));

        // No descriptors: the entry exits 99.
        let mut child = server.spawn(b"?", &[]).unwrap();
        assert_eq!(child.wait(LONG).unwrap(), Some(ExitStatus::Exited(99)));
        drop(child);

        // A worker outliving the handle: the server kills and reports it on
        // its way out.
        let (mut child, hold) = blocked_worker(&server);
        drop(server);
        assert_eq!(
            waitpid(Some(server_pid), WaitOptions::NOHANG).unwrap_err(),
            Errno::CHILD
        );
        let status = child.try_wait().unwrap();
        assert_eq!(
            status,
            Some(ExitStatus::Signaled {
                signal: 9,
                core_dumped: false
            })
        );
        drop((child, hold));

        assert_eq!(count_open_fds(), fds_before, "no descriptor leaked");
    }

    /// Several threads spawn and wait at once (one polls the socket, the
    /// others wait their turn): every worker's output and exit code arrive.
    #[test]
    fn fork_server_from_several_threads() {
        let _serial = serial();
        let server = start_server(entry);
        std::thread::scope(|scope| {
            let threads: Vec<_> = (0..4u8)
                .map(|i| {
                    let server = &server;
                    scope.spawn(move || {
                        let (r, w) = pipe().unwrap();
                        let mut child = server.spawn(&[b'w', 20 + i, i], &[w.as_fd()]).unwrap();
                        drop(w);
                        assert_eq!(read_to_end(r.as_fd()), [i]);
                        child.wait(LONG).unwrap()
                    })
                })
                .collect();
            for (i, thread) in (0..4u8).zip(threads) {
                let status = thread.join().unwrap();
                assert_eq!(status, Some(ExitStatus::Exited(i32::from(20 + i))));
            }
        });
    }

    /// Waits on several workers from several threads while the workers end
    /// one after another: each waiter gets its own worker's status.
    #[test]
    fn fork_server_concurrent_waits() {
        let _serial = serial();
        let server = start_server(entry);
        let workers: Vec<(Child, OwnedFd)> = (0..3).map(|_| blocked_worker(&server)).collect();
        std::thread::scope(|scope| {
            let mut holds = Vec::new();
            let mut threads = Vec::new();
            for (mut child, hold) in workers {
                holds.push(hold);
                threads.push(scope.spawn(move || child.wait(LONG).unwrap()));
            }
            for hold in holds {
                drop(hold);
            }
            for thread in threads {
                assert_eq!(thread.join().unwrap(), Some(ExitStatus::Exited(0)));
            }
        });
    }

    /// If the server itself is killed, its worker dies too (its death
    /// signal), waiting on it does not hang, and new spawns fail with
    /// `BrokenPipe`. The test process is a child subreaper meanwhile, so
    /// the orphaned worker is re-parented to it and reaped by `wait`.
    #[test]
    fn fork_server_killed_under_its_workers() {
        let _serial = serial();
        set_child_subreaper(Some(getpid())).unwrap();
        let server = start_server(entry);
        let (mut child, hold) = blocked_worker(&server);
        // Safe to use the pid: the server is our unreaped child.
        kill_process(server.pid(), Signal::KILL).unwrap();
        let status = child.wait(LONG).unwrap();
        assert_eq!(
            status,
            Some(ExitStatus::Signaled {
                signal: 9,
                core_dumped: false
            })
        );
        let err = server.spawn(b"?", &[]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        assert_eq!(server.pump().unwrap_err().kind(), io::ErrorKind::BrokenPipe);
        drop(server);
        set_child_subreaper(None).unwrap();
        drop(hold);
    }

    /// The server's 13-byte messages: field order and byte order.
    #[test]
    fn message_layout() {
        let m = Message {
            tag: TAG_EXITED,
            id: 0x0403_0201,
            pid: 0x0807_0605,
            value: -1,
        };
        let bytes = m.encode();
        assert_eq!(bytes, [4, 1, 2, 3, 4, 5, 6, 7, 8, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(Message::decode(&bytes), Some(m));
        assert_eq!(Message::decode(&bytes[..12]), None);
    }
}
