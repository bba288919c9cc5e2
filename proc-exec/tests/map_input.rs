//! `map` and `map_unordered` over an input that fails partway (issue 14,
//! section 6): the failure is yielded in its place after the items before
//! it, whether it happens inside the call or in `next`, and the pool goes
//! on. Each test runs under a watchdog: a hang is a failure.

mod common;

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Once, mpsc};

use common::{builder, clean};
use proc_exec::{InputError, MapError, MapOptions, ProcessPoolExecutor};

/// Runs `body` under the hang guard, with the inputs' panics (on purpose)
/// kept out of the output.
fn guard(what: &str, body: impl FnOnce()) {
    static QUIET: Once = Once::new();
    QUIET.call_once(|| common::quiet_panics("on purpose"));
    common::watchdog(what, body);
}

fn pool(workers: usize) -> ProcessPoolExecutor {
    builder().max_workers(workers).build().unwrap()
}

fn chunks(n: usize) -> MapOptions {
    MapOptions::new().chunksize(NonZeroUsize::new(n).unwrap())
}

fn square(n: u64) -> u64 {
    n * n
}

/// 0, 1, 2, then a panic at item 3.
fn panics_at_3() -> impl Iterator<Item = u64> {
    (0..).inspect(|&n| assert!(n < 3, "the input failed on purpose at {n}"))
}

fn assert_panicked_at_3<T: std::fmt::Debug>(item: Option<Result<T, MapError>>) {
    match item {
        Some(Err(MapError::Input(InputError::Panicked { index: 3, message }))) => {
            assert!(message.contains("failed on purpose at 3"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_input_panicking_inside_map_yields_the_items_before_it_then_the_panic() {
    guard(
        "an input panicking inside map yields the items before it then the panic",
        || {
            let clean = clean();
            let pool = pool(2);
            let window = NonZeroUsize::new(2).unwrap();
            // Read inside the call: all of it, or a window of two chunks that
            // reaches item 3 with chunks of 2.
            for options in [chunks(1), chunks(2).buffersize(window), chunks(5)] {
                let mut out = pool.map_with(square, panics_at_3(), options).unwrap();
                for n in 0..3 {
                    assert_eq!(out.next(), Some(Ok(n * n)), "{options:?}");
                }
                assert_panicked_at_3(out.next());
                assert_eq!(out.next(), None);
                drop(out);
                let mut unordered = pool.map_unordered(square, panics_at_3(), options).unwrap();
                let mut first: Vec<u64> =
                    (0..3).map(|_| unordered.next().unwrap().unwrap()).collect();
                first.sort_unstable();
                assert_eq!(first, [0, 1, 4], "{options:?}");
                assert_panicked_at_3(unordered.next());
                assert_eq!(unordered.next(), None);
            }
            assert_eq!(pool.submit(square, 6).unwrap().into_result(), Ok(36));
            drop(pool);
            clean.check();
        },
    );
}

#[test]
fn an_input_panicking_in_next_yields_the_items_before_it_then_the_panic() {
    guard(
        "an input panicking in next yields the items before it then the panic",
        || {
            let clean = clean();
            let pool = pool(2);
            // A window of one chunk: item 3 is read by a `next`, not the call.
            let options = chunks(1).buffersize(NonZeroUsize::MIN);
            let mut out = pool.map_with(square, panics_at_3(), options).unwrap();
            for n in 0..3 {
                assert_eq!(out.next(), Some(Ok(n * n)));
            }
            assert_panicked_at_3(out.next());
            assert_eq!(out.next(), None);
            drop(out);
            assert_eq!(pool.submit(square, 6).unwrap().into_result(), Ok(36));
            drop(pool);
            clean.check();
        },
    );
}

#[test]
fn try_map_ends_at_the_inputs_first_err() {
    guard("try map ends at the inputs first err", || {
        let clean = clean();
        let pool = pool(2);
        let read = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&read);
        let input = (0u64..10)
            .inspect(move |_| {
                // ORDERING: a count read on this same thread.
                counter.fetch_add(1, Ordering::Relaxed);
            })
            .map(|n| if n == 3 { Err("no three") } else { Ok(n) });
        let out: Vec<_> = pool
            .try_map_with(square, input, chunks(2))
            .unwrap()
            .collect();
        let failed = Err(MapError::Input(InputError::Failed {
            index: 3,
            message: "no three".to_owned(),
        }));
        assert_eq!(out, [Ok(0), Ok(1), Ok(4), failed]);
        assert_eq!(read.load(Ordering::Relaxed), 4, "read on after the Err");
        let input = [Ok(1u64), Err("no"), Ok(3)];
        let out: Vec<_> = pool
            .try_map_unordered(square, input, MapOptions::new())
            .unwrap()
            .collect();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0], Ok(1));
        assert!(matches!(&out[1], Err(MapError::Input(e)) if e.index() == 1));
        drop(pool);
        clean.check();
    });
}

#[test]
fn defer_start_reads_no_input_inside_the_call() {
    guard("defer start reads no input inside the call", || {
        let clean = clean();
        let pool = pool(2);
        let (send, input) = mpsc::channel::<u64>();
        let options = chunks(2).buffersize(NonZeroUsize::MIN).defer_start();
        // The input blocks until the call returned and the test sends.
        let out = pool.map_with(square, input, options).unwrap();
        (0..5).for_each(|n| send.send(n).unwrap());
        drop(send);
        assert_eq!(
            out.map(Result::unwrap).collect::<Vec<_>>(),
            [0, 1, 4, 9, 16]
        );
        drop(pool);
        clean.check();
    });
}
