//! `map` and `map_unordered` with real processes: order, chunks with
//! per-item outcomes, the bounded window, deadlines, early drops, deaths.

mod common;

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{Gate, Step, builder, clean, step};
use proc_exec::{MapError, MapOptions, OnWorkerDeath, ProcessPoolExecutor, SubmitError, TaskError};

fn pool(workers: usize) -> ProcessPoolExecutor {
    builder().max_workers(workers).build().unwrap()
}

fn chunks(n: usize) -> MapOptions {
    MapOptions::new().chunksize(NonZeroUsize::new(n).unwrap())
}

fn square(n: u64) -> u64 {
    n * n
}

/// Uneven work: later items finish first if nothing keeps the order (the
/// sleep is the task's work, not a synchronisation: the test passes
/// whatever the timings are).
fn uneven(n: u64) -> u64 {
    std::thread::sleep(Duration::from_millis((n * 7) % 11));
    n
}

fn panics_on_zero(n: u64) -> u64 {
    assert_ne!(n, 0, "zero is not allowed");
    n
}

#[test]
fn results_keep_input_order_with_uneven_task_times() {
    let clean = clean();
    let pool = pool(2);
    for chunksize in [1, 3, 64] {
        let out: Vec<u64> = pool
            .map_with(uneven, 0..40u64, chunks(chunksize))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(out, (0..40u64).collect::<Vec<_>>(), "chunksize {chunksize}");
    }
    let empty: Vec<_> = pool.map(square, Vec::<u64>::new()).unwrap().collect();
    assert!(empty.is_empty());
    drop(pool);
    clean.check();
}

#[test]
fn an_item_failing_in_a_chunk_keeps_the_items_before_it() {
    let clean = clean();
    let pool = pool(1);
    let mut out = pool
        .map_with(panics_on_zero, [5, 6, 0, 7], chunks(4))
        .unwrap();
    assert_eq!(out.next(), Some(Ok(5)));
    assert_eq!(out.next(), Some(Ok(6)));
    match out.next() {
        Some(Err(MapError::Task(TaskError::Panicked(message)))) => {
            assert!(message.contains("zero is not allowed"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // The first error ends the iteration (CPython 3.14).
    assert_eq!(out.next(), None);
    // The pool is fine.
    assert_eq!(pool.submit(square, 4).unwrap().into_result(), Ok(16));
    drop(out);
    drop(pool);
    clean.check();
}

#[test]
fn buffersize_bounds_the_chunks_in_flight() {
    let clean = clean();
    let pool = pool(2);
    let taken = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&taken);
    let input = (0..30u64).inspect(move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
    });
    let options = chunks(3).buffersize(NonZeroUsize::new(2).unwrap());
    let mut out = pool.map_with(square, input, options).unwrap();
    // Two chunks of three were read and submitted, nothing more.
    assert_eq!(taken.load(Ordering::Relaxed), 6);
    for i in 0..30u64 {
        assert_eq!(out.next(), Some(Ok(i * i)));
        // Taking chunk k (yielding items 3k..3k+2) submitted chunk k + 2
        // first: never more than two chunks ahead of what was yielded.
        let chunk = i as usize / 3;
        assert_eq!(
            taken.load(Ordering::Relaxed),
            (3 * (chunk + 3)).min(30),
            "item {i}"
        );
    }
    assert_eq!(out.next(), None);
    drop(out);
    drop(pool);
    clean.check();
}

#[test]
fn without_buffersize_four_chunks_per_worker_are_read_inside_the_call() {
    let clean = clean();
    let pool = pool(2);
    let taken = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&taken);
    let input = (0..100u64).inspect(move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
    });
    let out = pool.map_with(square, input, chunks(7)).unwrap();
    assert_eq!(taken.load(Ordering::Relaxed), 4 * 2 * 7);
    assert_eq!(
        out.map(Result::unwrap).sum::<u64>(),
        (0..100u64).map(square).sum::<u64>()
    );
    assert_eq!(taken.load(Ordering::Relaxed), 100);
    drop(pool);
    clean.check();
}

#[test]
fn an_unbounded_buffersize_reads_the_whole_input_inside_the_call() {
    let clean = clean();
    let pool = pool(2);
    let taken = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&taken);
    let input = (0..100u64).inspect(move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
    });
    let options = chunks(7).buffersize(NonZeroUsize::MAX);
    let out = pool.map_with(square, input, options).unwrap();
    assert_eq!(taken.load(Ordering::Relaxed), 100);
    assert_eq!(
        out.map(Result::unwrap).sum::<u64>(),
        (0..100u64).map(square).sum::<u64>()
    );
    drop(pool);
    clean.check();
}

#[test]
fn dropping_the_iterator_cancels_what_was_not_sent() {
    let clean = clean();
    let pool = builder()
        .max_workers(1)
        .max_in_flight_per_worker(NonZeroUsize::MIN)
        .build()
        .unwrap();
    let gate = Gate::new("map-drop");
    let marker = std::env::temp_dir().join(format!("proc-exec-map-drop-{}", std::process::id()));
    let _ = std::fs::remove_file(&marker);
    let touch = Step::Touch(marker.display().to_string());
    let out = pool.map(step, [gate.step(), touch.clone(), touch]).unwrap();
    // The first item runs; the others wait in the queue.
    gate.wait_started();
    drop(out);
    gate.open();
    drop(pool);
    assert!(!marker.exists(), "a cancelled item ran");
    drop(gate);
    clean.check();
}

#[test]
fn the_timeout_is_one_deadline_and_ends_the_iteration() {
    let clean = clean();
    let pool = pool(1);
    let gate = Gate::new("map-timeout");
    // The first item cannot finish before the gate opens, which is after
    // the deadline: the timeout is certain, however slow the machine.
    let items = [gate.step(), Step::Value(2)];
    let options = MapOptions::new().timeout(Duration::from_millis(50));
    let mut out = pool.map_with(step, items, options).unwrap();
    assert_eq!(out.next(), Some(Err(MapError::Timeout)));
    assert_eq!(out.next(), None);
    gate.wait_started();
    gate.open();
    drop(out);
    drop(pool);
    drop(gate);
    clean.check();
}

#[test]
fn map_unordered_yields_in_completion_order() {
    let clean = clean();
    // One item in flight per worker, so nothing waits in the blocked
    // worker's pipe behind the gate: the other worker runs the rest.
    let pool = builder()
        .max_workers(2)
        .max_in_flight_per_worker(NonZeroUsize::MIN)
        .build()
        .unwrap();
    let gate = Gate::new("map-unordered");
    let mut items = vec![gate.step()];
    items.extend((1..=6).map(Step::Value));
    let options = MapOptions::new().timeout(common::GUARD.unwrap());
    let mut out = pool.map_unordered(step, items, options).unwrap();
    gate.wait_started();
    // The blocked first item cannot finish before the gate opens.
    let mut early: Vec<u64> = (0..6).map(|_| out.next().unwrap().unwrap()).collect();
    early.sort_unstable();
    assert_eq!(early, [1, 2, 3, 4, 5, 6]);
    gate.open();
    assert_eq!(out.next(), Some(Ok(2)));
    assert_eq!(out.next(), None);
    drop(out);
    drop(pool);
    drop(gate);
    clean.check();
}

#[test]
fn map_unordered_respects_buffersize_and_chunks() {
    let clean = clean();
    let pool = pool(2);
    let options = chunks(5).buffersize(NonZeroUsize::new(3).unwrap());
    let mut out: Vec<u64> = pool
        .map_unordered(square, 0..200u64, options)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    out.sort_unstable();
    assert_eq!(out, (0..200u64).map(square).collect::<Vec<_>>());
    drop(pool);
    clean.check();
}

#[test]
fn a_worker_killed_mid_chunk_fails_the_map_and_the_pool_goes_on() {
    let clean = clean();
    let pool = builder()
        .max_workers(1)
        .on_worker_death(OnWorkerDeath::Replace)
        .build()
        .unwrap();
    let items = [Step::Value(1), Step::KillSelf, Step::Value(3)];
    let mut out = pool.map_with(step, items, chunks(3)).unwrap();
    match out.next() {
        Some(Err(MapError::Task(TaskError::Died { status, .. }))) => {
            assert_eq!(status.signal(), Some(9));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(out.next(), None);
    let again: Vec<u64> = pool
        .map(square, [2, 3])
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(again, [4, 9]);
    drop(out);
    drop(pool);
    clean.check();
}

#[test]
fn map_after_shutdown_is_refused() {
    let clean = clean();
    let pool = pool(1);
    pool.shutdown(true, false);
    assert!(matches!(
        pool.map(square, [1, 2]),
        Err(SubmitError::Shutdown)
    ));
    drop(pool);
    clean.check();
}

#[test]
fn keep_going_yields_each_failure_in_place_and_goes_on() {
    let clean = clean();
    let pool = pool(2);
    let options = chunks(2).keep_going();
    let out: Vec<_> = pool
        .map_with(panics_on_zero, [5, 0, 7, 0, 9], options)
        .unwrap()
        .collect();
    assert_eq!(out.len(), 5);
    assert_eq!(out[0], Ok(5));
    assert!(matches!(
        &out[1],
        Err(MapError::Task(TaskError::Panicked(_)))
    ));
    assert_eq!(out[2], Ok(7));
    assert!(matches!(
        &out[3],
        Err(MapError::Task(TaskError::Panicked(_)))
    ));
    assert_eq!(out[4], Ok(9));
    // The same for the unordered form.
    let mut unordered: Vec<_> = pool
        .map_unordered(panics_on_zero, [5, 0, 7, 0, 9], options)
        .unwrap()
        .collect();
    assert_eq!(unordered.iter().filter(|r| r.is_err()).count(), 2);
    unordered.retain(Result::is_ok);
    unordered.sort_by_key(|r| *r.as_ref().unwrap());
    assert_eq!(unordered, [Ok(5), Ok(7), Ok(9)]);
    drop(pool);
    clean.check();
}

#[test]
fn keep_going_a_chunk_lost_with_its_worker_fails_each_of_its_items() {
    let clean = clean();
    let pool = builder()
        .max_workers(1)
        .on_worker_death(OnWorkerDeath::Replace)
        .build()
        .unwrap();
    let items = [
        Step::Value(1),
        Step::KillSelf,
        Step::Value(3),
        Step::Value(4),
    ];
    let out: Vec<_> = pool
        .map_with(step, items, chunks(3).keep_going())
        .unwrap()
        .collect();
    assert_eq!(out.len(), 4);
    for lost in &out[..3] {
        assert!(
            matches!(lost, Err(MapError::Task(TaskError::Died { status, .. })) if status.signal() == Some(9)),
            "{lost:?}"
        );
    }
    assert_eq!(out[3], Ok(4));
    drop(pool);
    clean.check();
}

/// Fails to serialize when it holds 13.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
struct Picky(u64);

impl serde::Serialize for Picky {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0 == 13 {
            return Err(serde::ser::Error::custom("13 does not cross"));
        }
        serializer.serialize_u64(self.0)
    }
}

fn unpick(n: Picky) -> u64 {
    n.0
}

#[test]
fn an_argument_that_does_not_serialize_fails_its_chunk_in_place() {
    let clean = clean();
    let pool = pool(2);
    let input = || [1, 2, 13, 4].map(Picky);
    let mut out = pool.map(unpick, input()).unwrap();
    assert_eq!(out.next(), Some(Ok(1)));
    assert_eq!(out.next(), Some(Ok(2)));
    assert!(matches!(
        out.next(),
        Some(Err(MapError::Submit(SubmitError::ArgEncode(_))))
    ));
    assert_eq!(out.next(), None);
    drop(out);
    let out: Vec<_> = pool
        .map_with(unpick, input(), MapOptions::new().keep_going())
        .unwrap()
        .collect();
    assert_eq!(out.len(), 4);
    assert!(matches!(
        out[2],
        Err(MapError::Submit(SubmitError::ArgEncode(_)))
    ));
    assert_eq!([&out[0], &out[1], &out[3]], [&Ok(1), &Ok(2), &Ok(4)]);
    drop(pool);
    clean.check();
}

#[test]
fn next_timeout_yields_a_timeout_and_the_iteration_goes_on() {
    let clean = clean();
    let pool = pool(1);
    let gate = Gate::new("map-next-timeout");
    let mut out = pool
        .map(step, [Step::Value(1), gate.step(), Step::Value(3)])
        .unwrap();
    assert_eq!(out.next_timeout(common::GUARD.unwrap()), Some(Ok(1)));
    gate.wait_started();
    assert_eq!(
        out.next_timeout(Duration::ZERO),
        Some(Err(MapError::Timeout))
    );
    gate.open();
    // "go" is two bytes long.
    assert_eq!(out.next_timeout(common::GUARD.unwrap()), Some(Ok(2)));
    assert_eq!(out.next(), Some(Ok(3)));
    assert_eq!(out.next(), None);
    drop(out);
    drop(pool);
    drop(gate);
    clean.check();
}
