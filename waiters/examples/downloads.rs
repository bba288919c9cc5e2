//! Files "downloaded" by threads (each sleeps as long as its transfer
//! would take), reported with `as_completed` as they finish, fastest first.
//! One mirror fails, one download is cancelled before it starts, and the
//! whole batch has one deadline.
//!
//! `cargo run -p waiters --example downloads`

use std::thread;
use std::time::Duration;

use future_core::{Future, ResultError};
use waiters::as_completed;

/// Name, size in KiB, and the simulated bandwidth of its mirror (KiB/ms).
const FILES: [(&str, u64, u64); 6] = [
    ("kernel.tar.xz", 1400, 100),
    ("README.md", 8, 8),
    ("dataset.parquet", 900, 30),
    ("logo.png", 60, 20),
    ("broken-mirror.iso", 700, 0),
    ("later.zip", 300, 50),
];

fn download(size_kib: u64, bandwidth: u64) -> Result<u64, String> {
    if bandwidth == 0 {
        thread::sleep(Duration::from_millis(5));
        return Err("connection reset by the mirror".to_owned());
    }
    thread::sleep(Duration::from_millis(size_kib / bandwidth));
    Ok(size_kib)
}

fn main() {
    let futures: Vec<Future<u64, String>> = FILES.iter().map(|_| Future::new()).collect();
    // The user changed their mind about the last one before it started.
    assert!(futures[5].cancel());
    let threads: Vec<_> = FILES
        .iter()
        .zip(&futures)
        .map(|(&(_, size, bandwidth), future)| {
            let completer = future.completer();
            thread::spawn(move || {
                // A cancelled download is skipped, as an executor would.
                if completer.set_running_or_notify_cancel() != Ok(true) {
                    return;
                }
                let _ = match download(size, bandwidth) {
                    Ok(kib) => completer.set_result(kib).map_err(drop),
                    Err(error) => completer.set_exception(error).map_err(drop),
                };
            })
        })
        .collect();

    let mut total = 0;
    for done in as_completed(&futures, Some(Duration::from_secs(30))) {
        let future = done.expect("every download ends within the deadline");
        let index = futures
            .iter()
            .position(|f| std::ptr::eq(f, future))
            .unwrap();
        let name = FILES[index].0;
        match future.result(Some(Duration::ZERO)) {
            Ok(kib) => {
                total += kib;
                println!("{name:>18}: {kib} KiB");
            }
            Err(ResultError::Failed(error)) => println!("{name:>18}: failed, {error}"),
            Err(ResultError::Cancelled) => println!("{name:>18}: cancelled"),
            Err(ResultError::Timeout) => unreachable!("as_completed yields done futures"),
        }
    }
    for thread in threads {
        thread.join().expect("no download thread panics");
    }
    println!("{total} KiB downloaded");
}
