//! A queued unit of work: a closure and the completer of its future.

use crate::{BrokenThreadPool, TaskError, error::panic_message};
use future_core::Completer;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// What the queue holds. Each job ends in exactly one of three ways.
pub(crate) trait Job: Send {
    /// Runs the task, unless its future was cancelled while queued.
    /// `finishing` is called after the closure returned and before its future
    /// is completed (the pool uses it to count this worker as available).
    fn run(self: Box<Self>, finishing: &dyn Fn());
    /// Cancels the future (shutdown with `cancel_futures`).
    fn cancel(self: Box<Self>);
    /// Fails the future because the pool broke.
    fn fail(self: Box<Self>, broken: &BrokenThreadPool);
}

pub(crate) type BoxJob<'a> = Box<dyn Job + 'a>;

/// A closure and where its result goes.
pub(crate) struct Task<F, R> {
    f: F,
    completer: Completer<R, TaskError>,
}

impl<F, R> Task<F, R> {
    pub(crate) fn new(f: F, completer: Completer<R, TaskError>) -> Self {
        Self { f, completer }
    }
}

impl<F, R> Job for Task<F, R>
where
    F: FnOnce() -> R + Send,
    R: Send + Sync,
{
    fn run(self: Box<Self>, finishing: &dyn Fn()) {
        let Self { f, completer } = *self;
        // A future cancelled while queued is acknowledged and skipped.
        if completer.set_running_or_notify_cancel() != Ok(true) {
            return;
        }
        let outcome = catch_unwind(AssertUnwindSafe(f));
        finishing();
        // Only this job completes its future, so these cannot be refused.
        let _ = match outcome {
            Ok(value) => completer.set_result(value).map_err(drop),
            Err(payload) => completer
                .set_exception(TaskError::Panicked(panic_message(payload.as_ref())))
                .map_err(drop),
        };
    }

    fn cancel(self: Box<Self>) {
        self.completer.cancel();
    }

    fn fail(self: Box<Self>, broken: &BrokenThreadPool) {
        let _ = self
            .completer
            .set_exception(TaskError::Broken(broken.clone()));
    }
}
