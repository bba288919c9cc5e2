//! Reading without waiting, and re-arming a done cell for its next round (a
//! `static` cell a driver completes once per transfer).
//!
//! The one hard rule of a reset: no reference into the old outcome may be
//! live, since the next round writes over it. A `&self` method cannot see
//! borrows, so every path that lends the outcome by reference marks the cell
//! LENT first, in the same compare-exchange that sees FINISHED, and a LENT
//! cell is never reset. The value of a round is taken by value instead: that
//! is what `reset` returns.

use super::{FutureCell, Held};
use crate::{
    Completion, ResetError, State, TryResultError,
    state::{
        CANCELLED, CANCELLED_AND_NOTIFIED, COMPLETING, FINISHED, HANDLE, LENT, PARKED, TAKEN,
        is_done, is_settled, state_of,
    },
    sync::Ordering,
};

impl<T, E, const N: usize> FutureCell<T, E, N> {
    /// The outcome if the future is done, now: never blocks, reads no clock.
    ///
    /// Fit for an interrupt handler or a poll loop. Lends the outcome, so
    /// the cell can no longer be [`reset`](Self::reset); to reuse a cell,
    /// wait for [`done`](Self::done) and take the value from `reset`.
    pub fn try_result(&self) -> Result<&T, TryResultError<&E>> {
        let word = self.lend();
        match state_of(word) {
            FINISHED => self
                .outcome_ref(word)
                .as_ref()
                .map_err(TryResultError::Failed),
            CANCELLED | CANCELLED_AND_NOTIFIED => Err(TryResultError::Cancelled),
            _ => Err(TryResultError::NotDone),
        }
    }

    /// The outcome for a callback run at once in the registering thread;
    /// `None` if the cell was reset meanwhile (not done any more).
    pub(super) fn lent_completion(&self) -> Option<Completion<'_, T, E>> {
        let word = self.lend();
        match state_of(word) {
            FINISHED => Some(match self.outcome_ref(word) {
                Ok(v) => Completion::Returned(v),
                Err(e) => Completion::Raised(e),
            }),
            CANCELLED | CANCELLED_AND_NOTIFIED => Some(Completion::Cancelled),
            _ => None,
        }
    }

    /// Reads the word and, if it is FINISHED, marks the outcome LENT in the
    /// same step; returns the word (with LENT when lent).
    fn lend(&self) -> u32 {
        // ORDERING: Acquire, so a FINISHED seen here carries the outcome.
        let mut word = self.word.load(Ordering::Acquire);
        while state_of(word) == FINISHED && word & LENT == 0 {
            // One compare-exchange makes "finished" and "lent" one fact: a
            // reset's exchange, expecting the word without LENT, then fails.
            // ORDERING: Acquire on both sides, as for the load.
            match self.word.compare_exchange_weak(
                word,
                word | LENT,
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Ok(_) => return word | LENT,
                Err(actual) => word = actual,
            }
        }
        word
    }

    /// Takes the outcome of a done future and makes it `PENDING` again, for
    /// the next round.
    ///
    /// Returns the value or error of a finished future (`Some(Ok)` or
    /// `Some(Err)`), or `None` for a cancelled one (or one whose outcome was
    /// already taken). Each round's outcome is returned exactly once.
    ///
    /// # Errors
    ///
    /// The rules are checked, not assumed; when one fails nothing changes:
    /// - [`ResetError::NotDone`]: the future is `PENDING` or `RUNNING`;
    /// - [`ResetError::Settling`]: its completion is still waking waiters or
    ///   running done callbacks;
    /// - [`ResetError::Lent`]: the outcome was lent by reference (`result`,
    ///   `try_result`, `.await`, a callback added after it was done), so a
    ///   borrow may still be live;
    /// - [`ResetError::WaiterRegistered`]: a [`WakerKey`](crate::WakerKey)
    ///   from [`register_waker`](Self::register_waker) was not unregistered
    ///   (or an `.await` on the cell is still alive);
    /// - [`ResetError::Busy`]: a registration is in progress (another thread,
    ///   or the code an interrupt handler interrupted);
    /// - [`ResetError::Handle`]: the cell is inside a [`Future`](crate::Future).
    ///
    /// # Examples
    ///
    /// ```
    /// use future_core::{FutureCell, ResetError};
    ///
    /// static RX: FutureCell<u8, ()> = FutureCell::new();
    ///
    /// for byte in 0..3 {
    ///     assert!(matches!(RX.reset(), Err(ResetError::NotDone(_))));
    ///     RX.set_result(byte).unwrap(); // from the interrupt handler
    ///     assert!(RX.done());
    ///     assert_eq!(RX.reset(), Ok(Some(Ok(byte))));
    /// }
    /// ```
    pub fn reset(&self) -> Result<Option<Result<T, E>>, ResetError> {
        // ORDERING: Acquire, so a FINISHED seen here carries the outcome.
        let word = self.word.load(Ordering::Acquire);
        Self::check_reset(word)?;
        let Some(registry) = self.registry.try_lock() else {
            return Err(ResetError::Busy);
        };
        // Released through `Held`: a completion of the next round may defer
        // to us the moment the cell is PENDING again.
        let mut registry = Held::new(self, registry);
        let mut word = word;
        loop {
            Self::check_reset(word)?;
            // Checked before anything changes, so a refusal changes nothing.
            if registry.keys_out() != 0 {
                return Err(ResetError::WaiterRegistered);
            }
            // COMPLETING: completers are refused and readers see "not done"
            // while the outcome moves out. Fails if the outcome was lent (or
            // anything else changed) since the read.
            // ORDERING: Acquire, to move out the outcome the publish wrote.
            match self.word.compare_exchange(
                word,
                COMPLETING | (word & PARKED),
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(actual) => word = actual,
            }
        }
        let outcome = (state_of(word) == FINISHED && word & TAKEN == 0).then(|| {
            // FINISHED and not TAKEN: initialised. Never LENT, and the
            // callbacks are over (SETTLED), so no reference into it exists;
            // COMPLETING keeps new readers out until the word is PENDING.
            // SAFETY: (as above) initialised and unshared.
            self.outcome.with(|p| unsafe { (*p).assume_init_read() })
        });
        registry.rearm();
        // A reader may have parked since COMPLETING: keep PARKED, so the next
        // completion wakes it.
        // ORDERING: Release; the cell is empty again before anyone sees PENDING.
        self.word.fetch_and(PARKED, Ordering::Release);
        drop(registry);
        Ok(outcome)
    }

    /// The rules a reset checks on the word.
    fn check_reset(word: u32) -> Result<(), ResetError> {
        if !is_done(word) {
            return Err(ResetError::NotDone(State::from_word(word)));
        }
        if word & HANDLE != 0 {
            return Err(ResetError::Handle);
        }
        if !is_settled(word) {
            return Err(ResetError::Settling);
        }
        if word & LENT != 0 {
            return Err(ResetError::Lent);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::{FutureCell, ResetError};

    /// The registry held by someone else (a registration in progress) at the
    /// moment of a reset: refused, and nothing changes.
    #[test]
    fn a_reset_during_a_registration_is_refused_as_busy() {
        let cell: FutureCell<u8, ()> = FutureCell::new();
        cell.set_result(1).unwrap();
        let held = cell.registry.lock();
        assert_eq!(cell.reset(), Err(ResetError::Busy));
        drop(held);
        assert_eq!(cell.reset(), Ok(Some(Ok(1))));
    }
}
