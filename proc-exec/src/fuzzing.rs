//! The bodies of the fuzz targets, as plain functions of bytes.
//!
//! `fuzz/` calls them under cargo-fuzz (where `--cfg fuzzing` makes this
//! module public); the tests at the bottom run them on stable over the
//! checked-in corpus (`fuzz/corpus/<target>/`) and over generated inputs, so
//! CI exercises every property without the fuzzer. Each body panics, with a
//! message naming the property, only when the property is broken.
// Public only to `fuzz/`; in `cargo test` the module is private.
#![cfg_attr(not(fuzzing), allow(unreachable_pub))]

use std::collections::BTreeSet;
use std::num::NonZeroUsize;

use crate::pool_state::{
    Action, Kill, Limits, OnWorkerDeath, PoolState, Signal, Spec, WorkId, WorkerId,
};
use crate::wire::{
    self, CallRef, Direction, FrameDecoder, Header, Kind, OutcomeWriter, ParentHello, WorkerReady,
};

/// `wire_decode`: arbitrary bytes, in an arbitrary chunking chosen by the
/// first byte, into the frame decoder: it never panics, never buffers more
/// than its limit (derived from the maximum frame size), and every frame it
/// yields re-encodes to the bytes it came from; every typed body that parses
/// re-encodes to the same body.
pub fn wire_decode(data: &[u8]) {
    let Some((&control, mut input)) = data.split_first() else {
        return;
    };
    let direction = if control & 1 == 0 {
        Direction::ToWorker
    } else {
        Direction::FromWorker
    };
    // Small limits, so frames above the maximum are common inputs.
    let max = 16 + u32::from(control >> 1) * 61;
    let mut decoder = FrameDecoder::new(direction, max);
    let limit = decoder.buffer_limit();
    let mut step = usize::from(control) | 1;
    while !input.is_empty() {
        step = step.wrapping_mul(5).wrapping_add(3) % 97;
        let chunk = &input[..(step + 1).min(input.len())];
        let taken = decoder.feed(chunk);
        input = &input[taken..];
        assert!(
            decoder.buffered() <= limit,
            "the decoder buffered past its limit"
        );
        loop {
            match decoder.next_frame() {
                Ok(Some(frame)) => {
                    check_frame(frame.kind, frame.work_id, frame.shared, frame.body, max)
                }
                Ok(None) => break,
                // Poisoned for good: nothing more to learn from this input.
                Err(_) => return,
            }
        }
        if taken == 0 {
            // A full buffer yielded no frame: that is an error the decoder
            // must have reported above.
            assert!(
                decoder.error().is_some(),
                "the decoder stalled without an error"
            );
            return;
        }
    }
}

fn check_frame(kind: Kind, work_id: u64, shared: u8, body: &[u8], max: u32) {
    assert!(
        body.len() <= max as usize,
        "a frame above the maximum size was accepted"
    );
    let mut again = Vec::new();
    wire::encode_frame(kind, work_id, body, &mut again, max)
        .expect("a frame that decodes must re-encode");
    wire::set_shared(&mut again, shared);
    let header = Header {
        body_len: body.len() as u32,
        kind,
        work_id,
        shared,
    };
    assert_eq!(
        again[..wire::HEADER_LEN],
        header.encode(),
        "the header does not round-trip"
    );
    assert_eq!(
        &again[wire::HEADER_LEN..],
        body,
        "the body does not round-trip"
    );
    match kind {
        Kind::Hello => {
            if let Ok(hello) = ParentHello::parse(body) {
                let mut out = Vec::new();
                hello.encode(&mut out).expect("a parsed Hello re-encodes");
                assert_eq!(out, body, "Hello is not canonical");
            }
        }
        Kind::Ready => {
            if let Ok(ready) = WorkerReady::parse(body) {
                let mut out = Vec::new();
                ready.encode(&mut out).expect("a parsed Ready re-encodes");
                assert_eq!(out, body, "Ready is not canonical");
            }
        }
        Kind::Run | Kind::Init => {
            if let Ok((call, args)) = wire::parse_call(body) {
                let mut out = Vec::new();
                let CallRef {
                    function,
                    trampoline,
                } = call;
                wire::encode_call(
                    &mut out,
                    CallRef {
                        function,
                        trampoline,
                    },
                )
                .expect("a parsed call head re-encodes");
                out.extend_from_slice(args);
                assert_eq!(out, body, "the call head is not canonical");
                // Arguments that claim shared payloads whose descriptors did
                // not come (or that hold any other bytes) are an error.
                let mut fds = crate::shared_bytes::Incoming::default();
                let decoded = crate::shared_bytes::decoding(&mut fds, || {
                    crate::codec::decode_exact::<Vec<crate::SharedBytes>>(args)
                });
                if let Ok(buffers) = decoded {
                    assert!(
                        buffers.iter().all(|b| !b.is_shared()),
                        "a descriptor from nowhere"
                    );
                }
            }
        }
        Kind::Done => {
            if let Ok(outcomes) = wire::parse_outcomes(body) {
                let mut out = Vec::new();
                let mut writer = OutcomeWriter::begin(&mut out, u32::MAX);
                for outcome in outcomes {
                    writer
                        .item_bytes(outcome.tag, outcome.bytes)
                        .expect("a parsed outcome re-encodes");
                }
                writer.finish().expect("a parsed outcome list re-encodes");
                assert_eq!(out, body, "the outcome list does not round-trip");
            }
        }
        Kind::InitFailed => {
            if let Ok(outcome) = wire::parse_init_failed(body) {
                let mut out = Vec::new();
                wire::encode_init_failed(&mut out, outcome.tag, outcome.bytes, u32::MAX)
                    .expect("a parsed InitFailed re-encodes");
                assert_eq!(out, body, "InitFailed does not round-trip");
            }
        }
        Kind::Exit => assert!(body.is_empty(), "Exit with a body was accepted"),
    }
}

/// Payloads and records are item numbers; statuses are exit codes.
struct Model;

impl Spec for Model {
    type Payload = u32;
    type Record = u32;
    type Status = i32;
}

/// What a simulated driver knows about the pool it drives.
#[derive(Default)]
struct Driver {
    /// Workers the state asked for and that were not reported exited.
    live: Vec<WorkerId>,
    /// Spawns asked for and not yet reported.
    spawning: Vec<WorkerId>,
    /// Items sent, per worker, oldest first.
    sent: Vec<(WorkerId, WorkId, u32)>,
    /// Records resolved so far.
    resolved: BTreeSet<u32>,
    closed: bool,
}

impl Driver {
    fn resolve(&mut self, record: u32) {
        assert!(self.resolved.insert(record), "item {record} resolved twice");
    }

    /// Carries out the state's actions. `delay_spawn` leaves new workers
    /// unreported, `withdraw` cancels items as they are sent.
    fn pump(&mut self, state: &mut PoolState<Model>, delay_spawn: bool, withdraw: bool) {
        while let Some(action) = state.poll_action() {
            assert!(!self.closed, "an action after Closed");
            match action {
                Action::Spawn { worker } => {
                    self.live.push(worker);
                    if delay_spawn {
                        self.spawning.push(worker);
                    } else {
                        state.spawned(worker, 100 + worker);
                        let _ = state.ready(worker);
                    }
                }
                Action::Send {
                    worker,
                    work,
                    payload,
                } => {
                    if withdraw {
                        let record = state.withdraw(worker, work);
                        assert_eq!(record, Some(payload), "withdraw lost the item");
                        self.resolve(payload);
                    } else {
                        self.sent.push((worker, work, payload));
                    }
                }
                Action::Resolve { record, .. } => {
                    self.sent.retain(|s| s.2 != record);
                    self.resolve(record);
                }
                Action::SendExit { .. } | Action::Signal { .. } => {}
                Action::Closed => self.closed = true,
            }
        }
    }

    fn exited(&mut self, state: &mut PoolState<Model>, worker: WorkerId, code: i32) {
        self.live.retain(|&w| w != worker);
        self.spawning.retain(|&w| w != worker);
        self.sent.retain(|s| s.0 != worker);
        state.exited(worker, code, code == 0);
    }
}

/// `pool_core`: each byte is one event (submit, a result, a worker's death
/// or exit, a late spawn, shutdown, terminate, a malformed frame, an
/// initializer failure, a cancelled send) for the pool's state machine; its
/// invariants hold after every event, every item is resolved at most once,
/// and after a final shutdown in which every worker finishes its work and
/// exits, every item was resolved exactly once and the state is closed.
pub fn pool_core(data: &[u8]) {
    let Some((&config, events)) = data.split_first() else {
        return;
    };
    let limits = Limits {
        max_workers: NonZeroUsize::new(1 + usize::from(config & 3)).unwrap_or(NonZeroUsize::MIN),
        max_in_flight: NonZeroUsize::new(1 + usize::from((config >> 2) & 3))
            .unwrap_or(NonZeroUsize::MIN),
        // A fixed window: the events carry no timing for `pace`.
        slow_in_flight: NonZeroUsize::new(1 + usize::from((config >> 2) & 3))
            .unwrap_or(NonZeroUsize::MIN),
        max_tasks_per_child: NonZeroUsize::new(usize::from(config >> 4) % 4),
        on_death: if config & 0x40 == 0 {
            OnWorkerDeath::BreakPool
        } else {
            OnWorkerDeath::Replace
        },
    };
    let mut state = PoolState::<Model>::new(limits);
    let mut driver = Driver::default();
    let mut submitted = 0u32;
    for &event in events {
        let pick = usize::from(event >> 4);
        let mut delay_spawn = false;
        let mut withdraw = false;
        match event & 15 {
            0..=3 => {
                if state.submit(submitted, submitted).is_ok() {
                    submitted += 1;
                }
                delay_spawn = event & 16 != 0;
            }
            4 | 5 => {
                // The oldest item on some worker finishes (results come in
                // the order items were sent).
                if let Some(&(worker, _, _)) = driver.sent.get(pick % driver.sent.len().max(1)) {
                    let first = driver.sent.iter().position(|s| s.0 == worker);
                    if let Some((worker, work, payload)) = first.map(|i| driver.sent.remove(i)) {
                        if let Ok(record) = state.done(worker, work) {
                            assert_eq!(record, payload, "done returned another item");
                            driver.resolve(record);
                        }
                    }
                }
            }
            6 | 7 => {
                if let Some(&worker) = driver.live.get(pick % driver.live.len().max(1)) {
                    let code = if event & 1 == 0 { 0 } else { -9 };
                    driver.exited(&mut state, worker, code);
                }
            }
            8 => {
                if let Some(worker) = driver.spawning.pop() {
                    if event & 16 == 0 {
                        state.spawned(worker, 100 + worker);
                        let _ = state.ready(worker);
                    } else {
                        driver.live.retain(|&w| w != worker);
                        driver.sent.retain(|s| s.0 != worker);
                        state.spawn_failed(worker, "EAGAIN".into());
                    }
                }
            }
            9 => {
                for record in state.shutdown(event & 16 != 0) {
                    driver.resolve(record);
                }
            }
            10 if event & 0x30 == 0 => {
                for record in state.terminate(Signal::Kill) {
                    driver.resolve(record);
                }
            }
            11 => {
                if let Some(&worker) = driver.live.get(pick % driver.live.len().max(1)) {
                    state.malformed(worker, "garbage".into());
                }
            }
            12 => {
                if let Some(&worker) = driver.live.get(pick % driver.live.len().max(1)) {
                    state.init_failed(worker, "no config".into());
                }
            }
            13 => {
                withdraw = true;
                if state.submit(submitted, submitted).is_ok() {
                    submitted += 1;
                }
            }
            14 => {
                // A timeout or cancel_running stops a sent item.
                if let Some(&(_, work, _)) = driver.sent.get(pick % driver.sent.len().max(1)) {
                    let kill = if event & 16 == 0 {
                        Kill::Timeout
                    } else {
                        Kill::Cancelled
                    };
                    assert!(state.kill_running(work, kill), "a sent item is in flight");
                }
            }
            _ => {}
        }
        driver.pump(&mut state, delay_spawn, withdraw);
        if let Err(broken) = state.check_invariants() {
            panic!("pool state invariant broken: {broken}");
        }
    }
    // The end: shut down, report every spawn, let every worker finish its
    // items and exit; everything must be resolved and the state closed.
    for record in state.shutdown(false) {
        driver.resolve(record);
    }
    for worker in std::mem::take(&mut driver.spawning) {
        state.spawned(worker, 100 + worker);
        let _ = state.ready(worker);
    }
    let mut rounds = 0;
    while !driver.closed {
        rounds += 1;
        assert!(rounds < 100_000, "the pool never closed");
        driver.pump(&mut state, false, false);
        if let Some((worker, work, payload)) =
            (!driver.sent.is_empty()).then(|| driver.sent.remove(0))
        {
            if let Ok(record) = state.done(worker, work) {
                assert_eq!(record, payload, "done returned another item");
                driver.resolve(record);
            }
        } else if let Some(&worker) = driver.live.first() {
            driver.exited(&mut state, worker, 0);
        } else {
            driver.pump(&mut state, false, false);
            assert!(driver.closed, "no worker left, yet the pool is not closed");
        }
    }
    assert_eq!(
        driver.resolved.len() as u32,
        submitted,
        "an item was never resolved"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checked-in corpus of one target, if `fuzz/` is next to this crate.
    fn corpus(target: &str) -> Vec<Vec<u8>> {
        let dir = format!("{}/../fuzz/corpus/{target}", env!("CARGO_MANIFEST_DIR"));
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        entries
            .filter_map(|e| std::fs::read(e.ok()?.path()).ok())
            .collect()
    }

    /// Deterministic pseudo-random inputs (xorshift), for coverage beyond
    /// the corpus on every `cargo test`.
    fn generated(count: usize, len: usize) -> Vec<Vec<u8>> {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        (0..count)
            .map(|i| {
                (0..len * (1 + i % 4) / 4)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        seed as u8
                    })
                    .collect()
            })
            .collect()
    }

    /// Valid frames with random chunkings and a few flipped bytes.
    fn framed(count: usize) -> Vec<Vec<u8>> {
        let mut inputs = Vec::new();
        for (i, noise) in generated(count, 64).into_iter().enumerate() {
            let mut bytes = vec![(i % 256) as u8 | 1];
            let mut body = Vec::new();
            let mut outcomes = OutcomeWriter::begin(&mut body, u32::MAX);
            let _ = outcomes.item_bytes(wire::OutcomeTag::Returned, &noise);
            let _ = outcomes.item_bytes(wire::OutcomeTag::Panicked, b"boom");
            let _ = outcomes.finish();
            let _ = wire::encode_frame(Kind::Done, i as u64 + 1, &body, &mut bytes, u32::MAX);
            let mut ready = Vec::new();
            let _ = WorkerReady::new(4242).encode(&mut ready);
            let _ = wire::encode_frame(Kind::Ready, 0, &ready, &mut bytes, u32::MAX);
            if i % 3 == 0 {
                let at = noise.first().map_or(0, |&b| usize::from(b)) % bytes.len();
                bytes[at] ^= 0x40;
            }
            inputs.push(bytes);
        }
        inputs
    }

    #[test]
    fn wire_decode_over_the_corpus_and_generated_inputs() {
        for input in corpus("wire_decode")
            .iter()
            .chain(&generated(300, 200))
            .chain(&framed(300))
        {
            wire_decode(input);
        }
    }

    #[test]
    fn pool_core_over_the_corpus_and_generated_inputs() {
        for input in corpus("pool_core").iter().chain(&generated(400, 120)) {
            pool_core(input);
        }
    }
}
