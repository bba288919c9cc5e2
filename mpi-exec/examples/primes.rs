//! The README's main job over MPI ranks: which of a list of large numbers
//! are prime? Rank 0 submits each number (trial division, CPU-bound) to the
//! other ranks, results arrive with `as_completed`, and one deliberately
//! panicking task shows that a task's crash stays that task's error.
//!
//! `cargo build --release --manifest-path mpi-exec/Cargo.toml --example primes`
//! `timeout -k 5 600 mpirun -n 3 mpi-exec/target/release/examples/primes`

use std::time::{Duration, Instant};

use future_core::ResultError;
use mpi_exec::TaskError;
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

/// A task with a bug: it panics on its worker rank.
fn buggy(n: u64) -> bool {
    let divisors: Vec<u64> = Vec::new();
    n.is_multiple_of(divisors[0])
}

fn main() {
    let ran = mpi_exec::run(|exec| {
        let started = Instant::now();
        let futures: Vec<_> = CANDIDATES
            .iter()
            .map(|&n| exec.submit(is_prime, n).expect("submit"))
            .collect();
        let guard = Some(Duration::from_secs(600));
        let mut primes = 0;
        for done in as_completed(futures.iter().map(|f| &**f), guard) {
            let future = done.expect("every test finishes");
            let index = futures
                .iter()
                .position(|f| std::ptr::eq(&**f, future))
                .unwrap_or_default();
            let n = CANDIDATES[index];
            match future.result(Some(Duration::ZERO)) {
                Ok(&true) => {
                    primes += 1;
                    println!("{n:>20} is prime");
                }
                Ok(&false) => println!("{n:>20} is composite"),
                Err(error) => println!("{n:>20}: {error:?}"),
            }
        }
        println!(
            "{primes} of {} are prime ({} worker ranks, {:.2?})",
            CANDIDATES.len(),
            exec.workers(),
            started.elapsed()
        );

        // A task's panic is its own error; its rank serves on.
        match exec.submit(buggy, 7).expect("submit").into_result() {
            Err(ResultError::Failed(TaskError::Panicked(message))) => {
                println!("crash isolated: the buggy task failed ({message}); its rank serves on");
            }
            other => println!("unexpected: {other:?}"),
        }
        let after = exec.submit(is_prime, 97).expect("submit").into_result();
        println!("after the crash: 97 is prime = {after:?}");
    });
    if let Err(error) = ran {
        eprintln!("primes: {error}");
        std::process::exit(2);
    }
}
