//! Helpers shared by the OS layer's tests.
//!
//! Every test here forks or opens descriptors, and one counts this process's
//! open descriptors, so they all take [`serial`] and run one at a time. That
//! also keeps a child forked by one test from inheriting (and holding open)
//! the pipes of another.
#![allow(unsafe_code)]

use std::os::fd::BorrowedFd;
// Test-only lock, outside anything the loom shim models.
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::child::Child;
use super::fd::read;
use super::fork::{Forked, fork, run_child};

/// Serializes the OS layer's tests (see the module docs). A test that failed
/// while holding it does not fail the others.
pub(crate) fn serial() -> MutexGuard<'static, ()> {
    /// The one lock all OS-layer tests take.
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Forks a child that runs `body` and `_exit`s with the code it returns.
///
/// `body` runs in a forked child of the multi-threaded test process: it must
/// keep to system calls and allocation (see `fork`'s `# Safety`).
pub(crate) fn fork_child(body: impl FnOnce() -> i32) -> Child {
    // SAFETY: the child runs only `body`, under `run_child`, and leaves with `_exit`; the test bodies keep to system calls and allocation.
    match unsafe { fork() }.expect("fork") {
        Forked::Child => run_child(body),
        Forked::Parent(pid) => Child::spawned(pid).expect("pidfd_open"),
    }
}

/// Reads `fd` to end of file.
pub(crate) fn read_to_end(fd: BorrowedFd<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match read(fd, &mut buf).expect("read") {
            0 => return out,
            n => out.extend_from_slice(&buf[..n]),
        }
    }
}

/// The number of descriptors open in this process, once two listings in a
/// row agree ([`test_support::settled`]).
pub(crate) fn count_open_fds() -> usize {
    // The listing's own descriptor is counted every time, so differences
    // between two counts are exact.
    test_support::settled(|| {
        std::fs::read_dir("/proc/self/fd")
            .expect("/proc/self/fd")
            .count()
    })
}
