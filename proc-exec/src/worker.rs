//! The worker loop: what runs in a forked child, and nothing else does.
//!
//! A worker reads frames from its parent, runs each `Run` through its call's
//! trampoline and answers with a `Done` frame, written before the next item
//! starts (so a later item that kills the worker cannot take an earlier
//! result with it). Reads are batched: one read takes every frame the pipe
//! holds.
//! It leaves only through [`exit_child`](crate::os::fork::exit_child), never
//! by returning into the frames it inherited from the parent's thread.
//!
//! Its one `unsafe` is calling the code addresses a frame names (see
//! `call.rs`): sound because only our parent writes to our pipe.
#![allow(unsafe_code)]

use std::os::fd::{AsFd, OwnedFd};

use crate::call;
use crate::os::fd;
use crate::os::fork::exit_child;
use crate::os::shm;
use crate::shared_bytes;
use crate::wire::{
    self, Direction, FrameDecoder, FrameWriter, Kind, OutcomeTag, OutcomeWriter, ParentHello,
    WorkerReady,
};

/// Exit code: the parent sent `Exit`, or closed the pipe between frames.
pub(crate) const EXIT_OK: i32 = 0;
/// Exit code: the initializer failed (after sending `InitFailed`).
pub(crate) const EXIT_INIT_FAILED: i32 = 3;
/// Exit code: a frame from the parent made no sense.
pub(crate) const EXIT_PROTOCOL: i32 = 70;
/// Exit code: the pipes failed.
pub(crate) const EXIT_IO: i32 = 74;

enum Stop {
    Exit,
    InitFailed,
    Protocol,
    Io,
}

/// Serves the parent on `input`/`output` until told to exit, then exits the
/// process. Call only in a freshly forked child.
/// `side` carries the descriptors of shared payloads (`None`: a parent
/// that sends none).
pub(crate) fn main(
    input: OwnedFd,
    output: OwnedFd,
    side: Option<OwnedFd>,
    max_frame_size: u32,
) -> ! {
    crate::panic::enter_worker();
    let code = match serve(&input, &output, side.as_ref(), max_frame_size) {
        Stop::Exit => EXIT_OK,
        Stop::InitFailed => EXIT_INIT_FAILED,
        Stop::Protocol => EXIT_PROTOCOL,
        Stop::Io => EXIT_IO,
    };
    exit_child(code)
}

fn serve(input: &OwnedFd, output: &OwnedFd, side: Option<&OwnedFd>, max_frame_size: u32) -> Stop {
    let mut decoder = FrameDecoder::new(Direction::ToWorker, max_frame_size);
    let mut out = Vec::new();
    let mut greeted = false;
    loop {
        loop {
            let frame = match decoder.next_frame() {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(_) => return Stop::Protocol,
            };
            let stop = handle(frame, &mut greeted, &mut out, side, max_frame_size);
            // Each answer leaves before the next item runs: a later item
            // that kills this worker cannot take an earlier result with it.
            let flushed = fd::write_all_blocking(output.as_fd(), &out);
            out.clear();
            match (stop, flushed) {
                (None, Ok(())) => {}
                (None | Some(Stop::Exit), Err(_)) => return Stop::Io,
                (Some(stop), _) => return stop,
            }
        }
        match fd::read(input.as_fd(), decoder.read_buf()) {
            Ok(0) => {
                // The parent closed the pipe: leave quietly between frames.
                return match decoder.finish() {
                    Ok(()) => Stop::Exit,
                    Err(_) => Stop::Protocol,
                };
            }
            Ok(n) => decoder.advance(n),
            Err(_) => return Stop::Io,
        }
    }
}

fn handle(
    frame: wire::Frame<'_>,
    greeted: &mut bool,
    out: &mut Vec<u8>,
    side: Option<&OwnedFd>,
    max: u32,
) -> Option<Stop> {
    if !*greeted && frame.kind != Kind::Hello {
        return Some(Stop::Protocol);
    }
    match frame.kind {
        Kind::Hello => {
            match ParentHello::parse(frame.body) {
                Ok(hello) if !*greeted && hello.max_frame_size == max => {}
                _ => return Some(Stop::Protocol),
            }
            *greeted = true;
            let mut writer = FrameWriter::begin(out, Kind::Ready, 0);
            WorkerReady::new(std::process::id())
                .encode(writer.body())
                .ok()?;
            writer.finish(max).ok()?;
            None
        }
        Kind::Init => {
            let Ok((call, args)) = wire::parse_call(frame.body) else {
                return Some(Stop::Protocol);
            };
            let mut list = Vec::new();
            let mut outcomes = OutcomeWriter::begin(&mut list, max);
            // SAFETY: the call came from our parent, which built it with `call::initializer`/`call::try_initializer` in this same binary.
            unsafe { call::run(call, args, &mut outcomes) };
            let _ = outcomes.finish();
            let Ok(mut results) = wire::parse_outcomes(&list) else {
                return Some(Stop::Protocol);
            };
            let failure = results.find(|o| o.tag != OutcomeTag::Returned)?;
            let mut writer = FrameWriter::begin(out, Kind::InitFailed, 0);
            let _ = wire::encode_init_failed(writer.body(), failure.tag, failure.bytes, max);
            let _ = writer.finish(max);
            Some(Stop::InitFailed)
        }
        Kind::Run => {
            let Ok((call, args)) = wire::parse_call(frame.body) else {
                return Some(Stop::Protocol);
            };
            // The parent sent them before the frame; missing ones fail the
            // argument that names them (an `ArgDecode` outcome).
            let mut fds = match (frame.shared, side) {
                (0, _) | (_, None) => shared_bytes::Incoming::default(),
                (_, Some(side)) => shared_bytes::received(shm::recv_fds(side.as_fd())),
            };
            let start = out.len();
            let mut writer = FrameWriter::begin(out, Kind::Done, frame.work_id);
            let mut outcomes = OutcomeWriter::begin(writer.body(), max);
            let ((), shared) = shared_bytes::encoding(|| {
                shared_bytes::decoding(&mut fds, || {
                    // SAFETY: the call came from our parent, which built it with `call::plain`/`call::fallible` in this same binary.
                    unsafe { call::run(call, args, &mut outcomes) };
                });
            });
            // Every `Run` gets its `Done`; one that cannot be answered (no
            // item in it) is a broken parent, and exiting says so at once
            // rather than leaving its future pending.
            if outcomes.finish().is_err() || writer.finish(max).is_err() {
                return Some(Stop::Protocol);
            }
            // The descriptors leave before the frame that names them; if
            // they cannot, the frame names none and the parent fails the
            // result with a decode error.
            let sent = !shared.is_empty()
                && side.is_some_and(|side| {
                    shm::send_fds(side.as_fd(), &shared_bytes::fds(&shared), true).is_ok()
                });
            if sent {
                wire::set_shared(&mut out[start..], shared.len() as u8);
            }
            None
        }
        Kind::Exit => Some(Stop::Exit),
        _ => Some(Stop::Protocol),
    }
}
