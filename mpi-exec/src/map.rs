//! `map` and `map_unordered`: chunks of the input as `Run` frames, with a
//! bounded window of chunks in flight, results read back through a channel.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;

use proc_exec::{Function, SubmitError, TaskError, remote};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::executor::MpiExecutor;
use crate::manager::Job;
use crate::sync::{Receiver, Sender, channel};

/// How a map cuts and paces its input.
#[derive(Debug, Clone, Copy, Default)]
#[must_use]
pub struct MapOptions {
    chunksize: Option<usize>,
    window: Option<usize>,
}

impl MapOptions {
    /// One item a chunk, the default window.
    pub fn new() -> Self {
        Self::default()
    }

    /// Items sent to a worker together (one frame each way). Default 1.
    pub fn chunksize(mut self, items: usize) -> Self {
        self.chunksize = Some(items.max(1));
        self
    }

    /// Chunks queued or running at a time: the input is read no further
    /// ahead. Default twice the workers times their in-flight limit.
    pub fn window(mut self, chunks: usize) -> Self {
        self.window = Some(chunks.max(1));
        self
    }
}

/// Why one item of a map has no result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapError<E> {
    /// The task failed (as a submitted task's future would).
    Task(TaskError<E>),
    /// Its chunk could not be sent (an argument that does not serialize,
    /// or a chunk above the frame limit).
    Submit(SubmitError),
}

impl<E: fmt::Display> fmt::Display for MapError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Task(error) => fmt::Display::fmt(error, f),
            Self::Submit(error) => write!(f, "its chunk could not be sent: {error}"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for MapError<E> {}

type Chunk<R, E> = (u64, Vec<Result<R, MapError<E>>>);

/// The results of a map, an iterator; dropping it early waits for nothing
/// (chunks already sent finish on the workers, their results are dropped).
#[must_use = "a map sends its input only as its results are read"]
pub struct Map<'a, A, R, E, I> {
    exec: &'a MpiExecutor,
    function: Function<A, R, E>,
    input: I,
    input_done: bool,
    chunksize: usize,
    window: usize,
    ordered: bool,
    sent: u64,
    next_out: u64,
    in_flight: usize,
    current: VecDeque<Result<R, MapError<E>>>,
    waiting: BTreeMap<u64, Vec<Result<R, MapError<E>>>>,
    results: Receiver<Chunk<R, E>>,
    sender: Sender<Chunk<R, E>>,
}

impl<A, R, E, I> fmt::Debug for Map<'_, A, R, E, I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Map")
            .field("ordered", &self.ordered)
            .field("in_flight", &self.in_flight)
            .finish_non_exhaustive()
    }
}

impl<'a, A, R, E, I> Map<'a, A, R, E, I>
where
    A: Serialize + 'static,
    R: DeserializeOwned + Send + 'static,
    E: Send + 'static,
    I: Iterator<Item = A>,
{
    pub(crate) fn new(
        exec: &'a MpiExecutor,
        function: Function<A, R, E>,
        input: I,
        options: MapOptions,
        ordered: bool,
    ) -> Self {
        let (sender, results) = channel();
        Self {
            exec,
            function,
            input,
            input_done: false,
            chunksize: options.chunksize.unwrap_or(1),
            window: options.window.unwrap_or_else(|| exec.default_window()),
            ordered,
            sent: 0,
            next_out: 0,
            in_flight: 0,
            current: VecDeque::new(),
            waiting: BTreeMap::new(),
            results,
            sender,
        }
    }

    /// Sends chunks until the window is full or the input ends.
    fn fill(&mut self) {
        while self.in_flight < self.window && !self.input_done {
            let chunk: Vec<A> = self.input.by_ref().take(self.chunksize).collect();
            if chunk.is_empty() {
                self.input_done = true;
                break;
            }
            let index = self.sent;
            self.sent += 1;
            let job = ChunkJob {
                function: self.function,
                index,
                items: chunk.len(),
                results: self.sender.clone(),
                max_frame_size: self.exec.max_frame_size(),
            };
            match self.exec.send(self.function, &chunk, Box::new(job)) {
                Ok(()) => self.in_flight += 1,
                Err(error) => {
                    let failed = chunk
                        .iter()
                        .map(|_| Err(MapError::Submit(error.clone())))
                        .collect();
                    self.arrived((index, failed));
                }
            }
        }
    }

    fn arrived(&mut self, (index, items): Chunk<R, E>) {
        if self.ordered {
            self.waiting.insert(index, items);
        } else {
            self.current.extend(items);
        }
    }
}

impl<A, R, E, I> Iterator for Map<'_, A, R, E, I>
where
    A: Serialize + 'static,
    R: DeserializeOwned + Send + 'static,
    E: Send + 'static,
    I: Iterator<Item = A>,
{
    type Item = Result<R, MapError<E>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.current.pop_front() {
                return Some(item);
            }
            self.fill();
            if self.ordered {
                if let Some(items) = self.waiting.remove(&self.next_out) {
                    self.next_out += 1;
                    self.current.extend(items);
                    continue;
                }
            }
            if self.in_flight == 0 {
                if self.input_done && self.waiting.is_empty() {
                    return None;
                }
                continue;
            }
            // The manager answers every chunk it was given (or the job is
            // aborted, taking this process with it).
            let chunk = self.results.recv().ok()?;
            self.in_flight -= 1;
            self.arrived(chunk);
        }
    }
}

/// One chunk's answer: its results, sent to the map's channel.
struct ChunkJob<A, R, E> {
    function: Function<A, R, E>,
    index: u64,
    items: usize,
    results: Sender<Chunk<R, E>>,
    max_frame_size: u32,
}

impl<A, R, E> Job for ChunkJob<A, R, E>
where
    R: DeserializeOwned + Send + 'static,
    E: Send + 'static,
{
    fn start(&mut self) -> bool {
        true
    }

    fn lost(self: Box<Self>, rank: u32, reason: &str) {
        let items = (0..self.items)
            .map(|_| {
                Err(MapError::Task(TaskError::RankLost {
                    rank,
                    reason: reason.to_owned(),
                }))
            })
            .collect();
        // A map dropped early no longer reads its results.
        let _ = self.results.send((self.index, items));
    }

    fn done(self: Box<Self>, frame: &[u8]) {
        let failed = |why: String| {
            (0..self.items)
                .map(|_| Err(MapError::Task(TaskError::ResultDecode(why.clone()))))
                .collect()
        };
        let items = match remote::decode_done(self.function, frame, self.max_frame_size) {
            Ok((_, results)) if results.len() == self.items => results
                .into_iter()
                .map(|result| result.map_err(MapError::Task))
                .collect(),
            Ok((_, results)) => failed(format!(
                "the worker sent {} outcomes for a chunk of {}",
                results.len(),
                self.items
            )),
            Err(error) => failed(error.to_string()),
        };
        // A map dropped early no longer reads its results.
        let _ = self.results.send((self.index, items));
    }
}
