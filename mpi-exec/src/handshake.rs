//! The start-up agreement: every rank runs the same build and speaks the
//! same protocol, or the job ends before any frame (which names code
//! addresses) crosses.

use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, CommunicatorCollectives};

use crate::abort::abort;
use crate::tags::PROTOCOL_VERSION;

/// Test-only: an environment variable whose value is mixed into this
/// rank's build id, to make a mismatch without a second build.
const SALT_VAR: &str = "MPI_EXEC_TEST_BUILD_SALT";

/// This rank's `[protocol version, build id]`.
fn ours() -> [u64; 2] {
    let mut build = proc_exec::remote::build_fingerprint();
    if let Some(salt) = std::env::var_os(SALT_VAR) {
        build ^= salt.len() as u64 + 1;
    }
    [
        PROTOCOL_VERSION ^ ((proc_exec::wire::PROTOCOL_VERSION as u64) << 16),
        build,
    ]
}

/// Gathers every rank's id; on a mismatch rank 0 says which ranks differ
/// and aborts (the others wait to be ended with it).
pub(crate) fn agree(world: &SimpleCommunicator) {
    let mine = ours();
    let size = usize::try_from(world.size()).unwrap_or(0);
    let mut all = vec![0u64; 2 * size];
    world.all_gather_into(&mine[..], &mut all[..]);
    let differ: Vec<usize> = all
        .chunks(2)
        .enumerate()
        .filter(|(_, id)| id[0] != all[0] || id[1] != all[1])
        .map(|(rank, _)| rank)
        .collect();
    if differ.is_empty() {
        return;
    }
    if world.rank() == 0 {
        let [protocol, build] = [all[0], all[1]];
        abort(
            0,
            &format!(
                "ranks {differ:?} run another build or protocol than rank 0 \
                 (protocol {protocol:#x}, build id {build:#018x}); every rank must run the same binary"
            ),
        );
    }
    // Rank 0 ends the job; nothing here may go on meanwhile.
    world.barrier();
    abort(world.rank(), "the start-up agreement failed");
}
