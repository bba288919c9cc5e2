//! Python's `concurrent.futures.wait` and `as_completed`, for
//! [`future_core`] futures; `no_std` with `alloc`.
//!
//! - [`wait`]: block until the first completion, the first failure, or all
//!   ([`ReturnWhen`]), and get the done and not-done futures back.
//! - [`as_completed`]: iterate over futures in the order they complete.
//!
//! Both take any iterable of references to [`Waitable`]
//! futures: `&[Future<T, E>]`, a `Vec<&FutureCell<..>>`, or `&dyn Waitable`
//! for futures of different types together.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use future_core::{Future, Waitable};
//! use waiters::{ReturnWhen, as_completed, wait};
//!
//! let a: Future<u32, ()> = Future::new();
//! let b: Future<String, ()> = Future::new();
//! let both: [&dyn Waitable; 2] = [&a, &b];
//!
//! std::thread::scope(|s| {
//!     s.spawn(|| b.set_result("second".into()).unwrap());
//!     // Returns once any one of them is done.
//!     let r = wait(both, Some(Duration::from_secs(10)), ReturnWhen::FirstCompleted);
//!     assert!(!r.done.is_empty());
//! });
//! a.set_result(1).unwrap();
//! let order: Vec<_> = as_completed(both, None).map(|f| f.unwrap().status()).collect();
//! assert_eq!(order.len(), 2);
//! ```
//!
//! # Blocking and cancellation
//!
//! A waiter registers a waker on every future and *then* re-checks them all,
//! so a completion between the check and the registration is never missed.
//! Registrations are removed when the call returns or the iterator is
//! dropped. A cancelled future counts as done at once (CPython waits for an
//! executor to acknowledge it, and hangs if none does: gh-92001).
//!
//! # Features
//!
//! `std` (default) and `futex` (default) give a default clock for the
//! timeout arguments. Without them, use [`wait_with_clock`] and
//! [`as_completed_with_clock`] with a [`Clock`].
//! `futures-core` (off by default) makes [`AsCompleted`] a
//! `futures_core::Stream` too, woken by each completion (its timeout is only
//! checked when polled: use the runtime's timer).
#![no_std]
// Paths say where an item really comes from, so the crate stays no_std-clean.
#![warn(
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::alloc_instead_of_core
)]

extern crate alloc;

mod as_completed;
mod sync;
mod wait;
mod watch;

#[cfg(any(feature = "std", all(feature = "futex", target_os = "linux")))]
pub use as_completed::as_completed;
pub use as_completed::{AsCompleted, AsCompletedTimeout, as_completed_with_clock};
#[cfg(any(feature = "std", all(feature = "futex", target_os = "linux")))]
pub use wait::wait;
pub use wait::{DoneAndNotDone, ReturnWhen, wait_with_clock};

// What the signatures above name (the `Waitable` bound, the clocks), so that
// a user needs no other crate in `Cargo.toml`; the crate itself for the rest.
pub use future_core;
#[cfg(any(feature = "std", all(feature = "futex", target_os = "linux")))]
pub use future_core::DefaultClock;
pub use future_core::{Clock, Waitable};
