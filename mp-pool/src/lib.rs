//! Python's `multiprocessing.Pool` for Rust on Linux: `apply`, `map`,
//! `imap` and their `_async` forms over forked worker processes, without
//! the hangs CPython's pool has when a worker dies.
//!
//! - [`Pool`]: built with [`Pool::builder`] (`processes`, `initializer`,
//!   `maxtasksperchild`); `apply`/`apply_async`, `map`/`map_async`,
//!   `starmap`/`starmap_async`, `imap`/`imap_unordered`, `close`,
//!   `terminate`, `join`.
//! - [`AsyncResult`]: `get(timeout)`, `wait`, `ready`, `successful`; and it
//!   can be `.await`ed (it is a [`std::future::Future`]).
//! - [`Callbacks`]: `callback` and `error_callback`, run before a job is
//!   ready.
//! - [`Imap`], [`ImapUnordered`]: lazy results with `next_timeout`;
//!   [`TryImap`], [`TryImapUnordered`] for an input of `Result`s.
//! - Errors: [`PoolError`] from a call or a job, [`BuildError`],
//!   [`StillRunning`], [`NotReady`].
//!
//! A thin layer over [`proc_exec`]: its workers, frames and worker
//! replacement do the work; tasks are plain functions whose arguments and
//! results are serde types (see proc-exec's docs on how functions cross).
//!
//! # Examples
//!
//! ```
//! use mp_pool::{Pool, PoolError};
//!
//! fn collatz_steps(mut n: u64) -> u32 {
//!     let mut steps = 0;
//!     while n != 1 {
//!         n = if n % 2 == 0 { n / 2 } else { 3 * n + 1 };
//!         steps += 1;
//!     }
//!     steps
//! }
//!
//! let pool = Pool::builder().processes(2).build().unwrap();
//! let steps = pool.map(collatz_steps, 1..=1000u64, None).unwrap();
//! assert_eq!(steps[26], 111); // 27 takes 111 steps
//!
//! // A panic is that job's error; the pool goes on.
//! let job = pool.apply_async(|n: u64| -> u64 { assert!(n > 0, "zero"); n }, 0).unwrap();
//! assert!(matches!(job.get(None), Err(PoolError::Task(_))));
//!
//! // Lazily, in completion order, reading the input as results are read.
//! let mut longest = 0;
//! for steps in pool.imap_unordered(collatz_steps, 1..=10_000u64, 100).unwrap() {
//!     longest = longest.max(steps.unwrap());
//! }
//! assert_eq!(longest, 261);
//! pool.close();
//! pool.join().unwrap();
//! ```
//!
//! # Blocking and shutdown
//!
//! The `_async` methods encode their arguments in the calling thread,
//! queue, and return; `apply`, `map`, `starmap` and [`AsyncResult::get`]
//! block. `imap` and `imap_unordered` return at once without reading their
//! input: each `next` reads, encodes and queues the next chunks on the
//! calling thread, then waits for a result (so an input that blocks holds
//! up `next`, never the call). Callbacks run on the pool's result-handler
//! thread, one at a time, before their job is ready; a callback that blocks
//! holds up the others' (as in CPython), never the workers.
//!
//! [`close`](Pool::close) refuses new work and lets the submitted work run;
//! [`join`](Pool::join) (after `close` or `terminate`) waits for it and for
//! every worker to exit. [`terminate`](Pool::terminate) sends SIGTERM to the
//! workers (SIGKILL to those still alive after
//! [`Builder::terminate_grace`], 1 s by default) and fails every unfinished
//! job with [`PoolError::Terminated`].
//! **Dropping the pool terminates it**, as Python's `with` block does: call
//! `close` and `join` first to let the work finish.
//!
//! # What can go wrong
//!
//! Every failure ends as a typed error on the jobs it concerns; none leaves
//! a job pending or kills the result-handler thread. The task-side cases
//! (panics, serde impls that panic or fail, oversized results, dead workers,
//! `SIGCHLD` owned by the application, workers that cannot be started) are
//! proc-exec's, listed in [its docs](proc_exec#what-can-go-wrong), and reach
//! a job as [`PoolError::Task`]. Here in addition:
//!
//! | what happens | what it becomes |
//! |---|---|
//! | a `callback` or `error_callback` panics | that job: [`PoolError::Callback`]; the handler goes on |
//! | a user value's `Drop` panics on the handler thread | reported to [`future_core::set_callback_panic_hook`], or the job's [`PoolError::Task`] when a failed map discards it |
//! | an `imap` input panics, or a `try_imap` input yields `Err` | at its position, after every earlier result: [`PoolError::Input`]; nothing after it is read; the pool goes on |
//! | a worker ignores SIGTERM on `terminate`/`Drop` | SIGKILL after the builder's `terminate_grace` (1 s by default) |
//! | a kernel older than Linux 5.4, or a sandbox refusing a pidfd call | `build`: [`BuildError::Exec`] holding [`proc_exec::BuildError::Kernel`], which names the call and the release that has it |
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `json` | no | `Json<T>` (proc-exec's): a value that crosses as JSON text, for what postcard cannot describe (`serde_json::Value`, `skip_serializing_if`, untagged enums) |
//! | `log` | no | proc-exec's `log` records (target `proc_exec`): workers started, retired, died (pid, status), replaced; the pool broken |
//!
//! # Where this differs from CPython, on purpose
//!
//! - A worker that dies while running a task fails that task with
//!   [`proc_exec::TaskError::Died`] (its pid and signal or exit status) and
//!   is replaced; CPython's result waits forever (bpo-22393).
//! - A callback that panics becomes its job's error, [`PoolError::Callback`];
//!   CPython's result handler dies and every later result hangs (gh-83371).
//! - An initializer that keeps failing breaks the pool after
//!   [`proc_exec::MAX_START_FAILURES`] tries in a row; CPython respawns
//!   forever (gh-87472).
//! - `imap` and `imap_unordered` read their input as results are read,
//!   with a bounded window of chunks in flight (CPython reads it all ahead,
//!   gh-84291), on the calling thread inside `next` (CPython's task thread
//!   reads it): no work is sent before the first `next`. An input that
//!   panics yields [`PoolError::Input`] in its place, after the items
//!   before it, and ends the iteration, as an input that raises does in
//!   CPython; `try_imap` does the same for an input's `Err`.
//! - A chunksize of 0 is [`PoolError::ZeroChunksize`], not `[None] * n`.
//! - A failing item fails alone, not its whole chunk; `map`'s error is the
//!   first failing item in input order.
//! - Jobs not finished when the pool is terminated fail instead of never
//!   becoming ready.
#![forbid(unsafe_code)]
// Off Linux this message is all there is: every item below is Linux's.
#[cfg(not(target_os = "linux"))]
compile_error!(
    "mp-pool runs on Linux only, 5.4 or later: its workers are proc-exec's, held by pidfd (pidfd_open, waitid(P_PIDFD)). On other systems use thread-exec's ThreadPoolExecutor (threads, not processes)."
);

#[cfg(target_os = "linux")]
mod dispatch;
#[cfg(target_os = "linux")]
mod error;
#[cfg(target_os = "linux")]
mod gather;
#[cfg(target_os = "linux")]
mod imap;
#[cfg(target_os = "linux")]
mod pool;
#[cfg(target_os = "linux")]
mod result;
#[cfg(target_os = "linux")]
mod sync;

#[cfg(target_os = "linux")]
pub use error::{BuildError, NotReady, PoolError, StillRunning};
#[cfg(target_os = "linux")]
pub use imap::{Imap, ImapUnordered, NextTimeout, Results, TryImap, TryImapUnordered};
#[cfg(target_os = "linux")]
pub use pool::{Builder, Pool};
#[cfg(target_os = "linux")]
pub use result::{AsyncResult, Callbacks};

// What the signatures above name, so that a user needs no other crate in
// `Cargo.toml` to match an error or pick a start method; the crates
// themselves for the rest.
#[cfg(target_os = "linux")]
pub use future_core;
#[cfg(target_os = "linux")]
pub use future_core::{ResultError, State};
#[cfg(target_os = "linux")]
pub use proc_exec;
#[cfg(all(target_os = "linux", feature = "json"))]
pub use proc_exec::Json;
#[cfg(target_os = "linux")]
pub use proc_exec::{
    BrokenProcessPool, Bytes, ExitStatus, InputError, MapError, SharedBytes, StartMethod,
    SubmitError, TaskError,
};
