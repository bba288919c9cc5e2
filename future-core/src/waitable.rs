//! What `wait` and `as_completed` need from a future, as a trait object.

use crate::{CapacityError, FutureCell, Status, WakerKey};
use core::task::Waker;

/// A future that a waiter can watch: its status, and a waker registration.
///
/// Implemented by [`FutureCell`] and (with `alloc`) [`Future`](crate::Future),
/// and object-safe, so futures of different result types can be waited on
/// together as `&dyn Waitable`.
///
/// # Contract
///
/// Once [`register_waker`](Self::register_waker) returned a key, the waker is
/// woken exactly once when the future becomes done (unless unregistered
/// first). If the future was already done it returns `Ok(None)` and keeps no
/// waker. A waiter must register and *then* re-check [`status`](Self::status).
pub trait Waitable {
    /// The status, read without blocking.
    fn status(&self) -> Status;

    /// Registers `waker` to be woken when the future is done.
    ///
    /// # Errors
    ///
    /// [`CapacityError`] when a fixed-capacity registration list is full.
    fn register_waker(&self, waker: &Waker) -> Result<Option<WakerKey>, CapacityError>;

    /// Removes a registration made by [`register_waker`](Self::register_waker).
    fn unregister_waker(&self, key: WakerKey);

    /// An address identifying the future: two handles to one future agree.
    fn identity(&self) -> *const ();
}

impl<T, E, const N: usize> Waitable for FutureCell<T, E, N> {
    fn status(&self) -> Status {
        FutureCell::status(self)
    }

    fn register_waker(&self, waker: &Waker) -> Result<Option<WakerKey>, CapacityError> {
        FutureCell::register_waker(self, waker)
    }

    fn unregister_waker(&self, key: WakerKey) {
        FutureCell::unregister_waker(self, key);
    }

    fn identity(&self) -> *const () {
        FutureCell::identity(self)
    }
}

#[cfg(feature = "alloc")]
impl<T, E> Waitable for crate::Future<T, E> {
    fn status(&self) -> Status {
        (**self).status()
    }

    fn register_waker(&self, waker: &Waker) -> Result<Option<WakerKey>, CapacityError> {
        (**self).register_waker(waker)
    }

    fn unregister_waker(&self, key: WakerKey) {
        (**self).unregister_waker(key);
    }

    fn identity(&self) -> *const () {
        (**self).identity()
    }
}

impl<W: Waitable + ?Sized> Waitable for &W {
    fn status(&self) -> Status {
        (**self).status()
    }

    fn register_waker(&self, waker: &Waker) -> Result<Option<WakerKey>, CapacityError> {
        (**self).register_waker(waker)
    }

    fn unregister_waker(&self, key: WakerKey) {
        (**self).unregister_waker(key);
    }

    fn identity(&self) -> *const () {
        (**self).identity()
    }
}
