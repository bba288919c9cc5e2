//! The errors of futures, one small type per operation.

use crate::State;
use core::fmt;

/// Why [`result`](crate::FutureCell::result) did not return a value.
///
/// `E` is the task's own error type (or a reference to it, when borrowed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResultError<E> {
    /// The task finished with this error (Python: the stored exception is raised).
    Failed(E),
    /// The future was cancelled (Python: `CancelledError`).
    Cancelled,
    /// The timeout passed before the future was done (Python: `TimeoutError`).
    Timeout,
}

impl<E> ResultError<E> {
    /// The task's error, if that is what this is.
    pub fn failed(self) -> Option<E> {
        match self {
            Self::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// Applies `f` to the task's error.
    pub fn map<F>(self, f: impl FnOnce(E) -> F) -> ResultError<F> {
        match self {
            Self::Failed(e) => ResultError::Failed(f(e)),
            Self::Cancelled => ResultError::Cancelled,
            Self::Timeout => ResultError::Timeout,
        }
    }
}

impl<E> From<WaitError> for ResultError<E> {
    fn from(e: WaitError) -> Self {
        match e {
            WaitError::Cancelled => Self::Cancelled,
            WaitError::Timeout => Self::Timeout,
        }
    }
}

impl<E: fmt::Display> fmt::Display for ResultError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The task's own error, as Python raises it: any context is
            // the error's to give (no "failed: failed: ..." chains).
            Self::Failed(e) => fmt::Display::fmt(e, f),
            Self::Cancelled => f.write_str("the future was cancelled"),
            Self::Timeout => f.write_str("timed out waiting for the future"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> core::error::Error for ResultError<E> {}

/// Why [`exception`](crate::FutureCell::exception) could not report an outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WaitError {
    /// The future was cancelled.
    Cancelled,
    /// The timeout passed before the future was done.
    Timeout,
}

impl fmt::Display for WaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cancelled => f.write_str("the future was cancelled"),
            Self::Timeout => f.write_str("timed out waiting for the future"),
        }
    }
}

impl core::error::Error for WaitError {}

/// `set_result` or `set_exception` on a future that is already done
/// (Python: `InvalidStateError`). The first outcome is kept; the rejected
/// value is handed back.
pub struct InvalidStateError<V> {
    state: State,
    value: V,
}

impl<V> InvalidStateError<V> {
    pub(crate) fn new(state: State, value: V) -> Self {
        Self { state, value }
    }

    /// The state the future was in: `FINISHED`, `CANCELLED` or
    /// `CANCELLED_AND_NOTIFIED`.
    pub fn state(&self) -> State {
        self.state
    }

    /// The value that was not stored.
    pub fn into_inner(self) -> V {
        self.value
    }
}

impl<V> fmt::Debug for InvalidStateError<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InvalidStateError")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl<V> fmt::Display for InvalidStateError<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid state: the future is already {}", self.state)
    }
}

impl<V> core::error::Error for InvalidStateError<V> {}

/// `set_running_or_notify_cancel` on a future that is `RUNNING`, `FINISHED` or
/// `CANCELLED_AND_NOTIFIED` (Python: `RuntimeError('Future in unexpected state')`):
/// an executor bug, reported instead of ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UnexpectedStateError {
    pub(crate) state: State,
}

impl UnexpectedStateError {
    /// The state the future was in.
    pub fn state(&self) -> State {
        self.state
    }
}

impl fmt::Display for UnexpectedStateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "future in unexpected state: {}", self.state)
    }
}

impl core::error::Error for UnexpectedStateError {}

/// A fixed-capacity registration list (done callbacks or waiter wake-ups) is
/// full. Only without the `alloc` feature; with it, lists grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CapacityError {
    pub(crate) capacity: usize,
}

impl CapacityError {
    /// The capacity that was exceeded (the future's `N`).
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

impl fmt::Display for CapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "registration list full: capacity {} (raise the future's N, or enable the `alloc` feature)",
            self.capacity
        )
    }
}

impl core::error::Error for CapacityError {}

/// Why [`try_result`](crate::FutureCell::try_result) returned no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TryResultError<E> {
    /// The future is not done yet.
    NotDone,
    /// The task finished with this error.
    Failed(E),
    /// The future was cancelled.
    Cancelled,
}

impl<E: fmt::Display> fmt::Display for TryResultError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotDone => f.write_str("the future is not done yet"),
            Self::Failed(e) => fmt::Display::fmt(e, f),
            Self::Cancelled => f.write_str("the future was cancelled"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> core::error::Error for TryResultError<E> {}

/// Why [`reset`](crate::FutureCell::reset) refused to re-arm a future. The
/// future is left as it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResetError {
    /// The future is not done (`PENDING` or `RUNNING`).
    NotDone(State),
    /// The future is done but its completion is still waking waiters or
    /// running done callbacks (on another thread, or on code an interrupt
    /// handed it to).
    Settling,
    /// The outcome was lent by reference (`result`, `try_result`, `.await`, a
    /// callback added after it was done): a borrow may still be live, so the
    /// cell can never be reset. Take the outcome with `reset` instead.
    Lent,
    /// A waiter still holds a [`WakerKey`](crate::WakerKey): unregister it first.
    WaiterRegistered,
    /// Another thread (or the code an interrupt interrupted) is registering
    /// with the future right now.
    Busy,
    /// The cell belongs to a [`Future`](crate::Future) handle, which is one
    /// round by design: make a new one.
    Handle,
}

impl fmt::Display for ResetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotDone(state) => write!(f, "cannot reset: the future is still {state}"),
            Self::Settling => {
                f.write_str("cannot reset: the future's done callbacks are still running")
            }
            Self::Lent => f.write_str(
                "cannot reset: the outcome was lent by reference and may still be borrowed",
            ),
            Self::WaiterRegistered => {
                f.write_str("cannot reset: a waiter is still registered (unregister its key)")
            }
            Self::Busy => f.write_str("cannot reset: a registration is in progress"),
            Self::Handle => {
                f.write_str("cannot reset: the cell belongs to a Future handle; make a new Future")
            }
        }
    }
}

impl core::error::Error for ResetError {}

#[cfg(test)]
mod display_tests {
    use super::*;
    extern crate alloc;
    use alloc::string::ToString;

    #[test]
    fn a_failed_result_shows_the_tasks_error_alone() {
        // The task's error brings its own context ("the task failed: ..."
        // in proc-exec): wrapping it again would read twice.
        assert_eq!(ResultError::Failed("bad number").to_string(), "bad number");
        assert_eq!(
            ResultError::<&str>::Cancelled.to_string(),
            "the future was cancelled"
        );
    }
}
