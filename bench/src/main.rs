//! Side-by-side benchmarks: `cargo run --release -p bench -- [all|future|threads|procs|pool]`.
//!
//! Each benchmark prints a Markdown table; numbers are medians of the repeated
//! measurements named in each row. Speed is measured here, never asserted in
//! tests.

mod future;
mod pool;
mod procs;
mod stats;
mod threads;

/// Rounds of the process-pool benchmarks (about a minute on 2 cores).
const PROCS: procs::Rounds = procs::Rounds {
    pools: 20,
    single: 5_000,
    batch: 100_000,
    echo: 200,
};

/// Sizes of the `multiprocessing.Pool` benchmark (about a minute on 2 cores).
const POOL: pool::Sizes = pool::Sizes {
    pools: 10,
    map: 1_000_000,
    imap: 100_000,
    apply: 100_000,
};

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "all".to_string());
    match which.as_str() {
        "future" => future::run(20_000),
        "threads" => threads::run(20_000, 100_000, 200_000),
        "procs" => procs::run(PROCS),
        "pool" => pool::run(POOL),
        "all" => {
            future::run(20_000);
            println!();
            threads::run(20_000, 100_000, 200_000);
            println!();
            procs::run(PROCS);
            println!();
            pool::run(POOL);
        }
        other => {
            eprintln!("unknown benchmark {other:?}; known: all, future, threads, procs, pool");
            std::process::exit(2);
        }
    }
}
