//! The process pool's bookkeeping as a deterministic state machine (sans-IO).
//!
//! [`PoolState`] knows which work items are queued, which are in flight on
//! which worker, where each worker is in its life, and whether the pool is
//! running, draining after a shutdown, or broken. It does no I/O, reads no
//! clock and takes no lock: the driver (`manager.rs`) feeds it events under
//! the pool's mutex and carries out the [`Action`]s it emits. That keeps every
//! decision testable with plain unit tests, drivable by the fuzzer, and the
//! same under loom as in production.
//!
//! It is a module of `proc-exec` rather than a crate of its own: nothing but
//! this crate's driver uses it, and it imports nothing from the OS layer
//! (process exit statuses and payloads are type parameters, see [`Spec`]).
//!
//! # Invariants (checked by [`PoolState::check_invariants`] after every event in
//! debug builds, and by the fuzz target)
//!
//! 1. Every submitted item is resolved exactly once: either the driver reports
//!    its result ([`PoolState::done`], which hands the item's record back) or
//!    the state emits one [`Action::Resolve`] for it. The record moves out of
//!    the state at that moment, so a second resolution cannot be expressed.
//! 2. An item is in exactly one place: the queue, or the in-flight list of
//!    exactly one live worker.
//! 3. A worker has at most `max_in_flight` items assigned, and never more
//!    than `max_tasks_per_child` over its life. New items go to a worker only
//!    while it holds fewer than its window: `max_in_flight` once the driver
//!    found its items quick ([`PoolState::pace`]), `slow_in_flight` until then.
//! 4. Nothing is sent after the pool broke, and nothing new is sent to a worker
//!    after its `Exit` frame; a worker gets at most one `Exit`.
//! 5. The number of live workers (spawned and not yet reported exited) never
//!    exceeds `max_workers`; it is derived from the worker list, never kept in
//!    a separate counter (CPython gh-115634).
//! 6. While the pool is running or draining, queued work always has a worker
//!    to go to: a live worker that will accept it, or a spawn in progress.
//! 7. [`Action::Closed`] is emitted once, when the pool was shut down or broke
//!    and no worker is left alive; no other action follows it.
//!
//! # When a worker dies
//!
//! A worker that ends without being asked to breaks the pool under
//! [`OnWorkerDeath::BreakPool`] (CPython's behaviour). Under
//! [`OnWorkerDeath::Replace`], and always for a worker the pool killed on
//! purpose ([`PoolState::kill_running`]: a task's timeout, `cancel_running`),
//! only the item it was running fails; the items queued behind it in its
//! pipe never started and go back to the front of the queue, and a new
//! worker takes them. That is why an item keeps its payload until it
//! resolves. The item "it was running" is the oldest one in flight: a worker
//! answers its items in order, and the driver reads a dead worker's pipe to
//! the end before it reports the death.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::num::NonZeroUsize;
use std::sync::Arc;

/// The types a [`PoolState`] carries without looking inside them.
pub(crate) trait Spec {
    /// What is sent to a worker for one item (the encoded frame). Cloned
    /// when the item is dispatched (so make it cheap, an `Arc`): an item whose
    /// worker is replaced before it started is sent again.
    type Payload: Clone;
    /// What the driver needs to resolve the item (its future). Moved out when
    /// the item resolves.
    type Record;
    /// How a worker process ended (an exit status).
    type Status: Clone + fmt::Debug + fmt::Display;
}

/// Identifies one submitted work item (never 0: the wire reserves 0).
pub(crate) type WorkId = u64;

/// Identifies one worker over the pool's life (never reused).
pub(crate) type WorkerId = u32;

/// Limits fixed when the pool is built.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Live worker processes at most.
    pub(crate) max_workers: NonZeroUsize,
    /// A worker exits after this many items and is replaced.
    pub(crate) max_tasks_per_child: Option<NonZeroUsize>,
    /// Items assigned to one worker at once (one running, the rest queued in
    /// its pipe), so a worker never waits for a round trip between items:
    /// the window of a worker whose items the driver found quick.
    pub(crate) max_in_flight: NonZeroUsize,
    /// The window of a worker not known to run quick items (at most
    /// `max_in_flight`; equal to it for a fixed window): few items wait
    /// behind a slow one while another worker may be free.
    pub(crate) slow_in_flight: NonZeroUsize,
    /// What an unexpected worker death does.
    pub(crate) on_death: OnWorkerDeath,
}

/// What happens when a worker process dies without being asked to (a crash,
/// a signal, `exit` inside a task, a resource limit).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OnWorkerDeath {
    /// CPython's behaviour: the pool is broken; every pending future fails
    /// with [`BrokenProcessPool`](crate::BrokenProcessPool) and later submits
    /// are refused.
    #[default]
    BreakPool,
    /// Only the task the worker was running fails, with
    /// [`TaskError::Died`](crate::TaskError::Died) naming its pid
    /// and exit status; tasks queued behind it on that worker are sent to
    /// another; a replacement worker starts when there is work for it; the
    /// pool stays usable. A worker that dies before it is ready (in its
    /// initializer), [`MAX_START_FAILURES`] times in a row, breaks the pool
    /// instead: a replacement would fail the same way forever.
    Replace,
}

/// Under [`OnWorkerDeath::Replace`], workers that die before they are ready
/// this many times in a row break the pool (CPython gh-87472: a pool whose
/// initializer kills every worker respawns forever).
pub const MAX_START_FAILURES: u32 = 3;

/// Where a worker is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Life {
    /// A spawn was requested; the driver has not reported the pid yet.
    Spawning,
    /// The process exists; its `Ready` frame has not arrived yet. It may
    /// already be sent work (the pipe holds it until the worker reads).
    Starting,
    /// Sent `Ready`: initialized and taking work.
    Running,
}

#[derive(Debug)]
struct Worker {
    id: WorkerId,
    pid: Option<u32>,
    life: Life,
    in_flight: VecDeque<WorkId>,
    /// Items ever assigned (for `max_tasks_per_child`).
    assigned: usize,
    /// `Exit` was emitted: no more work for this one.
    exit_sent: bool,
    /// A signal was asked for before the pid was known.
    signal_pending: Option<Signal>,
    /// The driver found its recent items quick: its window is
    /// `max_in_flight` rather than `slow_in_flight`.
    quick: bool,
    /// The pool killed this worker on purpose, to stop this item.
    killing: Option<(WorkId, Kill)>,
}

impl Worker {
    fn accepts(&self, limits: &Limits) -> bool {
        let window = if self.quick {
            limits.max_in_flight
        } else {
            limits.slow_in_flight.min(limits.max_in_flight)
        };
        !self.exit_sent && self.in_flight.len() < window.get()
    }
}

struct Item<S: Spec> {
    payload: S::Payload,
    record: S::Record,
    /// Sent to a worker (in flight), as opposed to queued.
    sent: bool,
    /// `kill_running` asked for it while it waited in a worker's pipe: its
    /// worker is killed as soon as it reaches the front.
    doomed: Option<Kill>,
}

/// Why the pool killed a worker on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kill {
    /// The item ran past its timeout.
    Timeout,
    /// `cancel_running` was called for the item.
    Cancelled,
}

/// Which signal to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    /// SIGTERM.
    Terminate,
    /// SIGKILL.
    Kill,
}

/// Why a pool broke. Shared by every failure it causes; each future's error
/// value is built from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BreakCause<St> {
    /// A worker process ended without being asked to.
    WorkerDied {
        /// Its pid.
        pid: Option<u32>,
        /// How it ended.
        status: St,
        /// It was killed through `terminate_workers`/`kill_workers`.
        forced: bool,
    },
    /// The initializer returned an error or panicked in a worker.
    InitializerFailed {
        /// The worker's pid.
        pid: Option<u32>,
        /// The initializer's error.
        message: String,
    },
    /// A worker sent something that does not follow the protocol.
    Protocol {
        /// The worker's pid.
        pid: Option<u32>,
        /// What was wrong.
        detail: String,
    },
    /// A worker process could not be started.
    SpawnFailed {
        /// The OS error.
        message: String,
    },
    /// The pool's manager thread ended by a panic (a bug of ours: every
    /// user code it runs is caught), so nothing would run the work any more.
    ManagerPanicked {
        /// The panic's message.
        message: String,
    },
}

/// How an item the driver did not complete itself ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure<St> {
    /// The pool broke while the item was queued or in flight.
    Broken {
        /// Why.
        cause: Arc<BreakCause<St>>,
        /// The pid of the worker the item was on, if it had been sent.
        on_worker: Option<u32>,
    },
    /// Under [`OnWorkerDeath::Replace`]: the worker running the item died.
    Died {
        /// Its pid.
        pid: Option<u32>,
        /// How it ended.
        status: St,
    },
    /// The pool killed the worker running the item, for this reason.
    Killed {
        /// Its pid (`None` if it was killed before it was started).
        pid: Option<u32>,
        /// Why.
        kill: Kill,
    },
}

/// What the driver must do next, in order.
pub(crate) enum Action<S: Spec> {
    /// Start a worker process and report it with [`PoolState::spawned`] or
    /// [`PoolState::spawn_failed`].
    Spawn {
        /// The new worker.
        worker: WorkerId,
    },
    /// Send this item to this worker (after the frames already sent to it).
    /// If the item's future was cancelled meanwhile, do not send it and call
    /// [`PoolState::withdraw`] instead.
    Send {
        /// The worker.
        worker: WorkerId,
        /// The item.
        work: WorkId,
        /// Its encoded frame.
        payload: S::Payload,
    },
    /// Send the `Exit` frame: the worker finishes what it has and exits.
    SendExit {
        /// The worker.
        worker: WorkerId,
    },
    /// Send a signal to a worker process.
    Signal {
        /// The worker.
        worker: WorkerId,
        /// Its pid.
        pid: u32,
        /// The signal.
        signal: Signal,
    },
    /// Resolve the item's future with a failure (the pool broke).
    Resolve {
        /// The item.
        work: WorkId,
        /// Its record (the future to complete).
        record: S::Record,
        /// How it failed.
        failure: Failure<S::Status>,
    },
    /// The pool is finished: shut down or broken, and no worker is alive. The
    /// driver may stop.
    Closed,
}

// By hand: payloads and records need not be `Debug`.
impl<S: Spec> fmt::Debug for Action<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Spawn { worker } => write!(f, "Spawn({worker})"),
            Self::Send { worker, work, .. } => write!(f, "Send({work} to {worker})"),
            Self::SendExit { worker } => write!(f, "SendExit({worker})"),
            Self::Signal { worker, signal, .. } => write!(f, "Signal({signal:?} to {worker})"),
            Self::Resolve { work, failure, .. } => write!(f, "Resolve({work}: {failure:?})"),
            Self::Closed => f.write_str("Closed"),
        }
    }
}

/// Why a submit was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refused<St> {
    /// `shutdown` was called.
    Shutdown,
    /// The pool is broken.
    Broken(Arc<BreakCause<St>>),
}

/// A refused submit: why, and the payload and record handed back.
pub(crate) type Rejected<S> = (
    Refused<<S as Spec>::Status>,
    <S as Spec>::Payload,
    <S as Spec>::Record,
);

/// A worker broke the protocol; the pool is now broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProtocolViolation;

#[derive(Debug)]
enum Phase<St> {
    Running,
    /// `shutdown` was called: no submits; queued work still runs unless it
    /// was cancelled; workers get `Exit` once there is nothing left for them.
    Draining,
    /// Sticky. Nothing is sent any more; workers are terminated.
    Broken(Arc<BreakCause<St>>),
}

/// The pool's bookkeeping. See the module docs for its invariants.
pub(crate) struct PoolState<S: Spec> {
    limits: Limits,
    phase: Phase<S::Status>,
    /// `terminate_workers`/`kill_workers` was called.
    forced: bool,
    closed: bool,
    /// Workers that died before `Ready`, in a row (Replace policy).
    start_failures: u32,
    next_work: WorkId,
    next_worker: WorkerId,
    items: BTreeMap<WorkId, Item<S>>,
    queue: VecDeque<WorkId>,
    workers: Vec<Worker>,
    actions: VecDeque<Action<S>>,
}

impl<S: Spec> fmt::Debug for PoolState<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolState")
            .field("limits", &self.limits)
            .field("phase", &self.phase)
            .field("queued", &self.queue.len())
            .field("items", &self.items.len())
            .field("workers", &self.workers)
            .finish_non_exhaustive()
    }
}

impl<S: Spec> PoolState<S> {
    /// An empty, running pool: no worker is started before the first submit.
    pub(crate) fn new(limits: Limits) -> Self {
        Self {
            limits,
            phase: Phase::Running,
            forced: false,
            closed: false,
            start_failures: 0,
            next_work: 1,
            next_worker: 0,
            items: BTreeMap::new(),
            queue: VecDeque::new(),
            workers: Vec::new(),
            actions: VecDeque::new(),
        }
    }

    /// The next action for the driver, if any.
    pub(crate) fn poll_action(&mut self) -> Option<Action<S>> {
        self.actions.pop_front()
    }

    /// True if [`poll_action`](Self::poll_action) has something.
    pub(crate) fn has_actions(&self) -> bool {
        !self.actions.is_empty()
    }

    /// Offers each queued [`Action::Signal`] to `sent`, which returns true
    /// if it sent that signal itself (from the thread that asked for it);
    /// those actions are dropped, the others stay queued in their order.
    pub(crate) fn signals_sent(&mut self, mut sent: impl FnMut(WorkerId, Signal) -> bool) {
        self.actions.retain(|action| match *action {
            Action::Signal { worker, signal, .. } => !sent(worker, signal),
            _ => true,
        });
    }

    /// True once the workers have been told to stop at once: the pool broke
    /// or `terminate` was called. A worker that ignores the signal is then
    /// the driver's to kill after a grace period.
    pub(crate) fn stopping(&self) -> bool {
        self.forced || matches!(self.phase, Phase::Broken(_))
    }

    /// The record of an unresolved item.
    pub(crate) fn record(&self, work: WorkId) -> Option<&S::Record> {
        self.items.get(&work).map(|item| &item.record)
    }

    /// True once [`Action::Closed`] was emitted.
    #[cfg(test)]
    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    /// Why the pool broke, if it did.
    #[cfg(test)]
    pub(crate) fn broken(&self) -> Option<&Arc<BreakCause<S::Status>>> {
        match &self.phase {
            Phase::Broken(cause) => Some(cause),
            _ => None,
        }
    }

    /// Live workers: spawned (or being spawned) and not yet reported exited.
    pub(crate) fn live_workers(&self) -> usize {
        self.workers.len()
    }

    /// The pids of the live workers that have one, in spawn order.
    pub(crate) fn pids(&self) -> Vec<u32> {
        self.workers.iter().filter_map(|w| w.pid).collect()
    }

    /// The pid of a live worker.
    pub(crate) fn pid(&self, worker: WorkerId) -> Option<u32> {
        self.find(worker).and_then(|w| w.pid)
    }

    /// Items not yet resolved.
    #[cfg(test)]
    pub(crate) fn unresolved(&self) -> usize {
        self.items.len()
    }

    /// Queue a work item. Refused after `shutdown` or once broken (CPython
    /// checks broken first).
    pub(crate) fn submit(
        &mut self,
        payload: S::Payload,
        record: S::Record,
    ) -> Result<WorkId, Rejected<S>> {
        match &self.phase {
            Phase::Broken(cause) => return Err((Refused::Broken(cause.clone()), payload, record)),
            Phase::Draining => return Err((Refused::Shutdown, payload, record)),
            Phase::Running => {}
        }
        let work = self.next_work;
        self.next_work += 1;
        let item = Item {
            payload,
            record,
            sent: false,
            doomed: None,
        };
        self.items.insert(work, item);
        self.queue.push_back(work);
        self.schedule();
        self.debug_check();
        Ok(work)
    }

    /// The driver started the process of `worker`.
    pub(crate) fn spawned(&mut self, worker: WorkerId, pid: u32) {
        let Some(index) = self.index(worker) else {
            return;
        };
        let w = &mut self.workers[index];
        w.pid = Some(pid);
        event!(info, "worker {pid} started");
        if w.life == Life::Spawning {
            w.life = Life::Starting;
        }
        if let Some(signal) = w.signal_pending.take() {
            self.actions.push_back(Action::Signal {
                worker,
                pid,
                signal,
            });
        }
        self.debug_check();
    }

    /// The driver could not start the process of `worker`: the pool breaks.
    pub(crate) fn spawn_failed(&mut self, worker: WorkerId, message: String) {
        let Some(index) = self.index(worker) else {
            return;
        };
        let w = self.workers.remove(index);
        self.break_pool(BreakCause::SpawnFailed { message }, Some(w));
        self.maybe_close();
        self.debug_check();
    }

    /// `worker` sent `Ready`.
    pub(crate) fn ready(&mut self, worker: WorkerId) -> Result<(), ProtocolViolation> {
        let Some(index) = self.index(worker) else {
            return Ok(());
        };
        let w = &mut self.workers[index];
        if w.life != Life::Starting {
            let pid = w.pid;
            return self.violation(pid, "a second Ready frame");
        }
        w.life = Life::Running;
        self.start_failures = 0;
        Ok(())
    }

    /// `worker` sent the result of `work`; the record comes back so the driver
    /// can complete the future. Results must come in the order items were sent.
    pub(crate) fn done(
        &mut self,
        worker: WorkerId,
        work: WorkId,
    ) -> Result<S::Record, ProtocolViolation> {
        let Some(index) = self.index(worker) else {
            return Err(ProtocolViolation);
        };
        let w = &mut self.workers[index];
        let pid = w.pid;
        if w.life != Life::Running {
            return self.violation(pid, "a result before the Ready frame");
        }
        if w.in_flight.front() != Some(&work) {
            return self.violation(pid, "a result for an item it was not running");
        }
        w.in_flight.pop_front();
        let next = w.in_flight.front().copied();
        let Some(item) = self.items.remove(&work) else {
            return self.violation(pid, "a result for an unknown item");
        };
        let doomed = next.and_then(|next| Some((next, self.items.get(&next)?.doomed?)));
        if let Some((next, kill)) = doomed {
            self.kill_worker(index, next, kill);
        }
        self.retire_idle();
        self.schedule();
        self.debug_check();
        Ok(item.record)
    }

    /// The driver timed `worker`'s recent items: `quick` ones widen its
    /// window to `max_in_flight` (and queued items go to it at once), slow
    /// ones narrow it to `slow_in_flight` (it takes no more until it is
    /// below). Returns whether the worker still has items in flight.
    pub(crate) fn pace(&mut self, worker: WorkerId, quick: bool) -> bool {
        let Some(index) = self.index(worker) else {
            return false;
        };
        let w = &mut self.workers[index];
        let busy = !w.in_flight.is_empty();
        if w.quick != quick {
            w.quick = quick;
            self.schedule();
            self.debug_check();
        }
        busy
    }

    /// Whether `worker` has items in flight.
    pub(crate) fn busy(&self, worker: WorkerId) -> bool {
        self.find(worker).is_some_and(|w| !w.in_flight.is_empty())
    }

    /// The driver did not send `work` to `worker` because its future was
    /// cancelled: the item is dropped (its future is already cancelled).
    pub(crate) fn withdraw(&mut self, worker: WorkerId, work: WorkId) -> Option<S::Record> {
        let item = self.items.remove(&work)?;
        if let Some(index) = self.index(worker) {
            let w = &mut self.workers[index];
            w.in_flight.retain(|&id| id != work);
            // The item never reached the worker: it does not count against
            // `max_tasks_per_child` (the `Exit`, if sent, stays sent).
            w.assigned -= 1;
        }
        self.retire_idle();
        self.schedule();
        self.debug_check();
        Some(item.record)
    }

    /// `worker`'s initializer failed: the pool breaks.
    pub(crate) fn init_failed(&mut self, worker: WorkerId, message: String) {
        let pid = self.pid(worker);
        self.break_pool(BreakCause::InitializerFailed { pid, message }, None);
        self.maybe_close();
        self.debug_check();
    }

    /// A frame from `worker` could not be decoded: the pool breaks.
    pub(crate) fn malformed(&mut self, worker: WorkerId, detail: String) {
        let pid = self.pid(worker);
        self.break_pool(BreakCause::Protocol { pid, detail }, None);
        self.maybe_close();
        self.debug_check();
    }

    /// The driver is gone (its thread panicked) and its workers with it:
    /// the pool breaks, and the records of every queued and in-flight item
    /// are returned with their failure, for the caller to resolve (nothing
    /// else will). Every other action is dropped: nobody carries it out.
    pub(crate) fn abandon(&mut self, message: String) -> Vec<(S::Record, Failure<S::Status>)> {
        self.break_pool(BreakCause::ManagerPanicked { message }, None);
        self.actions
            .drain(..)
            .filter_map(|action| match action {
                Action::Resolve {
                    record, failure, ..
                } => Some((record, failure)),
                _ => None,
            })
            .collect()
    }

    /// `worker`'s process ended with `status`; `clean` says whether it exited
    /// with code 0. An exit that was not asked for (no `Exit` sent, items
    /// still in flight, or an unclean status) breaks the pool, or under
    /// [`OnWorkerDeath::Replace`] fails the item it was running (see the
    /// module docs).
    pub(crate) fn exited(&mut self, worker: WorkerId, status: S::Status, clean: bool) {
        let Some(index) = self.index(worker) else {
            return;
        };
        let mut w = self.workers.remove(index);
        let expected = w.exit_sent && w.in_flight.is_empty() && clean;
        // After terminate_workers every death is part of the pool's end.
        let killing = w.killing.take().filter(|_| !self.forced);
        if let Some((work, kill)) = killing {
            event!(
                info,
                "{} killed to stop a task ({status}); another replaces it",
                crate::events::Who(w.pid)
            );
            // Killed on purpose: only the item it was stopped for fails
            // (unless it finished first).
            if w.in_flight.front() == Some(&work) {
                w.in_flight.pop_front();
                self.resolve(work, Failure::Killed { pid: w.pid, kill });
            }
            self.requeue(w.in_flight);
        } else if !expected {
            self.died(w, status);
        } else {
            event!(info, "{} retired ({status})", crate::events::Who(w.pid));
        }
        self.schedule();
        self.maybe_close();
        self.debug_check();
    }

    /// `shutdown`: refuse submits from now on; with `cancel_futures`, every
    /// queued item (not yet sent to a worker) is removed and its record
    /// returned, for the caller to cancel at once (CPython cancels them in
    /// the thread that calls `shutdown`). Work already sent runs to the end.
    /// Calling it again does nothing more (except cancel what was queued
    /// since, which is nothing: submits are refused).
    pub(crate) fn shutdown(&mut self, cancel_futures: bool) -> Vec<S::Record> {
        if let Phase::Running = self.phase {
            self.phase = Phase::Draining;
        }
        let mut cancelled = Vec::new();
        if cancel_futures {
            while let Some(work) = self.queue.pop_front() {
                if let Some(item) = self.items.remove(&work) {
                    cancelled.push(item.record);
                }
            }
        }
        self.retire_idle();
        self.maybe_close();
        self.debug_check();
        cancelled
    }

    /// `terminate_workers` / `kill_workers`: `shutdown(cancel_futures)` and
    /// signal every live worker; returns the cancelled records as `shutdown`
    /// does. Items that were running fail when their worker dies (as in
    /// CPython, with a broken-pool error).
    pub(crate) fn terminate(&mut self, signal: Signal) -> Vec<S::Record> {
        let cancelled = self.shutdown(true);
        self.forced = true;
        self.signal_all(signal);
        self.debug_check();
        cancelled
    }

    /// A worker ended without being asked to: replace it, or break the pool.
    fn died(&mut self, mut w: Worker, status: S::Status) {
        let replace = self.limits.on_death == OnWorkerDeath::Replace
            && !self.forced
            && !matches!(self.phase, Phase::Broken(_));
        if replace && w.life != Life::Running {
            self.start_failures += 1;
        }
        let who = crate::events::Who(w.pid);
        if replace && self.start_failures < MAX_START_FAILURES {
            event!(warn, "{who} died ({status}); another replaces it");
            // Before `Ready` it was still initializing: none of its items
            // started.
            if w.life == Life::Running {
                if let Some(work) = w.in_flight.pop_front() {
                    let pid = w.pid;
                    self.resolve(work, Failure::Died { pid, status });
                }
            }
            self.requeue(w.in_flight);
        } else {
            event!(warn, "{who} died ({status})");
            let cause = BreakCause::WorkerDied {
                pid: w.pid,
                status,
                forced: self.forced,
            };
            self.break_pool(cause, Some(w));
        }
    }

    /// Stops the item `work` if it is in flight, by killing the worker that
    /// runs it (or will run it next: an item waiting in a worker's pipe is
    /// marked, and its worker is killed when it reaches the front). The item
    /// fails with [`Failure::Killed`]; the worker is replaced as after any
    /// death, and the items queued behind it go to another worker. Returns
    /// false, changing nothing, if `work` is not in flight (queued, already
    /// resolved, or the pool is broken).
    pub(crate) fn kill_running(&mut self, work: WorkId, kill: Kill) -> bool {
        let found = self.workers.iter().enumerate().find_map(|(index, w)| {
            let position = w.in_flight.iter().position(|&id| id == work)?;
            Some((index, position))
        });
        let Some((index, position)) = found else {
            return false;
        };
        if position == 0 {
            if self.workers[index].killing.is_none() {
                self.kill_worker(index, work, kill);
            }
        } else if let Some(item) = self.items.get_mut(&work) {
            item.doomed = Some(kill);
        }
        self.debug_check();
        true
    }

    /// The first in-flight item whose record satisfies `pred`.
    pub(crate) fn in_flight_where(&self, pred: impl Fn(&S::Record) -> bool) -> Option<WorkId> {
        self.workers
            .iter()
            .flat_map(|w| w.in_flight.iter())
            .find(|work| self.items.get(work).is_some_and(|item| pred(&item.record)))
            .copied()
    }

    /// The item at the front of `worker`'s pipeline (the one it runs now or
    /// next), if any.
    pub(crate) fn running(&self, worker: WorkerId) -> Option<WorkId> {
        self.find(worker).and_then(|w| w.in_flight.front().copied())
    }

    /// Each live worker with the item it runs now or next.
    pub(crate) fn fronts(&self) -> impl Iterator<Item = (WorkerId, WorkId)> + '_ {
        self.workers
            .iter()
            .filter_map(|w| Some((w.id, *w.in_flight.front()?)))
    }

    fn kill_worker(&mut self, index: usize, work: WorkId, kill: Kill) {
        let w = &mut self.workers[index];
        w.killing = Some((work, kill));
        // Nothing more for it: its items behind `work` go elsewhere.
        w.exit_sent = true;
        match w.pid {
            Some(pid) => self.actions.push_back(Action::Signal {
                worker: w.id,
                pid,
                signal: Signal::Kill,
            }),
            None => w.signal_pending = Some(Signal::Kill),
        }
    }

    /// Emits the failure of an in-flight item.
    fn resolve(&mut self, work: WorkId, failure: Failure<S::Status>) {
        if let Some(item) = self.items.remove(&work) {
            let record = item.record;
            self.actions.push_back(Action::Resolve {
                work,
                record,
                failure,
            });
        }
    }

    /// Puts items a dead worker never started back at the front of the
    /// queue, in their order; one that `kill_running` marked fails instead.
    fn requeue(&mut self, items: VecDeque<WorkId>) {
        for work in items.into_iter().rev() {
            let doomed = self.items.get(&work).and_then(|item| item.doomed);
            match doomed {
                Some(kill) => self.resolve(work, Failure::Killed { pid: None, kill }),
                None => {
                    if let Some(item) = self.items.get_mut(&work) {
                        item.sent = false;
                        self.queue.push_front(work);
                    }
                }
            }
        }
    }

    fn signal_all(&mut self, signal: Signal) {
        for w in &mut self.workers {
            match w.pid {
                Some(pid) => self.actions.push_back(Action::Signal {
                    worker: w.id,
                    pid,
                    signal,
                }),
                None => w.signal_pending = Some(signal),
            }
        }
    }

    fn violation<T>(&mut self, pid: Option<u32>, detail: &str) -> Result<T, ProtocolViolation> {
        let detail = format!("worker sent {detail}");
        self.break_pool(BreakCause::Protocol { pid, detail }, None);
        self.maybe_close();
        self.debug_check();
        Err(ProtocolViolation)
    }

    /// Breaks the pool (once): every queued and in-flight item fails, every
    /// live worker is terminated. `dead` is a worker already removed whose
    /// items fail too.
    fn break_pool(&mut self, cause: BreakCause<S::Status>, dead: Option<Worker>) {
        if let Phase::Broken(_) = self.phase {
            // Already broken: the dead worker's items were failed then.
            debug_assert!(dead.as_ref().is_none_or(|w| w.in_flight.is_empty()));
            return;
        }
        event!(error, "the pool is broken: {cause}");
        let cause = Arc::new(cause);
        self.phase = Phase::Broken(cause.clone());
        let mut failed = Vec::new();
        if let Some(w) = &dead {
            failed.extend(w.in_flight.iter().map(|&work| (work, w.pid)));
        }
        for w in &mut self.workers {
            failed.extend(w.in_flight.drain(..).map(|work| (work, w.pid)));
        }
        failed.extend(self.queue.drain(..).map(|work| (work, None)));
        for (work, on_worker) in failed {
            if let Some(item) = self.items.remove(&work) {
                self.actions.push_back(Action::Resolve {
                    work,
                    record: item.record,
                    failure: Failure::Broken {
                        cause: cause.clone(),
                        on_worker,
                    },
                });
            }
        }
        self.signal_all(Signal::Terminate);
    }

    /// Sends `Exit` to each worker that has nothing left to do once the pool
    /// drains.
    fn retire_idle(&mut self) {
        if !matches!(self.phase, Phase::Draining) || !self.queue.is_empty() {
            return;
        }
        for w in &mut self.workers {
            if !w.exit_sent && w.in_flight.is_empty() {
                w.exit_sent = true;
                self.actions.push_back(Action::SendExit { worker: w.id });
            }
        }
    }

    /// Assigns queued items: idle workers first, then a new worker while
    /// under `max_workers`, then workers with room in their pipeline.
    fn schedule(&mut self) {
        if matches!(self.phase, Phase::Broken(_)) {
            return;
        }
        while !self.queue.is_empty() {
            let limits = self.limits;
            let target = match self
                .workers
                .iter()
                .position(|w| w.in_flight.is_empty() && w.accepts(&limits))
            {
                Some(idle) => idle,
                None if self.workers.len() < limits.max_workers.get() => self.add_worker(),
                None => match self
                    .workers
                    .iter()
                    .enumerate()
                    .filter(|(_, w)| w.accepts(&limits))
                    .min_by_key(|(_, w)| w.in_flight.len())
                {
                    Some((index, _)) => index,
                    None => break,
                },
            };
            self.assign(target);
        }
        self.retire_idle();
    }

    fn add_worker(&mut self) -> usize {
        let id = self.next_worker;
        self.next_worker += 1;
        self.workers.push(Worker {
            id,
            pid: None,
            life: Life::Spawning,
            in_flight: VecDeque::new(),
            assigned: 0,
            exit_sent: false,
            signal_pending: None,
            quick: false,
            killing: None,
        });
        self.actions.push_back(Action::Spawn { worker: id });
        self.workers.len() - 1
    }

    fn assign(&mut self, index: usize) {
        let Some(work) = self.queue.pop_front() else {
            return;
        };
        let Some(item) = self.items.get_mut(&work) else {
            debug_assert!(false, "a queued item that is not known");
            return;
        };
        item.sent = true;
        let payload = item.payload.clone();
        let w = &mut self.workers[index];
        w.in_flight.push_back(work);
        w.assigned += 1;
        self.actions.push_back(Action::Send {
            worker: w.id,
            work,
            payload,
        });
        let spent = self
            .limits
            .max_tasks_per_child
            .is_some_and(|max| w.assigned >= max.get());
        if spent {
            w.exit_sent = true;
            self.actions.push_back(Action::SendExit { worker: w.id });
        }
    }

    fn maybe_close(&mut self) {
        if self.closed || !self.workers.is_empty() {
            return;
        }
        let finished = match self.phase {
            Phase::Running => false,
            Phase::Draining => self.queue.is_empty(),
            Phase::Broken(_) => true,
        };
        if finished {
            debug_assert!(self.items.is_empty());
            self.closed = true;
            self.actions.push_back(Action::Closed);
        }
    }

    fn index(&self, worker: WorkerId) -> Option<usize> {
        self.workers.iter().position(|w| w.id == worker)
    }

    fn find(&self, worker: WorkerId) -> Option<&Worker> {
        self.workers.iter().find(|w| w.id == worker)
    }

    fn debug_check(&self) {
        if cfg!(debug_assertions) {
            if let Err(broken) = self.check_invariants() {
                panic!("pool state invariant broken: {broken}\n{self:?}");
            }
        }
    }

    /// Checks the invariants listed in the module docs that can be seen
    /// from the current state; `Err` names the first one that does not hold.
    pub(crate) fn check_invariants(&self) -> Result<(), &'static str> {
        let limits = &self.limits;
        if self.workers.len() > limits.max_workers.get() {
            return Err("more live workers than max_workers");
        }
        let mut placed = self.queue.len();
        for w in &self.workers {
            if w.in_flight.len() > limits.max_in_flight.get() {
                return Err("a worker has more than max_in_flight items");
            }
            if let Some(max) = limits.max_tasks_per_child {
                if w.assigned > max.get() {
                    return Err("a worker was given more than max_tasks_per_child items");
                }
            }
            for work in &w.in_flight {
                match self.items.get(work) {
                    Some(item) if item.sent => {}
                    _ => return Err("an in-flight item is unknown or was never sent"),
                }
            }
            placed += w.in_flight.len();
        }
        if placed != self.items.len() {
            return Err("an item is neither queued nor in flight exactly once");
        }
        for work in &self.queue {
            match self.items.get(work) {
                Some(item) if !item.sent => {}
                _ => return Err("a queued item is unknown or already sent"),
            }
        }
        match self.phase {
            Phase::Broken(_) => {
                if !self.items.is_empty() {
                    return Err("a broken pool still holds unresolved items");
                }
            }
            _ => {
                // Invariant 6: work waits in the queue only while every live
                // worker is full or retiring and no more may be started (a
                // retiring worker's exit spawns its replacement).
                let could_take = self.workers.iter().any(|w| w.accepts(limits))
                    || self.workers.len() < limits.max_workers.get();
                if !self.queue.is_empty() && could_take {
                    return Err("queued work while a worker or a new spawn could take it");
                }
            }
        }
        if self.closed && !self.workers.is_empty() {
            return Err("closed with workers alive");
        }
        Ok(())
    }
}

impl<St: fmt::Display> fmt::Display for BreakCause<St> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pid = |pid: &Option<u32>| match pid {
            Some(pid) => format!("worker {pid}"),
            None => "a worker".to_owned(),
        };
        match self {
            Self::WorkerDied {
                pid: p,
                status,
                forced,
            } => {
                write!(f, "{} {status}", pid(p))?;
                if *forced {
                    f.write_str(" (terminate_workers/kill_workers)")?;
                }
                Ok(())
            }
            Self::InitializerFailed { pid: p, message } => {
                write!(f, "the initializer failed in {}: {message}", pid(p))
            }
            Self::Protocol { pid: p, detail } => {
                write!(f, "{} broke the protocol: {detail}", pid(p))
            }
            Self::SpawnFailed { message } => write!(f, "a worker could not be started: {message}"),
            Self::ManagerPanicked { message } => {
                write!(f, "the pool's manager thread panicked: {message}")
            }
        }
    }
}

#[cfg(test)]
mod tests;
