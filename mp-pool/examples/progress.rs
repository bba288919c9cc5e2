//! How long is the Collatz trajectory of every number below a limit? The
//! numbers go to the workers in chunks through `imap_unordered`, which reads
//! the range only as fast as results come back, and indicatif draws a
//! progress bar as they do (an `imap` over an input of known length is an
//! `ExactSizeIterator`). Then a callback collects the longest trajectory of
//! a `map_async`.
//!
//! `cargo run --release -p mp-pool --example progress [LIMIT] [PROCESSES]`

use std::sync::mpsc;
use std::time::Instant;

use indicatif::ProgressIterator;
use mp_pool::{Callbacks, Pool};

/// The number of steps `n` takes to reach 1 (and `n`).
fn collatz(mut n: u64) -> (u64, u32) {
    let start = n;
    let mut steps = 0;
    while n != 1 {
        n = if n.is_multiple_of(2) {
            n / 2
        } else {
            3 * n + 1
        };
        steps += 1;
    }
    (start, steps)
}

fn longest(results: &[(u64, u32)]) -> (u64, u32) {
    results
        .iter()
        .copied()
        .max_by_key(|&(_, steps)| steps)
        .unwrap_or((1, 0))
}

fn main() {
    let mut args = std::env::args().skip(1);
    // A `u32` range has an exact length (a `u64` one is no
    // `ExactSizeIterator`, as it could be longer than `usize` on 32 bits).
    let limit: u32 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000_000);
    let processes = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let pool = Pool::builder()
        .processes(processes)
        .build()
        .expect("start the pool");

    let started = Instant::now();
    let mut best = (1, 0);
    let numbers = (1..limit).map(u64::from);
    let results = pool.imap_unordered(collatz, numbers, 10_000).expect("imap");
    // Drawn on stderr, and only when it is a terminal.
    for result in results.progress() {
        let (n, steps) = result.expect("every number reaches 1");
        if steps > best.1 {
            best = (n, steps);
        }
    }
    println!(
        "below {limit}: {} takes the most steps, {} ({processes} processes, {:.2?})",
        best.0,
        best.1,
        started.elapsed()
    );

    // The same for the numbers below 100,000 with map_async and Python's
    // default chunksize (four chunks per process), the answer handed to a
    // callback on the pool's result handler.
    let (tx, rx) = mpsc::channel();
    let callbacks = Callbacks::new().on_success(move |all: &Vec<(u64, u32)>| {
        tx.send(longest(all)).expect("main waits for it");
    });
    let job = pool
        .map_async_with(collatz, 1..u64::from(limit.min(100_000)), None, callbacks)
        .expect("map_async");
    job.wait(None);
    let (n, steps) = rx
        .recv()
        .expect("the callback ran before the job was ready");
    println!(
        "below {}: {n} takes the most steps, {steps} (map_async)",
        limit.min(100_000)
    );
    pool.close();
    pool.join().expect("closed first");
}
