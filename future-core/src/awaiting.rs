//! `.await` on a borrowed [`FutureCell`]: no runtime, no allocation.

use crate::{
    FutureCell, ResultError,
    registry::{Phase, WakerKey},
    state::{FINISHED, state_of},
};
use core::{
    fmt,
    future::IntoFuture,
    pin::Pin,
    task::{Context, Poll},
};

/// Resolves when a [`FutureCell`] is done, to its outcome by reference.
///
/// Made by `(&cell).await` (through [`IntoFuture`]) or [`FutureCell::done_async`].
/// Dropping it removes its waker registration.
///
/// # Examples
///
/// ```
/// use future_core::FutureCell;
/// # fn block_on<F: core::future::Future>(f: F) -> F::Output {
/// #     let mut f = core::pin::pin!(f);
/// #     let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
/// #     loop { if let core::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// # }
///
/// let cell: FutureCell<u8, ()> = FutureCell::new();
/// cell.set_result(7).unwrap();
/// assert_eq!(block_on(async { (&cell).await }), Ok(&7));
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct DoneFuture<'a, T, E, const N: usize> {
    cell: &'a FutureCell<T, E, N>,
    key: Option<WakerKey>,
}

impl<T, E, const N: usize> FutureCell<T, E, N> {
    /// A future that resolves when this one is done (the same as `(&self).await`).
    pub fn done_async(&self) -> DoneFuture<'_, T, E, N> {
        DoneFuture {
            cell: self,
            key: None,
        }
    }
}

impl<'a, T, E, const N: usize> IntoFuture for &'a FutureCell<T, E, N> {
    type Output = Result<&'a T, ResultError<&'a E>>;
    type IntoFuture = DoneFuture<'a, T, E, N>;

    fn into_future(self) -> Self::IntoFuture {
        self.done_async()
    }
}

impl<'a, T, E, const N: usize> core::future::Future for DoneFuture<'a, T, E, N> {
    type Output = Result<&'a T, ResultError<&'a E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if !this.cell.poll_phase(cx.waker(), &mut this.key, Phase::Done) {
            return Poll::Pending;
        }
        let word = this.cell.word();
        Poll::Ready(if state_of(word) == FINISHED {
            // The cell is done: `result` with a zero timeout never blocks and
            // never reads a clock.
            this.cell
                .result_with_clock(Some(core::time::Duration::ZERO), &crate::clock::Unread)
        } else {
            Err(ResultError::Cancelled)
        })
    }
}

impl<T, E, const N: usize> Drop for DoneFuture<'_, T, E, N> {
    fn drop(&mut self) {
        self.cell.forget_key(&mut self.key);
    }
}

impl<T, E, const N: usize> fmt::Debug for DoneFuture<'_, T, E, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DoneFuture")
            .field("cell", self.cell)
            .finish()
    }
}
