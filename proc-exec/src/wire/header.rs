//! The 16-byte frame header, the frame kinds and their directions.

use super::error::DecodeError;

/// Length in bytes of every frame header.
pub const HEADER_LEN: usize = 16;

/// Which way a frame travels: the two pipes of a worker each carry one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the pool (parent) to a worker: `Hello`, `Init`, `Run`, `Exit`.
    ToWorker,
    /// From a worker to the pool (parent): `Ready`, `InitFailed`, `Done`.
    FromWorker,
}

/// What a frame is; byte 4 of the header.
///
/// Kinds the parent sends are `0x01..=0x04`, kinds a worker sends have the
/// high bit set (`0x81..=0x83`), so a byte read from the wrong pipe can never
/// be mistaken for a frame of the right direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Kind {
    /// Parent to worker, first frame on the pipe: protocol version and
    /// maximum frame size ([`ParentHello`](super::ParentHello)).
    Hello = 0x01,
    /// Parent to worker: run the pool initializer; body is a call head and
    /// the argument bytes ([`parse_call`](super::parse_call)).
    Init = 0x02,
    /// Parent to worker: run one work item (or one chunk of items); the work
    /// id names it; body is a call head and the argument bytes.
    Run = 0x03,
    /// Parent to worker: finish the frames received before this one, then
    /// exit. Empty body.
    Exit = 0x04,
    /// Worker to parent, first frame on the pipe, sent once the initializer
    /// succeeded: protocol version and process id ([`WorkerReady`](super::WorkerReady)).
    Ready = 0x81,
    /// Worker to parent: the initializer failed; body is an outcome list of
    /// exactly one failure ([`parse_init_failed`](super::parse_init_failed)).
    InitFailed = 0x82,
    /// Worker to parent: a work item finished; the work id names it; body is
    /// an outcome list with one outcome per item ([`parse_outcomes`](super::parse_outcomes)).
    Done = 0x83,
}

impl Kind {
    /// Every kind, in byte order.
    pub const ALL: [Kind; 7] = [
        Kind::Hello,
        Kind::Init,
        Kind::Run,
        Kind::Exit,
        Kind::Ready,
        Kind::InitFailed,
        Kind::Done,
    ];

    /// The kind with this byte value, if there is one.
    pub const fn from_u8(byte: u8) -> Option<Kind> {
        match byte {
            0x01 => Some(Kind::Hello),
            0x02 => Some(Kind::Init),
            0x03 => Some(Kind::Run),
            0x04 => Some(Kind::Exit),
            0x81 => Some(Kind::Ready),
            0x82 => Some(Kind::InitFailed),
            0x83 => Some(Kind::Done),
            _ => None,
        }
    }

    /// The direction frames of this kind travel in.
    pub const fn direction(self) -> Direction {
        match self {
            Kind::Hello | Kind::Init | Kind::Run | Kind::Exit => Direction::ToWorker,
            Kind::Ready | Kind::InitFailed | Kind::Done => Direction::FromWorker,
        }
    }

    /// Whether frames of this kind are about one work item (`Run`, `Done`),
    /// so their work id is meaningful. Every other kind has work id 0.
    pub const fn has_work_id(self) -> bool {
        matches!(self, Kind::Run | Kind::Done)
    }
}

/// The fixed header in front of every frame.
///
/// | offset | size | field      | rule                                        |
/// |--------|------|------------|---------------------------------------------|
/// | 0      | 4    | `body_len` | u32 LE, at most the maximum frame size      |
/// | 4      | 1    | `kind`     | a [`Kind`] byte                             |
/// | 5      | 1    | `shared`   | descriptors sent beside the frame; 0 unless `Run`/`Done` |
/// | 6      | 2    | reserved   | zero                                        |
/// | 8      | 8    | `work_id`  | u64 LE; 0 unless [`Kind::has_work_id`]      |
///
/// An `Exit` header also has `body_len == 0`. `shared` is at most
/// [`MAX_SHARED`]; a frame without shared payloads has 0 there, so its
/// bytes are those of a frame from before shared payloads existed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// Length in bytes of the body that follows the header.
    pub body_len: u32,
    /// What the frame is.
    pub kind: Kind,
    /// The work item the frame is about; 0 for kinds that are not about one.
    pub work_id: u64,
    /// How many memfd descriptors travel beside this frame, on the worker's
    /// descriptor channel, for the `SharedBytes` in its body.
    pub shared: u8,
}

/// The most descriptors one frame may carry (the kernel's own limit per
/// message, `SCM_MAX_FD`, is 253).
pub const MAX_SHARED: u8 = 64;

impl Header {
    /// The 16 header bytes.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let [l0, l1, l2, l3] = self.body_len.to_le_bytes();
        let [w0, w1, w2, w3, w4, w5, w6, w7] = self.work_id.to_le_bytes();
        let kind = self.kind as u8;
        [
            l0,
            l1,
            l2,
            l3,
            kind,
            self.shared,
            0,
            0,
            w0,
            w1,
            w2,
            w3,
            w4,
            w5,
            w6,
            w7,
        ]
    }

    /// Reads a header and checks the rules that need no context: a known
    /// kind, zero reserved bytes, work id 0 where the kind has none, and an
    /// empty `Exit` body.
    ///
    /// The direction and the maximum frame size are checked by
    /// [`FrameDecoder`](super::FrameDecoder), which knows them.
    ///
    /// # Errors
    ///
    /// [`DecodeError::UnknownKind`], [`DecodeError::ReservedNotZero`] or
    /// [`DecodeError::BadHeader`].
    pub fn decode(bytes: &[u8; HEADER_LEN]) -> Result<Header, DecodeError> {
        let [
            l0,
            l1,
            l2,
            l3,
            kind,
            r0,
            r1,
            r2,
            w0,
            w1,
            w2,
            w3,
            w4,
            w5,
            w6,
            w7,
        ] = *bytes;
        let kind = Kind::from_u8(kind).ok_or(DecodeError::UnknownKind(kind))?;
        if [r1, r2] != [0; 2] {
            return Err(DecodeError::ReservedNotZero([0, r1, r2]));
        }
        let header = Header {
            body_len: u32::from_le_bytes([l0, l1, l2, l3]),
            kind,
            work_id: u64::from_le_bytes([w0, w1, w2, w3, w4, w5, w6, w7]),
            shared: r0,
        };
        header
            .kind_rule()
            .map_err(|reason| DecodeError::BadHeader { kind, reason })?;
        Ok(header)
    }

    /// The rules a kind puts on the other header fields, shared by the
    /// decoder and the writers so that no writer produces a frame the
    /// decoder rejects.
    pub(crate) fn kind_rule(&self) -> Result<(), &'static str> {
        if !self.kind.has_work_id() && self.work_id != 0 {
            return Err("work id is not 0 on a frame that is not about a work item");
        }
        if self.kind == Kind::Exit && self.body_len != 0 {
            return Err("an Exit frame has an empty body");
        }
        if self.shared != 0 && !self.kind.has_work_id() {
            return Err("only Run and Done frames carry shared payloads");
        }
        if self.shared > MAX_SHARED {
            return Err("more shared payloads than a frame may carry (64)");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_bytes_round_trip() {
        for kind in Kind::ALL {
            assert_eq!(Kind::from_u8(kind as u8), Some(kind));
        }
        let known = (0..=u8::MAX)
            .filter(|b| Kind::from_u8(*b).is_some())
            .count();
        assert_eq!(known, Kind::ALL.len());
    }

    #[test]
    fn directions_follow_the_high_bit() {
        for kind in Kind::ALL {
            let to_worker = (kind as u8) & 0x80 == 0;
            assert_eq!(
                kind.direction() == Direction::ToWorker,
                to_worker,
                "{kind:?}"
            );
        }
    }

    #[test]
    fn header_round_trip() {
        let header = Header {
            body_len: 0x0102_0304,
            kind: Kind::Done,
            work_id: 0x1122_3344_5566_7788,
            shared: 0,
        };
        let bytes = header.encode();
        assert_eq!(
            bytes,
            [
                0x04, 0x03, 0x02, 0x01, 0x83, 0, 0, 0, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22,
                0x11
            ]
        );
        assert_eq!(Header::decode(&bytes), Ok(header));
    }

    #[test]
    fn header_errors() {
        let good = Header {
            body_len: 0,
            kind: Kind::Exit,
            work_id: 0,
            shared: 0,
        }
        .encode();

        let mut unknown = good;
        unknown[4] = 0x05;
        assert_eq!(
            Header::decode(&unknown),
            Err(DecodeError::UnknownKind(0x05))
        );

        let mut reserved = good;
        reserved[6] = 0xaa;
        assert_eq!(
            Header::decode(&reserved),
            Err(DecodeError::ReservedNotZero([0, 0xaa, 0]))
        );

        let mut stray_id = good;
        stray_id[15] = 1;
        assert!(matches!(
            Header::decode(&stray_id),
            Err(DecodeError::BadHeader {
                kind: Kind::Exit,
                ..
            })
        ));

        let mut exit_body = good;
        exit_body[0] = 1;
        assert!(matches!(
            Header::decode(&exit_body),
            Err(DecodeError::BadHeader {
                kind: Kind::Exit,
                ..
            })
        ));
    }
}
