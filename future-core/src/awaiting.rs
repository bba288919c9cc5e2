//! `.await` on a borrowed [`FutureCell`]: no runtime, no allocation.

use crate::{
    FutureCell, ResultError, TryResultError,
    registry::{Phase, WakerKey},
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
        loop {
            if !this.cell.poll_phase(cx.waker(), &mut this.key, Phase::Done) {
                return Poll::Pending;
            }
            return Poll::Ready(match this.cell.try_result() {
                Ok(value) => Ok(value),
                Err(TryResultError::Failed(e)) => Err(ResultError::Failed(e)),
                Err(TryResultError::Cancelled) => Err(ResultError::Cancelled),
                // Reset since it was done: wait for the next round.
                Err(TryResultError::NotDone) => continue,
            });
        }
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
