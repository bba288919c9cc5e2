//! Soak with fault injection: rounds of a randomized workload (apply_async
//! with and without callbacks, some of which panic; map_async; imap read to
//! its end) while a chaos thread SIGKILLs random workers, ended by
//! `terminate` or by `close` + `join` at a random point. Every round checks
//! that nothing is lost: once the pool has ended every job is ready,
//! results + errors = accepted jobs, each callback ran exactly once, each
//! result is the right value, no zombie, no fd leaked, RSS stays flat.
//!
//! `SOAK_ROUNDS=N` runs longer (the default suits CI); `SOAK_SEED=S`
//! replays a run (the seed is printed).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use common::{
    Rng, RssWatch, Watchdog, chaos, clean, quiet_panics, soak_rounds, soak_seed, spin, square,
};
use mp_pool::{AsyncResult, Callbacks, PoolError};

/// The most a round may take before the run is called hung.
const ROUND_GUARD: Duration = Duration::from_secs(180);

fn panics(n: u64) -> u64 {
    panic!("task {n} panics on purpose")
}

#[derive(Debug, Default)]
struct Tally {
    accepted: u64,
    refused: u64,
    results: u64,
    errors: u64,
    kills: u64,
}

/// A job and what its success must hold.
enum Job {
    One(AsyncResult<u64>, Option<u64>),
    Many(AsyncResult<Vec<u64>>, u64),
}

fn round(seed: u64, total: &mut Tally) {
    let mut rng = Rng::new(seed);
    let pool = Arc::new(
        common::builder()
            .processes(1 + rng.below(3) as usize)
            .build()
            .unwrap(),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let chaos = {
        let (pool, stop) = (Arc::clone(&pool), Arc::clone(&stop));
        let seed = rng.next_u64();
        std::thread::spawn(move || chaos(|| pool.worker_pids(), seed, &stop))
    };
    // Callbacks count themselves: each must run exactly once.
    // 32-bit counters: some targets have no 64-bit atomics.
    let callbacks_expected = Arc::new(AtomicU32::new(0));
    let callbacks_ran = Arc::new(AtomicU32::new(0));
    let counting = |panic: bool| {
        let ran = Arc::clone(&callbacks_ran);
        let also = Arc::clone(&callbacks_ran);
        // ORDERING: counters read after join/terminate, which waits for
        // the result handler.
        Callbacks::new()
            .on_success(move |_: &u64| {
                ran.fetch_add(1, Ordering::Relaxed);
                assert!(!panic, "callback panics on purpose");
            })
            .on_error(move |_| {
                also.fetch_add(1, Ordering::Relaxed);
            })
    };

    let submissions = 100 + rng.below(150);
    let end_at = rng.below(submissions + submissions / 2);
    let terminate = rng.chance(50);
    let mut tally = Tally::default();
    let mut jobs = Vec::new();
    for i in 0..submissions {
        if i == end_at {
            if terminate {
                pool.terminate();
            } else {
                pool.close();
            }
        }
        let submitted: Result<(), PoolError> = match rng.below(100) {
            0..=14 => {
                let micros = 100 + rng.below(3000);
                pool.apply_async(spin, micros)
                    .map(|job| jobs.push(Job::One(job, Some(micros))))
            }
            15..=44 => pool
                .apply_async(square, i)
                .map(|job| jobs.push(Job::One(job, Some(i * i)))),
            45..=64 => {
                let panic = rng.chance(30);
                callbacks_expected.fetch_add(1, Ordering::Relaxed);
                let submitted = pool
                    .apply_async_with(square, i, counting(panic))
                    .map(|job| jobs.push(Job::One(job, (!panic).then_some(i * i))));
                if submitted.is_err() {
                    callbacks_expected.fetch_sub(1, Ordering::Relaxed);
                }
                submitted
            }
            65..=74 => pool
                .apply_async(panics, i)
                .map(|job| jobs.push(Job::One(job, None))),
            75..=89 => {
                let n = rng.below(200);
                let chunksize = (rng.chance(50)).then(|| 1 + rng.below(20) as usize);
                pool.map_async(square, 0..n, chunksize)
                    .map(|job| jobs.push(Job::Many(job, n)))
            }
            _ => {
                // An imap read to its end here: one outcome per item it read,
                // in order (it counts as one result).
                let n = 1 + rng.below(100);
                pool.imap(square, 0..n, 1 + rng.below(10) as usize)
                    .map(|imap| {
                        for (k, item) in imap.enumerate() {
                            if let Ok(value) = item {
                                assert_eq!(value, (k as u64) * (k as u64));
                            }
                        }
                        tally.results += 1;
                    })
            }
        };
        match submitted {
            Ok(()) => tally.accepted += 1,
            Err(PoolError::NotRunning | PoolError::Submit(_)) => tally.refused += 1,
            Err(other) => panic!("refused for no reason: {other:?}"),
        }
    }
    if !terminate || end_at >= submissions {
        pool.close();
    }
    pool.join().unwrap();
    stop.store(true, Ordering::Relaxed);
    tally.kills = chaos.join().unwrap();

    // The pool has ended: every job is ready, none waits.
    for job in &jobs {
        let ok = match job {
            Job::One(job, expected) => {
                assert!(job.ready(), "a job was left pending");
                match (job.get(Some(Duration::ZERO)), expected) {
                    (Ok(value), Some(expected)) => assert_eq!(value, expected),
                    (Ok(_), None) => panic!("a failing job succeeded"),
                    (Err(PoolError::Timeout), _) => panic!("a ready job timed out"),
                    (Err(_), _) => {}
                }
                job.successful() == Ok(true)
            }
            Job::Many(job, n) => {
                assert!(job.ready(), "a map was left pending");
                if let Ok(values) = job.get(Some(Duration::ZERO)) {
                    assert_eq!(values, &(0..*n).map(square).collect::<Vec<_>>());
                }
                job.successful() == Ok(true)
            }
        };
        if ok {
            tally.results += 1;
        } else {
            tally.errors += 1;
        }
    }
    assert_eq!(tally.results + tally.errors, tally.accepted, "{tally:?}");
    assert_eq!(
        callbacks_ran.load(Ordering::Relaxed),
        callbacks_expected.load(Ordering::Relaxed),
        "a callback did not run exactly once"
    );
    assert!(pool.worker_pids().is_empty(), "a worker outlived its pool");
    drop(jobs);
    drop(pool);
    total.accepted += tally.accepted;
    total.refused += tally.refused;
    total.results += tally.results;
    total.errors += tally.errors;
    total.kills += tally.kills;
}

#[test]
fn soak_with_workers_killed_and_terminate_at_random_points() {
    quiet_panics("on purpose");
    let clean = clean();
    let seed = soak_seed();
    let rounds = soak_rounds(30);
    println!("mp-pool soak: SOAK_SEED={seed} SOAK_ROUNDS={rounds}");
    let mut total = Tally::default();
    let mut rss = RssWatch::default();
    for r in 0..rounds {
        // A hang is a failed run that names the seed to replay, never a
        // stuck one (generous: a round takes well under a second).
        let _hang_guard = Watchdog::arm(format!("round {r} (SOAK_SEED={seed})"), ROUND_GUARD);
        round(seed.wrapping_add(r), &mut total);
        clean.check();
        rss.round_ended(32 << 20);
    }
    println!(
        "mp-pool soak: {rounds} rounds, {} jobs checked ({} results, {} errors), {} refused, {} workers killed, no leaks",
        total.accepted, total.results, total.errors, total.refused, total.kills
    );
}
