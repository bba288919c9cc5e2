//! `proc-exec`: Python's `ProcessPoolExecutor` for Rust on Linux (in progress).
#![allow(dead_code)]

mod os;
mod pool_state;
pub mod wire;
