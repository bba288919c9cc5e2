//! The body of the `future_ops` fuzz target, as a plain function of bytes.
//!
//! `fuzz/` calls it under cargo-fuzz (where `--cfg fuzzing` makes this module
//! public); the test at the bottom runs it on stable over the checked-in
//! corpus and over generated inputs.
// Public only to `fuzz/`; in `cargo test` the module is private.
#![cfg_attr(not(fuzzing), allow(unreachable_pub))]

use alloc::vec::Vec;
use core::time::Duration;

use crate::sync::{Arc, AtomicU32, Ordering};
use crate::{Completion, Future, ResultError};

/// Python's states, as the model sees them.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Model {
    Pending,
    Running,
    Cancelled,
    CancelledAndNotified,
    Finished(Result<u8, u8>),
}

/// `future_ops`: each byte is one operation (set_running_or_notify_cancel,
/// set_result, set_exception, cancel, add a done callback, a timed
/// `result(0)`, the state queries) applied both to a real `Future` and to a
/// small sequential model of Python's rules: every answer agrees, and by the
/// end (when the last completer is dropped) each done callback ran exactly
/// once, with the outcome the model expects.
pub fn future_ops(data: &[u8]) {
    let future: Future<u8, u8> = Future::new();
    let completer = future.completer();
    let mut model = Model::Pending;
    let ran = Arc::new(AtomicU32::new(0));
    let mut added = 0u32;
    let mut seen: Vec<Arc<AtomicU32>> = Vec::new();
    for &byte in data {
        let value = byte >> 3;
        match byte & 7 {
            0 => {
                let real = completer.set_running_or_notify_cancel();
                let expected = match model {
                    Model::Pending => {
                        model = Model::Running;
                        Some(true)
                    }
                    Model::Cancelled => {
                        model = Model::CancelledAndNotified;
                        Some(false)
                    }
                    _ => None,
                };
                assert_eq!(
                    real.ok(),
                    expected,
                    "set_running_or_notify_cancel in {model:?}"
                );
            }
            1 | 2 => {
                let ok = match byte & 7 {
                    1 => completer.set_result(value).is_ok(),
                    _ => completer.set_exception(value).is_ok(),
                };
                let expected = matches!(model, Model::Pending | Model::Running);
                assert_eq!(ok, expected, "set_result/set_exception in {model:?}");
                if expected {
                    let outcome = if byte & 7 == 1 { Ok(value) } else { Err(value) };
                    model = Model::Finished(outcome);
                }
            }
            3 => {
                let expected = match model {
                    Model::Pending => {
                        model = Model::Cancelled;
                        true
                    }
                    Model::Cancelled | Model::CancelledAndNotified => true,
                    Model::Running | Model::Finished(_) => false,
                };
                assert_eq!(future.cancel(), expected, "cancel in {model:?}");
            }
            4 => {
                added += 1;
                let ran = Arc::clone(&ran);
                let outcome = Arc::new(AtomicU32::new(0));
                seen.push(Arc::clone(&outcome));
                future.add_done_callback(move |completion| {
                    // ORDERING: callbacks run on this thread (the only one); Relaxed suffices.
                    ran.fetch_add(1, Ordering::Relaxed);
                    let code = match completion {
                        Completion::Returned(&v) => 0x100 | u32::from(v),
                        Completion::Raised(&e) => 0x200 | u32::from(e),
                        Completion::Cancelled => 0x300,
                    };
                    // ORDERING: as above.
                    outcome.store(code, Ordering::Relaxed);
                });
            }
            5 => {
                let real = future.result(Some(Duration::ZERO));
                match model {
                    Model::Pending | Model::Running => {
                        assert_eq!(real, Err(ResultError::Timeout), "result(0) in {model:?}")
                    }
                    Model::Cancelled | Model::CancelledAndNotified => {
                        assert_eq!(
                            real,
                            Err(ResultError::Cancelled),
                            "result(0) when cancelled"
                        )
                    }
                    Model::Finished(Ok(v)) => assert_eq!(real, Ok(&v), "result(0) when finished"),
                    Model::Finished(Err(e)) => {
                        assert_eq!(real, Err(ResultError::Failed(&e)), "result(0) when failed")
                    }
                }
            }
            _ => {
                let done = !matches!(model, Model::Pending | Model::Running);
                assert_eq!(future.done(), done, "done() in {model:?}");
                assert_eq!(
                    future.running(),
                    model == Model::Running,
                    "running() in {model:?}"
                );
                let cancelled = matches!(model, Model::Cancelled | Model::CancelledAndNotified);
                assert_eq!(future.cancelled(), cancelled, "cancelled() in {model:?}");
            }
        }
    }
    // The last completer gone: an unfinished future is cancelled (even from
    // RUNNING), so every callback has run by now.
    drop(completer);
    if matches!(model, Model::Pending | Model::Running) {
        model = Model::Cancelled;
    }
    assert!(future.done(), "a future with no completer left is not done");
    // ORDERING: callbacks ran on this thread.
    assert_eq!(
        ran.load(Ordering::Relaxed),
        added,
        "a done callback did not run exactly once"
    );
    let expected = match model {
        Model::Finished(Ok(v)) => 0x100 | u32::from(v),
        Model::Finished(Err(e)) => 0x200 | u32::from(e),
        _ => 0x300,
    };
    for outcome in seen {
        // ORDERING: as above.
        assert_eq!(
            outcome.load(Ordering::Relaxed),
            expected,
            "a callback saw another outcome"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn future_ops_over_the_corpus_and_generated_inputs() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/corpus/future_ops");
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                future_ops(&std::fs::read(entry.path()).unwrap());
            }
        }
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for len in 0..600 {
            let input: Vec<u8> = (0..len % 40)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect();
            future_ops(&input);
        }
    }
}
