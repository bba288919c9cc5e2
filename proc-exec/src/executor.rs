//! `ProcessPoolExecutor` and its builder: the public face of the pool.

use std::fmt;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use future_core::{Completer, Future, State};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Function;
use crate::call;
use crate::chunk::{self, ChunkFuture};
use crate::codec::{self, RaisedDecoder};
use crate::error::{BuildError, SubmitError, TaskError};
use crate::map::{Map, MapOptions, MapUnordered};
use crate::map_input::Fallible;
use crate::os::limits::WorkerLimits;
use crate::pool_state::{Failure, Limits, OnWorkerDeath, Signal};
use crate::shared::{self, Config, Pending, Shared};
use crate::start::Prepared;
use crate::sync::{JoinHandle, Mutex, is_current, next_pool_number, spawn};
use crate::wire::{self, CallRef, FrameWriter, Kind, Outcomes};
use crate::{ExitStatus, StartMethod};

/// Items sent ahead to one worker by default: one running, three waiting in
/// its pipe, so it never idles for a round trip between two items and the
/// manager's reads and writes are shared by several items. Measured with
/// `bench procs` (100k tiny tasks, 2 workers): 1 in flight 6.2 us/task, 2:
/// 3.5, 4: 2.3, 16: 1.9.
const DEFAULT_MAX_IN_FLIGHT: usize = 4;

/// Items sent ahead by default to a worker whose recent items each took
/// less than the manager's `QUICK_ITEM`: with tiny tasks the worker then
/// rarely drains its pipe, so a write to it seldom has to wake it, and most
/// of the cost per task (wake-ups of the worker and of the manager) is
/// shared by many items. Items waiting behind a quick one wait little.
const DEFAULT_QUICK_IN_FLIGHT: usize = 32;

/// How long a worker told to stop with SIGTERM has before SIGKILL, by
/// default: ample for a worker that only needs to die, short enough that a
/// worker ignoring SIGTERM holds nothing up for long.
pub const DEFAULT_TERMINATE_GRACE: Duration = Duration::from_secs(1);

/// Python's `concurrent.futures.ProcessPoolExecutor`: runs `fn(A) -> R` in
/// forked worker processes and hands back [`Future`]s.
///
/// See the [crate docs](crate) for an example, the start methods, and how a
/// dead worker is reported.
pub struct ProcessPoolExecutor {
    shared: Arc<Shared>,
    manager: Mutex<Option<JoinHandle<()>>>,
}

/// Configures a [`ProcessPoolExecutor`]; from [`ProcessPoolExecutor::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct Builder {
    max_workers: Option<usize>,
    start_method: StartMethod,
    max_tasks_per_child: Option<usize>,
    max_frame_size: u32,
    /// `None`: the default, adaptive window.
    max_in_flight: Option<usize>,
    on_death: OnWorkerDeath,
    worker_limits: WorkerLimits,
    init: Option<Result<Vec<u8>, String>>,
    terminate_grace: Duration,
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            max_workers: None,
            start_method: StartMethod::default(),
            max_tasks_per_child: None,
            max_frame_size: wire::DEFAULT_MAX_FRAME_SIZE,
            max_in_flight: None,
            on_death: OnWorkerDeath::default(),
            worker_limits: WorkerLimits::default(),
            init: None,
            terminate_grace: DEFAULT_TERMINATE_GRACE,
        }
    }
}

impl Builder {
    /// Live worker processes at most (default: the available parallelism).
    /// Zero is refused by [`build`](Self::build).
    pub fn max_workers(mut self, n: usize) -> Self {
        self.max_workers = Some(n);
        self
    }

    /// How workers are started (default: [`StartMethod::ForkServer`]).
    pub fn start_method(mut self, method: StartMethod) -> Self {
        self.start_method = method;
        self
    }

    /// A worker exits after running `n` items and a new one replaces it
    /// (zero is refused by [`build`](Self::build)). Unlike CPython this works
    /// with every start method.
    pub fn max_tasks_per_child(mut self, n: usize) -> Self {
        self.max_tasks_per_child = Some(n);
        self
    }

    /// The largest frame either side sends (default
    /// [`DEFAULT_MAX_FRAME_SIZE`](wire::DEFAULT_MAX_FRAME_SIZE), 64 MiB): an
    /// argument above it is refused by `submit`, a result above it fails its
    /// future with [`TaskError::ResultTooLarge`].
    pub fn max_frame_size(mut self, bytes: u32) -> Self {
        self.max_frame_size = bytes.max(1024);
        self
    }

    /// Items sent ahead to one worker, fixed. By default the window adapts:
    /// 4 (one running, three waiting in its pipe), and up to 32 while the
    /// worker's recent items each took under 0.1 ms. Sent items are RUNNING
    /// and can no longer be cancelled, as the items in CPython's call queue
    /// (`max_workers + 1` of them); more hides more latency for tiny tasks,
    /// fewer keeps items from waiting behind a slow one while another
    /// worker is free.
    pub fn max_in_flight_per_worker(mut self, n: NonZeroUsize) -> Self {
        self.max_in_flight = Some(n.get());
        self
    }

    /// What a worker that dies unexpectedly does to the pool (default
    /// [`OnWorkerDeath::BreakPool`], CPython's behaviour). With
    /// [`OnWorkerDeath::Replace`] only its task fails and the pool goes on.
    pub fn on_worker_death(mut self, policy: OnWorkerDeath) -> Self {
        self.on_death = policy;
        self
    }

    /// Limits each worker's address space to `bytes` (`RLIMIT_AS`, set
    /// before the worker runs anything). An allocation beyond it fails, which
    /// aborts a Rust task (SIGABRT): the worker dies and the
    /// [`OnWorkerDeath`] policy applies (with `Replace`, that task fails with
    /// [`TaskError::Died`] and the pool goes on).
    ///
    /// The limit counts all the worker's mappings, code and stacks included:
    /// a [`StartMethod::Fork`] worker inherits the parent's, so leave room
    /// for them (a [`StartMethod::ForkServer`] worker starts small).
    pub fn memory_limit(mut self, bytes: u64) -> Self {
        self.worker_limits.address_space = Some(bytes);
        self
    }

    /// Sets each worker's nice value (`setpriority`) before it runs anything:
    /// 0 to 19 lower its priority; below the parent's own needs
    /// `CAP_SYS_NICE` (without it every spawn fails and the pool breaks,
    /// saying why).
    pub fn niceness(mut self, nice: i32) -> Self {
        self.worker_limits.nice = Some(nice);
        self
    }

    /// How long a worker sent SIGTERM (by
    /// [`terminate_workers`](ProcessPoolExecutor::terminate_workers), or
    /// because the pool broke) has to exit before the pool sends it SIGKILL
    /// (default [`DEFAULT_TERMINATE_GRACE`], 1 s). A worker that ignores,
    /// handles or blocks SIGTERM therefore never keeps `shutdown(wait)` or
    /// `Drop` waiting longer than this.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use proc_exec::ProcessPoolExecutor;
    ///
    /// let pool = ProcessPoolExecutor::builder()
    ///     .terminate_grace(Duration::from_millis(200))
    ///     .build()
    ///     .unwrap();
    /// # drop(pool);
    /// ```
    pub fn terminate_grace(mut self, grace: Duration) -> Self {
        self.terminate_grace = grace;
        self
    }

    /// Runs `f(arg)` in every worker before its first task. A panic breaks
    /// the pool, as in CPython: pending futures fail with
    /// [`BrokenProcessPool`](crate::BrokenProcessPool) carrying the panic message.
    pub fn initializer<A>(self, f: fn(A), arg: A) -> Self
    where
        A: Serialize + DeserializeOwned,
    {
        self.init_call(call::initializer(f), &arg)
    }

    /// Like [`initializer`](Self::initializer), for an initializer that can
    /// fail: an `Err` breaks the pool and its text is the cause.
    pub fn try_initializer<A, E>(self, f: fn(A) -> Result<(), E>, arg: A) -> Self
    where
        A: Serialize + DeserializeOwned,
        E: fmt::Display,
    {
        self.init_call(call::try_initializer(f), &arg)
    }

    fn init_call<A: Serialize>(mut self, call: CallRef, arg: &A) -> Self {
        self.init =
            Some(encode_call_frame(Kind::Init, call, arg, u32::MAX).map_err(|e| e.to_string()));
        self
    }

    /// Starts the manager thread (and, with [`StartMethod::ForkServer`], the
    /// fork server). Workers start when work arrives.
    ///
    /// # Errors
    ///
    /// [`BuildError`] for a zero `max_workers` or `max_tasks_per_child`, an
    /// initializer argument that does not serialize, a thread or eventfd
    /// that cannot be created, or a kernel older than
    /// [`MIN_LINUX`](crate::MIN_LINUX) ([`BuildError::Kernel`]).
    pub fn build(self) -> Result<ProcessPoolExecutor, BuildError> {
        // Here, on the caller's thread: a worker must not install it itself.
        crate::panic::install_worker_hook();
        let max_workers = match self.max_workers {
            Some(n) => NonZeroUsize::new(n).ok_or(BuildError::ZeroWorkers)?,
            None => std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN),
        };
        let max_tasks_per_child = match self.max_tasks_per_child {
            Some(n) => Some(NonZeroUsize::new(n).ok_or(BuildError::ZeroTasksPerChild)?),
            None => None,
        };
        let init_frame = self.init.transpose().map_err(BuildError::InitArgEncode)?;
        let config = Config {
            limits: Limits {
                max_workers,
                max_tasks_per_child,
                max_in_flight: NonZeroUsize::new(
                    self.max_in_flight.unwrap_or(DEFAULT_QUICK_IN_FLIGHT),
                )
                .unwrap_or(NonZeroUsize::MIN),
                slow_in_flight: NonZeroUsize::new(
                    self.max_in_flight.unwrap_or(DEFAULT_MAX_IN_FLIGHT),
                )
                .unwrap_or(NonZeroUsize::MIN),
                on_death: self.on_death,
            },
            max_frame_size: self.max_frame_size,
            start_method: self.start_method,
            init_frame,
            worker_limits: self.worker_limits,
            terminate_grace: self.terminate_grace,
        };
        crate::os::kernel::check().map_err(BuildError::Kernel)?;
        let prepared = Prepared::new(self.start_method).map_err(BuildError::StartMethod)?;
        let shared = Arc::new(Shared::new(config).map_err(BuildError::Io)?);
        let for_manager = shared.clone();
        let name = format!("proc-exec-manager-{}", next_pool_number());
        let (started, launched) = std::sync::mpsc::sync_channel(1);
        let manager = spawn(name, move || {
            shared::run_manager(for_manager, prepared, started)
        })
        .map_err(BuildError::Io)?;
        let pool = ProcessPoolExecutor {
            shared,
            manager: Mutex::new(Some(manager)),
        };
        // The manager answers once its start method runs (the fork server
        // started) or failed; it drops the sender if it dies first. Under
        // loom there is no process to wait for, and blocking a model thread
        // on a std channel would stall the model.
        #[cfg(not(exec_loom))]
        match launched.recv() {
            Ok(Ok(())) => {}
            // Dropping the pool shuts its manager down.
            Ok(Err(error)) => return Err(BuildError::StartMethod(error)),
            Err(_) => {
                return Err(BuildError::Io(std::io::Error::other(
                    "the pool's manager thread ended before the pool started",
                )));
            }
        }
        #[cfg(exec_loom)]
        drop(launched);
        Ok(pool)
    }
}

/// Builds a `Run` or `Init` frame for one argument (work id 0; the manager
/// writes the real one when it sends the frame).
pub(crate) fn encode_call_frame<A: Serialize>(
    kind: Kind,
    call: CallRef,
    arg: &A,
    max: u32,
) -> Result<Vec<u8>, SubmitError> {
    encode_chunk_frame(kind, call, std::slice::from_ref(arg), max)
}

/// Builds a `Run` frame for a chunk of arguments (see [`encode_call_frame`]).
pub(crate) fn encode_chunk_frame<A: Serialize>(
    kind: Kind,
    call: CallRef,
    args: &[A],
    max: u32,
) -> Result<Vec<u8>, SubmitError> {
    // Room for a small task's whole frame: no regrowth on the way.
    let mut frame = Vec::with_capacity(64);
    let mut writer = FrameWriter::begin(&mut frame, kind, 0);
    wire::encode_call(writer.body(), call).map_err(|e| SubmitError::ArgEncode(e.to_string()))?;
    call::encode_args(args, writer.body()).map_err(|e| SubmitError::ArgEncode(e.to_string()))?;
    writer.finish(max).map_err(|error| match error {
        wire::EncodeError::FrameTooLarge { len, max } => SubmitError::ArgTooLarge {
            len,
            max: max as usize,
        },
        other => SubmitError::ArgEncode(other.to_string()),
    })?;
    Ok(frame)
}

/// An encoded `Run` frame and the shared buffers its body names, whose
/// descriptors are sent beside it (their count is in its header).
pub(crate) struct RunFrame {
    pub(crate) bytes: Vec<u8>,
    pub(crate) shared: Vec<crate::SharedBytes>,
}

impl std::ops::Deref for RunFrame {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

/// Builds a pool's `Run` frame (see [`encode_chunk_frame`]), with each
/// large [`SharedBytes`](crate::SharedBytes) in `args` named by index and
/// sent as a descriptor.
pub(crate) fn encode_run_frame<A: Serialize>(
    call: CallRef,
    args: &[A],
    max: u32,
) -> Result<RunFrame, SubmitError> {
    let (bytes, shared) =
        crate::shared_bytes::encoding(|| encode_chunk_frame(Kind::Run, call, args, max));
    let mut bytes = bytes?;
    // At most `shm::MAX_FDS` (64): `SharedBytes` encodes inline past it.
    wire::set_shared(&mut bytes, shared.len() as u8);
    Ok(RunFrame { bytes, shared })
}

impl ProcessPoolExecutor {
    /// A pool with the default configuration (see [`Builder`]).
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

    /// Runs `f(arg)` in a worker. `f` is a plain function (a closure that
    /// captures nothing coerces to one); the argument and result cross as
    /// postcard. A panic in `f` fails the future with
    /// [`TaskError::Panicked`]; the worker survives.
    ///
    /// Postcard is not self-describing: the reader follows the type, not the
    /// bytes. Types whose serde implementation needs to look at the data
    /// (`serde_json::Value`, fields with `skip_serializing_if` or `flatten`,
    /// untagged or internally tagged enums) serialize in the parent but fail
    /// in the worker as [`TaskError::ArgDecode`] (or, for a result, in the
    /// parent as [`TaskError::ResultDecode`]), or decode into a wrong value.
    /// Wrap such values in `Json<T>` (feature `json`), which crosses as JSON
    /// text; large byte buffers go faster as [`Bytes`](crate::Bytes).
    ///
    /// # Errors
    ///
    /// [`SubmitError`] after `shutdown`, once the pool is broken, or when the
    /// argument does not serialize or exceeds the maximum frame size. Nothing
    /// is queued then.
    pub fn submit<A, R>(&self, f: fn(A) -> R, arg: A) -> Result<Future<R, TaskError>, SubmitError>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.submit_with(f, arg, TaskOptions::new())
    }

    /// [`submit`](Self::submit) with [`TaskOptions`]: a timeout after which
    /// the task's worker is killed.
    ///
    /// # Errors
    ///
    /// As [`submit`](Self::submit).
    pub fn submit_with<A, R>(
        &self,
        f: fn(A) -> R,
        arg: A,
        options: TaskOptions,
    ) -> Result<Future<R, TaskError>, SubmitError>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.submit_function(Function::new(f), arg, options)
    }

    /// Like [`submit`](Self::submit) for a function that returns `Result`:
    /// its `Err(e)` crosses back too and fails the future with
    /// [`TaskError::Raised`]`(e)`.
    ///
    /// # Errors
    ///
    /// As [`submit`](Self::submit).
    pub fn submit_fallible<A, R, E>(
        &self,
        f: fn(A) -> Result<R, E>,
        arg: A,
    ) -> Result<Future<R, TaskError<E>>, SubmitError>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
        E: Serialize + DeserializeOwned + Send + 'static,
    {
        self.submit_fallible_with(f, arg, TaskOptions::new())
    }

    /// [`submit_fallible`](Self::submit_fallible) with [`TaskOptions`].
    ///
    /// # Errors
    ///
    /// As [`submit`](Self::submit).
    pub fn submit_fallible_with<A, R, E>(
        &self,
        f: fn(A) -> Result<R, E>,
        arg: A,
        options: TaskOptions,
    ) -> Result<Future<R, TaskError<E>>, SubmitError>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
        E: Serialize + DeserializeOwned + Send + 'static,
    {
        self.submit_function(Function::fallible(f), arg, options)
    }

    /// Runs a [`Function`] on `arg` in a worker: what the other `submit`
    /// methods do, for a `Function` made by hand (such as
    /// [`Function::spread`]).
    ///
    /// # Errors
    ///
    /// As [`submit`](Self::submit).
    pub fn submit_function<A, R, E>(
        &self,
        function: Function<A, R, E>,
        arg: A,
        options: TaskOptions,
    ) -> Result<Future<R, TaskError<E>>, SubmitError>
    where
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
        E: Send + 'static,
    {
        let max = self.shared.config.max_frame_size;
        let frame = encode_run_frame(function.call, std::slice::from_ref(&arg), max)?;
        let future = Future::new();
        let task = Task::<R, E> {
            completer: future.completer(),
            raised: function.raised,
            timeout: options.timeout,
        };
        self.shared.submit(frame, Box::new(task))?;
        Ok(future)
    }

    /// Runs `function` on every argument of `args` in one worker, sent as
    /// one frame and answered as one: the building block of `map`, for
    /// callers that group and gather themselves. The future holds one result
    /// per argument, in order (a failing item fails alone), or the error
    /// that lost the whole chunk (its worker died, the pool broke). The
    /// chunk counts as one task for
    /// [`max_tasks_per_child`](Builder::max_tasks_per_child).
    ///
    /// # Errors
    ///
    /// As [`submit`](Self::submit); the frame limit applies to the whole
    /// chunk.
    ///
    /// # Examples
    ///
    /// ```
    /// use proc_exec::{Function, ProcessPoolExecutor, TaskError};
    ///
    /// fn halve(n: u32) -> u32 {
    ///     assert!(n % 2 == 0, "odd");
    ///     n / 2
    /// }
    ///
    /// let pool = ProcessPoolExecutor::builder().max_workers(1).build().unwrap();
    /// let chunk = pool.submit_chunk(Function::new(halve), &[4, 5, 6]).unwrap();
    /// let items: Vec<_> = chunk.into_result().unwrap().collect();
    /// assert_eq!(items[0], Ok(2));
    /// assert!(matches!(&items[1], Err(TaskError::Panicked(m)) if m.contains("odd")));
    /// assert_eq!(items[2], Ok(3));
    /// ```
    #[must_use = "the chunk runs anyway, but its results are only in the returned future"]
    pub fn submit_chunk<A, R, E>(
        &self,
        function: Function<A, R, E>,
        args: &[A],
    ) -> Result<ChunkFuture<R, E>, SubmitError>
    where
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
        E: Send + 'static,
    {
        chunk::submit_chunk(&self.shared, function, args, None).map(|(chunk, _)| chunk)
    }

    /// Applies `f` to every item in the workers, yielding results in input
    /// order. With the default [`MapOptions`], the items go in chunks whose
    /// size adapts to how long an item takes, at most four chunks per
    /// worker in flight, the input read as results are taken (CPython
    /// sends every item at once, one per chunk: see [`MapOptions::new`] for
    /// why not); see [`map_with`](Self::map_with) for a fixed chunksize, a
    /// timeout and another window, and [`Map`] for how an error ends the
    /// iteration and what dropping it does.
    ///
    /// # Errors
    ///
    /// Refused like [`submit`](Self::submit); nothing of the map keeps
    /// running then.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use proc_exec::{MapOptions, ProcessPoolExecutor};
    ///
    /// fn cube(n: u64) -> u64 {
    ///     n * n * n
    /// }
    ///
    /// let pool = ProcessPoolExecutor::builder().max_workers(2).build().unwrap();
    /// let sum: u64 = pool.map(cube, 0..1000u64).unwrap().map(Result::unwrap).sum();
    /// assert_eq!(sum, (0..1000u64).map(cube).sum::<u64>());
    ///
    /// // Chunks of 100 items, all sent inside the call (CPython's way).
    /// let options = MapOptions::new()
    ///     .chunksize(NonZeroUsize::new(100).unwrap())
    ///     .buffersize(NonZeroUsize::MAX);
    /// let sum: u64 = pool
    ///     .map_with(cube, 0..1000u64, options)
    ///     .unwrap()
    ///     .map(Result::unwrap)
    ///     .sum();
    /// assert_eq!(sum, (0..1000u64).map(cube).sum::<u64>());
    ///
    /// // Only for its side effects: read it to the end (dropping it would
    /// // cancel what was not sent yet).
    /// pool.map(cube, 0..10u64).unwrap().try_for_each(|r| r.map(drop)).unwrap();
    /// ```
    pub fn map<A, R, I>(&self, f: fn(A) -> R, items: I) -> Result<Map<I::IntoIter, R>, SubmitError>
    where
        I: IntoIterator<Item = A>,
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.map_with(f, items, MapOptions::new())
    }

    /// [`map`](Self::map) with [`MapOptions`]: a fixed `chunksize`, one
    /// `timeout` for the whole iteration, and a `buffersize` bounding the
    /// chunks in flight.
    ///
    /// # Errors
    ///
    /// As [`map`](Self::map).
    pub fn map_with<A, R, I>(
        &self,
        f: fn(A) -> R,
        items: I,
        options: MapOptions,
    ) -> Result<Map<I::IntoIter, R>, SubmitError>
    where
        I: IntoIterator<Item = A>,
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        let shared = Arc::clone(&self.shared);
        Map::start(shared, Function::new(f), items.into_iter(), options)
    }

    /// Like [`map_with`](Self::map_with), yielding results as chunks finish
    /// rather than in input order (Python's `Pool.imap_unordered`), so one
    /// slow item does not hold back the others.
    ///
    /// # Errors
    ///
    /// As [`map`](Self::map).
    pub fn map_unordered<A, R, I>(
        &self,
        f: fn(A) -> R,
        items: I,
        options: MapOptions,
    ) -> Result<MapUnordered<I::IntoIter, R>, SubmitError>
    where
        I: IntoIterator<Item = A>,
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        let shared = Arc::clone(&self.shared);
        MapUnordered::start(shared, Function::new(f), items.into_iter(), options)
    }

    /// [`map_with`](Self::map_with) over an input of `Result`s: the first
    /// `Err` ends the input there and is yielded in its place, after the
    /// results of the items before it, as [`MapError::Input`] carrying
    /// [`InputError::Failed`] with the error's text (Python's `imap` over a
    /// generator that raises). Nothing after it is read.
    ///
    /// A panicking input of any map is handled alike, as
    /// [`InputError::Panicked`].
    ///
    /// # Errors
    ///
    /// As [`map`](Self::map).
    ///
    /// # Examples
    ///
    /// ```
    /// use proc_exec::{InputError, MapError, MapOptions, ProcessPoolExecutor};
    ///
    /// fn double(n: u32) -> u32 {
    ///     n * 2
    /// }
    ///
    /// let pool = ProcessPoolExecutor::builder().max_workers(1).build().unwrap();
    /// let lines = ["1", "2", "x", "4"];
    /// let input = lines.iter().map(|line| line.parse::<u32>());
    /// let out: Vec<_> = pool.try_map_with(double, input, MapOptions::new()).unwrap().collect();
    /// assert_eq!(out[..2], [Ok(2), Ok(4)]);
    /// match &out[2] {
    ///     Err(MapError::Input(InputError::Failed { index: 2, message })) => {
    ///         assert_eq!(message, "invalid digit found in string")
    ///     }
    ///     other => panic!("{other:?}"),
    /// }
    /// assert_eq!(out.len(), 3);
    /// ```
    ///
    /// [`MapError::Input`]: crate::MapError::Input
    /// [`InputError::Failed`]: crate::InputError::Failed
    /// [`InputError::Panicked`]: crate::InputError::Panicked
    pub fn try_map_with<A, R, X, I>(
        &self,
        f: fn(A) -> R,
        items: I,
        options: MapOptions,
    ) -> Result<Map<Fallible<I::IntoIter>, R>, SubmitError>
    where
        I: IntoIterator<Item = Result<A, X>>,
        X: fmt::Display,
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        let shared = Arc::clone(&self.shared);
        let input = Fallible::new(items.into_iter());
        Map::start(shared, Function::new(f), input, options)
    }

    /// [`map_unordered`](Self::map_unordered) over an input of `Result`s,
    /// as [`try_map_with`](Self::try_map_with): the input's first `Err` is
    /// yielded once every item read before it was.
    ///
    /// # Errors
    ///
    /// As [`map`](Self::map).
    pub fn try_map_unordered<A, R, X, I>(
        &self,
        f: fn(A) -> R,
        items: I,
        options: MapOptions,
    ) -> Result<MapUnordered<Fallible<I::IntoIter>, R>, SubmitError>
    where
        I: IntoIterator<Item = Result<A, X>>,
        X: fmt::Display,
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        let shared = Arc::clone(&self.shared);
        let input = Fallible::new(items.into_iter());
        MapUnordered::start(shared, Function::new(f), input, options)
    }

    /// Python's `shutdown(wait, cancel_futures)`: later submits are refused;
    /// with `cancel_futures`, every item not yet sent to a worker is
    /// cancelled (and its waiters wake); queued work otherwise still runs.
    /// With `wait`, returns once every worker has exited and been reaped;
    /// called from a done callback (which runs on the pool's manager
    /// thread) it cannot wait for that thread, and returns at once: the
    /// manager finishes the work in hand and reaps the workers by itself.
    /// Calling it again is harmless.
    pub fn shutdown(&self, wait: bool, cancel_futures: bool) {
        self.shared.shutdown(cancel_futures);
        if wait {
            self.join_manager();
        }
    }

    /// Python 3.14's `terminate_workers()`: `shutdown(wait=false,
    /// cancel_futures=true)`, then SIGTERM to every live worker, sent from
    /// this thread before this returns (a worker still being started gets it
    /// as soon as it runs). Items that were running fail with
    /// [`BrokenProcessPool`](crate::BrokenProcessPool). Does not wait; a
    /// worker still alive after the grace period
    /// ([`Builder::terminate_grace`], 1 s by default) is sent SIGKILL.
    pub fn terminate_workers(&self) {
        self.shared.terminate(Signal::Terminate);
    }

    /// Python 3.14's `kill_workers()`: as
    /// [`terminate_workers`](Self::terminate_workers) with SIGKILL.
    pub fn kill_workers(&self) {
        self.shared.terminate(Signal::Kill);
    }

    /// Stops a task that is already running, which [`Future::cancel`](future_core::FutureCell::cancel) cannot
    /// do (it returns false for a RUNNING future, as in Python): the worker
    /// running it is killed with SIGKILL, the future fails with
    /// [`TaskError::Stopped`], and a new worker replaces the killed one
    /// (whatever the [`OnWorkerDeath`] policy; tasks queued behind it on
    /// that worker go to another). A future still PENDING is simply
    /// cancelled. Returns false if the future is done, or is not one of this
    /// pool's.
    ///
    /// A task sent to a worker but still waiting behind another in its pipe
    /// is stopped when its turn comes (before it runs).
    pub fn cancel_running<R, E>(&self, future: &Future<R, TaskError<E>>) -> bool {
        if future.cancel() {
            return true;
        }
        future.state() == State::Running && self.shared.cancel_running(future.identity())
    }

    /// The most worker processes this pool runs at once.
    pub fn max_workers(&self) -> usize {
        self.shared.config.limits.max_workers.get()
    }

    /// Worker processes alive now (started and not yet reaped).
    pub fn live_workers(&self) -> usize {
        self.shared.live_workers()
    }

    /// The pids of the worker processes alive now, oldest first (a worker
    /// being started has no pid yet and is not listed). A snapshot: a worker
    /// may exit, or be replaced, right after.
    pub fn worker_pids(&self) -> Vec<u32> {
        self.shared.worker_pids()
    }

    fn join_manager(&self) {
        let mut manager = self.manager.lock();
        // A done callback runs on the manager thread: there, waiting for the
        // manager would wait for itself (std panics on it). The handle is
        // left for a `shutdown(wait)` from another thread to join; dropped
        // unjoined, the manager finishes the work in hand and ends alone.
        if manager.as_ref().is_some_and(is_current) {
            return;
        }
        let handle = manager.take();
        drop(manager);
        if let Some(handle) = handle {
            // The manager does not panic on its own; if it did, there is
            // nothing more to clean up here.
            let _ = handle.join();
        }
    }
}

impl Drop for ProcessPoolExecutor {
    /// `shutdown(wait = true)`, as Python's `with` block does: queued work
    /// finishes first. Dropped by a done callback, it does not wait (see
    /// [`shutdown`](Self::shutdown)).
    fn drop(&mut self) {
        self.shutdown(true, false);
    }
}

impl fmt::Debug for ProcessPoolExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessPoolExecutor")
            .field("max_workers", &self.max_workers())
            .field("start_method", &self.shared.config.start_method)
            .finish_non_exhaustive()
    }
}

/// How one task is run; for [`ProcessPoolExecutor::submit_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[must_use = "options do nothing until passed to `submit_with`"]
pub struct TaskOptions {
    timeout: Option<Duration>,
}

impl TaskOptions {
    /// No timeout.
    pub fn new() -> Self {
        Self::default()
    }

    /// Kill the worker if the task runs longer than `timeout`: the future
    /// fails with [`TaskError::TimedOut`] and a new worker replaces the
    /// killed one (whatever the [`OnWorkerDeath`] policy). The time counts
    /// from when the task reaches the front of its worker (the worker starts
    /// it then), not from the submit; the manager thread measures it, so a
    /// kill comes at most a few milliseconds late.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

/// One submitted item's future.
struct Task<R, E> {
    completer: Completer<R, TaskError<E>>,
    raised: RaisedDecoder<E>,
    timeout: Option<Duration>,
}

impl<R, E> Pending for Task<R, E>
where
    R: DeserializeOwned + Send + 'static,
    E: Send + 'static,
{
    fn start(&self) -> bool {
        start(&self.completer)
    }

    fn identity(&self) -> *const () {
        self.completer.identity()
    }

    fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    fn items(&self) -> usize {
        1
    }

    fn complete(self: Box<Self>, outcomes: Outcomes<'_>) {
        // A future completed otherwise meanwhile keeps its outcome.
        match codec::decode_single::<R, E>(outcomes, self.raised) {
            Ok(value) => drop(self.completer.set_result(value)),
            Err(error) => drop(self.completer.set_exception(error)),
        }
    }

    fn fail(self: Box<Self>, failure: Failure<ExitStatus>) {
        let error = TaskError::from_failure(failure, self.timeout);
        drop(self.completer.set_exception(error));
    }

    fn cancel(self: Box<Self>) {
        self.completer.cancel();
    }
}

/// Marks a future running before its item is sent: false if it was
/// cancelled; true if it is running already (its item is being sent again
/// after its first worker died before starting it).
pub(crate) fn start<T, E>(completer: &Completer<T, E>) -> bool {
    match completer.set_running_or_notify_cancel() {
        Ok(running) => running,
        Err(_) => completer.state() == State::Running,
    }
}
