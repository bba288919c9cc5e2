//! map: order, deadline, first error, buffersize, drop (cpython-api.md 1.5).

mod common;

use common::{Gate, pool};
use std::{
    num::NonZeroUsize,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};
use thread_exec::{MapError, MapOptions, SubmitErrorKind, TaskError};

#[test]
fn results_come_in_input_order_even_when_tasks_finish_out_of_order() {
    let p = pool(3);
    // Item 0 finishes last: it waits for items 1 and 2 to open its gates.
    let gates: Arc<Vec<Gate>> = Arc::new((0..3).map(|_| Gate::new()).collect());
    let g = gates.clone();
    let results: Vec<u32> = p
        .map(
            move |i: u32| {
                match i {
                    0 => {
                        g[1].wait();
                        g[2].wait();
                    }
                    _ => g[i as usize].open(),
                }
                i * 10
            },
            0..3,
        )
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(results, [0, 10, 20]);
}

#[test]
fn an_empty_input_gives_nothing() {
    let p = pool(1);
    assert_eq!(p.map(|x: u8| x, []).unwrap().count(), 0);
}

#[test]
fn the_first_error_ends_the_iteration_and_cancels_what_has_not_started() {
    let p = pool(1);
    let executed = Arc::new(Mutex::new(Vec::new()));
    let gate = Gate::new();
    let (e, g) = (executed.clone(), gate.clone());
    let mut results = p
        .map(
            move |i: u32| {
                e.lock().unwrap().push(i);
                match i {
                    1 => panic!("item one failed"),
                    // Holds the only worker, so items 3 and 4 cannot start
                    // before the error has been seen.
                    2 => g.wait(),
                    _ => {}
                }
                i
            },
            0..5,
        )
        .unwrap();
    assert_eq!(results.next(), Some(Ok(0)));
    assert_eq!(
        results.next(),
        Some(Err(MapError::Task(TaskError::Panicked(
            "item one failed".into()
        ))))
    );
    assert_eq!(results.next(), None);
    gate.open();
    p.shutdown(true, false);
    let executed = executed.lock().unwrap();
    assert!(
        !executed.contains(&3) && !executed.contains(&4),
        "{executed:?}"
    );
}

#[test]
fn the_timeout_is_a_deadline_and_ends_the_iteration() {
    let p = pool(2);
    let gate = Gate::new();
    let g = gate.clone();
    // Item 1 cannot finish before the gate opens, which is after the
    // deadline: its timeout is certain. Item 0 only has to finish within the
    // deadline, which is generous for that (20 ms was not, on a loaded
    // machine under qemu-user).
    let options = MapOptions::new().timeout(Duration::from_secs(2));
    let mut results = p
        .map_with(
            move |i: u32| {
                if i == 1 {
                    g.wait();
                }
                i
            },
            0..2,
            options,
        )
        .unwrap();
    assert_eq!(results.next(), Some(Ok(0)));
    assert_eq!(results.next(), Some(Err(MapError::Timeout)));
    assert_eq!(results.next(), None);
    gate.open();
}

#[test]
fn buffersize_submits_one_more_task_before_each_result() {
    let p = pool(2);
    let pulled = Arc::new(AtomicUsize::new(0));
    let pl = pulled.clone();
    let input = (0..10u32).inspect(move |_| {
        pl.fetch_add(1, Ordering::SeqCst);
    });
    // One item per task, so tasks and items are counted alike.
    let options = MapOptions::new()
        .buffersize(NonZeroUsize::new(2).unwrap())
        .chunksize(NonZeroUsize::MIN);
    let mut results = p.map_with(|i| i + 1, input, options).unwrap();
    assert_eq!(
        pulled.load(Ordering::SeqCst),
        2,
        "map submits only the first window"
    );
    assert_eq!(results.next(), Some(Ok(1)));
    assert_eq!(
        pulled.load(Ordering::SeqCst),
        3,
        "the next input was submitted first"
    );
    assert_eq!(results.next(), Some(Ok(2)));
    assert_eq!(pulled.load(Ordering::SeqCst), 4);
    assert_eq!(results.map(Result::unwrap).sum::<u32>(), (3..=10).sum());
}

#[test]
fn without_buffersize_four_tasks_per_thread_are_submitted_inside_map() {
    let p = pool(2);
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let results = p
        .map(
            move |_: u8| {
                r.fetch_add(1, Ordering::SeqCst);
            },
            0..50,
        )
        .unwrap();
    // Never read, never dropped: what was submitted runs, nothing more (a
    // task takes one item until one finished and was taken).
    std::mem::forget(results);
    p.shutdown(true, false);
    assert_eq!(ran.load(Ordering::SeqCst), 4 * 2);
}

#[test]
fn an_unbounded_buffersize_submits_every_item_inside_map() {
    let p = pool(2);
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let options = MapOptions::new()
        .buffersize(NonZeroUsize::MAX)
        .chunksize(NonZeroUsize::MIN);
    let results = p
        .map_with(
            move |_: u8| {
                r.fetch_add(1, Ordering::SeqCst);
            },
            0..50,
            options,
        )
        .unwrap();
    std::mem::forget(results);
    p.shutdown(true, false);
    assert_eq!(ran.load(Ordering::SeqCst), 50);
}

#[test]
fn dropping_the_iterator_cancels_what_has_not_started() {
    let p = pool(1);
    let (started, gate) = (Gate::new(), Gate::new());
    let executed = Arc::new(AtomicUsize::new(0));
    let (s, g, e) = (started.clone(), gate.clone(), executed.clone());
    let results = p
        .map(
            move |i: u32| {
                e.fetch_add(1, Ordering::SeqCst);
                if i == 0 {
                    s.open();
                    g.wait();
                }
            },
            0..10,
        )
        .unwrap();
    started.wait();
    drop(results);
    gate.open();
    p.shutdown(true, false);
    assert_eq!(
        executed.load(Ordering::SeqCst),
        1,
        "only the running item ran"
    );
}

#[test]
fn map_after_shutdown_is_refused() {
    let p = pool(1);
    p.shutdown(true, false);
    let err = p.map(|x: u8| x, [1, 2]).unwrap_err();
    assert_eq!(err.kind(), &SubmitErrorKind::Shutdown);
}

#[test]
fn with_buffersize_a_shutdown_during_iteration_is_reported() {
    let p = pool(1);
    let options = MapOptions::new().buffersize(NonZeroUsize::new(1).unwrap());
    let mut results = p.map_with(|x: u8| x, [1, 2, 3], options).unwrap();
    p.shutdown(false, false);
    assert_eq!(
        results.next(),
        Some(Err(MapError::Submit(SubmitErrorKind::Shutdown)))
    );
    assert_eq!(results.next(), None);
}
