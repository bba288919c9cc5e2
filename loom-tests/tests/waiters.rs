//! Loom models of `wait` and `as_completed` against concurrent completion and
//! cancellation: nothing is lost, nothing hangs.
#![cfg(exec_loom)]

use future_core::Future;
use loom::thread::{self, JoinHandle};
use waiters::{ReturnWhen, as_completed, wait};

/// On two threads: finishes `fs[0]` and cancels `fs[1]`.
fn finish_one_cancel_the_other(fs: &[Future<u32, ()>; 2]) -> [JoinHandle<()>; 2] {
    let (c0, c1) = (fs[0].completer(), fs[1].completer());
    [
        thread::spawn(move || c0.set_result(1).unwrap()),
        thread::spawn(move || assert!(c1.cancel())),
    ]
}

/// A completion and a cancellation race the waiter's register-then-recheck.
#[test]
fn wait_all_against_completion_and_cancel() {
    loom::model(|| {
        let fs: [Future<u32, ()>; 2] = [Future::new(), Future::new()];
        let threads = finish_one_cancel_the_other(&fs);
        let r = wait(fs.iter(), None, ReturnWhen::AllCompleted);
        assert_eq!((r.done.len(), r.not_done.len()), (2, 0));
        for t in threads {
            t.join().unwrap();
        }
    });
}

#[test]
fn wait_first_completed_against_completion() {
    loom::model(|| {
        let fs: [Future<u32, ()>; 2] = [Future::new(), Future::new()];
        let c1 = fs[1].completer();
        let t = thread::spawn(move || c1.set_result(1).unwrap());
        let r = wait(fs.iter(), None, ReturnWhen::FirstCompleted);
        assert_eq!(r.done.len(), 1);
        assert!(std::ptr::eq(r.done[0], &fs[1]));
        t.join().unwrap();
    });
}

/// as_completed yields each of two futures exactly once while they complete
/// (one finishing, one cancelled) concurrently with the iteration.
#[test]
fn as_completed_against_completion_and_cancel() {
    loom::model(|| {
        let fs: [Future<u32, ()>; 2] = [Future::new(), Future::new()];
        let threads = finish_one_cancel_the_other(&fs);
        let yielded: Vec<_> = as_completed(fs.iter(), None).map(Result::unwrap).collect();
        assert_eq!(yielded.len(), 2);
        assert!(!std::ptr::eq(yielded[0], yielded[1]));
        for t in threads {
            t.join().unwrap();
        }
    });
}
