//! The pool's manager under loom: the same [`Shared`] locking and state
//! transitions as `manager.rs`, with the OS replaced by simulated workers.
//!
//! Compiled only with `--cfg exec_loom`. A simulated worker lives in the
//! manager thread. A replacement (a worker started after another died)
//! starts in two steps, as a real worker does: the `Spawn` action makes the
//! process (the state hears `spawned`), and only on a later round does it
//! answer `Ready`, so submits, shutdowns and other workers' deaths can come
//! while it is starting; frames sent meanwhile wait for it. The workers
//! started before any death answer `Ready` at once, as they always did here:
//! the models that have no death keep their state space (a starting phase for
//! every worker doubled the older models' run time and checked nothing the
//! issue asked for). Once ready, each round of the loop a worker runs the
//! oldest frame sent to it through the real trampoline (so the future gets a
//! real outcome), or exits if it was told to and has nothing left, or dies
//! if it was signalled (starting or not) or its frame calls [`die`]. Nothing
//! here forks, reads or writes a pipe.
//!
//! The loop also checks, without taking any lock (so it adds no interleavings
//! of its own):
//! - after every action and every worker step, that no more simulated
//!   processes exist than `max_workers` (a process exists from its `Spawn`
//!   until its exit is reported);
//! - that no work item is resolved twice (by a `Resolve` action, or by its
//!   result coming back).
//!
//! That every future ends is the models' own check, after the pool shut
//! down: an item lost in a dead worker's pipe leaves its future pending.
#![allow(unsafe_code)]

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use crate::ExitStatus;
use crate::call;
use crate::pool_state::{Action, WorkId, WorkerId};
use crate::shared::Shared;
use crate::start::{Prepared, Started};
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
    /// Answered `Ready`.
    ready: bool,
    frames: VecDeque<(WorkId, Vec<u8>)>,
    exit: bool,
    killed: bool,
}

/// What the loop checks as it goes (see the module docs).
struct Checks {
    max_workers: usize,
    /// Items resolved, either way.
    resolved: BTreeSet<WorkId>,
}

impl Checks {
    fn live(&self, workers: &BTreeMap<WorkerId, FakeWorker>) {
        assert!(
            workers.len() <= self.max_workers,
            "{} worker processes alive, above max_workers = {}",
            workers.len(),
            self.max_workers
        );
    }

    fn resolved(&mut self, work: WorkId) {
        assert!(self.resolved.insert(work), "item {work} resolved twice");
    }
}

/// The model manager loop; returns once the pool is closed.
pub(crate) fn run(shared: Arc<Shared>, _prepared: Prepared, started: Started) {
    // No process is started under the model: the launch always succeeds.
    let _ = started.send(Ok(()));
    let mut workers: BTreeMap<WorkerId, FakeWorker> = BTreeMap::new();
    let mut checks = Checks {
        max_workers: shared.config.limits.max_workers.get(),
        resolved: BTreeSet::new(),
    };
    let mut actions = Vec::new();
    // A worker died: the workers started from now on are replacements.
    let mut replacing = false;
    loop {
        shared.take_actions(&mut actions, &mut Vec::new());
        let mut progressed = !actions.is_empty();
        for action in actions.drain(..) {
            match action {
                Action::Spawn { worker } => {
                    // The process exists from here on. A replacement
                    // answers `Ready` on a later round.
                    let ready = !replacing;
                    workers.insert(
                        worker,
                        FakeWorker {
                            ready,
                            ..FakeWorker::default()
                        },
                    );
                    shared.spawned(worker, Ok((1000 + worker, None)));
                    if ready {
                        let _ = shared.ready(worker);
                    }
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
                    work,
                    record,
                    failure,
                } => {
                    checks.resolved(work);
                    record.fail(failure);
                }
                Action::Closed => return,
            }
            checks.live(&workers);
        }
        let ids: Vec<WorkerId> = workers.keys().copied().collect();
        for id in ids {
            let Some(w) = workers.get_mut(&id) else {
                continue;
            };
            if w.killed {
                workers.remove(&id);
                shared.exited(id, DEATH);
                replacing = true;
                progressed = true;
            } else if !w.ready {
                w.ready = true;
                let _ = shared.ready(id);
                progressed = true;
            } else if let Some((work, frame)) = w.frames.pop_front() {
                progressed = true;
                if !run_frame(&shared, &mut checks, id, work, &frame) {
                    workers.remove(&id);
                    shared.exited(id, DEATH);
                    replacing = true;
                }
            } else if w.exit {
                workers.remove(&id);
                shared.exited(id, ExitStatus::Exited(0));
                progressed = true;
            }
            checks.live(&workers);
        }
        if !progressed {
            shared.wakeup().wait();
        }
    }
}

/// Runs one `Run` frame as the worker would; false if the worker dies.
fn run_frame(
    shared: &Shared,
    checks: &mut Checks,
    id: WorkerId,
    work: WorkId,
    frame: &[u8],
) -> bool {
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
    let Ok(outcomes) = wire::parse_outcomes(&list) else {
        return false;
    };
    if let Some(pending) = shared.done(id, work, outcomes.len()) {
        checks.resolved(work);
        pending.complete(outcomes);
    }
    true
}
