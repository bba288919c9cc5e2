//! thread-exec against `threadpool`, `rayon` and CPython's ThreadPoolExecutor:
//! one task at a time, a batch of submits then a gather, and map.
//!
//! The batch is the noisiest number on a shared 2-core machine (a stall of
//! one worker thread shows up whole), so it is measured in [`BATCH_ROUNDS`]
//! rounds, taking turns between the Rust pools so that a noisy moment falls
//! on all of them alike, and each pool's median round is reported.

use crate::report::{Ratio, Section, out};
use crate::stats::{percentile, run_peer};
use std::{
    hint::black_box,
    sync::mpsc,
    time::{Duration, Instant},
};
use thread_exec::ThreadPoolExecutor;

const WORKERS: usize = 2;

/// Rounds of the batch measurement per implementation (the median is shown).
const BATCH_ROUNDS: usize = 15;

/// One implementation's batch: submit this many tasks, then gather them all.
type Batch = Box<dyn FnMut(usize)>;

fn inc(x: u64) -> u64 {
    black_box(x) + 1
}

/// Results of one implementation: p50 and p99 one-at-a-time round trip,
/// per-task cost of a batch, per-item cost of map (all microseconds).
struct Row {
    name: String,
    p50: Option<f64>,
    p99: Option<f64>,
    batch: Option<f64>,
    map: Option<f64>,
}

pub(crate) fn run(single: usize, batch: usize, items: usize) -> Section {
    let mut sec = Section::default();
    let mut contenders = [
        thread_exec_row(single, items),
        threadpool_row(single),
        rayon_row(single, items),
    ];
    let mut rounds: Vec<Vec<Duration>> = vec![Vec::new(); contenders.len()];
    for _ in 0..BATCH_ROUNDS {
        for ((_, run_batch), samples) in contenders.iter_mut().zip(&mut rounds) {
            let start = Instant::now();
            run_batch(batch);
            samples.push(start.elapsed());
        }
    }
    let [ours, threadpool, rayon] = contenders.map(|(row, _)| row);
    let mut rows = [ours, threadpool, rayon, cpython_row(single, batch, items)];
    for (row, samples) in rows.iter_mut().zip(&mut rounds) {
        row.batch = Some(to_us(percentile(samples, 50.0)) / batch as f64);
    }
    out!(sec, "## thread pools, {WORKERS} workers\n");
    out!(
        sec,
        "| implementation | one at a time p50 (us) | p99 (us) | {batch} submits + gather (us/task, median of {BATCH_ROUNDS}) | map over {items} (us/item) |"
    );
    out!(sec, "| --- | --- | --- | --- | --- |");
    let cell = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.3}"));
    for r in &rows {
        out!(
            sec,
            "| {} | {} | {} | {} | {} |",
            r.name,
            cell(r.p50),
            cell(r.p99),
            cell(r.batch),
            cell(r.map)
        );
    }
    let ours = &rows[0];
    if let (Some(a), Some(b)) = (ours.batch, rows[1].batch) {
        out!(
            sec,
            "\nbatch per task, thread-exec / threadpool: {:.2} (target <= 1.2)",
            a / b
        );
    }
    if let (Some(a), Some(b)) = (ours.batch, rows[3].batch) {
        out!(
            sec,
            "batch per task, CPython / thread-exec: {:.0}x (target >= 50x)",
            b / a
        );
    }
    if let (Some(a), Some(b)) = (ours.p50, rows[2].p50) {
        out!(
            sec,
            "one-at-a-time p50, thread-exec / rayon: {:.2} (target <= 1.0)",
            a / b
        );
    }
    let (ours, threadpool, rayon, cpython) = (&rows[0], &rows[1], &rows[2], &rows[3]);
    // Within 1.2x of threadpool is the target: its time / ours >= 1 / 1.2.
    sec.ratio(Ratio::of(
        "TPE 100k submits + gather",
        "threadpool",
        ours.batch,
        threadpool.batch,
        Some(0.83),
    ));
    sec.ratio(Ratio::of(
        "TPE 100k submits + gather",
        "CPython TPE",
        ours.batch,
        cpython.batch,
        Some(50.0),
    ));
    sec.ratio(Ratio::of(
        "TPE one task at a time p50",
        "rayon",
        ours.p50,
        rayon.p50,
        Some(1.0),
    ));
    sec.ratio(Ratio::of(
        "TPE map over 200k",
        "CPython TPE",
        ours.map,
        cpython.map,
        None,
    ));
    sec
}

fn to_us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn one_at_a_time(single: usize, mut round_trip: impl FnMut(u64)) -> (f64, f64) {
    for i in 0..1000 {
        round_trip(i); // warm up: threads started, caches warm
    }
    let mut samples: Vec<Duration> = (0..single as u64)
        .map(|i| {
            let start = Instant::now();
            round_trip(i);
            start.elapsed()
        })
        .collect();
    let p50 = percentile(&mut samples, 50.0);
    let p99 = percentile(&mut samples, 99.0);
    (to_us(p50), to_us(p99))
}

fn per_item(n: usize, f: impl FnOnce()) -> f64 {
    let start = Instant::now();
    f();
    to_us(start.elapsed()) / n as f64
}

/// The batch as each pool's users write it: a future per task, then
/// `into_result` in submit order.
fn thread_exec_row(single: usize, items: usize) -> (Row, Batch) {
    let pool = ThreadPoolExecutor::builder()
        .max_workers(WORKERS)
        .build()
        .unwrap();
    let (p50, p99) = one_at_a_time(single, |i| {
        black_box(pool.submit(move || inc(i)).unwrap().into_result().unwrap());
    });
    let map_us = per_item(items, || {
        for r in pool.map(inc, 0..items as u64).unwrap() {
            black_box(r.unwrap());
        }
    });
    let row = Row {
        name: "thread-exec".to_owned(),
        p50: Some(p50),
        p99: Some(p99),
        batch: None,
        map: Some(map_us),
    };
    let batch = move |n: usize| {
        let futures: Vec<_> = (0..n as u64)
            .map(|i| pool.submit(move || inc(i)).unwrap())
            .collect();
        for f in futures {
            black_box(f.into_result().unwrap());
        }
    };
    (row, Box::new(batch))
}

/// threadpool has no futures: each task sends its result on a channel.
fn threadpool_row(single: usize) -> (Row, Batch) {
    let pool = threadpool::ThreadPool::new(WORKERS);
    let (tx, rx) = mpsc::channel();
    let (p50, p99) = one_at_a_time(single, |i| {
        let tx = tx.clone();
        pool.execute(move || tx.send(inc(i)).unwrap());
        black_box(rx.recv().unwrap());
    });
    let row = Row {
        name: "threadpool 1.8 (execute + mpsc)".to_owned(),
        p50: Some(p50),
        p99: Some(p99),
        batch: None,
        map: None,
    };
    let batch = move |n: usize| {
        for i in 0..n as u64 {
            let tx = tx.clone();
            pool.execute(move || tx.send(inc(i)).unwrap());
        }
        for _ in 0..n {
            black_box(rx.recv().unwrap());
        }
    };
    (row, Box::new(batch))
}

/// rayon's `spawn` returns nothing either: results come back on a channel.
fn rayon_row(single: usize, items: usize) -> (Row, Batch) {
    use rayon::prelude::*;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(WORKERS)
        .build()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let (p50, p99) = one_at_a_time(single, |i| {
        let tx = tx.clone();
        pool.spawn(move || tx.send(inc(i)).unwrap());
        black_box(rx.recv().unwrap());
    });
    let map_us = per_item(items, || {
        let out: Vec<u64> = pool.install(|| (0..items as u64).into_par_iter().map(inc).collect());
        black_box(out);
    });
    let row = Row {
        name: "rayon 1.12 (spawn + mpsc; par_iter map)".to_owned(),
        p50: Some(p50),
        p99: Some(p99),
        batch: None,
        map: Some(map_us),
    };
    let batch = move |n: usize| {
        for i in 0..n as u64 {
            let tx = tx.clone();
            pool.spawn(move || tx.send(inc(i)).unwrap());
        }
        for _ in 0..n {
            black_box(rx.recv().unwrap());
        }
    };
    (row, Box::new(batch))
}

fn cpython_row(single: usize, batch: usize, items: usize) -> Row {
    // CPython is ~100x slower per task: fewer rounds keep this short (a
    // batch round alone takes about two seconds).
    let args = [
        WORKERS,
        (single / 10).max(100),
        batch,
        3,
        (items / 2).max(1000),
    ];
    let mut row = Row {
        name: "CPython ThreadPoolExecutor".to_owned(),
        p50: None,
        p99: None,
        batch: None,
        map: None,
    };
    for (name, value) in run_peer("tpe.py", &args, &mut [&mut row.name]) {
        match name.as_str() {
            "single_p50" => row.p50 = Some(value),
            "single_p99" => row.p99 = Some(value),
            "batch" => row.batch = Some(value),
            "map" => row.map = Some(value),
            _ => {}
        }
    }
    row
}
