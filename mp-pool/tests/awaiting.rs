//! An `AsyncResult` is a `std::future::Future`: it can be awaited with no
//! runtime, here by a tiny `block_on` that parks until woken.

mod common;

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::Instant;

use common::{GUARD, clean, panics_on_zero, pool, square};
use mp_pool::{Callbacks, PoolError};

/// Wakes the thread that polls.
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `future` until ready, parking in between; a lost wake-up becomes a
/// failure after `GUARD`, never a hang.
fn block_on<F: Future>(future: F) -> F::Output {
    let deadline = Instant::now() + GUARD.unwrap();
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "the future was never woken");
        thread::park_timeout(left);
    }
}

#[test]
fn an_apply_async_result_can_be_awaited_without_a_runtime() {
    let clean = clean();
    let pool = pool(2);
    assert_eq!(block_on(pool.apply_async(square, 12).unwrap()), Ok(144));
    let failed = block_on(pool.apply_async(panics_on_zero, 0).unwrap());
    assert!(matches!(failed, Err(PoolError::Task(_))), "{failed:?}");
    drop(pool);
    clean.check();
}

#[test]
fn a_gathered_or_called_back_result_can_be_awaited_too() {
    let clean = clean();
    let pool = pool(2);
    let squares = block_on(pool.map_async(square, 0..10u64, Some(3)).unwrap());
    assert_eq!(squares, Ok((0..10u64).map(|n| n * n).collect()));
    let job = pool
        .apply_async_with(square, 5, Callbacks::new().on_success(|_| ()))
        .unwrap();
    assert_eq!(block_on(async { job.await.map(|n| n + 1) }), Ok(26));
    drop(pool);
    clean.check();
}

#[test]
fn polling_with_a_noop_waker_never_blocks_and_a_real_waker_then_finishes() {
    let clean = clean();
    let pool = pool(1);
    let mut job = pin!(pool.apply_async(square, 3).unwrap());
    let mut cx = Context::from_waker(Waker::noop());
    // Ready or not, a poll returns at once. Pending may outlast `wait()`:
    // `Ready` waits for the job's callbacks too, so finish with a waker.
    let outcome = match job.as_mut().poll(&mut cx) {
        Poll::Ready(outcome) => outcome,
        Poll::Pending => block_on(job.as_mut()),
    };
    assert_eq!(outcome, Ok(9));
    drop(pool);
    clean.check();
}
