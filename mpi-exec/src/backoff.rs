//! Waiting for a message without burning a core: spin briefly, then sleep
//! for doubling times up to a ceiling.

use std::time::{Duration, Instant};

/// How an idle rank polls (see [`Options`](crate::Options)).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Backoff {
    spin: Duration,
    max_sleep: Duration,
    idle_since: Option<Instant>,
    sleep: Duration,
    polls: u32,
}

/// Polls between two sleeps. MPI moves a message on only inside its calls,
/// and one arriving message can take several (measured with Open MPI 4.1:
/// one poll a sleep made a task after an idle spell wait about three
/// sleeps); a poll costs about a microsecond.
const POLLS_PER_SLEEP: u32 = 16;

/// The first sleep after spinning.
const FIRST_SLEEP: Duration = Duration::from_micros(10);

impl Backoff {
    pub(crate) fn new(spin: Duration, max_sleep: Duration) -> Self {
        Self {
            spin,
            max_sleep,
            idle_since: None,
            sleep: FIRST_SLEEP,
            polls: 0,
        }
    }

    /// Something happened: the next idle stretch spins again.
    pub(crate) fn reset(&mut self) {
        self.idle_since = None;
        self.sleep = FIRST_SLEEP;
        self.polls = 0;
    }

    /// Nothing happened in one poll: spin on, or sleep.
    pub(crate) fn idle(&mut self) {
        let since = *self.idle_since.get_or_insert_with(Instant::now);
        self.polls += 1;
        if since.elapsed() < self.spin || self.polls < POLLS_PER_SLEEP {
            std::hint::spin_loop();
            return;
        }
        self.polls = 0;
        std::thread::sleep(self.sleep.min(self.max_sleep));
        self.sleep = self.sleep.saturating_mul(2).min(self.max_sleep);
    }
}
