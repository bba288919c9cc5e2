//! A completion from an "interrupt" while the interrupted code holds the
//! cell's registry lock.
//!
//! A signal handler is the closest thing to an interrupt on std: it runs on
//! the thread it interrupts, to completion, and that thread cannot go on until
//! it returns. The signal is raised from inside a `Waker`'s `clone`, which the
//! cell calls while it holds its registry lock (a registration in progress),
//! so the handler's `set_result` meets a lock its own thread holds. Before
//! issue 18 it spun or parked there forever.
//!
//! Its own test binary: it installs a process-wide signal handler.
// Miri has no signals.
#![cfg(all(unix, not(miri)))]

use future_core::{FutureCell, State};
use std::{
    sync::{
        atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering},
        mpsc,
    },
    task::{RawWaker, RawWakerVTable, Waker},
    thread,
    time::Duration,
};

const ROUNDS: usize = 64;

static CELLS: [FutureCell<u32, (), 2>; ROUNDS] = [const { FutureCell::new() }; ROUNDS];
/// The round the next "interrupt" completes.
static ROUND: AtomicUsize = AtomicUsize::new(0);
/// Set to raise the signal at the next waker clone (once).
static ARMED: AtomicBool = AtomicBool::new(false);
static COMPLETED_IN_HANDLER: AtomicUsize = AtomicUsize::new(0);
static WAKES: AtomicU32 = AtomicU32::new(0);
static CALLBACKS: AtomicU32 = AtomicU32::new(0);

extern "C" fn interrupt(_signal: libc::c_int) {
    let round = ROUND.load(Ordering::SeqCst);
    if CELLS[round].set_result(round as u32).is_ok() {
        COMPLETED_IN_HANDLER.fetch_add(1, Ordering::SeqCst);
    }
}

fn clone(data: *const ()) -> RawWaker {
    if ARMED.swap(false, Ordering::SeqCst) {
        // SAFETY: raise is async-signal-safe and the handler is installed.
        unsafe { libc::raise(libc::SIGALRM) };
    }
    RawWaker::new(data, &VTABLE)
}

fn wake(_: *const ()) {
    WAKES.fetch_add(1, Ordering::SeqCst);
}

fn noop(_: *const ()) {}

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake, noop);

/// Never read: the reads above have a zero timeout.
struct NoClock;

impl future_core::Clock for NoClock {
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

fn counted(c: future_core::Completion<'_, u32, ()>) {
    if let future_core::Completion::Returned(_) = c {
        CALLBACKS.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_signal_handler_completes_a_cell_whose_registry_its_thread_holds() {
    let handler = interrupt as *const () as libc::sighandler_t;
    // SAFETY: installs a handler that only touches atomics and the cells.
    let previous = unsafe { libc::signal(libc::SIGALRM, handler) };
    assert_ne!(previous, libc::SIG_ERR);
    let (done, finished) = mpsc::channel();
    // The body runs on its own thread: a hang becomes a timeout below.
    thread::spawn(move || {
        // SAFETY: the vtable's functions ignore the data pointer.
        let waker = unsafe { Waker::from_raw(RawWaker::new(core::ptr::null(), &VTABLE)) };
        for (round, cell) in CELLS.iter().enumerate() {
            ROUND.store(round, Ordering::SeqCst);
            cell.add_done_callback_fn(counted).unwrap();
            ARMED.store(true, Ordering::SeqCst);
            // The signal fires inside, with the registry locked.
            let key = cell.register_waker(&waker).unwrap();
            assert!(!ARMED.load(Ordering::SeqCst), "the waker was cloned");
            // The registration happened before the completion was handled,
            // so it is kept and woken, at the lock's release at the latest.
            assert!(key.is_some());
            assert_eq!(cell.state(), State::Finished);
            assert_eq!(WAKES.load(Ordering::SeqCst), round as u32 + 1);
            assert_eq!(CALLBACKS.load(Ordering::SeqCst), round as u32 + 1);
        }
        done.send(()).unwrap();
    });
    let outcome = finished.recv_timeout(Duration::from_secs(30));
    assert!(
        outcome.is_ok(),
        "a completion from the signal handler hung (or the body panicked)"
    );
    assert_eq!(COMPLETED_IN_HANDLER.load(Ordering::SeqCst), ROUNDS);
    for (round, cell) in CELLS.iter().enumerate() {
        assert_eq!(
            cell.result_with_clock(Some(Duration::ZERO), &NoClock),
            Ok(&(round as u32))
        );
    }
}
