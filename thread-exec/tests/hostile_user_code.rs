//! User code that panics on a worker thread outside the task's closure: the
//! `Drop` of a result whose future was dropped, a panic payload whose own
//! `Drop` panics, in a task or an initializer. The worker thread lives (or
//! the pool breaks, saying why), and nothing submitted is left pending.

mod common;

use std::sync::Mutex;

use common::GUARD;
use future_core::{CallbackPanic, ResultError, set_callback_panic_hook};
use test_support::hostile::{Bomb, Hostile, PanickingPayload, mark_parent};
use test_support::watchdog;
use thread_exec::{SubmitErrorKind, TaskError, ThreadPoolExecutor};

/// The panics the callback-panic hook was told about.
static REPORTED: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn record(panic: &CallbackPanic<'_>) {
    REPORTED.lock().unwrap().push(panic.message().to_owned());
}

fn one_worker() -> ThreadPoolExecutor {
    test_support::quiet_panics("on purpose");
    ThreadPoolExecutor::builder()
        .max_workers(1)
        .build()
        .unwrap()
}

#[test]
fn a_result_whose_drop_panics_on_the_worker_is_reported_and_the_worker_lives() {
    watchdog(
        "a result whose drop panics on the worker is reported and the worker lives",
        || {
            mark_parent();
            let pool = one_worker();
            set_callback_panic_hook(Some(record));
            let gate = common::Gate::new();
            let opened = gate.clone();
            let future = pool
                .submit(move || {
                    opened.wait();
                    Hostile::new("x", Bomb::DropInParent)
                })
                .unwrap();
            // Nobody holds the future: the worker drops the value itself.
            drop(future);
            gate.open();
            let next = pool.submit(|| 7).unwrap();
            assert_eq!(next.result(GUARD), Ok(&7));
            let reported = REPORTED.lock().unwrap().clone();
            set_callback_panic_hook(None);
            assert!(
                reported.iter().any(|m| m == "Drop panicked on purpose"),
                "{reported:?}"
            );
        },
    );
}

#[test]
fn a_panic_whose_payload_panics_when_dropped_fails_only_its_task() {
    watchdog(
        "a panic whose payload panics when dropped fails only its task",
        || {
            let pool = one_worker();
            let future = pool
                .submit(|| -> u32 { std::panic::panic_any(PanickingPayload) })
                .unwrap();
            assert!(matches!(
                future.result(GUARD),
                Err(ResultError::Failed(TaskError::Panicked(_)))
            ));
            assert_eq!(pool.submit(|| 7).unwrap().result(GUARD), Ok(&7));
        },
    );
}

#[test]
fn an_initializer_whose_panic_payload_panics_breaks_the_pool_without_a_hang() {
    watchdog(
        "an initializer whose panic payload panics breaks the pool without a hang",
        || {
            test_support::quiet_panics("on purpose");
            let pool = ThreadPoolExecutor::builder()
                .max_workers(1)
                .initializer(|| -> Result<(), String> { std::panic::panic_any(PanickingPayload) })
                .build()
                .unwrap();
            match pool.submit(|| 7) {
                Ok(future) => assert!(matches!(
                    future.result(GUARD),
                    Err(ResultError::Failed(TaskError::Broken(_)))
                )),
                Err(error) => assert!(matches!(error.kind(), SubmitErrorKind::Broken(_))),
            }
            pool.shutdown(true, false);
        },
    );
}
