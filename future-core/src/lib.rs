//! Python's `concurrent.futures.Future` as a `no_std` state machine, with the
//! parking, locks and clock it needs.
//!
//! - [`FutureCell`]: a future with no allocation; can be a `static`.
//! - [`Future`] and [`Completer`] (feature `alloc`): `Arc` handles, the one an
//!   executor returns and the one it completes; `Future` is also a
//!   [`core::future::Future`].
//! - [`Mutex`] and [`Condvar`]: `threading.Condition`'s surface, on the same
//!   parker.
//! - [`park`]: the one trait every blocking wait goes through, with futex,
//!   spin and std implementations; [`Clock`] for deadlines without std.
//! - [`Waitable`]: what `wait`/`as_completed` (the `waiters` crate) watch.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use future_core::{Future, ResultError};
//!
//! let fut: Future<u32, String> = Future::new();
//! let completer = fut.completer();
//! fut.add_done_callback(|done| println!("done: {:?}", done.result()));
//!
//! let worker = std::thread::spawn(move || {
//!     if completer.set_running_or_notify_cancel() == Ok(true) {
//!         completer.set_result(6 * 7).unwrap();
//!     }
//! });
//! assert_eq!(fut.result(Some(Duration::from_secs(10))), Ok(&42));
//! worker.join().unwrap();
//! assert_eq!(fut.into_result(), Ok(42));
//!
//! let cancelled: Future<u32, String> = Future::new();
//! assert!(cancelled.cancel());
//! assert_eq!(cancelled.result(None), Err(ResultError::Cancelled));
//! ```
//!
//! # Semantics
//!
//! Exactly Python's states and transitions (see [`FutureCell`]), its errors as
//! types ([`InvalidStateError`] for a second `set_*`,
//! [`UnexpectedStateError`] for a bad `set_running_or_notify_cancel`), and
//! its callback rules: done callbacks run after the state change and after
//! waiters are woken, outside every lock, in registration order, in the
//! completing thread, or at once in the registering thread when the future
//! is already done. With `std`, a panicking callback is caught, reported
//! through [`set_callback_panic_hook`], and does not stop the others.
//!
//! One deliberate difference: [`cancel`](FutureCell::cancel) wakes waiters,
//! so nothing waiting on a cancelled future hangs (CPython gh-92001).
//!
//! # Blocking and shutdown
//!
//! Blocking reads park the thread through [`park::DefaultParker`]; a reading
//! of a finished future is one atomic load. A [`Future`] whose every
//! [`Completer`] is dropped before it is done is cancelled, so no waiter can
//! hang on a task that was lost.
//!
//! # Features
//!
//! | feature | default | what it adds |
//! | --- | --- | --- |
//! | `std` | yes | implies `alloc`; `Instant` clock, caught callback panics, portable parker |
//! | `futex` | yes | Linux futex parking and monotonic clock through rustix (no std needed) |
//! | `alloc` | via `std` | [`Future`]/[`Completer`], closure callbacks, growable registration lists |
//!
//! Without any: `#![no_std]`, no allocator, spin parking; bring a [`Clock`]
//! for timed waits.
#![no_std]
// Paths say where an item really comes from, so the crate stays no_std-clean.
#![warn(
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::alloc_instead_of_core
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod awaiting;
mod callback;
mod cell;
pub mod clock;
mod condvar;
mod error;
#[cfg(feature = "alloc")]
mod handle;
mod mutex;
pub mod park;
mod registry;
mod state;
mod sync;
mod waitable;

// The fuzz target's body: public to `fuzz/` (cargo-fuzz sets
// `--cfg fuzzing`), tested over the corpus by `cargo test`.
#[cfg(all(fuzzing, feature = "std"))]
#[doc(hidden)]
pub mod fuzzing;
#[cfg(all(test, not(fuzzing), feature = "std"))]
mod fuzzing;

pub use awaiting::DoneFuture;
pub use callback::Completion;
#[cfg(feature = "std")]
pub use callback::{
    CallbackPanic, drop_panic_payload, report_callback_panic, set_callback_panic_hook,
};
pub use cell::FutureCell;
#[cfg(any(feature = "std", all(feature = "futex", target_os = "linux")))]
pub use clock::DefaultClock;
#[cfg(feature = "std")]
pub use clock::StdClock;
pub use clock::{Clock, Deadline};
pub use condvar::Condvar;
pub use error::{
    CapacityError, InvalidStateError, ResetError, ResultError, TryResultError,
    UnexpectedStateError, WaitError,
};
#[cfg(feature = "alloc")]
pub use handle::{Completer, Future};
pub use mutex::{Mutex, MutexGuard};
pub use registry::WakerKey;
pub use state::{State, Status};
pub use waitable::Waitable;
