//! `Mutex` and `Condvar` with Python's `threading.Condition` surface.
#![cfg(any(feature = "std", all(feature = "futex", target_os = "linux")))]

use future_core::{Condvar, Mutex};
use std::{sync::Arc, thread, time::Duration};

#[test]
fn the_mutex_excludes() {
    let m = Arc::new(Mutex::new(0u64));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let m = Arc::clone(&m);
            thread::spawn(move || {
                for _ in 0..10_000 {
                    *m.lock() += 1;
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(*m.lock(), 40_000);
}

#[test]
fn try_lock_fails_while_held() {
    let m = Mutex::new(());
    let g = m.lock();
    assert!(m.try_lock().is_none());
    drop(g);
    assert!(m.try_lock().is_some());
    assert_eq!(Mutex::new(5).into_inner(), 5);
}

#[test]
fn wait_for_sees_the_predicate_become_true() {
    let pair = Arc::new((Mutex::new(0u32), Condvar::new()));
    let p = Arc::clone(&pair);
    let producer = thread::spawn(move || {
        for _ in 0..5 {
            *p.0.lock() += 1;
            p.1.notify_one();
        }
    });
    let guard = pair.1.wait_for(pair.0.lock(), |n| *n == 5);
    assert_eq!(*guard, 5);
    drop(guard);
    producer.join().unwrap();
}

#[test]
fn notify_all_wakes_every_waiter() {
    let pair = Arc::new((Mutex::new(false), Condvar::new()));
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let p = Arc::clone(&pair);
            thread::spawn(move || *p.1.wait_for(p.0.lock(), |go| *go))
        })
        .collect();
    *pair.0.lock() = true;
    pair.1.notify_all();
    for w in waiters {
        assert!(w.join().unwrap());
    }
}

#[test]
fn timed_waits_time_out_when_nobody_notifies() {
    let m = Mutex::new(1);
    let cv = Condvar::new();
    let (g, timed_out) = cv.wait_timeout(m.lock(), Duration::from_millis(5));
    assert!(timed_out);
    let (g, ok) = cv.wait_for_timeout(g, Duration::from_millis(5), |v| *v == 2);
    assert!(!ok, "the predicate never became true");
    let (_g, ok) = cv.wait_for_timeout(g, Duration::ZERO, |v| *v == 1);
    assert!(ok, "a true predicate is returned without waiting");
}
