//! What ranks other than 0 do: serve `Run` frames until told to exit.
#![allow(unsafe_code)]

use mpi::point_to_point::MatchedReceiveVec;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, Destination, Source};

use crate::abort::abort;
use crate::backoff::Backoff;
use crate::tags;

/// Test-only fault injection: `MPI_EXEC_TEST_FAULT=panic-rank:N` makes
/// rank N panic in its serving loop (outside any task).
const FAULT_VAR: &str = "MPI_EXEC_TEST_FAULT";

/// Serves rank 0 until it sends `EXIT`.
pub(crate) fn serve(world: &SimpleCommunicator, options: &crate::Options) {
    let rank = world.rank();
    proc_exec::remote::enter_worker();
    if std::env::var(FAULT_VAR).ok() == Some(format!("panic-rank:{rank}")) {
        panic!("injected fault ({FAULT_VAR})");
    }
    let root = world.process_at_rank(0);
    let mut backoff = Backoff::new(options.spin, options.max_sleep);
    loop {
        let Some((message, status)) = root.immediate_matched_probe() else {
            backoff.idle();
            continue;
        };
        backoff.reset();
        let tag = status.tag();
        let (frame, _) = (message, status).matched_receive_vec::<u8>();
        match tag {
            tags::RUN => {
                // SAFETY: only rank 0 sends RUN messages, frames it built with `remote::encode_run` in this same binary (the start-up agreement checked that every rank runs the same build).
                let done =
                    match unsafe { proc_exec::remote::run_frame(&frame, options.max_frame_size) } {
                        Ok(done) => done,
                        Err(error) => abort(rank, &format!("a bad frame from rank 0: {error}")),
                    };
                root.send_with_tag(&done[..], tags::DONE);
            }
            tags::EXIT => return,
            tag => abort(rank, &format!("an unknown message tag {tag} from rank 0")),
        }
    }
}
