//! `reset` and `try_result`: a `static` cell reused round after round, and each
//! rule of a reset enforced with its own error (issue 18).

use future_core::{FutureCell, ResetError, State, TryResultError};
use std::{
    sync::{
        atomic::{AtomicU32, Ordering},
        mpsc,
    },
    task::Waker,
    thread,
    time::Duration,
};

#[test]
fn try_result_needs_no_clock_and_never_blocks() {
    let cell: FutureCell<u8, &str> = FutureCell::new();
    assert_eq!(cell.try_result(), Err(TryResultError::NotDone));
    cell.set_result(3).unwrap();
    assert_eq!(cell.try_result(), Ok(&3));
    let failed: FutureCell<u8, &str> = FutureCell::new();
    failed.set_exception("bad").unwrap();
    assert_eq!(failed.try_result(), Err(TryResultError::Failed(&"bad")));
    let cancelled: FutureCell<u8, &str> = FutureCell::new();
    assert!(cancelled.cancel());
    assert_eq!(cancelled.try_result(), Err(TryResultError::Cancelled));
}

static ROUNDS: FutureCell<u32, ()> = FutureCell::new();

/// A producer thread completes the static cell once per round; the consumer
/// waits without lending and takes each value by `reset`: every value once.
#[test]
fn a_static_cell_is_reused_for_many_rounds() {
    const N: u32 = 2000;
    let (go, next) = mpsc::sync_channel::<u32>(1);
    let (done, finished) = mpsc::channel();
    let producer = thread::spawn(move || {
        while let Ok(value) = next.recv() {
            ROUNDS.set_result(value).unwrap();
        }
    });
    thread::spawn(move || {
        let mut seen = Vec::new();
        for value in 0..N {
            go.send(value).unwrap();
            while !ROUNDS.done() {
                thread::yield_now();
            }
            // The completion may still be settling on the producer.
            let outcome = loop {
                match ROUNDS.reset() {
                    Err(ResetError::Settling) => thread::yield_now(),
                    other => break other,
                }
            };
            seen.push(outcome.unwrap().unwrap().unwrap());
        }
        done.send(seen).unwrap();
    });
    let seen = finished
        .recv_timeout(Duration::from_secs(60))
        .expect("the rounds hung");
    assert_eq!(seen, (0..N).collect::<Vec<_>>());
    producer.join().unwrap();
}

#[test]
fn a_cell_that_is_not_done_is_not_reset() {
    let cell: FutureCell<u8, ()> = FutureCell::new();
    assert_eq!(cell.reset(), Err(ResetError::NotDone(State::Pending)));
    assert_eq!(cell.set_running_or_notify_cancel(), Ok(true));
    assert_eq!(cell.reset(), Err(ResetError::NotDone(State::Running)));
    cell.set_result(1).unwrap();
    assert_eq!(cell.reset(), Ok(Some(Ok(1))));
    assert_eq!(cell.state(), State::Pending);
}

#[test]
fn a_cancelled_cell_resets_with_no_outcome() {
    let cell: FutureCell<u8, ()> = FutureCell::new();
    assert!(cell.cancel());
    assert_eq!(cell.reset(), Ok(None));
    cell.set_result(2).unwrap();
    assert_eq!(cell.reset(), Ok(Some(Ok(2))));
}

#[test]
fn a_lent_outcome_is_never_reset() {
    let by_try: FutureCell<u8, ()> = FutureCell::new();
    by_try.set_result(1).unwrap();
    let borrowed = by_try.try_result().unwrap();
    assert_eq!(by_try.reset(), Err(ResetError::Lent));
    assert_eq!(*borrowed, 1, "the borrow is still good");

    let by_wait: FutureCell<u8, ()> = FutureCell::new();
    by_wait.set_result(2).unwrap();
    let _ = by_wait.result_with_clock(Some(Duration::ZERO), &NoClock);
    assert_eq!(by_wait.reset(), Err(ResetError::Lent));

    let by_late_callback: FutureCell<u8, ()> = FutureCell::new();
    by_late_callback.set_result(3).unwrap();
    by_late_callback.add_done_callback_fn(|_| {}).unwrap();
    assert_eq!(by_late_callback.reset(), Err(ResetError::Lent));
}

static IN_CALLBACK: FutureCell<u8, ()> = FutureCell::new();
static SEEN_IN_CALLBACK: AtomicU32 = AtomicU32::new(0);

/// A done callback runs before the completion is settled: a reset from it
/// (say, a driver re-arming from its completion callback) is refused.
#[test]
fn a_reset_from_a_done_callback_is_refused_while_settling() {
    IN_CALLBACK
        .add_done_callback_fn(|_| {
            let refused = IN_CALLBACK.reset() == Err(ResetError::Settling);
            SEEN_IN_CALLBACK.store(u32::from(refused) + 1, Ordering::SeqCst);
        })
        .unwrap();
    IN_CALLBACK.set_result(5).unwrap();
    assert_eq!(
        SEEN_IN_CALLBACK.load(Ordering::SeqCst),
        2,
        "refused with Settling"
    );
    assert_eq!(IN_CALLBACK.reset(), Ok(Some(Ok(5))));
}

#[test]
fn a_registered_waiter_blocks_a_reset_until_it_unregisters() {
    let cell: FutureCell<u8, ()> = FutureCell::new();
    let key = cell.register_waker(Waker::noop()).unwrap().unwrap();
    cell.set_result(4).unwrap();
    assert_eq!(cell.reset(), Err(ResetError::WaiterRegistered));
    cell.unregister_waker(key);
    assert_eq!(cell.reset(), Ok(Some(Ok(4))));
}

#[cfg(feature = "alloc")]
#[test]
fn a_future_handle_is_never_reset() {
    let fut: future_core::Future<u8, ()> = future_core::Future::new();
    fut.set_result(1).unwrap();
    assert_eq!(fut.reset(), Err(ResetError::Handle));
    assert_eq!(fut.into_result(), Ok(1));
}

#[test]
fn the_errors_say_what_to_do() {
    assert_eq!(
        ResetError::WaiterRegistered.to_string(),
        "cannot reset: a waiter is still registered (unregister its key)"
    );
    assert_eq!(
        ResetError::NotDone(State::Running).to_string(),
        "cannot reset: the future is still RUNNING"
    );
}

/// Never read: the reads above have a zero timeout.
struct NoClock;

impl future_core::Clock for NoClock {
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}
