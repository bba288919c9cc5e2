//! A portable parker on the standard library's `Mutex` and `Condvar`.

use super::Park;
use crate::sync::{AtomicU32, Ordering, StdCondvar, StdMutex};
use core::time::Duration;

/// Number of buckets; words that hash to the same bucket share a condvar, which
/// only costs a spurious wake-up now and then.
const BUCKETS: usize = 64;

struct Bucket {
    lock: StdMutex<()>,
    condvar: StdCondvar,
}

static TABLE: [Bucket; BUCKETS] = [const {
    Bucket {
        lock: StdMutex::new(()),
        condvar: StdCondvar::new(),
    }
}; BUCKETS];

fn bucket(word: &AtomicU32) -> &'static Bucket {
    let addr = core::ptr::from_ref(word) as usize;
    // Words are 4-byte aligned; drop the low bits and mix the rest.
    &TABLE[(addr >> 2).wrapping_mul(0x9E37_79B9) % BUCKETS]
}

/// Parks on a condition variable chosen by the word's address, in a fixed
/// table of 64 buckets (the idea of parking_lot's global table, much smaller).
///
/// Used where `std` is available but futexes are not (macOS, Windows, or Linux
/// without the `futex` feature).
#[derive(Debug, Clone, Copy, Default)]
pub struct TableParker;

impl Park for TableParker {
    fn wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) {
        let bucket = bucket(word);
        let guard = bucket.lock.lock().unwrap_or_else(|e| e.into_inner());
        // ORDERING: a waker changes the word before it takes this bucket lock,
        // and we check the word under the lock, so the change is seen either
        // here or by the notify that follows it: no wake-up is lost.
        if word.load(Ordering::Acquire) != expected {
            return;
        }
        match timeout {
            None => drop(bucket.condvar.wait(guard)),
            Some(d) => drop(bucket.condvar.wait_timeout(guard, d)),
        }
    }

    fn wake_one(word: &AtomicU32) {
        // Several words share a bucket, so waking one sleeper could wake the
        // wrong one: wake them all and let the others re-check.
        Self::wake_all(word);
    }

    fn wake_all(word: &AtomicU32) {
        let bucket = bucket(word);
        drop(bucket.lock.lock().unwrap_or_else(|e| e.into_inner()));
        bucket.condvar.notify_all();
    }
}
