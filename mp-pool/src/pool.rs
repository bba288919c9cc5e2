//! [`Pool`] and its [`Builder`].

use std::fmt;
use std::num::NonZeroUsize;
use std::time::Duration;

use future_core::Future;
use proc_exec::{Function, OnWorkerDeath, ProcessPoolExecutor, StartMethod};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::dispatch::Dispatcher;
use crate::error::{BuildError, PoolError, StillRunning};
use crate::gather;
use crate::imap::{Imap, ImapUnordered, TryImap, TryImapUnordered};
use crate::result::{AsyncResult, Callbacks, finish, task_outcome};
use crate::sync::{JoinHandle, Mutex, on_result_handler};

/// Chunks an `imap` keeps in flight per process at least: enough that no
/// worker waits for the next while the caller reads, few enough that the
/// input is not read far ahead (CPython reads it all, gh-84291).
const IMAP_CHUNKS_PER_PROCESS: usize = 4;

/// Items an `imap` keeps in flight per process at least, whatever the
/// chunksize: with tiny chunks the round trip, not the work, would set the
/// pace otherwise.
const IMAP_ITEMS_PER_PROCESS: usize = 256;

/// The chunks an `imap` keeps in flight.
fn imap_window(processes: usize, chunksize: NonZeroUsize) -> NonZeroUsize {
    let chunks = (IMAP_CHUNKS_PER_PROCESS * processes)
        .max((IMAP_ITEMS_PER_PROCESS * processes).div_ceil(chunksize.get()));
    NonZeroUsize::new(chunks).unwrap_or(NonZeroUsize::MIN)
}

/// Python's `multiprocessing.Pool`: a fixed number of worker processes
/// running plain functions, with `apply`, `map`, `imap` and their `_async`
/// forms.
///
/// Built on a [`ProcessPoolExecutor`] with
/// [`OnWorkerDeath::Replace`]: a worker that dies is replaced, and the task
/// it was running fails with an error naming its pid and how it ended
/// (CPython leaves that task's result pending forever, bpo-22393).
///
/// See the [crate docs](crate) for an example and for what blocks.
pub struct Pool {
    exec: ProcessPoolExecutor,
    dispatcher: Dispatcher,
    handler: Mutex<Option<JoinHandle<()>>>,
    state: Mutex<State>,
}

/// Python's pool states (INIT is the builder).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Run,
    Close,
    Terminate,
}

/// Tasks sent ahead to each worker process by default. Measured with 2
/// processes, 100k tiny tasks (`apply_async` then `get`; `imap_unordered`
/// with chunksize 1): 4 ahead 4.1 / 3.6 us per task, 8: 2.4 / 2.3, 16: 1.7 /
/// 1.8, 32: 1.4 / 1.0. Sixteen keeps most of the gain while a slow task
/// holds back at most fifteen behind it.
const DEFAULT_IN_FLIGHT: usize = 16;

/// Configures a [`Pool`]; from [`Pool::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct Builder {
    processes: Option<usize>,
    maxtasksperchild: Option<usize>,
    in_flight: NonZeroUsize,
    exec: proc_exec::Builder,
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            processes: None,
            maxtasksperchild: None,
            in_flight: NonZeroUsize::new(DEFAULT_IN_FLIGHT).unwrap_or(NonZeroUsize::MIN),
            exec: proc_exec::Builder::default(),
        }
    }
}

impl Builder {
    /// Worker processes (default: the available parallelism). Zero is
    /// refused by [`build`](Self::build).
    pub fn processes(mut self, n: usize) -> Self {
        self.processes = Some(n);
        self
    }

    /// A worker exits after `n` tasks (a chunk of `map` counts as one) and a
    /// new one replaces it. Zero is refused by [`build`](Self::build).
    pub fn maxtasksperchild(mut self, n: usize) -> Self {
        self.maxtasksperchild = Some(n);
        self
    }

    /// Runs `f(arg)` in every worker before its first task. A worker whose
    /// initializer panics dies and is replaced; after
    /// [`MAX_START_FAILURES`](proc_exec::MAX_START_FAILURES) such deaths in
    /// a row the pool is broken and every job fails with the initializer's
    /// error (CPython respawns forever, gh-87472).
    pub fn initializer<A>(mut self, f: fn(A), arg: A) -> Self
    where
        A: Serialize + DeserializeOwned,
    {
        self.exec = self.exec.initializer(f, arg);
        self
    }

    /// Like [`initializer`](Self::initializer), for one that reports failure
    /// with `Err`.
    pub fn try_initializer<A, E>(mut self, f: fn(A) -> Result<(), E>, arg: A) -> Self
    where
        A: Serialize + DeserializeOwned,
        E: fmt::Display,
    {
        self.exec = self.exec.try_initializer(f, arg);
        self
    }

    /// Tasks (or chunks) sent ahead to each worker process (default 16).
    /// Tasks waiting in a worker's pipe hide the round trip between two tiny
    /// tasks; but they wait behind a slow task there even when another
    /// worker is idle (CPython's workers take tasks from one shared queue).
    /// Use 1 for tasks of very uneven length.
    pub fn max_in_flight_per_process(mut self, n: NonZeroUsize) -> Self {
        self.in_flight = n;
        self
    }

    /// How workers are started (default [`StartMethod::ForkServer`]; see
    /// proc-exec's docs on forking a process that has threads).
    pub fn start_method(mut self, method: StartMethod) -> Self {
        self.exec = self.exec.start_method(method);
        self
    }

    /// How long [`terminate`](Pool::terminate) (and so `Drop`) lets a worker
    /// react to SIGTERM before it sends SIGKILL (default
    /// [`DEFAULT_TERMINATE_GRACE`](proc_exec::DEFAULT_TERMINATE_GRACE), 1 s):
    /// a worker that ignores SIGTERM cannot make `terminate` wait longer.
    pub fn terminate_grace(mut self, grace: Duration) -> Self {
        self.exec = self.exec.terminate_grace(grace);
        self
    }

    /// Starts the result-handler thread and the process pool underneath.
    /// Workers start as work arrives (CPython starts them all here).
    ///
    /// # Errors
    ///
    /// [`BuildError`] for zero `processes` or `maxtasksperchild`, or when a
    /// thread or the fork server cannot be started.
    pub fn build(self) -> Result<Pool, BuildError> {
        let processes = match self.processes {
            Some(0) => return Err(BuildError::ZeroProcesses),
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, NonZeroUsize::get),
        };
        let mut exec = self
            .exec
            .max_workers(processes)
            .max_in_flight_per_worker(self.in_flight)
            .on_worker_death(OnWorkerDeath::Replace);
        match self.maxtasksperchild {
            Some(0) => return Err(BuildError::ZeroMaxTasksPerChild),
            Some(n) => exec = exec.max_tasks_per_child(n),
            None => {}
        }
        let exec = exec.build().map_err(BuildError::Exec)?;
        let (dispatcher, handler) = Dispatcher::start().map_err(BuildError::Io)?;
        Ok(Pool {
            exec,
            dispatcher,
            handler: Mutex::new(Some(handler)),
            state: Mutex::new(State::Run),
        })
    }
}

impl Pool {
    /// A pool with one process per available CPU (see [`Builder`]).
    ///
    /// # Errors
    ///
    /// As [`Builder::build`].
    pub fn new() -> Result<Self, BuildError> {
        Builder::default().build()
    }

    /// Configures a pool.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// The number of worker processes.
    pub fn processes(&self) -> usize {
        self.exec.max_workers()
    }

    /// The pids of the worker processes alive now (a snapshot).
    pub fn worker_pids(&self) -> Vec<u32> {
        self.exec.worker_pids()
    }

    fn running(&self) -> Result<(), PoolError> {
        match *self.state.lock() {
            State::Run => Ok(()),
            State::Close | State::Terminate => Err(PoolError::NotRunning),
        }
    }

    /// Runs `f(arg)` in a worker and waits for its result (Python's
    /// `apply`).
    ///
    /// # Errors
    ///
    /// As [`apply_async`](Self::apply_async), and the task's own error.
    pub fn apply<A, R>(&self, f: fn(A) -> R, arg: A) -> Result<R, PoolError>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.apply_async(f, arg)?.into_result()
    }

    /// Runs `f(arg)` in a worker; the result comes through the
    /// [`AsyncResult`].
    ///
    /// # Errors
    ///
    /// [`PoolError::NotRunning`] after `close` or `terminate`;
    /// [`PoolError::Submit`] for an argument that does not serialize or is
    /// above the frame limit, or a broken pool.
    pub fn apply_async<A, R>(&self, f: fn(A) -> R, arg: A) -> Result<AsyncResult<R>, PoolError>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.running()?;
        Ok(AsyncResult::from_task(self.exec.submit(f, arg)?))
    }

    /// [`apply_async`](Self::apply_async) with a `callback` and an
    /// `error_callback` (see [`Callbacks`]).
    ///
    /// Unlike `apply_async`, the result must be `Sync` too: the result
    /// handler thread reads it to run the callbacks while the task's future
    /// is shared with it.
    ///
    /// # Errors
    ///
    /// As [`apply_async`](Self::apply_async).
    pub fn apply_async_with<A, R>(
        &self,
        f: fn(A) -> R,
        arg: A,
        callbacks: Callbacks<R>,
    ) -> Result<AsyncResult<R>, PoolError>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        self.running()?;
        let task = self.exec.submit(f, arg)?;
        if callbacks.is_empty() {
            return Ok(AsyncResult::from_task(task));
        }
        let job = Future::new();
        let completer = job.completer();
        self.dispatcher.when_done(task, move |task| {
            finish(task_outcome(task.into_result()), callbacks, &completer);
        });
        Ok(AsyncResult::from_job(job))
    }

    /// Applies `f` to every item and waits for the list of results, in
    /// input order (Python's `map`). See [`map_async`](Self::map_async).
    ///
    /// # Errors
    ///
    /// As [`map_async`](Self::map_async), and the first failing item's error
    /// in input order.
    pub fn map<A, R, I>(
        &self,
        f: fn(A) -> R,
        items: I,
        chunksize: Option<usize>,
    ) -> Result<Vec<R>, PoolError>
    where
        I: IntoIterator<Item = A>,
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        self.map_async(f, items, chunksize)?.into_result()
    }

    /// Applies `f` to every item in the workers, in chunks; the list of
    /// results comes through the [`AsyncResult`] (Python's `map_async`).
    ///
    /// The result must be `Sync` here (and in `map`, `starmap` and their
    /// `_async` forms): the result handler thread gathers each chunk's
    /// future. [`imap`](Self::imap) and [`apply`](Self::apply) need only
    /// `Send`.
    ///
    /// The input is read into a list first, as in CPython. `chunksize`
    /// `None` is Python's default, `len / (4 * processes)` rounded up. The
    /// job is ready once every chunk has finished, even after a failure; its
    /// error is then the first failing item's, in input order.
    ///
    /// # Errors
    ///
    /// [`PoolError::NotRunning`] after `close` or `terminate`;
    /// [`PoolError::ZeroChunksize`]; [`PoolError::Submit`] when an argument
    /// does not serialize (then no part of the job runs on).
    pub fn map_async<A, R, I>(
        &self,
        f: fn(A) -> R,
        items: I,
        chunksize: Option<usize>,
    ) -> Result<AsyncResult<Vec<R>>, PoolError>
    where
        I: IntoIterator<Item = A>,
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        self.map_async_with(f, items, chunksize, Callbacks::new())
    }

    /// [`map_async`](Self::map_async) with callbacks, which see the whole
    /// list once.
    ///
    /// # Errors
    ///
    /// As [`map_async`](Self::map_async).
    pub fn map_async_with<A, R, I>(
        &self,
        f: fn(A) -> R,
        items: I,
        chunksize: Option<usize>,
        callbacks: Callbacks<Vec<R>>,
    ) -> Result<AsyncResult<Vec<R>>, PoolError>
    where
        I: IntoIterator<Item = A>,
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        self.gather(Function::new(f), items, chunksize, callbacks)
    }

    /// Like [`map`](Self::map) for a two-parameter function, each item a
    /// pair spread into its parameters (Python's `starmap`). For more
    /// parameters, use `map` with a function that takes a tuple.
    ///
    /// # Errors
    ///
    /// As [`map`](Self::map).
    pub fn starmap<A, B, R, I>(
        &self,
        f: fn(A, B) -> R,
        items: I,
        chunksize: Option<usize>,
    ) -> Result<Vec<R>, PoolError>
    where
        I: IntoIterator<Item = (A, B)>,
        A: Serialize + DeserializeOwned,
        B: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        self.starmap_async(f, items, chunksize)?.into_result()
    }

    /// Like [`map_async`](Self::map_async) for a two-parameter function
    /// (Python's `starmap_async`).
    ///
    /// # Errors
    ///
    /// As [`map_async`](Self::map_async).
    pub fn starmap_async<A, B, R, I>(
        &self,
        f: fn(A, B) -> R,
        items: I,
        chunksize: Option<usize>,
    ) -> Result<AsyncResult<Vec<R>>, PoolError>
    where
        I: IntoIterator<Item = (A, B)>,
        A: Serialize + DeserializeOwned,
        B: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        self.starmap_async_with(f, items, chunksize, Callbacks::new())
    }

    /// [`starmap_async`](Self::starmap_async) with callbacks, which see the
    /// whole list once.
    ///
    /// # Errors
    ///
    /// As [`map_async`](Self::map_async).
    pub fn starmap_async_with<A, B, R, I>(
        &self,
        f: fn(A, B) -> R,
        items: I,
        chunksize: Option<usize>,
        callbacks: Callbacks<Vec<R>>,
    ) -> Result<AsyncResult<Vec<R>>, PoolError>
    where
        I: IntoIterator<Item = (A, B)>,
        A: Serialize + DeserializeOwned,
        B: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        self.gather(Function::spread(f), items, chunksize, callbacks)
    }

    fn gather<A, R, I>(
        &self,
        function: Function<A, R>,
        items: I,
        chunksize: Option<usize>,
        callbacks: Callbacks<Vec<R>>,
    ) -> Result<AsyncResult<Vec<R>>, PoolError>
    where
        I: IntoIterator<Item = A>,
        A: Serialize,
        R: DeserializeOwned + Send + Sync + 'static,
    {
        self.running()?;
        let items: Vec<A> = items.into_iter().collect();
        let chunksize = gather::chunksize(chunksize, items.len(), self.processes())?;
        gather::map_async(
            &self.exec,
            &self.dispatcher,
            function,
            &items,
            chunksize,
            callbacks,
        )
    }

    /// Applies `f` to every item lazily, yielding results in input order
    /// (Python's `imap`). Items are sent `chunksize` at a time, and only a
    /// bounded window of chunks is in flight: the input is read as the
    /// results are (CPython reads all of it ahead, gh-84291). A failed item
    /// is yielded as an `Err` at its place and the iteration goes on, as in
    /// CPython; [`Imap::next_timeout`] is Python's `next(timeout)`.
    ///
    /// This call reads no input: the input is read on the calling thread,
    /// by `next`, which reads and sends the next chunks before it waits for
    /// a result. An input that panics yields [`PoolError::Input`] (with
    /// [`InputError::Panicked`](proc_exec::InputError::Panicked)) at its
    /// place, after the results of the items before it, and ends the
    /// iteration; the pool goes on. (CPython reads the input on its task
    /// thread; here an input that blocks holds up `next`, never the call
    /// or the workers.)
    ///
    /// # Errors
    ///
    /// [`PoolError::NotRunning`] after `close` or `terminate`;
    /// [`PoolError::ZeroChunksize`].
    ///
    /// # Examples
    ///
    /// ```
    /// use mp_pool::{Pool, PoolError};
    /// use proc_exec::InputError;
    ///
    /// fn square(n: u64) -> u64 {
    ///     n * n
    /// }
    ///
    /// let pool = Pool::builder().processes(2).build().unwrap();
    /// // An endless input: the call returns at once, results come as read.
    /// let mut squares = pool.imap(square, 0.., 1).unwrap();
    /// assert_eq!(squares.next(), Some(Ok(0)));
    /// assert_eq!(squares.nth(2), Some(Ok(9)));
    /// drop(squares);
    ///
    /// // An input that panics at item 3.
    /// let input = (0..10).map(|n| if n == 3 { panic!("bad input") } else { n });
    /// let mut out = pool.imap(square, input, 1).unwrap();
    /// assert_eq!(out.by_ref().take(3).collect::<Vec<_>>(), [Ok(0), Ok(1), Ok(4)]);
    /// assert!(matches!(
    ///     out.next(),
    ///     Some(Err(PoolError::Input(InputError::Panicked { index: 3, .. })))
    /// ));
    /// assert_eq!(out.next(), None);
    /// assert_eq!(pool.apply(square, 5), Ok(25));
    /// ```
    pub fn imap<A, R, I>(
        &self,
        f: fn(A) -> R,
        items: I,
        chunksize: usize,
    ) -> Result<Imap<I::IntoIter, R>, PoolError>
    where
        I: IntoIterator<Item = A>,
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        let options = self.imap_options(chunksize)?;
        Ok(Imap::new(self.exec.map_with(f, items, options)?))
    }

    /// Like [`imap`](Self::imap), yielding results as they finish (Python's
    /// `imap_unordered`). An input that panics yields [`PoolError::Input`]
    /// once every item read before it was, and ends the iteration.
    ///
    /// # Errors
    ///
    /// As [`imap`](Self::imap).
    pub fn imap_unordered<A, R, I>(
        &self,
        f: fn(A) -> R,
        items: I,
        chunksize: usize,
    ) -> Result<ImapUnordered<I::IntoIter, R>, PoolError>
    where
        I: IntoIterator<Item = A>,
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        let options = self.imap_options(chunksize)?;
        Ok(ImapUnordered::new(
            self.exec.map_unordered(f, items, options)?,
        ))
    }

    /// [`imap`](Self::imap) over an input of `Result`s (lines parsed on the
    /// way, records read from a file): the input's first `Err` is yielded
    /// in its place, after the results of the items before it, as
    /// [`PoolError::Input`] with
    /// [`InputError::Failed`](proc_exec::InputError::Failed) carrying the
    /// error's text, and ends the iteration; nothing after it is read
    /// (Python's `imap` over a generator that raises).
    ///
    /// # Errors
    ///
    /// As [`imap`](Self::imap).
    ///
    /// # Examples
    ///
    /// ```
    /// use mp_pool::{Pool, PoolError};
    /// use proc_exec::InputError;
    ///
    /// fn double(n: u32) -> u32 {
    ///     n * 2
    /// }
    ///
    /// let pool = Pool::builder().processes(2).build().unwrap();
    /// let lines = ["1", "2", "three", "4"];
    /// let out: Vec<_> = pool
    ///     .try_imap(double, lines.iter().map(|l| l.parse::<u32>()), 1)
    ///     .unwrap()
    ///     .collect();
    /// assert_eq!(out[..2], [Ok(2), Ok(4)]);
    /// let Err(PoolError::Input(InputError::Failed { index, message })) = &out[2] else {
    ///     panic!("{out:?}")
    /// };
    /// assert_eq!((*index, message.as_str()), (2, "invalid digit found in string"));
    /// assert_eq!(out.len(), 3);
    /// ```
    pub fn try_imap<A, R, X, I>(
        &self,
        f: fn(A) -> R,
        items: I,
        chunksize: usize,
    ) -> Result<TryImap<I::IntoIter, R>, PoolError>
    where
        I: IntoIterator<Item = Result<A, X>>,
        X: fmt::Display,
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        let options = self.imap_options(chunksize)?;
        Ok(TryImap::new(self.exec.try_map_with(f, items, options)?))
    }

    /// [`imap_unordered`](Self::imap_unordered) over an input of `Result`s,
    /// as [`try_imap`](Self::try_imap): the input's first `Err` is yielded
    /// as [`PoolError::Input`] once every item read before it was, and ends
    /// the iteration.
    ///
    /// # Errors
    ///
    /// As [`imap`](Self::imap).
    pub fn try_imap_unordered<A, R, X, I>(
        &self,
        f: fn(A) -> R,
        items: I,
        chunksize: usize,
    ) -> Result<TryImapUnordered<I::IntoIter, R>, PoolError>
    where
        I: IntoIterator<Item = Result<A, X>>,
        X: fmt::Display,
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        let options = self.imap_options(chunksize)?;
        Ok(TryImapUnordered::new(
            self.exec.try_map_unordered(f, items, options)?,
        ))
    }

    fn imap_options(&self, chunksize: usize) -> Result<proc_exec::MapOptions, PoolError> {
        self.running()?;
        let chunksize = NonZeroUsize::new(chunksize).ok_or(PoolError::ZeroChunksize)?;
        let window = imap_window(self.processes(), chunksize);
        Ok(proc_exec::MapOptions::new()
            .chunksize(chunksize)
            .buffersize(window)
            .keep_going()
            .defer_start())
    }

    /// No new work is accepted; the work already submitted still runs
    /// (Python's `close`). Harmless to call again.
    ///
    /// An [`Imap`] still being read goes on reading its input until
    /// [`join`](Self::join) (its unread input is not yet submitted work).
    pub fn close(&self) {
        let mut state = self.state.lock();
        if *state == State::Run {
            *state = State::Close;
        }
    }

    /// Stops at once (Python's `terminate`): workers get SIGTERM (and
    /// SIGKILL if still alive after [`Builder::terminate_grace`], 1 s by
    /// default), every job not finished (running or queued) fails with
    /// [`PoolError::Terminated`], and this returns once every worker has
    /// been reaped and every job is ready. Harmless to call again. Dropping
    /// the pool does this.
    pub fn terminate(&self) {
        *self.state.lock() = State::Terminate;
        self.exec.terminate_workers();
        self.wind_down();
    }

    /// Waits for every submitted job to finish and every worker to exit
    /// (Python's `join`); call [`close`](Self::close) or
    /// [`terminate`](Self::terminate) first.
    ///
    /// # Errors
    ///
    /// [`StillRunning`] if the pool was neither closed nor terminated.
    pub fn join(&self) -> Result<(), StillRunning> {
        if *self.state.lock() == State::Run {
            return Err(StillRunning);
        }
        self.wind_down();
        Ok(())
    }

    /// Lets the work in hand finish, reaps the workers, then stops the
    /// result handler once it ran every callback.
    fn wind_down(&self) {
        self.exec.shutdown(true, false);
        self.dispatcher.stop();
        let handler = self.handler.lock().take();
        // A pool dropped by one of its own callbacks cannot wait for the
        // thread that runs it; that thread leaves by itself.
        if let Some(handler) = handler.filter(|_| !on_result_handler()) {
            // The handler catches every panic; a join error cannot happen.
            let _ = handler.join();
        }
    }
}

impl Drop for Pool {
    /// `terminate()`, as Python's `with` block does: jobs not finished fail
    /// with [`PoolError::Terminated`]. Call `close` and `join` first to let
    /// them finish.
    fn drop(&mut self) {
        self.terminate();
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("state", &*self.state.lock())
            .field("processes", &self.processes())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_imap_window_holds_four_chunks_or_256_items_per_process() {
        let window = |processes, chunksize| {
            imap_window(processes, NonZeroUsize::new(chunksize).unwrap()).get()
        };
        assert_eq!(window(2, 1), 512);
        assert_eq!(window(2, 100), 8);
        assert_eq!(window(2, 1000), 8);
        assert_eq!(window(4, 10), 103);
    }
}
