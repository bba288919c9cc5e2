//! `Bytes`: a byte buffer that crosses the pipe as one block.

use std::fmt;
use std::ops::{Deref, DerefMut};

use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};
use serde::{Serialize, Serializer};

/// A `Vec<u8>` that serializes as one block of bytes.
///
/// serde sees a `Vec<u8>` as a sequence of `u8`s and encodes it one element
/// at a time (about 1 ms per MiB each way); `Bytes` is encoded with one copy.
/// Use it for large binary arguments and results. From 64 KiB on,
/// [`SharedBytes`](crate::SharedBytes) is faster still: it crosses to the
/// worker in shared memory instead of through the pipe.
///
/// It serializes as `serde_bytes::ByteBuf` (and `#[serde(with =
/// "serde_bytes")]` on a `Vec<u8>`) does, through `serialize_bytes`, so the
/// encodings are the same and either side may use either type.
///
/// # Examples
///
/// ```
/// use proc_exec::{Bytes, ProcessPoolExecutor};
///
/// fn checksum(data: Bytes) -> u64 {
///     data.iter().map(|&b| u64::from(b)).sum()
/// }
///
/// let pool = ProcessPoolExecutor::builder().max_workers(1).build().unwrap();
/// let data = Bytes(vec![1; 1 << 20]);
/// assert_eq!(pool.submit(checksum, data).unwrap().into_result().unwrap(), 1 << 20);
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bytes(pub Vec<u8>);

impl Deref for Bytes {
    type Target = Vec<u8>;

    fn deref(&self) -> &Vec<u8> {
        &self.0
    }
}

impl DerefMut for Bytes {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.0
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(bytes: Vec<u8>) -> Self {
        Bytes(bytes)
    }
}

impl From<Bytes> for Vec<u8> {
    fn from(bytes: Bytes) -> Self {
        bytes.0
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bytes({} bytes)", self.0.len())
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_byte_buf(BytesVisitor)
    }
}

struct BytesVisitor;

impl<'de> Visitor<'de> for BytesVisitor {
    type Value = Bytes;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a byte buffer")
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Bytes, E> {
        Ok(Bytes(bytes.to_vec()))
    }

    fn visit_byte_buf<E: de::Error>(self, bytes: Vec<u8>) -> Result<Bytes, E> {
        Ok(Bytes(bytes))
    }

    // Self-describing formats may hand a byte string over as a sequence.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Bytes, A::Error> {
        let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 20));
        while let Some(byte) = seq.next_element()? {
            bytes.push(byte);
        }
        Ok(Bytes(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_as_a_length_and_the_bytes() {
        let encoded = postcard::to_allocvec(&Bytes(vec![7, 8, 9])).unwrap();
        assert_eq!(encoded, [3, 7, 8, 9]);
        let decoded: Bytes = postcard::from_bytes(&encoded).unwrap();
        assert_eq!(decoded, Bytes(vec![7, 8, 9]));
        // The same bytes as a `Vec<u8>`: the encodings agree.
        assert_eq!(postcard::to_allocvec(&vec![7u8, 8, 9]).unwrap(), encoded);
    }

    #[test]
    fn encodes_as_serde_bytes_does() {
        let ours = postcard::to_allocvec(&Bytes(vec![0, 255, 9])).unwrap();
        let theirs = postcard::to_allocvec(&serde_bytes::ByteBuf::from(vec![0, 255, 9])).unwrap();
        assert_eq!(ours, theirs);
        let back: serde_bytes::ByteBuf = postcard::from_bytes(&ours).unwrap();
        assert_eq!(back.into_vec(), [0, 255, 9]);
        let back: Bytes = postcard::from_bytes(&theirs).unwrap();
        assert_eq!(back, Bytes(vec![0, 255, 9]));
    }
}
