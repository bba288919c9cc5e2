//! `Process`: one function in one child process, with
//! `multiprocessing.Process`'s lifecycle.
//!
//! The child is a pool worker that is given one item: the same loop, the
//! same frames, the same trampolines.

use std::convert::Infallible;
use std::fmt;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::call;
use crate::codec::{self, RaisedDecoder};
use crate::error::{SubmitError, TaskError};
use crate::os::child::Child;
use crate::os::fd;
use crate::os::poll::poll;
use crate::start::{Launcher, Prepared, Spawned};
use crate::wire::{self, CallRef, Direction, FrameDecoder, FrameWriter, Kind};
use crate::{ExitStatus, StartMethod};

/// Why a [`Process`] operation failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ProcessError {
    /// `start` was called on a process already started.
    AlreadyStarted,
    /// `join` (or a signal) on a process never started.
    NotStarted,
    /// `join` gave up after its timeout; the child is still running.
    Timeout,
    /// An OS call failed (fork, pipe, poll, waitid).
    Io(io::Error),
    /// `start`: the kernel lacks a system call the child needs (Linux
    /// [`MIN_LINUX`](crate::MIN_LINUX) has them all), or a sandbox refuses it.
    Kernel(crate::MissingSyscall),
}

impl fmt::Display for ProcessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AlreadyStarted => f.write_str("the process was already started"),
            Self::NotStarted => f.write_str("the process was not started"),
            Self::Timeout => f.write_str("the process is still running"),
            Self::Io(error) => write!(f, "process operation failed: {error}"),
            Self::Kernel(missing) => write!(f, "the process cannot run here: {missing}"),
        }
    }
}

// The `io::Error`'s text is in `Display`, so it is not a `source()` too.
impl std::error::Error for ProcessError {}

impl From<io::Error> for ProcessError {
    fn from(error: io::Error) -> Self {
        Self::Io(error)
    }
}

/// One `fn(A) -> R` run in one child process (Python's
/// `multiprocessing.Process`, with a result).
///
/// Dropping a `Process` whose child still runs kills it (SIGKILL) and reaps
/// it: a dropped `Process` never leaves a zombie or an orphan behind.
///
/// # Examples
///
/// ```
/// use proc_exec::Process;
///
/// let mut child = Process::new(|n: u64| (1..=n).product::<u64>(), 10).unwrap();
/// child.start().unwrap();
/// assert!(child.pid().is_some());
/// assert_eq!(child.join(None).unwrap(), &Ok(3_628_800));
/// assert_eq!(child.exitcode(), Some(0));
/// ```
pub struct Process<R, E = Infallible> {
    start_method: StartMethod,
    /// `Hello`, `Run`, `Exit`, until started.
    frames: Option<Vec<u8>>,
    running: Option<Running>,
    result: Option<Result<R, TaskError<E>>>,
    status: Option<ExitStatus>,
    raised: RaisedDecoder<E>,
}

struct Running {
    child: Child,
    from: OwnedFd,
    decoder: FrameDecoder,
    done: Option<Vec<u8>>,
    eof: bool,
    /// Keeps the fork server (and so the child) alive with `ForkServer`.
    _launcher: Launcher,
}

impl<R: DeserializeOwned> Process<R> {
    /// A process that will run `f(arg)` once started.
    ///
    /// # Errors
    ///
    /// [`SubmitError::ArgEncode`] or [`SubmitError::ArgTooLarge`] if the
    /// argument does not serialize within the default frame size.
    pub fn new<A>(f: fn(A) -> R, arg: A) -> Result<Self, SubmitError>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize,
    {
        Self::with_call(call::plain(f), &arg, codec::no_raised)
    }
}

impl<R: DeserializeOwned, E> Process<R, E> {
    /// A process that will run `f(arg)`; its `Err(e)` arrives as
    /// [`TaskError::Raised`].
    ///
    /// # Errors
    ///
    /// As [`new`](Process::new).
    pub fn new_fallible<A>(f: fn(A) -> Result<R, E>, arg: A) -> Result<Self, SubmitError>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize,
        E: Serialize + DeserializeOwned,
    {
        Self::with_call(call::fallible(f), &arg, codec::decode_raised::<E>)
    }

    fn with_call<A: Serialize>(
        call: CallRef,
        arg: &A,
        raised: RaisedDecoder<E>,
    ) -> Result<Self, SubmitError> {
        let max = wire::DEFAULT_MAX_FRAME_SIZE;
        let mut frames = Vec::new();
        let mut writer = FrameWriter::begin(&mut frames, Kind::Hello, 0);
        let hello = wire::ParentHello::new(max).encode(writer.body());
        hello
            .and_then(|()| writer.finish(max))
            .map_err(|e| SubmitError::ArgEncode(e.to_string()))?;
        let run = crate::executor::encode_call_frame(Kind::Run, call, arg, max)?;
        let start = frames.len();
        frames.extend_from_slice(&run);
        wire::set_work_id(&mut frames[start..], 1);
        let _ = wire::encode_frame(Kind::Exit, 0, &[], &mut frames, max);
        Ok(Self {
            start_method: StartMethod::Spawn,
            frames: Some(frames),
            running: None,
            result: None,
            status: None,
            raised,
        })
    }

    /// Chooses how the child is started. The default is
    /// [`StartMethod::Spawn`]: a lone child is a fresh copy of the program,
    /// safe in a threaded program, and needs no server;
    /// [`StartMethod::ForkServer`] starts a server first (one process more
    /// for the same safety); [`StartMethod::Fork`] is the fastest, for
    /// programs that hold no lock across the fork that the function needs.
    /// See the [crate docs](crate#start-methods-and-forking-a-process-that-has-threads).
    #[must_use = "`start_method` returns the process it configured"]
    pub fn start_method(mut self, method: StartMethod) -> Self {
        self.start_method = method;
        self
    }

    /// Starts the child and hands it its argument.
    ///
    /// # Errors
    ///
    /// [`ProcessError::AlreadyStarted`] the second time;
    /// [`ProcessError::Kernel`] on a kernel older than
    /// [`MIN_LINUX`](crate::MIN_LINUX);
    /// [`ProcessError::Io`] if the pipes, the fork or the `exec` fail (the
    /// message says which).
    pub fn start(&mut self) -> Result<(), ProcessError> {
        crate::os::kernel::check().map_err(ProcessError::Kernel)?;
        let Some(frames) = self.frames.take() else {
            return Err(ProcessError::AlreadyStarted);
        };
        // Here, in the parent: the child must not install it itself.
        crate::panic::install_worker_hook();
        let max = wire::DEFAULT_MAX_FRAME_SIZE;
        let launcher = Prepared::new(self.start_method)?.launch()?;
        let Spawned {
            child, to, from, ..
        } = launcher.spawn_worker(max)?;
        fd::set_nonblocking(from.as_fd(), true)?;
        // The child reads the whole `Run` frame before it writes anything,
        // so this blocking write cannot deadlock with its result; if the
        // child dies early the write fails with EPIPE and `join` reports how
        // it ended.
        let _ = fd::write_all_blocking(to.as_fd(), &frames);
        drop(to);
        self.running = Some(Running {
            child,
            from,
            decoder: FrameDecoder::new(Direction::FromWorker, max),
            done: None,
            eof: false,
            _launcher: launcher,
        });
        Ok(())
    }

    /// The child's pid, once started.
    pub fn pid(&self) -> Option<u32> {
        self.running
            .as_ref()
            .map(|r| r.child.pid().as_raw_nonzero().get() as u32)
    }

    /// True while the child runs (it is started and not yet reaped).
    pub fn is_alive(&mut self) -> bool {
        let _ = self.wait(Some(Duration::ZERO));
        self.running.is_some() && self.status.is_none()
    }

    /// Python's `exitcode`: `None` while running (or never started), the
    /// exit code once it exited, minus the signal number if a signal killed
    /// it. Also `None` for a process that ended with a status that could not
    /// be collected ([`ExitStatus::Unknown`](crate::ExitStatus::Unknown):
    /// then [`is_alive`](Self::is_alive) is false).
    pub fn exitcode(&mut self) -> Option<i32> {
        let _ = self.wait(Some(Duration::ZERO));
        self.status.and_then(|s| s.exitcode())
    }

    /// Waits until the child has ended (at most `timeout`), then returns its
    /// result, or [`TaskError::Died`] if it ended without sending one.
    ///
    /// # Errors
    ///
    /// [`ProcessError::NotStarted`], [`ProcessError::Timeout`] (the child
    /// keeps running; join again), or [`ProcessError::Io`].
    pub fn join(
        &mut self,
        timeout: Option<Duration>,
    ) -> Result<&Result<R, TaskError<E>>, ProcessError> {
        if self.running.is_none() {
            return Err(ProcessError::NotStarted);
        }
        if !self.wait(timeout)? {
            return Err(ProcessError::Timeout);
        }
        match &self.result {
            Some(result) => Ok(result),
            None => Err(ProcessError::NotStarted),
        }
    }

    /// The result, once joined; consumes the `Process`.
    pub fn into_result(mut self) -> Option<Result<R, TaskError<E>>> {
        self.result.take()
    }

    /// Sends SIGTERM to the child (Python's `terminate()`).
    ///
    /// # Errors
    ///
    /// [`ProcessError::NotStarted`], or the OS error.
    pub fn terminate(&self) -> Result<(), ProcessError> {
        self.signal(rustix::process::Signal::TERM)
    }

    /// Sends SIGKILL to the child (Python's `kill()`).
    ///
    /// # Errors
    ///
    /// [`ProcessError::NotStarted`], or the OS error.
    pub fn kill(&self) -> Result<(), ProcessError> {
        self.signal(rustix::process::Signal::KILL)
    }

    fn signal(&self, signal: rustix::process::Signal) -> Result<(), ProcessError> {
        let running = self.running.as_ref().ok_or(ProcessError::NotStarted)?;
        running.child.signal(signal)?;
        Ok(())
    }

    /// The child's pidfd: readable once it has exited, for your own `poll`
    /// (Python's `sentinel`).
    pub fn sentinel(&self) -> Option<BorrowedFd<'_>> {
        self.running.as_ref().map(|r| r.child.pidfd())
    }

    /// Reads what the child sends until it has exited and been reaped, or the
    /// timeout passes; true once it ended.
    fn wait(&mut self, timeout: Option<Duration>) -> Result<bool, ProcessError> {
        if self.status.is_some() {
            return Ok(true);
        }
        let Some(running) = self.running.as_mut() else {
            return Ok(false);
        };
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            running.read()?;
            if running.eof {
                if let Some(status) = running.child.try_wait()? {
                    break self.finish(status);
                }
            }
            let left = match deadline {
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() && timeout != Some(Duration::ZERO) {
                        return Ok(false);
                    }
                    Some(left)
                }
                None => None,
            };
            let flags = if running.eof {
                PollFlags::empty()
            } else {
                PollFlags::IN
            };
            let mut fds = [
                PollFd::new(&running.from, flags),
                PollFd::from_borrowed_fd(running.child.pidfd(), PollFlags::IN),
            ];
            let n = poll(&mut fds, left)?;
            if n == 0 {
                if let Some(status) = running.child.try_wait()? {
                    if running.eof {
                        break self.finish(status);
                    }
                    continue;
                }
                return Ok(false);
            }
            if !fds[1].revents().is_empty() && !running.eof {
                // It exited: what it wrote is all in the pipe now.
                running.read()?;
                running.eof = true;
            }
        }
        Ok(true)
    }

    fn finish(&mut self, status: ExitStatus) {
        self.status = Some(status);
        let Some(running) = self.running.as_mut() else {
            return;
        };
        let pid = running.child.pid().as_raw_nonzero().get() as u32;
        self.result = Some(match running.done.take() {
            Some(body) => match wire::parse_outcomes(&body) {
                Ok(outcomes) => codec::decode_single(outcomes, self.raised),
                Err(error) => Err(TaskError::ResultDecode(error.to_string())),
            },
            None => Err(TaskError::Died { pid, status }),
        });
    }
}

impl Running {
    /// Reads what is in the pipe now and keeps the `Done` frame's body.
    fn read(&mut self) -> io::Result<()> {
        while !self.eof {
            match fd::read(self.from.as_fd(), self.decoder.read_buf()) {
                Ok(0) => self.eof = true,
                Ok(n) => self.decoder.advance(n),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) => return Err(error),
            }
            while let Ok(Some(frame)) = self.decoder.next_frame() {
                if frame.kind == Kind::Done {
                    self.done = Some(frame.body.to_vec());
                }
            }
        }
        Ok(())
    }
}

impl<R, E> fmt::Debug for Process<R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Process")
            .field("pid", &self.running.as_ref().map(|r| r.child.pid()))
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}
