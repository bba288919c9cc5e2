//! The manager thread sleeps while it waits for a worker's end: a worker
//! whose result pipe has reached end of file, but which still runs, must not
//! keep the manager busy. `poll` reports `POLLHUP` on such a pipe whatever
//! was asked for; a manager that still polled it woke at once, again and
//! again, and its spinning took the CPU that the dying worker and the fork
//! server needed to report the death (crashes took a scheduler slice, ~3 ms,
//! to fail their futures). Its own binary: it reads the manager thread's CPU
//! time, which the other tests' pools would blur.

mod common;

use std::time::{Duration, Instant};

use common::{Gate, Step, clean, methods, watchdog};
use future_core::ResultError;
use proc_exec::{ProcessPoolExecutor, TaskError};

/// Closes every descriptor from 3 up (the worker's pipes to the pool among
/// them), so the pool reads end of file from this live worker, then blocks
/// on the gate `step` names.
fn close_pipes_then_block(step: Step) -> u64 {
    // One `close` each, not `close_range`: musl's libc has no wrapper for
    // it. A worker holds a handful of descriptors, all below this bound.
    for fd in 3..1024 {
        // SAFETY: closes descriptors only this worker process uses; nothing
        // in it refers to them afterwards (the gate's FIFOs are opened by
        // name below, and the worker's loop finds its pipes closed when the
        // task returns).
        unsafe { libc::close(fd) };
    }
    common::step(step)
}

/// The CPU time (ns) this process's thread named `prefix...` has used so
/// far, from `/proc/self/task/<tid>/schedstat`.
fn cpu_of_thread(prefix: &str) -> u64 {
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let path = task.unwrap().path();
        let Ok(comm) = std::fs::read_to_string(path.join("comm")) else {
            continue;
        };
        if comm.starts_with(prefix) {
            let stat = std::fs::read_to_string(path.join("schedstat")).unwrap();
            return stat.split_whitespace().next().unwrap().parse().unwrap();
        }
    }
    panic!("no thread named {prefix}...");
}

/// With each start method: while the worker runs with its result pipe
/// closed, the manager uses (nearly) no CPU over half a second; once the
/// worker is let go, its task fails with a broken pool.
#[test]
fn manager_sleeps_while_a_worker_with_a_closed_pipe_runs() {
    let clean = clean();
    for method in methods() {
        watchdog(&format!("{method:?}: a worker with closed pipes"), || {
            let pool = ProcessPoolExecutor::builder()
                .max_workers(1)
                .start_method(method)
                .build()
                .unwrap();
            let gate = Gate::new(&format!("idle-manager-{method:?}"));
            let future = pool.submit(close_pipes_then_block, gate.step()).unwrap();
            gate.wait_started();
            // The window measured, not a synchronisation: the manager has
            // nothing to do in it whether it saw the end of file yet or not.
            let window = Duration::from_millis(500);
            let before = cpu_of_thread("proc-exec-manag");
            let start = Instant::now();
            std::thread::sleep(window);
            let busy = cpu_of_thread("proc-exec-manag") - before;
            let elapsed = start.elapsed();
            gate.open();
            let outcome = future.into_result();
            assert!(
                matches!(outcome, Err(ResultError::Failed(TaskError::Broken(_)))),
                "{method:?}: {outcome:?}"
            );
            pool.shutdown(true, false);
            // A spinning manager runs for most of the window (its share of
            // a CPU); one asleep in `poll` for none of it.
            let busy = Duration::from_nanos(busy);
            assert!(
                busy < elapsed / 5,
                "{method:?}: the manager was busy {busy:?} of {elapsed:?} while the worker ran"
            );
        });
    }
    clean.check();
}
