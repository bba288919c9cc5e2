//! Latches for deterministic tests: a gate is a future that tasks block on
//! until the test opens it.

use future_core::Future;
use std::{sync::Arc, time::Duration};
use thread_exec::ThreadPoolExecutor;

/// Generous guard against hangs; never reached when the code is right.
pub(crate) const GUARD: Option<Duration> = Some(Duration::from_secs(60));

#[derive(Clone, Default)]
pub(crate) struct Gate(Arc<Future<(), ()>>);

impl Gate {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn open(&self) {
        let _ = self.0.set_result(());
    }

    pub(crate) fn wait(&self) {
        assert_eq!(self.0.result(GUARD), Ok(&()), "a gate was never opened");
    }
}

/// A pool of `n` workers.
#[allow(dead_code)] // not every test file uses it
pub(crate) fn pool(n: usize) -> ThreadPoolExecutor {
    ThreadPoolExecutor::builder()
        .max_workers(n)
        .build()
        .unwrap()
}
