//! Errors read once: `PoolError` and `BuildError` show the inner error's
//! text as their own and do not return it from `source()` as well.

mod common;

use std::io;

use common::errors::assert_reads_once;
use common::{clean, panics_on_zero, pool};
use mp_pool::{BuildError, PoolError};

#[test]
fn a_task_error_reads_once() {
    let clean = clean();
    let pool = pool(1);
    let error = pool.apply(panics_on_zero, 0).unwrap_err();
    // Named through mp-pool's re-exports: no other crate needed.
    assert!(matches!(
        error,
        PoolError::Task(mp_pool::TaskError::Panicked(_))
    ));
    let texts = assert_reads_once(&error);
    assert!(texts[0].contains("zero is not allowed"), "{texts:?}");
    pool.close();
    pool.join().unwrap();
    drop(pool);
    clean.check();
}

#[test]
fn build_errors_read_once() {
    let wrapped = BuildError::Exec(mp_pool::proc_exec::BuildError::StartMethod(
        io::Error::other("no /proc"),
    ));
    let texts = assert_reads_once(&wrapped);
    assert!(texts[0].contains("no /proc"), "{texts:?}");
    let texts = assert_reads_once(&BuildError::Io(io::Error::other("no threads")));
    assert!(texts[0].contains("no threads"), "{texts:?}");
}
