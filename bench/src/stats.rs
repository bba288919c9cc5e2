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

/// Runs a CPython peer script from `bench/peers/` with these arguments and
/// returns its `name value unit` lines as `(name, value)`. When python3 is
/// missing or the script failed (its stderr is passed through), says why
/// at the end of each of `names` (the rows' names) and returns nothing, so
/// the rows keep their empty cells.
pub(crate) fn run_peer(
    script: &str,
    args: &[usize],
    names: &mut [&mut String],
) -> Vec<(String, f64)> {
    match peer_output(script, args) {
        Ok(values) => values,
        Err(why) => {
            names.iter_mut().for_each(|name| name.push_str(&why));
            Vec::new()
        }
    }
}

fn peer_output(script: &str, args: &[usize]) -> Result<Vec<(String, f64)>, String> {
    let path = format!("{}/peers/{script}", env!("CARGO_MANIFEST_DIR"));
    let output = std::process::Command::new("python3")
        .arg(path)
        .args(args.iter().map(ToString::to_string))
        .output()
        .map_err(|_| " (python3 not found)".to_owned())?;
    if !output.status.success() {
        eprint!("{}", String::from_utf8_lossy(&output.stderr));
        return Err(format!(" ({script} failed: {})", output.status));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    Ok(peer_values(&stdout)
        .map(|(n, v)| (n.to_owned(), v))
        .collect())
}
