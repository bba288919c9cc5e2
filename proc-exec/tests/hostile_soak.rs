//! Chaos soak with hostile user code and hostile process state: rounds of
//! submissions and chunks whose values panic in `Serialize`, `Deserialize`
//! or `Drop` on the pool's own threads and processes, results too large for
//! the frame limit, done callbacks that panic, futures dropped before they
//! end, and each round under a different `SIGCHLD` disposition (the
//! default, `SIG_IGN`, a handler that reaps every child installed before
//! the pool starts or while it runs), all mixed with a chaos thread that
//! SIGKILLs random workers and a shutdown at a random point.
//!
//! Every round checks: every future kept ends within the guard (a hang is a
//! failure), every value that comes back is the one its own item asked for
//! (nothing mismatched), an item whose value cannot cross never comes back
//! `Ok`, every done callback ran, and afterwards no worker, zombie or fd is
//! left. `SOAK_ROUNDS=N` runs longer; `SOAK_SEED=S` replays a run.
//!
//! A binary of its own: it changes the process's `SIGCHLD` disposition,
//! which no other test may see.
#![allow(unsafe_code)] // installing and removing the SIGCHLD handlers

mod common;

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use common::{Rng, Watchdog, chaos, clean, quiet_panics, soak_rounds, soak_seed};
use future_core::{Future, ResultError};
use proc_exec::{
    ChunkFuture, Function, OnWorkerDeath, ProcessPoolExecutor, StartMethod, TaskError,
};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A round that has not ended after this long hangs (a round takes about a
/// second when all is well).
const ROUND_GUARD: Duration = Duration::from_secs(180);

/// Every panic this test causes on purpose says this (kept out of the output).
const MARKER: &str = "hostile soak";

thread_local! {
    /// Set on the test's own thread: the hostile impls misbehave only on
    /// threads and in processes the pool owns, where the pool must cope.
    static TEST_THREAD: Cell<bool> = const { Cell::new(false) };
}

fn on_pool_side() -> bool {
    !TEST_THREAD.with(Cell::get)
}

/// How a value misbehaves on the pool's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Fault {
    None,
    Serialize,
    Deserialize,
    Drop,
    /// Carries a payload larger than the small frame limit some rounds use.
    Huge,
}

impl Fault {
    fn pick(rng: &mut Rng) -> Self {
        match rng.below(10) {
            0 => Self::Serialize,
            1 => Self::Deserialize,
            2 => Self::Drop,
            3 => Self::Huge,
            _ => Self::None,
        }
    }
}

/// A value whose serde impls and `Drop` panic on the pool's side when its
/// fault says so.
#[derive(Debug)]
struct Hostile {
    n: u64,
    fault: Fault,
    pad: Vec<u8>,
}

/// Bytes of a [`Fault::Huge`] payload: over [`SMALL_FRAME`].
const HUGE: usize = 8 << 10;
/// The frame limit of the rounds that test oversized results.
const SMALL_FRAME: u32 = 4 << 10;

impl Hostile {
    fn new(n: u64, fault: Fault) -> Self {
        let pad = if fault == Fault::Huge {
            vec![7; HUGE]
        } else {
            Vec::new()
        };
        Self { n, fault, pad }
    }
}

impl Serialize for Hostile {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.fault == Fault::Serialize && on_pool_side() {
            panic!("{MARKER}: Serialize of {}", self.n);
        }
        (self.n, self.fault, &self.pad).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Hostile {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (n, fault, pad) = <(u64, Fault, Vec<u8>)>::deserialize(deserializer)?;
        if fault == Fault::Deserialize && on_pool_side() {
            panic!("{MARKER}: Deserialize of {n}");
        }
        Ok(Self { n, fault, pad })
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        if self.fault == Fault::Drop && on_pool_side() && !std::thread::panicking() {
            panic!("{MARKER}: Drop of {}", self.n);
        }
    }
}

/// The answer every item expects for its number.
fn answer(n: u64) -> u64 {
    n.wrapping_mul(3).wrapping_add(1)
}

/// A task whose result misbehaves: in the worker (Serialize, Drop after
/// encoding, too large) or in the parent (Deserialize on the manager thread,
/// Drop there when its future was dropped first).
fn hostile_result(plan: (u64, Fault)) -> Hostile {
    Hostile::new(answer(plan.0), plan.1)
}

/// A task whose argument misbehaves in the worker (Deserialize, Drop after
/// the call).
fn hostile_arg(arg: Hostile) -> u64 {
    answer(arg.n)
}

/// Whether an item with this fault can come back `Ok` at all.
fn may_succeed(fault: Fault, small_frame: bool, decoded_here: bool) -> bool {
    match fault {
        Fault::None | Fault::Drop => true,
        Fault::Serialize => false,
        // A chunk's results are decoded by the thread that takes them: the
        // test's own, where the value behaves.
        Fault::Deserialize => decoded_here,
        Fault::Huge => !small_frame,
    }
}

/// The SIGCHLD disposition a round runs under.
#[derive(Debug, Clone, Copy)]
enum Sigchld {
    Default,
    Ignore,
    /// A handler that reaps every child, installed before the pool starts.
    ReaperBefore,
    /// The same handler, installed after a third of the submissions.
    ReaperDuring,
}

/// Reaps every child that has ended, as servers with their own children do.
extern "C" fn reap_every_child(_: libc::c_int) {
    // SAFETY: `errno` is thread-local; the handler saves and restores it so
    // the interrupted code sees its own value. `waitpid` is
    // async-signal-safe.
    unsafe {
        let errno = *libc::__errno_location();
        while libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) > 0 {}
        *libc::__errno_location() = errno;
    }
}

/// Sets the process's SIGCHLD action: `SIG_DFL`, `SIG_IGN`, or the reaper.
fn set_sigchld(handler: libc::sighandler_t) {
    // SAFETY: a zeroed `sigaction` is a valid "no flags, empty mask" value;
    // the handler is either a constant disposition or an
    // async-signal-safe function that lives for the whole program.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = handler;
        action.sa_flags = libc::SA_RESTART | libc::SA_NOCLDSTOP;
        libc::sigemptyset(&mut action.sa_mask);
        assert_eq!(
            libc::sigaction(libc::SIGCHLD, &action, std::ptr::null_mut()),
            0
        );
    }
}

fn reaper() -> libc::sighandler_t {
    reap_every_child as extern "C" fn(libc::c_int) as libc::sighandler_t
}

/// One kept submission and what its item may give back.
struct Kept<F> {
    future: F,
    n: u64,
    fault: Fault,
}

/// The tallies of one round.
#[derive(Debug, Default)]
struct Tally {
    items: u64,
    ok: u64,
    failed: u64,
    cancelled: u64,
    refused: u64,
    dropped: u64,
}

impl Tally {
    /// Checks one item's outcome: a value must be its own item's answer, and
    /// an item that cannot cross must not succeed.
    fn item<E: std::fmt::Debug>(
        &mut self,
        outcome: Result<u64, ResultError<E>>,
        n: u64,
        can_succeed: bool,
    ) {
        self.items += 1;
        match outcome {
            Ok(value) => {
                assert_eq!(value, answer(n), "item {n} got another item's value");
                assert!(can_succeed, "item {n}, whose value cannot cross, succeeded");
                self.ok += 1;
            }
            Err(ResultError::Failed(_)) => self.failed += 1,
            Err(ResultError::Cancelled) => self.cancelled += 1,
            Err(ResultError::Timeout) => panic!("item {n} did not end within the guard"),
        }
    }
}

fn round(seed: u64, totals: &Totals) {
    let mut rng = Rng::new(seed);
    let method = if rng.chance(50) {
        StartMethod::Fork
    } else {
        StartMethod::ForkServer
    };
    let sigchld = match rng.below(4) {
        0 => Sigchld::Default,
        1 => Sigchld::Ignore,
        2 => Sigchld::ReaperBefore,
        _ => Sigchld::ReaperDuring,
    };
    let small_frame = rng.chance(50);
    let policy = if rng.chance(80) {
        OnWorkerDeath::Replace
    } else {
        OnWorkerDeath::BreakPool
    };
    match sigchld {
        Sigchld::Ignore => set_sigchld(libc::SIG_IGN),
        Sigchld::ReaperBefore => set_sigchld(reaper()),
        Sigchld::Default | Sigchld::ReaperDuring => {}
    }
    let mut builder = ProcessPoolExecutor::builder()
        .max_workers(1 + rng.below(3) as usize)
        .start_method(method)
        .on_worker_death(policy);
    if small_frame {
        builder = builder.max_frame_size(SMALL_FRAME);
    }
    if rng.chance(30) {
        builder = builder.max_tasks_per_child(1 + rng.below(4) as usize);
    }
    let pool = Arc::new(builder.build().unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let kill_workers = rng.chance(60);
    let chaos = {
        let (pool, stop) = (Arc::clone(&pool), Arc::clone(&stop));
        let seed = rng.next_u64();
        std::thread::spawn(move || {
            if kill_workers {
                chaos(|| pool.worker_pids(), seed, &stop)
            } else {
                0
            }
        })
    };

    let submissions = 100 + rng.below(60);
    let shutdown_at = rng.below(submissions * 2);
    let callbacks_registered = Arc::new(AtomicU64::new(0));
    let callbacks_ran = Arc::new(AtomicU64::new(0));
    let mut tally = Tally::default();
    let mut results: Vec<Kept<Future<Hostile, TaskError>>> = Vec::new();
    let mut args: Vec<Kept<Future<u64, TaskError>>> = Vec::new();
    let mut chunks: Vec<(ChunkFuture<Hostile>, Vec<(u64, Fault)>)> = Vec::new();
    for i in 0..submissions {
        if i == submissions / 3 {
            if let Sigchld::ReaperDuring = sigchld {
                set_sigchld(reaper());
            }
        }
        if i == shutdown_at {
            pool.shutdown(false, true);
        }
        let fault = Fault::pick(&mut rng);
        let n = seed.wrapping_add(i) % 1_000_000;
        let accepted = match rng.below(10) {
            0..=3 => pool.submit(hostile_result, (n, fault)).map(|future| {
                if rng.chance(15) {
                    // Its result, if it comes, is dropped on the manager
                    // thread (and may panic there).
                    drop(future);
                    tally.dropped += 1;
                } else {
                    results.push(Kept { future, n, fault });
                }
            }),
            4..=6 => {
                // The argument never misbehaves on this thread; Serialize
                // and Huge faults only matter for results.
                let fault = match fault {
                    Fault::Deserialize | Fault::Drop => fault,
                    _ => Fault::None,
                };
                pool.submit(hostile_arg, Hostile::new(n, fault))
                    .map(|future| args.push(Kept { future, n, fault }))
            }
            _ => {
                let len = 1 + rng.below(6);
                let plans: Vec<(u64, Fault)> = (0..len)
                    .map(|k| ((n + k * 7) % 1_000_000, Fault::pick(&mut rng)))
                    .collect();
                pool.submit_chunk(Function::new(hostile_result), &plans)
                    .map(|future| chunks.push((future, plans)))
            }
        };
        if accepted.is_err() {
            tally.refused += 1;
        }
        // A done callback on some kept futures, a third of them panicking.
        if rng.chance(30) {
            if let Some(kept) = results.last() {
                let (panics, ran) = (rng.chance(33), Arc::clone(&callbacks_ran));
                callbacks_registered.fetch_add(1, Ordering::Relaxed);
                kept.future.add_done_callback(move |_| {
                    ran.fetch_add(1, Ordering::Relaxed);
                    assert!(!panics, "{MARKER}: a done callback");
                });
            }
        }
    }

    let guard = Some(Duration::from_secs(60));
    for kept in &results {
        let can = may_succeed(kept.fault, small_frame, false);
        tally.item(kept.future.result(guard).map(|value| value.n), kept.n, can);
    }
    for kept in &args {
        let can = may_succeed(kept.fault, small_frame, false);
        tally.item(kept.future.result(guard).cloned(), kept.n, can);
    }
    for (future, plans) in chunks {
        match future.into_result() {
            Ok(items) => {
                assert_eq!(items.len(), plans.len(), "a chunk lost or gained items");
                for (item, &(n, fault)) in items.zip(&plans) {
                    let can = may_succeed(fault, small_frame, true);
                    let outcome = item.map(|value| value.n).map_err(ResultError::Failed);
                    tally.item(outcome, n, can);
                }
            }
            Err(ResultError::Timeout) => panic!("a chunk did not end within the guard"),
            Err(_) => tally.items += plans.len() as u64,
        }
    }

    // ORDERING: a stop flag; nothing else is published through it.
    stop.store(true, Ordering::Relaxed);
    let kills = chaos.join().unwrap();
    pool.shutdown(true, false);
    assert!(pool.worker_pids().is_empty(), "a worker outlived its pool");
    assert_eq!(pool.live_workers(), 0);
    // Every done callback ran once its future ended, panicking or not (the
    // manager thread that runs them has finished).
    assert_eq!(
        callbacks_ran.load(Ordering::Relaxed),
        callbacks_registered.load(Ordering::Relaxed),
        "a done callback never ran"
    );
    drop(results);
    drop(args);
    drop(pool);
    set_sigchld(libc::SIG_DFL);
    totals.add(&tally, kills);
}

/// Across rounds.
#[derive(Default)]
struct Totals {
    items: AtomicU64,
    ok: AtomicU64,
    failed: AtomicU64,
    kills: AtomicU64,
}

impl Totals {
    fn add(&self, tally: &Tally, kills: u64) {
        // ORDERING: counters read once at the end, after every round.
        self.items.fetch_add(tally.items, Ordering::Relaxed);
        self.ok.fetch_add(tally.ok, Ordering::Relaxed);
        self.failed.fetch_add(tally.failed, Ordering::Relaxed);
        self.kills.fetch_add(kills, Ordering::Relaxed);
    }
}

#[test]
fn soak_with_hostile_user_code_and_sigchld_dispositions() {
    let clean = clean();
    TEST_THREAD.with(|flag| flag.set(true));
    quiet_panics(MARKER);
    future_core::set_callback_panic_hook(Some(|_| {}));
    let seed = soak_seed();
    let rounds = soak_rounds(10);
    println!("proc-exec hostile soak: SOAK_SEED={seed} SOAK_ROUNDS={rounds}");
    let totals = Totals::default();
    for r in 0..rounds {
        let seed = seed.wrapping_add(r);
        let _hang_guard = Watchdog::arm(format!("round {r} (SOAK_SEED={seed})"), ROUND_GUARD);
        round(seed, &totals);
        clean.check();
    }
    let items = totals.items.load(Ordering::Relaxed);
    println!(
        "proc-exec hostile soak: {rounds} rounds, {items} items checked ({} ok, {} failed), {} workers killed, no hang, no mismatch, no leak",
        totals.ok.load(Ordering::Relaxed),
        totals.failed.load(Ordering::Relaxed),
        totals.kills.load(Ordering::Relaxed),
    );
    assert!(
        items >= 1000 || rounds < 10,
        "too few items checked: {items}"
    );
}
