//! What can go wrong reading or writing frames.

use core::fmt;

use super::header::{Direction, Kind};
use super::outcome::OutcomeTag;

/// A byte string that is not a valid frame, or a body that does not have
/// the layout its kind requires.
///
/// A [`FrameDecoder`](super::FrameDecoder) that returned one of these keeps
/// returning it (it is poisoned): the stream has lost its framing and no
/// later byte can be trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// A header announces a body longer than the decoder's maximum frame size.
    FrameTooLarge {
        /// The announced body length.
        len: u32,
        /// The largest body length the decoder accepts.
        max: u32,
    },
    /// The kind byte of a header is not one of [`Kind`].
    UnknownKind(u8),
    /// A frame of a kind that only the other side sends (a `Run` read from a
    /// worker, a `Done` read from the parent).
    WrongDirection(Kind),
    /// Header bytes 6..8 are not both zero (the first of the three is
    /// always reported as 0: byte 5 counts shared payloads).
    ReservedNotZero([u8; 3]),
    /// A header breaks a rule of its kind: a non-zero work id on a frame
    /// that is not about a work item, or a body on `Exit`.
    BadHeader {
        /// The kind named by the header.
        kind: Kind,
        /// Which rule is broken.
        reason: &'static str,
    },
    /// The input ended inside a frame (reported by
    /// [`FrameDecoder::finish`](super::FrameDecoder::finish)).
    Truncated {
        /// Bytes the incomplete frame needs, header included (just the
        /// header length while the header itself is incomplete).
        needed: usize,
        /// Bytes of it that arrived.
        available: usize,
    },
    /// A `Hello` or `Ready` body carries a protocol version other than
    /// [`PROTOCOL_VERSION`](super::PROTOCOL_VERSION).
    VersionMismatch {
        /// Our version.
        ours: u16,
        /// The version in the body.
        theirs: u16,
    },
    /// A body does not have the layout its kind requires (truncated,
    /// trailing bytes, an overlong varint, a wrong item count).
    BadBody {
        /// The kind whose body is malformed.
        kind: Kind,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The call head at the start of an `Init` or `Run` body is malformed.
    BadCallHead {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An outcome item's tag byte is not one of [`OutcomeTag`].
    UnknownOutcomeTag {
        /// Position of the item in its list, from 0.
        item: u32,
        /// The tag byte.
        tag: u8,
    },
    /// The bytes of a text outcome ([`OutcomeTag::is_text`]) are not UTF-8.
    BadUtf8 {
        /// Position of the item in its list, from 0.
        item: u32,
        /// Length of the valid UTF-8 prefix of the item's bytes.
        valid_up_to: usize,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::FrameTooLarge { len, max } => write!(
                f,
                "frame header announces a body of {len} bytes, above the maximum of {max} bytes"
            ),
            DecodeError::UnknownKind(byte) => write!(f, "unknown frame kind {byte:#04x}"),
            DecodeError::WrongDirection(kind) => {
                let (from, to) = match kind.direction() {
                    Direction::ToWorker => ("the parent", "a worker"),
                    Direction::FromWorker => ("a worker", "the parent"),
                };
                write!(
                    f,
                    "{kind:?} frames only travel from {from} to {to}, but one came from {to}"
                )
            }
            DecodeError::ReservedNotZero([a, b, c]) => write!(
                f,
                "reserved header bytes are {a:02x} {b:02x} {c:02x}, not zero"
            ),
            DecodeError::BadHeader { kind, reason } => {
                write!(f, "malformed {kind:?} header: {reason}")
            }
            DecodeError::Truncated { needed, available } => write!(
                f,
                "input ended inside a frame: {available} of {needed} bytes arrived"
            ),
            DecodeError::VersionMismatch { ours, theirs } => write!(
                f,
                "wire protocol version mismatch: ours is {ours}, the other side's is {theirs}"
            ),
            DecodeError::BadBody { kind, reason } => {
                write!(f, "malformed {kind:?} body: {reason}")
            }
            DecodeError::BadCallHead { reason } => write!(f, "malformed call head: {reason}"),
            DecodeError::UnknownOutcomeTag { item, tag } => {
                write!(f, "outcome {item} has unknown tag {tag}")
            }
            DecodeError::BadUtf8 { item, valid_up_to } => write!(
                f,
                "outcome {item} should be UTF-8 text but is invalid after {valid_up_to} bytes"
            ),
        }
    }
}

impl std::error::Error for DecodeError {}

/// A frame or body that cannot be written.
///
/// Every writer in this module leaves the output buffer as it was before the
/// failed call, so an error never leaves half a frame behind.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// The body is longer than the maximum frame size.
    FrameTooLarge {
        /// The body length that was reached.
        len: usize,
        /// The largest body length allowed.
        max: u32,
    },
    /// The frame would break a rule of its kind: a non-zero work id on a kind
    /// that is not about a work item, a body on `Exit`, or a `Returned`
    /// outcome in `InitFailed`.
    BadFrame {
        /// The kind being written.
        kind: Kind,
        /// Which rule would be broken.
        reason: &'static str,
    },
    /// The bytes given for a text outcome ([`OutcomeTag::is_text`]) are not UTF-8.
    BadUtf8 {
        /// The tag of the item.
        tag: OutcomeTag,
        /// Length of the valid UTF-8 prefix.
        valid_up_to: usize,
    },
    /// An outcome list was finished with no item in it.
    EmptyOutcomeList,
    /// postcard refused a value. It never does for the integer tuples of this
    /// module; the variant exists so that no writer has to panic.
    Postcard(postcard::Error),
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::FrameTooLarge { len, max } => write!(
                f,
                "frame body of {len} bytes is above the maximum of {max} bytes"
            ),
            EncodeError::BadFrame { kind, reason } => {
                write!(f, "cannot write this {kind:?} frame: {reason}")
            }
            EncodeError::BadUtf8 { tag, valid_up_to } => write!(
                f,
                "{tag:?} outcome must be UTF-8 text but is invalid after {valid_up_to} bytes"
            ),
            EncodeError::EmptyOutcomeList => f.write_str("an outcome list needs at least one item"),
            EncodeError::Postcard(err) => write!(f, "postcard could not encode a value: {err}"),
        }
    }
}

// postcard's text is in `Display`, so it is not a `source()` too.
impl std::error::Error for EncodeError {}

/// Why [`OutcomeWriter::item`](super::OutcomeWriter::item) did not add an
/// item. In every case the list is left as it was before the call, so the
/// caller can add a different item in its place (for example a
/// [`TooLarge`](OutcomeTag::TooLarge) text instead of a result that did not fit).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ItemError<E> {
    /// The caller's closure failed (for example, the value could not be
    /// serialized); this is its error.
    Write(E),
    /// With this item the list would be longer than its maximum.
    TooLarge {
        /// The list length the item would have made, in bytes.
        len: usize,
        /// The largest list length allowed.
        max: u32,
    },
    /// The item has a text tag ([`OutcomeTag::is_text`]) but its bytes are not UTF-8.
    BadUtf8 {
        /// Length of the valid UTF-8 prefix.
        valid_up_to: usize,
    },
}

impl<E: fmt::Display> fmt::Display for ItemError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ItemError::Write(err) => write!(f, "could not write the outcome: {err}"),
            ItemError::TooLarge { len, max } => write!(
                f,
                "outcome list would be {len} bytes, above the maximum of {max} bytes"
            ),
            ItemError::BadUtf8 { valid_up_to } => write!(
                f,
                "text outcome must be UTF-8 but is invalid after {valid_up_to} bytes"
            ),
        }
    }
}

// The closure's error text is in `Display`; its own source, if any, is
// the next link.
impl<E: std::error::Error + 'static> std::error::Error for ItemError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ItemError::Write(err) => err.source(),
            _ => None,
        }
    }
}
