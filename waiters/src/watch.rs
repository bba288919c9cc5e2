//! The machinery `wait` and `as_completed` share: one waker per future,
//! completions queued in the order they happen, and a condvar to sleep on.

use crate::sync::{Arc, Condvar, Mutex};
use alloc::{collections::BTreeSet, task::Wake, vec::Vec};
use core::{task::Waker, time::Duration};
use future_core::{Clock, Deadline, Status, Waitable, WakerKey};

/// How often to re-check when a future refused a waker (a full fixed-capacity
/// list of a `Waitable` outside this workspace): polling instead of hanging.
const POLL_INTERVAL: Duration = Duration::from_millis(1);

/// Indices of futures whose wakers fired, in firing order.
struct Signal {
    inbox: Mutex<Vec<usize>>,
    condvar: Condvar,
    /// The task polling the `Stream`, woken after the condvar.
    #[cfg(feature = "futures-core")]
    task: Mutex<Option<Waker>>,
}

/// One future's waker: names its index in the watch.
struct Slot {
    signal: Arc<Signal>,
    index: usize,
}

impl Wake for Slot {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.signal.inbox.lock().push(self.index);
        self.signal.condvar.notify_all();
        // Woken outside our lock: a task's waker is foreign code.
        #[cfg(feature = "futures-core")]
        if let Some(task) = self.signal.task.lock().clone() {
            task.wake();
        }
    }
}

/// A set of distinct futures with a waker registered on each.
pub(crate) struct Watch<'a, W: Waitable + ?Sized> {
    futures: Vec<&'a W>,
    keys: Vec<Option<WakerKey>>,
    signal: Arc<Signal>,
    /// Some future refused a waker: sleep in short steps and re-check all.
    polling: bool,
}

impl<'a, W: Waitable + ?Sized> Watch<'a, W> {
    /// De-duplicates by identity, keeping the first occurrence's position.
    pub(crate) fn new(futures: impl IntoIterator<Item = &'a W>) -> Self {
        let mut seen = BTreeSet::new();
        let futures: Vec<&'a W> = futures
            .into_iter()
            .filter(|f| seen.insert(f.identity() as usize))
            .collect();
        let keys = futures.iter().map(|_| None).collect();
        Self {
            futures,
            keys,
            signal: Arc::new(Signal {
                inbox: Mutex::new(Vec::new()),
                condvar: Condvar::new(),
                #[cfg(feature = "futures-core")]
                task: Mutex::new(None),
            }),
            polling: false,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.futures.len()
    }

    pub(crate) fn get(&self, index: usize) -> &'a W {
        self.futures[index]
    }

    pub(crate) fn status(&self, index: usize) -> Status {
        self.futures[index].status()
    }

    /// Registers a waker on every future for which `want(index)` holds.
    /// Callers re-check statuses afterwards, so nothing completing in between
    /// is missed.
    pub(crate) fn register(&mut self, mut want: impl FnMut(usize) -> bool) {
        for (index, future) in self.futures.iter().enumerate() {
            if !want(index) {
                continue;
            }
            let waker = Waker::from(Arc::new(Slot {
                signal: Arc::clone(&self.signal),
                index,
            }));
            match future.register_waker(&waker) {
                Ok(key) => self.keys[index] = key,
                Err(_) => self.polling = true,
            }
        }
    }

    /// Makes every later notification also wake `task`. Set it before
    /// draining the notifications: one that comes after the drain then sees
    /// it.
    #[cfg(feature = "futures-core")]
    pub(crate) fn set_task(&self, task: &Waker) {
        let mut slot = self.signal.task.lock();
        if !slot.as_ref().is_some_and(|old| old.will_wake(task)) {
            *slot = Some(task.clone());
        }
    }

    /// Moves the indices notified so far into `out`, in notification order.
    pub(crate) fn drain_notified(&self, out: &mut Vec<usize>) {
        out.append(&mut self.signal.inbox.lock());
    }

    /// Sleeps until some future is notified or the deadline passes. Returns
    /// false when the deadline has passed.
    pub(crate) fn sleep<C: Clock + ?Sized>(&self, deadline: &Deadline<'_, C>, clock: &C) -> bool {
        let mut remaining = deadline.remaining();
        if remaining == Some(Duration::ZERO) {
            return false;
        }
        if self.polling {
            remaining = Some(remaining.map_or(POLL_INTERVAL, |r| r.min(POLL_INTERVAL)));
        }
        let inbox = self.signal.inbox.lock();
        match remaining {
            None => drop(self.signal.condvar.wait_for(inbox, |i| !i.is_empty())),
            Some(r) => {
                let (inbox, _) =
                    self.signal
                        .condvar
                        .wait_for_timeout_with_clock(inbox, r, clock, |i| !i.is_empty());
                drop(inbox);
            }
        }
        !deadline.expired()
    }

    /// Whether statuses must be re-scanned (some future could not be watched).
    pub(crate) fn polling(&self) -> bool {
        self.polling
    }

    /// Removes the registration of one future (it was yielded or is done).
    pub(crate) fn unregister(&mut self, index: usize) {
        if let Some(key) = self.keys[index].take() {
            self.futures[index].unregister_waker(key);
        }
    }
}

impl<W: Waitable + ?Sized> Drop for Watch<'_, W> {
    /// Registrations are removed when the call (or iterator) ends.
    fn drop(&mut self) {
        for index in 0..self.futures.len() {
            self.unregister(index);
        }
    }
}
