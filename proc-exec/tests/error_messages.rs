//! Errors read once: a wrapper shows the inner error's text or returns it
//! from `source()`, never both (so `anyhow`'s `{:?}` prints each text once),
//! and a task's own error is not announced twice.

mod common;

use std::io;

use common::errors::assert_reads_once;
use common::{GUARD, builder, clean};
use future_core::ResultError;
use proc_exec::{BuildError, InputError, MapError, ProcessError, SubmitError, TaskError};

fn parse(text: String) -> Result<u32, String> {
    text.parse().map_err(|_| format!("bad number {text:?}"))
}

fn dies(_: u32) -> u32 {
    std::process::abort()
}

#[test]
fn a_raised_error_reads_once() {
    let clean = clean();
    let pool = builder().max_workers(1).build().unwrap();
    let future = pool.submit_fallible(parse, "x".to_owned()).unwrap();
    let error = future.result(GUARD).unwrap_err();
    assert!(matches!(error, ResultError::Failed(TaskError::Raised(_))));
    assert_eq!(error.to_string(), "the task failed: bad number \"x\"");
    assert_reads_once(&error);
    drop(pool);
    clean.check();
}

#[test]
fn a_broken_pool_reads_once() {
    let clean = clean();
    let pool = builder().max_workers(1).build().unwrap();
    let error = pool.submit(dies, 1).unwrap().into_result().unwrap_err();
    let texts = assert_reads_once(&error);
    assert!(texts[0].contains("SIGABRT"), "{texts:?}");
    let refused = pool.submit(dies, 2).unwrap_err();
    assert!(matches!(refused, SubmitError::Broken(_)));
    assert_reads_once(&refused);
    assert_reads_once(&MapError::<String>::Submit(refused));
    drop(pool);
    clean.check();
}

#[test]
fn wrappers_of_io_errors_read_once() {
    for error in [
        BuildError::Io(io::Error::other("no threads left")),
        BuildError::StartMethod(io::Error::other("no /proc")),
    ] {
        let texts = assert_reads_once(&error);
        assert!(texts[0].contains("no "), "{texts:?}");
    }
    let texts = assert_reads_once(&ProcessError::Io(io::Error::other("fork failed")));
    assert!(texts[0].contains("fork failed"), "{texts:?}");
    let input = MapError::<String>::Input(InputError::Failed {
        index: 3,
        message: "bad line 3".to_owned(),
    });
    let texts = assert_reads_once(&input);
    assert!(texts[0].contains("bad line 3"), "{texts:?}");
}
