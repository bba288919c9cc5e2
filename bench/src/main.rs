//! Side-by-side benchmarks: `cargo run --release -p bench -- [all|future|threads|procs|pool|report]`.
//!
//! `report` runs them all and writes `bench/report/REPORT.md` and
//! `bench/report/ratios.svg`.
//!
//! Each benchmark prints a Markdown table; numbers are medians of the repeated
//! measurements named in each row. Speed is measured here, never asserted in
//! tests.

mod future;
mod pool;
mod procs;
mod report;
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
        "pool" => pool::run(POOL).print(),
        "report" => {
            let sections = [pool::run(POOL)];
            sections.iter().for_each(report::Section::print);
            let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/report"));
            if let Err(error) = report::write(&sections, dir, &report::machine()) {
                eprintln!("could not write the report into {}: {error}", dir.display());
                std::process::exit(1);
            }
            println!("\nreport written to {}", dir.join("REPORT.md").display());
        }
        "all" => {
            future::run(20_000);
            println!();
            threads::run(20_000, 100_000, 200_000);
            println!();
            procs::run(PROCS);
            println!();
            pool::run(POOL).print();
        }
        other => {
            eprintln!(
                "unknown benchmark {other:?}; known: all, future, threads, procs, pool, report"
            );
            std::process::exit(2);
        }
    }
}
