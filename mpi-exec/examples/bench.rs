//! mpi-exec's rows of the benchmarks, as a Markdown table: one task
//! at a time (p50), 100k tiny tasks, a map of 1M items in chunks, and
//! CPU-bound primes in 64 chunks on 1 and then all worker ranks.
//!
//! `cargo build --release --manifest-path mpi-exec/Cargo.toml --example bench`
//! `timeout -k 5 600 mpirun -n 3 mpi-exec/target/release/examples/bench`

use std::time::{Duration, Instant};

use mpi_exec::{MapOptions, MpiExecutor};

fn tiny(n: u64) -> u64 {
    n.wrapping_add(1)
}

fn count_primes((from, to): (u64, u64)) -> u64 {
    (from..to)
        .filter(|&n| {
            n >= 2
                && (2..)
                    .take_while(|d| d * d <= n)
                    .all(|d| !n.is_multiple_of(d))
        })
        .count() as u64
}

fn p50(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Primes below `LIMIT` in 64 chunks, at most `workers` chunks in flight.
fn primes(exec: &MpiExecutor, workers: usize) -> Duration {
    const LIMIT: u64 = 4_000_000;
    let step = LIMIT / 64;
    let chunks: Vec<(u64, u64)> = (0..64).map(|i| (i * step, (i + 1) * step)).collect();
    let started = Instant::now();
    let total: u64 = exec
        .map(count_primes, chunks, MapOptions::new().window(workers))
        .map(Result::unwrap)
        .sum();
    assert_eq!(total, 283_146);
    started.elapsed()
}

fn main() {
    // IN_FLIGHT: frames in flight per worker (the default otherwise).
    let mut options = mpi_exec::Options::new();
    if let Some(frames) = std::env::var("IN_FLIGHT").ok().and_then(|v| v.parse().ok()) {
        options = options.max_in_flight(frames);
    }
    mpi_exec::run_with(options, |exec| {
        let workers = exec.workers();
        for n in 0..200 {
            exec.submit(tiny, n).unwrap().into_result().unwrap();
        }
        let single: Vec<Duration> = (0..5000)
            .map(|n| {
                let started = Instant::now();
                exec.submit(tiny, n).unwrap().into_result().unwrap();
                started.elapsed()
            })
            .collect();

        let started = Instant::now();
        let futures: Vec<_> = (0..100_000)
            .map(|n| exec.submit(tiny, n).unwrap())
            .collect();
        for future in futures {
            future.into_result().unwrap();
        }
        let many = started.elapsed() / 100_000;

        let started = Instant::now();
        let sum: u64 = exec
            .map(tiny, 0..1_000_000u64, MapOptions::new().chunksize(4096))
            .map(Result::unwrap)
            .sum();
        assert_eq!(sum, 1_000_000 * 1_000_001 / 2);
        let mapped = started.elapsed() / 1_000_000;

        let one = primes(exec, 1);
        let all = primes(exec, workers);

        println!("| mpi-exec, {workers} worker ranks | value |");
        println!("| --- | --- |");
        println!(
            "| one task at a time, p50 | {:.1} µs |",
            p50(single).as_secs_f64() * 1e6
        );
        println!(
            "| 100k tiny tasks | {:.2} µs/task |",
            many.as_secs_f64() * 1e6
        );
        println!(
            "| map 1M items, chunks of 4096 | {:.3} µs/item |",
            mapped.as_secs_f64() * 1e6
        );
        println!(
            "| primes in 64 chunks, 1 -> {workers} ranks | {:.2?} -> {:.2?} ({:.2}x) |",
            one,
            all,
            one.as_secs_f64() / all.as_secs_f64()
        );
    })
    .unwrap();
}
