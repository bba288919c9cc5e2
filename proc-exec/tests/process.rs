//! `Process`: one function in one child, with multiprocessing.Process's
//! lifecycle. Every test ends with no child and no fd left behind.

mod common;

use std::time::Duration;

use common::{Fifo, GUARD, Method, clean, methods, start_method};
use proc_exec::{Process, ProcessError, TaskError};

/// `process` with the start method the tests run with, if one is chosen
/// (else `Process`'s own default).
fn chosen<R: serde::de::DeserializeOwned, E>(process: Process<R, E>) -> Process<R, E> {
    match Method::chosen() {
        Some(method) => process.start_method(start_method(method)),
        None => process,
    }
}

fn factorial(n: u64) -> u64 {
    (1..=n).product()
}

fn wait_for(path: String) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn runs_a_function_and_returns_its_result() {
    for method in methods() {
        let clean = clean();
        let mut child = Process::new(factorial, 10).unwrap().start_method(method);
        assert_eq!(child.pid(), None);
        assert_eq!(child.exitcode(), None);
        child.start().unwrap();
        let pid = child.pid().unwrap();
        assert_ne!(pid, std::process::id());
        assert_eq!(child.join(GUARD).unwrap(), &Ok(3_628_800));
        assert_eq!(child.exitcode(), Some(0));
        assert!(!child.is_alive());
        assert_eq!(child.into_result(), Some(Ok(3_628_800)));
        clean.check();
    }
}

#[test]
fn lifecycle_errors_are_clear() {
    let clean = clean();
    let mut child = chosen(Process::new(factorial, 3).unwrap());
    assert!(matches!(child.join(GUARD), Err(ProcessError::NotStarted)));
    assert!(matches!(child.kill(), Err(ProcessError::NotStarted)));
    assert!(child.sentinel().is_none());
    child.start().unwrap();
    assert!(matches!(child.start(), Err(ProcessError::AlreadyStarted)));
    assert_eq!(child.join(GUARD).unwrap(), &Ok(6));
    // Joining again returns the same result.
    assert_eq!(child.join(GUARD).unwrap(), &Ok(6));
    drop(child);
    clean.check();
}

#[test]
fn join_with_a_timeout_then_terminate() {
    let clean = clean();
    let fifo = Fifo::new("process-terminate");
    let mut child = chosen(Process::new(wait_for, fifo.path.clone()).unwrap());
    child.start().unwrap();
    assert!(matches!(
        child.join(Some(Duration::ZERO)),
        Err(ProcessError::Timeout)
    ));
    assert!(child.is_alive());
    assert!(child.sentinel().is_some());
    child.terminate().unwrap();
    let expected_pid = child.pid();
    match child.join(GUARD).unwrap() {
        Err(TaskError::Died { pid, status }) => {
            assert_eq!(Some(*pid), expected_pid);
            assert_eq!(status.signal(), Some(15));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(child.exitcode(), Some(-15));
    // Signalling a reaped child does nothing.
    child.kill().unwrap();
    drop(child);
    clean.check();
}

#[test]
fn dropping_a_running_process_kills_and_reaps_it() {
    let clean = clean();
    let fifo = Fifo::new("process-drop");
    for method in methods() {
        let mut child = Process::new(wait_for, fifo.path.clone())
            .unwrap()
            .start_method(method);
        child.start().unwrap();
        drop(child);
    }
    clean.check();
}

#[test]
fn a_panic_and_an_error_come_back_typed() {
    let clean = clean();
    let mut child = chosen(Process::new(|_: ()| -> u8 { panic!("child gave up") }, ()).unwrap());
    child.start().unwrap();
    match child.join(GUARD).unwrap() {
        Err(TaskError::Panicked(message)) => assert!(message.contains("child gave up")),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        child.exitcode(),
        Some(0),
        "the worker itself exits normally"
    );
    drop(child);

    let mut child =
        chosen(Process::new_fallible(|n: i32| if n < 0 { Err(n) } else { Ok(n) }, -3).unwrap());
    child.start().unwrap();
    assert_eq!(child.join(GUARD).unwrap(), &Err(TaskError::Raised(-3)));
    drop(child);
    clean.check();
}

#[test]
fn abort_in_the_child_is_reported_as_signal_6() {
    let clean = clean();
    let mut child = chosen(Process::new(|_: ()| -> u8 { std::process::abort() }, ()).unwrap());
    child.start().unwrap();
    match child.join(GUARD).unwrap() {
        Err(TaskError::Died { status, .. }) => assert_eq!(status.signal(), Some(6)),
        other => panic!("{other:?}"),
    }
    assert_eq!(child.exitcode(), Some(-6));
    drop(child);
    clean.check();
}
