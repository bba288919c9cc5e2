//! `SharedBytes` while the parent is out of descriptors (`RLIMIT_NOFILE`
//! reached): a shared result that cannot be received is the task's typed
//! decode error that says why, an argument falls back to the inline path,
//! and the pool works again once descriptors are free. Process-wide state:
//! a test binary of its own.

mod common;

use common::{clean, exhaust_fds, methods, watchdog};
use proc_exec::{OnWorkerDeath, ProcessPoolExecutor, ResultError, SharedBytes, TaskError};

const T: usize = SharedBytes::THRESHOLD;

fn make(len: usize) -> SharedBytes {
    SharedBytes::from(vec![len as u8; len])
}

fn sum(data: SharedBytes) -> (bool, u64) {
    (data.is_shared(), data.iter().map(|&b| u64::from(b)).sum())
}

/// Fills this worker's descriptor table for good.
fn fill_table(limit: u64) -> usize {
    std::mem::forget(exhaust_fds(limit));
    0
}

#[test]
fn a_worker_out_of_descriptors() {
    let clean = clean();
    watchdog("a worker out of descriptors", || {
        for method in methods() {
            let pool = ProcessPoolExecutor::builder()
                .max_workers(1)
                .start_method(method)
                .build()
                .unwrap();
            assert_eq!(pool.submit(fill_table, 64).unwrap().into_result(), Ok(0));
            let error = pool
                .submit(sum, make(2 * T))
                .unwrap()
                .into_result()
                .unwrap_err();
            let ResultError::Failed(TaskError::ArgDecode(message)) = &error else {
                panic!("{method:?}: {error:?}");
            };
            assert!(
                message.contains(
                    "dropped on arrival: the receiving process is out of file descriptors"
                ),
                "{method:?}: {message}"
            );
            // Its answers are made on the heap and cross inline.
            let made = pool.submit(make, 2 * T).unwrap().into_result().unwrap();
            assert!(!made.is_shared());
            assert_eq!(made, make(2 * T));
            pool.shutdown(true, false);
        }
    });
    clean.check();
}

#[test]
fn a_parent_out_of_descriptors() {
    let clean = clean();
    watchdog("a parent out of descriptors", || {
        for method in methods() {
            let pool = ProcessPoolExecutor::builder()
                .max_workers(1)
                .start_method(method)
                .on_worker_death(OnWorkerDeath::Replace)
                .build()
                .unwrap();
            // The worker is up before the table fills.
            assert_eq!(
                pool.submit(make, 1).unwrap().into_result().unwrap().len(),
                1
            );
            let full = exhaust_fds(256);
            let small = pool.submit(make, 10).unwrap().into_result().unwrap();
            assert_eq!(&small[..], &[10; 10][..]);
            let error = pool.submit(make, 2 * T).unwrap().into_result().unwrap_err();
            let ResultError::Failed(TaskError::ResultDecode(message)) = &error else {
                panic!("{method:?}: {error:?}");
            };
            assert!(
                message.contains("out of file descriptors"),
                "{method:?}: {message}"
            );
            // Made while the table is full: on the heap, and it crosses inline.
            let data = make(3 * T);
            assert!(!data.is_shared());
            let (shared, total) = pool
                .submit(sum, data.clone())
                .unwrap()
                .into_result()
                .unwrap();
            assert!(!shared);
            assert_eq!(total, 3 * T as u64 * u64::from(data[0]));
            drop(full);
            let made = pool.submit(make, 2 * T).unwrap().into_result().unwrap();
            assert!(made.is_shared());
            assert_eq!(made, make(2 * T));
            pool.shutdown(true, false);
        }
    });
    clean.check();
}

fn step(step: common::Step) -> u64 {
    common::step(step)
}

fn len_of(data: SharedBytes) -> (bool, usize) {
    (data.is_shared(), data.len())
}

/// Without `CAP_SYS_RESOURCE`, the kernel refuses to pass more descriptors
/// than the user's `RLIMIT_NOFILE` at once (`ETOOMANYREFS`): items queued
/// to a busy worker past that still get theirs once it takes the earlier.
#[test]
fn an_unprivileged_user_queues_more_descriptors_than_its_limit() {
    // Under `clean`: the role's process is a child of this one.
    let clean = clean();
    common::subprocess::run_alone("unprivileged_role");
    clean.check();
}

/// Drops root (and so `CAP_SYS_RESOURCE`) for `nobody`, with at most
/// `limit` descriptors.
fn become_nobody_with(limit: u64) {
    // SAFETY: plain system calls on this process, alone in it (one test thread).
    unsafe {
        if libc::getuid() == 0 {
            assert_eq!(libc::setgroups(0, std::ptr::null()), 0);
            assert_eq!(libc::setgid(65534), 0);
            assert_eq!(libc::setuid(65534), 0);
        }
    }
    let limit = rustix::process::Rlimit {
        current: Some(limit),
        maximum: Some(limit),
    };
    rustix::process::setrlimit(rustix::process::Resource::Nofile, limit).unwrap();
}

#[test]
#[ignore = "a role: run by an_unprivileged_user_queues_more_descriptors_than_its_limit"]
fn unprivileged_role() {
    if !common::subprocess::is_role("unprivileged_role") {
        return;
    }
    become_nobody_with(128);
    let pool = ProcessPoolExecutor::builder()
        .max_workers(1)
        .start_method(proc_exec::StartMethod::Fork)
        .max_in_flight_per_worker(std::num::NonZeroUsize::new(1000).unwrap())
        .build()
        .unwrap();
    let gate = common::Gate::new("unprivileged-queue");
    let blocked = pool.submit(step, gate.step()).unwrap();
    gate.wait_started();
    let data = make(T);
    let futures: Vec<_> = (0..400)
        .map(|_| pool.submit(len_of, data.clone()).unwrap())
        .collect();
    while !futures.last().unwrap().running() {
        std::thread::yield_now();
    }
    gate.open();
    assert_eq!(blocked.into_result(), Ok(2));
    for (i, future) in futures.into_iter().enumerate() {
        assert_eq!(future.into_result(), Ok((true, T)), "item {i}");
    }
    pool.shutdown(true, false);
}

fn echo(data: SharedBytes) -> SharedBytes {
    data
}

/// The same limit, with shared results coming back while chunks of shared
/// arguments wait to go: the answers' descriptors get through too.
#[test]
fn an_unprivileged_user_maps_shared_buffers_both_ways() {
    let clean = clean();
    common::subprocess::run_alone("unprivileged_map_role");
    clean.check();
}

#[test]
#[ignore = "a role: run by an_unprivileged_user_maps_shared_buffers_both_ways"]
fn unprivileged_map_role() {
    if !common::subprocess::is_role("unprivileged_map_role") {
        return;
    }
    become_nobody_with(128);
    let pool = ProcessPoolExecutor::builder()
        .max_workers(2)
        .start_method(proc_exec::StartMethod::Fork)
        .build()
        .unwrap();
    let data = make(T);
    let options = proc_exec::MapOptions::new()
        .chunksize(std::num::NonZeroUsize::new(20).unwrap())
        .buffersize(std::num::NonZeroUsize::new(3).unwrap());
    for round in 0..3 {
        let inputs = vec![data.clone(); 1000];
        for (i, result) in pool.map_with(echo, inputs, options).unwrap().enumerate() {
            assert_eq!(
                result.as_ref().map(|b| b.len()),
                Ok(T),
                "round {round} item {i}"
            );
        }
    }
    pool.shutdown(true, false);
}
