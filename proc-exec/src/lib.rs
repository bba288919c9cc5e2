//! `proc-exec`: Python's `ProcessPoolExecutor` for Rust on Linux (in progress).
#![allow(dead_code)]

pub mod wire;
mod os;
