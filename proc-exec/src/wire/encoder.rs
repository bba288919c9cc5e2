//! Writing frames into a `Vec<u8>` without intermediate copies.

use core::fmt;

use serde::Serialize;

use super::error::EncodeError;
use super::header::{HEADER_LEN, Header, Kind};

/// One frame being written at the end of a `Vec<u8>`.
///
/// [`begin`](Self::begin) appends a placeholder header; the body is then
/// appended straight to the same vector through [`body`](Self::body) (by
/// postcard, by a copy, by an [`OutcomeWriter`](super::OutcomeWriter));
/// [`finish`](Self::finish) writes the real header. A frame that is not
/// finished, or whose `finish` fails, is removed again: the vector is left
/// as it was before `begin`.
///
/// # Examples
///
/// ```
/// use proc_exec::wire::{FrameWriter, Kind, CallRef, encode_call};
///
/// let mut out = Vec::new();
/// let mut frame = FrameWriter::begin(&mut out, Kind::Run, 7);
/// encode_call(frame.body(), CallRef { function: 1, trampoline: -1 }).unwrap();
/// frame.body().extend_from_slice(b"args");
/// frame.finish(1024).unwrap();
/// assert_eq!(out.len(), 16 + 2 + 4);
///
/// // Too large: nothing is left behind.
/// let mut frame = FrameWriter::begin(&mut out, Kind::Run, 8);
/// frame.body().extend_from_slice(&[0; 2000]);
/// assert!(frame.finish(1024).is_err());
/// assert_eq!(out.len(), 16 + 2 + 4);
/// ```
pub struct FrameWriter<'a> {
    out: &'a mut Vec<u8>,
    /// Where the frame's header starts in `out`.
    start: usize,
    kind: Kind,
    work_id: u64,
    /// Set by a successful `finish`; otherwise `drop` removes the frame.
    finished: bool,
}

impl<'a> FrameWriter<'a> {
    /// Starts a frame at the end of `out` with a placeholder header.
    pub fn begin(out: &'a mut Vec<u8>, kind: Kind, work_id: u64) -> Self {
        let start = out.len();
        out.extend_from_slice(&[0; HEADER_LEN]);
        FrameWriter {
            out,
            start,
            kind,
            work_id,
            finished: false,
        }
    }

    /// The output vector, to append the body to. Everything appended
    /// before [`finish`](Self::finish) is the body. The vector also holds
    /// what came before the frame and its placeholder header, so measure
    /// the body with [`body_len`](Self::body_len), not `len()`.
    ///
    /// Only append: removing bytes before the body is a logic error. It
    /// cannot make `finish` panic or write a malformed header (the header is
    /// written whole, and the body is whatever follows it), but the frame
    /// will not hold what was meant.
    pub fn body(&mut self) -> &mut Vec<u8> {
        self.out
    }

    /// Bytes of body written so far.
    pub fn body_len(&self) -> usize {
        self.out.len().saturating_sub(self.body_start())
    }

    /// The kind of the frame being written.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The work id of the frame being written.
    pub fn work_id(&self) -> u64 {
        self.work_id
    }

    /// Writes the header over the placeholder.
    ///
    /// # Errors
    ///
    /// [`EncodeError::FrameTooLarge`] if the body is longer than
    /// `max_frame_size`; [`EncodeError::BadFrame`] if the frame breaks a
    /// rule of its kind (a non-zero work id on a kind without one, a body
    /// on `Exit`). The frame is then removed from the vector.
    pub fn finish(mut self, max_frame_size: u32) -> Result<(), EncodeError> {
        let header = checked_header(self.kind, self.work_id, self.body_len(), max_frame_size)?;
        let body_start = self.body_start();
        if self.out.len() < body_start {
            // Only after a caller removed bytes it should not have; see `body`.
            self.out.resize(body_start, 0);
        }
        if let Some(slot) = self.out.get_mut(self.start..body_start) {
            slot.copy_from_slice(&header.encode());
        }
        self.finished = true;
        Ok(())
    }

    fn body_start(&self) -> usize {
        self.start + HEADER_LEN
    }
}

impl Drop for FrameWriter<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.out.truncate(self.start);
        }
    }
}

impl fmt::Debug for FrameWriter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameWriter")
            .field("kind", &self.kind)
            .field("work_id", &self.work_id)
            .field("start", &self.start)
            .field("body_len", &self.body_len())
            .finish()
    }
}

/// Appends one whole frame with the given body to `out`.
///
/// # Errors
///
/// As [`FrameWriter::finish`]; `out` is then unchanged.
///
/// # Examples
///
/// ```
/// use proc_exec::wire::{Kind, encode_frame};
///
/// let mut out = Vec::new();
/// encode_frame(Kind::Exit, 0, &[], &mut out, 1024).unwrap();
/// assert_eq!(out, [0, 0, 0, 0, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
/// ```
pub fn encode_frame(
    kind: Kind,
    work_id: u64,
    body: &[u8],
    out: &mut Vec<u8>,
    max_frame_size: u32,
) -> Result<(), EncodeError> {
    let header = checked_header(kind, work_id, body.len(), max_frame_size)?;
    out.reserve(HEADER_LEN + body.len());
    out.extend_from_slice(&header.encode());
    out.extend_from_slice(body);
    Ok(())
}

/// The header for a body of `len` bytes, if the frame is allowed.
fn checked_header(
    kind: Kind,
    work_id: u64,
    len: usize,
    max_frame_size: u32,
) -> Result<Header, EncodeError> {
    let body_len = u32::try_from(len)
        .ok()
        .filter(|len| *len <= max_frame_size)
        .ok_or(EncodeError::FrameTooLarge {
            len,
            max: max_frame_size,
        })?;
    let header = Header {
        body_len,
        kind,
        work_id,
        shared: 0,
    };
    header
        .kind_rule()
        .map_err(|reason| EncodeError::BadFrame { kind, reason })?;
    Ok(header)
}

/// Lets postcard append to a vector it does not own.
struct Append<'a>(&'a mut Vec<u8>);

impl Extend<u8> for Append<'_> {
    fn extend<I: IntoIterator<Item = u8>>(&mut self, bytes: I) {
        self.0.extend(bytes);
    }
}

/// Appends the postcard encoding of `value` to `out`. On error `out` is
/// left as it was.
///
/// This is how bodies are serialized straight into a frame (here for the
/// control bodies, in the pool for arguments and results).
pub(crate) fn append_postcard<T: Serialize + ?Sized>(
    value: &T,
    out: &mut Vec<u8>,
) -> Result<(), postcard::Error> {
    let start = out.len();
    match postcard::to_extend(value, Append(&mut *out)) {
        Ok(_) => Ok(()),
        Err(err) => {
            out.truncate(start);
            Err(err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfinished_frame_is_removed() {
        let mut out = vec![9, 9];
        {
            let mut frame = FrameWriter::begin(&mut out, Kind::Run, 1);
            frame.body().extend_from_slice(b"half");
        }
        assert_eq!(out, [9, 9]);
    }

    #[test]
    fn finish_checks_size_and_kind_rules() {
        let mut out = vec![1];
        let mut frame = FrameWriter::begin(&mut out, Kind::Run, 1);
        frame.body().extend_from_slice(&[0; 11]);
        assert_eq!(frame.body_len(), 11);
        assert_eq!(
            frame.finish(10),
            Err(EncodeError::FrameTooLarge { len: 11, max: 10 })
        );
        assert_eq!(out, [1]);

        let frame = FrameWriter::begin(&mut out, Kind::Hello, 3);
        assert!(matches!(
            frame.finish(10),
            Err(EncodeError::BadFrame {
                kind: Kind::Hello,
                ..
            })
        ));
        let mut frame = FrameWriter::begin(&mut out, Kind::Exit, 0);
        frame.body().push(0);
        assert!(matches!(
            frame.finish(10),
            Err(EncodeError::BadFrame {
                kind: Kind::Exit,
                ..
            })
        ));
        assert_eq!(
            encode_frame(Kind::Exit, 0, &[1], &mut out, 10),
            Err(EncodeError::BadFrame {
                kind: Kind::Exit,
                reason: "an Exit frame has an empty body"
            })
        );
        assert_eq!(
            encode_frame(Kind::Run, 0, &[1; 11], &mut out, 10),
            Err(EncodeError::FrameTooLarge { len: 11, max: 10 })
        );
        assert_eq!(out, [1]);
    }

    #[test]
    fn writer_and_encode_frame_agree() {
        let mut a = vec![0xee];
        let mut frame = FrameWriter::begin(&mut a, Kind::Done, 0xdead_beef);
        frame.body().extend_from_slice(b"body");
        frame.finish(4).unwrap();
        let mut b = vec![0xee];
        encode_frame(Kind::Done, 0xdead_beef, b"body", &mut b, 4).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn removing_the_header_still_gives_a_well_formed_frame() {
        let mut out = Vec::new();
        let mut frame = FrameWriter::begin(&mut out, Kind::Run, 2);
        frame.body().clear();
        frame.finish(10).unwrap();
        assert_eq!(out.len(), HEADER_LEN);
        assert_eq!(
            Header::decode(out.first_chunk().unwrap()),
            Ok(Header {
                body_len: 0,
                kind: Kind::Run,
                work_id: 2,
                shared: 0,
            })
        );
    }

    #[test]
    fn append_postcard_appends() {
        let mut out = vec![0xff];
        append_postcard(&(1u16, 300u32), &mut out).unwrap();
        assert_eq!(out, [0xff, 0x01, 0xac, 0x02]);
    }
}
