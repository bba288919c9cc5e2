//! Golden bytes for the wire format: every frame kind and every outcome tag.
//!
//! Each constant below is an example in `WIRE.md` (the block after a
//! `<!-- golden: NAME -->` line); `wire_md_examples_are_the_goldens` checks
//! that the document and this file hold the same bytes, and the other tests
//! check that the encoders write exactly these bytes and that the decoders
//! read them back to the same values.

use proc_exec::wire::{
    CallRef, DEFAULT_MAX_FRAME_SIZE, DecodeError, Direction, FrameDecoder, FrameWriter, Kind,
    Outcome, OutcomeTag, OutcomeWriter, PROTOCOL_VERSION, ParentHello, WorkerReady, encode_call,
    encode_frame, encode_init_failed, parse_call, parse_init_failed, parse_outcomes,
};

const MAX: u32 = DEFAULT_MAX_FRAME_SIZE;

const HELLO: &[u8] = &[
    0x05, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x02, 0x80, 0x80, 0x80, 0x20,
];
const INIT: &[u8] = &[
    0x07, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x80, 0x40, 0x8f, 0x03, 0x02, 0x64, 0x62,
];
const RUN: &[u8] = &[
    0x05, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xd0, 0x0f, 0x2f, 0x03, 0x04,
];
const RUN_SHARED: &[u8] = &[
    0x09, 0x00, 0x00, 0x00, 0x03, 0x01, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xd0, 0x0f, 0x2f, 0x01, 0x01, 0x00, 0x80, 0x80, 0x40,
];
const EXIT: &[u8] = &[
    0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];
const READY: &[u8] = &[
    0x03, 0x00, 0x00, 0x00, 0x81, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x02, 0x92, 0x21,
];
const INIT_FAILED: &[u8] = &[
    0x0f, 0x00, 0x00, 0x00, 0x82, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x06, 0x00, 0x00, 0x00, 0x05, 0x6e, 0x6f, 0x20, 0x64, 0x62,
];
const DONE: &[u8] = &[
    0x0a, 0x00, 0x00, 0x00, 0x83, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x07,
];
const DONE_CHUNK: &[u8] = &[
    0x19, 0x00, 0x00, 0x00, 0x83, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x03, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x07, 0x02, 0x04, 0x00, 0x00, 0x00, 0x62,
    0x6f, 0x6f, 0x6d, 0x00, 0x01, 0x00, 0x00, 0x00, 0x09,
];

// One outcome item per tag (without the list's count).
const ITEM_RETURNED: &[u8] = &[0x00, 0x01, 0x00, 0x00, 0x00, 0x07];
const ITEM_RAISED: &[u8] = &[
    0x01, 0x06, 0x00, 0x00, 0x00, 0x05, 0x6e, 0x6f, 0x20, 0x64, 0x62,
];
const ITEM_PANICKED: &[u8] = &[0x02, 0x04, 0x00, 0x00, 0x00, 0x62, 0x6f, 0x6f, 0x6d];
const ITEM_RESULT_ENCODE: &[u8] = &[
    0x03, 0x06, 0x00, 0x00, 0x00, 0x43, 0x75, 0x73, 0x74, 0x6f, 0x6d,
];
const ITEM_ARG_DECODE: &[u8] = &[0x04, 0x03, 0x00, 0x00, 0x00, 0x65, 0x6f, 0x66];
const ITEM_TOO_LARGE: &[u8] = &[
    0x05, 0x06, 0x00, 0x00, 0x00, 0x39, 0x36, 0x20, 0x4d, 0x69, 0x42,
];

// Bodies a parser must refuse: the same values written non-canonically.
const HELLO_BODY_OVERLONG: &[u8] = &[0x82, 0x00, 0x80, 0x80, 0x80, 0x20];
const CALL_HEAD_OVERLONG: &[u8] = &[0xd0, 0x8f, 0x00, 0x2f];

/// Every example of `WIRE.md`, by the name its marker gives it.
const GOLDENS: &[(&str, &[u8])] = &[
    ("hello", HELLO),
    ("init", INIT),
    ("run", RUN),
    ("run_shared", RUN_SHARED),
    ("exit", EXIT),
    ("ready", READY),
    ("init_failed", INIT_FAILED),
    ("done", DONE),
    ("done_chunk", DONE_CHUNK),
    ("item_returned", ITEM_RETURNED),
    ("item_raised", ITEM_RAISED),
    ("item_panicked", ITEM_PANICKED),
    ("item_result_encode", ITEM_RESULT_ENCODE),
    ("item_arg_decode", ITEM_ARG_DECODE),
    ("item_too_large", ITEM_TOO_LARGE),
    ("hello_body_overlong", HELLO_BODY_OVERLONG),
    ("call_head_overlong", CALL_HEAD_OVERLONG),
];

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Asserts that `actual` is the golden `expected`, showing both in hex.
#[track_caller]
fn check(actual: &[u8], expected: &[u8]) {
    assert!(
        actual == expected,
        "\n  actual: {}\nexpected: {}",
        hex(actual),
        hex(expected)
    );
}

/// Decodes one whole frame with a decoder of the given direction.
fn decode_one(direction: Direction, bytes: &[u8]) -> (Kind, u64, Vec<u8>) {
    let mut decoder = FrameDecoder::new(direction, MAX);
    assert_eq!(decoder.feed(bytes), bytes.len());
    let frame = decoder.next_frame().unwrap().expect("a whole frame");
    let owned = (frame.kind, frame.work_id, frame.body.to_vec());
    assert_eq!(decoder.next_frame(), Ok(None));
    decoder.finish().unwrap();
    owned
}

/// The body of a one-item list with this item.
fn one_item_list(tag: OutcomeTag, bytes: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    let mut list = OutcomeWriter::begin(&mut body, MAX);
    list.item_bytes(tag, bytes).unwrap();
    assert_eq!(list.finish(), Ok(1));
    body
}

const INIT_CALL: CallRef = CallRef {
    function: 4096,
    trampoline: -200,
};
const RUN_CALL: CallRef = CallRef {
    function: 1000,
    trampoline: -24,
};

#[test]
fn hello() {
    let mut out = Vec::new();
    let mut frame = FrameWriter::begin(&mut out, Kind::Hello, 0);
    ParentHello::new(MAX).encode(frame.body()).unwrap();
    frame.finish(MAX).unwrap();
    check(&out, HELLO);

    let (kind, work_id, body) = decode_one(Direction::ToWorker, HELLO);
    assert_eq!((kind, work_id), (Kind::Hello, 0));
    assert_eq!(
        ParentHello::parse(&body),
        Ok(ParentHello {
            version: PROTOCOL_VERSION,
            max_frame_size: MAX
        })
    );
}

#[test]
fn init() {
    let mut out = Vec::new();
    let mut frame = FrameWriter::begin(&mut out, Kind::Init, 0);
    encode_call(frame.body(), INIT_CALL).unwrap();
    // The initializer's argument: postcard of the string "db".
    frame.body().extend_from_slice(&[0x02, b'd', b'b']);
    frame.finish(MAX).unwrap();
    check(&out, INIT);

    let (kind, work_id, body) = decode_one(Direction::ToWorker, INIT);
    assert_eq!((kind, work_id), (Kind::Init, 0));
    assert_eq!(parse_call(&body), Ok((INIT_CALL, &b"\x02db"[..])));
}

#[test]
fn run() {
    let mut out = Vec::new();
    let mut frame = FrameWriter::begin(&mut out, Kind::Run, 7);
    encode_call(frame.body(), RUN_CALL).unwrap();
    // The argument: postcard of the tuple (3u32, 4u32).
    frame.body().extend_from_slice(&[0x03, 0x04]);
    frame.finish(MAX).unwrap();
    check(&out, RUN);

    let (kind, work_id, body) = decode_one(Direction::ToWorker, RUN);
    assert_eq!((kind, work_id), (Kind::Run, 7));
    assert_eq!(parse_call(&body), Ok((RUN_CALL, &[0x03, 0x04][..])));
}

/// A `Run` frame whose header announces one descriptor: the decoder
/// reports it, and the argument, read without that descriptor, is an
/// error (never a panic, never a buffer from nowhere).
#[test]
fn run_shared() {
    let mut decoder = FrameDecoder::new(Direction::ToWorker, MAX);
    assert_eq!(decoder.feed(RUN_SHARED), RUN_SHARED.len());
    let frame = decoder.next_frame().unwrap().unwrap();
    assert_eq!((frame.kind, frame.work_id, frame.shared), (Kind::Run, 7, 1));
    let (call, args) = parse_call(frame.body).unwrap();
    assert_eq!(call, RUN_CALL);
    assert_eq!(args, [0x01, 0x01, 0x00, 0x80, 0x80, 0x40]);
    let decoded = postcard::from_bytes::<(u32, proc_exec::SharedBytes)>(args);
    assert!(decoded.is_err(), "{decoded:?}");
    // A header may not announce more than `MAX_SHARED` descriptors, nor any
    // on a frame that is not about a work item.
    let mut too_many = RUN_SHARED.to_vec();
    too_many[5] = proc_exec::wire::MAX_SHARED + 1;
    let mut decoder = FrameDecoder::new(Direction::ToWorker, MAX);
    decoder.feed(&too_many);
    assert!(matches!(
        decoder.next_frame(),
        Err(DecodeError::BadHeader { .. })
    ));
    let mut exit = EXIT.to_vec();
    exit[5] = 1;
    let mut decoder = FrameDecoder::new(Direction::ToWorker, MAX);
    decoder.feed(&exit);
    assert!(matches!(
        decoder.next_frame(),
        Err(DecodeError::BadHeader { .. })
    ));
}

#[test]
fn exit() {
    let mut out = Vec::new();
    encode_frame(Kind::Exit, 0, &[], &mut out, MAX).unwrap();
    check(&out, EXIT);
    assert_eq!(
        decode_one(Direction::ToWorker, EXIT),
        (Kind::Exit, 0, Vec::new())
    );
}

#[test]
fn ready() {
    let mut out = Vec::new();
    let mut frame = FrameWriter::begin(&mut out, Kind::Ready, 0);
    WorkerReady::new(4242).encode(frame.body()).unwrap();
    frame.finish(MAX).unwrap();
    check(&out, READY);

    let (kind, work_id, body) = decode_one(Direction::FromWorker, READY);
    assert_eq!((kind, work_id), (Kind::Ready, 0));
    assert_eq!(
        WorkerReady::parse(&body),
        Ok(WorkerReady {
            version: PROTOCOL_VERSION,
            pid: 4242
        })
    );
}

#[test]
fn init_failed() {
    // The initializer's own error: postcard of the string "no db".
    let error = b"\x05no db";
    let mut out = Vec::new();
    let mut frame = FrameWriter::begin(&mut out, Kind::InitFailed, 0);
    encode_init_failed(frame.body(), OutcomeTag::Raised, error, MAX).unwrap();
    frame.finish(MAX).unwrap();
    check(&out, INIT_FAILED);

    let (kind, work_id, body) = decode_one(Direction::FromWorker, INIT_FAILED);
    assert_eq!((kind, work_id), (Kind::InitFailed, 0));
    assert_eq!(
        parse_init_failed(&body),
        Ok(Outcome {
            tag: OutcomeTag::Raised,
            bytes: error
        })
    );
}

#[test]
fn done() {
    let mut out = Vec::new();
    let mut frame = FrameWriter::begin(&mut out, Kind::Done, 7);
    let mut list = OutcomeWriter::begin(frame.body(), MAX);
    // The task's return value, serialized in place: postcard of 7u32.
    list.item(OutcomeTag::Returned, |buf| {
        postcard::to_extend(&7u32, Extender(buf)).map(drop)
    })
    .unwrap();
    list.finish().unwrap();
    frame.finish(MAX).unwrap();
    check(&out, DONE);

    let (kind, work_id, body) = decode_one(Direction::FromWorker, DONE);
    assert_eq!((kind, work_id), (Kind::Done, 7));
    let outcomes: Vec<_> = parse_outcomes(&body).unwrap().collect();
    assert_eq!(
        outcomes,
        [Outcome {
            tag: OutcomeTag::Returned,
            bytes: &[0x07]
        }]
    );
    assert_eq!(postcard::from_bytes::<u32>(outcomes[0].bytes), Ok(7));
}

/// Lets postcard append to a borrowed vector.
struct Extender<'a>(&'a mut Vec<u8>);

impl Extend<u8> for Extender<'_> {
    fn extend<I: IntoIterator<Item = u8>>(&mut self, bytes: I) {
        self.0.extend(bytes);
    }
}

#[test]
fn done_chunk() {
    let items: [(OutcomeTag, &[u8]); 3] = [
        (OutcomeTag::Returned, &[0x07]),
        (OutcomeTag::Panicked, b"boom"),
        (OutcomeTag::Returned, &[0x09]),
    ];
    let mut out = Vec::new();
    let mut frame = FrameWriter::begin(&mut out, Kind::Done, 8);
    let mut list = OutcomeWriter::begin(frame.body(), MAX);
    for (tag, bytes) in items {
        list.item_bytes(tag, bytes).unwrap();
    }
    assert_eq!(list.finish(), Ok(3));
    frame.finish(MAX).unwrap();
    check(&out, DONE_CHUNK);

    let (kind, work_id, body) = decode_one(Direction::FromWorker, DONE_CHUNK);
    assert_eq!((kind, work_id), (Kind::Done, 8));
    let outcomes = parse_outcomes(&body).unwrap();
    assert_eq!(outcomes.len(), 3);
    let parsed: Vec<_> = outcomes.map(|o| (o.tag, o.bytes)).collect();
    assert_eq!(parsed, items);
}

#[test]
fn one_item_per_tag() {
    let cases: [(OutcomeTag, &[u8], &[u8]); 6] = [
        (OutcomeTag::Returned, &[0x07], ITEM_RETURNED),
        (OutcomeTag::Raised, b"\x05no db", ITEM_RAISED),
        (OutcomeTag::Panicked, b"boom", ITEM_PANICKED),
        (OutcomeTag::ResultEncode, b"Custom", ITEM_RESULT_ENCODE),
        (OutcomeTag::ArgDecode, b"eof", ITEM_ARG_DECODE),
        (OutcomeTag::TooLarge, b"96 MiB", ITEM_TOO_LARGE),
    ];
    for (tag, bytes, golden) in cases {
        let body = one_item_list(tag, bytes);
        check(&body[..4], &[0x01, 0x00, 0x00, 0x00]);
        check(&body[4..], golden);
        let outcome = parse_outcomes(&body).unwrap().next().unwrap();
        assert_eq!(outcome, Outcome { tag, bytes });
        assert_eq!(
            outcome.text().is_some(),
            tag.is_text(),
            "{tag:?} text is {:?}",
            outcome.text()
        );
    }
}

#[test]
fn non_canonical_bodies_are_refused() {
    // 1 written as `81 00` instead of `01`.
    assert_eq!(
        ParentHello::parse(HELLO_BODY_OVERLONG),
        Err(DecodeError::BadBody {
            kind: Kind::Hello,
            reason: "has an overlong (non-canonical) varint"
        })
    );
    // zigzag(1000) written as `d0 8f 00` instead of `d0 0f`.
    assert_eq!(
        parse_call(CALL_HEAD_OVERLONG),
        Err(DecodeError::BadCallHead {
            reason: "has an overlong (non-canonical) varint"
        })
    );
    // Postcard itself reads both to the canonical values.
    assert_eq!(
        postcard::take_from_bytes::<(u16, u32)>(HELLO_BODY_OVERLONG),
        Ok(((2, MAX), &[][..]))
    );
    assert_eq!(
        postcard::take_from_bytes::<(i64, i64)>(CALL_HEAD_OVERLONG),
        Ok(((1000, -24), &[][..]))
    );
}

/// The canonicalisation table of `WIRE.md` section 4.
#[test]
fn canonicalisation_table() {
    check(&postcard::to_allocvec(&1u16).unwrap(), &[0x01]);
    check(&postcard::to_allocvec(&1000i64).unwrap(), &[0xd0, 0x0f]);
    check(
        &postcard::to_allocvec(&67_108_864u32).unwrap(),
        &[0x80, 0x80, 0x80, 0x20],
    );
    let overlong = DecodeError::BadBody {
        kind: Kind::Hello,
        reason: "has an overlong (non-canonical) varint",
    };
    assert_eq!(
        ParentHello::parse(&[0x82, 0x00, 0x05]),
        Err(overlong.clone())
    );
    assert_eq!(
        ParentHello::parse(&[0x02, 0x80, 0x80, 0x80, 0xa0, 0x00]),
        Err(overlong)
    );
    assert_eq!(
        parse_call(&[0xd0, 0x8f, 0x00, 0x00]),
        Err(DecodeError::BadCallHead {
            reason: "has an overlong (non-canonical) varint"
        })
    );
}

#[test]
fn a_conversation_decodes_in_order() {
    let to_worker = [HELLO, INIT, RUN, EXIT].concat();
    let mut decoder = FrameDecoder::new(Direction::ToWorker, MAX);
    decoder.feed(&to_worker);
    let mut kinds = Vec::new();
    while let Some(frame) = decoder.next_frame().unwrap() {
        kinds.push(frame.kind);
    }
    assert_eq!(kinds, [Kind::Hello, Kind::Init, Kind::Run, Kind::Exit]);

    let from_worker = [READY, DONE, DONE_CHUNK].concat();
    let mut decoder = FrameDecoder::new(Direction::FromWorker, MAX);
    decoder.feed(&from_worker);
    let mut ids = Vec::new();
    while let Some(frame) = decoder.next_frame().unwrap() {
        ids.push((frame.kind, frame.work_id));
    }
    assert_eq!(ids, [(Kind::Ready, 0), (Kind::Done, 7), (Kind::Done, 8)]);

    // Each pipe's decoder refuses the other pipe's frames.
    let mut decoder = FrameDecoder::new(Direction::FromWorker, MAX);
    decoder.feed(RUN);
    assert_eq!(
        decoder.next_frame(),
        Err(DecodeError::WrongDirection(Kind::Run))
    );
}

/// The examples of `WIRE.md`: each `<!-- golden: NAME -->` line is followed
/// by a fenced block of hex bytes, with `#` starting a comment.
fn wire_md_examples() -> Vec<(String, Vec<u8>)> {
    let doc = include_str!("../WIRE.md");
    let mut examples = Vec::new();
    let mut lines = doc.lines();
    while let Some(line) = lines.next() {
        let Some(name) = line
            .trim()
            .strip_prefix("<!-- golden:")
            .and_then(|rest| rest.strip_suffix("-->"))
        else {
            continue;
        };
        assert_eq!(
            lines.next().map(str::trim),
            Some("```text"),
            "the block of {name}"
        );
        let mut bytes = Vec::new();
        for line in lines.by_ref() {
            if line.trim() == "```" {
                break;
            }
            let data = line.split('#').next().unwrap_or("");
            for token in data.split_whitespace() {
                assert_eq!(token.len(), 2, "{name}: {token:?} is not one hex byte");
                bytes.push(u8::from_str_radix(token, 16).unwrap());
            }
        }
        examples.push((name.trim().to_owned(), bytes));
    }
    examples
}

#[test]
fn wire_md_examples_are_the_goldens() {
    let examples = wire_md_examples();
    for (name, bytes) in &examples {
        let golden = GOLDENS
            .iter()
            .find(|(golden, _)| golden == name)
            .unwrap_or_else(|| panic!("WIRE.md example {name} has no golden constant"));
        assert!(
            bytes == golden.1,
            "WIRE.md example {name}:\n   WIRE.md: {}\n    golden: {}",
            hex(bytes),
            hex(golden.1)
        );
    }
    for (name, _) in GOLDENS {
        let count = examples.iter().filter(|(n, _)| n == name).count();
        assert_eq!(count, 1, "golden {name} appears {count} times in WIRE.md");
    }
}
