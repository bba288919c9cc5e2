//! What ranks other than 0 do: serve `Run` frames until told to exit.
#![allow(unsafe_code)]

use mpi::point_to_point::MatchedReceiveVec;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, Destination, Source};

use crate::abort::abort;
use crate::backoff::Backoff;
use crate::recovery::Ending;
use crate::sends::Sends;
use crate::tags;

/// Test-only fault injection: `MPI_EXEC_TEST_FAULT=panic-rank:N` makes
/// rank N panic in its serving loop (outside any task).
const FAULT_VAR: &str = "MPI_EXEC_TEST_FAULT";

/// Serves rank 0 until it sends `EXIT`, which says how to end.
pub(crate) fn serve(world: &SimpleCommunicator, options: &crate::Options) -> Ending {
    let rank = world.rank();
    proc_exec::remote::enter_worker();
    if std::env::var(FAULT_VAR).ok() == Some(format!("panic-rank:{rank}")) {
        panic!("injected fault ({FAULT_VAR})");
    }
    let root = world.process_at_rank(0);
    // Under recovery, answers go out without blocking: rank 0 may have
    // declared this rank dead (it was slow) and left, and an answer above
    // the eager limit would then wait for ever.
    let recovering = options.rank_deadline.is_some();
    let mut answers = Sends::new();
    let mut backoff = Backoff::new(options.spin, options.max_sleep);
    loop {
        if recovering {
            answers.progress(&mut Vec::new());
            // An `EXIT` overtakes the `Run` frames queued before it: a rank
            // declared dead leaves without running them.
            if let Some(exit) = root.immediate_matched_probe_with_tag(tags::EXIT) {
                let (body, _) = exit.matched_receive_vec::<u8>();
                return leave(Ending::of_exit(&body), &mut answers, &mut backoff);
            }
        }
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
                if recovering {
                    answers.start(0, tags::DONE, done);
                } else {
                    root.send_with_tag(&done[..], tags::DONE);
                }
            }
            tags::EXIT => return leave(Ending::of_exit(&frame), &mut answers, &mut backoff),
            tag => abort(rank, &format!("an unknown message tag {tag} from rank 0")),
        }
    }
}

/// Ends serving: when finalizing, rank 0 has every answer already, so
/// their sends complete; when leaving, they are given up.
fn leave(ending: Ending, answers: &mut Sends, backoff: &mut Backoff) -> Ending {
    match ending {
        Ending::Finalize => {
            while !answers.is_empty() {
                answers.progress(&mut Vec::new());
                backoff.idle();
            }
        }
        Ending::Leave => answers.abandon_all(),
    }
    ending
}
