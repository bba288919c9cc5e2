//! The pool's shared state and its workers.
//!
//! One mutex guards all bookkeeping, so every count is derived from state that
//! changes together (CPython's idle semaphore drifts; see gh-115634 for the
//! process pool's version of that bug). Invariants, under the lock:
//! - every queued job will be taken by some worker: after a push, either an
//!   idle worker was claimed (and notified), an *available* worker was
//!   claimed (one finishing a task or spinning before it parks: it re-checks
//!   the queue under the lock before it can idle), a thread was started, or
//!   all `max_workers` threads are busy and each re-checks the queue when done;
//! - `threads <= max_workers`;
//! - nothing is pushed once `shutdown` or `broken` is set.

use crate::{
    BrokenThreadPool, SubmitErrorKind,
    error::panic_message,
    sync::{
        AtomicUsize, Condvar, IDLE_SPINS, JoinHandle, Mutex, MutexGuard, Ordering, current, spawn,
        spin_loop,
    },
    task::RawJob,
};
use std::{collections::VecDeque, sync::Arc as StdArc};

/// A worker's start-up function; its `Err` (or panic) breaks the pool.
pub(crate) type Initializer = StdArc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// What a submit does after unlocking.
enum Wake {
    /// Wake the idle worker it claimed.
    Notify,
    /// Start a thread with this name (already counted).
    Start(String),
}

/// The bookkeeping under the pool's lock.
struct State {
    queue: VecDeque<RawJob>,
    /// Workers waiting on the condvar that no submit has claimed yet.
    idle: usize,
    /// Wake-ups handed to idle workers and not yet consumed. A waking worker
    /// consumes one of these, or else (a spurious or shutdown wake) one `idle`.
    notified: usize,
    /// Available workers (see `Shared::available`) a submit has claimed.
    claimed_available: usize,
    /// Live worker threads.
    threads: usize,
    /// Threads ever started; names the next one.
    started: usize,
    shutdown: bool,
    broken: Option<BrokenThreadPool>,
    handles: Vec<JoinHandle<()>>,
}

/// What the executor handle, map iterators and workers share.
pub(crate) struct Shared {
    state: Mutex<State>,
    condvar: Condvar,
    /// Workers that will look at the queue again without being notified:
    /// those between "the task returned" and re-locking, and those spinning
    /// before they park. A submit may count on them instead of notifying or
    /// starting a thread. Raised without the lock, lowered under it.
    available: AtomicUsize,
    /// 1 once `max_workers` threads have started (they live until shutdown).
    full: AtomicUsize,
    /// Bumped under the lock when a push makes the queue non-empty; a
    /// spinning worker watches it.
    pushes: AtomicUsize,
    /// At most one worker spins at a time, so spinning never takes both CPUs
    /// of a small machine away from the submitter. 1 while one spins.
    spinner: AtomicUsize,
    max_workers: usize,
    name_prefix: String,
    initializer: Option<Initializer>,
}

impl Shared {
    pub(crate) fn new(
        max_workers: usize,
        name_prefix: String,
        initializer: Option<Initializer>,
    ) -> Self {
        Self {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                idle: 0,
                notified: 0,
                claimed_available: 0,
                threads: 0,
                started: 0,
                shutdown: false,
                broken: None,
                handles: Vec::new(),
            }),
            condvar: Condvar::new(),
            available: AtomicUsize::new(0),
            full: AtomicUsize::new(0),
            pushes: AtomicUsize::new(0),
            spinner: AtomicUsize::new(0),
            max_workers,
            name_prefix,
            initializer,
        }
    }

    pub(crate) fn max_workers(&self) -> usize {
        self.max_workers
    }

    /// Live worker threads.
    pub(crate) fn threads(&self) -> usize {
        self.state.lock().threads
    }

    /// Queues the job `make` builds, if the pool still accepts work. `make`
    /// runs under the lock and only when the job is accepted, so a refused
    /// caller still owns everything it would have put in the job.
    pub(crate) fn submit(
        self: &StdArc<Self>,
        make: impl FnOnce() -> RawJob,
    ) -> Result<(), SubmitErrorKind> {
        let mut state = self.state.lock();
        if let Some(broken) = &state.broken {
            return Err(SubmitErrorKind::Broken(broken.clone()));
        }
        if state.shutdown {
            return Err(SubmitErrorKind::Shutdown);
        }
        state.queue.push_back(make());
        // A spinner waits for exactly this edge: the queue no longer empty.
        let edge = state.queue.len() == 1;
        // ORDERING: Acquire pairs with the worker's Release increment; the
        // count only has to be current enough to avoid a needless wake-up.
        let wake = if self.available.load(Ordering::Acquire) > state.claimed_available {
            state.claimed_available += 1;
            None
        } else if state.idle > 0 {
            state.idle -= 1;
            state.notified += 1;
            Some(Wake::Notify)
        } else if state.threads < self.max_workers {
            Some(Wake::Start(self.count_new_worker(&mut state)))
        } else {
            None
        };
        drop(state);
        if edge {
            // After unlocking, so a spinner that sees it finds the lock free.
            // Bumped only on the edge, so a busy queue leaves the line alone.
            // ORDERING: Relaxed; the spinner re-checks under the lock.
            self.pushes.fetch_add(1, Ordering::Relaxed);
        }
        match wake {
            None => {}
            Some(Wake::Notify) => self.condvar.notify_one(),
            Some(Wake::Start(name)) => self.start_worker(name),
        }
        Ok(())
    }

    /// Counts a thread about to start, under the lock; returns its name.
    fn count_new_worker(&self, state: &mut State) -> String {
        state.threads += 1;
        let name = format!("{}_{}", self.name_prefix, state.started);
        state.started += 1;
        name
    }

    /// Starts a worker thread already counted by `count_new_worker`.
    fn start_worker(self: &StdArc<Self>, name: String) {
        let shared = StdArc::clone(self);
        match spawn(name, move || shared.work()) {
            Ok(handle) => {
                let mut state = self.state.lock();
                state.handles.push(handle);
                if state.handles.len() == self.max_workers {
                    // ORDERING: Relaxed; workers that miss it keep counting.
                    self.full.store(1, Ordering::Relaxed);
                }
            }
            Err(error) => {
                let mut state = self.state.lock();
                state.threads -= 1;
                if state.threads == 0 {
                    // Nobody is left to run what is queued: fail it rather
                    // than leave it pending.
                    self.break_pool(state, format!("could not start a worker thread: {error}"));
                }
            }
        }
    }

    /// A worker thread's life: initialize, then take jobs until shutdown.
    fn work(&self) {
        if let Some(init) = &self.initializer {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| init()));
            let failure = match outcome {
                Ok(Ok(())) => None,
                Ok(Err(cause)) => Some(cause),
                Err(payload) => Some(format!(
                    "the initializer panicked: {}",
                    panic_message(payload.as_ref())
                )),
            };
            if let Some(cause) = failure {
                let mut state = self.state.lock();
                state.threads -= 1;
                self.break_pool(state, cause);
                return;
            }
        }
        let become_available = || {
            // ORDERING: Release pairs with the Acquire load in `submit`.
            self.available.fetch_add(1, Ordering::Release);
        };
        // Whether this worker is counted in `available` right now.
        let available = core::cell::Cell::new(false);
        let mut spun = false;
        let mut state = self.state.lock();
        loop {
            if available.replace(false) {
                // Back under the lock: no longer available, and any claim on
                // us is honoured by the queue check just below.
                // ORDERING: under the lock, like `claimed_available`.
                self.available.fetch_sub(1, Ordering::Relaxed);
                state.claimed_available = state.claimed_available.saturating_sub(1);
            }
            if let Some(job) = state.queue.pop_front() {
                drop(state);
                job.run(&|| {
                    // Only while the pool can still grow: then this saves a
                    // thread. At full size it would only add traffic.
                    // ORDERING: Relaxed read of a hint.
                    if self.full.load(Ordering::Relaxed) == 0 {
                        available.set(true);
                        become_available();
                    }
                });
                spun = false;
                state = self.state.lock();
                continue;
            }
            if state.shutdown || state.broken.is_some() {
                break;
            }
            if let Some(mut spins) = self.start_spinning(spun) {
                // Watch for a push for a while before paying for a park and
                // the submitter's wake-up.
                spun = true;
                // ORDERING: Relaxed; only a change of the counter matters.
                let seen = self.pushes.load(Ordering::Relaxed);
                available.set(true);
                become_available();
                drop(state);
                while spins > 0 && self.pushes.load(Ordering::Relaxed) == seen {
                    spins -= 1;
                    spin_loop();
                }
                // ORDERING: Release; pairs with `start_spinning`'s Acquire.
                self.spinner.store(0, Ordering::Release);
                state = self.state.lock();
                continue;
            }
            spun = false;
            state.idle += 1;
            state = self.condvar.wait(state);
            if state.notified > 0 {
                state.notified -= 1;
            } else {
                state.idle -= 1;
            }
        }
        state.threads -= 1;
    }

    /// Becomes the pool's one spinner, unless this worker just spun, spinning
    /// is off (loom), or another worker is spinning. Returns the spin budget.
    fn start_spinning(&self, spun: bool) -> Option<u32> {
        let budget = IDLE_SPINS.filter(|_| !spun)?;
        // ORDERING: Acquire/Relaxed; the flag guards no data, only CPU use.
        self.spinner
            .compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| budget)
    }

    /// Marks the pool broken (the first cause wins), fails everything queued,
    /// and wakes idle workers so they exit.
    fn break_pool(&self, mut state: MutexGuard<'_, State>, cause: String) {
        let broken = state
            .broken
            .get_or_insert_with(|| BrokenThreadPool::new(cause))
            .clone();
        let queued = core::mem::take(&mut state.queue);
        drop(state);
        self.condvar.notify_all();
        for job in queued {
            job.fail(&broken);
        }
    }

    /// Refuses new work; optionally cancels what is queued and joins the
    /// workers. Harmless to repeat.
    pub(crate) fn shutdown(&self, wait: bool, cancel_futures: bool) {
        let (cancelled, handles) = {
            let mut state = self.state.lock();
            state.shutdown = true;
            let cancelled = if cancel_futures {
                core::mem::take(&mut state.queue)
            } else {
                VecDeque::new()
            };
            let handles = if wait {
                core::mem::take(&mut state.handles)
            } else {
                Vec::new()
            };
            (cancelled, handles)
        };
        self.condvar.notify_all();
        for job in cancelled {
            job.cancel();
        }
        let me = current().id();
        for handle in handles {
            // A task that shuts down its own pool cannot join itself; its
            // thread exits by itself once the task returns.
            if handle.thread().id() != me {
                // Tasks never unwind out of a worker (panics are caught), so a
                // join error can only be a panic of ours: nothing to report.
                let _ = handle.join();
            }
        }
    }
}
