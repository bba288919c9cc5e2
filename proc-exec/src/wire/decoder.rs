//! A frame decoder you feed bytes to: no I/O, bounded memory.

use core::fmt;

use super::error::DecodeError;
use super::header::{Direction, HEADER_LEN, Header, Kind};

/// The decoder's buffer is at least this long (once it is used), so one
/// pipe read can fill up to 64 KiB at a time even when frames are small.
pub const MIN_DECODER_BUFFER: usize = 64 * 1024;

/// One frame taken out of a [`FrameDecoder`]. The body borrows the
/// decoder's buffer until the next call on the decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// What the frame is; always of the decoder's direction.
    pub kind: Kind,
    /// The work item it is about (0 unless [`Kind::has_work_id`]).
    pub work_id: u64,
    /// The body, exactly `body_len` bytes.
    pub body: &'a [u8],
    /// How many descriptors were sent beside the frame for its shared
    /// payloads (header byte 5).
    pub shared: u8,
}

/// Cuts a byte stream from one pipe into frames.
///
/// The decoder does no I/O. Bytes go in either by copy ([`feed`](Self::feed))
/// or by reading straight into its buffer ([`read_buf`](Self::read_buf) then
/// [`advance`](Self::advance)); frames come out of
/// [`next_frame`](Self::next_frame). At end of input,
/// [`finish`](Self::finish) tells a clean end from one inside a frame.
///
/// # Memory
///
/// The buffer never grows beyond [`buffer_limit`](Self::buffer_limit), that
/// is `max(MIN_DECODER_BUFFER, HEADER_LEN + max_frame_size)`, however the
/// input is cut. It grows past [`MIN_DECODER_BUFFER`] only to hold one frame
/// whose header has already been checked, so a header announcing a body
/// above the maximum is reported as soon as its 16 bytes are in, without
/// buffering any of that body beyond the first 64 KiB of input.
///
/// # Errors
///
/// The first error poisons the decoder: every later
/// [`next_frame`](Self::next_frame) and [`finish`](Self::finish) returns it
/// again, [`feed`](Self::feed) takes nothing and
/// [`read_buf`](Self::read_buf) is empty. A stream that lost its framing
/// cannot be resynchronised.
///
/// # Examples
///
/// ```
/// use proc_exec::wire::{Direction, FrameDecoder, Kind, encode_frame};
///
/// let mut pipe = Vec::new();
/// encode_frame(Kind::Exit, 0, &[], &mut pipe, 1024).unwrap();
///
/// let mut decoder = FrameDecoder::new(Direction::ToWorker, 1024);
/// let mut input = &pipe[..];
/// let mut kinds = Vec::new();
/// while !input.is_empty() {
///     let taken = decoder.feed(input);
///     input = &input[taken..];
///     while let Some(frame) = decoder.next_frame().unwrap() {
///         kinds.push(frame.kind);
///     }
/// }
/// decoder.finish().unwrap();
/// assert_eq!(kinds, [Kind::Exit]);
/// ```
pub struct FrameDecoder {
    direction: Direction,
    max_frame_size: u32,
    /// Initialised storage; `buf.len()` is the room in use, never above the limit.
    buf: Vec<u8>,
    /// First byte not yet returned in a frame.
    start: usize,
    /// One past the last byte received. Invariant: `start <= end <= buf.len()`.
    end: usize,
    /// Set by the first error; the decoder is poisoned from then on.
    error: Option<DecodeError>,
}

impl FrameDecoder {
    /// A decoder for frames travelling in `direction`, accepting bodies of
    /// at most `max_frame_size` bytes. It allocates nothing until the first
    /// bytes arrive.
    pub fn new(direction: Direction, max_frame_size: u32) -> Self {
        FrameDecoder {
            direction,
            max_frame_size,
            buf: Vec::new(),
            start: 0,
            end: 0,
            error: None,
        }
    }

    /// The direction this decoder accepts.
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// The largest body length this decoder accepts.
    pub fn max_frame_size(&self) -> u32 {
        self.max_frame_size
    }

    /// Changes the largest body length accepted, for headers not yet
    /// returned by [`next_frame`](Self::next_frame). A worker reads the
    /// parent's `Hello` with any maximum (its body is a few bytes) and then
    /// switches to the maximum announced in it.
    ///
    /// Lowering the maximum also gives back buffer memory above the new
    /// [`buffer_limit`](Self::buffer_limit), except what holds bytes
    /// already received.
    pub fn set_max_frame_size(&mut self, max_frame_size: u32) {
        self.max_frame_size = max_frame_size;
        let limit = self.buffer_limit();
        if self.buf.len() > limit {
            self.compact();
            self.buf.truncate(limit.max(self.end));
            self.buf.shrink_to_fit();
        }
    }

    /// The most memory the buffer will ever use:
    /// `max(MIN_DECODER_BUFFER, HEADER_LEN + max_frame_size)`.
    pub fn buffer_limit(&self) -> usize {
        let frame = usize::try_from(self.max_frame_size)
            .unwrap_or(usize::MAX)
            .saturating_add(HEADER_LEN);
        frame.max(MIN_DECODER_BUFFER)
    }

    /// Bytes received and not yet returned in a frame.
    pub fn buffered(&self) -> usize {
        self.end - self.start
    }

    /// The error that poisoned the decoder, if any.
    pub fn error(&self) -> Option<&DecodeError> {
        self.error.as_ref()
    }

    /// Copies in as much of `bytes` as fits and returns how many bytes were
    /// taken. Take the frames out with [`next_frame`](Self::next_frame)
    /// until it returns `Ok(None)`, then feed the rest: after that, `feed`
    /// takes at least one byte of a non-empty input.
    ///
    /// Takes nothing once the decoder is poisoned.
    pub fn feed(&mut self, bytes: &[u8]) -> usize {
        let spare = self.read_buf();
        let taken = spare.len().min(bytes.len());
        if let (Some(dst), Some(src)) = (spare.get_mut(..taken), bytes.get(..taken)) {
            dst.copy_from_slice(src);
        }
        self.advance(taken);
        taken
    }

    /// The free part of the buffer, to read input into directly; report
    /// how much was written with [`advance`](Self::advance).
    ///
    /// Consumed bytes are moved out first, and the buffer is grown to hold
    /// the whole frame at the front when its header is known, so the slice
    /// has room for at least the rest of that frame, or for up to
    /// [`MIN_DECODER_BUFFER`] bytes in all. It is never empty once
    /// [`next_frame`](Self::next_frame) has returned `Ok(None)`; it is
    /// always empty once the decoder is poisoned (so do not treat a zero
    /// read into it as end of input without checking
    /// [`error`](Self::error)).
    pub fn read_buf(&mut self) -> &mut [u8] {
        if self.error.is_some() {
            return &mut [];
        }
        self.compact();
        let target = MIN_DECODER_BUFFER.max(self.front_frame_len());
        if let Some(grow) = target.checked_sub(self.buf.len()) {
            // Exact, so the allocation stays within `buffer_limit`.
            self.buf.reserve_exact(grow);
            self.buf.resize(target, 0);
        }
        self.buf.get_mut(self.end..).unwrap_or_default()
    }

    /// Marks `n` more bytes of the last [`read_buf`](Self::read_buf) as
    /// received.
    ///
    /// `n` must not exceed that slice's length; a larger `n` is a bug in
    /// the caller, caught by a debug assertion and otherwise cut down to
    /// the slice's length.
    pub fn advance(&mut self, n: usize) {
        let spare = self.buf.len() - self.end;
        debug_assert!(
            n <= spare,
            "advance({n}) beyond the {spare} bytes of read_buf"
        );
        if self.error.is_none() {
            self.end += n.min(spare);
        }
    }

    /// The next complete frame, or `Ok(None)` if more input is needed.
    ///
    /// # Errors
    ///
    /// Header errors ([`DecodeError::UnknownKind`],
    /// [`DecodeError::ReservedNotZero`], [`DecodeError::BadHeader`],
    /// [`DecodeError::WrongDirection`], [`DecodeError::FrameTooLarge`]),
    /// reported as soon as the 16 header bytes are in. Bodies are not
    /// parsed here: use the body parsers of this module on
    /// [`Frame::body`].
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, DecodeError> {
        if let Some(err) = &self.error {
            return Err(err.clone());
        }
        let Some(&head) = self.filled().first_chunk::<HEADER_LEN>() else {
            return Ok(None);
        };
        let (header, total) = match self.check_header(&head) {
            Ok(checked) => checked,
            Err(err) => {
                self.error = Some(err.clone());
                return Err(err);
            }
        };
        if self.buffered() < total {
            return Ok(None);
        }
        // `start + total <= end`, so neither sum overflows.
        let body_start = self.start + HEADER_LEN;
        let body_end = self.start + total;
        self.start = body_end;
        if self.start == self.end {
            // Nothing left: later input starts at the front, no copy needed.
            self.start = 0;
            self.end = 0;
        }
        Ok(Some(Frame {
            kind: header.kind,
            work_id: header.work_id,
            body: self.buf.get(body_start..body_end).unwrap_or_default(),
            shared: header.shared,
        }))
    }

    /// Checks that the input ended between frames. Call it at end of input,
    /// after [`next_frame`](Self::next_frame) has returned `Ok(None)`.
    ///
    /// # Errors
    ///
    /// The poisoning error if there is one; otherwise
    /// [`DecodeError::Truncated`] if any byte is still buffered (or the
    /// error in the buffered header, if it has not been reported yet).
    pub fn finish(&self) -> Result<(), DecodeError> {
        if let Some(err) = &self.error {
            return Err(err.clone());
        }
        let available = self.buffered();
        if available == 0 {
            return Ok(());
        }
        let needed = match self.filled().first_chunk::<HEADER_LEN>() {
            Some(head) => self.check_header(head)?.1,
            None => HEADER_LEN,
        };
        Err(DecodeError::Truncated { needed, available })
    }

    /// The bytes received and not yet returned.
    fn filled(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or_default()
    }

    /// Moves the unreturned bytes to the front of the buffer.
    fn compact(&mut self) {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
    }

    /// How long the frame at the front is, header included, if its header
    /// is in and valid; otherwise just the header length.
    fn front_frame_len(&self) -> usize {
        match self.filled().first_chunk::<HEADER_LEN>() {
            Some(head) => self
                .check_header(head)
                .map_or(HEADER_LEN, |(_, total)| total),
            None => HEADER_LEN,
        }
    }

    /// Checks a header against everything the decoder knows and returns
    /// it with the whole frame's length.
    fn check_header(&self, head: &[u8; HEADER_LEN]) -> Result<(Header, usize), DecodeError> {
        let header = Header::decode(head)?;
        if header.kind.direction() != self.direction {
            return Err(DecodeError::WrongDirection(header.kind));
        }
        let too_large = DecodeError::FrameTooLarge {
            len: header.body_len,
            max: self.max_frame_size,
        };
        if header.body_len > self.max_frame_size {
            return Err(too_large);
        }
        let total = usize::try_from(header.body_len)
            .ok()
            .and_then(|len| len.checked_add(HEADER_LEN))
            .ok_or(too_large)?;
        Ok((header, total))
    }
}

impl fmt::Debug for FrameDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameDecoder")
            .field("direction", &self.direction)
            .field("max_frame_size", &self.max_frame_size)
            .field("buffered", &self.buffered())
            .field("buffer_len", &self.buf.len())
            .field("error", &self.error)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{
        CallRef, DEFAULT_MAX_FRAME_SIZE, FrameWriter, ParentHello, encode_call, encode_frame,
    };

    /// A frame copied out of the decoder.
    type Owned = (Kind, u64, Vec<u8>);

    /// Hello, Init, three Runs (one with a body above the 64 KiB minimum
    /// buffer, one with no argument bytes) and Exit.
    fn to_worker_stream() -> (Vec<u8>, Vec<Owned>) {
        let mut out = Vec::new();
        let mut expected = Vec::new();
        let mut frame = |kind: Kind, work_id: u64, body: Vec<u8>| {
            encode_frame(kind, work_id, &body, &mut out, DEFAULT_MAX_FRAME_SIZE).unwrap();
            expected.push((kind, work_id, body));
        };
        let mut hello = Vec::new();
        ParentHello::new(DEFAULT_MAX_FRAME_SIZE)
            .encode(&mut hello)
            .unwrap();
        frame(Kind::Hello, 0, hello);
        let call = CallRef {
            function: -77,
            trampoline: 1 << 40,
        };
        let with_args = |args: &[u8]| {
            let mut body = Vec::new();
            encode_call(&mut body, call).unwrap();
            body.extend_from_slice(args);
            body
        };
        frame(Kind::Init, 0, with_args(b"init"));
        frame(Kind::Run, 1, with_args(&[1, 2, 3]));
        let big: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        frame(Kind::Run, 2, with_args(&big));
        frame(Kind::Run, u64::MAX, with_args(&[]));
        frame(Kind::Exit, 0, Vec::new());
        (out, expected)
    }

    fn drain(decoder: &mut FrameDecoder, frames: &mut Vec<Owned>) {
        while let Some(frame) = decoder.next_frame().unwrap() {
            frames.push((frame.kind, frame.work_id, frame.body.to_vec()));
        }
        assert!(decoder.buf.len() <= decoder.buffer_limit());
    }

    fn decode_fed(bytes: &[u8], chunk: usize) -> Vec<Owned> {
        let mut decoder = FrameDecoder::new(Direction::ToWorker, DEFAULT_MAX_FRAME_SIZE);
        let mut frames = Vec::new();
        for piece in bytes.chunks(chunk) {
            let mut piece = piece;
            while !piece.is_empty() {
                let taken = decoder.feed(piece);
                assert!(taken > 0, "feed made no progress after a drain");
                piece = &piece[taken..];
                drain(&mut decoder, &mut frames);
            }
        }
        decoder.finish().unwrap();
        frames
    }

    fn decode_read(bytes: &[u8], chunk: usize) -> Vec<Owned> {
        let mut decoder = FrameDecoder::new(Direction::ToWorker, DEFAULT_MAX_FRAME_SIZE);
        let mut frames = Vec::new();
        let mut input = bytes;
        while !input.is_empty() {
            let spare = decoder.read_buf();
            assert!(!spare.is_empty(), "read_buf empty after a drain");
            let n = spare.len().min(chunk).min(input.len());
            spare[..n].copy_from_slice(&input[..n]);
            decoder.advance(n);
            input = &input[n..];
            drain(&mut decoder, &mut frames);
        }
        decoder.finish().unwrap();
        frames
    }

    #[test]
    fn every_chunking_yields_the_same_frames() {
        let (bytes, expected) = to_worker_stream();
        for chunk in [
            1,
            2,
            7,
            15,
            16,
            17,
            100,
            4096,
            65_535,
            65_536,
            65_537,
            bytes.len(),
        ] {
            assert_eq!(decode_fed(&bytes, chunk), expected, "feed, chunk {chunk}");
            assert_eq!(
                decode_read(&bytes, chunk),
                expected,
                "read_buf, chunk {chunk}"
            );
        }
    }

    #[test]
    fn every_split_point_of_the_small_frames() {
        let (bytes, expected) = to_worker_stream();
        // The frames before the big one, cut into two pieces at every offset.
        let small_len = expected[..3]
            .iter()
            .map(|(_, _, body)| HEADER_LEN + body.len())
            .sum::<usize>();
        let small = &bytes[..small_len];
        for cut in 0..=small.len() {
            let mut decoder = FrameDecoder::new(Direction::ToWorker, DEFAULT_MAX_FRAME_SIZE);
            let mut frames = Vec::new();
            for piece in [&small[..cut], &small[cut..]] {
                assert_eq!(decoder.feed(piece), piece.len());
                drain(&mut decoder, &mut frames);
            }
            decoder.finish().unwrap();
            assert_eq!(frames, expected[..3], "cut at {cut}");
        }
    }

    #[test]
    fn partial_frame_at_end_is_truncated() {
        let (bytes, _) = to_worker_stream();
        let mut decoder = FrameDecoder::new(Direction::ToWorker, DEFAULT_MAX_FRAME_SIZE);
        decoder.feed(&bytes[..5]);
        assert_eq!(decoder.next_frame(), Ok(None));
        assert_eq!(
            decoder.finish(),
            Err(DecodeError::Truncated {
                needed: HEADER_LEN,
                available: 5
            })
        );
        decoder.feed(&bytes[5..HEADER_LEN + 2]);
        assert_eq!(decoder.next_frame(), Ok(None));
        let hello_len = HEADER_LEN + usize::from(bytes[0]);
        assert_eq!(
            decoder.finish(),
            Err(DecodeError::Truncated {
                needed: hello_len,
                available: HEADER_LEN + 2
            })
        );
    }

    fn header(body_len: u32, kind: u8, work_id: u64) -> [u8; HEADER_LEN] {
        let mut bytes = Header {
            body_len,
            kind: Kind::Exit,
            work_id,
            shared: 0,
        }
        .encode();
        bytes[4] = kind;
        bytes
    }

    #[test]
    fn header_errors_poison_the_decoder() {
        let max = 1000;
        let cases: [([u8; HEADER_LEN], DecodeError); 5] = [
            (
                header(max + 1, Kind::Run as u8, 1),
                DecodeError::FrameTooLarge { len: max + 1, max },
            ),
            (header(0, 0x7f, 0), DecodeError::UnknownKind(0x7f)),
            (
                header(0, Kind::Done as u8, 1),
                DecodeError::WrongDirection(Kind::Done),
            ),
            (
                {
                    let mut h = header(0, Kind::Exit as u8, 0);
                    h[7] = 1;
                    h
                },
                DecodeError::ReservedNotZero([0, 0, 1]),
            ),
            (
                header(0, Kind::Hello as u8, 9),
                DecodeError::BadHeader {
                    kind: Kind::Hello,
                    reason: "work id is not 0 on a frame that is not about a work item",
                },
            ),
        ];
        for (bytes, err) in cases {
            let mut decoder = FrameDecoder::new(Direction::ToWorker, max);
            // A good frame first: it comes out before the error.
            let mut input = Vec::new();
            encode_frame(Kind::Exit, 0, &[], &mut input, max).unwrap();
            input.extend_from_slice(&bytes);
            assert_eq!(decoder.feed(&input), input.len());
            assert_eq!(decoder.next_frame().unwrap().unwrap().kind, Kind::Exit);
            assert_eq!(decoder.next_frame(), Err(err.clone()));
            // Poisoned: the same error, no more input taken.
            assert_eq!(decoder.next_frame(), Err(err.clone()));
            assert_eq!(decoder.feed(&[0; 32]), 0);
            assert!(decoder.read_buf().is_empty());
            assert_eq!(decoder.finish(), Err(err.clone()));
            assert_eq!(decoder.error(), Some(&err));
        }
    }

    #[test]
    fn wrong_direction_both_ways() {
        let mut to_parent = FrameDecoder::new(Direction::FromWorker, 100);
        to_parent.feed(&header(0, Kind::Exit as u8, 0));
        assert_eq!(
            to_parent.next_frame(),
            Err(DecodeError::WrongDirection(Kind::Exit))
        );
    }

    #[test]
    fn oversized_header_is_rejected_before_its_body_is_buffered() {
        let max = 1 << 20;
        let mut decoder = FrameDecoder::new(Direction::ToWorker, max);
        let mut input = header(max + 1, Kind::Run as u8, 3).to_vec();
        input.resize(HEADER_LEN + 200_000, 0xab);
        // One feed of the whole thing takes at most the minimum buffer...
        let taken = decoder.feed(&input);
        assert_eq!(taken, MIN_DECODER_BUFFER);
        assert_eq!(decoder.buf.capacity(), MIN_DECODER_BUFFER);
        // ...and the error comes without any further input.
        assert_eq!(
            decoder.next_frame(),
            Err(DecodeError::FrameTooLarge { len: max + 1, max })
        );

        // With only the header in, the error is already there.
        let mut decoder = FrameDecoder::new(Direction::ToWorker, max);
        decoder.feed(&input[..HEADER_LEN]);
        assert_eq!(
            decoder.next_frame(),
            Err(DecodeError::FrameTooLarge { len: max + 1, max })
        );
        assert!(decoder.buf.capacity() <= MIN_DECODER_BUFFER);

        // A body of exactly the maximum is fine.
        let mut frame = Vec::new();
        let mut writer = FrameWriter::begin(&mut frame, Kind::Run, 3);
        writer
            .body()
            .extend(core::iter::repeat_n(7, usize::try_from(max).unwrap()));
        writer.finish(max).unwrap();
        assert_eq!(decode_len(&frame, max), usize::try_from(max).unwrap());
    }

    fn decode_len(bytes: &[u8], max: u32) -> usize {
        let mut decoder = FrameDecoder::new(Direction::ToWorker, max);
        let mut input = bytes;
        let mut len = 0;
        while !input.is_empty() {
            let taken = decoder.feed(input);
            input = &input[taken..];
            while let Some(frame) = decoder.next_frame().unwrap() {
                len += frame.body.len();
            }
            assert!(decoder.buf.capacity() <= decoder.buffer_limit());
        }
        decoder.finish().unwrap();
        len
    }

    #[test]
    fn many_small_frames_keep_the_buffer_at_its_minimum() {
        let mut input = Vec::new();
        for id in 0..20_000u64 {
            encode_frame(
                Kind::Run,
                id,
                &[id as u8; 40],
                &mut input,
                DEFAULT_MAX_FRAME_SIZE,
            )
            .unwrap();
        }
        let mut decoder = FrameDecoder::new(Direction::ToWorker, DEFAULT_MAX_FRAME_SIZE);
        let mut rest = &input[..];
        let mut next_id = 0;
        while !rest.is_empty() {
            let taken = decoder.feed(rest);
            rest = &rest[taken..];
            assert!(decoder.buf.capacity() <= MIN_DECODER_BUFFER);
            while let Some(frame) = decoder.next_frame().unwrap() {
                assert_eq!((frame.work_id, frame.body.len()), (next_id, 40));
                next_id += 1;
            }
        }
        assert_eq!(next_id, 20_000);
        decoder.finish().unwrap();
    }

    #[test]
    fn large_frames_grow_the_buffer_only_to_the_limit() {
        let max = 300_000;
        let mut input = Vec::new();
        for (id, len) in [(1, 299_999), (2, 10), (3, 300_000), (4, 70_000)] {
            encode_frame(Kind::Run, id, &vec![1; len], &mut input, max).unwrap();
        }
        for chunk in [1000, 65_536, input.len()] {
            let mut decoder = FrameDecoder::new(Direction::ToWorker, max);
            let mut lens = Vec::new();
            for piece in input.chunks(chunk) {
                let mut piece = piece;
                while !piece.is_empty() {
                    let taken = decoder.feed(piece);
                    piece = &piece[taken..];
                    assert!(decoder.buf.capacity() <= HEADER_LEN + 300_000);
                    while let Some(frame) = decoder.next_frame().unwrap() {
                        lens.push(frame.body.len());
                    }
                }
            }
            assert_eq!(lens, [299_999, 10, 300_000, 70_000]);
        }
    }

    #[test]
    fn lowering_the_maximum_gives_memory_back() {
        let mut decoder = FrameDecoder::new(Direction::ToWorker, 1 << 20);
        let mut input = Vec::new();
        encode_frame(Kind::Run, 1, &[0; 500_000], &mut input, 1 << 20).unwrap();
        encode_frame(Kind::Exit, 0, &[], &mut input, 1 << 20).unwrap();
        let mut rest = &input[..];
        let mut kinds = Vec::new();
        while !rest.is_empty() {
            let taken = decoder.feed(rest);
            rest = &rest[taken..];
            while let Some(frame) = decoder.next_frame().unwrap() {
                kinds.push(frame.kind);
            }
        }
        assert_eq!(kinds, [Kind::Run, Kind::Exit]);
        assert!(decoder.buf.len() > MIN_DECODER_BUFFER);
        decoder.set_max_frame_size(1000);
        assert_eq!(decoder.buffer_limit(), MIN_DECODER_BUFFER);
        assert!(decoder.buf.capacity() <= MIN_DECODER_BUFFER);
    }

    #[test]
    fn read_buf_offers_room_for_the_rest_of_a_large_frame() {
        let mut decoder = FrameDecoder::new(Direction::ToWorker, 1 << 20);
        assert!(decoder.read_buf().len() == MIN_DECODER_BUFFER);
        let head = header(200_000, Kind::Run as u8, 5);
        decoder.read_buf()[..HEADER_LEN].copy_from_slice(&head);
        decoder.advance(HEADER_LEN);
        assert_eq!(decoder.next_frame(), Ok(None));
        assert_eq!(decoder.read_buf().len(), 200_000);
    }
}
