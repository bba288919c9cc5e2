//! Discarding a lazy map, its options or a builder warns
//! (`unused_must_use`): each statement below discards one and expects that
//! warning. Without its `#[must_use]` the expectation is unfulfilled, which
//! is an error here, so this file stops compiling (and `cargo test` fails)
//! if one is removed. Nothing here runs: compiling it is the test.
#![deny(unfulfilled_lint_expectations)]
#![allow(dead_code)]

use std::num::NonZeroUsize;
use std::time::Duration;

use thread_exec::{MapOptions, SubmitError, ThreadPoolExecutor};

fn discards(pool: &ThreadPoolExecutor) -> Result<(), SubmitError<()>> {
    #[expect(unused_must_use, reason = "Map")]
    pool.map(|n: u64| n * 2, 0..3u64)?;
    #[expect(unused_must_use, reason = "Map, from map_with")]
    pool.map_with(|n: u64| n * 2, 0..3u64, MapOptions::new())?;
    Ok(())
}

fn discards_settings(options: MapOptions) {
    #[expect(unused_must_use, reason = "MapOptions")]
    options.timeout(Duration::ZERO);
    #[expect(unused_must_use, reason = "MapOptions")]
    options.buffersize(NonZeroUsize::MIN);
    #[expect(unused_must_use, reason = "MapOptions")]
    options.chunksize(NonZeroUsize::MIN);
    #[expect(unused_must_use, reason = "Builder")]
    ThreadPoolExecutor::builder().max_workers(2);
    #[expect(unused_must_use, reason = "Builder")]
    ThreadPoolExecutor::builder().thread_name_prefix("x");
}
