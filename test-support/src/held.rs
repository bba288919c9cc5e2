//! A lock held by another thread of this process: what `fork` copies into
//! a child as held forever, for the tests that check which start methods
//! are safe in a threaded program.

use std::sync::mpsc;
use std::thread::JoinHandle;

/// A thread holding what `take` returned (a lock guard) from the moment
/// [`Held::new`] returns until it is dropped.
#[derive(Debug)]
pub struct Held {
    release: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Held {
    /// Starts a thread that calls `take` and keeps its result; returns once
    /// the thread has it. The guard is made and dropped on that thread, so
    /// it need not be `Send`.
    pub fn new<G>(take: impl FnOnce() -> G + Send + 'static) -> Self {
        let (taken, is_taken) = mpsc::channel::<()>();
        let (release, released) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let guard = take();
            let _ = taken.send(());
            // A dropped `Held` disconnects the channel: that is the release.
            let _ = released.recv();
            drop(guard);
        });
        is_taken
            .recv()
            .expect("the holding thread ended before taking its lock");
        Self {
            release: Some(release),
            thread: Some(thread),
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        drop(self.release.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
