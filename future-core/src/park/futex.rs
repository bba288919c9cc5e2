//! Linux futexes, through rustix's raw system calls (no libc, no std).

use super::Park;
use crate::sync::AtomicU32;
use core::time::Duration;
use rustix::thread::futex;

/// Parks on the word itself with `FUTEX_WAIT`/`FUTEX_WAKE` (process-private).
///
/// A wait costs one system call only when the word still holds the expected
/// value; a wake costs one system call. Callers keep a "someone is parked" bit
/// so that an uncontended wake makes no system call at all.
///
/// # References
/// - [Linux `futex(2)`](https://man7.org/linux/man-pages/man2/futex.2.html)
#[derive(Debug, Clone, Copy, Default)]
pub struct FutexParker;

impl Park for FutexParker {
    fn wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) {
        let timespec = timeout.map(|d| futex::Timespec {
            tv_sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: d.subsec_nanos().into(),
        });
        // EAGAIN (the word already changed), EINTR and ETIMEDOUT all mean the
        // same to the caller: return and re-check.
        let _ = futex::wait(word, futex::Flags::PRIVATE, expected, timespec.as_ref());
    }

    fn wake_one(word: &AtomicU32) {
        let _ = futex::wake(word, futex::Flags::PRIVATE, 1);
    }

    fn wake_all(word: &AtomicU32) {
        // The kernel takes the count as an int; i32::MAX means "everyone".
        let _ = futex::wake(word, futex::Flags::PRIVATE, i32::MAX as u32);
    }
}
