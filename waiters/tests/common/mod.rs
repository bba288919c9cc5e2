//! A `Waitable` that counts its live waker registrations.

use future_core::{CapacityError, FutureCell, Status, Waitable, WakerKey};
use std::{
    sync::atomic::{AtomicIsize, Ordering},
    task::Waker,
};

#[derive(Default)]
pub(crate) struct Counted {
    pub(crate) cell: FutureCell<u32, &'static str, 1>,
    pub(crate) live: AtomicIsize,
}

impl Counted {
    pub(crate) fn live(&self) -> isize {
        self.live.load(Ordering::SeqCst)
    }
}

impl Waitable for Counted {
    fn status(&self) -> Status {
        self.cell.status()
    }

    fn register_waker(&self, waker: &Waker) -> Result<Option<WakerKey>, CapacityError> {
        let key = self.cell.register_waker(waker)?;
        if key.is_some() {
            self.live.fetch_add(1, Ordering::SeqCst);
        }
        Ok(key)
    }

    fn unregister_waker(&self, key: WakerKey) {
        self.live.fetch_sub(1, Ordering::SeqCst);
        self.cell.unregister_waker(key);
    }

    fn identity(&self) -> *const () {
        self.cell.identity()
    }
}
