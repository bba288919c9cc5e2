//! Discarding a lazy `imap`, callbacks or a builder warns
//! (`unused_must_use`): each statement below discards one and expects that
//! warning. Without its `#[must_use]` the expectation is unfulfilled, which
//! is an error here, so this file stops compiling (and `cargo test` fails)
//! if one is removed. Nothing here runs: compiling it is the test.
#![deny(unfulfilled_lint_expectations)]
#![allow(dead_code)]

use std::num::NonZeroUsize;

use mp_pool::{Callbacks, Pool, PoolError};

fn double(n: u64) -> u64 {
    n * 2
}

fn discards(pool: &Pool) -> Result<(), PoolError> {
    #[expect(unused_must_use, reason = "Imap")]
    pool.imap(double, 0..3u64, 1)?;
    #[expect(unused_must_use, reason = "ImapUnordered")]
    pool.imap_unordered(double, 0..3u64, 1)?;
    let parsed = || ["1", "x"].into_iter().map(str::parse::<u64>);
    #[expect(unused_must_use, reason = "TryImap")]
    pool.try_imap(double, parsed(), 1)?;
    #[expect(unused_must_use, reason = "TryImapUnordered")]
    pool.try_imap_unordered(double, parsed(), 1)?;
    Ok(())
}

fn discards_settings() {
    #[expect(unused_must_use, reason = "Builder")]
    Pool::builder().processes(2);
    #[expect(unused_must_use, reason = "Builder")]
    Pool::builder().max_in_flight_per_process(NonZeroUsize::MIN);
    #[expect(unused_must_use, reason = "Callbacks")]
    Callbacks::<u64>::new().on_success(|_| {});
}
