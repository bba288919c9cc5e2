//! ThreadPoolExecutor: workers, submit, panics, cancellation, shutdown, Drop
//! (cpython-api.md 1.5 and 1.6).

mod common;

use common::{GUARD, Gate, pool};
use future_core::{ResultError, State};
use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    thread,
};
use thread_exec::{BuildError, SubmitErrorKind, TaskError, ThreadPoolExecutor};

#[test]
fn zero_workers_is_an_error_and_the_default_is_pythons() {
    let err = ThreadPoolExecutor::builder()
        .max_workers(0)
        .build()
        .unwrap_err();
    assert_eq!(err, BuildError::ZeroWorkers);
    assert_eq!(err.to_string(), "max_workers must be greater than 0");
    let cpus = thread::available_parallelism().map_or(1, usize::from);
    assert_eq!(ThreadPoolExecutor::new().max_workers(), (cpus + 4).min(32));
}

#[test]
fn max_workers_beyond_what_the_pool_counts_is_lowered() {
    let most = if cfg!(target_pointer_width = "64") {
        65_535
    } else {
        255
    };
    let p = ThreadPoolExecutor::builder()
        .max_workers(usize::MAX)
        .build()
        .unwrap();
    assert_eq!(p.max_workers(), most);
    assert_eq!(p.submit(|| 7).unwrap().into_result(), Ok(7));
}

#[test]
fn no_thread_starts_before_the_first_submit() {
    let p = pool(4);
    assert_eq!(p.num_threads(), 0);
    p.submit(|| ()).unwrap().into_result().unwrap();
    assert_eq!(p.num_threads(), 1);
}

#[test]
fn submits_in_a_row_reuse_one_thread() {
    let p = pool(8);
    for i in 0..50u32 {
        assert_eq!(p.submit(move || i * 2).unwrap().into_result(), Ok(i * 2));
    }
    assert_eq!(
        p.num_threads(),
        1,
        "a finished worker is reused, not a new one started"
    );
}

#[test]
fn blocking_tasks_use_exactly_max_workers_threads() {
    let p = pool(4);
    let gate = Gate::new();
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let futures: Vec<_> = (0..60)
        .map(|_| {
            let (gate, running, peak) = (gate.clone(), running.clone(), peak.clone());
            p.submit(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                gate.wait();
                running.fetch_sub(1, Ordering::SeqCst);
            })
            .unwrap()
        })
        .collect();
    assert_eq!(p.num_threads(), 4);
    gate.open();
    for f in futures {
        f.into_result().unwrap();
    }
    assert_eq!(p.num_threads(), 4);
    assert!(peak.load(Ordering::SeqCst) <= 4);
}

#[test]
fn threads_are_named_prefix_underscore_n() {
    let p = ThreadPoolExecutor::builder()
        .max_workers(2)
        .thread_name_prefix("worker")
        .build()
        .unwrap();
    let name = p
        .submit(|| thread::current().name().map(String::from))
        .unwrap();
    assert_eq!(name.into_result().unwrap().as_deref(), Some("worker_0"));

    let default = pool(1);
    let name = default
        .submit(|| thread::current().name().unwrap().to_string())
        .unwrap();
    let name = name.into_result().unwrap();
    assert!(
        name.starts_with("ThreadPoolExecutor-") && name.ends_with("_0"),
        "{name}"
    );
}

#[test]
fn a_panic_fails_its_future_and_the_worker_survives() {
    let p = pool(1);
    let boom = p.submit(|| -> u32 { panic!("kaboom {}", 7) }).unwrap();
    assert_eq!(
        boom.into_result(),
        Err(ResultError::Failed(TaskError::Panicked("kaboom 7".into())))
    );
    assert_eq!(p.submit(|| 5).unwrap().into_result(), Ok(5));
    assert_eq!(p.num_threads(), 1);
}

#[test]
fn a_task_cancelled_while_queued_is_skipped() {
    let p = pool(1);
    let gate = Gate::new();
    let g = gate.clone();
    let blocker = p.submit(move || g.wait()).unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let queued = p.submit(move || r.fetch_add(1, Ordering::SeqCst)).unwrap();
    assert!(queued.cancel());
    gate.open();
    blocker.into_result().unwrap();
    p.shutdown(true, false);
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    assert_eq!(
        queued.state(),
        State::CancelledAndNotified,
        "the worker acknowledged it"
    );
}

#[test]
fn submit_after_shutdown_is_refused_and_hands_the_task_back() {
    let p = pool(2);
    p.shutdown(false, false);
    let err = p.submit(|| 42).unwrap_err();
    assert_eq!(err.kind(), &SubmitErrorKind::Shutdown);
    assert_eq!(
        err.to_string(),
        "cannot schedule new futures after shutdown"
    );
    assert_eq!((err.into_task())(), 42);
    p.shutdown(true, true);
    p.shutdown(true, false);
}

#[test]
fn shutdown_with_cancel_futures_cancels_the_queue_and_wakes_its_waiters() {
    let p = pool(1);
    let (started, gate) = (Gate::new(), Gate::new());
    let (s, g) = (started.clone(), gate.clone());
    let running = p
        .submit(move || {
            s.open();
            g.wait();
        })
        .unwrap();
    let queued: Vec<_> = (0..5).map(|i| p.submit(move || i).unwrap()).collect();
    started.wait();
    thread::scope(|s| {
        // CPython gh-92001: waiters on futures cancelled by shutdown hang.
        let waiter = s.spawn(|| {
            let r = waiters::wait(&queued, GUARD, waiters::ReturnWhen::AllCompleted);
            r.not_done.len()
        });
        p.shutdown(false, true);
        assert_eq!(waiter.join().unwrap(), 0);
    });
    for f in &queued {
        assert!(f.cancelled());
    }
    gate.open();
    p.shutdown(true, false);
    assert_eq!(
        running.into_result(),
        Ok(()),
        "the running task finished normally"
    );
    assert_eq!(p.num_threads(), 0);
}

#[test]
fn shutdown_with_wait_runs_the_queue_and_joins_every_worker() {
    let p = pool(3);
    let done = Arc::new(AtomicUsize::new(0));
    let futures: Vec<_> = (0..100)
        .map(|_| {
            let d = done.clone();
            p.submit(move || d.fetch_add(1, Ordering::SeqCst)).unwrap()
        })
        .collect();
    p.shutdown(true, false);
    assert_eq!(done.load(Ordering::SeqCst), 100);
    assert_eq!(p.num_threads(), 0);
    assert!(futures.iter().all(|f| f.state() == State::Finished));
}

#[test]
fn drop_waits_for_queued_work() {
    let done = Arc::new(AtomicUsize::new(0));
    let futures: Vec<_> = {
        let p = pool(2);
        (0..20)
            .map(|_| {
                let d = done.clone();
                p.submit(move || d.fetch_add(1, Ordering::SeqCst)).unwrap()
            })
            .collect()
    };
    assert_eq!(done.load(Ordering::SeqCst), 20);
    assert!(futures.iter().all(|f| f.done()));
}

#[test]
fn a_task_may_shut_down_its_own_pool_with_wait() {
    let p = Arc::new(pool(2));
    let p2 = Arc::clone(&p);
    let f = p.submit(move || p2.shutdown(true, false)).unwrap();
    assert_eq!(f.result(GUARD), Ok(&()));
    assert!(p.submit(|| ()).is_err());
}

#[test]
fn initializer_runs_once_per_worker() {
    let inits = Arc::new(AtomicUsize::new(0));
    let i = inits.clone();
    let p = ThreadPoolExecutor::builder()
        .max_workers(3)
        .initializer(move || {
            i.fetch_add(1, Ordering::SeqCst);
            Ok::<(), String>(())
        })
        .build()
        .unwrap();
    let gate = Gate::new();
    let futures: Vec<_> = (0..3)
        .map(|_| {
            let g = gate.clone();
            p.submit(move || g.wait()).unwrap()
        })
        .collect();
    gate.open();
    for f in futures {
        f.into_result().unwrap();
    }
    for _ in 0..10 {
        p.submit(|| ()).unwrap().into_result().unwrap();
    }
    p.shutdown(true, false);
    assert_eq!(inits.load(Ordering::SeqCst), 3);
}

#[test]
fn a_failing_initializer_breaks_the_pool() {
    // The initializer fails only once every submit below was accepted: a
    // worker that started (and failed) first would refuse them.
    let accepted = Gate::new();
    let a = accepted.clone();
    let p = ThreadPoolExecutor::builder()
        .max_workers(1)
        .initializer(move || {
            a.wait();
            Err::<(), _>("no database")
        })
        .build()
        .unwrap();
    let pending: Vec<_> = (0..3)
        .map(|i| {
            p.submit(move || i)
                .unwrap_or_else(|_| panic!("refused early"))
        })
        .collect();
    accepted.open();
    for f in pending {
        match f.into_result() {
            Err(ResultError::Failed(TaskError::Broken(b))) => assert_eq!(b.cause(), "no database"),
            other => panic!("expected a broken-pool error, got {other:?}"),
        }
    }
    let err = p.submit(|| 0).unwrap_err();
    match err.kind() {
        SubmitErrorKind::Broken(b) => {
            assert!(
                b.to_string()
                    .contains("the thread pool is not usable anymore: no database")
            );
        }
        other => panic!("expected Broken, got {other:?}"),
    }
    assert!(p.submit(|| 0).is_err(), "broken is sticky");
}

#[test]
fn a_panicking_initializer_breaks_the_pool_too() {
    let p = ThreadPoolExecutor::builder()
        .max_workers(2)
        .initializer(|| -> Result<(), String> { panic!("init exploded") })
        .build()
        .unwrap();
    let f = p.submit(|| 1).unwrap();
    match f.into_result() {
        Err(ResultError::Failed(TaskError::Broken(b))) => {
            assert_eq!(b.cause(), "the initializer panicked: init exploded");
        }
        other => panic!("expected a broken-pool error, got {other:?}"),
    }
}

#[test]
fn many_submitters_and_one_shutdown_lose_nothing() {
    let p = Arc::new(pool(4));
    let outcomes = Arc::new(Mutex::new((0usize, 0usize)));
    thread::scope(|s| {
        for _ in 0..4 {
            let (p, outcomes) = (p.clone(), outcomes.clone());
            s.spawn(move || {
                for i in 0..500u32 {
                    match p.submit(move || i) {
                        Ok(f) => {
                            assert!(matches!(f.into_result(), Ok(v) if v == i));
                            outcomes.lock().unwrap().0 += 1;
                        }
                        Err(_) => outcomes.lock().unwrap().1 += 1,
                    }
                }
            });
        }
        let p = p.clone();
        s.spawn(move || p.shutdown(true, false));
    });
    let (accepted, refused) = *outcomes.lock().unwrap();
    assert_eq!(accepted + refused, 2000);
}

#[test]
fn a_broken_pool_error_reads_once() {
    let pool = ThreadPoolExecutor::builder()
        .max_workers(1)
        .initializer(|| Err::<(), _>("no database"))
        .build()
        .unwrap();
    let error = match pool.submit(|| 1) {
        Ok(future) => future.into_result().unwrap_err().to_string(),
        Err(refused) => refused.to_string(),
    };
    assert!(error.contains("no database"), "{error}");
    let broken = pool.submit(|| 2).map(|f| f.into_result());
    let texts = match broken {
        Ok(Err(error)) => test_support::errors::assert_reads_once(&error),
        Err(refused) => test_support::errors::assert_reads_once(&refused),
        Ok(Ok(value)) => panic!("a broken pool ran a task: {value}"),
    };
    assert!(texts[0].contains("no database"), "{texts:?}");
}

#[test]
fn a_send_but_not_sync_result_is_produced_by_a_worker_and_read_by_the_submitter() {
    // `std::thread::spawn` asks only `Send` of a result; so does `submit`.
    let p = pool(2);
    let fut = p.submit(|| std::cell::RefCell::new(vec![1])).unwrap();
    let cell = fut.result(GUARD).unwrap();
    cell.borrow_mut().push(2);
    assert_eq!(*cell.borrow(), [1, 2]);
    assert_eq!(fut.into_result().unwrap().into_inner(), [1, 2]);
    let squares: Vec<_> = p
        .map(|n: u32| std::cell::Cell::new(n * n), 1..4)
        .unwrap()
        .map(|r| r.unwrap().get())
        .collect();
    assert_eq!(squares, [1, 4, 9]);
}
