//! The result handler: one thread per pool where callbacks run and jobs are
//! marked ready, so user code never runs on proc-exec's I/O manager thread
//! (which would stall every worker's pipes while it ran).
//!
//! A job is handed over once its future is done ([`Dispatcher::when_done`]);
//! the thread runs handed-over jobs one at a time, in the order they came.
//! A panic in a job is caught, so the thread outlives every callback
//! (CPython gh-83371: one raising callback killed its result handler and
//! every later result hung).

use std::collections::VecDeque;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use future_core::Future;

use crate::sync::{Condvar, JoinHandle, Mutex, mark_result_handler, next_pool_number, spawn};

/// Work for the result-handler thread.
type Job = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct Queue {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    jobs: VecDeque<Job>,
    /// Set by [`Dispatcher::stop`]: the thread leaves once `jobs` is empty.
    stopping: bool,
    /// The thread has left; jobs handed over now run in the caller.
    stopped: bool,
    /// The thread sleeps on `changed`: only then does a job wake it (a wake
    /// is a system call, and most jobs find it busy).
    idle: bool,
}

/// A handle on a pool's result-handler thread.
#[derive(Clone)]
pub(crate) struct Dispatcher {
    queue: Arc<Queue>,
}

impl Dispatcher {
    /// Starts the thread.
    pub(crate) fn start() -> io::Result<(Self, JoinHandle<()>)> {
        let queue = Arc::new(Queue::default());
        let for_thread = Arc::clone(&queue);
        let name = format!("mp-pool-results-{}", next_pool_number());
        let handle = spawn(name, move || run(&for_thread))?;
        Ok((Self { queue }, handle))
    }

    /// Runs `job` on the result-handler thread, after the jobs before it.
    /// Once the thread has stopped it runs here instead, so no job is lost.
    pub(crate) fn run_later(&self, job: impl FnOnce() + Send + 'static) {
        self.send(Box::new(job));
    }

    fn send(&self, job: Job) {
        let mut state = self.queue.state.lock();
        if state.stopped {
            drop(state);
            run_job(job);
            return;
        }
        state.jobs.push_back(job);
        let wake = state.idle;
        drop(state);
        if wake {
            self.queue.changed.notify_one();
        }
    }

    /// Runs `then(future)` on the result-handler thread once `future` is
    /// done (at once if it is already).
    pub(crate) fn when_done<T, E>(
        &self,
        future: Future<T, E>,
        then: impl FnOnce(Future<T, E>) + Send + 'static,
    ) where
        T: Send + Sync + 'static,
        E: Send + Sync + 'static,
    {
        // The callback cannot own the future it is registered on, so the
        // two meet here: whichever of "registered" and "done" comes second
        // hands the future over.
        let handoff = Arc::new(Mutex::new(Handoff::Registering));
        let dispatcher = self.clone();
        let on_done = Arc::clone(&handoff);
        future.add_done_callback(move |_| {
            let stage = std::mem::replace(&mut *on_done.lock(), Handoff::Done);
            if let Handoff::Waiting(future, then) = stage {
                dispatcher.send(Box::new(move || then(future)));
            }
        });
        let mut stage = handoff.lock();
        match std::mem::replace(&mut *stage, Handoff::Done) {
            Handoff::Registering => *stage = Handoff::Waiting(future, Box::new(then)),
            _ => {
                drop(stage);
                self.send(Box::new(move || then(future)));
            }
        }
    }

    /// Lets the thread leave once every job handed over so far has run.
    pub(crate) fn stop(&self) {
        self.queue.state.lock().stopping = true;
        self.queue.changed.notify_one();
    }
}

/// Where a future stands between [`Dispatcher::when_done`] and its callback.
enum Handoff<T, E> {
    /// The callback is being registered.
    Registering,
    /// Registered; the future and what to do with it wait for the callback.
    Waiting(Future<T, E>, Box<dyn FnOnce(Future<T, E>) + Send>),
    /// Handed over (or done before registration ended).
    Done,
}

fn run(queue: &Queue) {
    mark_result_handler();
    let mut state = queue.state.lock();
    loop {
        if let Some(job) = state.jobs.pop_front() {
            drop(state);
            run_job(job);
            state = queue.state.lock();
        } else if state.stopping {
            state.stopped = true;
            return;
        } else {
            state.idle = true;
            state = queue.changed.wait(state);
            state.idle = false;
        }
    }
}

/// Runs a job. Jobs catch their callbacks' panics themselves; this is the
/// backstop that keeps the thread alive whatever a job does (a user value
/// whose `Drop` panics, dropped here because its result was dropped first):
/// such a panic has no job left to fail, so it goes to future-core's
/// callback-panic hook.
fn run_job(job: Job) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(job)) {
        future_core::report_callback_panic(payload);
    }
}
