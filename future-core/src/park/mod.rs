//! Blocking on a 32-bit word: the one small trait every wait in this crate uses.
//!
//! A [`Park`] implementation puts the calling thread to sleep while an atomic
//! word still holds an expected value, and wakes sleepers when another thread
//! has changed it. The futures, [`Mutex`](crate::Mutex) and
//! [`Condvar`](crate::Condvar) of this crate are written against this trait
//! alone, so they run the same on Linux, on bare metal and under loom.
//!
//! | implementation | when it is the [`DefaultParker`] |
//! | --- | --- |
//! | [`FutexParker`] | Linux with the `futex` feature (no std needed) |
//! | [`TableParker`] | `std` on targets without futexes |
//! | [`SpinParker`] | bare metal: neither of the above |
//!
//! Under `--cfg exec_loom` a parker that yields to the loom model is used
//! instead of all three.

use crate::sync::AtomicU32;
use core::time::Duration;

crate::sync::cfg_not_loom! {
    // Built on core's atomics, which the kernel reads; loom's cannot stand in.
    #[cfg(all(feature = "futex", target_os = "linux"))]
    mod futex;
    #[cfg(all(feature = "futex", target_os = "linux"))]
    pub use futex::FutexParker;
}
mod spin;
#[cfg(feature = "std")]
mod table;

pub use spin::SpinParker;
#[cfg(feature = "std")]
pub use table::TableParker;

/// The parker this build of the crate uses (see the [module docs](self)).
pub type DefaultParker = crate::sync::DefaultParker;

/// Sleep while a word holds a value; wake the sleepers.
///
/// # Contract
///
/// - [`wait`](Park::wait) returns promptly if `word` does not hold `expected`
///   when it is called, and otherwise at the latest after a wake call made
///   *after* the word changed, or when `timeout` has passed.
/// - It may also return early for no reason (a spurious wake-up): callers
///   always re-check their condition and loop.
/// - A wake call must not be lost: a thread that checked the word, found
///   `expected`, and went to sleep is woken by any wake that follows a change.
///
/// Nothing is unsafe here: a parker that breaks the contract can make a wait
/// hang or spin, never corrupt memory.
pub trait Park {
    /// Blocks while `word` holds `expected`, until woken, or until `timeout`
    /// (when given) has passed. May return spuriously.
    fn wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>);

    /// Wakes at least one thread blocked in [`wait`](Park::wait) on `word`, if any.
    fn wake_one(word: &AtomicU32);

    /// Wakes every thread blocked in [`wait`](Park::wait) on `word`.
    fn wake_all(word: &AtomicU32);
}
