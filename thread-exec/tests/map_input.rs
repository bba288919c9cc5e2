//! `map` over an input that panics partway (issue 14, section 6): the items
//! read before it yield their results, then `MapError::InputPanicked`, and
//! the pool goes on. Each test runs under a watchdog: a hang is a failure.

use std::{
    num::NonZeroUsize,
    sync::{Once, mpsc},
};
use thread_exec::{MapError, MapOptions, ThreadPoolExecutor};

/// Runs `body` on its own thread and fails the test if it does not end in
/// time (a hang guard, never a synchronisation).
fn watchdog(body: impl FnOnce() + Send + 'static) {
    static QUIET: Once = Once::new();
    QUIET.call_once(|| test_support::quiet_panics("on purpose"));
    let (done, finished) = mpsc::channel();
    let body = std::thread::spawn(move || {
        body();
        let _ = done.send(());
    });
    match finished.recv_timeout(test_support::GUARD.unwrap()) {
        Ok(()) => body.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            // The body panicked: report its panic.
            if let Err(panic) = body.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("the test hung"),
    }
}

/// 0, 1, 2, then a panic at item 3.
fn panics_at_3() -> impl Iterator<Item = u64> {
    (0..).inspect(|&n| assert!(n < 3, "the input failed on purpose at {n}"))
}

#[test]
fn an_input_panicking_at_item_3_yields_0_1_4_then_the_panic() {
    watchdog(|| {
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
    });
}
