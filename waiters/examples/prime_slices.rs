//! Count the primes below a bound in parallel: one thread per slice of the
//! range, each completing a `Future`, results gathered with `as_completed`
//! and a final `wait`.
//!
//! `cargo run --release -p waiters --example prime_slices [BOUND] [SLICES]`

use future_core::Future;
use std::{thread, time::Duration};
use waiters::{ReturnWhen, as_completed, wait};

fn is_prime(n: u64) -> bool {
    n >= 2
        && (2..)
            .take_while(|d| d * d <= n)
            .all(|d| !n.is_multiple_of(d))
}

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<u64>());
    let bound = args.next().and_then(Result::ok).unwrap_or(2_000_000);
    let slices = args.next().and_then(Result::ok).unwrap_or(8).max(1);
    let step = bound.div_ceil(slices);

    let futures: Vec<Future<u64, String>> = (0..slices).map(|_| Future::new()).collect();
    let workers: Vec<_> = futures
        .iter()
        .enumerate()
        .map(|(i, fut)| {
            let completer = fut.completer();
            let (lo, hi) = (i as u64 * step, ((i as u64 + 1) * step).min(bound));
            thread::spawn(move || {
                if completer.set_running_or_notify_cancel() == Ok(true) {
                    let count = (lo..hi).filter(|&n| is_prime(n)).count() as u64;
                    let _ = completer.set_result(count);
                }
            })
        })
        .collect();

    let guard = Some(Duration::from_secs(600));
    for (done, fut) in as_completed(&futures, guard).enumerate() {
        let fut = fut.expect("every slice finishes within the guard");
        let slice = futures.iter().position(|f| std::ptr::eq(f, fut)).unwrap();
        println!(
            "[{}/{slices}] slice {slice}: {} primes",
            done + 1,
            fut.result(None).unwrap()
        );
    }
    let all = wait(&futures, guard, ReturnWhen::AllCompleted);
    assert!(all.not_done.is_empty());
    let total: u64 = futures.into_iter().map(|f| f.into_result().unwrap()).sum();
    for w in workers {
        w.join().unwrap();
    }
    println!("{total} primes below {bound}");
}
