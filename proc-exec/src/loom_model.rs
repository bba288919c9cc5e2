//! The pool's manager under loom: the same [`Shared`] locking and state
//! transitions as `manager.rs`, with the OS replaced by simulated workers.
//!
//! Compiled only with `--cfg exec_loom`. A simulated worker lives in the
//! manager thread: each round of the loop, every worker runs the oldest frame
//! sent to it through the real trampoline (so the future gets a real
//! outcome), or exits if it was told to, or dies if it was signalled or its
//! frame calls [`die`]. Nothing here forks, reads or writes a pipe.
#![allow(unsafe_code)]

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use crate::ExitStatus;
use crate::call;
use crate::pool_state::{Action, WorkId, WorkerId};
use crate::shared::Shared;
use crate::wire::{self, OutcomeWriter};

/// A task whose worker dies (as if it called `abort`) instead of running
/// it. Submit it like any other `fn(()) -> ()`.
///
/// Never inlined, so its address is the same in every crate: small functions
/// are otherwise copied into the crates that use them, and the copy's
/// address would not match.
#[inline(never)]
pub fn die(unit: ()) {
    std::hint::black_box(unit);
}

/// How a simulated worker ends when it dies.
pub const DEATH: ExitStatus = ExitStatus::Signaled {
    signal: 9,
    core_dumped: false,
};

#[derive(Default)]
struct FakeWorker {
    frames: VecDeque<(WorkId, Vec<u8>)>,
    exit: bool,
    killed: bool,
}

/// The model manager loop; returns once the pool is closed.
pub(crate) fn run(shared: Arc<Shared>) {
    let mut workers: BTreeMap<WorkerId, FakeWorker> = BTreeMap::new();
    let mut actions = Vec::new();
    loop {
        shared.take_actions(&mut actions, &mut Vec::new());
        let mut progressed = !actions.is_empty();
        for action in actions.drain(..) {
            match action {
                Action::Spawn { worker } => {
                    workers.insert(worker, FakeWorker::default());
                    shared.spawned(worker, Ok(1000 + worker));
                    let _ = shared.ready(worker);
                }
                Action::Send {
                    worker,
                    work,
                    payload,
                } => {
                    if let Some(w) = workers.get_mut(&worker) {
                        w.frames.push_back((work, payload.to_vec()));
                    }
                }
                Action::SendExit { worker } => {
                    if let Some(w) = workers.get_mut(&worker) {
                        w.exit = true;
                    }
                }
                Action::Signal { worker, .. } => {
                    if let Some(w) = workers.get_mut(&worker) {
                        w.killed = true;
                    }
                }
                Action::Resolve {
                    record, failure, ..
                } => record.fail(failure),
                Action::Closed => return,
            }
        }
        let ids: Vec<WorkerId> = workers.keys().copied().collect();
        for id in ids {
            let Some(w) = workers.get_mut(&id) else {
                continue;
            };
            if w.killed {
                workers.remove(&id);
                shared.exited(id, DEATH);
                progressed = true;
            } else if let Some((work, frame)) = w.frames.pop_front() {
                progressed = true;
                if !run_frame(&shared, id, work, &frame) {
                    workers.remove(&id);
                    shared.exited(id, DEATH);
                }
            } else if w.exit {
                workers.remove(&id);
                shared.exited(id, ExitStatus::Exited(0));
                progressed = true;
            }
        }
        if !progressed {
            shared.wakeup().wait();
        }
    }
}

/// Runs one `Run` frame as the worker would; false if the worker dies.
fn run_frame(shared: &Shared, id: WorkerId, work: WorkId, frame: &[u8]) -> bool {
    let body = frame.get(wire::HEADER_LEN..).unwrap_or_default();
    let Ok((call_ref, args)) = wire::parse_call(body) else {
        return false;
    };
    if call::names(call_ref, die as fn(()) as usize) {
        return false;
    }
    let mut list = Vec::new();
    let mut outcomes = OutcomeWriter::begin(&mut list, u32::MAX);
    // SAFETY: the frame was built by `submit` in this process, pairing the function with its trampoline.
    unsafe { call::run(call_ref, args, &mut outcomes) };
    let _ = outcomes.finish();
    if let Some(pending) = shared.done(id, work) {
        if let Ok(outcomes) = wire::parse_outcomes(&list) {
            pending.complete(outcomes);
        }
    }
    true
}
