//! [`AsyncResult`] and the [`Callbacks`] run before it is ready.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use future_core::{Completer, Future, ResultError, WaitError};
use proc_exec::TaskError;

use crate::error::{NotReady, PoolError};

/// A success callback.
type OnSuccess<T> = Box<dyn FnOnce(&T) + Send>;
/// An error callback.
type OnError = Box<dyn FnOnce(&PoolError) + Send>;

/// What to run when a job ends: Python's `callback` and `error_callback`.
///
/// Exactly one of the two runs, once, in the pool's result-handler thread,
/// before the job is marked ready: `get` returns only after it finished. A
/// callback that blocks holds up every other job's callbacks (as in CPython);
/// one that panics becomes its job's error ([`PoolError::Callback`]) and the
/// pool goes on.
///
/// # Examples
///
/// ```
/// use std::sync::mpsc;
/// use mp_pool::{Callbacks, Pool};
///
/// fn double(n: u32) -> u32 {
///     2 * n
/// }
///
/// let pool = Pool::builder().processes(1).build().unwrap();
/// let (tx, rx) = mpsc::channel();
/// let callbacks = Callbacks::new().on_success(move |value: &u32| tx.send(*value).unwrap());
/// let job = pool.apply_async_with(double, 21, callbacks).unwrap();
/// assert_eq!(job.get(None), Ok(&42));
/// // The callback ran before the job was ready.
/// assert_eq!(rx.try_recv(), Ok(42));
/// ```
#[must_use = "callbacks do nothing until passed to an `_async_with` call"]
pub struct Callbacks<T> {
    on_success: Option<OnSuccess<T>>,
    on_error: Option<OnError>,
}

impl<T> Default for Callbacks<T> {
    fn default() -> Self {
        Self {
            on_success: None,
            on_error: None,
        }
    }
}

impl<T> Callbacks<T> {
    /// No callbacks.
    pub fn new() -> Self {
        Self::default()
    }

    /// Python's `callback`: runs with the result when the job succeeds.
    pub fn on_success(mut self, f: impl FnOnce(&T) + Send + 'static) -> Self {
        self.on_success = Some(Box::new(f));
        self
    }

    /// Python's `error_callback`: runs with the error when the job fails.
    pub fn on_error(mut self, f: impl FnOnce(&PoolError) + Send + 'static) -> Self {
        self.on_error = Some(Box::new(f));
        self
    }

    /// Whether neither callback is set.
    pub(crate) fn is_empty(&self) -> bool {
        self.on_success.is_none() && self.on_error.is_none()
    }

    /// Runs the callback that fits `outcome`; a panic replaces the outcome.
    /// The other callback is dropped unrun, and its captures are user values
    /// too: a panic dropping it is caught as well.
    fn run(self, outcome: Result<T, PoolError>) -> Result<T, PoolError> {
        let Self {
            on_success,
            on_error,
        } = self;
        let ran = match &outcome {
            Ok(value) => catch_unwind(AssertUnwindSafe(move || {
                drop(on_error);
                if let Some(f) = on_success {
                    f(value);
                }
            })),
            Err(error) => catch_unwind(AssertUnwindSafe(move || {
                drop(on_success);
                if let Some(f) = on_error {
                    f(error);
                }
            })),
        };
        match ran {
            Err(payload) => {
                let message = panic_message(&*payload);
                future_core::drop_panic_payload(payload);
                Err(PoolError::Callback(message))
            }
            Ok(()) => outcome,
        }
    }
}

impl<T> fmt::Debug for Callbacks<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Callbacks")
            .field("on_success", &self.on_success.is_some())
            .field("on_error", &self.on_error.is_some())
            .finish()
    }
}

pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a callback panicked with a value that is not a string".to_owned()
    }
}

/// Runs `callbacks` for `outcome`, then marks the job ready with it. Call
/// on the result-handler thread.
pub(crate) fn finish<T>(
    outcome: Result<T, PoolError>,
    callbacks: Callbacks<T>,
    completer: &Completer<T, PoolError>,
) {
    let outcome = callbacks.run(outcome);
    // The job's future is completed only here, so this cannot be refused.
    let _ = match outcome {
        Ok(value) => completer.set_result(value).map_err(drop),
        Err(error) => completer.set_exception(error).map_err(drop),
    };
}

/// A task's outcome as a job's.
pub(crate) fn task_outcome<T>(outcome: Result<T, ResultError<TaskError>>) -> Result<T, PoolError> {
    match outcome {
        Ok(value) => Ok(value),
        Err(ResultError::Failed(error)) => Err(error.into()),
        Err(ResultError::Cancelled) => Err(PoolError::Terminated),
        Err(ResultError::Timeout) => Err(PoolError::Timeout),
    }
}

/// The future behind a result.
enum Inner<T> {
    /// A task without callbacks: its proc-exec future, read directly.
    Task(Future<T, TaskError>),
    /// Finished by the result handler (callbacks ran, chunks were gathered).
    Job(Future<T, PoolError>),
}

/// The handle on a job submitted with an `_async` method (Python's
/// `multiprocessing.pool.AsyncResult`).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use mp_pool::Pool;
///
/// fn square(n: u64) -> u64 {
///     n * n
/// }
///
/// let pool = Pool::builder().processes(2).build().unwrap();
/// let job = pool.apply_async(square, 12).unwrap();
/// job.wait(Some(Duration::from_secs(30)));
/// assert!(job.ready());
/// assert_eq!(job.successful(), Ok(true));
/// assert_eq!(job.get(None), Ok(&144));
/// ```
pub struct AsyncResult<T> {
    inner: Inner<T>,
}

impl<T> AsyncResult<T> {
    pub(crate) fn from_task(task: Future<T, TaskError>) -> Self {
        Self {
            inner: Inner::Task(task),
        }
    }

    pub(crate) fn from_job(job: Future<T, PoolError>) -> Self {
        Self {
            inner: Inner::Job(job),
        }
    }

    /// The result, waiting for it at most `timeout` (`None`: for as long as
    /// it takes).
    ///
    /// # Errors
    ///
    /// The job's error, or [`PoolError::Timeout`] if it was not ready in
    /// time (then the job goes on and `get` can be called again).
    pub fn get(&self, timeout: Option<Duration>) -> Result<&T, PoolError> {
        match &self.inner {
            Inner::Task(task) => task_outcome(task.result(timeout).map_err(owned)),
            Inner::Job(job) => match job.result(timeout) {
                Ok(value) => Ok(value),
                Err(ResultError::Failed(error)) => Err(error.clone()),
                Err(ResultError::Timeout) => Err(PoolError::Timeout),
                Err(ResultError::Cancelled) => Err(PoolError::Terminated),
            },
        }
    }

    /// The result by value, waiting for it as long as it takes.
    ///
    /// # Errors
    ///
    /// The job's error.
    pub fn into_result(self) -> Result<T, PoolError> {
        match self.inner {
            Inner::Task(task) => task_outcome(task.into_result()),
            Inner::Job(job) => job_outcome(job.into_result()),
        }
    }

    /// Waits until the job is ready or `timeout` passes; returns whether it
    /// is ready (Python's `wait` returns `None`).
    pub fn wait(&self, timeout: Option<Duration>) -> bool {
        let waited = match &self.inner {
            Inner::Task(task) => task.exception(timeout).map(drop),
            Inner::Job(job) => job.exception(timeout).map(drop),
        };
        !matches!(waited, Err(WaitError::Timeout))
    }

    /// Whether the job is ready: finished, and its callback has run.
    pub fn ready(&self) -> bool {
        match &self.inner {
            Inner::Task(task) => task.done(),
            Inner::Job(job) => job.done(),
        }
    }

    /// Whether the job succeeded.
    ///
    /// # Errors
    ///
    /// [`NotReady`] before the job is ready, as in Python.
    pub fn successful(&self) -> Result<bool, NotReady> {
        if !self.ready() {
            return Err(NotReady);
        }
        Ok(self.get(Some(Duration::ZERO)).is_ok())
    }
}

/// A job's outcome as the caller sees it.
fn job_outcome<T>(outcome: Result<T, ResultError<PoolError>>) -> Result<T, PoolError> {
    match outcome {
        Ok(value) => Ok(value),
        Err(ResultError::Failed(error)) => Err(error),
        Err(ResultError::Timeout) => Err(PoolError::Timeout),
        Err(ResultError::Cancelled) => Err(PoolError::Terminated),
    }
}

/// `.await` yields the result by value, like
/// [`into_result`](AsyncResult::into_result), in any async runtime (or none:
/// the waker is woken from the pool's threads, so a plain `block_on` works).
///
/// # Panics
///
/// Polling again after it returned `Ready` panics: the result has been
/// moved out (the usual contract of [`std::future::Future`]).
impl<T> std::future::Future for AsyncResult<T> {
    type Output = Result<T, PoolError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.get_mut().inner {
            Inner::Task(task) => Pin::new(task).poll(cx).map(task_outcome),
            Inner::Job(job) => Pin::new(job).poll(cx).map(job_outcome),
        }
    }
}

/// A task error borrowed from its future, owned.
fn owned(error: ResultError<&TaskError>) -> ResultError<TaskError> {
    match error {
        ResultError::Failed(error) => ResultError::Failed(error.clone()),
        ResultError::Cancelled => ResultError::Cancelled,
        ResultError::Timeout => ResultError::Timeout,
    }
}

impl<T> fmt::Debug for AsyncResult<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncResult")
            .field("ready", &self.ready())
            .finish_non_exhaustive()
    }
}
