//! future-core on an emulated Cortex-M board: the main loop waits for a
//! `static FutureCell` that interrupt handlers complete, round after round,
//! re-armed with `reset` between rounds.
//!
//! Three ways a round is completed, in turn:
//! - `Inside`: the waker's `clone` pends PendSV, which the cell calls with
//!   its registry locked, so the handler completes the cell while the code it
//!   interrupted holds that lock (the case that deadlocked before issue 18);
//! - `Timer`: SysTick completes it at whatever point the main loop is at,
//!   while the main loop registers and unregisters wakers as fast as it can;
//! - `Before`: PendSV completes it before the main loop registers.
//!
//! Every round checks: its value is taken exactly once (by `reset`), the done
//! callback ran exactly once, a waker still registered at completion was
//! woken exactly once. Exit code 0 through semihosting when all rounds pass;
//! a failed check panics, which exits non-zero (panic-semihosting). A hang is
//! the runner's timeout.
#![no_std]
#![no_main]

use core::{
    sync::atomic::{AtomicBool, AtomicU32, Ordering},
    task::{RawWaker, RawWakerVTable, Waker},
};
use cortex_m::peripheral::{SCB, scb::VectActive, syst::SystClkSource};
use cortex_m_rt::{entry, exception};
use cortex_m_semihosting::{debug, hprintln};
use future_core::{Completion, FutureCell};
use panic_semihosting as _;

/// Rounds per mode.
const ROUNDS: u32 = 2000;
/// How long the main loop spins for an expected wake before calling it lost.
const SPIN_LIMIT: u32 = 5_000_000;

static CELL: FutureCell<u32, (), 2> = FutureCell::new();

/// Only single-word loads and stores below: the Cortex-M0 has no CAS, and
/// each variable has one writer at a time (the main loop or one handler).
static VALUE: AtomicU32 = AtomicU32::new(0);
static MODE: AtomicU32 = AtomicU32::new(0);
/// Set by the main loop, cleared by the handler that completes the round.
static GO: AtomicBool = AtomicBool::new(false);
/// Set to pend PendSV at the next waker clone.
static ARMED: AtomicBool = AtomicBool::new(false);
static WOKEN: AtomicU32 = AtomicU32::new(0);
static CALLED: AtomicU32 = AtomicU32::new(0);
/// Callbacks that ran in thread mode: completions deferred to the main loop.
static DEFERRED: AtomicU32 = AtomicU32::new(0);

const INSIDE: u32 = 0;
const TIMER: u32 = 1;
const BEFORE: u32 = 2;

fn complete_if_go() {
    if GO.load(Ordering::SeqCst) {
        GO.store(false, Ordering::SeqCst);
        CELL.set_result(VALUE.load(Ordering::SeqCst))
            .expect("one completion per round");
    }
}

#[exception]
fn PendSV() {
    if MODE.load(Ordering::SeqCst) != TIMER {
        complete_if_go();
    }
}

#[exception]
fn SysTick() {
    if MODE.load(Ordering::SeqCst) == TIMER {
        complete_if_go();
    }
}

fn clone(data: *const ()) -> RawWaker {
    if ARMED.load(Ordering::SeqCst) {
        ARMED.store(false, Ordering::SeqCst);
        // Taken at once: the handler runs here, with the registry locked.
        SCB::set_pendsv();
    }
    RawWaker::new(data, &VTABLE)
}

fn wake(_: *const ()) {
    WOKEN.store(WOKEN.load(Ordering::SeqCst) + 1, Ordering::SeqCst);
}

fn drop_waker(_: *const ()) {}

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake, drop_waker);

fn counted(c: Completion<'_, u32, ()>) {
    assert!(matches!(c, Completion::Returned(&v) if v == VALUE.load(Ordering::SeqCst)));
    CALLED.store(CALLED.load(Ordering::SeqCst) + 1, Ordering::SeqCst);
    if SCB::vect_active() == VectActive::ThreadMode {
        DEFERRED.store(DEFERRED.load(Ordering::SeqCst) + 1, Ordering::SeqCst);
    }
}

/// Spins until `ready`, or panics after [`SPIN_LIMIT`] spins with `what`.
fn spin_until(ready: impl Fn() -> bool, what: &str) {
    for _ in 0..SPIN_LIMIT {
        if ready() {
            return;
        }
        cortex_m::asm::nop();
    }
    panic!("{what}");
}

/// One round: arm the completion for `mode`, wait for it like a tiny
/// executor would, check, and take the value.
fn round(value: u32, mode: u32, waker: &Waker) {
    VALUE.store(value, Ordering::SeqCst);
    WOKEN.store(0, Ordering::SeqCst);
    CALLED.store(0, Ordering::SeqCst);
    MODE.store(mode, Ordering::SeqCst);
    CELL.add_done_callback_fn(counted).unwrap();
    match mode {
        INSIDE => {
            ARMED.store(true, Ordering::SeqCst);
            GO.store(true, Ordering::SeqCst);
            let key = CELL.register_waker(waker).unwrap();
            assert!(!ARMED.load(Ordering::SeqCst), "the waker was cloned");
            // Registered before the handler ran; its work was left to this
            // registration, which did it when it released the registry.
            let key = key.expect("registered before the completion");
            assert!(CELL.done());
            assert_eq!(WOKEN.load(Ordering::SeqCst), 1, "woken at release");
            CELL.unregister_waker(key);
        }
        TIMER => {
            GO.store(true, Ordering::SeqCst);
            // Register and unregister as fast as possible, so the tick lands
            // inside registrations; the last one outlives the completion.
            loop {
                match CELL.register_waker(waker).unwrap() {
                    None => break,
                    Some(key) => {
                        if WOKEN.load(Ordering::SeqCst) != 0 {
                            CELL.unregister_waker(key);
                            break;
                        }
                        CELL.unregister_waker(key);
                    }
                }
            }
            assert!(CELL.done());
            assert!(WOKEN.load(Ordering::SeqCst) <= 1, "one wake at most");
        }
        _ => {
            GO.store(true, Ordering::SeqCst);
            SCB::set_pendsv();
            spin_until(|| CELL.done(), "the pended completion never came");
            assert_eq!(CELL.register_waker(waker), Ok(None));
            assert_eq!(WOKEN.load(Ordering::SeqCst), 0);
        }
    }
    assert_eq!(CALLED.load(Ordering::SeqCst), 1, "the callback ran once");
    // Single core: once the main loop sees the cell done, the whole
    // completion (in a handler, or left to this loop) is over.
    assert_eq!(CELL.reset(), Ok(Some(Ok(value))), "the value, once");
    assert!(!CELL.done());
}

#[entry]
fn main() -> ! {
    let mut core = cortex_m::Peripherals::take().unwrap();
    core.SYST.set_clock_source(SystClkSource::Core);
    core.SYST.set_reload(2_000);
    core.SYST.clear_current();
    core.SYST.enable_counter();
    core.SYST.enable_interrupt();

    // SAFETY: the vtable's functions ignore the data pointer.
    let waker = unsafe { Waker::from_raw(RawWaker::new(core::ptr::null(), &VTABLE)) };
    let mut value = 0;
    for mode in [INSIDE, TIMER, BEFORE] {
        for _ in 0..ROUNDS {
            round(value, mode, &waker);
            value += 1;
        }
    }
    hprintln!(
        "board-test: {} rounds passed; {} completions were left to the main loop",
        value,
        DEFERRED.load(Ordering::SeqCst)
    );
    debug::exit(debug::EXIT_SUCCESS);
    loop {
        cortex_m::asm::wfi();
    }
}
