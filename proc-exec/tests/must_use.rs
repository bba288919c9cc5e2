//! Discarding a lazy result, options or a builder warns (`unused_must_use`):
//! each statement below discards one and expects that warning. Without its
//! `#[must_use]` the expectation is unfulfilled, which is an error here, so
//! this file stops compiling (and `cargo test` fails) if one is removed.
//! Nothing here runs: compiling it is the test.
#![deny(unfulfilled_lint_expectations)]
#![allow(dead_code)]

use std::num::NonZeroUsize;
use std::time::Duration;

use proc_exec::{
    Function, MapOptions, Process, ProcessPoolExecutor, StartMethod, SubmitError, TaskOptions,
};

fn double(n: u64) -> u64 {
    n * 2
}

fn discards(pool: &ProcessPoolExecutor) -> Result<(), SubmitError> {
    #[expect(unused_must_use, reason = "Map")]
    pool.map(double, 0..3u64)?;
    #[expect(unused_must_use, reason = "Map, from map_with")]
    pool.map_with(double, 0..3u64, MapOptions::new())?;
    #[expect(unused_must_use, reason = "MapUnordered")]
    pool.map_unordered(double, 0..3u64, MapOptions::new())?;
    let parsed = || ["1", "x"].into_iter().map(str::parse::<u64>);
    #[expect(unused_must_use, reason = "Map over a Fallible input")]
    pool.try_map_with(double, parsed(), MapOptions::new())?;
    #[expect(unused_must_use, reason = "MapUnordered over a Fallible input")]
    pool.try_map_unordered(double, parsed(), MapOptions::new())?;
    #[expect(unused_must_use, reason = "submit_chunk's ChunkFuture")]
    pool.submit_chunk(Function::new(double), &[1, 2]);
    Ok(())
}

fn discards_settings(options: MapOptions) {
    #[expect(unused_must_use, reason = "MapOptions")]
    options.chunksize(NonZeroUsize::MIN);
    #[expect(unused_must_use, reason = "MapOptions")]
    options.buffersize(NonZeroUsize::MIN);
    #[expect(unused_must_use, reason = "MapOptions")]
    options.timeout(Duration::ZERO);
    #[expect(unused_must_use, reason = "MapOptions")]
    options.keep_going();
    #[expect(unused_must_use, reason = "MapOptions")]
    options.defer_start();
    #[expect(unused_must_use, reason = "TaskOptions")]
    TaskOptions::new().timeout(Duration::ZERO);
    #[expect(unused_must_use, reason = "Builder")]
    ProcessPoolExecutor::builder().max_workers(2);
}

fn discards_process(process: Process<u64>) {
    #[expect(unused_must_use, reason = "Process::start_method")]
    process.start_method(StartMethod::Fork);
}
