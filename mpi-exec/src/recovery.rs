//! Opt-in survival of a dead worker rank
//! ([`Options::recover_dead_ranks`](crate::Options::recover_dead_ranks)):
//! MPI errors are returned instead of ending the job, rank 0 watches each
//! worker's answers against the deadline, and a job that lost a rank ends
//! without `MPI_Finalize`, which Open MPI 4.1.4 lets wait on the dead rank
//! for ever (in about 1 run in 10: measured with a C probe, where both
//! surviving ranks sat in `ompi_mpi_finalize`'s fence).
#![allow(unsafe_code)]

use std::time::{Duration, Instant};

use mpi::ffi;

/// How a rank leaves `run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// Every rank is alive: `MPI_Finalize` as usual.
    Finalize,
    /// A rank was declared dead: no `MPI_Finalize` (see the module docs).
    Leave,
}

/// The body of the `EXIT` message that tells a worker to leave without
/// `MPI_Finalize`; an empty body means finalize.
pub(crate) const LEAVE: u8 = 1;

impl Ending {
    /// The ending an `EXIT` message's body asks for.
    pub(crate) fn of_exit(body: &[u8]) -> Self {
        if body.first() == Some(&LEAVE) {
            Self::Leave
        } else {
            Self::Finalize
        }
    }

    /// Finalizes MPI, or leaves it as it is.
    pub(crate) fn finish(self, universe: mpi::environment::Universe) {
        match self {
            Self::Finalize => drop(universe),
            // Dropping it would call `MPI_Finalize`; the process exits
            // without, which Open MPI's recovery mode tolerates.
            Self::Leave => std::mem::forget(universe),
        }
    }
}

/// Makes MPI calls on `MPI_COMM_WORLD` return errors rather than end the
/// job (rsmpi sets `MPI_ERRORS_ARE_FATAL`).
pub(crate) fn errors_return(rank: i32) {
    // SAFETY: MPI is initialised (`run` did it); the handles are MPI's predefined constants.
    let code =
        unsafe { ffi::MPI_Comm_set_errhandler(ffi::RSMPI_COMM_WORLD, ffi::RSMPI_ERRORS_RETURN) };
    if code != 0 {
        crate::abort::abort(rank, &format!("MPI_Comm_set_errhandler failed with {code}"));
    }
}

/// Rank 0's view of which workers are alive: a worker with work in flight
/// that has not answered for the deadline is dead.
pub(crate) struct Watch {
    deadline: Option<Duration>,
    /// Per worker: since when it owes an answer (`None`: nothing in flight).
    owing_since: Vec<Option<Instant>>,
    dead: Vec<bool>,
    /// The worker declared dead last.
    last_dead: Option<usize>,
}

impl Watch {
    pub(crate) fn new(workers: usize, deadline: Option<Duration>) -> Self {
        Self {
            deadline,
            owing_since: vec![None; workers],
            dead: vec![false; workers],
            last_dead: None,
        }
    }

    pub(crate) fn is_dead(&self, worker: usize) -> bool {
        self.dead[worker]
    }

    pub(crate) fn any_dead(&self) -> bool {
        self.dead.iter().any(|dead| *dead)
    }

    pub(crate) fn all_dead(&self) -> bool {
        self.dead.iter().all(|dead| *dead)
    }

    /// A frame went to `worker`.
    pub(crate) fn sent(&mut self, worker: usize) {
        if self.deadline.is_some() && self.owing_since[worker].is_none() {
            self.owing_since[worker] = Some(Instant::now());
        }
    }

    /// `worker` answered; `in_flight` frames are still out there.
    pub(crate) fn answered(&mut self, worker: usize, in_flight: usize) {
        if self.deadline.is_some() {
            self.owing_since[worker] = (in_flight > 0).then(Instant::now);
        }
    }

    /// A worker that owes an answer for longer than the deadline, if any.
    pub(crate) fn overdue(&self) -> Option<usize> {
        let deadline = self.deadline?;
        self.owing_since
            .iter()
            .position(|since| since.is_some_and(|since| since.elapsed() > deadline))
    }

    /// The worker declared dead last, if any.
    pub(crate) fn last_dead(&self) -> Option<usize> {
        self.last_dead
    }

    pub(crate) fn declare_dead(&mut self, worker: usize) {
        self.dead[worker] = true;
        self.last_dead = Some(worker);
        self.owing_since[worker] = None;
    }

    pub(crate) fn deadline(&self) -> Option<Duration> {
        self.deadline
    }
}
