//! Arbitrary event sequences into proc-exec's sans-IO pool state: its
//! invariants hold after every event and every item resolves exactly once.
//! The property lives in `proc_exec::fuzzing::pool_core`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| proc_exec::fuzzing::pool_core(data));
