//! Values in and out of postcard, for arguments and results.

use std::panic::{AssertUnwindSafe, catch_unwind};

use postcard::ser_flavors::Flavor;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::TaskError;
use crate::wire::{Outcome, OutcomeTag, Outcomes};

/// Appends a value to a buffer that already holds other bytes (a frame
/// being built). On error the buffer may hold part of the value; callers
/// truncate back to where they started.
pub(crate) fn encode_into<T: Serialize + ?Sized>(
    value: &T,
    buf: &mut Vec<u8>,
) -> Result<(), postcard::Error> {
    postcard::serialize_with_flavor(value, Append(buf))
}

/// A postcard flavor that appends to a borrowed `Vec`.
struct Append<'a>(&'a mut Vec<u8>);

impl Flavor for Append<'_> {
    type Output = ();

    #[inline]
    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        // Postcard hands most values over as varints of a few bytes. A copy
        // of unknown length is a call into the C library's memcpy, which
        // costs more than the copy: the short lengths get copies of a known
        // one (measured: a map of 1M `u64`s spent ~9% of its CPU time in
        // memcpy here, in the parent and in the workers).
        let out = &mut *self.0;
        match *data {
            [a] => out.push(a),
            [a, b] => out.extend_from_slice(&[a, b]),
            [a, b, c] => out.extend_from_slice(&[a, b, c]),
            [a, b, c, d] => out.extend_from_slice(&[a, b, c, d]),
            [a, b, c, d, e] => out.extend_from_slice(&[a, b, c, d, e]),
            _ => out.extend_from_slice(data),
        }
        Ok(())
    }

    #[inline]
    fn try_push(&mut self, data: u8) -> postcard::Result<()> {
        self.0.push(data);
        Ok(())
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

/// Decodes exactly one value from `bytes` (trailing bytes are an error).
///
/// `T`'s `Deserialize` is user code, run here on whichever thread decodes
/// (the pool's manager thread, for a single task's result): a panic in it is
/// caught and becomes the error, naming the panic.
#[inline]
pub(crate) fn decode_exact<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    drop(crate::shared_bytes::take_refusal());
    let decoded = catch_unwind(AssertUnwindSafe(|| postcard::take_from_bytes::<T>(bytes)));
    match decoded {
        Ok(Ok((value, []))) => Ok(value),
        Ok(Ok((value, rest))) => {
            crate::panic::contain(|| drop(value));
            Err(format!("{} bytes left over after the value", rest.len()))
        }
        // A refused shared payload says why; postcard keeps no text.
        Ok(Err(error)) => {
            Err(crate::shared_bytes::take_refusal().unwrap_or_else(|| error.to_string()))
        }
        Err(payload) => Err(format!(
            "its Deserialize panicked: {}",
            crate::panic::into_message(payload)
        )),
    }
}

/// Decodes a task's own error value (`Raised` outcome).
pub(crate) type RaisedDecoder<E> = fn(&[u8]) -> Result<E, String>;

/// For functions that return `Result<R, E>`.
pub(crate) fn decode_raised<E: DeserializeOwned>(bytes: &[u8]) -> Result<E, String> {
    decode_exact(bytes)
}

/// For plain functions, which never raise: a `Raised` outcome is nonsense.
pub(crate) fn no_raised(_: &[u8]) -> Result<std::convert::Infallible, String> {
    Err("a plain function's worker sent an error value".to_owned())
}

/// The task's result from a one-item outcome list.
pub(crate) fn decode_single<R: DeserializeOwned, E>(
    outcomes: Outcomes<'_>,
    raised: RaisedDecoder<E>,
) -> Result<R, TaskError<E>> {
    let mut items = outcomes.into_iter();
    let (Some(outcome), None) = (items.next(), items.next()) else {
        return Err(TaskError::ResultDecode(
            "the worker did not send exactly one outcome".to_owned(),
        ));
    };
    decode_outcome(outcome, raised)
}

/// One item's result from its outcome.
#[inline]
pub(crate) fn decode_outcome<R: DeserializeOwned, E>(
    outcome: Outcome<'_>,
    raised: RaisedDecoder<E>,
) -> Result<R, TaskError<E>> {
    // A worker cuts its texts to fit the frame, down to nothing if need be.
    let text = || match String::from_utf8_lossy(outcome.bytes).into_owned() {
        text if text.is_empty() => default_text(outcome.tag).to_owned(),
        text => text,
    };
    match outcome.tag {
        OutcomeTag::Returned => decode_exact::<R>(outcome.bytes).map_err(TaskError::ResultDecode),
        OutcomeTag::Raised => match raised(outcome.bytes) {
            Ok(error) => Err(TaskError::Raised(error)),
            Err(message) => Err(TaskError::ResultDecode(message)),
        },
        OutcomeTag::Panicked => Err(TaskError::Panicked(text())),
        OutcomeTag::ResultEncode => Err(TaskError::ResultEncode(text())),
        OutcomeTag::ArgDecode => Err(TaskError::ArgDecode(text())),
        OutcomeTag::TooLarge => Err(TaskError::ResultTooLarge(text())),
    }
}

/// What an error outcome says when the worker had no room left for its text.
fn default_text(tag: OutcomeTag) -> &'static str {
    match tag {
        OutcomeTag::TooLarge => {
            "the encoded result was above the frame limit (no room to say more)"
        }
        OutcomeTag::ResultEncode => "the result could not be serialized (no room to say why)",
        OutcomeTag::ArgDecode => "the argument could not be deserialized (no room to say why)",
        _ => "(the worker had no room left in the frame for the message)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Append` writes what postcard's own `Vec` flavor writes, for every
    /// varint length and for slices past the short ones, after bytes
    /// already in the buffer.
    #[test]
    fn append_matches_postcard() {
        let mut values: Vec<u64> = (0..64).map(|shift| 1u64 << shift).collect();
        values.extend([0, 127, 128, 16_383, 16_384, u64::MAX]);
        for value in values {
            let mut buf = vec![0xAA];
            encode_into(&value, &mut buf).unwrap();
            assert_eq!(
                buf[1..],
                postcard::to_allocvec(&value).unwrap()[..],
                "{value}"
            );
        }
        for len in 0..40 {
            let text = "x".repeat(len);
            let value = (len as u32, text, vec![7u8; len]);
            let mut buf = vec![0xAA];
            encode_into(&value, &mut buf).unwrap();
            assert_eq!(
                buf[1..],
                postcard::to_allocvec(&value).unwrap()[..],
                "{len}"
            );
        }
    }
}
