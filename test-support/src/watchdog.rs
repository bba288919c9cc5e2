//! Hang guards that share one watching thread.
//!
//! A thread per guard would be simpler, but a soak arms one guard per round,
//! and a thread per round is a cost the code under test does not have: under
//! qemu-user every guest thread leaves memory behind, enough for the soaks'
//! RSS checks to blame the pool. One thread, started at the first `arm`,
//! watches every armed guard's deadline.

use std::sync::{Condvar, Mutex, MutexGuard, Once};
use std::time::{Duration, Instant};

/// A hang guard for a stretch of a test: if it is not dropped within its
/// limit, it reports what hung and ends the whole test binary with a failure
/// (exit code 101, libtest's own), so a hang is a failed run, never a stuck
/// one (the hung thread may hold the [`clean`](crate::clean) lock, so the
/// other tests could not run on anyway). Never a synchronisation: dropped in
/// time, it does nothing.
#[derive(Debug)]
#[must_use = "a watchdog guards only while it is held"]
pub struct Watchdog {
    id: u64,
}

struct Armed {
    id: u64,
    deadline: Instant,
    what: String,
    limit: Duration,
}

struct Guards {
    next_id: u64,
    armed: Vec<Armed>,
}

static GUARDS: Mutex<Guards> = Mutex::new(Guards {
    next_id: 0,
    armed: Vec::new(),
});
/// Wakes the watching thread when a guard is armed (its deadline may be the
/// earliest now). Disarming needs no wake: the thread finds the guard gone
/// when it next looks.
static ARMED: Condvar = Condvar::new();
static WATCHER: Once = Once::new();

/// The guards, even if a test panicked while holding them (the list is
/// consistent after every statement that changes it).
fn guards() -> MutexGuard<'static, Guards> {
    GUARDS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Watchdog {
    /// Arms a watchdog for `what`, which must finish within `limit`.
    pub fn arm(what: impl Into<String>, limit: Duration) -> Self {
        WATCHER.call_once(|| {
            std::thread::Builder::new()
                .name("watchdog".into())
                .spawn(watch)
                .expect("the watchdog thread could not start");
        });
        let mut guards = guards();
        let id = guards.next_id;
        guards.next_id += 1;
        guards.armed.push(Armed {
            id,
            deadline: Instant::now() + limit,
            what: what.into(),
            limit,
        });
        ARMED.notify_one();
        Self { id }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        guards().armed.retain(|armed| armed.id != self.id);
    }
}

/// The watching thread: sleeps until the earliest deadline (or until a guard
/// is armed) and ends the process if a guard is still armed past its own.
fn watch() {
    let mut guards = guards();
    loop {
        let now = Instant::now();
        let earliest = guards.armed.iter().min_by_key(|armed| armed.deadline);
        guards = match earliest {
            None => ARMED.wait(guards).unwrap_or_else(|p| p.into_inner()),
            Some(armed) if armed.deadline <= now => {
                // Not `eprintln!`: the test harness captures that, and the
                // capture is lost with the process.
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "watchdog: {} did not finish within {:?}: a hang",
                    armed.what,
                    armed.limit
                );
                std::process::exit(101);
            }
            Some(armed) => {
                let left = armed.deadline - now;
                ARMED
                    .wait_timeout(guards, left)
                    .unwrap_or_else(|p| p.into_inner())
                    .0
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subprocess::{ROLE, is_role};

    /// A guard dropped in time does nothing, even once its deadline passes;
    /// one still held past its deadline ends the process with 101, naming
    /// itself. (The first guard's deadline comes first: had its drop not
    /// disarmed it, the report would name it.)
    #[test]
    fn only_a_guard_held_past_its_limit_ends_the_process() {
        let role = "watchdog::tests::a_guard_held_past_its_limit_role";
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", role, "--ignored", "--nocapture"])
            .env(ROLE, role)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(101), "{stderr}");
        assert!(
            stderr.contains("watchdog: the held one did not finish within 200ms"),
            "{stderr}"
        );
        assert!(!stderr.contains("the dropped one"), "{stderr}");
    }

    #[test]
    #[ignore = "a role: run by only_a_guard_held_past_its_limit_ends_the_process"]
    fn a_guard_held_past_its_limit_role() {
        if !is_role("watchdog::tests::a_guard_held_past_its_limit_role") {
            return;
        }
        drop(Watchdog::arm("the dropped one", Duration::from_millis(10)));
        let _held = Watchdog::arm("the held one", Duration::from_millis(200));
        // Only the watchdog ends this (the parent's own run has no guard:
        // a broken watchdog hangs it, and CI's own timeout names it).
        loop {
            std::thread::park();
        }
    }
}
