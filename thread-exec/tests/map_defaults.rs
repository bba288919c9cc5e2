//! `map` with no options: a bounded window of tasks, and task sizes that
//! keep slow items apart. Each test runs under a watchdog: a hang is a
//! failure.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

use test_support::watchdog;
use thread_exec::ThreadPoolExecutor;

fn pool(workers: usize) -> ThreadPoolExecutor {
    ThreadPoolExecutor::builder()
        .max_workers(workers)
        .build()
        .unwrap()
}

#[test]
fn an_endless_input_works_with_the_default_options() {
    watchdog("a map over an endless input", || {
        let p = pool(2);
        let taken = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&taken);
        let input = (0u64..).inspect(move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        let mut out = p.map(|n: u64| n * n, input).unwrap();
        // Four tasks per thread, of one item each until a task finished.
        assert_eq!(taken.load(Ordering::Relaxed), 4 * 2);
        let first: Vec<u64> = out.by_ref().take(1000).map(Result::unwrap).collect();
        assert_eq!(first, (0..1000u64).map(|n| n * n).collect::<Vec<_>>());
    });
}

#[test]
fn slow_items_spread_over_every_thread_with_the_default_options() {
    watchdog("three items meeting at a barrier on three threads", || {
        for known_len in [true, false] {
            let p = pool(3);
            // Each item waits until all three run: it ends only if each
            // runs in a task of its own, on a thread of its own.
            let barrier = Arc::new(Barrier::new(3));
            let meet = move |n: u32| {
                barrier.wait();
                n
            };
            let items = [1, 2, 3];
            // A filter hides the length: then only the chosen task sizes
            // keep the items apart, not `Pool.map`'s rule.
            let out: Vec<_> = if known_len {
                p.map(meet, items).unwrap().collect()
            } else {
                p.map(meet, items.into_iter().filter(|_| true))
                    .unwrap()
                    .collect()
            };
            assert_eq!(out, [Ok(1), Ok(2), Ok(3)]);
        }
    });
}

/// What a progress bar (indicatif's `.progress()`) asks of an iterator.
fn exact_len(results: &impl ExactSizeIterator) -> usize {
    results.len()
}

#[test]
fn a_map_reports_the_items_left_exactly_when_its_input_does() {
    watchdog("size_hint of a map", || {
        let p = pool(2);
        // (A `Range<u64>` is no `ExactSizeIterator`; a `Range<u32>` is.)
        let mut out = p.map(|n: u32| n * 2, 0..100u32).unwrap();
        assert_eq!(exact_len(&out), 100);
        for left in (0..100).rev() {
            assert!(out.next().unwrap().is_ok());
            assert_eq!(out.len(), left);
        }
        assert_eq!(out.next(), None);

        // A length not known exactly: the input's bounds, plus what was read.
        let mut out = p.map(|n: u32| n, (0..30).filter(|n| n % 2 == 0)).unwrap();
        // The call read eight items (0 to 14), leaving 15..30 to filter.
        assert_eq!(out.size_hint(), (8, Some(8 + 15)));
        out.next().unwrap().unwrap();
        assert_eq!(out.count(), 14);

        // An error ends the iteration early: the count overstated what was
        // left, never understated it.
        let mut out = p
            .map(|n: u32| if n == 1 { panic!("one") } else { n }, 0..3u32)
            .unwrap();
        assert_eq!(out.len(), 3);
        assert_eq!(out.next(), Some(Ok(0)));
        assert!(out.next().unwrap().is_err());
        assert_eq!(out.len(), 0);
        assert_eq!(out.next(), None);
    });
}
