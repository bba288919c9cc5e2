//! Outcome lists: the bodies of `Done` and `InitFailed`.
//!
//! ```text
//! count: u32 LE, then `count` items of
//!     tag: u8, len: u32 LE, `len` bytes
//! ```
//!
//! The lengths are fixed-width on purpose: a writer reserves them, encodes
//! an item of unknown size straight after, and patches them, so a result is
//! serialized once, into the frame, never into a scratch buffer first.

use core::fmt;
use core::str;

use super::error::{DecodeError, EncodeError, ItemError};
use super::header::Kind;

/// Bytes in front of the items: the count.
const COUNT_LEN: usize = 4;
/// Bytes in front of each item's bytes: the tag and the length.
const ITEM_HEAD_LEN: usize = 5;

/// What happened to one work item (or to the initializer); the first byte
/// of an outcome item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum OutcomeTag {
    /// The task returned; the bytes are postcard of its return value.
    Returned = 0,
    /// The task returned its own error; the bytes are postcard of that error.
    Raised = 1,
    /// The task panicked; the bytes are the panic message (UTF-8).
    Panicked = 2,
    /// The worker could not serialize the task's result; the bytes say why (UTF-8).
    ResultEncode = 3,
    /// The worker could not deserialize the task's argument; the bytes say why (UTF-8).
    ArgDecode = 4,
    /// The encoded result did not fit in the maximum frame size; the bytes
    /// say how large it was (UTF-8).
    TooLarge = 5,
}

impl OutcomeTag {
    /// Every tag, in byte order.
    pub const ALL: [OutcomeTag; 6] = [
        OutcomeTag::Returned,
        OutcomeTag::Raised,
        OutcomeTag::Panicked,
        OutcomeTag::ResultEncode,
        OutcomeTag::ArgDecode,
        OutcomeTag::TooLarge,
    ];

    /// The tag with this byte value, if there is one.
    pub const fn from_u8(byte: u8) -> Option<OutcomeTag> {
        match byte {
            0 => Some(OutcomeTag::Returned),
            1 => Some(OutcomeTag::Raised),
            2 => Some(OutcomeTag::Panicked),
            3 => Some(OutcomeTag::ResultEncode),
            4 => Some(OutcomeTag::ArgDecode),
            5 => Some(OutcomeTag::TooLarge),
            _ => None,
        }
    }

    /// Whether the item's bytes are UTF-8 text written by the worker
    /// (everything but `Returned` and `Raised`, whose bytes are the task's
    /// own postcard values).
    pub const fn is_text(self) -> bool {
        !matches!(self, OutcomeTag::Returned | OutcomeTag::Raised)
    }
}

/// One item of a validated outcome list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome<'a> {
    /// What happened.
    pub tag: OutcomeTag,
    /// The item's bytes; UTF-8 if [`OutcomeTag::is_text`].
    pub bytes: &'a [u8],
}

impl<'a> Outcome<'a> {
    /// The text of a text outcome; `None` for `Returned` and `Raised`.
    pub fn text(&self) -> Option<&'a str> {
        if self.tag.is_text() {
            str::from_utf8(self.bytes).ok()
        } else {
            None
        }
    }
}

/// The items of a validated outcome list, in order.
///
/// Made by [`parse_outcomes`], which has already checked every item, so
/// iterating cannot fail. [`len`](ExactSizeIterator::len) is the number of
/// items not yet taken.
#[derive(Clone)]
pub struct Outcomes<'a> {
    /// The items not yet taken.
    rest: &'a [u8],
    /// How many they are.
    remaining: u32,
}

impl<'a> Iterator for Outcomes<'a> {
    type Item = Outcome<'a>;

    fn next(&mut self) -> Option<Outcome<'a>> {
        let remaining = self.remaining.checked_sub(1)?;
        match split_item(self.rest) {
            Some((tag, bytes, rest)) => {
                // Validated by `parse_outcomes`, so the tag is known.
                let tag = OutcomeTag::from_u8(tag)?;
                self.rest = rest;
                self.remaining = remaining;
                Some(Outcome { tag, bytes })
            }
            None => {
                self.remaining = 0;
                None
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::try_from(self.remaining).unwrap_or(usize::MAX);
        (n, Some(n))
    }
}

impl ExactSizeIterator for Outcomes<'_> {}

impl core::iter::FusedIterator for Outcomes<'_> {}

impl fmt::Debug for Outcomes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.clone()).finish()
    }
}

/// The items of a validated outcome list, copied out of the buffer they were
/// read from and taken one at a time.
///
/// An [`Outcomes`] borrows the reader's buffer, which is reused for the next
/// frame; this keeps the undecoded bytes instead (about as many as the
/// encoded results), so the values can be decoded later, elsewhere (for a
/// chunk of a `map`, by the thread that reads the results rather than by
/// the one that reads the pipes). The bytes were checked by
/// [`parse_outcomes`] and are not checked again.
///
/// # Examples
///
/// ```
/// use proc_exec::wire::{OutcomeTag, OutcomeWriter, OwnedOutcomes, parse_outcomes};
///
/// let mut body = Vec::new();
/// let mut list = OutcomeWriter::begin(&mut body, 1024);
/// list.item_bytes(OutcomeTag::Returned, &[0x0e]).unwrap();
/// list.item_bytes(OutcomeTag::Panicked, b"boom").unwrap();
/// list.finish().unwrap();
///
/// let mut owned = OwnedOutcomes::new(parse_outcomes(&body).unwrap());
/// drop(body);
/// assert_eq!(owned.len(), 2);
/// assert_eq!(owned.next_item().map(|o| o.bytes), Some(&[0x0e][..]));
/// assert_eq!(owned.next_item().and_then(|o| o.text()), Some("boom"));
/// assert!(owned.next_item().is_none());
/// ```
#[derive(Clone, Default)]
pub struct OwnedOutcomes {
    /// The items, from the first one not yet taken at `taken` on.
    bytes: Vec<u8>,
    taken: usize,
    remaining: u32,
}

impl OwnedOutcomes {
    /// Copies the items `outcomes` has not yielded yet.
    pub fn new(outcomes: Outcomes<'_>) -> Self {
        OwnedOutcomes {
            bytes: outcomes.rest.to_vec(),
            taken: 0,
            remaining: outcomes.remaining,
        }
    }

    /// Items not yet taken.
    pub fn len(&self) -> usize {
        usize::try_from(self.remaining).unwrap_or(usize::MAX)
    }

    /// True once every item was taken.
    pub fn is_empty(&self) -> bool {
        self.remaining == 0
    }

    /// The next item (its bytes borrowed from this list), or `None` once
    /// every item was taken.
    pub fn next_item(&mut self) -> Option<Outcome<'_>> {
        let mut rest = Outcomes {
            rest: self.bytes.get(self.taken..)?,
            remaining: self.remaining,
        };
        let item = rest.next()?;
        self.taken = self.bytes.len() - rest.rest.len();
        self.remaining = rest.remaining;
        Some(item)
    }

    /// The bytes of the items not yet taken.
    pub(crate) fn bytes_left(&self) -> usize {
        self.bytes.len().saturating_sub(self.taken)
    }

    /// The items not yet taken, as a borrowed list.
    pub fn outcomes(&self) -> Outcomes<'_> {
        Outcomes {
            rest: self.bytes.get(self.taken..).unwrap_or_default(),
            remaining: self.remaining,
        }
    }
}

impl fmt::Debug for OwnedOutcomes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.outcomes(), f)
    }
}

/// The smallest outcome list of `items` items, in bytes: the count and an
/// empty item each. A `Run` of more items than a `Done` of the maximum frame
/// size can answer this way cannot be answered at all, so it is not sent.
///
/// ```
/// assert_eq!(proc_exec::wire::min_outcomes_len(3), 19);
/// ```
pub const fn min_outcomes_len(items: usize) -> usize {
    COUNT_LEN.saturating_add(items.saturating_mul(ITEM_HEAD_LEN))
}

/// Validates a whole `Done` body and returns its items.
///
/// Everything is checked before the first item is returned: the count (at
/// least one), every length, every tag, the UTF-8 of every text item, and
/// that no byte follows the last item.
///
/// # Errors
///
/// [`DecodeError::BadBody`] (with kind `Done`) for a wrong layout,
/// [`DecodeError::UnknownOutcomeTag`], [`DecodeError::BadUtf8`].
///
/// # Examples
///
/// ```
/// use proc_exec::wire::{OutcomeTag, OutcomeWriter, parse_outcomes};
///
/// let mut body = Vec::new();
/// let mut list = OutcomeWriter::begin(&mut body, 1024);
/// list.item_bytes(OutcomeTag::Returned, &[0x0e]).unwrap();
/// list.item_bytes(OutcomeTag::Panicked, b"boom").unwrap();
/// list.finish().unwrap();
///
/// let outcomes = parse_outcomes(&body).unwrap();
/// assert_eq!(outcomes.len(), 2);
/// let texts: Vec<_> = outcomes.map(|o| o.text()).collect();
/// assert_eq!(texts, [None, Some("boom")]);
/// ```
pub fn parse_outcomes(body: &[u8]) -> Result<Outcomes<'_>, DecodeError> {
    validate(Kind::Done, body)
}

/// Parses an `InitFailed` body: an outcome list of exactly one item, which
/// is not [`Returned`](OutcomeTag::Returned).
///
/// # Errors
///
/// As [`parse_outcomes`] (with kind `InitFailed`), and
/// [`DecodeError::BadBody`] for more than one item or a `Returned` item.
pub fn parse_init_failed(body: &[u8]) -> Result<Outcome<'_>, DecodeError> {
    let bad = |reason| DecodeError::BadBody {
        kind: Kind::InitFailed,
        reason,
    };
    let mut items = validate(Kind::InitFailed, body)?;
    if items.len() != 1 {
        return Err(bad("holds more than one outcome"));
    }
    match items.next() {
        Some(Outcome {
            tag: OutcomeTag::Returned,
            ..
        }) => Err(bad("holds a Returned outcome, which is not a failure")),
        Some(outcome) => Ok(outcome),
        None => Err(bad("holds no outcome")),
    }
}

/// Appends an `InitFailed` body (a list of one item) to `body`, which must
/// not grow beyond `max_len` bytes for it.
///
/// # Errors
///
/// [`EncodeError::BadFrame`] for a `Returned` tag,
/// [`EncodeError::FrameTooLarge`], [`EncodeError::BadUtf8`]. `body` is
/// then unchanged.
pub fn encode_init_failed(
    body: &mut Vec<u8>,
    tag: OutcomeTag,
    bytes: &[u8],
    max_len: u32,
) -> Result<(), EncodeError> {
    if tag == OutcomeTag::Returned {
        return Err(EncodeError::BadFrame {
            kind: Kind::InitFailed,
            reason: "the outcome of a failed initializer cannot be Returned",
        });
    }
    let start = body.len();
    let mut list = OutcomeWriter::begin(body, max_len);
    let written = list.item_bytes(tag, bytes).and_then(|()| list.finish());
    if written.is_err() {
        body.truncate(start);
    }
    written.map(drop)
}

/// Checks a whole outcome list and returns an iterator over it.
fn validate(kind: Kind, body: &[u8]) -> Result<Outcomes<'_>, DecodeError> {
    let bad = |reason| DecodeError::BadBody { kind, reason };
    let (&count, items) = body
        .split_first_chunk::<COUNT_LEN>()
        .ok_or(bad("is shorter than its 4-byte item count"))?;
    let count = u32::from_le_bytes(count);
    if count == 0 {
        return Err(bad("holds no outcome"));
    }
    let mut rest = items;
    for item in 0..count {
        let Some(&byte) = rest.first() else {
            return Err(bad("ends before its last item"));
        };
        let Some(tag) = OutcomeTag::from_u8(byte) else {
            return Err(DecodeError::UnknownOutcomeTag { item, tag: byte });
        };
        let Some((_, bytes, after)) = split_item(rest) else {
            return Err(bad("ends inside an item"));
        };
        if tag.is_text() {
            if let Err(err) = str::from_utf8(bytes) {
                return Err(DecodeError::BadUtf8 {
                    item,
                    valid_up_to: err.valid_up_to(),
                });
            }
        }
        rest = after;
    }
    if !rest.is_empty() {
        return Err(bad("has bytes after its last item"));
    }
    Ok(Outcomes {
        rest: items,
        remaining: count,
    })
}

/// Splits the first item off `bytes`: its tag byte, its bytes, and what
/// follows. `None` if `bytes` ends inside the item.
fn split_item(bytes: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = bytes.split_first()?;
    let (&len, rest) = rest.split_first_chunk::<4>()?;
    let len = usize::try_from(u32::from_le_bytes(len)).ok()?;
    let (item, rest) = rest.split_at_checked(len)?;
    Some((tag, item, rest))
}

/// Writes an outcome list at the end of a body buffer.
///
/// Each item is appended straight to the buffer (a result is serialized
/// once, in place) and its length patched afterwards; the count is patched
/// after every item, so the buffer holds a valid list as soon as it has one
/// item. The list may not grow beyond `max_len` bytes (the maximum frame
/// size, for a `Done` body); an item that would pass it is removed again
/// and reported, so the caller can put a [`TooLarge`](OutcomeTag::TooLarge)
/// item in its place.
///
/// # Examples
///
/// ```
/// use proc_exec::wire::{FrameWriter, ItemError, Kind, OutcomeTag, OutcomeWriter};
///
/// let max = 64;
/// let mut out = Vec::new();
/// let mut frame = FrameWriter::begin(&mut out, Kind::Done, 7);
/// let mut list = OutcomeWriter::begin(frame.body(), max);
/// // A result too large for the frame is replaced by a TooLarge item.
/// let big = list.item(OutcomeTag::Returned, |buf| {
///     buf.extend_from_slice(&[0; 100]);
///     Ok::<(), ()>(())
/// });
/// assert!(matches!(big, Err(ItemError::TooLarge { len: 109, max: 64 })));
/// list.item_bytes(OutcomeTag::TooLarge, b"result of 100 bytes").unwrap();
/// assert_eq!(list.finish(), Ok(1));
/// frame.finish(max).unwrap();
/// ```
pub struct OutcomeWriter<'a> {
    out: &'a mut Vec<u8>,
    /// Where the list (its count) starts in `out`.
    start: usize,
    count: u32,
    max_len: u32,
    /// The items the list will hold once finished (see
    /// [`expect`](Self::expect)); 0 when not said.
    expected: u32,
}

impl<'a> OutcomeWriter<'a> {
    /// Starts a list at the end of `out` (a count of 0 for now) that may
    /// not grow beyond `max_len` bytes.
    pub fn begin(out: &'a mut Vec<u8>, max_len: u32) -> Self {
        let start = out.len();
        out.extend_from_slice(&[0; COUNT_LEN]);
        OutcomeWriter {
            out,
            start,
            count: 0,
            max_len,
            expected: 0,
        }
    }

    /// Says the list will hold `total` items. From then on an item is
    /// refused unless it leaves room for the items still to come, at
    /// [`ITEM_HEAD_LEN`](Self::ITEM_HEAD_LEN) bytes each (an empty text
    /// item): however large one result is, every later item can still be
    /// answered, if only by an empty [`TooLarge`](OutcomeTag::TooLarge).
    ///
    /// # Examples
    ///
    /// ```
    /// use proc_exec::wire::{OutcomeTag, OutcomeWriter};
    ///
    /// let mut body = Vec::new();
    /// let mut list = OutcomeWriter::begin(&mut body, 24);
    /// list.expect(2);
    /// // 4 (count) + 5 + 11 = 20 would fit alone, but not with the 5 bytes
    /// // the second item needs.
    /// assert!(list.item_bytes(OutcomeTag::Returned, &[0; 11]).is_err());
    /// assert_eq!(list.room(), 10);
    /// list.item_bytes(OutcomeTag::Returned, &[0; 10]).unwrap();
    /// assert_eq!(list.room(), 0);
    /// list.item_bytes(OutcomeTag::TooLarge, b"").unwrap();
    /// assert_eq!(list.finish(), Ok(2));
    /// ```
    pub fn expect(&mut self, total: u32) {
        self.expected = total;
    }

    /// The items the list will hold, as said by [`expect`](Self::expect)
    /// (0 if it was not).
    pub fn expected(&self) -> u32 {
        self.expected
    }

    /// Bytes of an item head (the tag and the length), which is also the
    /// size of an empty item.
    pub const ITEM_HEAD_LEN: usize = ITEM_HEAD_LEN;

    /// The most bytes the next item may carry (after its head) and still be
    /// accepted, keeping room for the items still to come.
    pub fn room(&self) -> usize {
        let limit = usize::try_from(self.max_len).unwrap_or(usize::MAX);
        limit
            .saturating_sub(self.reserved_after_next())
            .saturating_sub(self.encoded_len())
            .saturating_sub(ITEM_HEAD_LEN)
    }

    /// Bytes kept for the items expected after the next one.
    fn reserved_after_next(&self) -> usize {
        let later = self.expected.saturating_sub(self.count.saturating_add(1));
        usize::try_from(later)
            .unwrap_or(usize::MAX)
            .saturating_mul(ITEM_HEAD_LEN)
    }

    /// Appends one item whose bytes `write` appends to the buffer it is
    /// given (only append: see [`FrameWriter::body`](super::FrameWriter::body)).
    ///
    /// # Errors
    ///
    /// [`ItemError::Write`] if `write` fails, [`ItemError::TooLarge`] if
    /// the list would pass its maximum, [`ItemError::BadUtf8`] if a text
    /// item is not UTF-8. The item is then removed: the list is as before.
    ///
    /// # Panics
    ///
    /// Only if `write` panics; the partial item then stays in the buffer,
    /// but a [`FrameWriter`](super::FrameWriter) dropped while unwinding
    /// removes its whole frame.
    pub fn item<E>(
        &mut self,
        tag: OutcomeTag,
        write: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<(), ItemError<E>> {
        let item_start = self.out.len();
        self.out.push(tag as u8);
        self.out.extend_from_slice(&[0; 4]);
        let written = self.check_item(item_start, tag, write);
        if written.is_err() {
            self.out.truncate(item_start);
        }
        written
    }

    /// Appends one item with the given bytes.
    ///
    /// # Errors
    ///
    /// [`EncodeError::FrameTooLarge`] if the list would pass its maximum
    /// (`len` is the list length it would have had), [`EncodeError::BadUtf8`]
    /// if a text item is not UTF-8. The list is then as before.
    pub fn item_bytes(&mut self, tag: OutcomeTag, bytes: &[u8]) -> Result<(), EncodeError> {
        self.item(tag, |buf| {
            buf.extend_from_slice(bytes);
            Ok::<(), core::convert::Infallible>(())
        })
        .map_err(|err| match err {
            ItemError::Write(never) => match never {},
            ItemError::TooLarge { len, max } => EncodeError::FrameTooLarge { len, max },
            ItemError::BadUtf8 { valid_up_to } => EncodeError::BadUtf8 { tag, valid_up_to },
        })
    }

    /// Items written so far.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Bytes of the list so far, count included.
    pub fn encoded_len(&self) -> usize {
        self.out.len().saturating_sub(self.start)
    }

    /// Ends the list and returns its item count.
    ///
    /// # Errors
    ///
    /// [`EncodeError::EmptyOutcomeList`] if no item was written (a reader
    /// rejects an empty list). The buffer is left as it is; a
    /// [`FrameWriter`](super::FrameWriter) that is dropped unfinished
    /// removes it.
    pub fn finish(self) -> Result<u32, EncodeError> {
        if self.count == 0 {
            return Err(EncodeError::EmptyOutcomeList);
        }
        Ok(self.count)
    }

    /// Runs `write`, checks the item and patches its length and the count.
    fn check_item<E>(
        &mut self,
        item_start: usize,
        tag: OutcomeTag,
        write: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<(), ItemError<E>> {
        write(self.out).map_err(ItemError::Write)?;
        let bytes_start = item_start + ITEM_HEAD_LEN;
        if self.out.len() < bytes_start {
            // Only after `write` removed bytes it should not have.
            self.out.resize(bytes_start, 0);
        }
        let (len, max) = (self.encoded_len(), self.max_len);
        let too_large = || ItemError::TooLarge { len, max };
        let needed = len.saturating_add(self.reserved_after_next());
        if !u32::try_from(needed).is_ok_and(|needed| needed <= max) {
            return Err(too_large());
        }
        // The list is within `max_len`, so the item length and the count fit.
        let item_len = u32::try_from(self.out.len() - bytes_start).map_err(|_| too_large())?;
        let count = self.count.checked_add(1).ok_or_else(too_large)?;
        if let Some(bytes) = self.out.get(bytes_start..) {
            if tag.is_text() {
                if let Err(err) = str::from_utf8(bytes) {
                    return Err(ItemError::BadUtf8 {
                        valid_up_to: err.valid_up_to(),
                    });
                }
            }
        }
        let [l0, l1, l2, l3] = item_len.to_le_bytes();
        if let Some(head) = self.out.get_mut(item_start..bytes_start) {
            head.copy_from_slice(&[tag as u8, l0, l1, l2, l3]);
        }
        if let Some(slot) = self.out.get_mut(self.start..self.start + COUNT_LEN) {
            slot.copy_from_slice(&count.to_le_bytes());
        }
        self.count = count;
        Ok(())
    }
}

impl fmt::Debug for OutcomeWriter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutcomeWriter")
            .field("start", &self.start)
            .field("count", &self.count)
            .field("encoded_len", &self.encoded_len())
            .field("max_len", &self.max_len)
            .field("expected", &self.expected)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[(OutcomeTag, &[u8])]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut writer = OutcomeWriter::begin(&mut body, u32::MAX);
        for (tag, bytes) in items {
            writer.item_bytes(*tag, bytes).unwrap();
        }
        writer.finish().unwrap();
        body
    }

    #[test]
    fn owned_outcomes_yield_the_rest_in_order() {
        let items: [(OutcomeTag, &[u8]); 3] = [
            (OutcomeTag::Returned, &[1, 2, 3]),
            (OutcomeTag::Raised, &[]),
            (OutcomeTag::ArgDecode, b"bad"),
        ];
        let body = list(&items);
        let mut parsed = parse_outcomes(&body).unwrap();
        assert_eq!(parsed.next().map(|o| o.bytes), Some(&[1, 2, 3][..]));
        let mut owned = OwnedOutcomes::new(parsed);
        drop(body);
        assert_eq!(owned.len(), 2);
        assert_eq!(format!("{owned:?}"), format!("{:?}", owned.outcomes()));
        let second = owned.next_item().unwrap();
        assert_eq!((second.tag, second.bytes), (OutcomeTag::Raised, &[][..]));
        assert_eq!(owned.outcomes().len(), 1);
        let third = owned.next_item().unwrap();
        assert_eq!(
            (third.tag, third.text()),
            (OutcomeTag::ArgDecode, Some("bad"))
        );
        assert!(owned.is_empty());
        assert!(owned.next_item().is_none());
        assert!(OwnedOutcomes::default().next_item().is_none());
    }

    #[test]
    fn every_tag_round_trips() {
        let items: Vec<(OutcomeTag, &[u8])> = OutcomeTag::ALL
            .iter()
            .map(|&tag| {
                (
                    tag,
                    if tag.is_text() {
                        &b"text \xc3\xa9"[..]
                    } else {
                        &[0xff, 0x00]
                    },
                )
            })
            .collect();
        let body = list(&items);
        let parsed: Vec<(OutcomeTag, &[u8])> = parse_outcomes(&body)
            .unwrap()
            .map(|o| (o.tag, o.bytes))
            .collect();
        assert_eq!(parsed, items);
        for tag in OutcomeTag::ALL {
            assert_eq!(OutcomeTag::from_u8(tag as u8), Some(tag));
        }
        assert_eq!(OutcomeTag::from_u8(6), None);
    }

    #[test]
    fn iterator_is_exact_and_fused() {
        let body = list(&[(OutcomeTag::Returned, b""), (OutcomeTag::Raised, b"x")]);
        let mut outcomes = parse_outcomes(&body).unwrap();
        assert_eq!(outcomes.len(), 2);
        assert_eq!(outcomes.next().map(|o| o.tag), Some(OutcomeTag::Returned));
        assert_eq!(outcomes.len(), 1);
        assert_eq!(outcomes.next().map(|o| o.bytes), Some(&b"x"[..]));
        assert_eq!(outcomes.len(), 0);
        assert_eq!(outcomes.next(), None);
        assert_eq!(outcomes.next(), None);
        assert!(format!("{:?}", parse_outcomes(&body).unwrap()).contains("Raised"));
    }

    #[test]
    fn malformed_lists() {
        let bad = |reason| {
            Err::<(), _>(DecodeError::BadBody {
                kind: Kind::Done,
                reason,
            })
        };
        let parse = |body: &[u8]| parse_outcomes(body).map(drop);
        assert_eq!(
            parse(&[1, 0, 0]),
            bad("is shorter than its 4-byte item count")
        );
        assert_eq!(parse(&[0, 0, 0, 0]), bad("holds no outcome"));
        assert_eq!(parse(&[1, 0, 0, 0]), bad("ends before its last item"));
        assert_eq!(parse(&[1, 0, 0, 0, 0, 1, 0]), bad("ends inside an item"));
        assert_eq!(
            parse(&[1, 0, 0, 0, 0, 2, 0, 0, 0, 7]),
            bad("ends inside an item")
        );
        assert_eq!(
            parse(&[1, 0, 0, 0, 0, 0, 0, 0, 0, 9]),
            bad("has bytes after its last item")
        );
        // A count far above what the body can hold fails fast.
        assert_eq!(
            parse(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0]),
            bad("ends before its last item")
        );
        assert_eq!(
            parse(&[2, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0]),
            Err(DecodeError::UnknownOutcomeTag { item: 1, tag: 9 })
        );
        assert_eq!(
            parse(&[1, 0, 0, 0, 2, 3, 0, 0, 0, b'a', 0xc3, b'b']),
            Err(DecodeError::BadUtf8 {
                item: 0,
                valid_up_to: 1
            })
        );
        // The postcard tags carry arbitrary bytes.
        assert_eq!(parse(&[1, 0, 0, 0, 1, 1, 0, 0, 0, 0xc3]), Ok(()));
    }

    #[test]
    fn init_failed_holds_exactly_one_failure() {
        let mut body = Vec::new();
        encode_init_failed(&mut body, OutcomeTag::Panicked, b"boom", 100).unwrap();
        assert_eq!(
            parse_init_failed(&body),
            Ok(Outcome {
                tag: OutcomeTag::Panicked,
                bytes: b"boom"
            })
        );
        let bad = |reason| {
            Err(DecodeError::BadBody {
                kind: Kind::InitFailed,
                reason,
            })
        };
        let two = list(&[(OutcomeTag::Raised, b""), (OutcomeTag::Raised, b"")]);
        assert_eq!(parse_init_failed(&two), bad("holds more than one outcome"));
        let returned = list(&[(OutcomeTag::Returned, b"")]);
        assert_eq!(
            parse_init_failed(&returned),
            bad("holds a Returned outcome, which is not a failure")
        );
        assert_eq!(parse_init_failed(&[0, 0, 0, 0]), bad("holds no outcome"));

        let mut body = vec![7];
        assert!(matches!(
            encode_init_failed(&mut body, OutcomeTag::Returned, b"", 100),
            Err(EncodeError::BadFrame {
                kind: Kind::InitFailed,
                ..
            })
        ));
        assert_eq!(
            encode_init_failed(&mut body, OutcomeTag::Raised, &[0; 100], 100),
            Err(EncodeError::FrameTooLarge { len: 109, max: 100 })
        );
        assert_eq!(
            encode_init_failed(&mut body, OutcomeTag::ArgDecode, b"\xff", 100),
            Err(EncodeError::BadUtf8 {
                tag: OutcomeTag::ArgDecode,
                valid_up_to: 0
            })
        );
        assert_eq!(body, [7]);
    }

    #[test]
    fn writer_removes_failed_items() {
        let mut body = vec![0xaa];
        let mut writer = OutcomeWriter::begin(&mut body, 20);
        assert_eq!(writer.encoded_len(), 4);
        writer.item_bytes(OutcomeTag::Returned, &[1, 2]).unwrap();
        assert_eq!(writer.encoded_len(), 11);
        // The closure fails halfway through.
        assert_eq!(
            writer.item(OutcomeTag::Returned, |buf| {
                buf.push(9);
                Err("cannot serialize")
            }),
            Err(ItemError::Write("cannot serialize"))
        );
        // 11 + 5 + 5 = 21 > 20.
        assert_eq!(
            writer.item_bytes(OutcomeTag::Raised, &[0; 5]),
            Err(EncodeError::FrameTooLarge { len: 21, max: 20 })
        );
        assert_eq!(
            writer.item(OutcomeTag::Panicked, |buf| {
                buf.push(0xff);
                Ok::<(), ()>(())
            }),
            Err(ItemError::BadUtf8 { valid_up_to: 0 })
        );
        // Exactly at the maximum is fine.
        writer.item_bytes(OutcomeTag::Raised, &[0; 4]).unwrap();
        assert_eq!(writer.encoded_len(), 20);
        assert_eq!(writer.count(), 2);
        assert_eq!(writer.finish(), Ok(2));
        let parsed: Vec<_> = parse_outcomes(&body[1..]).unwrap().collect();
        assert_eq!(
            parsed,
            [
                Outcome {
                    tag: OutcomeTag::Returned,
                    bytes: &[1, 2]
                },
                Outcome {
                    tag: OutcomeTag::Raised,
                    bytes: &[0; 4]
                }
            ]
        );
    }

    #[test]
    fn empty_list_is_refused() {
        let mut body = Vec::new();
        let writer = OutcomeWriter::begin(&mut body, 100);
        assert_eq!(writer.finish(), Err(EncodeError::EmptyOutcomeList));
    }

    #[test]
    fn tiny_maximum_refuses_every_item() {
        let mut body = Vec::new();
        let mut writer = OutcomeWriter::begin(&mut body, 3);
        assert_eq!(
            writer.item_bytes(OutcomeTag::Returned, &[]),
            Err(EncodeError::FrameTooLarge { len: 9, max: 3 })
        );
        assert_eq!(body, [0; 4]);
    }
}
