//! `map` over an input that panics partway (issue 14, section 6): the items
//! read before it yield their results, then `MapError::InputPanicked`, and
//! the pool goes on. Each test runs under a watchdog: a hang is a failure.

use std::{num::NonZeroUsize, sync::Once};
use thread_exec::{MapError, MapOptions, ThreadPoolExecutor};

/// Runs `body` under the hang guard, with the inputs' panics (on purpose)
/// kept out of the output.
fn guard(what: &str, body: impl FnOnce()) {
    static QUIET: Once = Once::new();
    QUIET.call_once(|| test_support::quiet_panics("on purpose"));
    test_support::watchdog(what, body);
}

/// 0, 1, 2, then a panic at item 3.
fn panics_at_3() -> impl Iterator<Item = u64> {
    (0..).inspect(|&n| assert!(n < 3, "the input failed on purpose at {n}"))
}

#[test]
fn an_input_panicking_at_item_3_yields_0_1_4_then_the_panic() {
    guard(
        "an input panicking at item 3 yields 0 1 4 then the panic",
        || {
            let p = ThreadPoolExecutor::builder()
                .max_workers(2)
                .build()
                .unwrap();
            let window = |n| MapOptions::new().buffersize(NonZeroUsize::new(n).unwrap());
            // Read inside the call (all of it, or a window reaching item 3), or
            // by a `next` (a window of one).
            for options in [MapOptions::new(), window(5), window(1)] {
                let mut out = p.map_with(|n: u64| n * n, panics_at_3(), options).unwrap();
                for n in 0..3 {
                    assert_eq!(out.next(), Some(Ok(n * n)), "{options:?}");
                }
                match out.next() {
                    Some(Err(MapError::InputPanicked { index: 3, message })) => {
                        assert!(message.contains("failed on purpose at 3"), "{message}");
                    }
                    other => panic!("{options:?}: {other:?}"),
                }
                assert_eq!(out.next(), None);
            }
            assert_eq!(p.submit(|| 5).unwrap().into_result(), Ok(5));
        },
    );
}
