//! The pool's shared state and its workers.
//!
//! One mutex guards all bookkeeping, so every count is derived from state that
//! changes together (CPython's idle semaphore drifts; see gh-115634 for the
//! process pool's version of that bug). Invariants, under the lock:
//! - every queued job will be taken by some worker: after a push, either an
//!   idle worker was claimed (and notified), a finishing worker was claimed
//!   (it re-checks the queue before it idles), a thread was started, or all
//!   `max_workers` threads are busy and each re-checks the queue when done;
//! - `threads <= max_workers`;
//! - nothing is pushed once `shutdown` or `broken` is set.

use crate::{
    BrokenThreadPool, SubmitErrorKind,
    error::panic_message,
    sync::{AtomicUsize, Condvar, JoinHandle, Mutex, MutexGuard, Ordering, current, spawn},
    task::BoxJob,
};
use std::{collections::VecDeque, sync::Arc as StdArc};

/// A worker's start-up function; its `Err` (or panic) breaks the pool.
pub(crate) type Initializer = StdArc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// The bookkeeping under the pool's lock.
struct State {
    queue: VecDeque<BoxJob<'static>>,
    /// Workers waiting on the condvar that no submit has claimed yet.
    idle: usize,
    /// Wake-ups handed to idle workers and not yet consumed. A waking worker
    /// consumes one of these, or else (a spurious or shutdown wake) one `idle`.
    notified: usize,
    /// Finishing workers (see `Shared::finishing`) a submit has claimed.
    claimed_finishing: usize,
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
    /// Workers between "the task returned" and "its future is completed":
    /// about to look at the queue again, so a submit may count on them instead
    /// of starting a thread. Raised without the lock (on the task's path),
    /// lowered under it.
    finishing: AtomicUsize,
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
                claimed_finishing: 0,
                threads: 0,
                started: 0,
                shutdown: false,
                broken: None,
                handles: Vec::new(),
            }),
            condvar: Condvar::new(),
            finishing: AtomicUsize::new(0),
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
        make: impl FnOnce() -> BoxJob<'static>,
    ) -> Result<(), SubmitErrorKind> {
        let mut state = self.state.lock();
        if let Some(broken) = &state.broken {
            return Err(SubmitErrorKind::Broken(broken.clone()));
        }
        if state.shutdown {
            return Err(SubmitErrorKind::Shutdown);
        }
        state.queue.push_back(make());
        if state.idle > 0 {
            state.idle -= 1;
            state.notified += 1;
            drop(state);
            self.condvar.notify_one();
        // ORDERING: Acquire pairs with the worker's Release increment; the
        // count only has to be current enough to avoid a needless thread.
        } else if self.finishing.load(Ordering::Acquire) > state.claimed_finishing {
            state.claimed_finishing += 1;
        } else if state.threads < self.max_workers {
            self.start_worker(state);
        }
        Ok(())
    }

    /// Starts a worker thread; `state` is unlocked while the thread spawns.
    fn start_worker(self: &StdArc<Self>, mut state: MutexGuard<'_, State>) {
        state.threads += 1;
        let name = format!("{}_{}", self.name_prefix, state.started);
        state.started += 1;
        drop(state);
        let shared = StdArc::clone(self);
        match spawn(name, move || shared.work()) {
            Ok(handle) => self.state.lock().handles.push(handle),
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
        let finishing = || {
            // ORDERING: Release pairs with the Acquire load in `submit`.
            self.finishing.fetch_add(1, Ordering::Release);
        };
        let mut state = self.state.lock();
        loop {
            if let Some(job) = state.queue.pop_front() {
                drop(state);
                let was_finishing = core::cell::Cell::new(false);
                job.run(&|| {
                    was_finishing.set(true);
                    finishing();
                });
                state = self.state.lock();
                if was_finishing.get() {
                    // ORDERING: under the lock, like `claimed_finishing`.
                    self.finishing.fetch_sub(1, Ordering::Relaxed);
                    state.claimed_finishing = state.claimed_finishing.saturating_sub(1);
                }
                continue;
            }
            if state.shutdown || state.broken.is_some() {
                break;
            }
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
