//! Loom models of a completion from an interrupt (issue 18).
//!
//! An interrupt handler runs on the core it interrupts, to completion: the
//! interrupted code cannot take a single step until the handler returns. Loom
//! has no interrupts, so the handler is run *inline*, on the registering
//! thread, at a chosen step of the registration: before it, inside it (from
//! the waker's `clone`, which the cell calls with its registry locked, the
//! worst moment) or after it. Being inline, the handler's steps cannot
//! interleave with the code it interrupted, which is exactly an interrupt's
//! ordering; loom still explores every interleaving with the other threads.
//!
//! Run: `RUSTFLAGS="--cfg exec_loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p loom-tests --release`
#![cfg(exec_loom)]

use future_core::{FutureCell, State};
use loom::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    thread,
};
use std::task::{RawWaker, RawWakerVTable, Waker};

/// Where in the registration the "interrupt" fires.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Step {
    Before,
    /// With the registry locked: the completion must not wait for it.
    InsideTheLock,
    After,
}

/// The cell, the interrupt's arming, and what the waker saw.
struct Board {
    cell: FutureCell<u32, (), 2>,
    armed: AtomicBool,
    wakes: AtomicUsize,
    callbacks: AtomicUsize,
}

impl Board {
    fn new() -> Self {
        Self {
            cell: FutureCell::new(),
            armed: AtomicBool::new(false),
            wakes: AtomicUsize::new(0),
            callbacks: AtomicUsize::new(0),
        }
    }

    /// The interrupt handler: completes the cell, runs to completion.
    fn interrupt(&self) {
        self.cell.set_result(7).unwrap();
    }

    fn waker(&self) -> Waker {
        let data = core::ptr::from_ref(self).cast::<()>();
        // SAFETY: the vtable's functions read `data` as a `Board`, which the
        // model keeps alive (its `Arc`) until every thread has joined.
        unsafe { Waker::from_raw(RawWaker::new(data, &VTABLE)) }
    }
}

fn board(data: *const ()) -> &'static Board {
    // SAFETY: see `Board::waker`: the board outlives every waker use.
    unsafe { &*data.cast::<Board>() }
}

fn clone(data: *const ()) -> RawWaker {
    let b = board(data);
    if b.armed.swap(false, Ordering::SeqCst) {
        b.interrupt();
    }
    RawWaker::new(data, &VTABLE)
}

fn wake(data: *const ()) {
    board(data).wakes.fetch_add(1, Ordering::SeqCst);
}

fn drop_waker(_: *const ()) {}

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake, drop_waker);

/// Registers a waker with the interrupt at `step`, while another thread
/// registers a callback and a waker of its own: every wake and callback
/// happens exactly once, wherever the completion's work ended up running.
fn interrupt_during_registration(step: Step) {
    loom::model(move || {
        let b = Arc::new(Board::new());
        let other = {
            let b = Arc::clone(&b);
            thread::spawn(move || {
                let c = Arc::clone(&b);
                b.cell.add_done_callback(move |_| {
                    c.callbacks.fetch_add(1, Ordering::SeqCst);
                });
            })
        };
        let waker = b.waker();
        if step == Step::Before {
            b.interrupt();
        }
        b.armed.store(step == Step::InsideTheLock, Ordering::SeqCst);
        let key = b.cell.register_waker(&waker).unwrap();
        if step == Step::After {
            b.interrupt();
        }
        other.join().unwrap();
        assert_eq!(b.cell.state(), State::Finished);
        assert_eq!(b.cell.try_result(), Ok(&7));
        let expected_wakes = usize::from(key.is_some());
        assert_eq!(b.wakes.load(Ordering::SeqCst), expected_wakes);
        assert_eq!(b.callbacks.load(Ordering::SeqCst), 1);
        drop(waker);
    });
}

#[test]
fn an_interrupt_before_a_registration() {
    interrupt_during_registration(Step::Before);
}

#[test]
fn an_interrupt_inside_a_registration_with_the_registry_locked() {
    interrupt_during_registration(Step::InsideTheLock);
}

#[test]
fn an_interrupt_after_a_registration() {
    interrupt_during_registration(Step::After);
}

/// The two-thread version: the completion runs on another thread (another
/// core) while this one registers a waker and a callback; each is woken or
/// run exactly once.
#[test]
fn a_completion_on_another_core_during_registrations() {
    loom::model(|| {
        let b = Arc::new(Board::new());
        let core1 = {
            let b = Arc::clone(&b);
            thread::spawn(move || b.interrupt())
        };
        let waker = b.waker();
        let key = b.cell.register_waker(&waker).unwrap();
        let c = Arc::clone(&b);
        b.cell.add_done_callback(move |_| {
            c.callbacks.fetch_add(1, Ordering::SeqCst);
        });
        core1.join().unwrap();
        assert_eq!(b.wakes.load(Ordering::SeqCst), usize::from(key.is_some()));
        assert_eq!(b.callbacks.load(Ordering::SeqCst), 1);
        assert_eq!(b.cell.try_result(), Ok(&7));
        drop(waker);
    });
}
