//! Arbitrary bytes, in arbitrary chunkings, into proc-exec's frame decoder:
//! no panic, no buffering past the limit, every decoded frame re-encodes to
//! the same bytes. The property lives in `proc_exec::fuzzing::wire_decode`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| proc_exec::fuzzing::wire_decode(data));
