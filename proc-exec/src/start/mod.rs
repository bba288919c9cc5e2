//! How a worker process comes to be: the three [`StartMethod`]s.
//!
//! - `Fork`: this thread forks the worker directly ([`fork`](crate::os::fork)).
//! - `ForkServer`: a fresh copy of the program, started once per pool with
//!   `exec` ([`exec`]), serves as a single-threaded fork server
//!   ([`fork_server`](crate::os::fork_server)); every worker is forked
//!   from it.
//! - `Spawn`: every worker is a fresh copy of the program.
//!
//! A fresh copy is diverted into its role before `main` by the constructor
//! in [`divert`]; [`marker`] is what the parent tells it. The pool's manager
//! and [`Process`](crate::Process) both start their children through
//! [`Launcher`], so the child's first steps are written once.
#![allow(unsafe_code)]

mod divert;
mod exec;
mod marker;

use std::io;
use std::os::fd::{AsFd, OwnedFd};

use crate::StartMethod;
use crate::os::child::Child;
use crate::os::exec::Program;
use crate::os::fd;
use crate::os::fork::{self, Forked};
use crate::os::fork_server::ForkServer;
use crate::os::shm;
use crate::worker;

pub(crate) use divert::fingerprint;
pub(crate) use exec::start_copy;
pub(crate) use marker::Role;

/// The pipe buffer asked for: Linux's default limit for unprivileged
/// processes (`/proc/sys/fs/pipe-max-size`).
const PIPE_SIZE: usize = 1 << 20;

/// Where the manager thread reports whether its start method launched
/// (see [`Prepared::launch`]); the pool's `build` waits for it.
pub(crate) type Started = std::sync::mpsc::SyncSender<io::Result<()>>;

/// A started worker and the parent's ends of its pipes.
pub(crate) struct Spawned {
    /// The process.
    pub(crate) child: Child,
    /// Frames to the worker.
    pub(crate) to: OwnedFd,
    /// Frames from the worker.
    pub(crate) from: OwnedFd,
    /// The descriptors of shared payloads, both ways: a third channel
    /// because a pipe cannot carry descriptors and the frames' pipes stay
    /// as they are (see `os::shm`).
    pub(crate) side: OwnedFd,
}

/// What a start method needs ready before its first worker: the program's
/// executable for the methods that `exec` it. Made where errors can still
/// be returned to the user (`build`, `Process::start`).
#[derive(Debug)]
pub(crate) struct Prepared {
    method: StartMethod,
    program: Option<Program>,
}

impl Prepared {
    /// Checks that `method` can work in this process and opens what it
    /// needs.
    ///
    /// # Errors
    ///
    /// For the `exec` methods: `/proc/self/exe` cannot be opened, or this
    /// crate lives in a shared library (a Python extension, say) rather
    /// than in the executable that would be started again.
    pub(crate) fn new(method: StartMethod) -> io::Result<Self> {
        let program = match method {
            StartMethod::Fork => None,
            StartMethod::ForkServer | StartMethod::Spawn => {
                if !divert::linked_into_executable() {
                    return Err(io::Error::new(
                        io::ErrorKind::Unsupported,
                        format!(
                            "proc-exec is linked into a shared library, not into the program's \
                             executable, so a fresh copy of the executable cannot become a \
                             worker; use StartMethod::Fork (asked for: {method:?})"
                        ),
                    ));
                }
                Some(Program::current()?)
            }
        };
        Ok(Self { method, program })
    }

    /// Starts what the method needs running (the fork server), on the
    /// thread that will start every worker: Linux ends a fork server when
    /// the thread that started it exits.
    ///
    /// # Errors
    ///
    /// The fork server could not be started.
    pub(crate) fn launch(self) -> io::Result<Launcher> {
        match (self.method, self.program) {
            (StartMethod::ForkServer, Some(program)) => {
                let server = ForkServer::start(|sock| {
                    start_copy(&program, Role::Server, server_entry, &[], &[sock])
                })?;
                Ok(Launcher::Server(server))
            }
            (StartMethod::Spawn, Some(program)) => Ok(Launcher::Spawn(program)),
            _ => Ok(Launcher::Fork),
        }
    }
}

/// Starts workers by one start method (see [`Prepared::launch`]).
#[derive(Debug)]
pub(crate) enum Launcher {
    /// Fork from the calling thread.
    Fork,
    /// Ask the fork server.
    Server(ForkServer),
    /// Start a fresh copy of the program.
    Spawn(Program),
}

impl Launcher {
    /// Starts a worker that serves frames of at most `max_frame_size` bytes.
    pub(crate) fn spawn_worker(&self, max_frame_size: u32) -> io::Result<Spawned> {
        let (to_worker, to) = fd::pipe()?;
        let (from, from_worker) = fd::pipe()?;
        // Large arguments and results cross in 1 MiB steps rather than the
        // default 64 KiB; where the system refuses, the default serves.
        let _ = fd::grow_pipe(to.as_fd(), PIPE_SIZE);
        let _ = fd::grow_pipe(from.as_fd(), PIPE_SIZE);
        let (side, side_worker) = shm::channel()?;
        let request = max_frame_size.to_le_bytes();
        let fds = [to_worker.as_fd(), from_worker.as_fd(), side_worker.as_fd()];
        let child = match self {
            Self::Server(server) => server.spawn(&request, &fds)?,
            Self::Spawn(program) => {
                start_copy(program, Role::Worker, server_entry, &request, &fds)?
            }
            Self::Fork => {
                let parent = rustix::process::getpid();
                // SAFETY: the child runs only the worker loop over its two pipe ends and leaves through `exit_child` (inside `run_child` and `worker::main`). The loop itself takes no lock another thread could hold except the allocator's, which the C library's at-fork handlers keep usable, and (when a task panics) std's panic-hook lock for reading, which is held for writing only while some thread runs `set_hook` (the worker never does; see `panic.rs`). The tasks' own locks are the user's: see `StartMethod::Fork`.
                match unsafe { fork::fork() }? {
                    Forked::Child => fork::run_child(|| {
                        let _ = fork::die_with_parent(parent);
                        let keep = [to_worker.as_fd(), from_worker.as_fd(), side_worker.as_fd()];
                        // SAFETY: a fresh child that leaves through `exit_child` and touches no descriptor but the three it keeps.
                        let _ = unsafe { fork::close_fds_except(&keep) };
                        worker::main(to_worker, from_worker, Some(side_worker), max_frame_size)
                    }),
                    Forked::Parent(pid) => Child::spawned(pid)?,
                }
            }
        };
        // The child holds its own copies; ours would keep the pipes open
        // after it dies and hide its end of file.
        drop((to_worker, from_worker, side_worker));
        Ok(Spawned {
            child,
            to,
            from,
            side,
        })
    }
}

/// What a worker started by the fork server or by `Spawn` runs: the
/// request carries the maximum frame size, the fds are the worker's pipe
/// ends and its descriptor channel.
pub(crate) fn server_entry(request: &[u8], fds: Vec<OwnedFd>) -> ! {
    let max_frame_size = request
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes);
    let mut fds = fds.into_iter();
    match (max_frame_size, fds.next(), fds.next()) {
        (Some(max), Some(input), Some(output)) => worker::main(input, output, fds.next(), max),
        _ => fork::exit_child(worker::EXIT_PROTOCOL),
    }
}
