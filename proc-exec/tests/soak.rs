//! Soak with fault injection: rounds of a randomized mixed workload (fast,
//! slow, panicking, failing and large tasks, maps) while a chaos thread
//! SIGKILLs random workers and the harness shuts the pool down with
//! `cancel_futures` at a random point. Every round checks that nothing is
//! lost: every accepted future ends within the guard, results + errors +
//! cancellations = accepted submissions, each result is the right value, no
//! worker outlives the pool, no zombie, no fd leaked, RSS stays flat.
//!
//! `SOAK_ROUNDS=N` runs longer (the default suits CI); `SOAK_SEED=S`
//! replays a run (the seed is printed).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::{Rng, RssWatch, Watchdog, chaos, clean, methods, soak_rounds, soak_seed, spin};
use future_core::{Future, ResultError};
use proc_exec::{Bytes, MapOptions, OnWorkerDeath, ProcessPoolExecutor, TaskError};

/// The most a round may take before the run is called hung.
const ROUND_GUARD: Duration = Duration::from_secs(180);

fn square(n: u64) -> u64 {
    n * n
}

fn panics(n: u64) -> u64 {
    panic!("task {n} panics on purpose")
}

fn fails(n: u64) -> Result<u64, String> {
    Err(format!("task {n} fails on purpose"))
}

fn reverse(data: Bytes) -> Bytes {
    Bytes(data.iter().rev().copied().collect())
}

/// What one plain submission should give back.
enum Expect {
    Value(u64),
    Panic,
}

/// The tallies of one round.
#[derive(Debug, Default)]
struct Tally {
    accepted: u64,
    refused: u64,
    results: u64,
    errors: u64,
    cancelled: u64,
}

impl Tally {
    /// One ended future: `Ok(check)` for a result (which `check` verifies).
    fn ended<T, E: std::fmt::Debug>(&mut self, outcome: Result<T, ResultError<E>>) -> Option<T> {
        match outcome {
            Ok(value) => {
                self.results += 1;
                Some(value)
            }
            Err(ResultError::Failed(_)) => {
                self.errors += 1;
                None
            }
            Err(ResultError::Cancelled) => {
                self.cancelled += 1;
                None
            }
            Err(ResultError::Timeout) => panic!("a future did not end within the guard"),
        }
    }
}

fn round(seed: u64, totals: &mut Totals) {
    let mut rng = Rng::new(seed);
    let methods = methods();
    let method = methods[rng.below(methods.len() as u64) as usize];
    let policy = if rng.chance(70) {
        OnWorkerDeath::Replace
    } else {
        OnWorkerDeath::BreakPool
    };
    let pool = Arc::new(
        ProcessPoolExecutor::builder()
            .max_workers(1 + rng.below(3) as usize)
            .start_method(method)
            .on_worker_death(policy)
            .max_in_flight_per_worker(
                std::num::NonZeroUsize::new(1 + rng.below(4) as usize).unwrap(),
            )
            .build()
            .unwrap(),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let chaos = {
        let (pool, stop) = (Arc::clone(&pool), Arc::clone(&stop));
        let seed = rng.next_u64();
        std::thread::spawn(move || chaos(|| pool.worker_pids(), seed, &stop))
    };

    let submissions = 150 + rng.below(100);
    let shutdown_at = rng.below(submissions + submissions / 2);
    let mut tally = Tally::default();
    let mut plain: Vec<(Future<u64, TaskError>, Expect)> = Vec::new();
    let mut raised: Vec<Future<u64, TaskError<String>>> = Vec::new();
    let mut echoes: Vec<(Future<Bytes, TaskError>, Vec<u8>)> = Vec::new();
    let mut mapped: Vec<(u64, u64)> = Vec::new(); // (items, results checked)
    for i in 0..submissions {
        if i == shutdown_at {
            pool.shutdown(false, true);
        }
        let kind = rng.below(100);
        let accepted = match kind {
            0..=49 => pool
                .submit(square, i)
                .map(|f| plain.push((f, Expect::Value(i * i)))),
            50..=64 => {
                let micros = 200 + rng.below(3000);
                pool.submit(spin, micros)
                    .map(|f| plain.push((f, Expect::Value(micros))))
            }
            65..=74 => pool
                .submit(panics, i)
                .map(|f| plain.push((f, Expect::Panic))),
            75..=84 => pool.submit_fallible(fails, i).map(|f| raised.push(f)),
            85..=92 => {
                let len = 1 + rng.below(512 << 10) as usize;
                let data: Vec<u8> = (0..len).map(|b| (b % 251) as u8).collect();
                let expected: Vec<u8> = data.iter().rev().copied().collect();
                pool.submit(reverse, Bytes(data))
                    .map(|f| echoes.push((f, expected)))
            }
            _ => {
                // A short map, read to its end here: every item it read
                // from its input yields once (a pool that stops accepting
                // work ends the input early).
                let n = 1 + rng.below(40);
                let options = MapOptions::new()
                    .chunksize(std::num::NonZeroUsize::new(1 + rng.below(8) as usize).unwrap())
                    .keep_going();
                // Not AtomicU64: some targets have no 64-bit atomics.
                let read = Arc::new(AtomicUsize::new(0));
                let counter = Arc::clone(&read);
                let input = (0..n).inspect(move |_| {
                    counter.fetch_add(1, Ordering::Relaxed);
                });
                pool.map_with(square, input, options).map(|map| {
                    let mut seen: u64 = 0;
                    for (k, item) in map.enumerate() {
                        seen += 1;
                        if let Ok(value) = item {
                            assert_eq!(value, (k as u64) * (k as u64));
                        }
                    }
                    assert_eq!(
                        seen,
                        read.load(Ordering::Relaxed) as u64,
                        "a map lost items"
                    );
                    mapped.push((n, seen));
                })
            }
        };
        match accepted {
            Ok(()) => tally.accepted += 1,
            Err(_) => tally.refused += 1,
        }
    }

    let guard = Some(Duration::from_secs(60));
    let maps = mapped.len() as u64;
    for (future, expect) in &plain {
        let outcome = future.result(guard);
        if let Some(&value) = tally.ended(outcome) {
            match expect {
                Expect::Value(v) => assert_eq!(value, *v),
                Expect::Panic => panic!("a panicking task succeeded"),
            }
        } else if let (Err(ResultError::Failed(error)), Expect::Panic) =
            (future.result(guard), expect)
        {
            // A panicking task fails with its panic, or with its worker's
            // death if chaos got there first.
            assert!(
                matches!(
                    error,
                    TaskError::Panicked(_) | TaskError::Died { .. } | TaskError::Broken(_)
                ),
                "{error:?}"
            );
        }
    }
    for future in &raised {
        assert!(
            tally.ended(future.result(guard)).is_none(),
            "a failing task succeeded"
        );
    }
    for (future, expected) in &echoes {
        if let Some(value) = tally.ended(future.result(guard)) {
            assert_eq!(&value.0, expected, "a large payload came back wrong");
        }
    }
    // Maps were read to the end above: each counts as one result.
    tally.results += maps;
    assert_eq!(
        tally.results + tally.errors + tally.cancelled,
        tally.accepted,
        "{tally:?}"
    );

    stop.store(true, Ordering::Relaxed);
    let kills = chaos.join().unwrap();
    pool.shutdown(true, false);
    assert!(pool.worker_pids().is_empty(), "a worker outlived its pool");
    assert_eq!(pool.live_workers(), 0);
    drop(plain);
    drop(raised);
    drop(echoes);
    drop(pool);
    totals.add(&tally, kills);
}

/// Across rounds.
#[derive(Default)]
struct Totals {
    futures: u64,
    kills: u64,
    cancelled: u64,
}

impl Totals {
    fn add(&mut self, tally: &Tally, kills: u64) {
        self.futures += tally.accepted;
        self.kills += kills;
        self.cancelled += tally.cancelled;
    }
}

#[test]
fn soak_with_workers_killed_and_shutdowns_at_random_points() {
    let clean = clean();
    let seed = soak_seed();
    let rounds = soak_rounds(40);
    println!("proc-exec soak: SOAK_SEED={seed} SOAK_ROUNDS={rounds}");
    let mut totals = Totals::default();
    let mut rss = RssWatch::default();
    for r in 0..rounds {
        // A hang is a failed run that names the seed to replay, never a
        // stuck one (generous: a round takes well under a second).
        let _hang_guard = Watchdog::arm(format!("round {r} (SOAK_SEED={seed})"), ROUND_GUARD);
        round(seed.wrapping_add(r), &mut totals);
        clean.check();
        rss.round_ended(32 << 20);
    }
    println!(
        "proc-exec soak: {rounds} rounds, {} futures checked, {} workers killed, {} cancelled, no leaks",
        totals.futures, totals.kills, totals.cancelled,
    );
}
