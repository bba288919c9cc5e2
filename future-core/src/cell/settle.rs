//! A completion's work after publication (wake the wakers, run the done
//! callbacks, mark the future settled), done without ever waiting for the
//! registry lock, so that a completion may run in an interrupt handler (or a
//! signal handler) that interrupted the very code holding that lock.
//!
//! # The design
//!
//! Publishing the outcome is lock-free already: one compare-exchange on the
//! state word. What follows is a chain of two steps on the registry: *close*
//! (take the callbacks and the `Done` wakers, then wake and run them outside
//! the lock) and *settle* (take the `Settled` wakers, set SETTLED). Each step
//! only *tries* the lock. When the lock is held, the completion sets DEFERRED
//! in the state word and returns; every release of the registry lock clears
//! DEFERRED and, if it was set, runs the rest of the chain itself.
//!
//! The rest of the chain is a baton: at any moment it belongs either to one
//! running [`settle`](FutureCell::settle) or to the DEFERRED bit, never both
//! and never neither. Only the baton's owner sets the bit (handing the baton
//! over) and only a `fetch_and` that finds it set takes it back, so exactly
//! one party runs each step, once.
//!
//! No mark is lost: the completion sets DEFERRED and then tries the lock once
//! more; the holder unlocks and then clears DEFERRED, both read-modify-writes
//! (AcqRel) on the word. If the holder's clear comes after the mark in the
//! word's order, it sees the mark. If it comes before, the mark's Acquire
//! reads after the clear's Release, so the holder's unlock happens before the
//! completion's second try, which then finds the lock free (and takes the
//! baton back) or held by a later holder, whose own release comes after the
//! mark in turn.
//!
//! # Why not a critical section
//!
//! Masking interrupts around the registry would hold only on a single core,
//! would keep interrupts masked while a registration clones a waker (user
//! code), and would not help a signal handler on std. This way is the same on
//! every target, needs nothing from the platform, and costs a registration
//! one extra read-modify-write at release.

use super::FutureCell;
use crate::{
    MutexGuard,
    park::{DefaultParker, Park},
    registry::{Registry, WakePanic},
    state::{DEFERRED, PARKED, SETTLED},
    sync::Ordering,
};
use core::{
    mem::ManuallyDrop,
    ops::{Deref, DerefMut},
};

/// The registry lock held by a registration (or anyone but the completion
/// chain): at release it runs the completion work left to it, if any.
pub(super) struct Held<'a, T, E, const N: usize> {
    cell: &'a FutureCell<T, E, N>,
    guard: ManuallyDrop<MutexGuard<'a, Registry<T, E, N>>>,
}

impl<'a, T, E, const N: usize> Held<'a, T, E, N> {
    pub(super) fn new(
        cell: &'a FutureCell<T, E, N>,
        guard: MutexGuard<'a, Registry<T, E, N>>,
    ) -> Self {
        Self {
            cell,
            guard: ManuallyDrop::new(guard),
        }
    }
}

impl<T, E, const N: usize> Deref for Held<'_, T, E, N> {
    type Target = Registry<T, E, N>;

    fn deref(&self) -> &Self::Target {
        &self.guard
    }
}

impl<T, E, const N: usize> DerefMut for Held<'_, T, E, N> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.guard
    }
}

impl<T, E, const N: usize> Drop for Held<'_, T, E, N> {
    fn drop(&mut self) {
        // SAFETY: taken once, here, and never touched again.
        drop(unsafe { ManuallyDrop::take(&mut self.guard) });
        self.cell.run_deferred();
    }
}

impl<T, E, const N: usize> FutureCell<T, E, N> {
    /// After releasing the registry: takes the baton if a completion left it,
    /// and runs the rest of its chain.
    pub(super) fn run_deferred(&self) {
        if self.take_baton() {
            self.settle();
        }
    }

    /// Clears DEFERRED; true when it was set (the caller now owns the chain).
    fn take_baton(&self) -> bool {
        // ORDERING: AcqRel, for the hand-over argued in the module docs, and
        // so the new owner sees the registry as the deferring side left it.
        self.word.fetch_and(!DEFERRED, Ordering::AcqRel) & DEFERRED != 0
    }

    /// The completion chain after the terminal state is published: close and
    /// run, then settle. Returns early, having handed the rest over, when the
    /// registry is held. Never waits.
    pub(super) fn settle(&self) {
        let mut panicked = WakePanic::default();
        self.settle_catching(&mut panicked);
        panicked.raise();
    }

    /// [`settle`](Self::settle), with the first panic of a waker kept in
    /// `panicked` rather than ending the chain.
    fn settle_catching(&self, panicked: &mut WakePanic) {
        while let Some(mut registry) = self.registry_for_completion() {
            if !registry.is_closed() {
                let mut taken = registry.close();
                drop(registry);
                taken.wake(panicked);
                let completion = self.completion();
                for callback in taken.callbacks.take() {
                    callback.run(completion);
                }
                continue;
            }
            let mut after = registry.settle();
            // Set under the registry lock, so a `Settled` registration refused
            // there is sure to see the flag afterwards.
            // ORDERING: AcqRel on the RMW keeps the chain from the FINISHED
            // Release intact for anyone who Acquires SETTLED.
            let previous = self.word.fetch_or(SETTLED, Ordering::AcqRel);
            drop(registry);
            if previous & PARKED != 0 {
                // A thread waiting for SETTLED (to move the outcome out) parked
                // on the word without it; the change above must wake it.
                DefaultParker::wake_all(&self.word);
            }
            after.wake(panicked);
            return;
        }
    }

    /// The registry for the chain's next step, or `None` when its holder now
    /// has the baton. The guard is a plain one: while the chain runs nobody
    /// else can have left a mark for it.
    fn registry_for_completion(&self) -> Option<MutexGuard<'_, Registry<T, E, N>>> {
        loop {
            if let Some(registry) = self.registry.try_lock() {
                return Some(registry);
            }
            // ORDERING: AcqRel, for the hand-over argued in the module docs.
            self.word.fetch_or(DEFERRED, Ordering::AcqRel);
            // The holder may have released between the failed try and the
            // mark, and looked for the mark too early: try once more.
            let registry = self.registry.try_lock()?;
            if self.take_baton() {
                return Some(registry);
            }
            // A holder took the baton as it released; its step may have
            // found us holding the lock and handed the baton back.
            drop(registry);
            if !self.take_baton() {
                return None;
            }
        }
    }
}
