//! future-core against `oneshot` and `std::sync::mpsc`: the cost of completing
//! and reading a future, and the latency of a cross-thread wake.

use crate::report::{Ratio, Section, out};
use crate::stats::{ns, percentile, us};
use future_core::{Future, FutureCell};
use std::{
    hint::black_box,
    sync::{Arc, atomic::AtomicU32, atomic::Ordering, mpsc},
    thread,
    time::{Duration, Instant},
};

/// How many times each per-operation loop is timed; the median is reported.
const REPEATS: usize = 15;

pub(crate) fn run(rounds: usize) -> Section {
    let mut sec = Section::default();
    out!(sec, "## future-core: completion, reads and wake-ups\n");
    out!(
        sec,
        "| measurement | future-core | oneshot 0.2 | std mpsc | unit |"
    );
    out!(sec, "| --- | --- | --- | --- | --- |");

    let ops = 200_000;
    let fc = per_op(ops, || {
        let cell: FutureCell<u64, ()> = FutureCell::new();
        cell.set_result(black_box(7)).unwrap();
        black_box(*cell.result(None).unwrap());
    });
    let fh = per_op(ops, || {
        let fut: Future<u64, ()> = Future::new();
        fut.set_result(black_box(7)).unwrap();
        black_box(fut.into_result().unwrap());
    });
    let os = per_op(ops, || {
        let (tx, rx) = oneshot::channel::<u64>();
        tx.send(black_box(7)).unwrap();
        black_box(rx.recv().unwrap());
    });
    let mp = per_op(ops, || {
        let (tx, rx) = mpsc::channel::<u64>();
        tx.send(black_box(7)).unwrap();
        black_box(rx.recv().unwrap());
    });
    out!(
        sec,
        "| create + set_result + read, one thread (FutureCell on the stack) | {} | {} | {} | ns/op |",
        ns(fc),
        ns(os),
        ns(mp)
    );
    out!(
        sec,
        "| same, `Future` handle (Arc) + into_result | {} | | | ns/op |",
        ns(fh)
    );

    let cell: FutureCell<u64, ()> = FutureCell::new();
    cell.set_result(7).unwrap();
    let read = per_op(2_000_000, || {
        black_box(*black_box(&cell).result(None).unwrap());
    });
    let word = AtomicU32::new(4);
    let load = per_op(2_000_000, || {
        black_box(black_box(&word).load(Ordering::Acquire));
    });
    out!(
        sec,
        "| read of a finished future (`result(None)`) vs one Acquire load | {} | | {} (load) | ns/op |",
        ns(read),
        ns(load)
    );

    let (f50, f99) = ping_pong_futures(rounds);
    let (o50, o99) = ping_pong_oneshot(rounds);
    let (m50, m99) = ping_pong_mpsc(rounds);
    out!(
        sec,
        "| cross-thread wake, round trip of two wakes: p50 | {} | {} | {} | us |",
        us(f50),
        us(o50),
        us(m50)
    );
    out!(
        sec,
        "| same: p99 | {} | {} | {} | us |",
        us(f99),
        us(o99),
        us(m99)
    );
    out!(
        sec,
        "\n{rounds} round trips each; the ratios below are peer time / ours."
    );
    let secs = |d: Duration| Some(d.as_secs_f64());
    // Within 1.2x of oneshot is the target: its time / ours >= 1 / 1.2.
    sec.ratio(Ratio::of(
        "cross-thread wake p50",
        "oneshot",
        secs(f50),
        secs(o50),
        Some(0.83),
    ));
    sec.ratio(Ratio::of(
        "cross-thread wake p50",
        "std mpsc",
        secs(f50),
        secs(m50),
        None,
    ));
    sec.ratio(Ratio::of(
        "complete + read, one thread",
        "oneshot",
        Some(fc),
        Some(os),
        None,
    ));
    sec
}

/// Median nanoseconds per call of `f`, over `REPEATS` timed loops of `n` calls.
fn per_op(n: usize, mut f: impl FnMut()) -> f64 {
    let mut samples: Vec<f64> = (0..REPEATS)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..n {
                f();
            }
            start.elapsed().as_secs_f64() * 1e9 / n as f64
        })
        .collect();
    samples.sort_unstable_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// p50 and p99 of `rounds` round trips: the main thread completes `ping[i]`,
/// a worker blocked on it wakes and completes `pong[i]`, which wakes main.
fn ping_pong_futures(rounds: usize) -> (Duration, Duration) {
    let make = || -> Arc<Vec<FutureCell<(), ()>>> {
        Arc::new((0..rounds).map(|_| FutureCell::new()).collect())
    };
    let (ping, pong) = (make(), make());
    let (ping2, pong2) = (Arc::clone(&ping), Arc::clone(&pong));
    let worker = thread::spawn(move || {
        for i in 0..rounds {
            ping2[i].result(None).unwrap();
            pong2[i].set_result(()).unwrap();
        }
    });
    let mut samples = Vec::with_capacity(rounds);
    for i in 0..rounds {
        let start = Instant::now();
        ping[i].set_result(()).unwrap();
        pong[i].result(None).unwrap();
        samples.push(start.elapsed());
    }
    worker.join().unwrap();
    (
        percentile(&mut samples, 50.0),
        percentile(&mut samples, 99.0),
    )
}

fn ping_pong_oneshot(rounds: usize) -> (Duration, Duration) {
    let (ping_tx, ping_rx): (Vec<_>, Vec<_>) =
        (0..rounds).map(|_| oneshot::channel::<()>()).unzip();
    let (pong_tx, pong_rx): (Vec<_>, Vec<_>) =
        (0..rounds).map(|_| oneshot::channel::<()>()).unzip();
    let worker = thread::spawn(move || {
        for (rx, tx) in ping_rx.into_iter().zip(pong_tx) {
            rx.recv().unwrap();
            tx.send(()).unwrap();
        }
    });
    let mut samples = Vec::with_capacity(rounds);
    for (tx, rx) in ping_tx.into_iter().zip(pong_rx) {
        let start = Instant::now();
        tx.send(()).unwrap();
        rx.recv().unwrap();
        samples.push(start.elapsed());
    }
    worker.join().unwrap();
    (
        percentile(&mut samples, 50.0),
        percentile(&mut samples, 99.0),
    )
}

fn ping_pong_mpsc(rounds: usize) -> (Duration, Duration) {
    let (ping_tx, ping_rx) = mpsc::channel::<()>();
    let (pong_tx, pong_rx) = mpsc::channel::<()>();
    let worker = thread::spawn(move || {
        for _ in 0..rounds {
            ping_rx.recv().unwrap();
            pong_tx.send(()).unwrap();
        }
    });
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start = Instant::now();
        ping_tx.send(()).unwrap();
        pong_rx.recv().unwrap();
        samples.push(start.elapsed());
    }
    worker.join().unwrap();
    (
        percentile(&mut samples, 50.0),
        percentile(&mut samples, 99.0),
    )
}
