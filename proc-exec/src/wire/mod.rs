//! The frames on the pipes between the pool (the parent) and its forked
//! workers.
//!
//! The byte-level specification, with an example in hex for every frame
//! kind, is `WIRE.md` at the root of this crate; `tests/wire_golden.rs`
//! checks every example in it against the code.
//!
//! This module is pure code: no I/O, no clock, no `unsafe`, no OS imports.
//! It is a module rather than a separate `proc-exec-proto` crate because
//! nothing else speaks this protocol: the only peer of a pool is a worker
//! forked from the same binary, so there is no second implementation to
//! share it with, and one crate keeps the format and its single user
//! versioned together. Keeping it free of I/O is what lets the decoder be
//! fed arbitrary chunks in tests and by a fuzzer.
//!
//! # Layers
//!
//! - **Framing** ([`Header`], [`FrameDecoder`], [`FrameWriter`]): every frame
//!   is a fixed 16-byte header (body length, [`Kind`], work id) and a body.
//!   The header is fixed-width, not postcard, so a reader learns how many
//!   bytes to wait for from exactly 16 bytes, can refuse an oversized frame
//!   before reading its body, and a writer can reserve the header and patch
//!   the length after encoding a body of unknown size in place.
//! - **Control bodies** ([`ParentHello`], [`WorkerReady`], [`CallRef`]):
//!   small postcard tuples of integers, compact and canonical (a parser
//!   accepts exactly the bytes the encoder writes).
//! - **Outcome lists** ([`OutcomeWriter`], [`parse_outcomes`]): the results
//!   of a work item or of a chunk of items, one tagged item each. Item
//!   lengths are fixed-width `u32`s so that a worker serializes each result
//!   once, straight into the frame, and patches its length afterwards.
//! - **Payloads** (argument bytes, `Returned` and `Raised` values) are
//!   postcard of the user's serde types, opaque at this layer.
//!
//! # Memory bound
//!
//! A [`FrameDecoder`] never buffers more than
//! `max(MIN_DECODER_BUFFER, HEADER_LEN + max_frame_size)` bytes, whatever
//! the peer sends or however the input is chunked: the body length is
//! checked against the maximum as soon as a header is complete, and the
//! buffer only grows beyond 64 KiB to hold a frame whose header passed.
//! Writers refuse bodies above the maximum and leave nothing behind.
//!
//! # Errors
//!
//! Every malformed input is a [`DecodeError`], never a panic; every frame
//! that cannot be written is an [`EncodeError`] (or an [`ItemError`] for one
//! outcome) and leaves the output buffer as it was. What the pool does with
//! a decode error (break the pool, or exit the worker) is in `WIRE.md`.

mod body;
mod decoder;
mod encoder;
mod error;
mod header;
mod outcome;

pub use body::{CallRef, ParentHello, WorkerReady, encode_call, parse_call};
pub use decoder::{Frame, FrameDecoder, MIN_DECODER_BUFFER};
pub use encoder::{FrameWriter, encode_frame};
pub use error::{DecodeError, EncodeError, ItemError};
pub use header::{Direction, HEADER_LEN, Header, Kind, MAX_SHARED};
pub use outcome::{
    Outcome, OutcomeTag, OutcomeWriter, Outcomes, OwnedOutcomes, encode_init_failed,
    min_outcomes_len, parse_init_failed, parse_outcomes,
};

/// The version of this wire format, carried by `Hello` and `Ready`. Any
/// change to the bytes of any frame changes it.
pub const PROTOCOL_VERSION: u16 = 2;

/// The maximum frame size (largest body, in bytes) a pool uses unless
/// configured otherwise: 64 MiB.
pub const DEFAULT_MAX_FRAME_SIZE: u32 = 64 * 1024 * 1024;

/// Writes `work_id` into an encoded frame's header (the pool encodes a `Run`
/// frame before the item has an id, in the submitting thread).
pub(crate) fn set_work_id(frame: &mut [u8], work_id: u64) {
    if let Some(field) = frame.get_mut(8..HEADER_LEN) {
        field.copy_from_slice(&work_id.to_le_bytes());
    }
}

/// Writes how many descriptors travel beside an encoded frame into its
/// header (the count is known once the body is encoded).
pub(crate) fn set_shared(frame: &mut [u8], count: u8) {
    if let Some(field) = frame.get_mut(5) {
        *field = count;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The name of a decode error's variant. The match has no wildcard, so
    /// a new variant fails to compile here until the test below produces it.
    fn variant(err: &DecodeError) -> &'static str {
        match err {
            DecodeError::FrameTooLarge { .. } => "FrameTooLarge",
            DecodeError::UnknownKind(_) => "UnknownKind",
            DecodeError::WrongDirection(_) => "WrongDirection",
            DecodeError::ReservedNotZero(_) => "ReservedNotZero",
            DecodeError::BadHeader { .. } => "BadHeader",
            DecodeError::Truncated { .. } => "Truncated",
            DecodeError::VersionMismatch { .. } => "VersionMismatch",
            DecodeError::BadBody { .. } => "BadBody",
            DecodeError::BadCallHead { .. } => "BadCallHead",
            DecodeError::UnknownOutcomeTag { .. } => "UnknownOutcomeTag",
            DecodeError::BadUtf8 { .. } => "BadUtf8",
        }
    }

    const DECODE_VARIANTS: usize = 11;

    /// Feeds `bytes` to a decoder and returns its first error (or the one
    /// `finish` reports).
    fn stream_error(direction: Direction, max: u32, bytes: &[u8]) -> DecodeError {
        let mut decoder = FrameDecoder::new(direction, max);
        assert_eq!(decoder.feed(bytes), bytes.len());
        loop {
            match decoder.next_frame() {
                Ok(Some(_)) => {}
                Ok(None) => return decoder.finish().unwrap_err(),
                Err(err) => return err,
            }
        }
    }

    fn head(body_len: u32, kind: u8, reserved: u8, work_id: u64) -> Vec<u8> {
        let mut bytes = body_len.to_le_bytes().to_vec();
        bytes.extend_from_slice(&[kind, 0, reserved, 0]);
        bytes.extend_from_slice(&work_id.to_le_bytes());
        bytes
    }

    #[test]
    fn every_decode_error_comes_from_some_input() {
        let to = Direction::ToWorker;
        let errors = [
            stream_error(to, 10, &head(11, 0x03, 0, 1)),
            stream_error(to, 10, &head(0, 0x00, 0, 0)),
            stream_error(to, 10, &head(0, 0x83, 0, 1)),
            stream_error(to, 10, &head(0, 0x04, 1, 0)),
            stream_error(to, 10, &head(0, 0x04, 0, 1)),
            stream_error(to, 10, &[head(5, 0x03, 0, 1), vec![0; 4]].concat()),
            ParentHello::parse(&[0x7f, 0x00]).unwrap_err(),
            WorkerReady::parse(&[PROTOCOL_VERSION as u8, 0x01, 0x01]).unwrap_err(),
            parse_call(&[0x80]).unwrap_err(),
            parse_outcomes(&[1, 0, 0, 0, 0x06, 0, 0, 0, 0]).unwrap_err(),
            parse_init_failed(&[1, 0, 0, 0, 0x05, 1, 0, 0, 0, 0x80]).unwrap_err(),
        ];
        let mut names: Vec<&str> = errors.iter().map(variant).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), DECODE_VARIANTS, "{names:?}");
        for err in &errors {
            assert!(!err.to_string().is_empty());
        }
    }

    /// A small deterministic generator (xorshift64), so the test below
    /// needs no dependency and always sees the same inputs.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next() % u64::try_from(n).unwrap()).unwrap()
        }
    }

    /// Runs every parser that applies to a frame of this kind.
    fn parse_body(kind: Kind, body: &[u8]) {
        let _ = match kind {
            Kind::Hello => ParentHello::parse(body).map(drop),
            Kind::Init | Kind::Run => parse_call(body).map(drop),
            Kind::Exit => Ok(()),
            Kind::Ready => WorkerReady::parse(body).map(drop),
            Kind::InitFailed => parse_init_failed(body).map(drop),
            Kind::Done => parse_outcomes(body).map(|items| items.for_each(drop)),
        };
    }

    #[test]
    fn mutated_streams_give_errors_not_panics() {
        let mut to_worker = Vec::new();
        let mut from_worker = Vec::new();
        let max = 200;
        let mut hello = Vec::new();
        ParentHello::new(max).encode(&mut hello).unwrap();
        encode_frame(Kind::Hello, 0, &hello, &mut to_worker, max).unwrap();
        let mut run = Vec::new();
        encode_call(
            &mut run,
            CallRef {
                function: -5,
                trampoline: 99,
            },
        )
        .unwrap();
        run.extend_from_slice(b"args");
        encode_frame(Kind::Run, 3, &run, &mut to_worker, max).unwrap();
        encode_frame(Kind::Exit, 0, &[], &mut to_worker, max).unwrap();
        let mut ready = Vec::new();
        WorkerReady::new(77).encode(&mut ready).unwrap();
        encode_frame(Kind::Ready, 0, &ready, &mut from_worker, max).unwrap();
        let mut frame = FrameWriter::begin(&mut from_worker, Kind::Done, 3);
        let mut list = OutcomeWriter::begin(frame.body(), max);
        list.item_bytes(OutcomeTag::Returned, &[1, 2]).unwrap();
        list.item_bytes(OutcomeTag::Panicked, "é!".as_bytes())
            .unwrap();
        list.finish().unwrap();
        frame.finish(max).unwrap();

        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for round in 0..4000 {
            let (direction, original) = if round % 2 == 0 {
                (Direction::ToWorker, &to_worker)
            } else {
                (Direction::FromWorker, &from_worker)
            };
            let mut bytes = original.clone();
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(bytes.len());
                bytes[at] = rng.next() as u8;
            }
            bytes.truncate(bytes.len() - rng.below(4));
            let mut decoder = FrameDecoder::new(direction, max);
            let mut input = &bytes[..];
            'feed: while !input.is_empty() {
                let chunk = 1 + rng.below(40);
                let taken = decoder.feed(&input[..chunk.min(input.len())]);
                input = &input[taken..];
                loop {
                    match decoder.next_frame() {
                        Ok(Some(frame)) => parse_body(frame.kind, frame.body),
                        Ok(None) => break,
                        Err(_) => break 'feed,
                    }
                }
            }
            let _ = decoder.finish();
        }
    }

    #[test]
    fn error_messages_read_well() {
        assert_eq!(
            DecodeError::WrongDirection(Kind::Run).to_string(),
            "Run frames only travel from the parent to a worker, but one came from a worker"
        );
        assert_eq!(
            DecodeError::FrameTooLarge { len: 11, max: 10 }.to_string(),
            "frame header announces a body of 11 bytes, above the maximum of 10 bytes"
        );
        assert_eq!(
            EncodeError::FrameTooLarge { len: 11, max: 10 }.to_string(),
            "frame body of 11 bytes is above the maximum of 10 bytes"
        );
    }
}
