//! `as_completed(futures, timeout)`.

use crate::watch::Watch;
use alloc::{collections::VecDeque, vec::Vec};
use core::{fmt, time::Duration};
use future_core::{Clock, Deadline, Waitable};

/// [`as_completed`] ran out of time: `unfinished` of `total` distinct futures
/// were not done (Python: `TimeoutError("2 (of 4) futures unfinished")`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AsCompletedTimeout {
    /// Futures not yet yielded when the deadline passed.
    pub unfinished: usize,
    /// Distinct futures given.
    pub total: usize,
}

impl fmt::Display for AsCompletedTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (of {}) futures unfinished",
            self.unfinished, self.total
        )
    }
}

impl core::error::Error for AsCompletedTimeout {}

/// Yields futures as they complete: the already-done ones first, then each as
/// it finishes or is cancelled, every distinct future exactly once.
///
/// Python's `concurrent.futures.as_completed`. The timeout is one deadline for
/// the whole iteration, counted from the first call to `next` (as Python's
/// generator does). When it passes, the iterator yields one
/// `Err(AsCompletedTimeout)` and then ends.
///
/// # Better than CPython
///
/// A cancelled future is yielded when it is cancelled, so the iteration never
/// hangs on futures cancelled by the user or by an executor's shutdown.
///
/// # Blocking
///
/// `next` sleeps until a future completes or the deadline passes. Dropping
/// the iterator removes the wakers it registered.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use future_core::Future;
/// use waiters::as_completed;
///
/// let futures: Vec<Future<u32, ()>> = (0..3).map(|_| Future::new()).collect();
/// std::thread::scope(|s| {
///     for (i, f) in futures.iter().enumerate() {
///         s.spawn(move || f.set_result(i as u32).unwrap());
///     }
///     let mut total = 0;
///     for f in as_completed(&futures, Some(Duration::from_secs(10))) {
///         total += f.unwrap().result(None).unwrap();
///     }
///     assert_eq!(total, 3);
/// });
/// ```
#[cfg(any(feature = "std", all(feature = "futex", target_os = "linux")))]
pub fn as_completed<'a, W, I>(
    futures: I,
    timeout: Option<Duration>,
) -> AsCompleted<'a, W, future_core::DefaultClock>
where
    W: Waitable + ?Sized + 'a,
    I: IntoIterator<Item = &'a W>,
{
    as_completed_with_clock(futures, timeout, future_core::DefaultClock::default())
}

/// [`as_completed`] with the deadline measured on `clock`.
pub fn as_completed_with_clock<'a, W, I, C>(
    futures: I,
    timeout: Option<Duration>,
    clock: C,
) -> AsCompleted<'a, W, C>
where
    W: Waitable + ?Sized + 'a,
    I: IntoIterator<Item = &'a W>,
    C: Clock,
{
    AsCompleted {
        watch: Watch::new(futures),
        timeout,
        clock,
        deadline_at: None,
        started: false,
        finished: false,
        yielded: Vec::new(),
        ready: VecDeque::new(),
        notified: Vec::new(),
        remaining: 0,
    }
}

/// The iterator of [`as_completed`].
pub struct AsCompleted<'a, W: Waitable + ?Sized, C> {
    watch: Watch<'a, W>,
    timeout: Option<Duration>,
    clock: C,
    /// The deadline as a clock reading, fixed by the first `next`.
    deadline_at: Option<Duration>,
    started: bool,
    finished: bool,
    yielded: Vec<bool>,
    ready: VecDeque<usize>,
    notified: Vec<usize>,
    remaining: usize,
}

impl<'a, W: Waitable + ?Sized, C: Clock> AsCompleted<'a, W, C> {
    fn start(&mut self) {
        self.started = true;
        self.deadline_at = self.timeout.map(|t| self.clock.now().saturating_add(t));
        let len = self.watch.len();
        self.yielded = alloc::vec![false; len];
        self.remaining = len;
        self.watch.register(|_| true);
        // After registering: what is done now goes first, in input order.
        self.queue_done_ones();
    }

    fn queue_done_ones(&mut self) {
        for index in 0..self.watch.len() {
            // Duplicates in `ready` are harmless: `take_ready` skips yielded ones.
            if !self.yielded[index] && self.watch.status(index).is_done() {
                self.ready.push_back(index);
            }
        }
    }

    fn deadline(&self) -> Deadline<'_, C> {
        let timeout = self
            .deadline_at
            .map(|at| at.saturating_sub(self.clock.now()));
        Deadline::after(&self.clock, timeout)
    }

    fn take_ready(&mut self) -> Option<&'a W> {
        while let Some(index) = self.ready.pop_front() {
            if !self.yielded[index] {
                self.yielded[index] = true;
                self.remaining -= 1;
                self.watch.unregister(index);
                return Some(self.watch.get(index));
            }
        }
        None
    }
}

impl<'a, W: Waitable + ?Sized, C: Clock> Iterator for AsCompleted<'a, W, C> {
    type Item = Result<&'a W, AsCompletedTimeout>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        if !self.started {
            self.start();
        }
        loop {
            if let Some(future) = self.take_ready() {
                return Some(Ok(future));
            }
            if self.remaining == 0 {
                self.finished = true;
                return None;
            }
            let deadline = self.deadline();
            let in_time = deadline.remaining() != Some(Duration::ZERO)
                && self.watch.sleep(&deadline, &self.clock);
            self.watch.drain_notified(&mut self.notified);
            self.ready.extend(self.notified.drain(..));
            if self.watch.polling() {
                self.queue_done_ones();
            }
            if !in_time && self.ready.iter().all(|&i| self.yielded[i]) {
                self.finished = true;
                return Some(Err(AsCompletedTimeout {
                    unfinished: self.remaining,
                    total: self.watch.len(),
                }));
            }
        }
    }
}

/// With the `futures-core` feature the iterator is also a `Stream`, polled
/// without blocking: each completion wakes the polling task.
///
/// The timeout is checked at each poll, and nothing wakes the task when it
/// passes: bound the wait with your runtime's timer instead (or as well).
/// Should a future refuse a waker (a full fixed-capacity list of a
/// `Waitable` outside this workspace), the stream asks to be polled again at
/// once, as the iterator polls in short sleeps.
#[cfg(feature = "futures-core")]
impl<'a, W: Waitable + ?Sized, C: Clock + Unpin> futures_core::Stream for AsCompleted<'a, W, C> {
    type Item = Result<&'a W, AsCompletedTimeout>;

    fn poll_next(
        self: core::pin::Pin<&mut Self>,
        cx: &mut core::task::Context<'_>,
    ) -> core::task::Poll<Option<Self::Item>> {
        use core::task::Poll;
        let this = self.get_mut();
        if this.finished {
            return Poll::Ready(None);
        }
        // Before anything is looked at, so no completion after it is missed.
        this.watch.set_task(cx.waker());
        if !this.started {
            this.start();
        }
        this.watch.drain_notified(&mut this.notified);
        this.ready.extend(this.notified.drain(..));
        if this.watch.polling() {
            this.queue_done_ones();
        }
        if let Some(future) = this.take_ready() {
            return Poll::Ready(Some(Ok(future)));
        }
        if this.remaining == 0 {
            this.finished = true;
            return Poll::Ready(None);
        }
        if this.deadline().expired() {
            this.finished = true;
            return Poll::Ready(Some(Err(AsCompletedTimeout {
                unfinished: this.remaining,
                total: this.watch.len(),
            })));
        }
        if this.watch.polling() {
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.finished {
            (0, Some(0))
        } else if self.started {
            // Plus one for a timeout's `Err`.
            (0, Some(self.remaining + 1))
        } else {
            (0, Some(self.watch.len() + 1))
        }
    }
}

impl<W: Waitable + ?Sized, C> fmt::Debug for AsCompleted<'_, W, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted")
            .field("total", &self.watch.len())
            .field("remaining", &self.remaining)
            .finish_non_exhaustive()
    }
}
