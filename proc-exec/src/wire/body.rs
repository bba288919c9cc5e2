//! The postcard control bodies: `Hello`, `Ready` and the call head of
//! `Init` and `Run`.
//!
//! Each is a postcard tuple of integers: varints (zigzag for the signed
//! ones), one after the other, nothing between. The parsers accept only the
//! canonical encoding (postcard itself would accept an overlong varint such
//! as `81 00` for 1), so every body has exactly one byte form.

use serde::{Deserialize, Serialize};

use super::PROTOCOL_VERSION;
use super::encoder::append_postcard;
use super::error::{DecodeError, EncodeError};
use super::header::Kind;

/// Room for the canonical encoding of every tuple in this module (two
/// 64-bit varints of at most 10 bytes each).
const SCRATCH_LEN: usize = 20;

/// The body of [`Kind::Hello`]: postcard of `(version: u16, max_frame_size: u32)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ParentHello {
    /// The parent's [`PROTOCOL_VERSION`].
    pub version: u16,
    /// The largest body either side may send from now on.
    pub max_frame_size: u32,
}

impl ParentHello {
    /// A hello of our [`PROTOCOL_VERSION`].
    pub fn new(max_frame_size: u32) -> Self {
        ParentHello {
            version: PROTOCOL_VERSION,
            max_frame_size,
        }
    }

    /// Appends the body to `body`.
    ///
    /// # Errors
    ///
    /// [`EncodeError::Postcard`], which postcard never returns for integers.
    ///
    /// # Examples
    ///
    /// ```
    /// use proc_exec::wire::ParentHello;
    ///
    /// let mut body = Vec::new();
    /// // Version 2, then 1 MiB as a varint.
    /// ParentHello::new(1 << 20).encode(&mut body).unwrap();
    /// assert_eq!(body, [0x02, 0x80, 0x80, 0x40]);
    /// assert_eq!(ParentHello::parse(&body), Ok(ParentHello::new(1 << 20)));
    /// ```
    pub fn encode(&self, body: &mut Vec<u8>) -> Result<(), EncodeError> {
        append_postcard(&(self.version, self.max_frame_size), body).map_err(EncodeError::Postcard)
    }

    /// Parses a whole `Hello` body.
    ///
    /// # Errors
    ///
    /// [`DecodeError::VersionMismatch`] if the version is not ours (checked
    /// first, since another version may lay out the rest differently);
    /// [`DecodeError::BadBody`] if the body is not exactly the canonical
    /// encoding of the tuple.
    pub fn parse(body: &[u8]) -> Result<Self, DecodeError> {
        let (version, max_frame_size) = parse_versioned(Kind::Hello, body)?;
        Ok(ParentHello {
            version,
            max_frame_size,
        })
    }
}

/// The body of [`Kind::Ready`]: postcard of `(version: u16, pid: u32)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WorkerReady {
    /// The worker's [`PROTOCOL_VERSION`].
    pub version: u16,
    /// The worker's process id.
    pub pid: u32,
}

impl WorkerReady {
    /// A ready message of our [`PROTOCOL_VERSION`].
    pub fn new(pid: u32) -> Self {
        WorkerReady {
            version: PROTOCOL_VERSION,
            pid,
        }
    }

    /// Appends the body to `body`.
    ///
    /// # Errors
    ///
    /// [`EncodeError::Postcard`], which postcard never returns for integers.
    pub fn encode(&self, body: &mut Vec<u8>) -> Result<(), EncodeError> {
        append_postcard(&(self.version, self.pid), body).map_err(EncodeError::Postcard)
    }

    /// Parses a whole `Ready` body.
    ///
    /// # Errors
    ///
    /// As [`ParentHello::parse`].
    pub fn parse(body: &[u8]) -> Result<Self, DecodeError> {
        let (version, pid) = parse_versioned(Kind::Ready, body)?;
        Ok(WorkerReady { version, pid })
    }
}

/// Which function a worker runs: the head of every `Init` and `Run` body.
///
/// Both are code addresses relative to an anchor in the binary, chosen by
/// the pool; this layer only carries them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CallRef {
    /// The task function.
    pub function: i64,
    /// The monomorphized trampoline that decodes the arguments, calls
    /// `function` and encodes its outcome.
    pub trampoline: i64,
}

/// Appends a call head, postcard of `(function: i64, trampoline: i64)`, to
/// `body`. The argument bytes are appended after it by the caller.
///
/// # Errors
///
/// [`EncodeError::Postcard`], which postcard never returns for integers.
///
/// # Examples
///
/// ```
/// use proc_exec::wire::{CallRef, encode_call, parse_call};
///
/// let call = CallRef { function: 1000, trampoline: -24 };
/// let mut body = Vec::new();
/// encode_call(&mut body, call).unwrap();
/// body.extend_from_slice(&[0x03, 0x04]);
/// assert_eq!(body, [0xd0, 0x0f, 0x2f, 0x03, 0x04]);
/// assert_eq!(parse_call(&body), Ok((call, &[0x03, 0x04][..])));
/// ```
pub fn encode_call(body: &mut Vec<u8>, call: CallRef) -> Result<(), EncodeError> {
    append_postcard(&(call.function, call.trampoline), body).map_err(EncodeError::Postcard)
}

/// Splits an `Init` or `Run` body into its call head and the argument bytes.
///
/// # Errors
///
/// [`DecodeError::BadCallHead`] if the body does not start with the
/// canonical encoding of two `i64`s.
pub fn parse_call(body: &[u8]) -> Result<(CallRef, &[u8]), DecodeError> {
    let ((function, trampoline), args) =
        take_canonical::<(i64, i64)>(body).map_err(|reason| DecodeError::BadCallHead { reason })?;
    Ok((
        CallRef {
            function,
            trampoline,
        },
        args,
    ))
}

/// The version-checked `(u16, u32)` body shared by `Hello` and `Ready`.
fn parse_versioned(kind: Kind, body: &[u8]) -> Result<(u16, u32), DecodeError> {
    // The version is compared before anything else is checked: the body of
    // another protocol version is a mismatch, not a malformed body.
    if let Ok((theirs, _)) = postcard::take_from_bytes::<u16>(body) {
        if theirs != PROTOCOL_VERSION {
            return Err(DecodeError::VersionMismatch {
                ours: PROTOCOL_VERSION,
                theirs,
            });
        }
    }
    let (pair, rest) = take_canonical::<(u16, u32)>(body)
        .map_err(|reason| DecodeError::BadBody { kind, reason })?;
    if !rest.is_empty() {
        return Err(DecodeError::BadBody {
            kind,
            reason: "has bytes after its last field",
        });
    }
    Ok(pair)
}

/// Decodes one `T` from the front of `bytes` and checks that the bytes used
/// are exactly what encoding it again gives. Returns the value and the
/// bytes after it.
fn take_canonical<'a, T>(bytes: &'a [u8]) -> Result<(T, &'a [u8]), &'static str>
where
    T: Serialize + Deserialize<'a>,
{
    let (value, rest) = postcard::take_from_bytes::<T>(bytes).map_err(|err| match err {
        postcard::Error::DeserializeUnexpectedEnd => "ends before its last field",
        postcard::Error::DeserializeBadVarint => "has a varint out of its field's range",
        _ => "is not valid postcard",
    })?;
    let used = bytes
        .len()
        .checked_sub(rest.len())
        .and_then(|used| bytes.get(..used));
    let mut scratch = [0u8; SCRATCH_LEN];
    let again = postcard::to_slice(&value, &mut scratch).ok();
    match (used, again) {
        (Some(used), Some(again)) if used == &again[..] => Ok((value, rest)),
        _ => Err("has an overlong (non-canonical) varint"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The current version as its one-byte varint.
    const V: u8 = PROTOCOL_VERSION as u8;

    #[test]
    fn control_bodies_round_trip() {
        for max in [0, 1, 127, 128, 16_383, 16_384, u32::MAX] {
            let mut body = Vec::new();
            ParentHello::new(max).encode(&mut body).unwrap();
            assert_eq!(
                body,
                postcard::to_allocvec(&(PROTOCOL_VERSION, max)).unwrap()
            );
            assert_eq!(ParentHello::parse(&body), Ok(ParentHello::new(max)));

            let mut body = Vec::new();
            WorkerReady::new(max).encode(&mut body).unwrap();
            assert_eq!(WorkerReady::parse(&body), Ok(WorkerReady::new(max)));
        }
        for value in [0, 1, -1, 63, -64, 64, -65, i64::MAX, i64::MIN] {
            let call = CallRef {
                function: value,
                trampoline: value.wrapping_neg(),
            };
            let mut body = Vec::new();
            encode_call(&mut body, call).unwrap();
            assert_eq!(
                body,
                postcard::to_allocvec(&(call.function, call.trampoline)).unwrap()
            );
            body.extend_from_slice(b"args");
            assert_eq!(parse_call(&body), Ok((call, &b"args"[..])));
        }
    }

    #[test]
    fn version_is_checked_first() {
        // Another version followed by something that is not a valid u32
        // varint.
        assert_eq!(
            ParentHello::parse(&[0x7f, 0xff, 0xff, 0xff, 0xff, 0xff]),
            Err(DecodeError::VersionMismatch {
                ours: PROTOCOL_VERSION,
                theirs: 0x7f
            })
        );
        assert_eq!(
            WorkerReady::parse(&[0x80, 0x01]),
            Err(DecodeError::VersionMismatch {
                ours: PROTOCOL_VERSION,
                theirs: 128
            })
        );
    }

    #[test]
    fn malformed_control_bodies() {
        let bad = |reason| DecodeError::BadBody {
            kind: Kind::Hello,
            reason,
        };
        assert_eq!(
            ParentHello::parse(&[]),
            Err(bad("ends before its last field"))
        );
        assert_eq!(
            ParentHello::parse(&[V]),
            Err(bad("ends before its last field"))
        );
        assert_eq!(
            ParentHello::parse(&[V, 0x80]),
            Err(bad("ends before its last field"))
        );
        assert_eq!(
            ParentHello::parse(&[V, 0x05, 0x00]),
            Err(bad("has bytes after its last field"))
        );
        // The version written as two bytes.
        assert_eq!(
            ParentHello::parse(&[V | 0x80, 0x00, 0x05]),
            Err(bad("has an overlong (non-canonical) varint"))
        );
        assert_eq!(
            ParentHello::parse(&[V, 0x85, 0x80, 0x00]),
            Err(bad("has an overlong (non-canonical) varint"))
        );
        // A u32 varint whose fifth byte carries more than 4 bits.
        assert_eq!(
            ParentHello::parse(&[V, 0xff, 0xff, 0xff, 0xff, 0x1f]),
            Err(bad("has a varint out of its field's range"))
        );
        assert_eq!(
            WorkerReady::parse(&[V]),
            Err(DecodeError::BadBody {
                kind: Kind::Ready,
                reason: "ends before its last field"
            })
        );
    }

    #[test]
    fn malformed_call_heads() {
        let bad = |reason| Err(DecodeError::BadCallHead { reason });
        assert_eq!(parse_call(&[]), bad("ends before its last field"));
        assert_eq!(parse_call(&[0x02]), bad("ends before its last field"));
        assert_eq!(
            parse_call(&[0x82, 0x00, 0x02]),
            bad("has an overlong (non-canonical) varint")
        );
        assert_eq!(
            parse_call(&[
                0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f
            ]),
            bad("has a varint out of its field's range")
        );
        // The arguments are opaque: anything after the head is accepted.
        assert_eq!(
            parse_call(&[0x02, 0x03, 0x80]),
            Ok((
                CallRef {
                    function: 1,
                    trampoline: -2
                },
                &[0x80][..]
            ))
        );
    }
}
