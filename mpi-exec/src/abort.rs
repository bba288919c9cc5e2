//! Ending the whole job, never hanging it: a rank that unwinds out of its
//! work would block in `MPI_Finalize` while the others wait for it.

use std::any::Any;

use mpi::topology::SimpleCommunicator;
use mpi::traits::Communicator;

/// The exit code `mpirun` reports for a job ended here.
pub(crate) const ABORT_CODE: i32 = 70;

/// Prints why, naming the rank, and ends every rank of the job.
pub(crate) fn abort(rank: i32, why: &str) -> ! {
    eprintln!("mpi-exec: rank {rank}: {why}; aborting the MPI job");
    SimpleCommunicator::world().abort(ABORT_CODE)
}

/// The text of a panic's payload (`&str` or `String`).
pub(crate) fn panic_text(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic with a non-string payload".to_owned()
    }
}

/// Runs `f`; a panic out of it aborts the job, naming `rank` and `what`.
pub(crate) fn or_abort<T>(rank: i32, what: &str, f: impl FnOnce() -> T) -> T {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(value) => value,
        Err(payload) => abort(rank, &format!("{what} panicked: {}", panic_text(&*payload))),
    }
}
