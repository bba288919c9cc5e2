//! A chunk: several arguments sent to one worker as one `Run` frame and
//! answered as one `Done` frame, with one outcome per argument.
//!
//! The unit `map` is built from, and what
//! [`submit_chunk`](crate::ProcessPoolExecutor::submit_chunk) hands out.

use std::convert::Infallible;
use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use future_core::{Completer, Future};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ExitStatus;
use crate::Function;
use crate::codec::{self, RaisedDecoder};
use crate::error::{SubmitError, TaskError};
use crate::executor::{encode_run_frame, start};
use crate::pool_state::Failure;
use crate::shared::{Pending, Shared};
use crate::wire::{self, Outcomes, OwnedOutcomes};

/// A chunk's future: one result per argument, in argument order, or the
/// error that lost the whole chunk (its worker died, the pool broke).
pub type ChunkFuture<R, E = Infallible> = Future<ChunkResults<R, E>, TaskError<E>>;

/// A finished chunk's results, one per argument in argument order: an
/// iterator that decodes each item as it is taken.
///
/// The pool's manager thread, which reads every worker's pipe, only copies
/// a chunk's encoded answer; the thread that takes the items decodes them,
/// so decoding a large map runs beside the manager instead of inside it.
pub struct ChunkResults<R, E = Infallible> {
    items: OwnedOutcomes,
    /// Items still to yield (as many as the worker answered: checked).
    left: usize,
    raised: RaisedDecoder<E>,
    /// The descriptors sent beside the answer, for its `SharedBytes`.
    shared: crate::shared_bytes::Incoming,
    _values: PhantomData<fn() -> R>,
}

impl<R: DeserializeOwned, E> Iterator for ChunkResults<R, E> {
    type Item = Result<R, TaskError<E>>;

    fn next(&mut self) -> Option<Self::Item> {
        self.left = self.left.checked_sub(1)?;
        Some(match self.items.next_item() {
            Some(outcome) => {
                let raised = self.raised;
                crate::shared_bytes::decoding(&mut self.shared, || {
                    codec::decode_outcome(outcome, raised)
                })
            }
            // Not reached: the manager checked the count (one outcome per
            // argument) before completing the chunk.
            None => Err(TaskError::ArgDecode(
                "an earlier argument of its chunk could not be deserialized".to_owned(),
            )),
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<R: DeserializeOwned, E> ExactSizeIterator for ChunkResults<R, E> {}

impl<R, E> ChunkResults<R, E> {
    /// Items still to yield.
    pub(crate) fn left(&self) -> usize {
        self.left
    }
}

impl<R, E> fmt::Debug for ChunkResults<R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkResults")
            .field("left", &self.left)
            .finish_non_exhaustive()
    }
}

/// Runs once the chunk's future is settled (its outcome in place and its
/// done callbacks finished), or once the pool let go of the chunk; with the
/// bytes of its answer if it was answered.
pub(crate) type OnSettled = Box<dyn FnOnce(Option<usize>) + Send>;

/// Encodes `args` as one frame and queues it; returns its future and the
/// frame's bytes. `on_settled` runs once the future is settled, so whoever
/// it tells can take the outcome at once.
pub(crate) fn submit_chunk<A, R, E>(
    shared: &Shared,
    function: Function<A, R, E>,
    args: &[A],
    on_settled: Option<OnSettled>,
) -> Result<(ChunkFuture<R, E>, usize), SubmitError>
where
    A: Serialize,
    R: DeserializeOwned + Send + 'static,
    E: Send + 'static,
{
    let max = shared.config.max_frame_size;
    if wire::min_outcomes_len(args.len()) > max as usize {
        let (items, max) = (args.len(), max as usize);
        return Err(SubmitError::ChunkTooLarge { items, max });
    }
    let frame = encode_run_frame(function.call, args, max)?;
    let bytes = frame.len();
    let future = Future::new();
    let chunk = Chunk::<R, E> {
        completer: future.completer(),
        raised: function.raised,
        len: args.len(),
        settled: Settled {
            on_settled,
            answer_bytes: None,
        },
    };
    shared.submit(frame, Box::new(chunk))?;
    Ok((future, bytes))
}

/// One chunk's future, seen from the manager.
struct Chunk<R, E> {
    completer: Completer<ChunkResults<R, E>, TaskError<E>>,
    raised: RaisedDecoder<E>,
    len: usize,
    /// Declared after `completer`, so it drops after it: once `fail` or
    /// `cancel` settled the future, or once dropping the completer of a
    /// chunk the pool never ran cancelled it (`complete` drops it last).
    settled: Settled,
}

/// Runs its [`OnSettled`] when dropped.
struct Settled {
    on_settled: Option<OnSettled>,
    /// Set once the chunk was answered.
    answer_bytes: Option<usize>,
}

impl Drop for Settled {
    fn drop(&mut self) {
        if let Some(on_settled) = self.on_settled.take() {
            on_settled(self.answer_bytes);
        }
    }
}

impl<R, E> Pending for Chunk<R, E>
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
        None
    }

    fn items(&self) -> usize {
        self.len
    }

    fn complete(self: Box<Self>, outcomes: Outcomes<'_>) {
        let Self {
            completer,
            raised,
            len,
            mut settled,
        } = *self;
        let results = ChunkResults {
            items: OwnedOutcomes::new(outcomes),
            left: len,
            raised,
            // The manager decodes nothing of a chunk: it hands the
            // answer's descriptors over with its bytes.
            shared: crate::shared_bytes::take_incoming(),
            _values: PhantomData,
        };
        settled.answer_bytes = Some(results.items.bytes_left());
        drop(completer.set_result(results));
        drop(settled);
    }

    fn fail(self: Box<Self>, failure: Failure<ExitStatus>) {
        let error = TaskError::from_failure(failure, None);
        drop(self.completer.set_exception(error));
    }

    fn cancel(self: Box<Self>) {
        self.completer.cancel();
    }
}
