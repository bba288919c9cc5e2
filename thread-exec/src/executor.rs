//! [`ThreadPoolExecutor`] and its builder.

use crate::{
    BuildError, SubmitError, TaskError,
    counts::MAX_THREADS,
    map::{Map, MapOptions},
    pool::{Initializer, Shared},
    scope::Scope,
    sync::{available_parallelism, next_executor_number},
    task::{RawJob, Task},
};
use future_core::{Completer, Future};
use std::{fmt, sync::Arc};

/// A pool of threads that runs closures and returns their results as
/// [`Future`]s: Python's `concurrent.futures.ThreadPoolExecutor`.
///
/// # Workers
///
/// Threads start lazily, on `submit`: an idle worker (or one just finishing
/// a task) is reused before a new thread starts, up to `max_workers`. Three
/// `submit(..).result()` calls in a row use one thread. Workers are named
/// `<prefix>_<n>`.
///
/// # Errors in tasks
///
/// A task that panics fails its own future with [`TaskError::Panicked`]
/// carrying the message; the worker thread goes on. A task whose future was
/// cancelled before it started is skipped.
///
/// # Shutdown
///
/// [`shutdown`](Self::shutdown) refuses later submits; with
/// `cancel_futures` it cancels everything still queued (their waiters wake at
/// once, unlike CPython's), and with `wait` it joins every worker after the
/// remaining work. Dropping the executor is `shutdown(true, false)`: queued
/// work runs to the end.
///
/// # Examples
///
/// ```
/// use thread_exec::ThreadPoolExecutor;
///
/// let pool = ThreadPoolExecutor::new();
/// let squares: Vec<_> = (1..=4u64)
///     .map(|n| pool.submit(move || n * n).unwrap())
///     .collect();
/// let total: u64 = squares.into_iter().map(|f| f.into_result().unwrap()).sum();
/// assert_eq!(total, 30);
/// ```
pub struct ThreadPoolExecutor {
    shared: Arc<Shared>,
}

impl ThreadPoolExecutor {
    /// An executor with the default settings (see [`Builder`]).
    pub fn new() -> Self {
        Self::builder()
            .build()
            .unwrap_or_else(|_| unreachable!("the default settings are valid"))
    }

    /// A builder for the executor's settings.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Queues `f` to run on a worker; returns the future of its result.
    ///
    /// # Errors
    ///
    /// After [`shutdown`](Self::shutdown), or once the pool is broken, the
    /// task is refused and handed back in a [`SubmitError`].
    pub fn submit<F, R>(&self, f: F) -> Result<Future<R, TaskError>, SubmitError<F>>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        submit_to(&self.shared, f)
    }

    /// Applies `f` to every item, in parallel, yielding results in input
    /// order. With the default [`MapOptions`], items are grouped into tasks
    /// whose size adapts to how long an item runs, at most four tasks per
    /// worker thread in flight, the input read as results are taken
    /// (CPython submits every item at once, one task each: see
    /// [`MapOptions::new`] for why not); see [`map_with`](Self::map_with)
    /// for a timeout, a fixed chunksize and another window, and [`Map`] for
    /// what dropping it does.
    ///
    /// # Errors
    ///
    /// Refused like [`submit`](Self::submit) when the pool no longer accepts
    /// work; nothing is then submitted.
    pub fn map<I, F, R>(&self, f: F, items: I) -> Result<Map<I::IntoIter, F, R>, SubmitError<()>>
    where
        I: IntoIterator,
        I::Item: Send + 'static,
        F: Fn(I::Item) -> R + Send + Sync + 'static,
        R: Send + 'static,
    {
        self.map_with(f, items, MapOptions::new())
    }

    /// [`map`](Self::map) with a [`MapOptions`]: a timeout for the whole
    /// iteration, a `buffersize` bounding the tasks in flight and a fixed
    /// `chunksize`.
    ///
    /// # Errors
    ///
    /// As for [`map`](Self::map).
    pub fn map_with<I, F, R>(
        &self,
        f: F,
        items: I,
        options: MapOptions,
    ) -> Result<Map<I::IntoIter, F, R>, SubmitError<()>>
    where
        I: IntoIterator,
        I::Item: Send + 'static,
        F: Fn(I::Item) -> R + Send + Sync + 'static,
        R: Send + 'static,
    {
        Map::start(Arc::clone(&self.shared), f, items.into_iter(), options)
    }

    /// Runs `body` with a [`Scope`] whose tasks may borrow from the caller's
    /// stack, and returns after every task submitted through it has ended.
    ///
    /// # Examples
    ///
    /// ```
    /// use thread_exec::ThreadPoolExecutor;
    ///
    /// let pool = ThreadPoolExecutor::new();
    /// let words = vec!["alpha".to_string(), "beta".to_string()];
    /// let total = pool.scope(|s| {
    ///     let lens: Vec<_> = words.iter().map(|w| s.submit(move || w.len()).unwrap()).collect();
    ///     lens.into_iter().map(|f| f.into_result().unwrap()).sum::<usize>()
    /// });
    /// assert_eq!(total, 9);
    /// ```
    pub fn scope<'env, B, T>(&self, body: B) -> T
    where
        B: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> T,
    {
        Scope::run(&self.shared, body)
    }

    /// Stops accepting work. With `cancel_futures`, cancels every task not
    /// yet started; with `wait`, returns only after the remaining tasks ran
    /// and every worker thread exited. Safe to call more than once.
    ///
    /// # Blocking
    ///
    /// With `wait`, blocks until the queue (less what was cancelled) drains.
    /// A task that shuts down its own pool with `wait` does not wait for its
    /// own thread.
    pub fn shutdown(&self, wait: bool, cancel_futures: bool) {
        self.shared.shutdown(wait, cancel_futures);
    }

    /// The live worker threads now.
    pub fn num_threads(&self) -> usize {
        self.shared.threads()
    }

    /// The most worker threads this executor starts.
    pub fn max_workers(&self) -> usize {
        self.shared.max_workers()
    }
}

/// Submits to a pool by its shared state (the executor and map iterators
/// go through here).
pub(crate) fn submit_to<F, R>(
    shared: &Arc<Shared>,
    f: F,
) -> Result<Future<R, TaskError>, SubmitError<F>>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    submit_job(shared, f, |f, completer| {
        RawJob::new(Task::new(f, completer))
    })
}

/// Makes the future, lets `build` turn the closure and its completer into a
/// job if (and only if) the pool accepts it, and hands the closure back if it
/// refuses.
pub(crate) fn submit_job<F, R>(
    shared: &Arc<Shared>,
    f: F,
    build: impl FnOnce(F, Completer<R, TaskError>) -> RawJob,
) -> Result<Future<R, TaskError>, SubmitError<F>> {
    let future = Future::new();
    let mut parts = Some((f, future.completer()));
    let accepted = shared.submit(|| match parts.take() {
        Some((f, completer)) => build(f, completer),
        None => unreachable!("the pool builds a job at most once"),
    });
    match (accepted, parts) {
        (Ok(()), _) => Ok(future),
        (Err(kind), Some((f, _))) => Err(SubmitError::new(kind, f)),
        (Err(_), None) => unreachable!("a refused job is never built"),
    }
}

impl Default for ThreadPoolExecutor {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for ThreadPoolExecutor {
    /// `shutdown(wait = true, cancel_futures = false)`: queued work runs.
    fn drop(&mut self) {
        self.shared.shutdown(true, false);
    }
}

impl fmt::Debug for ThreadPoolExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadPoolExecutor")
            .field("max_workers", &self.max_workers())
            .field("threads", &self.num_threads())
            .finish()
    }
}

/// Settings for a [`ThreadPoolExecutor`].
///
/// ```
/// use thread_exec::ThreadPoolExecutor;
///
/// let pool = ThreadPoolExecutor::builder()
///     .max_workers(2)
///     .thread_name_prefix("hasher")
///     .initializer(|| Ok::<(), String>(()))
///     .build()
///     .unwrap();
/// let name = pool.submit(|| std::thread::current().name().map(String::from)).unwrap();
/// assert_eq!(name.into_result().unwrap().as_deref(), Some("hasher_0"));
/// ```
#[derive(Clone, Default)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct Builder {
    max_workers: Option<usize>,
    thread_name_prefix: Option<String>,
    initializer: Option<Initializer>,
}

impl Builder {
    /// The most threads to start. Default: `min(32, available_parallelism + 4)`.
    /// Zero is a [`BuildError`]. Values above what the pool can count
    /// (65,535 threads on 64-bit targets, 255 on 32-bit ones)
    /// are lowered to that.
    pub fn max_workers(mut self, n: usize) -> Self {
        self.max_workers = Some(n);
        self
    }

    /// Worker threads are named `<prefix>_<n>`. Default:
    /// `ThreadPoolExecutor-<k>`, `k` counting executors in this process.
    pub fn thread_name_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.thread_name_prefix = Some(prefix.into());
        self
    }

    /// Runs `init` once at the start of every worker thread. If it returns an
    /// error or panics, the pool breaks: every queued task fails with
    /// [`BrokenThreadPool`](crate::BrokenThreadPool) and later submits are
    /// refused. Tasks already running elsewhere finish normally.
    pub fn initializer<F, E>(mut self, init: F) -> Self
    where
        F: Fn() -> Result<(), E> + Send + Sync + 'static,
        E: fmt::Display,
    {
        self.initializer = Some(Arc::new(move || init().map_err(|e| e.to_string())));
        self
    }

    /// Builds the executor; no thread starts until the first submit.
    ///
    /// # Errors
    ///
    /// [`BuildError::ZeroWorkers`] for `max_workers(0)`.
    pub fn build(self) -> Result<ThreadPoolExecutor, BuildError> {
        let max_workers = self
            .max_workers
            .unwrap_or_else(|| (available_parallelism() + 4).min(32));
        if max_workers == 0 {
            return Err(BuildError::ZeroWorkers);
        }
        let max_workers = max_workers.min(MAX_THREADS);
        let prefix = self
            .thread_name_prefix
            .unwrap_or_else(|| format!("ThreadPoolExecutor-{}", next_executor_number()));
        Ok(ThreadPoolExecutor {
            shared: Arc::new(Shared::new(max_workers, prefix, self.initializer)),
        })
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("max_workers", &self.max_workers)
            .field("thread_name_prefix", &self.thread_name_prefix)
            .field("initializer", &self.initializer.is_some())
            .finish()
    }
}
