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
//! is already done. (One exception, for interrupts: when the completion finds
//! another thread, or the code it interrupted, registering at that moment,
//! that registration runs them as it finishes; see
//! [In interrupts](#in-interrupts).) With `std`, a panicking callback is caught, reported
//! through [`set_callback_panic_hook`], and does not stop the others; a waker
//! that panics when woken stops neither the other wakers nor the callbacks
//! (the future still settles and can be reset), and its panic reaches the
//! completing code once the completion is over.
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
//! # In interrupts
//!
//! A [`FutureCell`] (a `static` one, typically) can be completed from an
//! interrupt handler, or from a POSIX signal handler on std, whatever the
//! interrupted code was doing with the same cell.
//!
//! | call | in an interrupt handler |
//! | --- | --- |
//! | [`set_result`](FutureCell::set_result), [`set_exception`](FutureCell::set_exception), [`cancel`](FutureCell::cancel), [`set_running_or_notify_cancel`](FutureCell::set_running_or_notify_cancel) | yes: they never wait for a lock |
//! | [`try_result`](FutureCell::try_result), [`done`](FutureCell::done), [`state`](FutureCell::state), [`status`](FutureCell::status) | yes: one or two atomic operations |
//! | [`reset`](FutureCell::reset) | yes: refused with [`ResetError::Busy`] rather than waiting |
//! | registrations: [`register_waker`](FutureCell::register_waker), [`unregister_waker`](FutureCell::unregister_waker), `add_done_callback*`, polling `.await` | no: they take the registry lock, which the interrupted code may hold |
//! | blocking reads: [`result`](FutureCell::result), [`exception`](FutureCell::exception) and their `_with_clock` forms with a non-zero timeout | no: they wait, and nothing else runs until the handler returns |
//!
//! How it holds: publishing the outcome is one compare-exchange on the state
//! word, and the work after it (waking wakers, running done callbacks) only
//! *tries* the registry lock. When the interrupted code holds it (say, the
//! main loop is in the middle of `register_waker`), the completion leaves a
//! mark in the state word and returns; the code that holds the registry does
//! that work itself when it releases it, before its registration call
//! returns. So:
//!
//! - **done callbacks and wakers run in the interrupt handler** when the
//!   registry was free, and **in the interrupted code, at the end of its
//!   registration call**, when it was not; each exactly once either way;
//! - **a waiter** sees [`done`](FutureCell::done) as soon as the handler has
//!   published, and its waker is woken by the time its registration call
//!   returns (a registration that came first is never lost). On a single
//!   core the whole completion is over when the main code runs again, so a
//!   [`reset`](FutureCell::reset) there does not meet
//!   [`ResetError::Settling`].
//!
//! The same holds between threads: a completion never waits for a
//! registration on another thread, it hands its work over. So a registration
//! call may run done callbacks before it returns: do not register while
//! holding a lock that your done callbacks take.
//!
//! Waking a thread parked in [`result`](FutureCell::result) is a futex wake
//! with the `futex` feature on Linux (async-signal-safe), nothing with spin
//! parking; the std-only [`park::TableParker`] takes a lock to wake, so with
//! it do not complete from a signal handler while a thread may be blocked in
//! `result`. Callbacks that run in the handler must be fit for it.
//!
//! Targets without compare-and-swap (Cortex-M0/M0+, RISC-V without the A
//! extension) need the `portable-atomic` feature and a `critical-section`
//! implementation (on a single-core Cortex-M, cortex-m's
//! `critical-section-single-core` feature); without the feature the build
//! stops with a `compile_error!` that says so. With the allocator-free
//! features only (`default-features = false`), a driver reuses one
//! `static` cell per transfer: the handler completes it, the main loop waits
//! for [`done`](FutureCell::done) and takes the value with
//! [`reset`](FutureCell::reset), which re-arms it.
//!
//! The crate's tests show each of these: `tests/interrupt_signal.rs` (a
//! signal handler completing a cell while its thread holds the registry),
//! the loom models in `loom-tests/tests/interrupt.rs`, and `boards/` in the
//! repository (thousands of rounds on emulated Cortex-M3 and Cortex-M0
//! boards, completed by PendSV from inside a registration, by SysTick, and
//! before any registration).
//!
//! # Features
//!
//! | feature | default | what it adds |
//! | --- | --- | --- |
//! | `std` | yes | implies `alloc`; `Instant` clock, caught callback panics, portable parker |
//! | `futex` | yes | Linux futex parking and monotonic clock through rustix (no std needed) |
//! | `alloc` | via `std` | [`Future`]/[`Completer`], closure callbacks, growable registration lists |
//! | `portable-atomic` | no | atomics through portable-atomic on targets without compare-and-swap (see above) |
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
