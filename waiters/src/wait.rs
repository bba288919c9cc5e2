//! `wait(futures, timeout, return_when)`.

use crate::watch::Watch;
use alloc::vec::Vec;
use core::{fmt, time::Duration};
use future_core::{Clock, Deadline, Status, Waitable};

/// When [`wait`] returns (Python's `FIRST_COMPLETED`, `FIRST_EXCEPTION`,
/// `ALL_COMPLETED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ReturnWhen {
    /// As soon as any future is done (finished or cancelled).
    FirstCompleted,
    /// As soon as any future fails; if none does, when all are done. A
    /// cancelled future does not count as failed.
    FirstException,
    /// When every future is done.
    #[default]
    AllCompleted,
}

/// What [`wait`] returns: the futures that were done and those that were not,
/// each de-duplicated and in the order they were first given.
pub struct DoneAndNotDone<'a, W: ?Sized> {
    /// Finished or cancelled when `wait` returned.
    pub done: Vec<&'a W>,
    /// Pending or running when `wait` returned.
    pub not_done: Vec<&'a W>,
}

impl<W: ?Sized> fmt::Debug for DoneAndNotDone<'_, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DoneAndNotDone")
            .field("done", &self.done.len())
            .field("not_done", &self.not_done.len())
            .finish()
    }
}

/// Waits for the futures until `return_when` is met or `timeout` passes
/// (`None`: no limit), and returns which are done.
///
/// Python's `concurrent.futures.wait`: duplicates count once, the condition
/// is checked before any waiting (so an empty input, or one already
/// satisfied, returns at once), and a timeout is not an error: the futures
/// still pending are simply in `not_done`.
///
/// # Better than CPython
///
/// A cancelled future counts as done as soon as it is cancelled, not only
/// once an executor has acknowledged it, so waiting on a future cancelled by
/// the user or by an executor's shutdown never hangs (CPython gh-92001).
///
/// # Blocking
///
/// Registers a waker on each future, re-checks them, then sleeps until a
/// completion or the deadline. The registrations are removed before it
/// returns.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use future_core::Future;
/// use waiters::{ReturnWhen, wait};
///
/// let futures: Vec<Future<u32, ()>> = (0..3).map(|_| Future::new()).collect();
/// futures[1].set_result(1).unwrap();
/// let r = wait(&futures, Some(Duration::from_secs(10)), ReturnWhen::FirstCompleted);
/// assert_eq!(r.done.len(), 1);
/// assert_eq!(r.not_done.len(), 2);
/// ```
#[cfg(any(feature = "std", all(feature = "futex", target_os = "linux")))]
pub fn wait<'a, W, I>(
    futures: I,
    timeout: Option<Duration>,
    return_when: ReturnWhen,
) -> DoneAndNotDone<'a, W>
where
    W: Waitable + ?Sized + 'a,
    I: IntoIterator<Item = &'a W>,
{
    wait_with_clock(
        futures,
        timeout,
        return_when,
        &future_core::DefaultClock::default(),
    )
}

/// [`wait`] with the deadline measured on `clock` (for targets without a
/// default clock).
pub fn wait_with_clock<'a, W, I, C>(
    futures: I,
    timeout: Option<Duration>,
    return_when: ReturnWhen,
    clock: &C,
) -> DoneAndNotDone<'a, W>
where
    W: Waitable + ?Sized + 'a,
    I: IntoIterator<Item = &'a W>,
    C: Clock + ?Sized,
{
    let mut watch = Watch::new(futures);
    let mut tally = Tally::new(watch.len());
    for index in 0..watch.len() {
        tally.observe(index, watch.status(index));
    }
    if !tally.satisfied(return_when) && timeout != Some(Duration::ZERO) {
        let deadline = Deadline::after(clock, timeout);
        watch.register(|index| !tally.done[index]);
        // Re-check after registering: a completion in between was missed by
        // the first check and has no waker to report it.
        for index in 0..watch.len() {
            tally.observe(index, watch.status(index));
        }
        let mut notified = Vec::new();
        while !tally.satisfied(return_when) {
            if !watch.sleep(&deadline, clock) {
                break;
            }
            watch.drain_notified(&mut notified);
            for index in notified.drain(..) {
                tally.observe(index, watch.status(index));
            }
            if watch.polling() {
                for index in 0..watch.len() {
                    tally.observe(index, watch.status(index));
                }
            }
        }
    }
    let mut result = DoneAndNotDone {
        done: Vec::new(),
        not_done: Vec::new(),
    };
    for index in 0..watch.len() {
        // A last look: anything done by now is reported done.
        let done = tally.done[index] || watch.status(index).is_done();
        if done {
            result.done.push(watch.get(index));
        } else {
            result.not_done.push(watch.get(index));
        }
    }
    result
}

/// What has been seen done so far.
struct Tally {
    done: Vec<bool>,
    remaining: usize,
    failed: bool,
}

impl Tally {
    fn new(len: usize) -> Self {
        Self {
            done: alloc::vec![false; len],
            remaining: len,
            failed: false,
        }
    }

    fn observe(&mut self, index: usize, status: Status) {
        if !status.is_done() || self.done[index] {
            return;
        }
        self.done[index] = true;
        self.remaining -= 1;
        self.failed |= status == Status::Failed;
    }

    fn satisfied(&self, return_when: ReturnWhen) -> bool {
        match return_when {
            ReturnWhen::FirstCompleted => self.remaining < self.done.len() || self.done.is_empty(),
            ReturnWhen::FirstException => self.failed || self.remaining == 0,
            ReturnWhen::AllCompleted => self.remaining == 0,
        }
    }
}
