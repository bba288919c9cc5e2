//! thread-exec against `threadpool`, `rayon` and CPython's ThreadPoolExecutor:
//! one task at a time, a batch of submits then a gather, and map.

use crate::stats::{peer_values, percentile};
use future_core::Future;
use std::{
    hint::black_box,
    process::Command,
    sync::mpsc,
    time::{Duration, Instant},
};
use thread_exec::{TaskError, ThreadPoolExecutor};

const WORKERS: usize = 2;

fn inc(x: u64) -> u64 {
    black_box(x) + 1
}

/// Results of one implementation: p50 and p99 one-at-a-time round trip,
/// per-task cost of a batch, per-item cost of map (all microseconds).
struct Row {
    name: &'static str,
    p50: Option<f64>,
    p99: Option<f64>,
    batch: Option<f64>,
    map: Option<f64>,
}

pub(crate) fn run(single: usize, batch: usize, items: usize) {
    let rows = [
        thread_exec_row(single, batch, items),
        threadpool_row(single, batch, items),
        rayon_row(single, batch, items),
        cpython_row(single, batch, items),
        futures_alone_row(batch),
    ];
    println!("## thread pools, {WORKERS} workers\n");
    println!(
        "| implementation | one at a time p50 (us) | p99 (us) | {batch} submits + gather (us/task) | map over {items} (us/item) |"
    );
    println!("| --- | --- | --- | --- | --- |");
    let cell = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.3}"));
    for r in &rows {
        println!(
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
        println!(
            "\nbatch per task, thread-exec / threadpool: {:.2} (target <= 1.2)",
            a / b
        );
    }
    if let (Some(a), Some(b)) = (ours.batch, rows[3].batch) {
        println!(
            "batch per task, CPython / thread-exec: {:.0}x (target >= 50x)",
            b / a
        );
    }
    if let (Some(a), Some(b)) = (rows[4].batch, rows[1].batch) {
        println!(
            "futures alone (no pool) / threadpool: {:.2} (what future-core's Future costs before any pool work)",
            a / b
        );
    }
    if let (Some(a), Some(b)) = (ours.p50, rows[2].p50) {
        println!(
            "one-at-a-time p50, thread-exec / rayon: {:.2} (target <= 1.0)",
            a / b
        );
    }
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

fn thread_exec_row(single: usize, batch: usize, items: usize) -> Row {
    let pool = ThreadPoolExecutor::builder()
        .max_workers(WORKERS)
        .build()
        .unwrap();
    let (p50, p99) = one_at_a_time(single, |i| {
        black_box(pool.submit(move || inc(i)).unwrap().into_result().unwrap());
    });
    let batch_us = per_item(batch, || {
        let futures: Vec<_> = (0..batch as u64)
            .map(|i| pool.submit(move || inc(i)).unwrap())
            .collect();
        for f in futures {
            black_box(f.into_result().unwrap());
        }
    });
    let map_us = per_item(items, || {
        for r in pool.map(inc, 0..items as u64).unwrap() {
            black_box(r.unwrap());
        }
    });
    Row {
        name: "thread-exec",
        p50: Some(p50),
        p99: Some(p99),
        batch: Some(batch_us),
        map: Some(map_us),
    }
}

fn threadpool_row(single: usize, batch: usize, _items: usize) -> Row {
    let pool = threadpool::ThreadPool::new(WORKERS);
    let (tx, rx) = mpsc::channel();
    let (p50, p99) = one_at_a_time(single, |i| {
        let tx = tx.clone();
        pool.execute(move || tx.send(inc(i)).unwrap());
        black_box(rx.recv().unwrap());
    });
    let batch_us = per_item(batch, || {
        for i in 0..batch as u64 {
            let tx = tx.clone();
            pool.execute(move || tx.send(inc(i)).unwrap());
        }
        for _ in 0..batch {
            black_box(rx.recv().unwrap());
        }
    });
    Row {
        name: "threadpool 1.8 (execute + mpsc)",
        p50: Some(p50),
        p99: Some(p99),
        batch: Some(batch_us),
        map: None,
    }
}

fn rayon_row(single: usize, batch: usize, items: usize) -> Row {
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
    let batch_us = per_item(batch, || {
        for i in 0..batch as u64 {
            let tx = tx.clone();
            pool.spawn(move || tx.send(inc(i)).unwrap());
        }
        for _ in 0..batch {
            black_box(rx.recv().unwrap());
        }
    });
    let map_us = per_item(items, || {
        let out: Vec<u64> = pool.install(|| (0..items as u64).into_par_iter().map(inc).collect());
        black_box(out);
    });
    Row {
        name: "rayon 1.12 (spawn + mpsc; par_iter map)",
        p50: Some(p50),
        p99: Some(p99),
        batch: Some(batch_us),
        map: Some(map_us),
    }
}

/// Context, not a pool: the batch's futures created, completed and
/// collected on one thread. thread-exec's main thread does the creating and
/// collecting of these (an allocation and a free each) on top of its queue
/// work; threadpool's rows send plain values over a channel instead.
fn futures_alone_row(batch: usize) -> Row {
    let batch_us = per_item(batch, || {
        let futures: Vec<Future<u64, TaskError>> = (0..batch as u64)
            .map(|i| {
                let future = Future::new();
                let completer = future.completer();
                assert_eq!(completer.set_running_or_notify_cancel(), Ok(true));
                completer.set_result(inc(i)).unwrap();
                future
            })
            .collect();
        for f in futures {
            black_box(f.into_result().unwrap());
        }
    });
    Row {
        name: "future-core Futures alone, no pool (create, complete, collect on one thread)",
        p50: None,
        p99: None,
        batch: Some(batch_us),
        map: None,
    }
}

fn cpython_row(single: usize, batch: usize, items: usize) -> Row {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/peers/tpe.py");
    // CPython is ~100x slower per task: a tenth of the rounds keeps this short.
    let args = [
        WORKERS,
        (single / 10).max(100),
        batch,
        (items / 2).max(1000),
    ];
    let output = Command::new("python3")
        .arg(script)
        .args(args.iter().map(ToString::to_string))
        .output();
    let mut row = Row {
        name: "CPython ThreadPoolExecutor",
        p50: None,
        p99: None,
        batch: None,
        map: None,
    };
    let Some(output) = output.ok().filter(|o| o.status.success()) else {
        row.name = "CPython ThreadPoolExecutor (python3 not found)";
        return row;
    };
    for (name, value) in peer_values(&String::from_utf8_lossy(&output.stdout)) {
        match name {
            "single_p50" => row.p50 = Some(value),
            "single_p99" => row.p99 = Some(value),
            "batch" => row.batch = Some(value),
            "map" => row.map = Some(value),
            _ => {}
        }
    }
    row
}
