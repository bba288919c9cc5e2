//! The MPI message tags: the bodies are proc-exec's frames (see
//! `proc_exec::remote`), the tag says which way and what for.

/// Rank 0 to a worker: a `Run` frame.
pub(crate) const RUN: i32 = 1;
/// A worker to rank 0: the `Done` frame answering a `Run`.
pub(crate) const DONE: i32 = 2;
/// Rank 0 to a worker: no more work, return from `run`.
pub(crate) const EXIT: i32 = 3;

/// This crate's own protocol (tags and the start-up agreement) version;
/// proc-exec's frames carry theirs.
pub(crate) const PROTOCOL_VERSION: u64 = 1;
