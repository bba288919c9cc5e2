//! Side-by-side benchmarks: `cargo run --release -p bench -- [all|future|threads|procs|maps|pool|report]`.
//!
//! Each benchmark prints a Markdown table; numbers are medians of the repeated
//! measurements named in each row. Speed is measured here, never asserted in
//! tests. `report` runs them all and writes `bench/report/REPORT.md` and
//! `bench/report/ratios.svg`.

mod future;
mod maps;
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

/// Rounds of the map benchmarks (about half a minute on 2 cores, CPython
/// included).
const MAPS: maps::Rounds = maps::Rounds {
    items: 1_000_000,
    ppe_default_items: 20_000,
    chunksize: 10_000,
    repeats: 5,
    primes_below: 3_000_000,
    cpython_primes_below: 300_000,
};

/// Sizes of the `multiprocessing.Pool` benchmark (about a minute on 2 cores).
const POOL: pool::Sizes = pool::Sizes {
    pools: 10,
    map: 1_000_000,
    imap: 100_000,
    apply: 100_000,
};

/// Every benchmark, one after the other.
fn all() -> Vec<report::Section> {
    let runs: [fn() -> report::Section; 5] = [
        || future::run(20_000),
        || threads::run(20_000, 100_000, 200_000),
        || procs::run(PROCS),
        || maps::run(MAPS),
        || pool::run(POOL),
    ];
    let mut sections = Vec::new();
    for run in runs {
        let section = run();
        section.print_ratios();
        println!();
        sections.push(section);
    }
    sections
}

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "all".to_string());
    match which.as_str() {
        "future" => future::run(20_000).print_ratios(),
        "threads" => threads::run(20_000, 100_000, 200_000).print_ratios(),
        "procs" => procs::run(PROCS).print_ratios(),
        "maps" => maps::run(MAPS).print_ratios(),
        "pool" => pool::run(POOL).print_ratios(),
        // The fresh process each default-`map` row of `maps` runs in.
        "maps-child" => maps::child(args),
        "all" => {
            all();
        }
        "report" => {
            let sections = all();
            let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/report"));
            if let Err(error) = report::write(&sections, dir, &report::machine()) {
                eprintln!("could not write the report into {}: {error}", dir.display());
                std::process::exit(1);
            }
            println!("\nreport written to {}", dir.join("REPORT.md").display());
        }
        other => {
            eprintln!(
                "unknown benchmark {other:?}; known: all, future, threads, procs, maps, pool, report"
            );
            std::process::exit(2);
        }
    }
}
