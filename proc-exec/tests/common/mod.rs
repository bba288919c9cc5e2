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

/// Shows the hazard the exec'd start methods avoid: under
/// [`StartMethod::Fork`] the task `f(arg)`, which takes a lock another
/// thread of this process holds, waits forever in its worker (the worker's
/// copy of the lock is held by a thread the worker does not have), until
/// its timeout kills it. Only when `Fork` is among [`methods`].
pub(crate) fn assert_fork_hangs<A>(what: &str, f: fn(A) -> u64, arg: A)
where
    A: serde::Serialize + serde::de::DeserializeOwned,
{
    use std::time::Duration;

    use proc_exec::{TaskError, TaskOptions};

    if !methods().contains(&StartMethod::Fork) {
        return;
    }
    watchdog(&format!("Fork: {what} until the task's timeout"), || {
        let pool = ProcessPoolExecutor::builder()
            .max_workers(1)
            .start_method(StartMethod::Fork)
            .build()
            .unwrap();
        // Generous for a task that takes microseconds when it runs at all.
        let timeout = Duration::from_secs(1);
        let stuck = pool
            .submit_with(f, arg, TaskOptions::new().timeout(timeout))
            .unwrap();
        match stuck.exception(GUARD) {
            Ok(Some(TaskError::TimedOut { .. })) => {}
            other => panic!("Fork: {what}: expected the task to hang, got {other:?}"),
        }
        drop(pool);
    });
}
