//! The constructor that turns a fresh copy of the program into a worker or
//! a fork server before `main` runs.
//!
//! [`DIVERT`] sits in `.init_array`, which the C library runs before `main`
//! in every program linked with this crate, dynamically or statically, with
//! glibc or musl. In an ordinary run it reads one environment variable,
//! finds it unset, and returns: that is all it ever costs. In a copy started
//! by [`start_copy`](super::exec::start_copy) it finds the
//! [marker](super::marker), removes it from the environment (so nothing the
//! copy starts inherits it), checks that this binary is the parent's, sets
//! itself up, and runs the worker or the fork server; it never returns, so
//! `main` never runs in the copy.
//!
//! The copy is single-threaded and its heap is fresh: no lock here can be
//! held by anyone, which is the point of starting it this way. So, unlike a
//! forked child, it may install the panic hook itself.
//!
//! # Before `main`
//!
//! std works before `main` (allocation, thread-locals, `catch_unwind`), but
//! its runtime set-up has not run: the command-line arguments may read as
//! empty, and the main thread has no name. The worker needs neither.
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd};

use rustix::process::Pid;

use super::marker::{self, BAD_MARKER, MISMATCH, Marker, READY, Role, SETUP_FAILED};
use crate::call;
use crate::os::fork::{close_fds_except, die_with_parent, run_child};
use crate::os::fork_server::{self, EX_OSERR, Entry};

/// The marker's name, NUL-terminated for `getenv`.
const VAR: &CStr = c"PROC_EXEC_START";

/// Exit code: the marker did not parse (`EX_USAGE` from `sysexits.h`).
const EX_USAGE: i32 = 64;
/// Exit code: this binary is not the parent's (`EX_SOFTWARE`).
const EX_SOFTWARE: i32 = 70;

/// The constructor: a pointer in `.init_array`. Starting a copy refers to
/// it (see `start_copy`), so the linker keeps it wherever a copy can be
/// started.
// SAFETY: `.init_array` holds pointers to functions taking no arguments
// (musl) or `argc, argv, envp` (glibc), returning nothing; an `extern "C"`
// function of no arguments is correct for both (extra C arguments are
// ignored). `divert` unwinds nothing out of itself.
#[used]
#[unsafe(link_section = ".init_array")]
pub(crate) static DIVERT: extern "C" fn() = divert;

/// Returns at once unless this process is a copy started with a marker;
/// then runs the copy's role and ends the process.
extern "C" fn divert() {
    // SAFETY: `VAR` is NUL-terminated; before `main` no other thread exists that could be changing the environment.
    let value = unsafe { libc::getenv(VAR.as_ptr()) };
    if value.is_null() {
        return;
    }
    // SAFETY: `getenv` returned a NUL-terminated string in the environment, copied here before `unsetenv` may free it.
    let text = unsafe { CStr::from_ptr(value) }.to_bytes().to_vec();
    // SAFETY: as for `getenv`: one thread, a NUL-terminated name.
    unsafe { libc::unsetenv(VAR.as_ptr()) };
    // `run_child` catches any panic (a panic must not unwind out of an
    // `extern "C"` function) and leaves through `_exit`.
    run_child(|| run(&text))
}

/// The copy's work, given the marker's value; returns an exit code (a role
/// that runs does not return).
fn run(text: &[u8]) -> i32 {
    let Some(marker) = Marker::decode(text) else {
        let note = b"proc-exec: malformed PROC_EXEC_START in the environment; not running main\n";
        // SAFETY: a raw write of a live buffer to stderr; nothing to do if it fails.
        let _ = unsafe { libc::write(2, note.as_ptr().cast(), note.len()) };
        return EX_USAGE;
    };
    let tell = |word: i32| {
        let bytes = word.to_le_bytes();
        // SAFETY: a raw write of a live buffer to the descriptor our parent gave for this; a wrong number only makes the write fail.
        let _ = unsafe { libc::write(marker.report, bytes.as_ptr().cast(), bytes.len()) };
    };
    if marker.fingerprint != fingerprint() {
        tell(MISMATCH);
        return EX_SOFTWARE;
    }
    let Some(parent) = Pid::from_raw(marker.parent) else {
        tell(BAD_MARKER);
        return EX_USAGE;
    };
    if die_with_parent(parent).is_err() {
        tell(SETUP_FAILED);
        return EX_OSERR;
    }
    // Our descriptors must be open, and close-on-exec again so that a task
    // starting a program does not leak our pipes into it.
    let all_open = marker
        .fds
        .iter()
        .chain(std::iter::once(&marker.report))
        // SAFETY: `fcntl` on a number: fails harmlessly if it is not an open descriptor.
        .all(|&fd| fd >= 0 && unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } == 0);
    if !all_open {
        tell(BAD_MARKER);
        return EX_USAGE;
    }
    let fds: Vec<OwnedFd> = marker
        .fds
        .iter()
        // SAFETY: each number is open (checked above), was kept open across
        // `exec` for this process by its parent, and nothing else in this
        // fresh process owns it; each is named once by the marker.
        .map(|&fd| unsafe { OwnedFd::from_raw_fd(fd) })
        .collect();
    // SAFETY: as above.
    let report = unsafe { OwnedFd::from_raw_fd(marker.report) };
    let mut keep: Vec<BorrowedFd<'_>> = fds.iter().map(AsFd::as_fd).collect();
    keep.push(report.as_fd());
    // SAFETY: before `main`, in a process that has just been `exec`ed: no object owns any descriptor but the ones kept, and this process ends in `run_child`'s `_exit`.
    if unsafe { close_fds_except(&keep) }.is_err() {
        tell(SETUP_FAILED);
        return EX_OSERR;
    }
    drop(keep);
    // One thread, a fresh heap: std's hook lock is free.
    crate::panic::install_worker_hook();
    // SAFETY: the fingerprints match, so this is the parent's binary, where `marker.entry` is the offset of a function of type `Entry` (only our parent writes markers, and it writes `Entry` offsets only).
    let entry: Entry = unsafe { std::mem::transmute::<usize, Entry>(call::address(marker.entry)) };
    tell(READY);
    drop(report);
    match marker.role {
        Role::Worker => entry(&marker.request, fds),
        Role::Server => match fds.into_iter().next() {
            Some(sock) => fork_server::serve_socket(sock, entry),
            None => EX_USAGE,
        },
    }
}

/// A digest that differs between two builds of a program: this crate's
/// version and where the program's entry point lies relative to the anchor
/// that function addresses are measured from. A parent and a copy of the
/// same binary agree, wherever each was loaded.
pub(crate) fn fingerprint() -> u64 {
    // SAFETY: `getauxval` has no preconditions; `AT_ENTRY` is always present on Linux.
    let entry = unsafe { libc::getauxval(libc::AT_ENTRY) } as usize;
    let offset = call::offset(entry);
    marker::fnv1a(&[env!("CARGO_PKG_VERSION").as_bytes(), &offset.to_le_bytes()])
}

/// Whether this crate is part of the program's executable (not of a shared
/// library it loaded): only then does a fresh copy of the executable run
/// [`DIVERT`]. `true` where it cannot tell (`dladdr` finds nothing in a
/// static program, which loads no shared library of Rust code either).
pub(crate) fn linked_into_executable() -> bool {
    let ours = fingerprint as fn() -> u64 as *const libc::c_void;
    // SAFETY: `getauxval` has no preconditions; `AT_PHDR` (the executable's program headers) is always present on Linux.
    let executable = unsafe { libc::getauxval(libc::AT_PHDR) } as *const libc::c_void;
    let base = |address: *const libc::c_void| {
        let mut info = std::mem::MaybeUninit::<libc::Dl_info>::zeroed();
        // SAFETY: `dladdr` only reads `address` as a number and fills `info`, a live local, returning 0 when it finds nothing.
        let found = unsafe { libc::dladdr(address, info.as_mut_ptr()) } != 0;
        // SAFETY: `info` was zeroed, and filled in by `dladdr` when it found something.
        found.then(|| unsafe { info.assume_init() }.dli_fbase)
    };
    match (base(ours), base(executable)) {
        (Some(ours), Some(executable)) => ours == executable,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_binary_holds_this_crate() {
        assert!(linked_into_executable());
    }

    #[test]
    fn the_fingerprint_is_stable_within_a_process() {
        assert_eq!(fingerprint(), fingerprint());
        assert_ne!(fingerprint(), 0);
    }
}
