//! Another thread of the application holds a `Mutex` of its own while
//! pools are built and run tasks that take the same `Mutex` (issue 15). A
//! worker started by `exec` (`ForkServer`, `Spawn`) has a fresh copy of the
//! program's statics: its `Mutex` is free and holds the initial value. A
//! `Fork` worker's copy is locked by a thread it does not have: the task
//! waits forever (shown, then killed by a task timeout).
//!
//! A binary of its own: the lock is held for the whole test.

mod common;

use std::sync::Mutex;

use common::{GUARD, Held, assert_fork_hangs, clean, exec_methods, watchdog};
use proc_exec::ProcessPoolExecutor;

/// The application's lock, and what it guards.
static SHARED: Mutex<u64> = Mutex::new(0);

/// What the holding thread stores before it holds on.
const PARENTS_VALUE: u64 = 1000;

/// Adds `n` to the shared value under its lock; returns the sum.
fn add(n: u64) -> u64 {
    let mut value = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    *value += n;
    *value
}

#[test]
fn tasks_take_a_mutex_another_thread_holds() {
    let clean = clean();
    let held = Held::new(|| {
        let mut value = SHARED.lock().unwrap();
        *value = PARENTS_VALUE;
        value
    });
    for method in exec_methods() {
        watchdog(&format!("{method:?}: tasks taking the held mutex"), || {
            // Built while the lock is held; every task on a fresh worker.
            let pool = ProcessPoolExecutor::builder()
                .max_workers(2)
                .start_method(method)
                .max_tasks_per_child(1)
                .build()
                .unwrap();
            let futures: Vec<_> = (1..=6).map(|n| pool.submit(add, n).unwrap()).collect();
            for (n, future) in (1..=6).zip(futures) {
                // A fresh worker's statics are the program's, not ours.
                assert_eq!(future.result(GUARD), Ok(&n), "{method:?}");
            }
            drop(pool);
        });
    }
    assert_fork_hangs("a task taking a mutex another thread holds", add, 1);
    drop(held);
    assert_eq!(add(0), PARENTS_VALUE, "the tasks ran in other processes");
    clean.check();
}
