//! Python's `concurrent.futures` executor over MPI ranks (`mpi4py.futures`
//! for Rust): the same binary runs on every rank; rank 0 submits, the other
//! ranks run the tasks.
//!
//! Every rank calls [`run`] at the top of `main`. On rank 0 the closure gets
//! an [`MpiExecutor`] (`submit`, `submit_fallible`, `map`, `map_unordered`,
//! `shutdown`); its futures are [`future_core::Future`]s, so done callbacks
//! and `waiters::wait`/`as_completed` work on them. The other ranks serve
//! tasks until rank 0's closure returns, then `run` returns `None` there.
//!
//! Functions and arguments cross as in proc-exec, whose frames are the
//! bodies of the MPI messages (see [`proc_exec::remote`]): a function is its
//! address relative to a fixed point of the binary, which is why every rank
//! must run the same build (checked at start-up).
//!
//! # Examples
//!
//! ```no_run
//! fn is_prime(n: u64) -> bool {
//!     n >= 2 && (2..).take_while(|d| d * d <= n).all(|d| n % d != 0)
//! }
//!
//! fn main() {
//!     // mpirun -n 3 target/release/examples/primes
//!     let counted = mpi_exec::run(|exec| {
//!         let options = mpi_exec::MapOptions::new().chunksize(1000);
//!         exec.map(is_prime, 1..100_000u64, options)
//!             .filter(|r| *r.as_ref().unwrap())
//!             .count()
//!     });
//!     if let Some(count) = counted.unwrap() {
//!         println!("{count} primes");
//!     }
//! }
//! ```
//!
//! # What can go wrong
//!
//! - A task's panic is that task's [`TaskError::Panicked`] (message and
//!   location); the worker rank goes on.
//! - Any other panic, on any rank (rank 0's closure, its manager thread, a
//!   worker's serving loop), prints `mpi-exec: rank N: ... panicked: ...;
//!   aborting the MPI job` and calls `MPI_Abort`: the job ends at once with
//!   a non-zero exit, rather than hanging in `MPI_Finalize`.
//! - Ranks running another build (or protocol version) than rank 0: rank 0
//!   aborts at start-up, naming them.
//! - A rank that dies (killed, out of memory): by default MPI's meaning,
//!   the whole job ends (Open MPI's `mpirun` kills the other ranks and
//!   exits non-zero). Opt-in, see "Rank death" below: its tasks fail with
//!   [`TaskError::RankLost`] (`rank N was declared dead (no answer for 2s
//!   with tasks in flight) before it answered`), the others go on.
//! - MPI without the thread level needed ([`RunError::ThreadLevel`]), MPI
//!   already initialised ([`RunError::AlreadyInitialized`]), a job of one
//!   rank ([`RunError::NoWorkers`]): `run` returns the error on every rank.
//!
//! # Rank death
//!
//! [`Options::recover_dead_ranks`] (off by default), on every rank, with
//! Open MPI's recovery setting (`mpirun --enable-recovery`, or `--mca
//! orte_enable_recovery 1`; without it `mpirun` still ends the job):
//!
//! - MPI errors on `MPI_COMM_WORLD` are returned (`MPI_ERRORS_RETURN`), not
//!   fatal.
//! - A worker rank that owes an answer (has `Run` frames in flight) and
//!   sends none for the deadline, or a send to which fails, is declared
//!   dead: every task in flight on it fails with [`TaskError::RankLost`]
//!   naming it (a `map` chunk: each of its items), no task is sent to it
//!   again, and the other ranks serve on. With no worker left, queued and
//!   new tasks fail the same way. Failed tasks are not requeued.
//! - The deadline is no heartbeat: a slow task cannot be told from a dead
//!   rank, so it must exceed the longest task (a whole `map` chunk) plus
//!   its wait behind the frames in flight ahead of it on that worker.
//! - A job that lost a rank ends without `MPI_Finalize` on any rank:
//!   Open MPI 4.1.4's `MPI_Finalize` waits for ever on the dead rank in
//!   about 1 run in 10 (measured). `run` returns as usual (rank 0's value
//!   is delivered), MPI is left initialised, and the process exits, which
//!   the recovery mode tolerates; `mpirun` exits 0. Rank 0 sends every other
//!   rank, including those declared dead (one may only be slow), an `EXIT`
//!   it waits for at most 1 s; a rank that was only slow leaves when its
//!   task returns, its answer dropped.
//! - Tested with Open MPI 4.1.4 on one machine (shared memory), a rank
//!   killed by `SIGKILL` and a rank slower than the deadline. MPICH, ULFM
//!   and other transports are untested; an MPI whose calls block on a dead
//!   peer, or whose launcher ends the job anyway, defeats it.
//!
//! # Idle cost
//!
//! Idle workers, and rank 0's manager while tasks are running, poll with
//! [`Options::spin`] of spinning, then sleeps doubling up to
//! [`Options::max_sleep`]; rank 0's manager blocks without polling when
//! nothing is in flight.
#![cfg_attr(not(target_os = "linux"), allow(unused))]

mod abort;
mod backoff;
mod executor;
mod handshake;
mod manager;
mod map;
mod recovery;
mod sends;
mod sync;
mod tags;
mod worker;

use std::fmt;
use std::time::Duration;

use mpi::Threading;
use mpi::traits::Communicator;

pub use executor::MpiExecutor;
pub use map::{Map, MapError, MapOptions};
pub use proc_exec::{Function, SubmitError, TaskError};

/// How [`run_with`] runs the job.
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct Options {
    spin: Duration,
    max_sleep: Duration,
    max_in_flight: usize,
    max_frame_size: u32,
    rank_deadline: Option<Duration>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            spin: Duration::from_micros(200),
            max_sleep: Duration::from_millis(1),
            max_in_flight: 8,
            max_frame_size: proc_exec::wire::DEFAULT_MAX_FRAME_SIZE,
            rank_deadline: None,
        }
    }
}

impl Options {
    /// The defaults: 200 µs of spinning, sleeps up to 1 ms, 8 frames in
    /// flight per worker, proc-exec's 64 MiB frame limit.
    pub fn new() -> Self {
        Self::default()
    }

    /// How long an idle rank polls without sleeping before backing off.
    pub fn spin(mut self, spin: Duration) -> Self {
        self.spin = spin;
        self
    }

    /// The longest sleep between polls of an idle rank: the most latency
    /// the backoff adds to a task arriving at an idle worker.
    pub fn max_sleep(mut self, max_sleep: Duration) -> Self {
        self.max_sleep = max_sleep;
        self
    }

    /// `Run` frames sent to one worker before it answers (at least 1).
    /// More keeps a worker busy between tiny tasks (measured on 2 worker
    /// ranks: 100k tiny tasks at 3.3 µs each with 4, 2.0 µs with 8, 1.5 µs
    /// with 16); fewer spreads tasks of uneven length better, since a
    /// frame sent to a busy worker waits there even when another is idle.
    pub fn max_in_flight(mut self, frames: usize) -> Self {
        self.max_in_flight = frames.max(1);
        self
    }

    /// The largest frame body, each way (at most `i32::MAX - 16`, MPI's
    /// count limit).
    pub fn max_frame_size(mut self, bytes: u32) -> Self {
        self.max_frame_size = bytes.min(i32::MAX as u32 - 16);
        self
    }

    /// Opt-in survival of a dead worker rank (off by default: a rank's
    /// death ends the job). A worker with work in flight that sends no
    /// answer for `deadline`, or a send to which fails, is declared dead:
    /// its tasks fail with [`TaskError::RankLost`], nothing is sent to it
    /// again, the other ranks serve on. A slow task is indistinguishable
    /// from a dead rank, so `deadline` must exceed the longest task (for a
    /// chunk of `map`, the whole chunk) plus its wait behind the
    /// [`max_in_flight`](Self::max_in_flight) frames ahead of it.
    ///
    /// Needs Open MPI's recovery (`mpirun --enable-recovery`, or `--mca
    /// orte_enable_recovery 1`); without it `mpirun` ends the job anyway.
    /// Tested with Open MPI 4.1.4 only; MPICH and ULFM are untested. See
    /// the crate docs' "Rank death" for how such a job ends (without
    /// `MPI_Finalize`). Every rank must be given the same setting.
    pub fn recover_dead_ranks(mut self, deadline: Duration) -> Self {
        self.rank_deadline = Some(deadline);
        self
    }
}

/// Why [`run`] could not start (returned on every rank alike).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RunError {
    /// MPI was initialised before (`run` initialises and finalises it).
    AlreadyInitialized,
    /// The MPI library gives less than `MPI_THREAD_SERIALIZED`, which rank
    /// 0's manager thread needs.
    ThreadLevel {
        /// What it provided.
        provided: String,
    },
    /// The job has one rank: nobody to run the tasks.
    NoWorkers,
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AlreadyInitialized => f.write_str("MPI was already initialised"),
            Self::ThreadLevel { provided } => write!(
                f,
                "the MPI library provides the thread level {provided}, below the \
                 MPI_THREAD_SERIALIZED mpi-exec needs"
            ),
            Self::NoWorkers => {
                f.write_str("the MPI job has one rank: start it with at least 2 (mpirun -n 3 ...)")
            }
        }
    }
}

impl std::error::Error for RunError {}

/// [`run_with`] with the default [`Options`].
pub fn run<T>(main: impl FnOnce(&MpiExecutor) -> T) -> Result<Option<T>, RunError> {
    run_with(Options::default(), main)
}

/// Initialises MPI, checks that every rank runs the same build, then: on
/// rank 0 runs `main` with an executor over the other ranks, waits for
/// everything submitted and returns `Some` of its value; on the other ranks
/// serves tasks until then and returns `None`. MPI is finalised before it
/// returns, on every rank.
pub fn run_with<T>(
    options: Options,
    main: impl FnOnce(&MpiExecutor) -> T,
) -> Result<Option<T>, RunError> {
    let (universe, provided) = mpi::initialize_with_threading(Threading::Serialized)
        .ok_or(RunError::AlreadyInitialized)?;
    if provided < Threading::Serialized {
        return Err(RunError::ThreadLevel {
            provided: format!("{provided:?}"),
        });
    }
    let world = universe.world();
    if world.size() < 2 {
        return Err(RunError::NoWorkers);
    }
    let rank = world.rank();
    if options.rank_deadline.is_some() {
        recovery::errors_return(rank);
    }
    abort::or_abort(rank, "the start-up agreement", || handshake::agree(&world));
    if rank != 0 {
        let ending = abort::or_abort(rank, "the worker's serving loop", || {
            worker::serve(&world, &options)
        });
        ending.finish(universe);
        return Ok(None);
    }
    let workers = usize::try_from(world.size() - 1).unwrap_or(0);
    let (commands, inbox) = sync::channel();
    // From here to the join, only the manager thread calls MPI.
    let manager = std::thread::Builder::new()
        .name("mpi-exec-manager".to_owned())
        .spawn(move || abort::or_abort(0, "the manager thread", || manager::run(inbox, options)))
        .unwrap_or_else(|error| abort::abort(0, &format!("no manager thread: {error}")));
    let exec = MpiExecutor::new(commands, workers, &options);
    let value = abort::or_abort(0, "the closure given to mpi_exec::run", || main(&exec));
    exec.shutdown(true);
    exec.exit();
    drop(exec);
    let Ok(ending) = manager.join() else {
        abort::abort(0, "the manager thread ended abnormally");
    };
    ending.finish(universe);
    Ok(Some(value))
}
