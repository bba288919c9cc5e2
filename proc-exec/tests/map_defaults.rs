//! `map` and `map_unordered` with no options: a bounded window of chunks,
//! chunk sizes that keep slow items apart and large values under the frame
//! limit, and a `size_hint` (exact when the input's is).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{Gate, Step, builder, clean, step, watchdog};
use proc_exec::{MapOptions, ProcessPoolExecutor};

fn pool(workers: usize) -> ProcessPoolExecutor {
    builder().max_workers(workers).build().unwrap()
}

fn square(n: u64) -> u64 {
    n * n
}

#[test]
fn an_endless_input_works_with_the_default_options() {
    let clean = clean();
    let pool = pool(2);
    watchdog("a map over an endless input", || {
        let taken = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&taken);
        let input = (0u64..).inspect(move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        let mut out = pool.map(square, input).unwrap();
        // Four chunks per worker, of one item each until a chunk answered.
        assert_eq!(taken.load(Ordering::Relaxed), 4 * 2);
        let first: Vec<u64> = out.by_ref().take(1000).map(Result::unwrap).collect();
        assert_eq!(first, (0..1000u64).map(square).collect::<Vec<_>>());
        drop(out);
        let unordered = MapOptions::new();
        let out = pool.map_unordered(square, 0u64.., unordered).unwrap();
        assert_eq!(out.take(1000).filter(Result::is_ok).count(), 1000);
    });
    drop(pool);
    clean.check();
}

/// Runs the gated items of `gates` through a default map on a pool of as
/// many workers: it ends only if every item runs at once, each on its own
/// worker (two in one chunk, or on one worker, would wait for each other).
fn all_at_once(gates: &[Gate], input_len_known: bool, unordered: bool) {
    let pool = pool(gates.len());
    let steps: Vec<_> = gates.iter().map(Gate::step).collect();
    // A filter hides the length: then only the chosen chunk sizes keep the
    // items apart, not `Pool.map`'s rule.
    let input: Box<dyn Iterator<Item = _> + Send> = if input_len_known {
        Box::new(steps.into_iter())
    } else {
        Box::new(steps.into_iter().filter(|_| true))
    };
    let out: Box<dyn Iterator<Item = _>> = if unordered {
        Box::new(pool.map_unordered(step, input, MapOptions::new()).unwrap())
    } else {
        Box::new(pool.map(step, input).unwrap())
    };
    for gate in gates {
        gate.wait_started();
    }
    assert_eq!(pool.worker_pids().len(), gates.len());
    for gate in gates {
        gate.open();
    }
    let results: Vec<u64> = out.map(Result::unwrap).collect();
    assert_eq!(results, vec![2; gates.len()]);
}

#[test]
fn slow_items_spread_over_every_worker_with_the_default_options() {
    let clean = clean();
    watchdog("three blocking items on three workers", || {
        for (known, unordered) in [(true, false), (false, false), (true, true), (false, true)] {
            let gates: Vec<Gate> = (0..3)
                .map(|i| Gate::new(&format!("spread-{known}-{unordered}-{i}")))
                .collect();
            all_at_once(&gates, known, unordered);
        }
    });
    clean.check();
}

fn kilobytes(n: u64) -> Vec<u8> {
    vec![n as u8; 3 * 1024]
}

#[test]
fn chosen_chunks_keep_large_results_under_the_frame_limit() {
    let clean = clean();
    // 64 KiB frames: 21 results of 3 KiB fill one, so a chunk of
    // `Pool.map`'s size (1000 items on 2 workers: 125) could not answer.
    let pool = builder()
        .max_workers(2)
        .max_frame_size(64 * 1024)
        .build()
        .unwrap();
    watchdog("a map of large results", || {
        let results: Vec<_> = pool.map(kilobytes, 0..1000u64).unwrap().collect();
        assert_eq!(results.len(), 1000);
        for (n, result) in results.into_iter().enumerate() {
            assert_eq!(result, Ok(kilobytes(n as u64)), "item {n}");
        }
    });
    drop(pool);
    clean.check();
}

/// What a progress bar (indicatif's `.progress()`) asks of an iterator.
fn exact_len(results: &impl ExactSizeIterator) -> usize {
    results.len()
}

#[test]
fn a_map_reports_the_items_left_exactly_when_its_input_does() {
    let clean = clean();
    let pool = pool(2);
    watchdog("size_hint of every kind of map", || {
        // (A `Range<u64>` is no `ExactSizeIterator`; a `Vec`'s iterator is.)
        let items = |n: u64| (0..n).collect::<Vec<_>>();
        let mut out = pool.map(square, items(100)).unwrap();
        assert_eq!(exact_len(&out), 100);
        for left in (0..100).rev() {
            assert!(out.next().unwrap().is_ok());
            assert_eq!(out.len(), left);
        }
        assert_eq!(out.next(), None);
        assert_eq!(out.size_hint(), (0, Some(0)));

        let fixed = MapOptions::new().chunksize(std::num::NonZeroUsize::new(7).unwrap());
        let mut out = pool.map_unordered(square, items(50), fixed).unwrap();
        assert_eq!(exact_len(&out), 50);
        out.nth(9).unwrap().unwrap();
        assert_eq!(out.len(), 40);
        assert_eq!(out.count(), 40);

        let lines = ["1", "2", "3"].map(str::parse::<u64>);
        let out = pool.try_map_with(square, lines, MapOptions::new()).unwrap();
        assert_eq!(exact_len(&out), 3);
        let lines = ["1", "2", "3"].map(str::parse::<u64>);
        let out = pool.try_map_unordered(square, lines, fixed).unwrap();
        assert_eq!(exact_len(&out), 3);

        // A length not known exactly: the input's bounds, plus what was read.
        let mut out = pool.map(square, (0..30u64).filter(|n| n % 2 == 0)).unwrap();
        // The call read eight items (0 to 14), leaving 15..30 to filter.
        assert_eq!(out.size_hint(), (8, Some(8 + 15)));
        out.next().unwrap().unwrap();
        let (lower, upper) = out.size_hint();
        assert!(
            lower <= 14 && upper.is_some_and(|u| u >= 14),
            "{lower} {upper:?}"
        );
        assert_eq!(out.count(), 14);

        // An input that failed: its error counts as one item, and what
        // comes after it was never read.
        let lines = ["1", "x", "3"].map(str::parse::<u64>);
        let mut out = pool.try_map_with(square, lines, MapOptions::new()).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out.next(), Some(Ok(1)));
        assert_eq!(out.len(), 1);
        assert!(out.next().unwrap().is_err());
        assert_eq!(out.len(), 0);
        assert_eq!(out.next(), None);

        // A task error ends the iteration early: the count overstated what
        // was left, never understated it.
        let mut out = pool
            .map(step, [Step::Value(1), Step::Panic, Step::Value(3)])
            .unwrap();
        assert_eq!(out.len(), 3);
        assert_eq!(out.next(), Some(Ok(1)));
        assert_eq!(out.len(), 2);
        assert!(out.next().unwrap().is_err());
        assert_eq!(out.len(), 0);
        assert_eq!(out.next(), None);
    });
    drop(pool);
    clean.check();
}
