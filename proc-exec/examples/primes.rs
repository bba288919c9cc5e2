//! Which of a list of large numbers are prime? Each number is tested in a
//! worker process (trial division, CPU-bound), results arrive with
//! `as_completed`, and one deliberately crashing task shows how a dead
//! worker is reported on a second pool.
//!
//! `cargo run --release -p proc-exec --example primes [WORKERS]`

use std::time::{Duration, Instant};

use future_core::ResultError;
use proc_exec::{ProcessPoolExecutor, TaskError};
use waiters::as_completed;

fn is_prime(n: u64) -> bool {
    n >= 2
        && (2..)
            .take_while(|d| d * d <= n)
            .all(|d| !n.is_multiple_of(d))
}

/// Large numbers near 10^15: some primes, some products of two large primes
/// (the slow case for trial division), some easy composites.
const CANDIDATES: [u64; 12] = [
    1_000_000_000_000_037,
    1_000_000_000_000_091,
    999_999_999_999_989,
    1_000_000_000_000_159,
    999_999_000_001 * 1_001,
    31_622_777 * 31_622_743,
    1_000_000_000_000_003,
    1_000_000_000_000_000,
    999_999_999_999_947,
    1_000_000_000_000_223,
    31_622_723 * 31_622_701,
    1_000_000_000_000_241,
];

fn main() {
    let workers = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let pool = ProcessPoolExecutor::builder()
        .max_workers(workers)
        .build()
        .expect("start the pool");

    let started = Instant::now();
    let futures: Vec<_> = CANDIDATES
        .iter()
        .map(|&n| pool.submit(is_prime, n).expect("submit"))
        .collect();
    let guard = Some(Duration::from_secs(600));
    let mut primes = Vec::new();
    for done in as_completed(&futures, guard) {
        let future = done.expect("every test finishes");
        let index = futures
            .iter()
            .position(|f| std::ptr::eq(f, future))
            .unwrap_or_default();
        let n = CANDIDATES[index];
        match future.result(Some(Duration::ZERO)) {
            Ok(&true) => {
                primes.push(n);
                println!("{n:>20} is prime");
            }
            Ok(&false) => println!("{n:>20} is composite"),
            Err(error) => println!("{n:>20}: {error:?}"),
        }
    }
    pool.shutdown(true, false);
    println!(
        "{} of {} are prime ({workers} worker processes, {:.2?})",
        primes.len(),
        CANDIDATES.len(),
        started.elapsed()
    );

    // A task that aborts kills its worker. As in CPython the pool breaks, but
    // the error names the worker and how it died, and nothing hangs.
    let fragile = ProcessPoolExecutor::builder()
        .max_workers(1)
        .build()
        .expect("pool");
    let crash = fragile
        .submit(|_: ()| -> u8 { std::process::abort() }, ())
        .expect("submit");
    match crash.into_result() {
        Err(ResultError::Failed(TaskError::Broken(broken))) => {
            println!("crash isolated: {broken}");
        }
        other => println!("unexpected: {other:?}"),
    }
}
