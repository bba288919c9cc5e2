//! Busy-waiting, for bare metal where there is nothing to sleep on.

use super::Park;
use crate::sync::{AtomicU32, Ordering, spin_loop};
use core::time::Duration;

/// How many spins a timed wait makes before returning to let the caller read
/// its clock. Returning early is allowed by the [`Park`] contract.
const SPINS_PER_TIMED_WAIT: u32 = 1 << 10;

/// Spins on the word with [`core::hint::spin_loop`]; wakes are free.
///
/// Fit for a single-core interrupt-driven system or a short wait between
/// cores. An untimed wait burns the core until the word changes: with an
/// operating system, prefer [`FutexParker`](super::FutexParker) or
/// [`TableParker`](super::TableParker).
#[derive(Debug, Clone, Copy, Default)]
pub struct SpinParker;

impl Park for SpinParker {
    fn wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) {
        let mut spins = 0u32;
        // ORDERING: Acquire pairs with the Release store that changed the word,
        // although callers re-load the word themselves after we return.
        while word.load(Ordering::Acquire) == expected {
            if timeout.is_some() {
                spins += 1;
                if spins >= SPINS_PER_TIMED_WAIT {
                    return;
                }
            }
            spin_loop();
        }
    }

    fn wake_one(_word: &AtomicU32) {}

    fn wake_all(_word: &AtomicU32) {}
}
