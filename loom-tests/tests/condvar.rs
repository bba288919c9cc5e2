//! Loom model of the Mutex + Condvar pair: a notify is never lost.
#![cfg(exec_loom)]

use future_core::{Condvar, Mutex};
use loom::{sync::Arc, thread};

#[test]
fn notify_against_wait() {
    loom::model(|| {
        let pair = Arc::new((Mutex::new(false), Condvar::new()));
        let p = Arc::clone(&pair);
        let notifier = thread::spawn(move || {
            *p.0.lock() = true;
            p.1.notify_one();
        });
        let ready = pair.1.wait_for(pair.0.lock(), |ready| *ready);
        assert!(*ready);
        drop(ready);
        notifier.join().unwrap();
    });
}

#[test]
fn the_mutex_excludes_two_writers() {
    loom::model(|| {
        let m = Arc::new(Mutex::new(0));
        let m2 = Arc::clone(&m);
        let t = thread::spawn(move || *m2.lock() += 1);
        *m.lock() += 1;
        t.join().unwrap();
        assert_eq!(*m.lock(), 2);
    });
}
