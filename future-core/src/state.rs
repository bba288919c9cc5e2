//! The state word of a future: Python's five states plus three flag bits.
//!
//! One `AtomicU32` holds everything a reader needs to know without a lock,
//! and is also the word that blocked readers park on.
//!
//! ```text
//! bits 0..=2  the state (below)
//! bit  3      PARKED:  a thread may be asleep on this word; the next change must wake it
//! bit  4      FAILED:  with FINISHED, the outcome is an error (set in the same store)
//! bit  5      SETTLED: completion is over: waiters woken, every done callback has run
//! bit  6      TAKEN:   the outcome was moved out; the cell must not drop it
//! bit  7      REGISTERED: a callback or waker was registered (set under the
//!             registry lock); without it, completion skips the registry and
//!             publishes the terminal state with SETTLED in the same store
//! bit  8      DEFERRED: a completion found the registry locked and left the
//!             rest of its work to the holder, who runs it at release (see
//!             `cell/settle.rs`)
//! bit  9      LENT:    the finished outcome was lent by reference (`result`,
//!             `try_result`, `.await`, a callback added late); such a cell
//!             can never be reset, since a borrow may outlive any check
//! bit  10     HANDLE:  the cell is inside a `Future` handle, whose completers
//!             and `into_result` assume one round; it is never reset
//! ```
//!
//! Who may touch the outcome cell in each state:
//! - `PENDING`, `RUNNING`: nobody; the cell is uninitialised.
//! - `COMPLETING`: only the one thread whose compare-exchange moved the word
//!   here; it writes the outcome, then publishes `FINISHED` with Release.
//! - `FINISHED`: any reader, by shared reference, after an Acquire load that
//!   saw `FINISHED`; never written again. Moved out once, by a caller that
//!   proves it is the only reader (`&mut`, or the unique handle after
//!   `SETTLED`), which sets `TAKEN`.
//! - `CANCELLED`, `CANCELLED_AND_NOTIFIED`: nobody; there is no outcome.

use core::fmt;

pub(crate) const PENDING: u32 = 0;
pub(crate) const RUNNING: u32 = 1;
pub(crate) const CANCELLED: u32 = 2;
pub(crate) const CANCELLED_AND_NOTIFIED: u32 = 3;
pub(crate) const FINISHED: u32 = 4;
/// Transient and internal: one thread is writing the outcome. Reported to
/// users as the state it came from would be reported: not done.
pub(crate) const COMPLETING: u32 = 5;

pub(crate) const STATE_MASK: u32 = 0b111;
pub(crate) const PARKED: u32 = 1 << 3;
pub(crate) const FAILED: u32 = 1 << 4;
pub(crate) const SETTLED: u32 = 1 << 5;
pub(crate) const TAKEN: u32 = 1 << 6;
pub(crate) const REGISTERED: u32 = 1 << 7;
pub(crate) const DEFERRED: u32 = 1 << 8;
pub(crate) const LENT: u32 = 1 << 9;
pub(crate) const HANDLE: u32 = 1 << 10;

/// The state part of a word.
pub(crate) const fn state_of(word: u32) -> u32 {
    word & STATE_MASK
}

/// Whether the word is in a terminal state (`done()` in Python's sense).
pub(crate) const fn is_done(word: u32) -> bool {
    matches!(
        state_of(word),
        CANCELLED | CANCELLED_AND_NOTIFIED | FINISHED
    )
}

/// Whether completion, callbacks included, is over.
pub(crate) const fn is_settled(word: u32) -> bool {
    word & SETTLED != 0
}

/// A future's state, with Python's names.
///
/// `Display` prints the upper-case name Python uses in its messages
/// (`FINISHED`, `CANCELLED_AND_NOTIFIED`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Not started; can still be cancelled.
    Pending,
    /// Started by an executor (`set_running_or_notify_cancel` returned true);
    /// can no longer be cancelled.
    Running,
    /// Cancelled, and no executor has yet acknowledged it.
    Cancelled,
    /// Cancelled, and an executor acknowledged it through
    /// `set_running_or_notify_cancel` (which returned false).
    CancelledAndNotified,
    /// Has a result or an error.
    Finished,
}

impl State {
    pub(crate) const fn from_word(word: u32) -> Self {
        match state_of(word) {
            PENDING => Self::Pending,
            // A completion in progress started from PENDING or RUNNING; either
            // way the future is not done yet, and "running" is the truer word.
            RUNNING | COMPLETING => Self::Running,
            CANCELLED => Self::Cancelled,
            CANCELLED_AND_NOTIFIED => Self::CancelledAndNotified,
            _ => Self::Finished,
        }
    }

    /// Python's name for the state.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Running => "RUNNING",
            Self::Cancelled => "CANCELLED",
            Self::CancelledAndNotified => "CANCELLED_AND_NOTIFIED",
            Self::Finished => "FINISHED",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a waiter needs to know about a future, read from its state word alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Not started.
    Pending,
    /// Started, not finished.
    Running,
    /// Cancelled (acknowledged by an executor or not: both count as done here).
    Cancelled,
    /// Finished with a result.
    Succeeded,
    /// Finished with an error.
    Failed,
}

impl Status {
    pub(crate) const fn from_word(word: u32) -> Self {
        match state_of(word) {
            PENDING => Self::Pending,
            RUNNING | COMPLETING => Self::Running,
            CANCELLED | CANCELLED_AND_NOTIFIED => Self::Cancelled,
            _ if word & FAILED != 0 => Self::Failed,
            _ => Self::Succeeded,
        }
    }

    /// Cancelled, succeeded or failed.
    pub const fn is_done(self) -> bool {
        matches!(self, Self::Cancelled | Self::Succeeded | Self::Failed)
    }
}

#[cfg(test)]
mod tests {
    extern crate alloc;
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn flags_do_not_change_the_state() {
        for flags in [0, PARKED, SETTLED, PARKED | SETTLED | TAKEN | FAILED] {
            assert_eq!(State::from_word(PENDING | flags), State::Pending);
            assert_eq!(State::from_word(COMPLETING | flags), State::Running);
            assert_eq!(
                State::from_word(CANCELLED_AND_NOTIFIED | flags),
                State::CancelledAndNotified
            );
            assert!(is_done(FINISHED | flags));
            assert!(!is_done(COMPLETING | flags));
        }
        assert_eq!(Status::from_word(FINISHED | FAILED), Status::Failed);
        assert_eq!(Status::from_word(FINISHED | PARKED), Status::Succeeded);
        assert_eq!(Status::from_word(CANCELLED), Status::Cancelled);
    }

    #[test]
    fn names_are_pythons() {
        assert_eq!(
            State::CancelledAndNotified.to_string(),
            "CANCELLED_AND_NOTIFIED"
        );
        assert_eq!(State::Finished.to_string(), "FINISHED");
    }
}
