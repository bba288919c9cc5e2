//! proc-exec's `map` and `map_unordered` against CPython's
//! `ProcessPoolExecutor.map` and `multiprocessing.Pool.map`: many trivial
//! items (per-item cost, by chunksize), the default `map` over a million of
//! them (time and peak memory, each in a fresh process), and a CPU-bound job
//! (primes by trial division in 64 chunks) on one worker and on two.

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
    let fresh = fresh_rows(rounds.items);

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
        "\nDefault chunksize: adaptive for proc-exec, 1 for ProcessPoolExecutor (Python's), \
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
        "\n## The default `map` over {} trivial items, {WORKERS} workers, in a fresh process\n",
        rounds.items
    );
    out!(
        sec,
        "| implementation | map, call to last result (ms) | peak RSS of the process (MiB) |"
    );
    out!(sec, "| --- | --- | --- |");
    for r in &fresh {
        let mib =
            |kb: Option<f64>| kb.map_or("n/a".to_string(), |kb| format!("{:.1}", kb / 1024.0));
        let ms = |s: Option<f64>| s.map_or("n/a".to_string(), |s| format!("{:.1}", s * 1e3));
        out!(
            sec,
            "| {} | {} | {} |",
            r.name,
            ms(r.seconds),
            mib(r.rss_kb)
        );
    }
    out!(
        sec,
        "\nEach row is one run of a fresh process that builds a pool of {WORKERS} workers and \
         maps `inc` over `0..{}` with no options, summing the results; the time is from \
         the `map` call until the sum is in hand, the peak RSS that of the calling process \
         (its workers excluded), pool start included. Targets: <= 150 ms and <= 64 MiB.",
        rounds.items
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
    for r in fresh.iter().filter(|r| !r.name.starts_with("CPython")) {
        if let (Some(s), Some(kb)) = (r.seconds, r.rss_kb) {
            out!(
                sec,
                "- {}, default, 1M items in a fresh process: {:.1} ms (target <= 150 ms), {:.1} MiB (target <= 64 MiB): {}",
                r.name,
                s * 1e3,
                kb / 1024.0,
                verdict(s <= 0.15 && kb <= 64.0 * 1024.0)
            );
        }
    }
    let cpython_fresh = fresh.iter().find(|r| r.name.starts_with("CPython"));
    sec.ratio(Ratio::of(
        "default map, 1M items, fresh process",
        "CPython Pool.map",
        fresh.first().and_then(|r| r.seconds),
        cpython_fresh.and_then(|r| r.seconds),
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
    let one_by_one = MapOptions::new().chunksize(NonZeroUsize::MIN);
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

/// One run of the default `map` over many trivial items in a fresh process.
struct FreshRow {
    name: String,
    seconds: Option<f64>,
    rss_kb: Option<f64>,
}

/// The default `map` of proc-exec, thread-exec and CPython's `Pool.map`,
/// each in a fresh process (this binary run again as `maps-child`, and
/// `peers/maps.py`), so each peak RSS is the map's own.
fn fresh_rows(items: usize) -> Vec<FreshRow> {
    let mut rows = Vec::new();
    for (which, name) in [("proc", "proc-exec `map`"), ("thread", "thread-exec `map`")] {
        let mut row = FreshRow {
            name: name.to_string(),
            seconds: None,
            rss_kb: None,
        };
        let run = std::env::current_exe().and_then(|exe| {
            std::process::Command::new(exe)
                .args([
                    "maps-child",
                    which,
                    &WORKERS.to_string(),
                    &items.to_string(),
                ])
                .output()
        });
        match run {
            Ok(output) if output.status.success() => {
                let stdout = String::from_utf8_lossy(&output.stdout);
                for (key, value) in crate::stats::peer_values(&stdout) {
                    match key {
                        "seconds" => row.seconds = Some(value),
                        "rss_kb" => row.rss_kb = Some(value),
                        _ => {}
                    }
                }
            }
            Ok(output) => row.name.push_str(&format!(" (failed: {})", output.status)),
            Err(error) => row.name.push_str(&format!(" (could not run: {error})")),
        }
        rows.push(row);
    }
    let mut pool = FreshRow {
        name: "CPython `multiprocessing.Pool.map`".to_string(),
        seconds: None,
        rss_kb: None,
    };
    for (key, value) in run_peer("maps.py", &[WORKERS, items], &mut [&mut pool.name]) {
        match key.as_str() {
            "fresh_pool_map" => pool.seconds = Some(value),
            "fresh_pool_map_rss" => pool.rss_kb = Some(value),
            _ => {}
        }
    }
    rows.push(pool);
    rows
}

/// `bench maps-child proc|thread WORKERS ITEMS`: one default `map` in this
/// fresh process; prints its time and this process's peak RSS.
pub(crate) fn child(mut args: impl Iterator<Item = String>) {
    let which = args.next().unwrap_or_default();
    let mut number = || args.next().and_then(|a| a.parse::<usize>().ok());
    let (workers, items) = (number().unwrap_or(WORKERS), number().unwrap_or(1_000_000));
    let n = items as u64;
    let elapsed = match which.as_str() {
        "proc" => {
            let pool = ProcessPoolExecutor::builder()
                .max_workers(workers)
                .build()
                .expect("build a pool");
            let start = Instant::now();
            let sum: u64 = pool.map(inc, 0..n).unwrap().map(Result::unwrap).sum();
            let elapsed = start.elapsed();
            assert_eq!(sum, n * (n + 1) / 2);
            elapsed
        }
        "thread" => {
            let pool = thread_exec::ThreadPoolExecutor::builder()
                .max_workers(workers)
                .build()
                .expect("build a pool");
            let start = Instant::now();
            let sum: u64 = pool.map(inc, 0..n).unwrap().map(Result::unwrap).sum();
            let elapsed = start.elapsed();
            assert_eq!(sum, n * (n + 1) / 2);
            elapsed
        }
        other => {
            eprintln!("maps-child: unknown map {other:?} (proc or thread)");
            std::process::exit(2);
        }
    };
    println!("seconds {} s", elapsed.as_secs_f64());
    println!("rss_kb {} KiB", peak_rss_kb());
}

/// This process's peak resident set (`VmHWM`), in KiB.
fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}
