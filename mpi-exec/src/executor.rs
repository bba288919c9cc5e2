//! [`MpiExecutor`]: rank 0's handle on the workers.

use std::convert::Infallible;
use std::fmt;

use future_core::{Completer, Future};
use proc_exec::{Function, SubmitError, TaskError, remote};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::manager::{Command, Job};
use crate::map::{Map, MapOptions};
use crate::sync::{AtomicBool, AtomicU64, Ordering, Sender, channel};

/// Python's `MPIPoolExecutor` on rank 0: tasks run on the other ranks.
/// Made by [`run`](crate::run), which shuts it down when its closure
/// returns.
pub struct MpiExecutor {
    commands: Sender<Command>,
    workers: usize,
    max_frame_size: u32,
    max_in_flight: usize,
    next_id: AtomicU64,
    shut: AtomicBool,
}

impl fmt::Debug for MpiExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MpiExecutor")
            .field("workers", &self.workers)
            .finish_non_exhaustive()
    }
}

impl MpiExecutor {
    pub(crate) fn new(commands: Sender<Command>, workers: usize, options: &crate::Options) -> Self {
        Self {
            commands,
            workers,
            max_frame_size: options.max_frame_size,
            max_in_flight: options.max_in_flight.max(1),
            next_id: AtomicU64::new(1),
            shut: AtomicBool::new(false),
        }
    }

    /// How many worker ranks there are (the job's size less one).
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Runs `f(arg)` on a worker rank. A panic in `f` is the future's
    /// [`TaskError::Panicked`]; the worker goes on.
    pub fn submit<A, R>(
        &self,
        f: fn(A) -> R,
        arg: A,
    ) -> Result<Future<R, TaskError<Infallible>>, SubmitError>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.submit_function(Function::new(f), arg)
    }

    /// Runs `f(arg)`; its `Err(e)` is the future's [`TaskError::Raised`].
    pub fn submit_fallible<A, R, E>(
        &self,
        f: fn(A) -> Result<R, E>,
        arg: A,
    ) -> Result<Future<R, TaskError<E>>, SubmitError>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
        E: Serialize + DeserializeOwned + Send + 'static,
    {
        self.submit_function(Function::fallible(f), arg)
    }

    /// Runs a [`Function`] (a plain, fallible or spread one) with `arg`.
    pub fn submit_function<A, R, E>(
        &self,
        function: Function<A, R, E>,
        arg: A,
    ) -> Result<Future<R, TaskError<E>>, SubmitError>
    where
        A: Serialize + 'static,
        R: DeserializeOwned + Send + 'static,
        E: Send + 'static,
    {
        let future = Future::new();
        let job = Single {
            function,
            completer: future.completer(),
            max_frame_size: self.max_frame_size,
        };
        self.send(function, std::slice::from_ref(&arg), Box::new(job))?;
        Ok(future)
    }

    /// Python's `map`: `f` over `items` in chunks, results in input order,
    /// at most [`MapOptions::window`] chunks queued or running at a time.
    pub fn map<A, R, I>(
        &self,
        f: fn(A) -> R,
        items: I,
        options: MapOptions,
    ) -> Map<'_, A, R, Infallible, I::IntoIter>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
        I: IntoIterator<Item = A>,
    {
        Map::new(self, Function::new(f), items.into_iter(), options, true)
    }

    /// As [`map`](Self::map), results in the order they finish.
    pub fn map_unordered<A, R, I>(
        &self,
        f: fn(A) -> R,
        items: I,
        options: MapOptions,
    ) -> Map<'_, A, R, Infallible, I::IntoIter>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
        I: IntoIterator<Item = A>,
    {
        Map::new(self, Function::new(f), items.into_iter(), options, false)
    }

    /// As [`map`](Self::map) with any [`Function`]; `ordered` false gives
    /// [`map_unordered`](Self::map_unordered)'s order.
    pub fn map_function<A, R, E, I>(
        &self,
        function: Function<A, R, E>,
        items: I,
        options: MapOptions,
        ordered: bool,
    ) -> Map<'_, A, R, E, I::IntoIter>
    where
        A: Serialize + 'static,
        R: DeserializeOwned + Send + 'static,
        E: Send + 'static,
        I: IntoIterator<Item = A>,
    {
        Map::new(self, function, items.into_iter(), options, ordered)
    }

    /// No new work from now on ([`SubmitError::Shutdown`]); with `wait`,
    /// returns once everything submitted has finished (its futures are
    /// done). The workers are released when [`run`](crate::run)'s closure
    /// returns.
    pub fn shutdown(&self, wait: bool) {
        // ORDERING: a flag only; the channel orders the commands themselves.
        self.shut.store(true, Ordering::Relaxed);
        if wait {
            let (done, drained) = channel();
            if self.commands.send(Command::Drain(done)).is_ok() {
                let _ = drained.recv();
            }
        }
    }

    pub(crate) fn default_window(&self) -> usize {
        (2 * self.workers * self.max_in_flight).max(2)
    }

    pub(crate) fn max_frame_size(&self) -> u32 {
        self.max_frame_size
    }

    /// Encodes a `Run` frame for `args` and queues it with its job.
    pub(crate) fn send<A: Serialize, R, E>(
        &self,
        function: Function<A, R, E>,
        args: &[A],
        job: Box<dyn Job>,
    ) -> Result<(), SubmitError> {
        // ORDERING: a flag only (see `shutdown`).
        if self.shut.load(Ordering::Relaxed) {
            return Err(SubmitError::Shutdown);
        }
        // ORDERING: ids need only be distinct.
        let work_id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let frame = remote::encode_run(function, args, work_id, self.max_frame_size)?;
        self.commands
            .send(Command::Run {
                work_id,
                frame,
                job,
            })
            .map_err(|_| SubmitError::Shutdown)
    }

    pub(crate) fn exit(&self) {
        let _ = self.commands.send(Command::Exit);
    }
}

/// A single task's answer: its future's outcome.
struct Single<A, R, E> {
    function: Function<A, R, E>,
    completer: Completer<R, TaskError<E>>,
    max_frame_size: u32,
}

impl<A, R, E> Job for Single<A, R, E>
where
    R: DeserializeOwned + Send + 'static,
    E: Send + 'static,
{
    fn start(&mut self) -> bool {
        self.completer.set_running_or_notify_cancel() == Ok(true)
    }

    fn lost(self: Box<Self>, rank: u32, reason: &str) {
        // A job is answered once: by `done` or here.
        let _ = self.completer.set_exception(TaskError::RankLost {
            rank,
            reason: reason.to_owned(),
        });
    }

    fn done(self: Box<Self>, frame: &[u8]) {
        let outcome = match remote::decode_done(self.function, frame, self.max_frame_size) {
            Ok((_, results)) if results.len() == 1 => results.into_iter().next(),
            Ok(_) => None,
            Err(error) => Some(Err(TaskError::ResultDecode(error.to_string()))),
        };
        let outcome = outcome.unwrap_or_else(|| {
            Err(TaskError::ResultDecode(
                "the worker did not send exactly one outcome".to_owned(),
            ))
        });
        // A second completion is impossible: this job is answered once.
        let _ = match outcome {
            Ok(value) => self.completer.set_result(value).map_err(drop),
            Err(error) => self.completer.set_exception(error).map_err(drop),
        };
    }
}
