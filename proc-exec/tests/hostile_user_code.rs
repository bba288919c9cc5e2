//! User code that runs on the pool's own threads and processes panics: a
//! result's `Deserialize` or `Drop` on the manager thread, a result's
//! `Serialize` or `Drop` and an argument's `Deserialize` or `Drop` in a
//! worker, a done callback. Each panic fails only its own item (or goes to
//! the callback-panic hook when no item is left to fail), and the pool goes
//! on. Every test runs under a hang guard and ends with the leak check.

mod common;

use std::sync::Mutex;

use common::hostile::{Bomb, Hostile, PanickingPayload, mark_parent};
use common::{Fifo, GUARD, chosen_method, clean, methods, quiet_panics, watchdog};
use future_core::{CallbackPanic, ResultError, set_callback_panic_hook};
use proc_exec::{ProcessPoolExecutor, StartMethod, TaskError};

fn pool(method: StartMethod) -> ProcessPoolExecutor {
    mark_parent();
    quiet_panics("on purpose");
    ProcessPoolExecutor::builder()
        .max_workers(1)
        .start_method(method)
        .build()
        .unwrap()
}

fn failure<R: std::fmt::Debug>(future: future_core::Future<R, TaskError>) -> TaskError {
    match future.result(GUARD) {
        Err(ResultError::Failed(error)) => error.clone(),
        other => panic!("expected a task error, got {other:?}"),
    }
}

fn make((text, bomb): (String, Bomb)) -> Hostile {
    Hostile::new(text, bomb)
}

/// `make`, once the test writes to the FIFO at `gate`.
fn gated((text, bomb, gate): (String, Bomb, String)) -> Hostile {
    std::fs::read_to_string(gate).unwrap();
    Hostile::new(text, bomb)
}

/// Takes the argument and drops it.
fn consume(hostile: Hostile) -> u64 {
    hostile.text.len() as u64
}

fn answer(n: u64) -> u64 {
    n
}

fn pid(_: ()) -> u32 {
    std::process::id()
}

fn throw_panicking_payload(_: ()) -> u64 {
    std::panic::panic_any(PanickingPayload)
}

/// The panics the callback-panic hook was told about.
static REPORTED: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn record(panic: &CallbackPanic<'_>) {
    REPORTED.lock().unwrap().push(panic.message().to_owned());
}

#[test]
fn a_result_whose_deserialize_panics_fails_its_future_and_the_pool_goes_on() {
    for method in methods() {
        let clean = clean();
        watchdog(
            "a result whose deserialize panics fails its future and the pool goes on",
            move || {
                let pool = pool(method);
                let future = pool
                    .submit(make, ("x".to_owned(), Bomb::DeserializeInParent))
                    .unwrap();
                match failure(future) {
                    TaskError::ResultDecode(message) => {
                        assert!(
                            message.contains("Deserialize panicked on purpose"),
                            "{message}"
                        )
                    }
                    other => panic!("{method:?}: {other:?}"),
                }
                let later = pool.submit(answer, 7).unwrap();
                assert_eq!(later.result(GUARD), Ok(&7), "{method:?}");
            },
        );
        clean.check();
    }
}

#[test]
fn a_result_whose_drop_panics_on_the_manager_thread_is_reported_and_the_pool_goes_on() {
    for method in methods() {
        let clean = clean();
        watchdog(
            "a result whose drop panics on the manager thread is reported and the pool goes on",
            move || {
                let pool = pool(method);
                REPORTED.lock().unwrap().clear();
                set_callback_panic_hook(Some(record));
                let gate = Fifo::new("drop-on-manager");
                let spec = ("x".to_owned(), Bomb::DropInParent, gate.path.clone());
                let future = pool.submit(gated, spec).unwrap();
                // Nobody holds the future: the manager drops the value itself.
                drop(future);
                gate.write("go");
                let later = pool.submit(answer, 7).unwrap();
                assert_eq!(later.result(GUARD), Ok(&7), "{method:?}");
                // One worker answers in order: the drop happened before.
                let reported = REPORTED.lock().unwrap().clone();
                set_callback_panic_hook(None);
                assert_eq!(reported, ["Drop panicked on purpose"], "{method:?}");
            },
        );
        clean.check();
    }
}

#[test]
fn a_done_callback_that_panics_on_the_manager_thread_stops_nothing() {
    let clean = clean();
    watchdog(
        "a done callback that panics on the manager thread stops nothing",
        || {
            let pool = pool(chosen_method());
            REPORTED.lock().unwrap().clear();
            set_callback_panic_hook(Some(record));
            let gate = Fifo::new("callback-on-manager");
            let spec = ("x".to_owned(), Bomb::None, gate.path.clone());
            let future = pool.submit(gated, spec).unwrap();
            future.add_done_callback(|_| panic!("the callback panicked on purpose"));
            gate.write("go");
            assert_eq!(future.result(GUARD).map(|h| h.text.clone()), Ok("x".into()));
            assert_eq!(pool.submit(answer, 7).unwrap().result(GUARD), Ok(&7));
            let reported = REPORTED.lock().unwrap().clone();
            set_callback_panic_hook(None);
            assert_eq!(reported, ["the callback panicked on purpose"]);
        },
    );
    clean.check();
}

#[test]
fn panics_in_the_workers_serde_and_drops_fail_only_their_item() {
    for method in methods() {
        let clean = clean();
        watchdog(
            "panics in the workers serde and drops fail only their item",
            move || {
                let pool = pool(method);
                let first = pool.submit(pid, ()).unwrap().into_result().unwrap();
                let serialize = pool.submit(make, ("x".to_owned(), Bomb::SerializeInWorker));
                match failure(serialize.unwrap()) {
                    TaskError::ResultEncode(message) => {
                        assert!(
                            message.contains("Serialize panicked on purpose"),
                            "{message}"
                        )
                    }
                    other => panic!("{method:?}: {other:?}"),
                }
                let drop_result = pool.submit(make, ("x".to_owned(), Bomb::DropInWorker));
                match failure(drop_result.unwrap()) {
                    TaskError::Panicked(message) => {
                        assert!(message.contains("Drop panicked on purpose"), "{message}")
                    }
                    other => panic!("{method:?}: {other:?}"),
                }
                let decode_arg = pool.submit(consume, Hostile::new("x", Bomb::DeserializeInWorker));
                match failure(decode_arg.unwrap()) {
                    TaskError::ArgDecode(message) => {
                        assert!(
                            message.contains("Deserialize panicked on purpose"),
                            "{message}"
                        )
                    }
                    other => panic!("{method:?}: {other:?}"),
                }
                let drop_arg = pool.submit(consume, Hostile::new("x", Bomb::DropInWorker));
                match failure(drop_arg.unwrap()) {
                    TaskError::Panicked(message) => {
                        assert!(message.contains("Drop panicked on purpose"), "{message}")
                    }
                    other => panic!("{method:?}: {other:?}"),
                }
                let payload = pool.submit(throw_panicking_payload, ()).unwrap();
                assert!(matches!(failure(payload), TaskError::Panicked(_)));
                assert_eq!(pool.submit(answer, 7).unwrap().result(GUARD), Ok(&7));
                let last = pool.submit(pid, ()).unwrap().into_result().unwrap();
                assert_eq!(first, last, "{method:?}: the worker was replaced");
            },
        );
        clean.check();
    }
}
