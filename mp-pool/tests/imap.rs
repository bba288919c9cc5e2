//! `imap` and `imap_unordered` with real processes: order, the bounded
//! window, keep-going errors, `next_timeout`, and closing mid-iteration.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{Gate, Step, clean, panics_on_zero, pool, square, step};
use mp_pool::PoolError;
use proc_exec::TaskError;

#[test]
fn imap_yields_in_input_order_and_goes_on_after_a_failure() {
    let clean = clean();
    let pool = pool(2);
    for chunksize in [1, 3] {
        let out: Vec<_> = pool
            .imap(panics_on_zero, [4, 0, 5, 6, 0, 7], chunksize)
            .unwrap()
            .collect();
        assert_eq!(out.len(), 6, "chunksize {chunksize}");
        assert_eq!(
            [&out[0], &out[2], &out[3], &out[5]],
            [&Ok(4), &Ok(5), &Ok(6), &Ok(7)]
        );
        for failed in [&out[1], &out[4]] {
            assert!(matches!(
                failed,
                Err(PoolError::Task(TaskError::Panicked(_)))
            ));
        }
    }
    let squares: Vec<u64> = pool
        .imap(square, 0..1000u64, 10)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(squares, (0..1000u64).map(square).collect::<Vec<_>>());
    drop(pool);
    clean.check();
}

#[test]
fn imap_reads_its_input_as_results_are_read() {
    let clean = clean();
    let pool = pool(2);
    let taken = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&taken);
    let input = (0..100_000u64).inspect(move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
    });
    let mut out = pool.imap(square, input, 5).unwrap();
    assert_eq!(out.next(), Some(Ok(0)));
    // A window of 256 items per process in chunks of 5 (103 chunks), and
    // the one being refilled; not the whole input (CPython reads it all
    // ahead, gh-84291).
    let window = 5 * (103 + 1);
    assert!(
        taken.load(Ordering::Relaxed) <= window,
        "{}",
        taken.load(Ordering::Relaxed)
    );
    assert_eq!(out.nth(998), Some(Ok(999 * 999)));
    assert!(taken.load(Ordering::Relaxed) <= 1000 + window);
    drop(out);
    drop(pool);
    clean.check();
}

#[test]
fn next_timeout_is_a_timeout_and_the_iteration_goes_on() {
    let clean = clean();
    let pool = pool(1);
    let gate = Gate::new("imap-timeout");
    let mut out = pool.imap(step, [gate.step(), Step::Value(7)], 1).unwrap();
    // The first `next` sends the items (the call sends nothing); the first
    // cannot finish before the gate opens.
    assert_eq!(
        out.next_timeout(Duration::ZERO),
        Some(Err(PoolError::Timeout))
    );
    gate.wait_started();
    gate.open();
    assert_eq!(out.next_timeout(common::GUARD.unwrap()), Some(Ok(2)));
    assert_eq!(out.next(), Some(Ok(7)));
    assert_eq!(out.next(), None);
    drop(out);
    drop(pool);
    drop(gate);
    clean.check();
}

#[test]
fn imap_unordered_yields_what_finishes_first() {
    let clean = clean();
    // One task ahead per worker: nothing waits behind the blocked one.
    let pool = common::builder()
        .processes(2)
        .max_in_flight_per_process(std::num::NonZeroUsize::MIN)
        .build()
        .unwrap();
    let gate = Gate::new("imap-unordered");
    let mut items = vec![gate.step()];
    items.extend((10..14).map(Step::Value));
    let mut out = pool.imap_unordered(step, items, 1).unwrap();
    // The first `next` sends the items (the call sends nothing). The first
    // item blocks its worker; the others run on the other one and come
    // first, before the gate opens.
    let first = out.next_timeout(common::GUARD.unwrap());
    assert!(matches!(first, Some(Ok(10..=13))), "{first:?}");
    gate.wait_started();
    gate.open();
    let mut rest: Vec<u64> = out.map(Result::unwrap).collect();
    rest.push(first.unwrap().unwrap());
    rest.sort_unstable();
    assert_eq!(rest, [2, 10, 11, 12, 13]);
    let mut all: Vec<u64> = pool
        .imap_unordered(square, 0..500u64, 7)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    all.sort_unstable();
    assert_eq!(all, (0..500u64).map(square).collect::<Vec<_>>());
    drop(pool);
    drop(gate);
    clean.check();
}

#[test]
fn an_imap_goes_on_after_close_until_join() {
    let clean = clean();
    let pool = pool(2);
    let out = pool.imap(square, 0..200u64, 1).unwrap();
    pool.close();
    assert!(matches!(
        pool.imap(square, [1], 1),
        Err(PoolError::NotRunning)
    ));
    // Its unread input is read on after close.
    let all: Vec<u64> = out.map(Result::unwrap).collect();
    assert_eq!(all.len(), 200);
    pool.join().unwrap();
    drop(pool);
    clean.check();
}

#[test]
fn an_imap_still_holding_input_when_the_pool_is_joined_ends_with_not_running() {
    let clean = clean();
    let pool = pool(1);
    let mut out = pool.imap(square, 0..1000u64, 1).unwrap();
    assert_eq!(out.next(), Some(Ok(0)));
    pool.close();
    pool.join().unwrap();
    // What was sent finished; the rest of the input was never submitted.
    let rest: Vec<_> = out.collect();
    let (ok, refused): (Vec<_>, Vec<_>) = rest.into_iter().partition(Result::is_ok);
    assert!(ok.len() < 999, "the window bounds what was submitted");
    assert!(!refused.is_empty());
    assert!(
        refused.iter().all(|r| r == &Err(PoolError::NotRunning)),
        "{refused:?}"
    );
    drop(pool);
    clean.check();
}
