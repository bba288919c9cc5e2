//! The lock-protected part of a future: done callbacks and waker registrations.
//!
//! Kept in a plain `&mut self` struct (it lives under the future's mutex), so
//! its rules are easy to read and test without threads.

use crate::{CapacityError, callback::Callback};
use core::task::Waker;

/// Fixed inline capacity, plus (with `alloc`) a growable overflow.
///
/// Order is kept: once anything overflowed, later entries go to the overflow
/// too, so draining yields registration order.
pub(crate) struct Slots<X, const N: usize> {
    inline: heapless::Vec<X, N>,
    #[cfg(feature = "alloc")]
    spill: alloc::vec::Vec<X>,
}

impl<X, const N: usize> Slots<X, N> {
    pub(crate) const fn new() -> Self {
        Self {
            inline: heapless::Vec::new(),
            #[cfg(feature = "alloc")]
            spill: alloc::vec::Vec::new(),
        }
    }

    /// Appends, or hands the entry back when the fixed capacity is full.
    pub(crate) fn push(&mut self, x: X) -> Result<(), X> {
        #[cfg(feature = "alloc")]
        if !self.spill.is_empty() {
            self.spill.push(x);
            return Ok(());
        }
        match self.inline.push(x) {
            Ok(()) => Ok(()),
            #[cfg(feature = "alloc")]
            Err(x) => {
                self.spill.push(x);
                Ok(())
            }
            #[cfg(not(feature = "alloc"))]
            Err(x) => Err(x),
        }
    }

    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&X) -> bool) {
        self.inline.retain(&mut keep);
        #[cfg(feature = "alloc")]
        self.spill.retain(keep);
    }

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut X> {
        let inline = self.inline.iter_mut();
        #[cfg(feature = "alloc")]
        return inline.chain(self.spill.iter_mut());
        #[cfg(not(feature = "alloc"))]
        inline
    }

    pub(crate) fn is_empty(&self) -> bool {
        #[cfg(feature = "alloc")]
        if !self.spill.is_empty() {
            return false;
        }
        self.inline.is_empty()
    }

    /// Moves everything out, in order, leaving the list empty.
    pub(crate) fn take(&mut self) -> impl Iterator<Item = X> + use<X, N> {
        let taken = core::mem::replace(self, Self::new());
        let inline = taken.inline.into_iter();
        #[cfg(feature = "alloc")]
        return inline.chain(taken.spill);
        #[cfg(not(feature = "alloc"))]
        inline
    }
}

/// Identifies one waker registration, to update or remove it later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WakerKey(u32);

/// When a registered waker is woken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// As soon as the future is done, before done callbacks run (waiters).
    Done,
    /// When completion is over, after every done callback ran (a handle that
    /// wants to move the outcome out must wait for that).
    #[cfg_attr(not(feature = "alloc"), allow(dead_code))]
    Settled,
}

pub(crate) struct WakerEntry {
    key: WakerKey,
    phase: Phase,
    waker: Waker,
}

/// What a completion takes out of the registry to act on outside the lock.
pub(crate) struct Taken<T, E, const N: usize> {
    pub(crate) callbacks: Slots<Callback<T, E>, N>,
    pub(crate) wakers: Slots<WakerEntry, N>,
}

impl<T, E, const N: usize> Taken<T, E, N> {
    /// Wakes every taken waker. A waker is user code: with `std`, one that
    /// panics stops neither the others nor the rest of the completion (done
    /// callbacks, SETTLED), which a stranded cell could never be reset
    /// after; its panic waits in `panicked` until the completion is over.
    pub(crate) fn wake(&mut self, panicked: &mut WakePanic) {
        for entry in self.wakers.take() {
            panicked.catch(|| entry.waker.wake());
        }
    }
}

/// The first panic of a waker during one completion, raised again by
/// [`raise`](Self::raise) once the completion's work is done, so the
/// completing code still sees it. Without `std` a panic is not caught.
#[derive(Default)]
pub(crate) struct WakePanic {
    #[cfg(feature = "std")]
    first: Option<alloc::boxed::Box<dyn core::any::Any + Send>>,
}

impl WakePanic {
    fn catch(&mut self, wake: impl FnOnce()) {
        #[cfg(feature = "std")]
        {
            let woken = std::panic::catch_unwind(core::panic::AssertUnwindSafe(wake));
            if let Err(payload) = woken {
                match self.first {
                    None => self.first = Some(payload),
                    Some(_) => crate::drop_panic_payload(payload),
                }
            }
        }
        #[cfg(not(feature = "std"))]
        wake();
    }

    /// Resumes the panic caught, if any.
    pub(crate) fn raise(self) {
        #[cfg(feature = "std")]
        if let Some(payload) = self.first {
            std::panic::resume_unwind(payload);
        }
    }
}

/// Callbacks and wakers of one future, and how far its completion has got.
pub(crate) struct Registry<T, E, const N: usize> {
    callbacks: Slots<Callback<T, E>, N>,
    wakers: Slots<WakerEntry, N>,
    next_key: u32,
    /// Keys handed out and not yet given back (by removal, or by an update
    /// that found the registration gone): a reset must not strand them.
    keys_out: u32,
    /// Completion took the callbacks and `Done` wakers; later callbacks run at
    /// once in the registering thread, later `Done` registrations are refused.
    closed: bool,
    /// Every callback has run; `Settled` registrations are refused too.
    settled: bool,
}

impl<T, E, const N: usize> Registry<T, E, N> {
    pub(crate) const fn new() -> Self {
        Self {
            callbacks: Slots::new(),
            wakers: Slots::new(),
            next_key: 0,
            keys_out: 0,
            closed: false,
            settled: false,
        }
    }

    /// Stores a callback to run at completion, or hands it back to run now
    /// when completion already took the list.
    pub(crate) fn add_callback(
        &mut self,
        callback: Callback<T, E>,
    ) -> Result<Option<Callback<T, E>>, CapacityError> {
        if self.closed {
            return Ok(Some(callback));
        }
        self.callbacks
            .push(callback)
            .map(|()| None)
            .map_err(|_| CapacityError { capacity: N })
    }

    /// Registers a waker for `phase`; `None` when that phase is already over.
    pub(crate) fn add_waker(
        &mut self,
        waker: &Waker,
        phase: Phase,
    ) -> Result<Option<WakerKey>, CapacityError> {
        let over = match phase {
            Phase::Done => self.closed,
            Phase::Settled => self.settled,
        };
        if over {
            return Ok(None);
        }
        let key = WakerKey(self.next_key);
        self.next_key = self.next_key.wrapping_add(1);
        let entry = WakerEntry {
            key,
            phase,
            waker: waker.clone(),
        };
        self.wakers
            .push(entry)
            .map_err(|_| CapacityError { capacity: N })?;
        self.keys_out += 1;
        Ok(Some(key))
    }

    /// Replaces the waker of a registration unless it would wake the same task.
    /// Returns false when the registration is gone (its phase is over).
    pub(crate) fn update_waker(&mut self, key: WakerKey, waker: &Waker) -> bool {
        match self.wakers.iter_mut().find(|e| e.key == key) {
            Some(entry) => {
                if !entry.waker.will_wake(waker) {
                    entry.waker = waker.clone();
                }
                true
            }
            None => {
                // The caller forgets the key now.
                self.keys_out = self.keys_out.saturating_sub(1);
                false
            }
        }
    }

    pub(crate) fn remove_waker(&mut self, key: WakerKey) {
        self.wakers.retain(|e| e.key != key);
        self.keys_out = self.keys_out.saturating_sub(1);
    }

    /// Keys handed out and not given back: a reset must not strand them (the
    /// waiter would miss the next round's wake, or take it for this one's).
    pub(crate) fn keys_out(&self) -> u32 {
        self.keys_out
    }

    /// Makes a settled registry new again for the next round.
    pub(crate) fn rearm(&mut self) {
        debug_assert!(self.keys_out == 0 && self.callbacks.is_empty() && self.wakers.is_empty());
        self.closed = false;
        self.settled = false;
    }

    /// Whether completion has taken the callbacks and `Done` wakers.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    /// Completion, step one: close the list and take the callbacks and the
    /// `Done` wakers.
    pub(crate) fn close(&mut self) -> Taken<T, E, N> {
        self.closed = true;
        let mut done = Slots::new();
        let mut settled = Slots::new();
        for entry in self.wakers.take() {
            let slot = match entry.phase {
                Phase::Done => &mut done,
                Phase::Settled => &mut settled,
            };
            // Each half has the capacity of the list it came from, so this
            // cannot fail.
            let pushed = slot.push(entry);
            debug_assert!(pushed.is_ok());
        }
        self.wakers = settled;
        Taken {
            callbacks: core::mem::replace(&mut self.callbacks, Slots::new()),
            wakers: done,
        }
    }

    /// Completion, step two: every callback ran; take the `Settled` wakers.
    pub(crate) fn settle(&mut self) -> Taken<T, E, N> {
        self.settled = true;
        debug_assert!(self.callbacks.is_empty());
        Taken {
            callbacks: Slots::new(),
            wakers: core::mem::replace(&mut self.wakers, Slots::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::callback::Completion;

    fn noop(_: Completion<'_, u8, u8>) {}

    #[test]
    fn callbacks_after_close_come_back_to_run_now() {
        let mut r = Registry::<u8, u8, 2>::new();
        assert!(matches!(r.add_callback(Callback::Fn(noop)), Ok(None)));
        let mut taken = r.close();
        assert_eq!(taken.callbacks.take().count(), 1);
        assert!(matches!(r.add_callback(Callback::Fn(noop)), Ok(Some(_))));
    }

    #[test]
    fn phases_close_separately() {
        let mut r = Registry::<u8, u8, 2>::new();
        let w = Waker::noop();
        let done = r.add_waker(w, Phase::Done).unwrap().unwrap();
        let settled = r.add_waker(w, Phase::Settled).unwrap().unwrap();
        assert_ne!(done, settled);
        let mut first = r.close();
        assert_eq!(first.wakers.take().count(), 1);
        assert_eq!(r.add_waker(w, Phase::Done), Ok(None));
        assert!(r.update_waker(settled, w));
        assert!(!r.update_waker(done, w));
        let mut second = r.settle();
        assert_eq!(second.wakers.take().count(), 1);
        assert_eq!(r.add_waker(w, Phase::Settled), Ok(None));
    }

    #[test]
    fn removed_wakers_are_not_woken() {
        let mut r = Registry::<u8, u8, 2>::new();
        let key = r.add_waker(Waker::noop(), Phase::Done).unwrap().unwrap();
        r.remove_waker(key);
        assert_eq!(r.close().wakers.take().count(), 0);
    }

    #[cfg(not(feature = "alloc"))]
    #[test]
    fn overflow_is_an_error_without_alloc() {
        let mut r = Registry::<u8, u8, 1>::new();
        assert!(r.add_callback(Callback::Fn(noop)).is_ok());
        assert_eq!(
            r.add_callback(Callback::Fn(noop)).err(),
            Some(CapacityError { capacity: 1 })
        );
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn overflow_spills_in_order_with_alloc() {
        let mut s = Slots::<u32, 1>::new();
        for i in 0..4 {
            s.push(i).unwrap();
        }
        s.retain(|&x| x != 0);
        s.push(9).unwrap();
        assert_eq!(s.take().collect::<alloc::vec::Vec<_>>(), [1, 2, 3, 9]);
    }
}
