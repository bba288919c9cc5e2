//! A future with no allocator: a `static`, plain-function callbacks, and a fixed
//! capacity whose overflow is a typed error. Built without `alloc` when run as
//! `cargo test -p future-core --no-default-features --features futex`.

use future_core::{Completion, FutureCell, ResultError};
use std::{
    sync::atomic::{AtomicU32, Ordering},
    time::{Duration, Instant},
};

/// The test's own clock, so this file also runs without future-core's `std`.
struct TestClock(Instant);

impl future_core::Clock for TestClock {
    fn now(&self) -> Duration {
        self.0.elapsed()
    }
}

static FUT: FutureCell<u32, u8, 2> = FutureCell::new();
static SEEN: AtomicU32 = AtomicU32::new(0);

fn remember(c: Completion<'_, u32, u8>) {
    if let Completion::Returned(v) = c {
        SEEN.store(*v, Ordering::SeqCst);
    }
}

#[test]
fn a_static_future_completes_from_another_thread() {
    FUT.add_done_callback_fn(remember).unwrap();
    let t = std::thread::spawn(|| FUT.set_result(1234).unwrap());
    let clock = TestClock(Instant::now());
    let got = FUT.result_with_clock(Some(Duration::from_secs(30)), &clock);
    assert_eq!(got, Ok(&1234));
    t.join().unwrap();
    assert_eq!(SEEN.load(Ordering::SeqCst), 1234);
}

#[test]
fn capacity_overflow_is_an_error_without_alloc_and_growth_with_it() {
    fn nothing(_: Completion<'_, u8, ()>) {}
    let cell: FutureCell<u8, (), 1> = FutureCell::new();
    cell.add_done_callback_fn(nothing).unwrap();
    let second = cell.add_done_callback_fn(nothing);
    if cfg!(feature = "alloc") {
        assert_eq!(second, Ok(()));
    } else {
        assert_eq!(second.map_err(|e| e.capacity()), Err(1));
        assert!(second.unwrap_err().to_string().contains("capacity 1"));
    }
    cell.set_exception(()).unwrap();
    assert_eq!(
        cell.result_with_clock(None, &TestClock(Instant::now())),
        Err(ResultError::Failed(&()))
    );
}

#[test]
fn a_future_on_the_stack_borrowed_by_scoped_threads() {
    let cell: FutureCell<[u8; 64], (), 1> = FutureCell::new();
    std::thread::scope(|s| {
        let reader = s.spawn(|| {
            *cell
                .result_with_clock(None, &TestClock(Instant::now()))
                .unwrap()
        });
        s.spawn(|| cell.set_result([7; 64]).unwrap());
        assert_eq!(reader.join().unwrap(), [7; 64]);
    });
}
