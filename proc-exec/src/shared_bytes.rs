//! `SharedBytes`: a read-only byte buffer that crosses to a worker and back
//! in shared memory rather than through the pipe.

use std::fmt;
use std::ops::Deref;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::sync::Arc;

use serde::de::{Deserialize, Deserializer};
use serde::{Serialize, Serializer};

use crate::bytes::Bytes;
use crate::os::shm::{self, Mapped};
use crate::sync::Cell;

/// A read-only byte buffer that a pool passes to its workers, and back, in
/// shared memory.
///
/// From [`THRESHOLD`](Self::THRESHOLD) bytes on, the bytes live in a sealed
/// `memfd` mapped read-only. A task's argument or result of this type then
/// crosses as its descriptor, sent beside the frame over a socket, instead
/// of through the 64 KiB pipe: the bytes are copied once, into the memfd,
/// when the buffer is made, and never again (the worker and the parent map
/// the same pages). Below the threshold, or where no descriptor can be sent
/// (a [`Process`](crate::Process), `Json<T>`, another
/// serializer), it is encoded inline, like [`Bytes`].
///
/// Cloning is cheap (a reference count); the buffer is `Send + Sync`. Each
/// shared buffer holds one descriptor and one mapping, in every process
/// that holds it, until its last clone is dropped. So the shared results a
/// process keeps at once (a large map's, collected) count against its
/// `RLIMIT_NOFILE`: one that arrives when the table is full fails to
/// decode, its task's [`ResultDecode`](crate::TaskError::ResultDecode)
/// (a worker's: [`ArgDecode`](crate::TaskError::ArgDecode)) saying the
/// receiving process is out of file descriptors.
///
/// # Examples
///
/// ```
/// use proc_exec::{ProcessPoolExecutor, SharedBytes};
///
/// fn echo(data: SharedBytes) -> SharedBytes {
///     data
/// }
///
/// let pool = ProcessPoolExecutor::builder().max_workers(1).build().unwrap();
/// let data = SharedBytes::from(vec![7; 1 << 20]);
/// assert!(data.is_shared());
/// let back = pool.submit(echo, data.clone()).unwrap().into_result().unwrap();
/// assert_eq!(back, data);
/// ```
#[derive(Clone)]
pub struct SharedBytes(Repr);

#[derive(Clone)]
enum Repr {
    Inline(Arc<[u8]>),
    Mapped(Arc<Mapped>),
}

impl SharedBytes {
    /// The size from which the bytes live in shared memory: 64 KiB, the
    /// size of a pipe's default buffer. Below it a memfd, two `mmap`s and
    /// the descriptor's trip cost more than the copies they save.
    pub const THRESHOLD: usize = 64 * 1024;

    /// Copies `bytes` into a new buffer: into a sealed memfd from
    /// [`THRESHOLD`](Self::THRESHOLD) bytes on, on the heap below it or if
    /// the memfd cannot be made (the process is out of descriptors).
    ///
    /// # Examples
    ///
    /// ```
    /// use proc_exec::SharedBytes;
    ///
    /// let large = SharedBytes::copy_from_slice(&[1; SharedBytes::THRESHOLD]);
    /// assert_eq!(large.len(), SharedBytes::THRESHOLD);
    /// assert_eq!(large[0], 1);
    /// ```
    pub fn copy_from_slice(bytes: &[u8]) -> Self {
        if bytes.len() >= Self::THRESHOLD {
            if let Ok(mapped) = Mapped::copy_of(bytes) {
                return SharedBytes(Repr::Mapped(Arc::new(mapped)));
            }
        }
        SharedBytes(Repr::Inline(Arc::from(bytes)))
    }

    /// Whether the bytes live in shared memory (and so cross to a worker
    /// as a descriptor).
    ///
    /// # Examples
    ///
    /// ```
    /// use proc_exec::SharedBytes;
    ///
    /// assert!(!SharedBytes::from(vec![0; 100]).is_shared());
    /// assert!(SharedBytes::from(vec![0; 1 << 20]).is_shared());
    /// ```
    pub fn is_shared(&self) -> bool {
        matches!(self.0, Repr::Mapped(_))
    }

    /// The descriptor to send, for a shared buffer.
    fn fd(&self) -> Option<BorrowedFd<'_>> {
        match &self.0 {
            Repr::Mapped(mapped) => Some(mapped.fd()),
            Repr::Inline(_) => None,
        }
    }
}

impl Default for SharedBytes {
    fn default() -> Self {
        SharedBytes(Repr::Inline(Arc::from(&[][..])))
    }
}

impl Deref for SharedBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline(bytes) => bytes,
            Repr::Mapped(mapped) => mapped.bytes(),
        }
    }
}

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl From<&[u8]> for SharedBytes {
    fn from(bytes: &[u8]) -> Self {
        Self::copy_from_slice(bytes)
    }
}

impl From<Vec<u8>> for SharedBytes {
    fn from(bytes: Vec<u8>) -> Self {
        if bytes.len() >= Self::THRESHOLD {
            return Self::copy_from_slice(&bytes);
        }
        // Small: the heap buffer is reused, no copy.
        SharedBytes(Repr::Inline(Arc::from(bytes)))
    }
}

impl From<Bytes> for SharedBytes {
    fn from(bytes: Bytes) -> Self {
        Self::from(bytes.0)
    }
}

impl PartialEq for SharedBytes {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for SharedBytes {}

impl fmt::Debug for SharedBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let place = if self.is_shared() { "shared" } else { "inline" };
        write!(f, "SharedBytes({} bytes, {place})", self.len())
    }
}

/// How a `SharedBytes` is encoded: its bytes, or the index of its
/// descriptor among those sent beside the frame and its length (checked
/// against the memfd's size on arrival). An enum of two variants, written
/// by hand rather than derived: proc-exec does not need serde's derive
/// macros for anything else.
enum Encoded<'a> {
    Inline(Raw<'a>),
    Shared(u32, u64),
}

/// `Encoded`'s name and variants, as serde sees them.
const ENUM: &str = "Encoded";
const VARIANTS: &[&str] = &["Inline", "Shared"];

impl Serialize for Encoded<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTupleVariant;
        match self {
            Self::Inline(raw) => serializer.serialize_newtype_variant(ENUM, 0, VARIANTS[0], raw),
            Self::Shared(index, len) => {
                let mut fields = serializer.serialize_tuple_variant(ENUM, 1, VARIANTS[1], 2)?;
                fields.serialize_field(index)?;
                fields.serialize_field(len)?;
                fields.end()
            }
        }
    }
}

/// What an `Encoded` decodes to.
enum Decoded {
    Inline(Bytes),
    Shared(u32, u64),
}

impl<'de> Deserialize<'de> for Decoded {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_enum(ENUM, VARIANTS, DecodedVisitor)
    }
}

struct DecodedVisitor;

impl<'de> serde::de::Visitor<'de> for DecodedVisitor {
    type Value = Decoded;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a SharedBytes: its bytes, or a descriptor's index and length")
    }

    fn visit_enum<A: serde::de::EnumAccess<'de>>(self, data: A) -> Result<Decoded, A::Error> {
        use serde::de::{Error, Unexpected, VariantAccess};
        let (variant, fields) = data.variant::<u32>()?;
        match variant {
            0 => fields.newtype_variant().map(Decoded::Inline),
            1 => fields.tuple_variant(2, SharedVisitor),
            other => Err(A::Error::invalid_value(
                Unexpected::Unsigned(other.into()),
                &"variant 0 (inline) or 1 (shared)",
            )),
        }
    }
}

/// The fields of `Decoded::Shared`.
struct SharedVisitor;

impl<'de> serde::de::Visitor<'de> for SharedVisitor {
    type Value = Decoded;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a descriptor's index and a length")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Decoded, A::Error> {
        use serde::de::Error;
        let index = seq
            .next_element()?
            .ok_or_else(|| A::Error::invalid_length(0, &self))?;
        let len = seq
            .next_element()?
            .ok_or_else(|| A::Error::invalid_length(1, &self))?;
        Ok(Decoded::Shared(index, len))
    }
}

/// Bytes encoded as one block (`serialize_bytes`), borrowed.
struct Raw<'a>(&'a [u8]);

impl Serialize for Raw<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.0)
    }
}

thread_local! {
    /// While a frame is encoded on this thread: the shared buffers its
    /// body names, in index order.
    static OUTGOING: Cell<Option<Vec<SharedBytes>>> = const { Cell::new(None) };
    /// While a frame is decoded on this thread: the descriptors that came
    /// beside it.
    static INCOMING: Cell<Option<Incoming>> = const { Cell::new(None) };
    /// Why the last shared payload could not be received: postcard keeps
    /// only that a custom error happened, not its text.
    static REFUSED: Cell<Option<String>> = const { Cell::new(None) };
}

/// Takes the reason the last shared payload decoded on this thread was
/// refused, if one was since the last call.
pub(crate) fn take_refusal() -> Option<String> {
    REFUSED.with(Cell::take)
}

fn refuse<E: serde::de::Error>(reason: String) -> E {
    let error = E::custom(&reason);
    REFUSED.with(|cell| cell.set(Some(reason)));
    error
}

impl Serialize for SharedBytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let shared = self.fd().is_some().then(|| {
            OUTGOING.with(|cell| {
                let mut outgoing = cell.take()?;
                let index = (outgoing.len() < shm::MAX_FDS).then(|| {
                    outgoing.push(self.clone());
                    outgoing.len() - 1
                });
                cell.set(Some(outgoing));
                index
            })
        });
        match shared.flatten() {
            Some(index) => Encoded::Shared(index as u32, self.len() as u64).serialize(serializer),
            None => Encoded::Inline(Raw(self)).serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for SharedBytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Decoded::deserialize(deserializer)? {
            Decoded::Inline(bytes) => Ok(SharedBytes(Repr::Inline(Arc::from(bytes.0)))),
            Decoded::Shared(index, len) => {
                let (fd, cut) = INCOMING.with(|cell| {
                    let Some(mut incoming) = cell.take() else {
                        return (None, false);
                    };
                    let fd = incoming.fds.get_mut(index as usize).and_then(Option::take);
                    let cut = incoming.cut;
                    cell.set(Some(incoming));
                    (fd, cut)
                });
                let fd = fd.ok_or_else(|| {
                    refuse::<D::Error>(if cut {
                        format!(
                            "shared payload #{index} ({len} bytes) was dropped on arrival: \
                             the receiving process is out of file descriptors (RLIMIT_NOFILE)"
                        )
                    } else {
                        format!(
                            "shared payload #{index} ({len} bytes) has no descriptor beside its frame"
                        )
                    })
                })?;
                let mapped = Mapped::receive(fd, len).map_err(refuse::<D::Error>)?;
                Ok(SharedBytes(Repr::Mapped(Arc::new(mapped))))
            }
        }
    }
}

/// Runs `encode` (which encodes one frame's body) with shared buffers
/// encoded as descriptors, and returns them in index order.
pub(crate) fn encoding<T>(encode: impl FnOnce() -> T) -> (T, Vec<SharedBytes>) {
    let before = OUTGOING.with(|cell| cell.replace(Some(Vec::new())));
    let restore = Restore(Some(before), &OUTGOING);
    let value = encode();
    let outgoing = OUTGOING.with(Cell::take).unwrap_or_default();
    drop(restore);
    (value, outgoing)
}

/// The descriptors that came beside one frame, each taken by the one index
/// that names it.
#[derive(Default)]
pub(crate) struct Incoming {
    fds: Vec<Option<OwnedFd>>,
    /// The kernel dropped some of them: the receiving process's descriptor
    /// table was full. A payload whose descriptor is missing says so.
    cut: bool,
}

/// Runs `decode` with `fds` (those sent beside the frame being decoded)
/// for its shared payloads to take; puts back the ones not taken.
pub(crate) fn decoding<T>(fds: &mut Incoming, decode: impl FnOnce() -> T) -> T {
    let before = INCOMING.with(|cell| cell.replace(Some(std::mem::take(fds))));
    let restore = Restore(Some(before), &INCOMING);
    let value = decode();
    *fds = INCOMING.with(Cell::take).unwrap_or_default();
    drop(restore);
    value
}

/// Takes the descriptors of the frame being decoded on this thread, for a
/// decoder that runs later (a chunk's items are decoded by the thread
/// that takes them).
pub(crate) fn take_incoming() -> Incoming {
    INCOMING.with(|cell| {
        let incoming = cell.take();
        if incoming.is_some() {
            cell.set(Some(Incoming::default()));
        }
        incoming.unwrap_or_default()
    })
}

/// The descriptors of a received frame, ready for [`decoding`]; `cut`: the
/// kernel dropped some (see [`recv_fds`](crate::os::shm::recv_fds)).
pub(crate) fn received((fds, cut): (Vec<OwnedFd>, bool)) -> Incoming {
    Incoming {
        fds: fds.into_iter().map(Some).collect(),
        cut,
    }
}

/// The descriptors to send for `shared`, in index order.
pub(crate) fn fds(shared: &[SharedBytes]) -> Vec<BorrowedFd<'_>> {
    shared.iter().filter_map(SharedBytes::fd).collect()
}

/// Puts a thread-local back as it was, also when the code between panics.
struct Restore<T: 'static>(Option<T>, &'static std::thread::LocalKey<Cell<T>>);

impl<T: 'static> Drop for Restore<T> {
    fn drop(&mut self) {
        if let Some(before) = self.0.take() {
            self.1.with(|cell| drop(cell.replace(before)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_buffers_stay_inline_and_encode_as_bytes_do() {
        let small = SharedBytes::from(vec![1, 2, 3]);
        assert!(!small.is_shared());
        let ((), outgoing) = encoding(|| {
            let encoded = postcard::to_allocvec(&small).unwrap();
            // Variant 0, then the bytes as `Bytes` encodes them.
            assert_eq!(encoded, [0, 3, 1, 2, 3]);
        });
        assert!(outgoing.is_empty());
    }

    #[test]
    fn large_buffers_cross_as_descriptors() {
        let data: Vec<u8> = (0..SharedBytes::THRESHOLD as u32 + 5)
            .map(|i| i as u8)
            .collect();
        let large = SharedBytes::from(data.clone());
        assert!(large.is_shared());
        let (encoded, outgoing) = encoding(|| postcard::to_allocvec(&large).unwrap());
        assert_eq!(outgoing.len(), 1);
        // Outside a frame: inline, so any serializer still works.
        let inline = postcard::to_allocvec(&large).unwrap();
        assert_eq!(inline.len(), data.len() + 4);

        let fds = fds(&outgoing)
            .into_iter()
            .map(|fd| fd.try_clone_to_owned().unwrap())
            .collect();
        let mut fds = received((fds, false));
        let back: SharedBytes = decoding(&mut fds, || postcard::from_bytes(&encoded).unwrap());
        assert!(back.is_shared());
        assert_eq!(&back[..], &data[..]);
        assert!(fds.fds.iter().all(Option::is_none));

        // Named twice, or without a descriptor: an error, not a panic.
        let twice = decoding(&mut fds, || postcard::from_bytes::<SharedBytes>(&encoded));
        assert!(twice.is_err());
        let reason = take_refusal().unwrap();
        assert!(
            reason.contains("has no descriptor beside its frame"),
            "{reason}"
        );
        assert!(postcard::from_bytes::<SharedBytes>(&encoded).is_err());
    }
}
