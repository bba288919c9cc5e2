//! Python's `concurrent.futures.ProcessPoolExecutor` for Rust on Linux:
//! run plain functions in forked worker processes and get
//! [`Future`](future_core::Future)s back.
//!
//! - [`ProcessPoolExecutor`]: `submit`, `shutdown(wait, cancel_futures)`,
//!   `terminate_workers`/`kill_workers`, an initializer, `max_tasks_per_child`,
//!   three [`StartMethod`]s.
//! - [`Process`]: one function in one child, with `multiprocessing.Process`'s
//!   lifecycle (`start`, `join`, `exitcode`, `terminate`, `kill`, `sentinel`).
//! - Errors: [`TaskError`] in a future, [`SubmitError`] from a refused
//!   submit, [`BrokenProcessPool`] when a worker dies, [`BuildError`].
//! - [`wire`]: the frame format on the pipes (specified in `WIRE.md`).
//! - [`remote`]: the same frames over another transport (mpi-exec's MPI).
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use proc_exec::{ProcessPoolExecutor, TaskError};
//!
//! fn is_prime(n: u64) -> bool {
//!     n >= 2 && (2..).take_while(|d| d * d <= n).all(|d| n % d != 0)
//! }
//!
//! let pool = ProcessPoolExecutor::builder().max_workers(2).build().unwrap();
//! let fut = pool.submit(is_prime, 1_000_000_007).unwrap();
//! assert_eq!(fut.result(Some(Duration::from_secs(30))), Ok(&true));
//!
//! // A non-capturing closure is a plain function too; a panic stays in its future.
//! let boom = pool.submit(|n: u32| -> u32 { assert!(n < 10, "too big"); n }, 99).unwrap();
//! match boom.into_result() {
//!     Err(future_core::ResultError::Failed(TaskError::Panicked(message))) => {
//!         assert!(message.contains("too big"))
//!     }
//!     other => panic!("{other:?}"),
//! }
//! pool.shutdown(true, false);
//! ```
//!
//! # Platforms and kernels
//!
//! Linux only, [`MIN_LINUX`] (5.4) or later, any architecture, glibc or
//! musl, static or dynamic. A child is held by its pidfd: `pidfd_open`
//! (5.3), `pidfd_send_signal` (5.1), a pidfd polled for its exit (5.3),
//! `waitid(P_PIDFD)` (5.4); `close_range` (5.9) is used where present. The
//! first pool or [`Process`] of a process asks the kernel for those calls
//! (once: the answer is kept), and a kernel that lacks one, or a sandbox
//! that refuses it, gets [`BuildError::Kernel`] (or
//! [`ProcessError::Kernel`]) naming the call and the release that has it.
//! The workspace README says which targets CI tests, natively or under
//! qemu-user. Off Linux the crate does not compile (a `compile_error!`
//! says so); thread-exec's `ThreadPoolExecutor` runs everywhere.
//!
//! # How functions cross
//!
//! Workers run this very binary (forked from it, or a fresh copy of it), so a
//! `fn(A) -> R` names the same code in them. A frame carries the function's
//! address (relative to a fixed point, so it holds in a fresh copy loaded
//! elsewhere) and that of a trampoline
//! monomorphized for `A` and `R`, which decodes the argument, calls, and
//! encodes the result. `A`, `R` (and `E` for
//! [`submit_fallible`](ProcessPoolExecutor::submit_fallible)) are serde types;
//! they travel as [postcard](https://docs.rs/postcard). Nothing the function
//! captures crosses, which is why it must be a plain function.
//!
//! Postcard is not self-describing, so a type whose serde implementation
//! inspects the data (`serde_json::Value`, `skip_serializing_if`, `flatten`,
//! untagged enums) fails with [`TaskError::ArgDecode`] ("the argument could
//! not be deserialized: …") or [`TaskError::ResultDecode`]: wrap it in
//! `Json<T>` (feature `json`). [`Bytes`] carries a byte buffer in one block,
//! encoded as `serde_bytes::ByteBuf` is.
//!
//! # Large payloads: `SharedBytes`
//!
//! A [`SharedBytes`] argument or result of [`SharedBytes::THRESHOLD`]
//! (64 KiB) or more does not go through the pipe. Its bytes live in a
//! `memfd`, written once with `pwrite` when the buffer is made (the one
//! copy), then sealed (`F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
//! F_SEAL_SEAL`) and mapped read-only. The frame carries only its index and
//! length; the descriptor travels beside the frame, sent with
//! `SCM_RIGHTS` on a per-worker `socketpair(AF_UNIX, SOCK_SEQPACKET)`
//! before the frame's bytes (pipes cannot carry descriptors; the frames'
//! pipes stay as they were). The receiver checks the seals and that the
//! memfd holds exactly the announced length before it maps it, so a peer
//! can neither change the bytes under a `&[u8]` nor shrink the file under
//! the mapping. A worker that returns the buffer it got, or one it made,
//! sends the descriptor back the same way: no byte is copied again.
//!
//! Below the threshold, and in every frame without a `SharedBytes` at or
//! above it, the bytes on the pipe are exactly what they were before shared
//! payloads existed. A [`Process`], the pool's initializer argument,
//! `Json<T>`, or any other serializer encodes a `SharedBytes`
//! inline (its bytes). A shared payload does not count against the maximum
//! frame size (only its index and length are in the frame).
//!
//! Limits: each live shared buffer holds one descriptor and one mapping in
//! every process that holds it (so `RLIMIT_NOFILE` bounds how many a process
//! keeps alive at once; when a memfd cannot be made, the buffer falls back
//! to the heap and the pipe); a frame carries at most 64 descriptors (more
//! buffers in one argument are encoded inline); descriptors in flight count
//! against the sender's `RLIMIT_NOFILE` until received. A worker that dies
//! holding a mapping takes it with it; the kernel drops descriptors left in
//! the socket when both ends close, so the parent keeps nothing.
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `json` | no | `Json<T>`: a value that crosses as JSON text (`serde_json` dependency) |
//! | `log` | no | [`log`](https://docs.rs/log) records, target `proc_exec`: a worker started or retired (info), killed on purpose (info), died with its pid and status (warn, and whether it is replaced), the pool broken and why (error) |
//!
//! # Start methods, and forking a process that has threads
//!
//! `fork` copies only the calling thread. A lock another thread held at that
//! moment (in the allocator, stdio, the panic machinery, a logger, or your
//! own code) stays locked forever in the child. The C library's at-fork
//! handlers make `malloc` safe; nothing makes *your* locks safe. Programs
//! built on tokio or rayon are threaded before `main` does anything.
//!
//! | method | a worker is | safe in a threaded program | cost per worker |
//! |---|---|---|---|
//! | [`StartMethod::ForkServer`] (default) | forked from a fresh copy of the program, started once per pool | yes | one fork of a small process |
//! | [`StartMethod::Spawn`] | a fresh copy of the program | yes | one `exec` of the program |
//! | [`StartMethod::Fork`] | forked from the pool's manager thread | only if no lock a task needs is held across the fork | one fork of your whole process |
//!
//! A *fresh copy* is this program's executable started again with `exec`
//! (through `/proc/self/exe`, opened when the pool is built). A constructor
//! this crate places in `.init_array` (run by glibc and musl before `main`,
//! in dynamic and static programs alike) recognises the copy by a variable
//! in its environment and turns it into a worker or a fork server before
//! your `main` runs: you add no call to `main`, and `main` never runs in
//! the copy. The copy starts with one thread and a fresh heap, so no lock
//! in it can be held by anyone; it checks that it is the same build as its
//! parent and refuses to run otherwise. In an ordinary run the constructor
//! reads one environment variable and returns.
//!
//! - [`StartMethod::ForkServer`] (the default, as in CPython 3.14): `build`
//!   starts the server, a fresh copy, and returns once it runs; every worker
//!   (and every replacement) is forked from that single-threaded server. The
//!   `exec` is paid once per pool; each worker costs one fork of a small
//!   process. Use it unless you have a reason not to.
//! - [`StartMethod::Spawn`] (CPython's `spawn`): every worker is a fresh
//!   copy. The cleanest start, and the slowest: one `exec` per worker.
//! - [`StartMethod::Fork`]: each worker is forked from the pool's manager
//!   thread directly, a copy of your whole, threaded process at that moment.
//!   The fastest start, for programs that hold no lock across the fork that
//!   a task needs. The pool's own worker code takes no such lock (its panic
//!   hook is installed in your process at `build`, not in the worker).
//!
//! The `exec` methods need the program's executable to be this crate's: a
//! pool in a shared library (a Python extension, say) gets
//! [`BuildError::StartMethod`] and should use `Fork`. So does a process
//! without `/proc`, and one whose fork server cannot be `exec`ed (a `noexec`
//! mount, a seccomp filter); with `Spawn` a refused `exec` fails the
//! futures waiting for the worker, as any worker that cannot be started.
//! The executable opened at `build` is the one every copy runs, even if a
//! new file is renamed over its path while the pool runs.
//!
//! Whatever the method, a worker holds no file descriptor but its two pipes
//! (and stdio), asks the kernel to kill it if its parent dies
//! (`PR_SET_PDEATHSIG`), and leaves with `_exit`.
//!
//! # Blocking and shutdown
//!
//! `submit` encodes the argument in the calling thread, queues, and returns;
//! it never waits for a worker. One manager thread per pool forks, writes,
//! reads, reaps, and completes futures (so done callbacks run there: a
//! callback may submit to its pool, but one that blocks holds the whole
//! pool up, and one that waits for a result of its own pool waits forever,
//! as in CPython). `shutdown(wait, cancel_futures)` refuses later submits, cancels what was
//! not sent yet if asked, lets the rest finish, tells each worker to exit,
//! and with `wait` returns once every worker has been reaped. Dropping the
//! pool is `shutdown(wait = true)`, as Python's `with` block does.
//!
//! # When a worker dies
//!
//! As in CPython, a worker that ends without being asked to (a signal,
//! `abort`, `_exit`, the OOM killer, a failing initializer) breaks the pool:
//! every pending and running future fails with [`BrokenProcessPool`] and later
//! submits are refused. Unlike CPython, each future gets its own error value
//! naming the dead worker's pid and how it ended, the death is seen at once
//! through its pidfd (no polling), and results the worker sent before dying
//! are kept. An argument that does not serialize fails only its `submit`; a
//! result that does not serialize (or decode) fails only its future.
//!
//! A worker that cannot be started (no file descriptor or process left)
//! breaks the pool at once: the futures waiting for it fail, and the workers
//! still running are terminated. A worker told to stop with SIGTERM (by
//! `terminate_workers` or a broken pool) that is still alive after
//! [`Builder::terminate_grace`] (1 s by default) gets SIGKILL, so a worker
//! that ignores SIGTERM cannot hold up `shutdown` or `Drop`.
//!
//! Signal dispositions are the application's: the pool works with `SIGCHLD`
//! ignored or handled by a handler that reaps every child. The fork server
//! takes its own `SIGCHLD` (its workers get the application's back); with
//! [`StartMethod::Fork`] the application may collect a worker's status
//! first, and the pool then reports [`ExitStatus::Unknown`], never a status
//! it made up. A worker that exits when asked to (`max_tasks_per_child`,
//! shutdown) never counts as a death, whatever its status.
//!
//! # What can go wrong
//!
//! Every failure ends as a typed error on the futures it concerns; none
//! leaves a future pending, kills a pool thread, or mismatches a result.
//!
//! | what happens | what it becomes |
//! |---|---|
//! | the task panics | that future: [`TaskError::Panicked`] (message and location) |
//! | the argument's `Deserialize` panics or fails in the worker | that item: [`TaskError::ArgDecode`]; the rest of its chunk too (they cannot be found) |
//! | the argument's type is not postcard-friendly (`serde_json::Value`, `skip_serializing_if`, untagged enum) | that item: [`TaskError::ArgDecode`] ("the argument could not be deserialized: …"), or a wrong value; use `Json<T>` |
//! | the result's `Serialize` panics or fails in the worker | that item: [`TaskError::ResultEncode`] |
//! | the argument's `Drop` panics in the worker (it ends inside the call) | that item: [`TaskError::Panicked`] |
//! | the result's `Drop` panics in the worker, after it was encoded | that item: [`TaskError::Panicked`] ("dropping the result panicked: …") |
//! | the result's `Deserialize` panics or fails in the parent | that item: [`TaskError::ResultDecode`] |
//! | a user value's `Drop` or a done callback panics on the manager thread | reported to [`future_core::set_callback_panic_hook`]; the pool goes on |
//! | a done callback drops the last handle on the pool, or calls `shutdown(wait = true)` | returns at once (the manager cannot wait for itself); the work in hand still runs and the manager reaps the workers and ends by itself |
//! | a result (or panic text) larger than the frame limit | that item: [`TaskError::ResultTooLarge`], texts cut to fit; never another item's slot |
//! | a chunk no answer could fit | the submit: [`SubmitError::ChunkTooLarge`] |
//! | a frame names a [`SharedBytes`] whose descriptor did not come (the descriptor socket was full, or a forged value), or whose memfd is not sealed or not of the announced size | that item: [`TaskError::ArgDecode`] in the worker ("the argument could not be deserialized: shared payload #0 (1048576 bytes) has no descriptor beside its frame"), [`TaskError::ResultDecode`] in the parent ("… announced with 1048577 bytes, its memfd holds 1048576", "… is not sealed against changes …"); the pool goes on |
//! | a task dies holding a shared buffer (panic, `_exit`, SIGKILL) | as any death; its mapping and descriptors die with it, the parent's are released with the future |
//! | a map's input panics, or yields `Err` (`try_map_with`) | at its position: [`MapError::Input`] after every earlier item; the pool goes on |
//! | a worker dies (signal, `abort`, `_exit`, OOM) | [`TaskError::Broken`] for every pending future, or under [`OnWorkerDeath::Replace`] [`TaskError::Died`] for its items only |
//! | the application ignores or reaps `SIGCHLD` | nothing changes; with [`StartMethod::Fork`] or [`StartMethod::Spawn`] a status taken first by the application is [`ExitStatus::Unknown`] |
//! | another thread holds a lock (a panic hook, stdout, your mutex) when a worker starts | nothing, with [`StartMethod::ForkServer`] and [`StartMethod::Spawn`]; with [`StartMethod::Fork`] a task that takes that lock waits forever (its timeout, if any, kills it) |
//! | a kernel older than 5.4, or a sandbox refusing a pidfd call | before anything starts: [`BuildError::Kernel`] ("the pool cannot run here: this kernel refuses waitid(P_PIDFD) (…), which Linux has since 5.4: proc-exec needs Linux 5.4 or later, …"); `Process::start`: [`ProcessError::Kernel`] |
//! | `/proc` missing, or the pool lives in a shared library (`ForkServer`, `Spawn`) | [`BuildError::StartMethod`] |
//! | `exec` refused (`noexec` mount, seccomp) | `ForkServer`: [`BuildError::StartMethod`]; `Spawn`: [`TaskError::Broken`] ("a worker could not be started: … exec … failed: …") |
//! | a worker cannot be started (`EMFILE`, `EAGAIN`) | at once: [`TaskError::Broken`] ("a worker could not be started: …") for the waiting futures; running workers are terminated |
//! | a worker ignores SIGTERM on terminate or a broken pool | SIGKILL after [`Builder::terminate_grace`] |
//! | a worker breaks the protocol (malformed frame, wrong outcome count) | [`TaskError::Broken`] naming the worker and what it sent |
//! | the manager thread itself panics (a bug of ours) | the pool breaks: every pending future fails, later submits are refused |
//! | the parent dies | workers die with it (`PR_SET_PDEATHSIG`) |
#![deny(unsafe_code)]
// Under loom the I/O manager is replaced by a model, leaving parts unused.
#![cfg_attr(exec_loom, allow(dead_code))]

// Off Linux this message is all there is: every item below is Linux's.
#[cfg(not(target_os = "linux"))]
compile_error!(
    "proc-exec runs on Linux only, 5.4 or later: it holds its workers by pidfd (pidfd_open, waitid(P_PIDFD)). On other systems use thread-exec's ThreadPoolExecutor (threads instead of processes)."
);

#[cfg(target_os = "linux")]
#[macro_use]
mod sync;
#[cfg(target_os = "linux")]
#[macro_use]
mod events;

#[cfg(target_os = "linux")]
mod auto_chunk;
#[cfg(target_os = "linux")]
mod bytes;
#[cfg(target_os = "linux")]
mod call;
#[cfg(target_os = "linux")]
mod chunk;
#[cfg(target_os = "linux")]
mod codec;
#[cfg(target_os = "linux")]
mod error;
#[cfg(target_os = "linux")]
mod executor;
#[cfg(target_os = "linux")]
mod function;
#[cfg(all(target_os = "linux", feature = "json"))]
mod json;
#[cfg(target_os = "linux")]
mod map;
#[cfg(target_os = "linux")]
mod map_input;
#[cfg(target_os = "linux")]
mod os;
#[cfg(target_os = "linux")]
mod panic;
#[cfg(target_os = "linux")]
mod pool_state;
#[cfg(target_os = "linux")]
mod process;
#[cfg(target_os = "linux")]
pub mod remote;
#[cfg(target_os = "linux")]
mod shared;
#[cfg(target_os = "linux")]
mod shared_bytes;
#[cfg(target_os = "linux")]
mod start;
#[cfg(target_os = "linux")]
pub mod wire;
#[cfg(target_os = "linux")]
mod worker;

// Declared with plain attributes, not through the cfg macros, so that
// rustfmt reaches these files.
#[cfg(all(target_os = "linux", not(exec_loom)))]
mod manager;

// The fuzz targets' bodies: public to `fuzz/` (cargo-fuzz sets
// `--cfg fuzzing`), tested over the corpus by `cargo test`.
#[cfg(all(target_os = "linux", fuzzing))]
#[doc(hidden)]
pub mod fuzzing;
#[cfg(all(target_os = "linux", test, not(fuzzing)))]
mod fuzzing;

#[cfg(all(target_os = "linux", exec_loom))]
#[doc(hidden)]
pub mod loom_model;

#[cfg(target_os = "linux")]
pub use bytes::Bytes;
#[cfg(target_os = "linux")]
pub use chunk::{ChunkFuture, ChunkResults};
#[cfg(target_os = "linux")]
pub use error::{BrokenProcessPool, BuildError, SubmitError, TaskError};
#[cfg(target_os = "linux")]
pub use executor::{Builder, DEFAULT_TERMINATE_GRACE, ProcessPoolExecutor, TaskOptions};
#[cfg(target_os = "linux")]
pub use function::Function;
#[cfg(all(target_os = "linux", feature = "json"))]
pub use json::Json;
#[cfg(target_os = "linux")]
pub use map::{Map, MapError, MapOptions, MapUnordered};
#[cfg(target_os = "linux")]
pub use map_input::{Fallible, InputError, MapInput};
#[cfg(target_os = "linux")]
pub use os::ExitStatus;
#[cfg(target_os = "linux")]
pub use os::kernel::{MIN_LINUX, MissingSyscall};
#[cfg(target_os = "linux")]
pub use pool_state::{MAX_START_FAILURES, OnWorkerDeath};
#[cfg(target_os = "linux")]
pub use process::{Process, ProcessError};
#[cfg(target_os = "linux")]
pub use shared_bytes::SharedBytes;

// What the signatures above name (the futures they return, their errors),
// so that a user needs no other crate in `Cargo.toml`.
#[cfg(target_os = "linux")]
pub use future_core;
#[cfg(target_os = "linux")]
pub use future_core::{ResultError, State};

/// How a pool starts its workers. See the [crate docs](crate#start-methods-and-forking-a-process-that-has-threads).
#[cfg(target_os = "linux")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum StartMethod {
    /// Fork each worker from a single-threaded server process, a fresh copy
    /// of the program that the pool starts (with `exec`) once, when it is
    /// built (CPython 3.14's default on Linux). Safe in a threaded program.
    #[default]
    ForkServer,
    /// Fork each worker from the pool's manager thread: the fastest start,
    /// for programs that hold no lock across the fork that a task needs.
    ///
    /// Each worker shares (copy-on-write) the whole address space of the
    /// program, so its start and its end cost time in proportion to the
    /// program's memory: a crash reaches its future only after the kernel
    /// has torn the dead worker's copy down (measured: 0.2 ms for a small
    /// program, 3.7 ms with 200 MiB in use, 17 ms with 800 MiB; with
    /// `ForkServer` and `Spawn` it stays near 0.2 ms, their workers being
    /// small).
    Fork,
    /// Start each worker as a fresh copy of the program (with `exec`):
    /// the slowest start, and the cleanest (CPython's `spawn`).
    Spawn,
}
