//! `AsCompleted` as a `futures_core::Stream` (feature `futures-core`):
//! polled without blocking, woken by each completion, with no runtime.

use future_core::Future;
use futures_core::Stream;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};
use waiters::{AsCompletedTimeout, as_completed};

const GUARD: Duration = Duration::from_secs(30);

fn futures(n: usize) -> Vec<Future<u32, ()>> {
    (0..n).map(|_| Future::new()).collect()
}

fn index_of(fs: &[Future<u32, ()>], f: &Future<u32, ()>) -> usize {
    fs.iter().position(|x| std::ptr::eq(x, f)).unwrap()
}

/// Counts its wake-ups and unparks the thread that polls.
struct Counting {
    wakes: AtomicUsize,
    thread: Thread,
}

impl Wake for Counting {
    fn wake(self: Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        self.thread.unpark();
    }
}

fn counting() -> (Arc<Counting>, Waker) {
    let counting = Arc::new(Counting {
        wakes: AtomicUsize::new(0),
        thread: thread::current(),
    });
    (Arc::clone(&counting), Waker::from(counting))
}

/// Polls `stream` for its next item, parking in between; a lost wake-up
/// fails after `GUARD` instead of hanging.
fn next<S: Stream + Unpin>(stream: &mut S) -> Option<S::Item> {
    let (_, waker) = counting();
    let mut cx = Context::from_waker(&waker);
    let deadline = Instant::now() + GUARD;
    loop {
        if let Poll::Ready(item) = Pin::new(&mut *stream).poll_next(&mut cx) {
            return item;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "the stream was never woken");
        thread::park_timeout(left);
    }
}

#[test]
fn done_ones_first_then_in_completion_order_then_the_end() {
    let fs = futures(3);
    fs[2].set_result(2).unwrap();
    let mut stream = as_completed(&fs, None);
    assert_eq!(index_of(&fs, next(&mut stream).unwrap().unwrap()), 2);
    thread::scope(|s| {
        s.spawn(|| fs[0].set_result(0).unwrap());
        assert_eq!(index_of(&fs, next(&mut stream).unwrap().unwrap()), 0);
        s.spawn(|| fs[1].cancel());
        assert_eq!(index_of(&fs, next(&mut stream).unwrap().unwrap()), 1);
    });
    assert!(next(&mut stream).is_none());
    assert!(next(&mut stream).is_none());
}

#[test]
fn a_pending_poll_is_woken_by_a_completion_in_another_thread() {
    let fs = futures(1);
    let mut stream = as_completed(&fs, None);
    let (count, waker) = counting();
    let mut cx = Context::from_waker(&waker);
    assert!(Pin::new(&mut stream).poll_next(&mut cx).is_pending());
    assert_eq!(count.wakes.load(Ordering::SeqCst), 0);
    thread::scope(|s| {
        s.spawn(|| fs[0].set_result(7).unwrap());
    });
    // The completing thread has been joined: its wake-up happened.
    assert!(count.wakes.load(Ordering::SeqCst) >= 1);
    match Pin::new(&mut stream).poll_next(&mut cx) {
        Poll::Ready(Some(Ok(f))) => assert_eq!(f.result(None), Ok(&7)),
        other => panic!("expected the future, got {other:?}"),
    }
}

#[test]
fn a_passed_deadline_yields_one_timeout_at_the_next_poll() {
    let fs = futures(2);
    fs[1].set_result(1).unwrap();
    let mut stream = as_completed(&fs, Some(Duration::ZERO));
    assert_eq!(index_of(&fs, next(&mut stream).unwrap().unwrap()), 1);
    let timeout = AsCompletedTimeout {
        unfinished: 1,
        total: 2,
    };
    assert_eq!(next(&mut stream).map(|r| r.map(drop)), Some(Err(timeout)));
    assert!(next(&mut stream).is_none());
}
