//! Scoped tasks: closures that borrow from the caller's stack.

#![allow(unsafe_code)]

use crate::{
    BrokenThreadPool, SubmitError, TaskError,
    executor::submit_job,
    pool::Shared,
    sync::{Condvar, Mutex},
    task::{Job, RawJob, Task},
};
use future_core::Future;
use std::{
    fmt,
    marker::PhantomData,
    panic::{AssertUnwindSafe, catch_unwind, resume_unwind},
    sync::Arc,
};

/// Counts a scope's jobs that have not been dropped yet.
struct Outstanding {
    count: Mutex<usize>,
    all_done: Condvar,
}

impl Outstanding {
    fn done_one(&self) {
        let mut count = self.count.lock();
        *count -= 1;
        if *count == 0 {
            drop(count);
            self.all_done.notify_all();
        }
    }
}

/// A job submitted through a scope: reports itself done only after the task
/// (and everything it borrows) has been dropped.
struct ScopedJob<J> {
    inner: Option<J>,
    outstanding: Arc<Outstanding>,
}

impl<J: Job> Job for ScopedJob<J> {
    fn run(mut self, finishing: &dyn Fn()) {
        if let Some(job) = self.inner.take() {
            job.run(finishing);
        }
    }

    fn cancel(mut self) {
        if let Some(job) = self.inner.take() {
            job.cancel();
        }
    }

    fn fail(mut self, broken: &BrokenThreadPool) {
        if let Some(job) = self.inner.take() {
            job.fail(broken);
        }
    }
}

impl<J> Drop for ScopedJob<J> {
    fn drop(&mut self) {
        drop(self.inner.take());
        self.outstanding.done_one();
    }
}

/// Submits tasks that may borrow anything that outlives the scope; made by
/// [`ThreadPoolExecutor::scope`](crate::ThreadPoolExecutor::scope).
///
/// The scope returns only after every task submitted through it has ended:
/// run, been cancelled, or failed because the pool broke. If the scope's body
/// panics, it still waits, then resumes the panic.
///
/// # Deadlock
///
/// Blocking on a scope from inside a task of the same pool can deadlock when
/// every worker is busy waiting; as with any pool, do not nest waits.
pub struct Scope<'scope, 'env: 'scope> {
    shared: &'scope Arc<Shared>,
    outstanding: Arc<Outstanding>,
    /// Invariant in `'scope`, like `std::thread::Scope`.
    _scope: PhantomData<&'scope mut &'scope ()>,
    _env: PhantomData<&'env mut &'env ()>,
}

impl<'scope, 'env> Scope<'scope, 'env> {
    pub(crate) fn run<B, T>(shared: &Arc<Shared>, body: B) -> T
    where
        B: for<'s> FnOnce(&'s Scope<'s, 'env>) -> T,
    {
        let scope = Scope {
            shared,
            outstanding: Arc::new(Outstanding {
                count: Mutex::new(0),
                all_done: Condvar::new(),
            }),
            _scope: PhantomData,
            _env: PhantomData,
        };
        let result = catch_unwind(AssertUnwindSafe(|| body(&scope)));
        let count = scope.outstanding.count.lock();
        drop(scope.outstanding.all_done.wait_for(count, |n| *n == 0));
        match result {
            Ok(value) => value,
            Err(payload) => resume_unwind(payload),
        }
    }

    /// Queues `f`, which may borrow from outside the scope.
    ///
    /// # Errors
    ///
    /// As [`ThreadPoolExecutor::submit`](crate::ThreadPoolExecutor::submit):
    /// refused after shutdown or once broken, with the closure handed back.
    pub fn submit<F, R>(&'scope self, f: F) -> Result<Future<R, TaskError>, SubmitError<F>>
    where
        F: FnOnce() -> R + Send + 'scope,
        R: Send + 'scope,
    {
        let outstanding = &self.outstanding;
        submit_job(self.shared, f, |f, completer| {
            *outstanding.count.lock() += 1;
            let job = ScopedJob {
                inner: Some(Task::new(f, completer)),
                outstanding: Arc::clone(outstanding),
            };
            // The job borrows data that lives for 'scope, and `Scope::run`
            // does not return (it waits for the count to reach zero, even
            // when the body panics) until this job has been dropped:
            // `ScopedJob`'s drop lowers the count after dropping the task.
            // Every queued job is eventually run, cancelled or failed, and so
            // dropped: workers drain the queue before they exit, shutdown and
            // a broken pool drop what they take out of it, and the queue drops
            // what is left in it.
            // SAFETY: (as above) the scope outlives every use of the job.
            unsafe { RawJob::erase(job) }
        })
    }
}

impl fmt::Debug for Scope<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope")
            .field("outstanding", &*self.outstanding.count.lock())
            .finish()
    }
}
