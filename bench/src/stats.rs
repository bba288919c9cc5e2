//! Percentiles and table rows.

use std::time::Duration;

/// The `p`-th percentile (0..=100) of the samples, which it sorts.
pub(crate) fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort_unstable();
    let rank = ((samples.len() - 1) as f64 * p / 100.0).round() as usize;
    samples[rank]
}

/// Nanoseconds, to two decimals.
pub(crate) fn ns(nanos: f64) -> String {
    format!("{nanos:.2}")
}

/// Microseconds, to two decimals.
pub(crate) fn us(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e6)
}

/// The `name value unit` lines a peer script prints, as `(name, value)`;
/// other lines are skipped.
pub(crate) fn peer_values(stdout: &str) -> impl Iterator<Item = (&str, f64)> {
    stdout.lines().filter_map(|line| {
        let mut parts = line.split_whitespace();
        Some((parts.next()?, parts.next()?.parse().ok()?))
    })
}
