//! A "tokio-style" application: several threads busy all the time
//! (allocating, taking a `Mutex` of the application's, reading the
//! environment, taking stdout's lock, panicking and catching it) while
//! pools are built, run tasks that take the same locks, and are dropped
//! (issue 15). With `ForkServer` and `Spawn` no worker ever starts with a
//! lock held: nothing hangs. `Fork` is not run here: a worker forked while
//! a busy thread holds one of these locks hangs in its task, at random
//! (documented; `held_user_mutex.rs` and `held_stdout.rs` show it
//! deterministically).
//!
//! A binary of its own: it sets the process's panic hook, and its threads
//! keep the CPU busy.

mod common;

use std::io::Write;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use common::{GUARD, clean, exec_methods, quiet_panics, watchdog};
use proc_exec::ProcessPoolExecutor;

/// The application's lock, taken by its threads and by the tasks.
static SHARED: Mutex<Vec<u64>> = Mutex::new(Vec::new());

/// How many busy threads the "runtime" has.
const THREADS: usize = 4;

/// How many pools each start method builds, runs and drops.
const ROUNDS: u64 = 8;

/// What a busy thread does, over and over, until `stop`: each step takes
/// a lock a forked child could inherit as held.
fn busy(id: u64, stop: &AtomicBool) {
    let mut round = 0u64;
    // ORDERING: a stop flag; nothing else is published through it.
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        let text = format!("thread {id} round {round}");
        {
            let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
            shared.push(text.len() as u64);
            if shared.len() > 64 {
                shared.clear();
            }
        }
        let _ = std::env::var_os("PATH");
        drop(std::io::stdout().lock());
        if round.is_multiple_of(64) {
            let _ = std::panic::catch_unwind(|| panic!("a busy thread panics on purpose"));
        }
    }
}

/// Takes every lock the busy threads take, allocates, and returns `n`;
/// panics (on purpose) for 0.
fn task(n: u64) -> u64 {
    assert_ne!(n, 0, "the task panicked on purpose");
    let text = format!("task {n}");
    SHARED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(text.len() as u64);
    let _ = std::env::var_os("PATH");
    print!("");
    std::io::stdout().flush().unwrap();
    n
}

#[test]
fn pools_work_among_busy_threads() {
    let clean = clean();
    quiet_panics("on purpose");
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..THREADS as u64)
        .map(|id| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || busy(id, &stop))
        })
        .collect();
    for method in exec_methods() {
        watchdog(&format!("{method:?}: pools among busy threads"), || {
            for round in 0..ROUNDS {
                // Every other pool starts a fresh worker for each task.
                let mut builder = ProcessPoolExecutor::builder()
                    .max_workers(2)
                    .start_method(method);
                if round % 2 == 1 {
                    builder = builder.max_tasks_per_child(1);
                }
                let pool = builder.build().unwrap();
                let futures: Vec<_> = (0..8).map(|n| pool.submit(task, n).unwrap()).collect();
                for (n, future) in (0..8).zip(futures) {
                    let result = future.result(GUARD);
                    if n == 0 {
                        assert!(result.is_err(), "{method:?}: {result:?}");
                    } else {
                        assert_eq!(result, Ok(&n), "{method:?} round {round}");
                    }
                }
                drop(pool);
            }
        });
    }
    // ORDERING: as in `busy`.
    stop.store(true, Ordering::Relaxed);
    for thread in threads {
        thread.join().unwrap();
    }
    clean.check();
}
