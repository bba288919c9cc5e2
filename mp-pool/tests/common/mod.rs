//! The helpers every process test uses (shared with proc-exec's tests), and
//! the tasks mp-pool's tests run.
#![allow(dead_code, unused_imports)]

pub(crate) use test_support::*;

use std::time::Duration;

/// A pool of `n` processes.
pub(crate) fn pool(n: usize) -> mp_pool::Pool {
    mp_pool::Pool::builder().processes(n).build().unwrap()
}

pub(crate) fn square(n: u64) -> u64 {
    n * n
}

pub(crate) fn panics_on_zero(n: u64) -> u64 {
    assert_ne!(n, 0, "zero is not allowed");
    n
}

/// The pid of the worker that runs it.
pub(crate) fn pid(_: ()) -> u32 {
    std::process::id()
}

/// How long a test waits for something that should not happen, to see it
/// does not: long enough to catch it almost always, never a synchronisation.
pub(crate) const NOT_YET: Duration = Duration::from_millis(200);
