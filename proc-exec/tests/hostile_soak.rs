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

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use common::hostile::{Bomb, Hostile, mark_parent};
use common::signals::Disposition;
use common::{Rng, Watchdog, chaos, clean, methods, quiet_panics, soak_rounds, soak_seed};
use future_core::ResultError;
use proc_exec::{ChunkFuture, Function, OnWorkerDeath, ProcessPoolExecutor, TaskError};
use serde::{Deserialize, Serialize};

/// A round that has not ended after this long hangs (a round takes about a
/// second when all is well).
const ROUND_GUARD: Duration = Duration::from_secs(180);

/// Every panic this test causes on purpose says this (kept out of the output).
const MARKER: &str = "on purpose";

/// Bytes of padding in a result too large for [`SMALL_FRAME`].
const HUGE: usize = 8 << 10;
/// The frame limit of the rounds that test oversized results.
const SMALL_FRAME: u32 = 4 << 10;

/// How an item misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Plan {
    n: u64,
    bomb: Bomb,
    huge: bool,
}

impl Plan {
    /// A random plan for item `n`, from the bombs that may go off where
    /// this item's values live (`Bomb::None` half the time).
    fn pick(rng: &mut Rng, n: u64, bombs: &[Bomb]) -> Self {
        let bomb = if rng.chance(50) {
            Bomb::None
        } else {
            bombs[rng.below(bombs.len() as u64) as usize]
        };
        let huge = bomb == Bomb::None && rng.chance(10);
        Self { n, bomb, huge }
    }

    /// Whether the item can come back `Ok` at all.
    fn may_succeed(&self, small_frame: bool) -> bool {
        match self.bomb {
            Bomb::SerializeInWorker | Bomb::DeserializeInWorker | Bomb::DeserializeInParent => {
                false
            }
            _ => !(self.huge && small_frame),
        }
    }
}

/// Result bombs for a future the test keeps and reads (and finally drops,
/// on its own thread: so no `DropInParent`).
const KEPT_RESULT: &[Bomb] = &[
    Bomb::SerializeInWorker,
    Bomb::DropInWorker,
    Bomb::DeserializeInParent,
];
/// Result bombs for a future dropped at once: its value is dropped on the
/// manager thread.
const DROPPED_RESULT: &[Bomb] = &[Bomb::SerializeInWorker, Bomb::DropInParent];
/// Argument bombs (the argument is encoded and dropped on the test's thread
/// first, where only worker bombs are safe).
const ARG: &[Bomb] = &[Bomb::DeserializeInWorker, Bomb::DropInWorker];

/// The answer every item expects for its number.
fn answer(n: u64) -> u64 {
    n.wrapping_mul(3).wrapping_add(1)
}

/// The number a result carries (its text is the answer, then padding).
fn carried(value: &Hostile) -> u64 {
    let digits = value.text.split(':').next().unwrap_or_default();
    digits
        .parse()
        .expect("a result's text starts with its number")
}

/// A task whose result misbehaves: in the worker (Serialize, Drop after
/// encoding, too large) or in the parent (Deserialize, Drop on the manager
/// thread when its future was dropped first).
fn hostile_result(plan: Plan) -> Hostile {
    let pad = if plan.huge {
        "#".repeat(HUGE)
    } else {
        String::new()
    };
    Hostile::new(format!("{}:{pad}", answer(plan.n)), plan.bomb)
}

/// A task whose argument misbehaves in the worker (Deserialize, Drop after
/// the call).
fn hostile_arg(arg: Hostile) -> u64 {
    answer(carried(&arg))
}

/// One kept submission and what its item may give back.
struct Kept<F> {
    future: F,
    plan: Plan,
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
        plan: &Plan,
        small_frame: bool,
    ) {
        self.items += 1;
        let n = plan.n;
        match outcome {
            Ok(value) => {
                assert_eq!(value, answer(n), "item {n} got another item's value");
                assert!(
                    plan.may_succeed(small_frame),
                    "item {n} ({plan:?}), whose value cannot cross, succeeded"
                );
                self.ok += 1;
            }
            Err(ResultError::Failed(_)) => self.failed += 1,
            Err(ResultError::Cancelled) => self.cancelled += 1,
            Err(ResultError::Timeout) => panic!("item {n} did not end within the guard"),
        }
    }
}

fn round(seed: u64, totals: &mut Totals) {
    let mut rng = Rng::new(seed);
    let methods = methods();
    let method = methods[rng.below(methods.len() as u64) as usize];
    let sigchld = match rng.below(4) {
        0 => None,
        1 => Some(Disposition::Ignore),
        2 => Some(Disposition::ReapBefore),
        _ => Some(Disposition::ReapWhileRunning),
    };
    let small_frame = rng.chance(50);
    let policy = if rng.chance(80) {
        OnWorkerDeath::Replace
    } else {
        OnWorkerDeath::BreakPool
    };
    let _restore = sigchld.map(Disposition::before_pool);
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
    let shutdown_at = rng.below(submissions * 3);
    // 32-bit counters: some targets have no 64-bit atomics.
    let callbacks_registered = Arc::new(AtomicU32::new(0));
    let callbacks_ran = Arc::new(AtomicU32::new(0));
    let mut tally = Tally::default();
    let mut results: Vec<Kept<future_core::Future<Hostile, TaskError>>> = Vec::new();
    let mut args: Vec<Kept<future_core::Future<u64, TaskError>>> = Vec::new();
    let mut chunks: Vec<(ChunkFuture<Hostile>, Vec<Plan>)> = Vec::new();
    for i in 0..submissions {
        if i == submissions / 3 {
            if let Some(disposition) = sigchld {
                disposition.while_running();
            }
        }
        if i == shutdown_at {
            pool.shutdown(false, true);
        }
        let n = seed.wrapping_add(i) % 1_000_000;
        let accepted = match rng.below(10) {
            0..=3 if rng.chance(15) => {
                // Dropped at once: its result, if it comes, is dropped on
                // the manager thread (and may panic there).
                let plan = Plan::pick(&mut rng, n, DROPPED_RESULT);
                tally.dropped += 1;
                pool.submit(hostile_result, plan).map(drop)
            }
            0..=3 => {
                let plan = Plan::pick(&mut rng, n, KEPT_RESULT);
                pool.submit(hostile_result, plan).map(|future| {
                    // A done callback on some, a third of them panicking.
                    if rng.chance(30) {
                        let (panics, ran) = (rng.chance(33), Arc::clone(&callbacks_ran));
                        callbacks_registered.fetch_add(1, Ordering::Relaxed);
                        future.add_done_callback(move |_| {
                            ran.fetch_add(1, Ordering::Relaxed);
                            assert!(!panics, "a done callback panics {MARKER}");
                        });
                    }
                    results.push(Kept { future, plan });
                })
            }
            4..=6 => {
                // An argument carries no padding.
                let plan = Plan {
                    huge: false,
                    ..Plan::pick(&mut rng, n, ARG)
                };
                let arg = Hostile::new(n.to_string(), plan.bomb);
                pool.submit(hostile_arg, arg)
                    .map(|future| args.push(Kept { future, plan }))
            }
            _ => {
                // Values decoded and dropped on this thread: no parent Drop.
                let len = 1 + rng.below(6);
                let plans: Vec<Plan> = (0..len)
                    .map(|k| Plan::pick(&mut rng, (n + k * 7) % 1_000_000, KEPT_RESULT))
                    .collect();
                pool.submit_chunk(Function::new(hostile_result), &plans)
                    .map(|future| chunks.push((future, plans)))
            }
        };
        if accepted.is_err() {
            tally.refused += 1;
        }
    }

    let guard = Some(Duration::from_secs(60));
    for kept in &results {
        let outcome = kept.future.result(guard).map(carried);
        tally.item(outcome, &kept.plan, small_frame);
    }
    for kept in &args {
        tally.item(kept.future.result(guard).cloned(), &kept.plan, small_frame);
    }
    for (future, plans) in chunks {
        match future.into_result() {
            Ok(items) => {
                assert_eq!(items.len(), plans.len(), "a chunk lost or gained items");
                for (item, plan) in items.zip(&plans) {
                    let outcome = item.map(|value| carried(&value));
                    tally.item(outcome.map_err(ResultError::Failed), plan, small_frame);
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
    totals.add(&tally, kills);
}

/// Across rounds.
#[derive(Default)]
struct Totals {
    items: u64,
    ok: u64,
    failed: u64,
    kills: u64,
}

impl Totals {
    fn add(&mut self, tally: &Tally, kills: u64) {
        self.items += tally.items;
        self.ok += tally.ok;
        self.failed += tally.failed;
        self.kills += kills;
    }
}

#[test]
fn soak_with_hostile_user_code_and_sigchld_dispositions() {
    let clean = clean();
    mark_parent();
    quiet_panics(MARKER);
    future_core::set_callback_panic_hook(Some(|_| {}));
    let seed = soak_seed();
    let rounds = soak_rounds(30);
    println!("proc-exec hostile soak: SOAK_SEED={seed} SOAK_ROUNDS={rounds}");
    let mut totals = Totals::default();
    for r in 0..rounds {
        let seed = seed.wrapping_add(r);
        let _hang_guard = Watchdog::arm(format!("round {r} (SOAK_SEED={seed})"), ROUND_GUARD);
        round(seed, &mut totals);
        clean.check();
    }
    let items = totals.items;
    println!(
        "proc-exec hostile soak: {rounds} rounds, {items} items checked ({} ok, {} failed), {} workers killed, no hang, no mismatch, no leak",
        totals.ok, totals.failed, totals.kills,
    );
    assert!(
        items >= 1000 || rounds < 10,
        "too few items checked: {items}"
    );
}
