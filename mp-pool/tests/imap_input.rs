//! `imap` over an input that fails partway (issue 14, section 6): the call
//! reads nothing, the results before the failure come first, the failure is
//! yielded in its place, and the pool goes on. Each test runs under a
//! watchdog: a hang is a failure.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Once, mpsc};

use common::{clean, pool, square};
use mp_pool::{Pool, PoolError};
use proc_exec::InputError;

/// Runs `body` under the hang guard, with the inputs' panics (on purpose)
/// kept out of the output.
fn guard(what: &str, body: impl FnOnce()) {
    quiet();
    common::watchdog(what, body);
}

/// The inputs' panics are on purpose: keep them out of the output.
fn quiet() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| common::quiet_panics("on purpose"));
}

/// 0, 1, 2, then a panic at item 3 (and nothing after it may be read).
fn panics_at_3() -> impl Iterator<Item = u64> {
    (0..).inspect(|&n| assert!(n < 3, "the input failed on purpose at {n}"))
}

/// 0, 1, 2, then `Err` at item 3; reading on after it panics.
fn err_at_3() -> impl Iterator<Item = Result<u64, String>> {
    (0u64..).map(|n| match n {
        0..3 => Ok(n),
        3 => Err(format!("bad record {n}")),
        _ => panic!("the input was read after its error (on purpose)"),
    })
}

fn assert_panicked_at_3(error: Option<Result<u64, PoolError>>) {
    match error {
        Some(Err(PoolError::Input(InputError::Panicked { index: 3, message }))) => {
            assert!(message.contains("failed on purpose at 3"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

/// The pool still runs `apply` and `map` after a failed input.
fn assert_usable(pool: &Pool) {
    assert_eq!(pool.apply(square, 7), Ok(49));
    assert_eq!(pool.map(square, 0..4u64, None), Ok(vec![0, 1, 4, 9]));
}

#[test]
fn an_input_panicking_at_item_3_yields_0_1_4_then_the_panic() {
    guard(
        "an input panicking at item 3 yields 0 1 4 then the panic",
        || {
            let clean = clean();
            let pool = pool(2);
            for chunksize in [1, 2, 3, 4, 100] {
                let mut out = pool.imap(square, panics_at_3(), chunksize).unwrap();
                for n in 0..3 {
                    assert_eq!(out.next(), Some(Ok(n * n)), "chunksize {chunksize}");
                }
                assert_panicked_at_3(out.next());
                assert_eq!(out.next(), None, "chunksize {chunksize}");
                drop(out);
                assert_usable(&pool);
            }
            drop(pool);
            clean.check();
        },
    );
}

#[test]
fn imap_unordered_yields_the_panic_after_every_item_before_it() {
    guard(
        "imap unordered yields the panic after every item before it",
        || {
            let clean = clean();
            let pool = pool(2);
            for chunksize in [1, 2, 100] {
                let mut out = pool
                    .imap_unordered(square, panics_at_3(), chunksize)
                    .unwrap();
                let mut first: Vec<u64> = (0..3).map(|_| out.next().unwrap().unwrap()).collect();
                first.sort_unstable();
                assert_eq!(first, [0, 1, 4], "chunksize {chunksize}");
                assert_panicked_at_3(out.next());
                assert_eq!(out.next(), None, "chunksize {chunksize}");
                drop(out);
                assert_usable(&pool);
            }
            drop(pool);
            clean.check();
        },
    );
}

#[test]
fn try_imap_yields_the_inputs_err_in_its_place_and_reads_no_further() {
    guard(
        "try imap yields the inputs err in its place and reads no further",
        || {
            let clean = clean();
            let pool = pool(2);
            for chunksize in [1, 2, 100] {
                let out: Vec<_> = pool
                    .try_imap(square, err_at_3(), chunksize)
                    .unwrap()
                    .collect();
                let failed = Err(PoolError::Input(InputError::Failed {
                    index: 3,
                    message: "bad record 3".to_owned(),
                }));
                assert_eq!(out, [Ok(0), Ok(1), Ok(4), failed], "chunksize {chunksize}");
                assert_usable(&pool);
            }
            let mut out = pool.try_imap_unordered(square, err_at_3(), 2).unwrap();
            let mut first: Vec<u64> = (0..3).map(|_| out.next().unwrap().unwrap()).collect();
            first.sort_unstable();
            assert_eq!(first, [0, 1, 4]);
            match out.next() {
                Some(Err(PoolError::Input(error))) => {
                    assert_eq!(error.index(), 3);
                    assert_eq!(
                        error.to_string(),
                        "the map's input failed at item 3: bad record 3"
                    );
                }
                other => panic!("{other:?}"),
            }
            assert_eq!(out.next(), None);
            drop(out);
            assert_usable(&pool);
            drop(pool);
            clean.check();
        },
    );
}

#[test]
fn imap_reads_no_input_inside_the_call_and_an_endless_input_yields() {
    guard(
        "imap reads no input inside the call and an endless input yields",
        || {
            let clean = clean();
            let pool = pool(2);
            let read = Arc::new(AtomicUsize::new(0));
            let counter = Arc::clone(&read);
            let endless = (0u64..).inspect(move |_| {
                // ORDERING: a count the test reads on the same thread.
                counter.fetch_add(1, Ordering::Relaxed);
            });
            let mut out = pool.imap(square, endless, 1).unwrap();
            assert_eq!(read.load(Ordering::Relaxed), 0, "imap read its input");
            let first: Vec<u64> = out.by_ref().take(5).map(Result::unwrap).collect();
            assert_eq!(first, [0, 1, 4, 9, 16]);
            drop(out);
            let unordered = pool.imap_unordered(square, 0u64.., 1).unwrap();
            assert_eq!(unordered.take(5).count(), 5);
            drop(pool);
            clean.check();
        },
    );
}

#[test]
fn an_input_that_blocks_does_not_block_the_imap_call() {
    guard("an input that blocks does not block the imap call", || {
        let clean = clean();
        let pool = pool(2);
        // Nothing is sent until the calls returned: reading the input inside
        // either call would wait forever.
        let (send, input) = mpsc::channel::<u64>();
        let (send_unordered, input_unordered) = mpsc::channel::<u64>();
        let out = pool.imap(square, input, 1).unwrap();
        let unordered = pool.imap_unordered(square, input_unordered, 1).unwrap();
        for n in 0..3 {
            send.send(n).unwrap();
            send_unordered.send(n).unwrap();
        }
        drop(send);
        drop(send_unordered);
        assert_eq!(out.map(Result::unwrap).collect::<Vec<_>>(), [0, 1, 4]);
        let mut all: Vec<u64> = unordered.map(Result::unwrap).collect();
        all.sort_unstable();
        assert_eq!(all, [0, 1, 4]);
        drop(pool);
        clean.check();
    });
}
