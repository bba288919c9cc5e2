//! Python's Future state machine, transition by transition (cpython-api.md 1.2).
#![cfg(any(feature = "std", all(feature = "futex", target_os = "linux")))]

use future_core::{FutureCell, ResultError, State, Status, WaitError};
use std::time::Duration;

type Cell = FutureCell<u32, &'static str, 4>;

fn pending() -> Cell {
    Cell::new()
}
fn running() -> Cell {
    let f = Cell::new();
    assert_eq!(f.set_running_or_notify_cancel(), Ok(true));
    f
}
fn cancelled() -> Cell {
    let f = Cell::new();
    assert!(f.cancel());
    f
}
fn cancelled_and_notified() -> Cell {
    let f = cancelled();
    assert_eq!(f.set_running_or_notify_cancel(), Ok(false));
    f
}
fn finished() -> Cell {
    let f = Cell::new();
    f.set_result(1).unwrap();
    f
}

#[test]
fn each_constructor_reaches_its_state() {
    assert_eq!(pending().state(), State::Pending);
    assert_eq!(running().state(), State::Running);
    assert_eq!(cancelled().state(), State::Cancelled);
    assert_eq!(
        cancelled_and_notified().state(),
        State::CancelledAndNotified
    );
    assert_eq!(finished().state(), State::Finished);
}

#[test]
fn queries_match_python() {
    // (future, done, running, cancelled)
    let table = [
        (pending(), false, false, false),
        (running(), false, true, false),
        (cancelled(), true, false, true),
        (cancelled_and_notified(), true, false, true),
        (finished(), true, false, false),
    ];
    for (f, done, run, canc) in table {
        assert_eq!(
            (f.done(), f.running(), f.cancelled()),
            (done, run, canc),
            "{f:?}"
        );
    }
}

#[test]
fn cancel_from_every_state() {
    assert!(pending().cancel());
    assert!(!running().cancel());
    assert!(cancelled().cancel());
    assert!(cancelled_and_notified().cancel());
    assert!(!finished().cancel());
    let f = running();
    f.cancel();
    assert_eq!(
        f.state(),
        State::Running,
        "cancel changes nothing on RUNNING"
    );
}

#[test]
fn set_running_or_notify_cancel_from_every_state() {
    assert_eq!(pending().set_running_or_notify_cancel(), Ok(true));
    assert_eq!(cancelled().set_running_or_notify_cancel(), Ok(false));
    for (f, state) in [
        (running(), State::Running),
        (cancelled_and_notified(), State::CancelledAndNotified),
        (finished(), State::Finished),
    ] {
        let err = f.set_running_or_notify_cancel().unwrap_err();
        assert_eq!(err.state(), state);
        assert_eq!(
            err.to_string(),
            format!("future in unexpected state: {state}")
        );
    }
}

#[test]
fn set_result_and_set_exception_from_pending_or_running() {
    for f in [pending(), running()] {
        f.set_result(5).unwrap();
        assert_eq!(f.result(None), Ok(&5));
        assert_eq!(f.exception(None), Ok(None));
        assert_eq!(f.status(), Status::Succeeded);
    }
    for f in [pending(), running()] {
        f.set_exception("boom").unwrap();
        assert_eq!(f.result(None), Err(ResultError::Failed(&"boom")));
        assert_eq!(f.exception(None), Ok(Some(&"boom")));
        assert_eq!(f.status(), Status::Failed);
    }
}

#[test]
fn a_second_set_is_invalid_state_and_keeps_the_first() {
    for f in [finished(), cancelled(), cancelled_and_notified()] {
        let state = f.state();
        let err = f.set_result(99).unwrap_err();
        assert_eq!(err.state(), state);
        assert_eq!(err.into_inner(), 99, "the rejected value comes back");
        let err = f.set_exception("late").unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("invalid state: the future is already {state}")
        );
    }
    let f = finished();
    let _ = f.set_exception("late");
    assert_eq!(f.result(None), Ok(&1));
}

#[test]
fn results_of_cancelled_and_pending_futures() {
    for f in [cancelled(), cancelled_and_notified()] {
        assert_eq!(f.result(None), Err(ResultError::Cancelled));
        assert_eq!(f.exception(None), Err(WaitError::Cancelled));
    }
    let f = pending();
    assert_eq!(f.result(Some(Duration::ZERO)), Err(ResultError::Timeout));
    assert_eq!(f.exception(Some(Duration::ZERO)), Err(WaitError::Timeout));
    // A real (short) timeout elapses: nothing will ever complete this future.
    assert_eq!(
        f.result(Some(Duration::from_millis(5))),
        Err(ResultError::Timeout)
    );
    assert_eq!(
        running().result(Some(Duration::from_millis(1))),
        Err(ResultError::Timeout)
    );
}

#[test]
fn take_outcome_moves_once() {
    let mut f: FutureCell<String, (), 1> = FutureCell::new();
    assert_eq!(f.take_outcome(), None);
    f.set_result("owned".to_string()).unwrap();
    assert_eq!(f.take_outcome(), Some(Ok("owned".to_string())));
    assert_eq!(f.take_outcome(), None);
    assert_eq!(f.state(), State::Finished);
}

#[test]
fn dropping_a_finished_cell_drops_the_value_once() {
    use std::sync::Arc;
    let value = Arc::new(());
    {
        let f: FutureCell<Arc<()>, (), 1> = FutureCell::new();
        f.set_result(Arc::clone(&value)).unwrap();
        assert_eq!(Arc::strong_count(&value), 2);
    }
    assert_eq!(Arc::strong_count(&value), 1);
    let mut f: FutureCell<Arc<()>, (), 1> = FutureCell::new();
    f.set_result(Arc::clone(&value)).unwrap();
    let taken = f.take_outcome().unwrap().unwrap();
    drop(f);
    assert_eq!(
        Arc::strong_count(&value),
        2,
        "a taken value is not dropped by the cell"
    );
    drop(taken);
}

#[test]
fn debug_uses_python_repr_words() {
    assert!(format!("{:?}", finished()).contains("finished returned"));
    let f = pending();
    f.set_exception("x").unwrap();
    assert!(format!("{f:?}").contains("finished raised"));
    assert!(format!("{:?}", cancelled()).contains("cancelled"));
}
