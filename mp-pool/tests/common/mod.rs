//! The helpers every process test uses (shared with proc-exec's tests), the
//! start method the tests run with, and the tasks mp-pool's tests run.
#![allow(dead_code, unused_imports)]

pub(crate) use test_support::*;

use std::time::Duration;

use mp_pool::{Builder, Pool};
use proc_exec::StartMethod;

/// proc-exec's name for `method`.
pub(crate) fn start_method(method: Method) -> StartMethod {
    match method {
        Method::Fork => StartMethod::Fork,
        Method::ForkServer => StartMethod::ForkServer,
        Method::Spawn => StartMethod::Spawn,
    }
}

/// What a test that compares the start methods loops over (see
/// [`Method::to_test`]).
pub(crate) fn methods() -> Vec<StartMethod> {
    Method::to_test().into_iter().map(start_method).collect()
}

/// The start method the tests run with when they do not choose one:
/// [`START_METHOD`]'s, else the library's default.
pub(crate) fn chosen_method() -> StartMethod {
    Method::chosen().map_or_else(StartMethod::default, start_method)
}

/// A pool builder with [`chosen_method`].
pub(crate) fn builder() -> Builder {
    Pool::builder().start_method(chosen_method())
}

/// A pool of `n` processes.
pub(crate) fn pool(n: usize) -> Pool {
    builder().processes(n).build().unwrap()
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
