//! The helpers every process test uses (shared with mp-pool's tests), and
//! the start method the tests run with.
#![allow(dead_code, unused_imports)]

pub(crate) use test_support::*;

use proc_exec::{Builder, ProcessPoolExecutor, StartMethod};

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

/// The methods that never copy the parent's threads' locks into a worker
/// (see [`Method::exec_to_test`]).
pub(crate) fn exec_methods() -> Vec<StartMethod> {
    Method::exec_to_test()
        .into_iter()
        .map(start_method)
        .collect()
}

/// The start method the tests run with when they do not choose one:
/// [`START_METHOD`]'s, else the library's default.
pub(crate) fn chosen_method() -> StartMethod {
    Method::chosen().map_or_else(StartMethod::default, start_method)
}

/// A pool builder with [`chosen_method`].
pub(crate) fn builder() -> Builder {
    ProcessPoolExecutor::builder().start_method(chosen_method())
}
