//! The pool's shared state and its workers.
//!
//! The hot paths take no lock that the other side also takes. A submit
//! pushes its job on the [`Queue`] (no lock) and then, in the common cases,
//! only reads the [`Counts`] word; a worker pops under the queue's consumer
//! lock, which submits never touch. The pool's mutex is for the slow paths:
//! thread handles, the broken cause, and waiting for submits in progress at
//! shutdown.
//!
//! # Nothing is queued without a worker to run it
//!
//! After its push, a submit issues a SeqCst fence and reads the counts; a
//! worker, after each change of its own state in the counts (starting to
//! search, stopping as the last searcher, going idle), issues a SeqCst fence
//! and looks at the queue. Of any such pair at least one sees the other (the
//! store-buffering pattern). So a submit that sees
//! - a searching worker counts on it (at full size) or claims it: that
//!   worker, or the last searcher to stop, looks at the queue afterwards and
//!   wakes an idle worker if work is left;
//! - an idle worker claims it and notifies one;
//! - neither, with room to grow, starts a thread;
//! - neither, at full size: every thread is busy, and each one starts
//!   searching (and looks at the queue) when its task ends.
//!
//! # Shutdown and a broken pool
//!
//! The `gate` word holds the `SHUTDOWN` and `BROKEN` flags and counts the
//! submits in progress. A submit enters by raising the count, which tells it
//! atomically whether the pool still accepts work, and leaves after its job
//! is queued and its thread (if any) started. `shutdown` with `wait` or
//! `cancel_futures`, and a failed initializer, wait for the count to reach
//! zero after setting their flag: then no job can appear in the queue, or a
//! thread start, behind their back.
//!
//! Idle workers sleep on one word of their own (`wakeups`: wake-ups posted
//! by claimers, and a closed flag), through future-core's parker; the
//! pool's mutex is not on that path either.
//!
//! Invariants: `threads <= max_workers`; a job is queued only between a
//! submit's entry (before any flag) and its exit; workers exit only from
//! idle, unclaimed, with the pool closed and no job ready.

use crate::{
    BrokenThreadPool, SubmitErrorKind,
    counts::{Counts, Dispatch},
    error::panic_message,
    padded::Padded,
    queue::{Empty, Pushed, Queue},
    sync::{
        AtomicBool, AtomicU32, AtomicUsize, Condvar, DefaultParker, IDLE_SPIN, JoinHandle, Mutex,
        Ordering, Park, current, fence, spawn, spin_loop, yield_now,
    },
    task::RawJob,
};
use core::cell::Cell;
use std::sync::Arc as StdArc;

/// A worker's start-up function; its `Err` (or panic) breaks the pool.
pub(crate) type Initializer = StdArc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// `gate`: `shutdown` was called.
const SHUTDOWN: usize = 1;
/// `gate`: an initializer failed.
const BROKEN: usize = 2;
/// `gate`: no more work is accepted.
const CLOSED: usize = SHUTDOWN | BROKEN;
/// `gate`: one submit in progress (counted above the flags).
const SUBMITTING: usize = 4;

/// `wakeups`: the pool is closed (shut down or broken).
const WAKE_CLOSED: u32 = 1 << 31;
/// `wakeups`: wake-ups posted for idle workers and not taken yet (each one
/// a claim already made in the counts).
const WAKE_PENDING: u32 = WAKE_CLOSED - 1;

/// How a parked worker comes back.
enum Parked {
    /// Counted as searching again: look at the queue.
    Search,
    /// Claimed before it could sleep: look at the queue as a busy worker.
    Busy,
    /// The pool is closed and nothing is ready: the thread ends (already
    /// uncounted).
    Exit,
}

/// Bookkeeping of the slow paths, under the pool's mutex.
struct State {
    broken: Option<BrokenThreadPool>,
    handles: Vec<JoinHandle<()>>,
}

/// What the executor handle, map iterators and workers share.
pub(crate) struct Shared {
    queue: Queue<RawJob>,
    /// `threads`, `searching`, `idle` (see the `counts` module).
    counts: AtomicUsize,
    /// `SHUTDOWN`, `BROKEN`, and the submits in progress. Written twice by
    /// every submit, so kept off the line of `counts`, which every worker
    /// reads after each task.
    gate: Padded<AtomicUsize>,
    /// At most one worker spins at a time, so spinning never takes both CPUs
    /// of a small machine away from the submitter.
    spinner: AtomicBool,
    /// Threads ever started; numbers the next one's name.
    started: AtomicUsize,
    state: Mutex<State>,
    /// Idle workers sleep on this word (future-core's parker): pending
    /// wake-ups, and `WAKE_CLOSED`.
    wakeups: AtomicU32,
    /// `shutdown` and a breaking pool wait here for submits to leave.
    quiet: Condvar,
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
            queue: Queue::new(),
            counts: AtomicUsize::new(Counts::ZERO.word()),
            gate: Padded(AtomicUsize::new(0)),
            spinner: AtomicBool::new(false),
            started: AtomicUsize::new(0),
            state: Mutex::new(State {
                broken: None,
                handles: Vec::new(),
            }),
            wakeups: AtomicU32::new(0),
            quiet: Condvar::new(),
            max_workers,
            name_prefix,
            initializer,
        }
    }

    pub(crate) fn max_workers(&self) -> usize {
        self.max_workers
    }

    /// Live worker threads (counted from the moment a submit decides to
    /// start one).
    pub(crate) fn threads(&self) -> usize {
        // ORDERING: Acquire, so a caller that saw a task run sees the count
        // that included its thread.
        Counts::from_word(self.counts.load(Ordering::Acquire)).threads()
    }

    /// Applies `change` to the counts until it sticks; returns the word it
    /// replaced and the new one, or `None` (and changes nothing) when
    /// `change` declines the current word.
    fn update_counts(&self, change: impl Fn(Counts) -> Option<Counts>) -> Option<(Counts, Counts)> {
        // ORDERING: Acquire/AcqRel throughout: a claim (a submit's or a
        // searcher's) made after a push carries that push to the worker
        // that finds itself claimed.
        let mut word = self.counts.load(Ordering::Acquire);
        loop {
            let old = Counts::from_word(word);
            let new = change(old)?;
            // ORDERING: as above.
            match self.counts.compare_exchange_weak(
                word,
                new.word(),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some((old, new)),
                Err(actual) => word = actual,
            }
        }
    }

    /// Queues the job `make` builds, if the pool still accepts work. `make`
    /// runs only when the job is accepted, so a refused caller still owns
    /// everything it would have put in the job.
    pub(crate) fn submit(
        self: &StdArc<Self>,
        make: impl FnOnce() -> RawJob,
    ) -> Result<(), SubmitErrorKind> {
        // ORDERING: Relaxed; entry and the flags are one modification order,
        // and what we queue is published to a waiting shutdown by the
        // Release in `leave_gate`.
        let gate = self.gate.fetch_add(SUBMITTING, Ordering::Relaxed);
        if gate & CLOSED != 0 {
            self.leave_gate();
            return Err(self.refusal(gate));
        }
        let pushed = self.queue.push(make());
        // ORDERING: SeqCst fence against the workers' fenced re-checks of
        // the queue (module docs): they see the job, or we see them.
        fence(Ordering::SeqCst);
        let started = match self.dispatch(pushed) {
            Dispatch::Nothing | Dispatch::Claimed => Ok(()),
            Dispatch::Wake => {
                self.notify_idle();
                Ok(())
            }
            Dispatch::Start => self.start_worker(),
        };
        self.leave_gate();
        if let Err(error) = started {
            self.worker_not_started(&error);
        }
        Ok(())
    }

    /// Decides, in one compare-and-swap, who runs the job just queued.
    fn dispatch(&self, pushed: Pushed) -> Dispatch {
        // ORDERING: Acquire/AcqRel as in `update_counts`; the load follows
        // the submit's SeqCst fence.
        let mut word = self.counts.load(Ordering::Acquire);
        loop {
            let (what, next) = Counts::from_word(word).dispatch(self.max_workers);
            let Some(next) = next else { return what };
            // A worker that found the job before we looked (a spinning one,
            // or an idle one re-checking) has also stopped searching by the
            // time we see it gone: nobody is to be claimed, woken or started
            // for it. A claim would be worse than useless: the job may even
            // have run already and its worker be searching again, and
            // claiming that new search leaves the worker uncounted for
            // nothing, so that the next submit starts a needless thread.
            // (The counts' tag covers the job being taken after this look.)
            if self.queue.taken(pushed) {
                return Dispatch::Nothing;
            }
            // ORDERING: as above.
            match self.counts.compare_exchange_weak(
                word,
                next.word(),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return what,
                Err(actual) => word = actual,
            }
        }
    }

    /// Why a submit that saw `gate` closed is refused.
    fn refusal(&self, gate: usize) -> SubmitErrorKind {
        if gate & BROKEN != 0 {
            // The cause is stored before the flag is raised, under the lock.
            if let Some(broken) = &self.state.lock().broken {
                return SubmitErrorKind::Broken(broken.clone());
            }
        }
        SubmitErrorKind::Shutdown
    }

    /// A submit is done with the queue and the thread count.
    fn leave_gate(&self) {
        // ORDERING: Release: our job (and thread handle) happen before a
        // shutdown that sees the count drop (its Acquire in `wait_for_submits`).
        let before = self.gate.fetch_sub(SUBMITTING, Ordering::Release);
        if before & CLOSED != 0 && before & !CLOSED == SUBMITTING {
            // The last one out while the pool closes: tell whoever waits.
            // Locking first means the waiter is either asleep or not yet
            // checking the count.
            drop(self.state.lock());
            self.quiet.notify_all();
        }
    }

    /// Waits until no submit is in progress; the pool must be closed (so a
    /// count seen at zero stays zero).
    fn wait_for_submits(&self) {
        // ORDERING: Acquire, as below.
        if self.gate.load(Ordering::Acquire) < SUBMITTING {
            return;
        }
        let mut state = self.state.lock();
        // ORDERING: Acquire pairs with `leave_gate`'s Release: every job
        // queued by a submit that has left is visible to us.
        while self.gate.load(Ordering::Acquire) >= SUBMITTING {
            state = self.quiet.wait(state);
        }
    }

    /// Posts one wake-up for an idle worker claimed in the counts.
    fn notify_idle(&self) {
        // ORDERING: Release; the worker that takes it (Acquire) sees the
        // claim and the job queued before it.
        self.wakeups.fetch_add(1, Ordering::Release);
        DefaultParker::wake_one(&self.wakeups);
    }

    /// Starts a worker thread already counted by `dispatch`.
    fn start_worker(self: &StdArc<Self>) -> std::io::Result<()> {
        // ORDERING: Relaxed; only uniqueness matters.
        let number = self.started.fetch_add(1, Ordering::Relaxed);
        let shared = StdArc::clone(self);
        let handle = spawn(format!("{}_{number}", self.name_prefix), move || {
            // User code is caught where it runs; a panic that still ends the
            // loop (a bug of ours) must not leave the pool counting on a
            // thread that is gone: it breaks, loudly, failing what is queued.
            let worked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| shared.work()));
            if let Err(payload) = worked {
                let message = panic_message(payload.as_ref());
                future_core::drop_panic_payload(payload);
                let cause = format!("a worker thread panicked: {message}");
                shared.break_pool(BrokenThreadPool::other(cause), true);
            }
        })?;
        self.state.lock().handles.push(handle);
        Ok(())
    }

    /// A counted thread could not be started: uncount it, and if no thread
    /// is left to run what is queued, fail it rather than leave it pending.
    fn worker_not_started(&self, error: &std::io::Error) {
        let gone = self.update_counts(|c| Some(c.thread_gone()));
        if gone.is_some_and(|(_, now)| now.threads() == 0) {
            let cause = format!("could not start a worker thread: {error}");
            self.break_pool(BrokenThreadPool::other(cause), false);
        }
    }

    /// Runs the initializer; returns the failure that breaks the pool.
    fn initialize(&self) -> Option<String> {
        let init = self.initializer.as_ref()?;
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| init())) {
            Ok(Ok(())) => None,
            Ok(Err(cause)) => Some(cause),
            Err(payload) => {
                let message = panic_message(payload.as_ref());
                future_core::drop_panic_payload(payload);
                Some(format!("the initializer panicked: {message}"))
            }
        }
    }

    /// A worker thread's life: initialize, then take jobs until the pool
    /// closes and nothing is left.
    fn work(&self) {
        if let Some(cause) = self.initialize() {
            // Broken first, uncounted after: a submit never sees this thread
            // gone while the pool still looks healthy (and starts another).
            self.break_pool(BrokenThreadPool::new(cause), true);
            return;
        }
        // Whether this worker is counted (or was, until claimed) as searching.
        let mut searching = false;
        // Whether it has spun since it last ran a task.
        let mut spun = false;
        loop {
            let empty = match self.queue.pop() {
                Ok(job) => {
                    if searching {
                        self.stop_search();
                    }
                    spun = false;
                    searching = self.run(job);
                    continue;
                }
                Err(empty) => empty,
            };
            if !searching {
                self.begin_search();
                searching = true;
                // The look at the queue that must follow: nothing claimed
                // since the pop above means nothing can be ready.
                if self.queue.changed_since(empty) {
                    continue;
                }
            }
            if !spun {
                spun = true;
                if self.spin(empty) {
                    continue;
                }
            }
            match self.park(empty) {
                Parked::Search => spun = false,
                Parked::Busy => searching = false,
                Parked::Exit => return,
            }
        }
    }

    /// Runs a job; returns whether this worker now counts as searching.
    fn run(&self, job: RawJob) -> bool {
        let finishing = Cell::new(false);
        job.run(&|| {
            // While the pool can still grow, count as searching before the
            // future completes: a submit that follows its result then reuses
            // this worker instead of starting a thread. At full size it would
            // only add traffic.
            if self.may_grow() {
                self.begin_search();
                finishing.set(true);
            }
        });
        finishing.get()
    }

    /// Whether the pool may still start threads.
    fn may_grow(&self) -> bool {
        // ORDERING: Relaxed; a stale answer only costs traffic or one claim.
        Counts::from_word(self.counts.load(Ordering::Relaxed)).threads() < self.max_workers
    }

    /// A busy worker starts searching; it looks at the queue next.
    fn begin_search(&self) {
        // ORDERING: AcqRel, as in `update_counts`.
        self.counts
            .fetch_add(Counts::ONE_SEARCHING, Ordering::AcqRel);
        // ORDERING: SeqCst fence before the next look at the queue (module docs).
        fence(Ordering::SeqCst);
    }

    /// A searching worker found a job. If it was the last searcher and more
    /// work is ready, it wakes an idle worker to look for that work (submits
    /// at full size count on searchers instead of waking anyone).
    fn stop_search(&self) {
        let Some((_, now)) = self.update_counts(Counts::stop_search) else {
            return; // claimed by a submit: nothing to hand off
        };
        if now.searching() == 0 && now.idle() > 0 {
            // ORDERING: SeqCst fence before looking at the queue (module docs).
            fence(Ordering::SeqCst);
            if self.queue.has_ready() && self.update_counts(Counts::wake_idle).is_some() {
                self.notify_idle();
            }
        }
    }

    /// Watches the queue for a while (see `sync::Spin`) before paying for
    /// a sleep and the submitter's wake-up. Only one worker spins at a time;
    /// none under loom. True when something may have been queued since the
    /// pop that found `empty`.
    fn spin(&self, empty: Empty) -> bool {
        let Some(spin) = IDLE_SPIN else {
            return false;
        };
        // ORDERING: Acquire/Relaxed; the flag guards no data, only CPU use.
        if self
            .spinner
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return false;
        }
        let seen = (0..=spin.steps).any(|step| {
            (0..1u32 << step).for_each(|_| spin_loop());
            self.queue.changed_since(empty)
        }) || (0..spin.yields).any(|_| {
            yield_now();
            self.queue.changed_since(empty)
        });
        // ORDERING: Release; pairs with the Acquire above.
        self.spinner.store(false, Ordering::Release);
        seen
    }

    /// A searching worker that found nothing (its last pop stopped at
    /// `empty`) goes idle and sleeps until notified, or until the pool closes.
    fn park(&self, empty: Empty) -> Parked {
        if self.update_counts(Counts::go_idle).is_none() {
            return Parked::Busy;
        }
        // ORDERING: SeqCst fence before looking at the queue (module docs).
        fence(Ordering::SeqCst);
        // A job queued by a submit that still saw us searching. (Nothing
        // claimed since `empty`: nothing can be ready, no need to lock.)
        if self.queue.ready_since(empty)
            && self.update_counts(Counts::leave_idle_to_search).is_some()
        {
            return Parked::Search;
        }
        // From here on only a claim (with its wake-up) or the pool closing
        // brings us back: every job queued later has a worker counted for
        // it (module docs).
        loop {
            // ORDERING: Acquire pairs with `notify_idle`'s Release.
            let word = self.wakeups.load(Ordering::Acquire);
            if word & WAKE_PENDING > 0 {
                // ORDERING: Acquire, as above.
                if self
                    .wakeups
                    .compare_exchange(word, word - 1, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
                {
                    return Parked::Search;
                }
                continue;
            }
            if word & WAKE_CLOSED != 0 {
                // Help run what is left, or exit; unless claimed (then a
                // wake-up is on its way).
                let work = self.queue.ready_since(empty);
                let (leave, how): (fn(Counts) -> Option<Counts>, _) = if work {
                    (Counts::leave_idle_to_search, Parked::Search)
                } else {
                    (Counts::leave_idle_to_exit, Parked::Exit)
                };
                if self.update_counts(leave).is_some() {
                    return how;
                }
            }
            // Returns at once if the word changed since we read it.
            DefaultParker::wait(&self.wakeups, word, None);
        }
    }

    /// Marks the pool broken (the first cause wins), fails everything queued,
    /// and wakes idle workers so they exit. `uncount`: the caller is a
    /// worker thread that ends now; it is uncounted once no submit can see it.
    fn break_pool(&self, cause: BrokenThreadPool, uncount: bool) {
        let broken = {
            let mut state = self.state.lock();
            let broken = state.broken.get_or_insert(cause).clone();
            // ORDERING: Relaxed; the flag carries no data (a refused submit
            // reads the cause under this lock, idle workers `wakeups`),
            // and `wait_for_submits` acquires the count itself.
            self.gate.fetch_or(BROKEN, Ordering::Relaxed);
            broken
        };
        self.wait_for_submits();
        if uncount {
            self.update_counts(|c| Some(c.thread_gone()));
        }
        for job in self.queue.take_all() {
            job.fail(&broken);
        }
        self.close_for_idle_workers();
    }

    /// Tells idle workers the pool is closed: they exit (or help with what
    /// is left). Wakes them only if the counts show one: a worker that goes
    /// idle afterwards sees the flag before it sleeps.
    fn close_for_idle_workers(&self) {
        // ORDERING: Release, so a worker that sees the flag sees the queue
        // as the closer left it.
        self.wakeups.fetch_or(WAKE_CLOSED, Ordering::Release);
        // ORDERING: SeqCst fence against the one a worker issues after going
        // idle (before it reads `wakeups`): it sees the flag, or we see it idle.
        fence(Ordering::SeqCst);
        // ORDERING: Relaxed after the fence.
        if Counts::from_word(self.counts.load(Ordering::Relaxed)).idle() > 0 {
            DefaultParker::wake_all(&self.wakeups);
        }
    }

    /// Refuses new work; optionally cancels what is queued and joins the
    /// workers. Harmless to repeat.
    pub(crate) fn shutdown(&self, wait: bool, cancel_futures: bool) {
        // ORDERING: Relaxed, as in `break_pool`.
        self.gate.fetch_or(SHUTDOWN, Ordering::Relaxed);
        if wait || cancel_futures {
            self.wait_for_submits();
        }
        if cancel_futures {
            for job in self.queue.take_all() {
                job.cancel();
            }
        }
        self.close_for_idle_workers();
        let handles = if wait {
            core::mem::take(&mut self.state.lock().handles)
        } else {
            Vec::new()
        };
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

#[cfg(all(test, not(exec_loom)))]
mod tests {
    use super::*;
    use crate::TaskError;
    use crate::task::{Job, Task};
    use future_core::{Future, ResultError};
    use std::time::Duration;

    /// A job that panics outside any task's catch: a bug of the pool's own,
    /// the one way left for a worker thread to die.
    struct Explodes;

    impl Job for Explodes {
        fn run(self, _: &dyn Fn()) {
            panic!("a bug of the pool's own, on purpose");
        }
        fn cancel(self) {}
        fn fail(self, _: &BrokenThreadPool) {}
    }

    #[test]
    fn a_worker_thread_that_dies_breaks_the_pool_rather_than_strand_work() {
        let shared = StdArc::new(Shared::new(1, "explodes".into(), None));
        assert!(shared.submit(|| RawJob::new(Explodes)).is_ok());
        let future = Future::new();
        let task = Task::new(|| 7, future.completer());
        let is_the_panic = |broken: &BrokenThreadPool| {
            broken.cause().contains("a worker thread panicked")
                && !broken.to_string().contains("initializer")
        };
        match shared.submit(|| RawJob::new(task)) {
            Err(SubmitErrorKind::Broken(broken)) => assert!(is_the_panic(&broken), "{broken}"),
            Err(other) => panic!("{other:?}"),
            // Queued before the pool broke: failed when it broke.
            Ok(()) => match future.result(Some(Duration::from_secs(60))) {
                Err(ResultError::Failed(TaskError::Broken(broken))) => {
                    assert!(is_the_panic(broken), "{broken}")
                }
                other => panic!("{other:?}"),
            },
        }
        shared.shutdown(true, false);
    }
}
