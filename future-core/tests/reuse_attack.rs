//! A hostile user of `reset` and `try_result`: an `.await` still alive, one
//! dropped half-way, a waker that panics when woken, and resets racing
//! registrations on another thread. Every refusal is typed, and each
//! round's outcome comes out exactly once.

use future_core::{FutureCell, ResetError, State, TryResultError};
use std::{
    future::{Future, IntoFuture},
    pin::pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
        mpsc,
    },
    task::{Context, Poll, Waker},
    thread,
    time::Duration,
};

#[test]
fn an_await_still_alive_blocks_a_reset_until_dropped() {
    let cell: FutureCell<u8, ()> = FutureCell::new();
    let mut cx = Context::from_waker(Waker::noop());
    {
        let mut waiting = pin!((&cell).into_future());
        assert!(waiting.as_mut().poll(&mut cx).is_pending());
        cell.set_result(1).unwrap();
        assert_eq!(cell.reset(), Err(ResetError::WaiterRegistered));
        // Dropped without being polled again: its registration goes too.
    }
    assert_eq!(cell.reset(), Ok(Some(Ok(1))));

    // Dropped before the cell was done: nothing stays registered.
    {
        let mut waiting = pin!(cell.done_async());
        assert!(waiting.as_mut().poll(&mut cx).is_pending());
    }
    cell.set_result(2).unwrap();
    assert_eq!(cell.reset(), Ok(Some(Ok(2))));

    // Polled to the end: the outcome was lent.
    {
        let mut waiting = pin!(cell.done_async());
        assert!(waiting.as_mut().poll(&mut cx).is_pending());
        cell.set_result(3).unwrap();
        assert_eq!(waiting.as_mut().poll(&mut cx), Poll::Ready(Ok(&3)));
    }
    assert_eq!(cell.reset(), Err(ResetError::Lent));
    assert_eq!(cell.try_result(), Ok(&3));
}

#[test]
fn try_result_before_done_lends_nothing() {
    let cell: FutureCell<u8, ()> = FutureCell::new();
    for _ in 0..3 {
        assert_eq!(cell.try_result(), Err(TryResultError::NotDone));
    }
    assert_eq!(cell.set_running_or_notify_cancel(), Ok(true));
    assert_eq!(cell.try_result(), Err(TryResultError::NotDone));
    cell.set_exception(()).unwrap();
    assert_eq!(cell.reset(), Ok(Some(Err(()))));
    assert_eq!(cell.state(), State::Pending);
    assert_eq!(cell.try_result(), Err(TryResultError::NotDone));
}

/// A waker that panics when woken. With `std` only: without it a panic
/// cannot be caught (and a `no_std` target's panic handler does not return).
#[cfg(feature = "std")]
mod panicking_waker {
    use super::*;
    use future_core::Completion;
    use std::sync::atomic::AtomicU32;
    use std::task::{RawWaker, RawWakerVTable};

    static PANICKY_WOKEN: AtomicU32 = AtomicU32::new(0);

    fn panicky_clone(data: *const ()) -> RawWaker {
        RawWaker::new(data, &PANICKY)
    }

    fn panicky_wake(_: *const ()) {
        PANICKY_WOKEN.fetch_add(1, Ordering::SeqCst);
        panic!("a waker that panics when woken");
    }

    fn panicky_drop(_: *const ()) {}

    static PANICKY: RawWakerVTable =
        RawWakerVTable::new(panicky_clone, panicky_wake, panicky_wake, panicky_drop);

    static CALLED: AtomicBool = AtomicBool::new(false);

    fn called(_: Completion<'_, u8, ()>) {
        CALLED.store(true, Ordering::SeqCst);
    }

    /// A user's waker that panics in `wake`: the completion still runs the done
    /// callbacks and settles, so the cell can be reset and nothing waits for
    /// ever; the panic is the completer's to see, as a callback's would be
    /// reported.
    #[test]
    fn a_waker_that_panics_does_not_strand_the_cell() {
        static CELL: FutureCell<u8, ()> = FutureCell::new();
        // SAFETY: the vtable's functions ignore the data pointer.
        let waker = unsafe { Waker::from_raw(RawWaker::new(std::ptr::null(), &PANICKY)) };
        CELL.add_done_callback_fn(called).unwrap();
        let key = CELL.register_waker(&waker).unwrap().unwrap();
        let completed = std::panic::catch_unwind(|| CELL.set_result(5));
        assert!(completed.is_err(), "the completer sees the waker's panic");
        assert_eq!(PANICKY_WOKEN.load(Ordering::SeqCst), 1);
        assert!(CELL.done());
        assert!(
            CALLED.load(Ordering::SeqCst),
            "the done callback never ran (completed: {:?})",
            completed.is_ok()
        );
        CELL.unregister_waker(key);
        assert_eq!(CELL.reset(), Ok(Some(Ok(5))));
    }
}

/// Another thread registers and unregisters wakers without pause while the
/// main thread completes and resets the cell round after round: each reset
/// is refused (typed) or takes its round's value, exactly once.
#[test]
fn resets_racing_registrations_on_another_thread() {
    const ROUNDS: u32 = 3000;
    let cell: Arc<FutureCell<u32, ()>> = Arc::new(FutureCell::new());
    let stop = Arc::new(AtomicBool::new(false));
    let (done, finished) = mpsc::channel();
    let registrar = {
        let (cell, stop) = (Arc::clone(&cell), Arc::clone(&stop));
        thread::spawn(move || {
            let mut registered = 0u64;
            while !stop.load(Ordering::SeqCst) {
                if let Ok(Some(key)) = cell.register_waker(Waker::noop()) {
                    registered += 1;
                    cell.unregister_waker(key);
                }
            }
            registered
        })
    };
    {
        let cell = Arc::clone(&cell);
        thread::spawn(move || {
            let mut seen = Vec::new();
            let mut refusals = [0u32; 3];
            for round in 0..ROUNDS {
                cell.set_result(round).unwrap();
                let value = loop {
                    match cell.reset() {
                        Ok(outcome) => break outcome,
                        Err(ResetError::Busy) => refusals[0] += 1,
                        Err(ResetError::WaiterRegistered) => refusals[1] += 1,
                        Err(ResetError::Settling) => refusals[2] += 1,
                        Err(other) => panic!("round {round}: {other}"),
                    }
                    thread::yield_now();
                };
                seen.push(value.unwrap().unwrap());
            }
            done.send(seen).unwrap();
        });
    }
    let seen = finished
        .recv_timeout(Duration::from_secs(60))
        .expect("the rounds hung or panicked");
    stop.store(true, Ordering::SeqCst);
    registrar.join().unwrap();
    assert_eq!(seen, (0..ROUNDS).collect::<Vec<_>>());
    assert_eq!(cell.state(), State::Pending);
}
