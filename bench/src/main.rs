//! Side-by-side benchmarks: `cargo run --release -p bench [-- future [ROUNDS]]`.
//!
//! Each benchmark prints a Markdown table; numbers are medians of the repeated
//! measurements named in each row. Speed is measured here, never asserted in
//! tests.

mod future;
mod stats;

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "future".to_string());
    let rounds = args.next().and_then(|s| s.parse().ok());
    match which.as_str() {
        "future" => future::run(rounds.unwrap_or(20_000)),
        other => {
            eprintln!("unknown benchmark {other:?}; known: future");
            std::process::exit(2);
        }
    }
}
