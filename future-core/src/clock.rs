//! Monotonic time for deadlines, with or without std.
//!
//! Timed waits turn a timeout into a deadline once and then loop until it
//! passes, so spurious wake-ups never stretch a wait. Without std there is no
//! `Instant`; a [`Clock`] supplies the time instead.

use core::time::Duration;

/// A monotonic clock: readings never go backwards.
///
/// Readings are durations since an arbitrary, fixed starting point; only
/// differences between readings of the same clock mean anything.
///
/// # Examples
///
/// A clock for a bare-metal board, reading a hardware tick counter:
///
/// ```
/// use core::time::Duration;
/// use future_core::Clock;
///
/// struct Ticks;
/// fn read_tick_counter() -> u64 { 42 } // a register read on real hardware
///
/// impl Clock for Ticks {
///     fn now(&self) -> Duration {
///         Duration::from_micros(read_tick_counter()) // a 1 MHz timer
///     }
/// }
/// assert_eq!(Ticks.now(), Duration::from_micros(42));
/// ```
pub trait Clock {
    /// The current reading.
    fn now(&self) -> Duration;
}

/// The clock of `std::time::Instant`.
#[cfg(feature = "std")]
#[derive(Debug, Clone, Copy, Default)]
pub struct StdClock;

#[cfg(feature = "std")]
impl Clock for StdClock {
    fn now(&self) -> Duration {
        use std::{sync::OnceLock, time::Instant};
        static EPOCH: OnceLock<Instant> = OnceLock::new();
        EPOCH.get_or_init(Instant::now).elapsed()
    }
}

/// `clock_gettime(CLOCK_MONOTONIC)` through rustix: a clock for Linux without std.
///
/// # References
/// - [Linux `clock_gettime(2)`](https://man7.org/linux/man-pages/man2/clock_gettime.2.html)
#[cfg(all(feature = "futex", target_os = "linux"))]
#[derive(Debug, Clone, Copy, Default)]
pub struct MonotonicClock;

#[cfg(all(feature = "futex", target_os = "linux"))]
impl Clock for MonotonicClock {
    fn now(&self) -> Duration {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
        // CLOCK_MONOTONIC never reads negative; clamp rather than trust that.
        let secs = u64::try_from(t.tv_sec).unwrap_or(0);
        let nanos = u32::try_from(t.tv_nsec).unwrap_or(0);
        Duration::new(secs, nanos)
    }
}

/// The clock that the methods taking a plain `timeout` use: [`StdClock`] with
/// `std`, else [`MonotonicClock`] on Linux with `futex`. Without either there
/// is none; use the `*_with_clock` methods and a [`Clock`] of your own.
#[cfg(feature = "std")]
pub type DefaultClock = StdClock;
/// The clock that the methods taking a plain `timeout` use (see [`StdClock`]).
#[cfg(all(not(feature = "std"), feature = "futex", target_os = "linux"))]
pub type DefaultClock = MonotonicClock;

/// For waits that never read a clock (no timeout, or a zero one): reading it
/// would be a bug, so it reports time standing still.
#[cfg(feature = "alloc")]
#[derive(Debug, Clone, Copy)]
pub(crate) struct Unread;

#[cfg(feature = "alloc")]
impl Clock for Unread {
    fn now(&self) -> Duration {
        debug_assert!(false, "a wait without a deadline read the clock");
        Duration::ZERO
    }
}

/// A deadline on some clock: a timeout turned into an absolute reading once,
/// so a loop of waits that wake early still ends on time.
///
/// ```
/// use core::time::Duration;
/// use future_core::{Deadline, StdClock};
///
/// let d = Deadline::after(&StdClock, Some(Duration::ZERO));
/// assert!(d.expired());
/// assert!(Deadline::after(&StdClock, None).remaining().is_none());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Deadline<'c, C: ?Sized> {
    clock: &'c C,
    at: Option<Duration>,
}

impl<'c, C: Clock + ?Sized> Deadline<'c, C> {
    /// `None` waits forever; a timeout too large to represent also does.
    pub fn after(clock: &'c C, timeout: Option<Duration>) -> Self {
        let at = timeout.and_then(|t| clock.now().checked_add(t));
        Self { clock, at }
    }

    /// The time left, `Some(ZERO)` once passed, or `None` for no deadline.
    pub fn remaining(&self) -> Option<Duration> {
        self.at.map(|at| at.saturating_sub(self.clock.now()))
    }

    /// Whether the deadline has passed.
    pub fn expired(&self) -> bool {
        self.remaining() == Some(Duration::ZERO)
    }
}
