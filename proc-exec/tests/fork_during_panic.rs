//! A worker forked while another thread of the parent is inside a panic
//! hook: std's hook lock is copied into the worker as held, so a worker that
//! took it for writing (as `std::panic::set_hook` does) would wait forever.
//! The pool installs its worker hook in the parent instead, so workers
//! started at that moment run their tasks, with every start method; and a
//! pool *built* at that moment works for every worker it ever starts (issue
//! 15: a fork server forked then used to pass the held lock on to all of
//! them).
//!
//! A binary of its own: it sets the process's panic hook.

mod common;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use common::{GUARD, clean, methods, watchdog};
use proc_exec::{ProcessPoolExecutor, TaskError};

fn double(n: u64) -> u64 {
    2 * n
}

fn panics(n: u64) -> u64 {
    panic!("task {n} panics on purpose")
}

#[test]
fn workers_forked_while_another_thread_is_in_a_panic_hook_run_their_tasks() {
    let clean = clean();
    // The application's hook: a panic on purpose says it is in the hook and
    // stays there (holding std's hook lock for reading) until let go.
    let (entered_tx, entered) = mpsc::channel::<()>();
    let (release, released) = mpsc::channel::<()>();
    let hook_side = Arc::new(Mutex::new((entered_tx, released)));
    let in_hook = Arc::clone(&hook_side);
    std::panic::set_hook(Box::new(move |_| {
        let (entered, released) = &*in_hook.lock().unwrap_or_else(|e| e.into_inner());
        let _ = entered.send(());
        let _ = released.recv_timeout(GUARD.unwrap());
    }));
    // The first pool installs the pool's worker hook (once per process),
    // around the application's.
    drop(
        ProcessPoolExecutor::builder()
            .max_workers(1)
            .build()
            .unwrap(),
    );

    let panicking = std::thread::spawn(|| {
        let _ = std::panic::catch_unwind(|| panic!("the application's thread panics"));
    });
    entered.recv_timeout(GUARD.unwrap()).unwrap();
    // Now a thread of ours holds the hook lock: start fresh workers.
    for method in methods() {
        watchdog(
            &format!("{method:?}: workers started during a panic"),
            || {
                // Built now, and every task on a fresh worker: each one is
                // started while the hook runs.
                let pool = ProcessPoolExecutor::builder()
                    .max_workers(1)
                    .start_method(method)
                    .max_tasks_per_child(1)
                    .build()
                    .unwrap();
                for n in 0..3 {
                    let fut = pool.submit(double, 21 + n).unwrap();
                    assert_eq!(fut.result(GUARD), Ok(&(42 + 2 * n)), "{method:?}");
                    // A panic in such a worker is still its task's error,
                    // with where it happened.
                    let fut = pool.submit(panics, n).unwrap();
                    match fut.result(GUARD) {
                        Err(future_core::ResultError::Failed(TaskError::Panicked(message))) => {
                            assert!(message.contains("on purpose"), "{message}");
                            assert!(message.contains("fork_during_panic.rs"), "{message}");
                        }
                        other => panic!("{method:?}: {other:?}"),
                    }
                }
                pool.shutdown(true, false);
            },
        );
    }
    release.send(()).unwrap();
    panicking.join().unwrap();
    drop(std::panic::take_hook());
    drop(hook_side);
    clean.check();
}
