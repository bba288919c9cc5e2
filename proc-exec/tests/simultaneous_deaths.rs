//! Workers that die together are all reaped, and a shut-down pool leaves
//! no future pending. With a fork server, the manager learns each death
//! from the server's exit notice; a notice that another read of the
//! server's socket took first (the manager's own look for another worker's
//! notice, or the spawn of a replacement) is filed where the manager finds
//! it, with a wake-up. Without that wake-up mp-pool's soak hung once in a
//! `close` + `join` (the manager polled the socket for a notice it had
//! already filed); the wake-up itself is checked in `os/fork_server.rs`'s
//! unit tests, deterministically. This test runs the shape that exposes
//! such a race, many deaths at once, many times; it did not hang here
//! without the fix in 5 runs, so it guards the class rather than proving
//! the fix. Its own binary: it kills every worker of its pools.

mod common;

use common::{Watchdog, clean};
use proc_exec::{ProcessPoolExecutor, StartMethod};
use std::time::Duration;

fn inc(x: u64) -> u64 {
    x + 1
}

/// One pool whose three workers are killed at once, then shut down; its
/// futures all end.
fn kill_three_at_once(method: StartMethod) {
    let pool = ProcessPoolExecutor::builder()
        .max_workers(3)
        .start_method(method)
        .build()
        .unwrap();
    // Three workers running (each took a task), so three deaths to reap.
    let warm: Vec<_> = (0..3).map(|i| pool.submit(inc, i).unwrap()).collect();
    for (i, future) in (0..).zip(&warm) {
        assert_eq!(future.result(Some(Duration::from_secs(60))), Ok(&(i + 1)));
    }
    let pending: Vec<_> = (0..6).map(|i| pool.submit(inc, i).unwrap()).collect();
    pool.kill_workers();
    pool.shutdown(true, false);
    for future in &pending {
        assert!(
            future.done(),
            "a future was left pending by a shut-down pool"
        );
    }
    assert!(pool.worker_pids().is_empty(), "a worker outlived its pool");
}

#[test]
fn workers_killed_together_are_all_reaped() {
    let clean = clean();
    for method in [StartMethod::ForkServer, StartMethod::Fork] {
        let _guard = Watchdog::arm(
            format!("100 pools with {method:?}, their workers killed together"),
            Duration::from_secs(120),
        );
        for _ in 0..100 {
            kill_three_at_once(method);
        }
    }
    clean.check();
}
