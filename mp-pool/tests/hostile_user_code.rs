//! User code that panics on the pool's result-handler thread outside a
//! callback's own call: a callback's panic payload whose `Drop` panics, a
//! result dropped there whose `Drop` panics, a map whose decoded values
//! panic when a later item's failure drops them. The job gets its error (or
//! the callback-panic hook the panic), and the pool goes on, with real
//! processes, under a hang guard, ending with the leak check.

mod common;

use std::sync::Mutex;

use common::hostile::{Bomb, Hostile, PanickingPayload, mark_parent};
use common::{Fifo, GUARD, clean, quiet_panics, square, watchdog};
use future_core::{CallbackPanic, set_callback_panic_hook};
use mp_pool::{Callbacks, Pool, PoolError};
use proc_exec::TaskError;

fn pool() -> Pool {
    mark_parent();
    quiet_panics("on purpose");
    common::builder().processes(1).build().unwrap()
}

/// A value whose `bomb` goes off, or a panic for the text "panic".
fn make((text, bomb): (String, Bomb)) -> Hostile {
    assert_ne!(text, "panic", "the task panicked on purpose");
    Hostile::new(text, bomb)
}

/// `make`, once the test writes to the FIFO at `gate`.
fn gated((text, bomb, gate): (String, Bomb, String)) -> Hostile {
    std::fs::read_to_string(gate).unwrap();
    Hostile::new(text, bomb)
}

static REPORTED: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn record(panic: &CallbackPanic<'_>) {
    REPORTED.lock().unwrap().push(panic.message().to_owned());
}

#[test]
fn a_map_whose_values_panic_when_dropped_still_ends() {
    let clean = clean();
    watchdog("a map whose values panic when dropped still ends", || {
        let pool = pool();
        // The first item's value is dropped (in the parent) when the second
        // item's failure fails the job.
        let items = vec![
            ("x".to_owned(), Bomb::DropInParent),
            ("panic".to_owned(), Bomb::None),
        ];
        let job = pool.map_async(make, items, Some(2)).unwrap();
        match job.get(GUARD) {
            Err(PoolError::Task(TaskError::Panicked(message))) => {
                assert!(message.contains("on purpose"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(pool.apply(square, 3), Ok(9));
    });
    clean.check();
}

#[test]
fn a_callback_whose_panic_payload_panics_when_dropped_is_its_jobs_error() {
    let clean = clean();
    watchdog(
        "a callback whose panic payload panics when dropped is its jobs error",
        || {
            let pool = pool();
            let callbacks =
                Callbacks::new().on_success(|_: &u64| std::panic::panic_any(PanickingPayload));
            let job = pool.apply_async_with(square, 3, callbacks).unwrap();
            assert!(
                matches!(job.get(GUARD), Err(PoolError::Callback(_))),
                "{:?}",
                job.get(GUARD)
            );
            assert_eq!(pool.apply(square, 4), Ok(16));
        },
    );
    clean.check();
}

#[test]
fn a_result_dropped_on_the_result_handler_that_panics_is_reported() {
    let clean = clean();
    watchdog(
        "a result dropped on the result handler that panics is reported",
        || {
            let pool = pool();
            REPORTED.lock().unwrap().clear();
            set_callback_panic_hook(Some(record));
            let gate = Fifo::new("mp-drop-on-handler");
            let spec = ("x".to_owned(), Bomb::DropInParent, gate.path.clone());
            // With a callback the job is finished on the result handler.
            let callbacks = Callbacks::new().on_success(|_: &Hostile| {});
            let job = pool.apply_async_with(gated, spec, callbacks).unwrap();
            drop(job);
            gate.write("go");
            let (tx, rx) = std::sync::mpsc::channel();
            let after = Callbacks::new().on_success(move |n: &u64| tx.send(*n).unwrap());
            let later = pool.apply_async_with(square, 5, after).unwrap();
            assert_eq!(later.get(GUARD), Ok(&25));
            assert_eq!(rx.recv(), Ok(25));
            let reported = REPORTED.lock().unwrap().clone();
            set_callback_panic_hook(None);
            assert_eq!(reported, ["Drop panicked on purpose"]);
        },
    );
    clean.check();
}
