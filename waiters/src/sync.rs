//! Where this crate gets its locks and shared pointers.
//!
//! Blocking goes through future-core's `Mutex` and `Condvar`, which are loom
//! types under `--cfg exec_loom`, so this crate needs no loom switch of its
//! own. The `Arc` behind each waker is alloc's: `Waker::from` requires it,
//! and it only carries a pointer to the loom-visible mutex.

pub(crate) use alloc::sync::Arc;
pub(crate) use future_core::{Condvar, Mutex};
