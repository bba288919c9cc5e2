//! Another thread of the application holds stdout's lock while pools are
//! built and run tasks that print (issue 15). A worker started by `exec`
//! (`ForkServer`, `Spawn`) has a stdout of its own, unlocked: its tasks
//! print. A `Fork` worker's copy of the lock is held by a thread it does
//! not have: its first print waits forever (shown, then killed by a task
//! timeout).
//!
//! A binary of its own: holding stdout's lock stops the test harness's own
//! printing.

mod common;

use std::io::Write;

use common::{GUARD, Held, assert_fork_hangs, clean, exec_methods, watchdog};
use proc_exec::ProcessPoolExecutor;

/// Prints (nothing, to keep the test output clean: a print takes stdout's
/// lock whatever it writes), then returns `n`.
fn print(n: u64) -> u64 {
    print!("");
    std::io::stdout().flush().unwrap();
    n
}

#[test]
fn tasks_print_while_another_thread_holds_stdout() {
    let clean = clean();
    let held = Held::new(|| std::io::stdout().lock());
    for method in exec_methods() {
        watchdog(&format!("{method:?}: printing tasks"), || {
            // Built while the lock is held; every task on a fresh worker.
            let pool = ProcessPoolExecutor::builder()
                .max_workers(2)
                .start_method(method)
                .max_tasks_per_child(1)
                .build()
                .unwrap();
            let futures: Vec<_> = (0..6).map(|n| pool.submit(print, n).unwrap()).collect();
            for (n, future) in (0..6).zip(futures) {
                assert_eq!(future.result(GUARD), Ok(&n), "{method:?}");
            }
            drop(pool);
        });
    }
    assert_fork_hangs("a print while another thread holds stdout", print, 1);
    drop(held);
    clean.check();
}
