//! proc-exec's frames over another transport (MPI messages, say): what an
//! executor whose workers are not forked children needs to reuse this
//! crate's function crossing and frame format rather than copy them.
//!
//! - In the submitting process: [`encode_run`] builds a `Run` frame for a
//!   [`Function`] and a chunk of arguments (one for a single task), and
//!   [`decode_done`] turns the body of the `Done` frame that answers it into
//!   one typed result per argument.
//! - In the worker: [`enter_worker`] once on the serving thread, then
//!   [`run_frame`] for each `Run` frame, which returns the `Done` frame.
//!   A task's panic is caught and becomes that task's
//!   [`TaskError::Panicked`], exactly as in a pool's worker.
//!
//! The frames are those of [`wire`], byte for byte, with the same
//! [`PROTOCOL_VERSION`](crate::wire::PROTOCOL_VERSION): this module adds
//! nothing to the format. [`SharedBytes`](crate::SharedBytes) travel inline here: no
//! descriptor crosses another transport.
//!
//! # Examples
//!
//! ```
//! use proc_exec::{Function, remote};
//!
//! fn double(n: u32) -> u32 {
//!     n * 2
//! }
//!
//! let max = proc_exec::wire::DEFAULT_MAX_FRAME_SIZE;
//! let function = Function::new(double);
//! let run = remote::encode_run(function, &[1, 2, 3], 7, max).unwrap();
//! // In the worker (here the same process, which runs the same binary):
//! remote::enter_worker();
//! // SAFETY: `run` was built by `encode_run` in a process of this binary.
//! let done = unsafe { remote::run_frame(&run, max) }.unwrap();
//! let (work_id, results) = remote::decode_done(function, &done, max).unwrap();
//! assert_eq!(work_id, 7);
//! assert_eq!(results, vec![Ok(2), Ok(4), Ok(6)]);
//! ```
#![allow(unsafe_code)]

use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::call;
use crate::codec;
use crate::error::{SubmitError, TaskError};
use crate::function::Function;
use crate::wire::{self, DecodeError, FrameWriter, HEADER_LEN, Header, Kind, OutcomeWriter};

/// Why [`run_frame`] or [`decode_done`] could not read a frame: it is not a
/// whole frame of the expected kind, or its body is malformed. Either means
/// the peer is not speaking this protocol (or a broken transport).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteError {
    /// The bytes are not one whole, well-formed frame.
    Decode(DecodeError),
    /// A frame of another kind than the one expected.
    UnexpectedKind(wire::Kind),
    /// The worker could not answer (an answer with no room for its items).
    Unanswerable(String),
}

impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Decode(error) => write!(f, "malformed frame: {error}"),
            Self::UnexpectedKind(kind) => write!(f, "unexpected {kind:?} frame"),
            Self::Unanswerable(why) => write!(f, "the run frame could not be answered: {why}"),
        }
    }
}

impl std::error::Error for RemoteError {}

impl From<DecodeError> for RemoteError {
    fn from(error: DecodeError) -> Self {
        Self::Decode(error)
    }
}

/// A `Run` frame (header and body) calling `function` once per argument of
/// `args`, tagged `work_id`. Errors as a pool's `submit`:
/// [`SubmitError::ArgEncode`] or [`SubmitError::ArgTooLarge`].
pub fn encode_run<A, R, E>(
    function: Function<A, R, E>,
    args: &[A],
    work_id: u64,
    max_frame_size: u32,
) -> Result<Vec<u8>, SubmitError>
where
    A: Serialize,
{
    let mut frame =
        crate::executor::encode_chunk_frame(Kind::Run, function.call, args, max_frame_size)?;
    wire::set_work_id(&mut frame, work_id);
    Ok(frame)
}

/// Marks this thread as a worker's serving thread: a task's panic is then
/// recorded with its location for the task's error rather than printed.
/// Call once, on the thread that calls [`run_frame`], before the first.
pub fn enter_worker() {
    crate::panic::install_worker_hook();
    crate::panic::enter_worker();
}

/// Runs one `Run` frame (as [`encode_run`] built it) and returns the `Done`
/// frame answering it, with one outcome per argument. The task's panics,
/// and those of its arguments' and result's serde code, are caught and
/// become outcomes.
///
/// # Safety
///
/// `frame` must come from [`encode_run`] in a process running this same
/// binary: it names code addresses that are called here. Never pass bytes
/// from an untrusted peer.
pub unsafe fn run_frame(frame: &[u8], max_frame_size: u32) -> Result<Vec<u8>, RemoteError> {
    let (header, body) = split(frame, Kind::Run, max_frame_size)?;
    let (call, args) = wire::parse_call(body)?;
    let work_id = header.work_id;
    let mut out = Vec::new();
    let mut writer = FrameWriter::begin(&mut out, Kind::Done, work_id);
    let mut outcomes = OutcomeWriter::begin(writer.body(), max_frame_size);
    // SAFETY: by the caller's contract the call was built by `encode_run` (through `call::plain`/`fallible`/`spread`) in this binary.
    unsafe { call::run(call, args, &mut outcomes) };
    outcomes
        .finish()
        .map_err(|e| RemoteError::Unanswerable(e.to_string()))?;
    writer
        .finish(max_frame_size)
        .map_err(|e| RemoteError::Unanswerable(e.to_string()))?;
    Ok(out)
}

/// Typed results from a `Done` frame (as [`run_frame`] returned it): its
/// work id and one result per argument of the `Run` frame it answers, in
/// order. `function` must be the one the `Run` frame was built with.
#[allow(clippy::type_complexity)]
pub fn decode_done<A, R, E>(
    function: Function<A, R, E>,
    frame: &[u8],
    max_frame_size: u32,
) -> Result<(u64, Vec<Result<R, TaskError<E>>>), RemoteError>
where
    R: DeserializeOwned,
{
    let (header, body) = split(frame, Kind::Done, max_frame_size)?;
    let outcomes = wire::parse_outcomes(body)?;
    let results = outcomes
        .map(|outcome| codec::decode_outcome(outcome, function.raised))
        .collect();
    Ok((header.work_id, results))
}

/// One whole frame of `kind`: its header and its body (each message of
/// the other transport carries exactly one frame).
fn split(frame: &[u8], kind: Kind, max_frame_size: u32) -> Result<(Header, &[u8]), RemoteError> {
    let truncated = || DecodeError::Truncated {
        needed: HEADER_LEN,
        available: frame.len(),
    };
    let (head, body) = frame.split_at_checked(HEADER_LEN).ok_or_else(truncated)?;
    let head = <&[u8; HEADER_LEN]>::try_from(head).map_err(|_| truncated())?;
    let header = Header::decode(head)?;
    if header.kind != kind {
        return Err(RemoteError::UnexpectedKind(header.kind));
    }
    if header.body_len > max_frame_size {
        return Err(RemoteError::Decode(DecodeError::FrameTooLarge {
            len: header.body_len,
            max: max_frame_size,
        }));
    }
    if usize::try_from(header.body_len).ok() != Some(body.len()) {
        return Err(RemoteError::Decode(DecodeError::Truncated {
            needed: HEADER_LEN + header.body_len as usize,
            available: frame.len(),
        }));
    }
    Ok((header, body))
}

/// A digest that differs between two builds of the program (proc-exec's
/// version and the entry point's place relative to the code addresses
/// frames carry): two processes may exchange frames only if theirs agree.
pub fn build_fingerprint() -> u64 {
    crate::start::fingerprint()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn total(bytes: Vec<u8>) -> u64 {
        bytes.iter().map(|b| u64::from(*b)).sum()
    }

    /// A frame above the decoder's 64 KiB first buffer crosses whole.
    #[test]
    fn large_frames_cross() {
        let max = wire::DEFAULT_MAX_FRAME_SIZE;
        let function = Function::new(total);
        let run = encode_run(function, &[vec![1u8; 1 << 20]], 9, max).unwrap();
        // SAFETY: built by `encode_run` in this process.
        let done = unsafe { run_frame(&run, max) }.unwrap();
        assert_eq!(
            decode_done(function, &done, max).unwrap(),
            (9, vec![Ok(1 << 20)])
        );
    }

    #[test]
    fn cut_and_wrong_frames_are_errors() {
        let max = wire::DEFAULT_MAX_FRAME_SIZE;
        let function = Function::new(total);
        let run = encode_run(function, &[vec![1u8; 10]], 1, max).unwrap();
        // SAFETY: each is refused before any code address is used.
        unsafe {
            assert!(matches!(
                run_frame(&run[..5], max),
                Err(RemoteError::Decode(_))
            ));
            assert!(matches!(
                run_frame(&run[..run.len() - 1], max),
                Err(RemoteError::Decode(_))
            ));
        }
        assert_eq!(
            decode_done(function, &run, max).unwrap_err(),
            RemoteError::UnexpectedKind(Kind::Run)
        );
    }
}
