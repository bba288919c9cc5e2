//! mp-pool against CPython's `multiprocessing.Pool` (fork context), 2
//! processes: pool start to the first `apply`, `map` over 1M items with the
//! default chunksize, `imap_unordered` with chunksize 1, and `apply_async`
//! then `get`.

use crate::report::{Ratio, Section, out};
use crate::stats::run_peer;
use mp_pool::Pool;
use std::{
    hint::black_box,
    time::{Duration, Instant},
};

const PROCESSES: usize = 2;

/// Timed runs of each throughput workload on one warm pool (median kept).
const REPEATS: usize = 3;

/// How much each workload does.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sizes {
    /// Fresh pools timed for start-up (median reported).
    pub(crate) pools: usize,
    /// Items of the `map`.
    pub(crate) map: usize,
    /// Items of the `imap_unordered` (chunksize 1).
    pub(crate) imap: usize,
    /// Tasks of the `apply_async` batch.
    pub(crate) apply: usize,
}

fn inc(x: u64) -> u64 {
    black_box(x) + 1
}

/// One implementation's results; `None` where not measured.
struct Row {
    name: String,
    /// Pool start to the first `apply` result, ms.
    start_ms: Option<f64>,
    /// `map`, default chunksize, us per item.
    map: Option<f64>,
    /// `imap_unordered`, chunksize 1, us per item.
    imap: Option<f64>,
    /// `apply_async` then `get`, us per task.
    apply: Option<f64>,
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

fn per_item_us(n: usize, mut run: impl FnMut()) -> f64 {
    let samples = (0..REPEATS)
        .map(|_| {
            let t0 = Instant::now();
            run();
            t0.elapsed()
        })
        .collect();
    median(samples).as_secs_f64() * 1e6 / n as f64
}

fn sum_to(n: usize) -> u64 {
    let n = n as u64;
    n * (n + 1) / 2
}

fn mp_pool_row(sizes: Sizes) -> Row {
    let start = (0..=sizes.pools)
        .map(|_| {
            let t0 = Instant::now();
            let pool = Pool::builder().processes(PROCESSES).build().unwrap();
            assert_eq!(pool.apply(inc, 1), Ok(2));
            let elapsed = t0.elapsed();
            drop(pool);
            elapsed
        })
        .skip(1)
        .collect();
    let pool = Pool::builder().processes(PROCESSES).build().unwrap();
    pool.map(inc, 0..1000u64, None).unwrap(); // warm up: workers started
    let map = per_item_us(sizes.map, || {
        let out = pool.map(inc, 0..sizes.map as u64, None).unwrap();
        assert_eq!(out.iter().sum::<u64>(), sum_to(sizes.map));
    });
    let imap = per_item_us(sizes.imap, || {
        let total: u64 = pool
            .imap_unordered(inc, 0..sizes.imap as u64, 1)
            .unwrap()
            .map(Result::unwrap)
            .sum();
        assert_eq!(total, sum_to(sizes.imap));
    });
    let apply = per_item_us(sizes.apply, || {
        let jobs: Vec<_> = (0..sizes.apply as u64)
            .map(|i| pool.apply_async(inc, i).unwrap())
            .collect();
        let total: u64 = jobs.into_iter().map(|j| j.into_result().unwrap()).sum();
        assert_eq!(total, sum_to(sizes.apply));
    });
    pool.close();
    pool.join().unwrap();
    Row {
        name: "mp-pool".to_owned(),
        start_ms: Some(median(start).as_secs_f64() * 1e3),
        map: Some(map),
        imap: Some(imap),
        apply: Some(apply),
    }
}

fn cpython_row(sizes: Sizes) -> Row {
    let args = [PROCESSES, sizes.pools, sizes.map, sizes.imap, sizes.apply];
    let mut row = Row {
        name: "CPython multiprocessing.Pool (fork context)".to_owned(),
        start_ms: None,
        map: None,
        imap: None,
        apply: None,
    };
    for (name, value) in run_peer("mp_pool.py", &args, &mut [&mut row.name]) {
        match name.as_str() {
            "start" => row.start_ms = Some(value),
            "map" => row.map = Some(value),
            "imap_unordered" => row.imap = Some(value),
            "apply_async" => row.apply = Some(value),
            _ => {}
        }
    }
    row
}

pub(crate) fn run(sizes: Sizes) -> Section {
    let rows = [mp_pool_row(sizes), cpython_row(sizes)];
    let mut sec = Section::default();
    out!(sec, "## multiprocessing.Pool, {PROCESSES} processes\n");
    out!(
        sec,
        "| implementation | start to first apply (ms) | map over {} (us/item) | imap_unordered chunksize 1 over {} (us/item) | {} apply_async + get (us/task) |",
        sizes.map,
        sizes.imap,
        sizes.apply
    );
    out!(sec, "| --- | --- | --- | --- | --- |");
    let cell = |v: Option<f64>| v.map_or("n/a".to_owned(), |v| format!("{v:.3}"));
    for r in &rows {
        out!(
            sec,
            "| {} | {} | {} | {} | {} |",
            r.name,
            cell(r.start_ms),
            cell(r.map),
            cell(r.imap),
            cell(r.apply)
        );
    }
    let (ours, python) = (&rows[0], &rows[1]);
    let peer = "CPython Pool";
    let ratios = [
        Ratio::of(
            "Pool start to first apply",
            peer,
            ours.start_ms,
            python.start_ms,
            None,
        ),
        Ratio::of(
            "Pool.map 1M items, default chunksize",
            peer,
            ours.map,
            python.map,
            Some(4.0),
        ),
        Ratio::of(
            "imap_unordered chunksize 1",
            peer,
            ours.imap,
            python.imap,
            Some(10.0),
        ),
        Ratio::of(
            "100k apply_async + get",
            peer,
            ours.apply,
            python.apply,
            Some(10.0),
        ),
    ];
    ratios.into_iter().for_each(|r| sec.ratio(r));
    sec
}
