//! The idle cost of the backoff: each rank's CPU time while rank 0 waits
//! 1 s with nothing in flight, and a task's round trip when the workers are
//! busy polling against after they have backed off.
//!
//! `timeout -k 5 120 mpirun -n 3 mpi-exec/target/release/examples/idle`

use std::time::{Duration, Instant};

/// This process's CPU time (user + system).
fn cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `getrusage` fills the live `usage` it is given.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    // SAFETY: zeroed, then filled by `getrusage`.
    let usage = unsafe { usage.assume_init() };
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// On a worker: its pid and CPU time, after holding the worker long enough
/// that the other one takes the other probe.
fn probe(hold: u64) -> (u32, Duration) {
    std::thread::sleep(Duration::from_millis(hold));
    (std::process::id(), cpu_time())
}

fn nothing(n: u32) -> u32 {
    n
}

fn p50(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    // MAX_SLEEP_US: the backoff's ceiling (default 1000 µs).
    let max_sleep = std::env::var("MAX_SLEEP_US")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(Duration::from_millis(1), Duration::from_micros);
    let options = mpi_exec::Options::new().max_sleep(max_sleep);
    mpi_exec::run_with(options, |exec| {
        println!("backoff: max_sleep {max_sleep:?}");
        let probes = |exec: &mpi_exec::MpiExecutor| {
            let futures: Vec<_> = (0..exec.workers())
                .map(|_| exec.submit(probe, 200).unwrap())
                .collect();
            let mut seen: Vec<(u32, Duration)> = futures
                .into_iter()
                .map(|f| f.into_result().unwrap())
                .collect();
            seen.sort();
            seen
        };
        let before = probes(exec);
        let rank0 = cpu_time();
        std::thread::sleep(Duration::from_secs(1));
        let rank0 = cpu_time() - rank0;
        let after = probes(exec);
        println!(
            "CPU time while rank 0 waited 1 s (the 200 ms probes' wait included on the workers):"
        );
        println!("  rank 0: {:.1} ms", rank0.as_secs_f64() * 1e3);
        for ((pid, a), (pid2, b)) in before.iter().zip(&after) {
            let same = if pid == pid2 {
                ""
            } else {
                " (probes landed on different workers)"
            };
            println!(
                "  worker pid {pid}: {:.1} ms{same}",
                (*b - *a).as_secs_f64() * 1e3
            );
        }

        let busy: Vec<Duration> = (0..2000)
            .map(|n| {
                let started = Instant::now();
                exec.submit(nothing, n).unwrap().into_result().unwrap();
                started.elapsed()
            })
            .collect();
        let idle: Vec<Duration> = (0..50)
            .map(|n| {
                std::thread::sleep(Duration::from_millis(20));
                let started = Instant::now();
                exec.submit(nothing, n).unwrap().into_result().unwrap();
                started.elapsed()
            })
            .collect();
        println!(
            "one task at a time, p50: back to back {:?}, after 20 ms idle {:?}",
            p50(busy),
            p50(idle)
        );
    })
    .unwrap();
}
