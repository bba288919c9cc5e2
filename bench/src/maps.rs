//! proc-exec's `map` and `map_unordered` against CPython's
//! `ProcessPoolExecutor.map` and `multiprocessing.Pool.map`: many trivial
//! items (per-item cost, by chunksize), and a CPU-bound job (primes by trial
//! division in 64 chunks) on one worker and on two.

use crate::report::{Ratio, Section, out};
use crate::stats::run_peer;
use proc_exec::{MapOptions, ProcessPoolExecutor};
use std::{hint::black_box, num::NonZeroUsize, time::Instant};

const WORKERS: usize = 2;

/// Chunks of the CPU-bound job.
const PRIME_CHUNKS: u64 = 64;

/// How much each workload does.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rounds {
    /// Items of each trivial map.
    pub(crate) items: usize,
    /// Items of CPython's `ProcessPoolExecutor.map` with its default
    /// chunksize of 1 (~160 us per item: 1M would take minutes).
    pub(crate) ppe_default_items: usize,
    /// The tuned chunksize, for every implementation that takes one.
    pub(crate) chunksize: usize,
    /// Times each timed map runs (median reported); the default-chunksize
    /// maps, which take seconds, run once.
    pub(crate) repeats: usize,
    /// The CPU-bound job counts primes below this (proc-exec).
    pub(crate) primes_below: u64,
    /// The same for CPython (~50x slower per number).
    pub(crate) cpython_primes_below: u64,
}

/// Per-item costs of one implementation (us/item), `None` where it has no
/// such call.
struct MapRow {
    name: String,
    default_chunks: Option<f64>,
    tuned: Option<f64>,
    pool_default: Option<f64>,
    unordered: Option<f64>,
}

/// The CPU-bound job's wall times (ms) and speed-up (pool(1) / pool(2),
/// paired within a repeat).
struct CpuRow {
    name: String,
    below: u64,
    serial: Option<f64>,
    one: Option<f64>,
    two: Option<f64>,
    speedup: Option<f64>,
}

/// Runs the map benchmarks and prints their tables.
pub(crate) fn run(rounds: Rounds) -> Section {
    let mut sec = Section::default();
    // Other busy processes take CPUs from the pools (from the 2-worker
    // rows above all): the load is printed with the results.
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load = load
        .split_whitespace()
        .next()
        .unwrap_or("unknown")
        .to_string();
    let ours_cpu = ours_cpu_row(rounds);
    let ours = ours_map_row(rounds);
    let (ppe, pool, cpython_cpu) = cpython_rows(rounds);
    let pool_chunks = pool_default_chunksize(rounds.items);

    out!(
        sec,
        "## map over {} trivial items (`inc(u64)`), {WORKERS} workers\n",
        rounds.items
    );
    out!(
        sec,
        "| implementation | default chunksize (us/item) | chunksize {} (us/item) | chunksize {pool_chunks} = Pool.map's default (us/item) | unordered, chunksize {} (us/item) |",
        rounds.chunksize,
        rounds.chunksize
    );
    out!(sec, "| --- | --- | --- | --- | --- |");
    let cell = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.4}"));
    for r in [&ours, &ppe, &pool] {
        out!(
            sec,
            "| {} | {} | {} | {} | {} |",
            r.name,
            cell(r.default_chunks),
            cell(r.tuned),
            cell(r.pool_default),
            cell(r.unordered)
        );
    }
    out!(
        sec,
        "\nDefault chunksize: 1 for proc-exec and ProcessPoolExecutor (Python's), \
         ceil(len / (4 x workers)) = {pool_chunks} for Pool.map (the same column as the next one). \
         ProcessPoolExecutor.map with chunksize 1 runs over {} items (about 160 us each). \
         Unordered: proc-exec `map_unordered`, Pool `imap_unordered`. \
         Each figure is the median of {} maps on one warm pool, timed from the call until \
         the last result is in hand and summed (the default-chunksize maps run once); \
         CPython uses the fork context.",
        rounds.ppe_default_items,
        rounds.repeats
    );

    out!(
        sec,
        "\n## CPU-bound: primes by trial division in {PRIME_CHUNKS} chunks\n"
    );
    out!(
        sec,
        "| implementation | primes below | serial (ms) | 1 worker (ms) | 2 workers (ms) | speed-up 1 -> 2 workers |"
    );
    out!(sec, "| --- | --- | --- | --- | --- | --- |");
    let ms = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.1}"));
    for r in [&ours_cpu, &cpython_cpu] {
        out!(
            sec,
            "| {} | {} | {} | {} | {} | {} |",
            r.name,
            r.below,
            ms(r.serial),
            ms(r.one),
            ms(r.two),
            r.speedup.map_or("n/a".to_string(), |v| format!("{v:.2}x"))
        );
    }
    out!(
        sec,
        "\nThe range is cut into {PRIME_CHUNKS} equal chunks (later ones cost more), \
         mapped with chunksize 1 in input order. Medians of {} runs; the speed-up is \
         paired within a run (1 worker, then 2, back to back). Load average (1 min) \
         when the benchmark started: {load}; another busy process takes a CPU from \
         the 2-worker rows.",
        rounds.repeats
    );

    out!(sec, "\nTargets (as measured):\n");
    let verdict = |met: bool| if met { "met" } else { "NOT met" };
    match (ours.pool_default, pool.pool_default) {
        (Some(a), Some(b)) => out!(
            sec,
            "- map, chunksize {pool_chunks} both: Pool.map / proc-exec = {:.2}x (target >= 4x): {}",
            b / a,
            verdict(b / a >= 4.0)
        ),
        _ => out!(sec, "- map / Pool.map: n/a (no CPython figure)"),
    }
    if let (Some(a), Some(b)) = (ours.tuned, pool.pool_default) {
        out!(
            sec,
            "  (proc-exec chunksize {} against Pool.map's default: {:.2}x)",
            rounds.chunksize,
            b / a
        );
    }
    if let Some(a) = ours.tuned {
        out!(
            sec,
            "  (against the baseline's 0.215 us/item for Pool.map: {:.2}x)",
            0.215 / a
        );
    }
    if let Some(s) = ours_cpu.speedup {
        out!(
            sec,
            "- CPU-bound, 1 -> 2 workers: {s:.2}x (target >= 1.9x): {}",
            verdict(s >= 1.9)
        );
    }
    let name = format!("map 1M items, chunksize {pool_chunks}");
    sec.ratio(Ratio::of(
        &name,
        "CPython Pool.map",
        ours.pool_default,
        pool.pool_default,
        Some(4.0),
    ));
    sec.ratio(Ratio::of(
        &name,
        "CPython PPE.map",
        ours.pool_default,
        ppe.pool_default,
        None,
    ));
    sec.ratio(Ratio::of(
        "primes in 64 chunks, 2 workers",
        "1 worker",
        ours_cpu.two,
        ours_cpu.one,
        Some(1.9),
    ));
    sec
}

/// Pool.map's default chunksize: `divmod(len, 4 * processes)`, plus one if
/// there is a remainder.
fn pool_default_chunksize(len: usize) -> usize {
    len.div_ceil(4 * WORKERS)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_unstable_by(f64::total_cmp);
    values[values.len() / 2]
}

// The tasks. Workers are forked from this binary, so these run there.

fn inc(x: u64) -> u64 {
    black_box(x) + 1
}

fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    let mut d = 2;
    while d * d <= n {
        if n.is_multiple_of(d) {
            return false;
        }
        d += 1;
    }
    true
}

/// Primes in `lo..hi`, by trial division.
fn count_primes((lo, hi): (u64, u64)) -> u64 {
    (lo..hi).filter(|&n| is_prime(n)).count() as u64
}

fn prime_chunks(below: u64) -> Vec<(u64, u64)> {
    (0..PRIME_CHUNKS)
        .map(|i| (below * i / PRIME_CHUNKS, below * (i + 1) / PRIME_CHUNKS))
        .collect()
}

fn pool(workers: usize) -> ProcessPoolExecutor {
    let pool = ProcessPoolExecutor::builder()
        .max_workers(workers)
        .build()
        .expect("build a pool");
    // Every worker started, and the code paths paged in.
    let warm = MapOptions::new().chunksize(NonZeroUsize::new(100).unwrap());
    let sum: u64 = pool
        .map_with(inc, 0..10_000u64, warm)
        .unwrap()
        .map(Result::unwrap)
        .sum();
    assert_eq!(sum, 10_000 * 10_001 / 2);
    pool
}

/// us per item of one map of `items` through `map`.
fn time_map<I>(items: usize, map: impl FnOnce() -> I) -> f64
where
    I: Iterator<Item = u64>,
{
    let start = Instant::now();
    let sum: u64 = map().sum();
    let elapsed = start.elapsed();
    let n = items as u64;
    assert_eq!(sum, n * (n + 1) / 2);
    elapsed.as_secs_f64() * 1e6 / items as f64
}

fn ours_map_row(rounds: Rounds) -> MapRow {
    let pool = pool(WORKERS);
    let n = rounds.items as u64;
    let chunked = |size: usize| MapOptions::new().chunksize(NonZeroUsize::new(size).unwrap());
    let default_chunks = time_map(rounds.items, || {
        pool.map(inc, 0..n).unwrap().map(Result::unwrap)
    });
    let mut tuned = Vec::new();
    let mut pool_default = Vec::new();
    let mut unordered = Vec::new();
    // Taking turns spreads the machine's drift over all three.
    for _ in 0..rounds.repeats {
        tuned.push(time_map(rounds.items, || {
            let options = chunked(rounds.chunksize);
            pool.map_with(inc, 0..n, options)
                .unwrap()
                .map(Result::unwrap)
        }));
        pool_default.push(time_map(rounds.items, || {
            let options = chunked(pool_default_chunksize(rounds.items));
            pool.map_with(inc, 0..n, options)
                .unwrap()
                .map(Result::unwrap)
        }));
        unordered.push(time_map(rounds.items, || {
            let options = chunked(rounds.chunksize);
            let results = pool.map_unordered(inc, 0..n, options).unwrap();
            results.map(Result::unwrap)
        }));
    }
    pool.shutdown(true, false);
    MapRow {
        name: "proc-exec (`map_with`, `map_unordered`)".to_string(),
        default_chunks: Some(default_chunks),
        tuned: Some(median(&mut tuned)),
        pool_default: Some(median(&mut pool_default)),
        unordered: Some(median(&mut unordered)),
    }
}

fn ours_cpu_row(rounds: Rounds) -> CpuRow {
    let chunks = prime_chunks(rounds.primes_below);
    let one_by_one = MapOptions::new();
    let run = |pool: &ProcessPoolExecutor| {
        let start = Instant::now();
        let count: u64 = pool
            .map_with(count_primes, chunks.iter().copied(), one_by_one)
            .unwrap()
            .map(Result::unwrap)
            .sum();
        (start.elapsed().as_secs_f64() * 1e3, count)
    };
    let pools = [pool(1), pool(WORKERS)];
    let (mut serial, mut one, mut two, mut speedup) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds.repeats {
        let start = Instant::now();
        let expected: u64 = chunks.iter().copied().map(count_primes).sum();
        serial.push(start.elapsed().as_secs_f64() * 1e3);
        let (a, count_one) = run(&pools[0]);
        let (b, count_two) = run(&pools[1]);
        assert_eq!((count_one, count_two), (expected, expected));
        one.push(a);
        two.push(b);
        speedup.push(a / b);
    }
    for pool in &pools {
        pool.shutdown(true, false);
    }
    CpuRow {
        name: "proc-exec".to_string(),
        below: rounds.primes_below,
        serial: Some(median(&mut serial)),
        one: Some(median(&mut one)),
        two: Some(median(&mut two)),
        speedup: Some(median(&mut speedup)),
    }
}

/// CPython's rows from `peers/maps.py`: ProcessPoolExecutor, Pool, and the
/// CPU-bound job on Pool.
fn cpython_rows(rounds: Rounds) -> (MapRow, MapRow, CpuRow) {
    let mut ppe = MapRow {
        name: "CPython ProcessPoolExecutor.map".to_string(),
        default_chunks: None,
        tuned: None,
        pool_default: None,
        unordered: None,
    };
    let mut pool = MapRow {
        name: "CPython multiprocessing.Pool (`map`, `imap_unordered`)".to_string(),
        default_chunks: None,
        tuned: None,
        pool_default: None,
        unordered: None,
    };
    let mut cpu = CpuRow {
        name: "CPython multiprocessing.Pool.map".to_string(),
        below: rounds.cpython_primes_below,
        serial: None,
        one: None,
        two: None,
        speedup: None,
    };
    let args = [
        WORKERS,
        rounds.items,
        rounds.ppe_default_items,
        rounds.chunksize,
        rounds.repeats,
        rounds.cpython_primes_below as usize,
        PRIME_CHUNKS as usize,
    ];
    let names = &mut [&mut ppe.name, &mut pool.name, &mut cpu.name];
    for (name, value) in run_peer("maps.py", &args, names) {
        let value = Some(value);
        match name.as_str() {
            "ppe_map_default" => ppe.default_chunks = value,
            "ppe_map_tuned" => ppe.tuned = value,
            "ppe_map_pool_default" => ppe.pool_default = value,
            "pool_map_default" => {
                pool.default_chunks = value;
                pool.pool_default = value;
            }
            "pool_map_tuned" => pool.tuned = value,
            "pool_imap_unordered" => pool.unordered = value,
            "cpu_serial" => cpu.serial = value,
            "cpu_pool1" => cpu.one = value,
            "cpu_pool2" => cpu.two = value,
            "cpu_speedup" => cpu.speedup = value,
            _ => {}
        }
    }
    (ppe, pool, cpu)
}
