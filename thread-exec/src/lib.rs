//! Python's `concurrent.futures.ThreadPoolExecutor` for Rust: submit
//! closures, get [`Future`](future_core::Future)s back.
//!
//! - [`ThreadPoolExecutor`]: lazily started, named workers, an initializer,
//!   [`submit`](ThreadPoolExecutor::submit), [`map`](ThreadPoolExecutor::map)
//!   (ordered, with a deadline and a bounded window), `shutdown`.
//! - [`Scope`]: tasks that borrow from the caller's stack, like
//!   `std::thread::scope`.
//! - Errors: [`TaskError`] in a future, [`SubmitError`] from a refused submit,
//!   [`BrokenThreadPool`] when an initializer fails.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use thread_exec::ThreadPoolExecutor;
//!
//! let pool = ThreadPoolExecutor::builder().max_workers(4).build().unwrap();
//! let fut = pool.submit(|| (1..=10u64).product::<u64>()).unwrap();
//! assert_eq!(fut.result(Some(Duration::from_secs(10))), Ok(&3_628_800));
//!
//! let lengths: Vec<usize> = pool
//!     .map(|s: &str| s.len(), ["a", "bb", "ccc"])
//!     .unwrap()
//!     .map(Result::unwrap)
//!     .collect();
//! assert_eq!(lengths, [1, 2, 3]);
//!
//! let boom = pool.submit(|| -> u8 { panic!("task failed") }).unwrap();
//! assert!(boom.into_result().unwrap_err().to_string().contains("task failed"));
//! pool.shutdown(true, false);
//! assert!(pool.submit(|| ()).is_err());
//! ```
//!
//! # Blocking and shutdown
//!
//! `submit` never blocks on work: it queues and returns. `shutdown(wait,
//! cancel_futures)` refuses later submits, cancels queued tasks if asked
//! (their waiters wake at once, unlike CPython's, gh-92001), and joins the
//! workers if asked. Dropping the executor shuts it down with `wait` and lets
//! queued work finish, as Python's `with` block does.
//!
//! A result must be `Send`, as for `std::thread::spawn`: a worker makes it
//! and the submitter reads it. Only sharing the finished future with other
//! threads (sending the [`Future`](future_core::Future), or adding a done
//! callback, which reads it in the worker) also needs `Sync`.
//!
//! # What can go wrong
//!
//! | what happens | what it becomes |
//! |---|---|
//! | a task panics | that future: [`TaskError`] with the panic message; the worker lives |
//! | a result's `Drop`, a panic payload's `Drop` or a done callback panics on a worker | reported to [`future_core::set_callback_panic_hook`]; the worker lives |
//! | the initializer panics or fails | the pool breaks: pending futures fail with [`BrokenThreadPool`], later submits are refused |
//! | a worker thread dies anyway (a bug of ours) | the pool breaks the same way ("a worker thread panicked: …"), never accepting work it will not run |
//! | a `map` input panics | at its position, after every earlier result: [`MapError::InputPanicked`]; the pool goes on |
#![deny(unsafe_code)]

mod auto_chunk;
mod counts;
mod error;
mod executor;
mod map;
mod padded;
mod pool;
mod queue;
mod scope;
mod sync;
mod task;

// The loom models' hook on the queue (loom-tests); not part of the API.
#[cfg(exec_loom)]
#[doc(hidden)]
pub mod loom_model;

pub use error::{BrokenThreadPool, BuildError, SubmitError, SubmitErrorKind, TaskError};
pub use executor::{Builder, ThreadPoolExecutor};
pub use map::{Map, MapError, MapOptions};
pub use scope::Scope;

// What the signatures above name (the futures they return, their errors),
// so that a user needs no other crate in `Cargo.toml`.
pub use future_core;
pub use future_core::{ResultError, State};
