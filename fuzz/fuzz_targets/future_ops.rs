//! Arbitrary operation sequences on a real future and on a model of
//! Python's rules: the same answers, each done callback run exactly once.
//! The property lives in `future_core::fuzzing::future_ops`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| future_core::fuzzing::future_ops(data));
