//! Soak: rounds of a randomized workload (fast, slow and panicking tasks,
//! maps) submitted from several threads while one of them shuts the pool
//! down with `cancel_futures` at a random point. Every round checks that
//! nothing is lost: every accepted future ends within the guard, results +
//! errors + cancellations = accepted submissions, each result is the right
//! value, every worker thread is joined, RSS stays flat.
//!
//! `SOAK_ROUNDS=N` runs longer (the default suits CI); `SOAK_SEED=S`
//! replays a run (the seed is printed).

use std::sync::{Arc, Barrier};
use std::time::Duration;

use future_core::{Future, ResultError};
use test_support::{
    Rng, RssWatch, quiet_panics, soak_rounds, soak_seed, spin, thread_count, threads_settle_to,
};
use thread_exec::{MapOptions, TaskError, ThreadPoolExecutor};

const GUARD: Option<Duration> = Some(Duration::from_secs(60));

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    accepted: u64,
    refused: u64,
    results: u64,
    errors: u64,
    cancelled: u64,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.accepted += other.accepted;
        self.refused += other.refused;
        self.results += other.results;
        self.errors += other.errors;
        self.cancelled += other.cancelled;
    }
}

/// One submitter's share of a round; it may be the one that shuts down.
fn submitter(pool: &ThreadPoolExecutor, seed: u64, shuts_down: bool) -> Tally {
    let mut rng = Rng::new(seed);
    let submissions = 100 + rng.below(200);
    let shutdown_at = rng.below(submissions * 2);
    let mut tally = Tally::default();
    let mut futures: Vec<(Future<u64, TaskError>, Option<u64>)> = Vec::new();
    for i in 0..submissions {
        if shuts_down && i == shutdown_at {
            pool.shutdown(rng.chance(50), true);
        }
        let accepted: Result<(), ()> = match rng.below(100) {
            0..=59 => pool
                .submit(move || i * 3)
                .map(|f| futures.push((f, Some(i * 3))))
                .map_err(drop),
            60..=74 => {
                let micros = 50 + rng.below(2000);
                pool.submit(move || spin(micros))
                    .map(|f| futures.push((f, Some(micros))))
                    .map_err(drop)
            }
            75..=89 => pool
                .submit(move || -> u64 { panic!("task {i} panics on purpose") })
                .map(|f| futures.push((f, None)))
                .map_err(drop),
            _ => {
                // A map read to its end: items in order until its end, or
                // until the error that ended it (a shutdown cancelled the
                // rest). It counts as one result.
                let n = 1 + rng.below(30);
                let options = MapOptions::new().buffersize(std::num::NonZeroUsize::new(4).unwrap());
                pool.map_with(|x: u64| x + 1, 0..n, options)
                    .map(|map| {
                        for (expected, item) in (1..).zip(map) {
                            let Ok(value) = item else { break };
                            assert_eq!(value, expected);
                        }
                        tally.results += 1;
                    })
                    .map_err(drop)
            }
        };
        match accepted {
            Ok(()) => tally.accepted += 1,
            Err(()) => tally.refused += 1,
        }
    }
    for (future, expected) in futures {
        match (future.result(GUARD), expected) {
            (Ok(&value), Some(expected)) => {
                assert_eq!(value, expected);
                tally.results += 1;
            }
            (Ok(_), None) => panic!("a panicking task succeeded"),
            (Err(ResultError::Failed(error)), expected) => {
                assert!(expected.is_none(), "a good task failed: {error:?}");
                assert!(matches!(error, TaskError::Panicked(_)), "{error:?}");
                tally.errors += 1;
            }
            (Err(ResultError::Cancelled), _) => tally.cancelled += 1,
            (Err(ResultError::Timeout), _) => panic!("a future did not end within the guard"),
        }
    }
    tally
}

fn round(seed: u64) -> Tally {
    let mut rng = Rng::new(seed);
    let threads_before = thread_count();
    let pool = Arc::new(
        ThreadPoolExecutor::builder()
            .max_workers(1 + rng.below(4) as usize)
            .build()
            .unwrap(),
    );
    let submitters = 1 + rng.below(3);
    let barrier = Arc::new(Barrier::new(submitters as usize));
    let handles: Vec<_> = (0..submitters)
        .map(|k| {
            let (pool, barrier) = (Arc::clone(&pool), Arc::clone(&barrier));
            let seed = rng.next_u64();
            std::thread::spawn(move || {
                barrier.wait();
                submitter(&pool, seed, k == 0)
            })
        })
        .collect();
    let mut tally = Tally::default();
    for handle in handles {
        tally.add(handle.join().unwrap());
    }
    assert_eq!(
        tally.results + tally.errors + tally.cancelled,
        tally.accepted,
        "{tally:?}"
    );
    pool.shutdown(true, false);
    assert_eq!(pool.num_threads(), 0, "a worker outlived shutdown(wait)");
    drop(pool);
    assert_eq!(
        threads_settle_to(threads_before),
        threads_before,
        "a thread was left behind"
    );
    tally
}

#[test]
// Its thread and memory counts come from /proc.
#[cfg_attr(not(target_os = "linux"), ignore = "reads /proc (Linux)")]
fn soak_with_panics_and_shutdowns_at_random_points() {
    quiet_panics("on purpose");
    let seed = soak_seed();
    let rounds = soak_rounds(40);
    println!("thread-exec soak: SOAK_SEED={seed} SOAK_ROUNDS={rounds}");
    let mut total = Tally::default();
    let mut rss = RssWatch::default();
    for r in 0..rounds {
        total.add(round(seed.wrapping_add(r)));
        rss.round_ended(16 << 20);
    }
    println!(
        "thread-exec soak: {rounds} rounds, {} futures checked ({} results, {} errors, {} cancelled), {} refused, no leaks",
        total.accepted, total.results, total.errors, total.cancelled, total.refused
    );
}
