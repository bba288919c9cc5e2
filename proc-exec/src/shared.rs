//! What submitters and the manager share: the pool's state under one lock,
//! and the wake-up that tells the manager there is work.
//!
//! Every touch of [`PoolState`] goes through a method here, so the I/O loop
//! in `manager.rs` and the loom model of it (`loom_model.rs`) run the same
//! locking code. Submitters only lock, change the state, and wake the manager
//! when the state has something for it to do; the manager takes the actions
//! and reports what happened. No OS call and no user callback runs under the
//! lock.

use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;
use std::time::Duration;

crate::sync::cfg_not_loom! {
    /// The manager thread's body: the I/O loop over real processes.
    pub(crate) use crate::manager::run as run_manager;
}

crate::sync::cfg_loom! {
    /// The manager thread's body: the model loop over simulated workers.
    pub(crate) use crate::loom_model::run as run_manager;
}

use crate::ExitStatus;
use crate::StartMethod;
use crate::error::{BrokenProcessPool, SubmitError};
use crate::executor::RunFrame;
use crate::os::child::Signaller;
use crate::os::limits::WorkerLimits;
use crate::pool_state::{
    Action, Failure, Kill, Limits, PoolState, Refused, Signal, Spec, WorkId, WorkerId,
};
use crate::sync::{Mutex, MutexGuard, Wakeup};
use crate::wire::Outcomes;

/// The state's type parameters for real processes.
pub(crate) struct Real;

impl Spec for Real {
    /// Shared, so an item sent to a worker that dies before starting it can
    /// be sent again without a copy.
    type Payload = Arc<RunFrame>;
    type Record = Box<dyn Pending>;
    type Status = ExitStatus;
}

/// One submitted item's future, seen from the manager.
pub(crate) trait Pending: Send {
    /// Marks the future running; false if it was cancelled (then it is not
    /// sent). True if it is running already (sent again after its first
    /// worker died before starting it).
    fn start(&self) -> bool;
    /// The future's identity (see `FutureCell::identity`).
    fn identity(&self) -> *const ();
    /// How long the task may run once its worker starts it.
    fn timeout(&self) -> Option<Duration>;
    /// The items its `Run` frame carries: the worker answers exactly this
    /// many outcomes.
    fn items(&self) -> usize;
    /// Completes the future from the worker's outcome list.
    fn complete(self: Box<Self>, outcomes: Outcomes<'_>);
    /// Fails the future (the pool broke).
    fn fail(self: Box<Self>, failure: Failure<ExitStatus>);
    /// Cancels the future (`shutdown(cancel_futures)` before it was sent).
    fn cancel(self: Box<Self>);
}

/// Fixed when the pool is built.
pub(crate) struct Config {
    pub(crate) limits: Limits,
    pub(crate) max_frame_size: u32,
    pub(crate) start_method: StartMethod,
    /// The `Init` frame, sent to each worker after `Hello`.
    pub(crate) init_frame: Option<Vec<u8>>,
    /// Applied to each worker before its first frame.
    pub(crate) worker_limits: WorkerLimits,
    /// How long a worker told to stop with SIGTERM may take before SIGKILL.
    pub(crate) terminate_grace: Duration,
}

/// The OS signal for the state's [`Signal`].
pub(crate) fn os_signal(signal: Signal) -> rustix::process::Signal {
    match signal {
        Signal::Terminate => rustix::process::Signal::TERM,
        Signal::Kill => rustix::process::Signal::KILL,
    }
}

/// What submitters and the manager share.
pub(crate) struct Shared {
    inner: Mutex<Inner>,
    wakeup: Wakeup,
    pub(crate) config: Config,
}

struct Inner {
    state: PoolState<Real>,
    /// A task with a timeout was submitted once: the manager tracks when
    /// each worker starts its next item from then on.
    timed: bool,
    /// The eventfd was written and the manager has not taken the actions yet.
    wake_pending: bool,
    /// How to signal each live worker from any thread (none under loom).
    signallers: BTreeMap<WorkerId, Signaller>,
}

impl Shared {
    pub(crate) fn new(config: Config) -> io::Result<Self> {
        Ok(Self {
            inner: Mutex::new(Inner {
                state: PoolState::new(config.limits),
                timed: false,
                wake_pending: false,
                signallers: BTreeMap::new(),
            }),
            wakeup: Wakeup::new()?,
            config,
        })
    }

    /// Queues an encoded `Run` frame with its future.
    pub(crate) fn submit(
        &self,
        frame: RunFrame,
        pending: Box<dyn Pending>,
    ) -> Result<(), SubmitError> {
        let timed = pending.timeout().is_some();
        let mut inner = self.inner.lock();
        inner.timed |= timed;
        if let Err((refused, _, _)) = inner.state.submit(Arc::new(frame), pending) {
            return Err(match refused {
                Refused::Shutdown => SubmitError::Shutdown,
                Refused::Broken(cause) => SubmitError::Broken(BrokenProcessPool::new(cause, None)),
            });
        }
        self.wake(inner);
        Ok(())
    }

    /// `shutdown(cancel_futures)` on the state (the caller joins if asked).
    /// Queued futures are cancelled here, before it returns, and outside the
    /// lock (cancelling runs their done callbacks).
    pub(crate) fn shutdown(&self, cancel_futures: bool) {
        let mut inner = self.inner.lock();
        let cancelled = inner.state.shutdown(cancel_futures);
        self.wake(inner);
        cancelled.into_iter().for_each(|pending| pending.cancel());
    }

    /// `terminate_workers` / `kill_workers`: as `shutdown(cancel_futures)`,
    /// then every worker is signalled, from this thread, before this
    /// returns (the manager may be busy in a done callback). A worker still
    /// being started gets its signal from the manager once it runs.
    pub(crate) fn terminate(&self, signal: Signal) {
        let mut inner = self.inner.lock();
        let cancelled = inner.state.terminate(signal);
        let mut targets = Vec::new();
        let Inner {
            state, signallers, ..
        } = &mut *inner;
        state.signals_sent(|worker, signal| match signallers.get(&worker) {
            Some(signaller) => {
                targets.push((signaller.clone(), signal));
                true
            }
            None => false,
        });
        // Even with no action left: the manager starts the grace period.
        self.wake_if(inner, true);
        for (signaller, signal) in targets {
            // It may have ended meanwhile; its pidfd tells the manager.
            let _ = signaller.signal(os_signal(signal));
        }
        cancelled.into_iter().for_each(|pending| pending.cancel());
    }

    /// `cancel_running`: stops the in-flight task whose future has this
    /// identity by killing its worker; false if no in-flight task has it.
    pub(crate) fn cancel_running(&self, identity: *const ()) -> bool {
        let mut inner = self.inner.lock();
        let work = inner.state.in_flight_where(|p| p.identity() == identity);
        let stopped = work.is_some_and(|work| inner.state.kill_running(work, Kill::Cancelled));
        self.wake(inner);
        stopped
    }

    /// Live worker processes (spawned or being spawned, not yet reaped).
    pub(crate) fn live_workers(&self) -> usize {
        self.inner.lock().state.live_workers()
    }

    /// The pids of the live worker processes.
    pub(crate) fn worker_pids(&self) -> Vec<u32> {
        self.inner.lock().state.pids()
    }

    /// Wakes the manager if the state has work for it and no wake is pending.
    fn wake(&self, inner: MutexGuard<'_, Inner>) {
        let needed = inner.state.has_actions();
        self.wake_if(inner, needed);
    }

    /// Wakes the manager if `needed` and no wake is pending.
    fn wake_if(&self, mut inner: MutexGuard<'_, Inner>, needed: bool) {
        let wake = needed && !inner.wake_pending;
        inner.wake_pending |= wake;
        drop(inner);
        if wake {
            // Coalesced, so the counter cannot overflow: this cannot fail.
            let _ = self.wakeup.wake();
        }
    }
}

impl Shared {
    /// Takes the state's actions into `out`. Items whose future was cancelled
    /// meanwhile are withdrawn here rather than sent. Once a task with a
    /// timeout was submitted, `fronts` gets every worker's current item and
    /// its timeout (see [`kill_expired`](Self::kill_expired)). Returns
    /// whether the workers have been told to stop at once (the pool broke or
    /// was terminated): the manager kills those left after the grace period.
    pub(crate) fn take_actions(
        &self,
        out: &mut Vec<Action<Real>>,
        fronts: &mut Vec<(WorkerId, WorkId, Option<Duration>)>,
    ) -> bool {
        let mut inner = self.inner.lock();
        inner.wake_pending = false;
        fronts.clear();
        if inner.timed {
            let state = &inner.state;
            fronts.extend(state.fronts().map(|(worker, work)| {
                let timeout = state.record(work).and_then(|p| p.timeout());
                (worker, work, timeout)
            }));
        }
        while let Some(action) = inner.state.poll_action() {
            if let Action::Send { worker, work, .. } = &action {
                let started = inner.state.record(*work).is_some_and(|p| p.start());
                if !started {
                    let (worker, work) = (*worker, *work);
                    // Its future is already cancelled: nothing to complete.
                    drop(inner.state.withdraw(worker, work));
                    continue;
                }
            }
            out.push(action);
        }
        inner.state.stopping()
    }

    /// `work`, which `worker` has been running since before its timeout,
    /// is still there: kill the worker.
    pub(crate) fn kill_expired(&self, worker: WorkerId, work: WorkId) {
        let mut inner = self.inner.lock();
        if inner.state.running(worker) == Some(work) {
            inner.state.kill_running(work, Kill::Timeout);
        }
        // The signal is an action: the manager takes it on its next round.
        self.wake(inner);
    }

    /// The manager started `worker` (with this pid, and a way to signal it
    /// from other threads) or could not.
    pub(crate) fn spawned(
        &self,
        worker: WorkerId,
        started: Result<(u32, Option<Signaller>), String>,
    ) {
        let mut inner = self.inner.lock();
        match started {
            Ok((pid, signaller)) => {
                inner.state.spawned(worker, pid);
                if let Some(signaller) = signaller {
                    inner.signallers.insert(worker, signaller);
                }
            }
            Err(message) => inner.state.spawn_failed(worker, message),
        }
    }

    /// `worker` answered `Hello`.
    pub(crate) fn ready(&self, worker: WorkerId) -> Result<(), ()> {
        self.inner.lock().state.ready(worker).map_err(drop)
    }

    /// `worker` sent the result of `work`, `outcomes` items: the future to
    /// complete, unless the worker broke the protocol (the pool is then
    /// broken). Outcomes are matched to items by position, so a count other
    /// than the item's is such a break, never a shift of one item's result
    /// onto another.
    pub(crate) fn done(
        &self,
        worker: WorkerId,
        work: WorkId,
        outcomes: usize,
    ) -> Option<Box<dyn Pending>> {
        let mut inner = self.inner.lock();
        let items = inner.state.record(work).map(|pending| pending.items());
        if let Some(items) = items.filter(|&items| items != outcomes) {
            let detail =
                format!("a Done frame with {outcomes} outcomes for a Run of {items} items");
            inner.state.malformed(worker, detail);
            return None;
        }
        inner.state.done(worker, work).ok()
    }

    /// The manager timed `worker`'s latest answers: `quick` says whether its
    /// items each took less than the manager's threshold (`None`: unknown,
    /// the worker had been idle in between). See [`PoolState::pace`]; items
    /// a wider window lets go are actions for the manager's next round.
    /// Returns whether the worker still has items in flight.
    pub(crate) fn paced(&self, worker: WorkerId, quick: Option<bool>) -> bool {
        let mut inner = self.inner.lock();
        match quick {
            Some(quick) => inner.state.pace(worker, quick),
            None => inner.state.busy(worker),
        }
    }

    /// `worker`'s initializer failed.
    pub(crate) fn init_failed(&self, worker: WorkerId, message: String) {
        self.inner.lock().state.init_failed(worker, message);
    }

    /// `worker` sent bytes that make no sense.
    pub(crate) fn malformed(&self, worker: WorkerId, detail: String) {
        self.inner.lock().state.malformed(worker, detail);
    }

    /// `worker` was reaped. A status collected elsewhere (the application's
    /// `SIGCHLD`) counts as clean: a worker asked to exit that leaves nothing
    /// in flight has not died, however it ended.
    pub(crate) fn exited(&self, worker: WorkerId, status: ExitStatus) {
        let clean = status.success() || status.is_unknown();
        let mut inner = self.inner.lock();
        inner.signallers.remove(&worker);
        inner.state.exited(worker, status, clean);
    }

    /// The manager thread panicked and its workers are gone: the pool
    /// breaks, so later submits are refused, and every pending future fails
    /// here, on the manager's thread as it ends, rather than hang.
    pub(crate) fn manager_died(&self, message: String) {
        let failed = self.inner.lock().state.abandon(message);
        for (pending, failure) in failed {
            crate::panic::contain(|| pending.fail(failure));
        }
    }

    /// The wake-up the manager waits on.
    pub(crate) fn wakeup(&self) -> &Wakeup {
        &self.wakeup
    }
}
