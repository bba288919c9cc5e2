//! Side-by-side benchmarks: `cargo run --release -p bench -- [all|future|threads]`.
//!
//! Each benchmark prints a Markdown table; numbers are medians of the repeated
//! measurements named in each row. Speed is measured here, never asserted in
//! tests.

mod future;
mod stats;
mod threads;

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "all".to_string());
    match which.as_str() {
        "future" => future::run(20_000),
        "threads" => threads::run(20_000, 100_000, 200_000),
        "all" => {
            future::run(20_000);
            println!();
            threads::run(20_000, 100_000, 200_000);
        }
        other => {
            eprintln!("unknown benchmark {other:?}; known: all, future, threads");
            std::process::exit(2);
        }
    }
}
