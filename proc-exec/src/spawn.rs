//! Starting one worker process: two pipes, then a fork, either here or in
//! the fork server. The pool's manager and [`Process`](crate::Process) both
//! start their children through [`spawn_worker`], so the child's first steps
//! are written once.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsFd, OwnedFd};

use crate::os::child::Child;
use crate::os::fd;
use crate::os::fork::{self, Forked};
use crate::os::fork_server::ForkServer;
use crate::worker;

/// The pipe buffer asked for: Linux's default limit for unprivileged
/// processes (`/proc/sys/fs/pipe-max-size`).
const PIPE_SIZE: usize = 1 << 20;

/// A started worker and the parent's ends of its pipes.
pub(crate) struct Spawned {
    /// The process.
    pub(crate) child: Child,
    /// Frames to the worker.
    pub(crate) to: OwnedFd,
    /// Frames from the worker.
    pub(crate) from: OwnedFd,
}

/// Starts a worker that serves frames of at most `max_frame_size` bytes:
/// forked from the fork server if one is given, else from this thread.
pub(crate) fn spawn_worker(
    server: Option<&ForkServer>,
    max_frame_size: u32,
) -> io::Result<Spawned> {
    let (to_worker, to) = fd::pipe()?;
    let (from, from_worker) = fd::pipe()?;
    // Large arguments and results cross in 1 MiB steps rather than the
    // default 64 KiB; where the system refuses, the default serves.
    let _ = fd::grow_pipe(to.as_fd(), PIPE_SIZE);
    let _ = fd::grow_pipe(from.as_fd(), PIPE_SIZE);
    let child = match server {
        Some(server) => {
            let request = max_frame_size.to_le_bytes();
            server.spawn(&request, &[to_worker.as_fd(), from_worker.as_fd()])?
        }
        None => {
            let parent = rustix::process::getpid();
            // SAFETY: the child runs only the worker loop over its two pipe ends and leaves through `exit_child` (inside `run_child` and `worker::main`). The loop itself takes no lock another thread could hold except the allocator's, which the C library's at-fork handlers keep usable, and (when a task panics) std's panic-hook lock for reading, which is held for writing only while some thread runs `set_hook` (the worker never does; see `panic.rs`). The tasks' own locks are the user's: see `StartMethod::Fork`.
            match unsafe { fork::fork() }? {
                Forked::Child => fork::run_child(|| {
                    let _ = fork::die_with_parent(parent);
                    let keep = [to_worker.as_fd(), from_worker.as_fd()];
                    // SAFETY: a fresh child that leaves through `exit_child` and touches no descriptor but the two it keeps.
                    let _ = unsafe { fork::close_fds_except(&keep) };
                    worker::main(to_worker, from_worker, max_frame_size)
                }),
                Forked::Parent(pid) => Child::spawned(pid)?,
            }
        }
    };
    // The child holds its own copies; ours would keep the pipes open after
    // it dies and hide its end of file.
    drop((to_worker, from_worker));
    Ok(Spawned { child, to, from })
}

/// What the fork server runs in each worker it forks: the request carries
/// the maximum frame size, the two fds are the worker's pipe ends.
pub(crate) fn server_entry(request: &[u8], fds: Vec<OwnedFd>) -> ! {
    let max_frame_size = request
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes);
    let mut fds = fds.into_iter();
    match (max_frame_size, fds.next(), fds.next()) {
        (Some(max), Some(input), Some(output)) => worker::main(input, output, max),
        _ => fork::exit_child(worker::EXIT_PROTOCOL),
    }
}
