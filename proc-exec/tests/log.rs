//! The `log` feature: a worker started, retired, died (pid, status),
//! replaced, and the pool broken, as records a tiny logger captures. Its own
//! binary, since a logger is process-wide.
#![cfg(feature = "log")]

mod common;

use std::sync::Mutex;

use common::{GUARD, builder, clean};
use log::{Level, Log, Metadata, Record};
use proc_exec::{OnWorkerDeath, ProcessPoolExecutor};

/// Keeps the crate's records, as (level, text).
struct Capture(Mutex<Vec<(Level, String)>>);

impl Log for Capture {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target() == "proc_exec"
    }

    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            let text = record.args().to_string();
            self.0.lock().unwrap().push((record.level(), text));
        }
    }

    fn flush(&self) {}
}

static CAPTURE: Capture = Capture(Mutex::new(Vec::new()));

/// The records so far (the logger installed on first use), emptied.
fn records() -> Vec<(Level, String)> {
    if log::set_logger(&CAPTURE).is_ok() {
        log::set_max_level(log::LevelFilter::Info);
    }
    std::mem::take(&mut *CAPTURE.0.lock().unwrap())
}

fn pool(policy: OnWorkerDeath) -> ProcessPoolExecutor {
    builder()
        .max_workers(1)
        .on_worker_death(policy)
        .build()
        .unwrap()
}

fn pid(_: ()) -> u32 {
    std::process::id()
}

fn abort(_: ()) -> u32 {
    std::process::abort()
}

fn has(records: &[(Level, String)], level: Level, text: &str) -> bool {
    records.iter().any(|(l, t)| *l == level && t == text)
}

#[test]
fn a_worker_is_logged_when_it_starts_and_retires() {
    let clean = clean();
    records();
    let pool = pool(OnWorkerDeath::BreakPool);
    let worker = pool.submit(pid, ()).unwrap().into_result().unwrap();
    drop(pool);
    let seen = records();
    assert!(
        has(&seen, Level::Info, &format!("worker {worker} started")),
        "{seen:?}"
    );
    let retired = format!("worker {worker} retired (exited with code 0)");
    assert!(has(&seen, Level::Info, &retired), "{seen:?}");
    assert!(
        seen.iter().all(|(level, _)| *level == Level::Info),
        "{seen:?}"
    );
    clean.check();
}

#[test]
fn a_dead_worker_is_logged_with_its_status_and_its_replacement() {
    let clean = clean();
    records();
    let pool = pool(OnWorkerDeath::Replace);
    let first = pool.submit(pid, ()).unwrap().into_result().unwrap();
    assert!(pool.submit(abort, ()).unwrap().result(GUARD).is_err());
    let second = pool.submit(pid, ()).unwrap().into_result().unwrap();
    drop(pool);
    let seen = records();
    let died = format!(
        "worker {first} died (killed by signal 6 (SIGABRT), core dumped); another replaces it"
    );
    let died_no_core = died.replace(", core dumped", "");
    assert!(
        has(&seen, Level::Warn, &died) || has(&seen, Level::Warn, &died_no_core),
        "{seen:?}"
    );
    assert!(
        has(&seen, Level::Info, &format!("worker {second} started")),
        "{seen:?}"
    );
    assert!(
        !seen.iter().any(|(level, _)| *level == Level::Error),
        "{seen:?}"
    );
    clean.check();
}

#[test]
fn a_broken_pool_is_logged_as_an_error_with_its_cause() {
    let clean = clean();
    records();
    let pool = pool(OnWorkerDeath::BreakPool);
    let worker = pool.submit(pid, ()).unwrap().into_result().unwrap();
    assert!(pool.submit(abort, ()).unwrap().result(GUARD).is_err());
    drop(pool);
    let seen = records();
    let died = seen.iter().find(|(level, text)| {
        *level == Level::Warn && text.starts_with(&format!("worker {worker} died ("))
    });
    assert!(died.is_some(), "{seen:?}");
    let broken = seen
        .iter()
        .find(|(level, text)| *level == Level::Error && text.starts_with("the pool is broken: "));
    let (_, broken) = broken.unwrap_or_else(|| panic!("no broken-pool record: {seen:?}"));
    assert!(broken.contains(&worker.to_string()), "{broken}");
    clean.check();
}
