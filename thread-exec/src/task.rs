//! A queued unit of work: a closure and the completer of its future, stored
//! in the queue's slot itself when it is small enough.
//!
//! # Safety
//!
//! [`RawJob`] erases a job's type (and lifetime) behind a table of four
//! functions, and keeps the job in its own words when it fits (three words,
//! at most word-aligned; most closures with a capture or two), otherwise in a
//! box whose pointer it keeps. The table's functions are the only code that
//! reads those words, each reads them exactly once (`ManuallyDrop` on the
//! paths that call one, `Drop` on the others), and they read them as the type
//! the table was made for. [`RawJob::erase`] is unsafe only for its lifetime:
//! the caller promises the job stays valid for as long as the `RawJob` lives.
#![allow(unsafe_code)]

use crate::{BrokenThreadPool, TaskError, error::panic_message};
use core::{
    marker::PhantomData,
    mem::{ManuallyDrop, MaybeUninit},
};
use future_core::Completer;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// What the queue holds, before type erasure. Each job ends in exactly one
/// of three ways (or is dropped, which cancels its future).
pub(crate) trait Job: Send + Sized {
    /// Runs the task, unless its future was cancelled while queued.
    /// `finishing` is called after the closure returned and before its future
    /// is completed (the pool uses it to count this worker as available).
    fn run(self, finishing: &dyn Fn());
    /// Cancels the future (shutdown with `cancel_futures`).
    fn cancel(self);
    /// Fails the future because the pool broke.
    fn fail(self, broken: &BrokenThreadPool);
}

/// A closure and where its result goes.
pub(crate) struct Task<F, R> {
    f: F,
    completer: Completer<R, TaskError>,
}

impl<F, R> Task<F, R> {
    pub(crate) fn new(f: F, completer: Completer<R, TaskError>) -> Self {
        Self { f, completer }
    }
}

impl<F, R> Job for Task<F, R>
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    fn run(self, finishing: &dyn Fn()) {
        let Self { f, completer } = self;
        // A future cancelled while queued is acknowledged and skipped.
        if completer.set_running_or_notify_cancel() != Ok(true) {
            return;
        }
        let outcome = catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
            let message = panic_message(payload.as_ref());
            // The payload is the task's too: its `Drop` may panic.
            future_core::drop_panic_payload(payload);
            TaskError::Panicked(message)
        });
        finishing();
        // Completing may drop the value on this thread (its future was
        // dropped), and the value's `Drop` is the task's code: a panic there
        // has no future left to fail, so it goes to the callback-panic hook,
        // and the worker lives.
        let complete = move || {
            // Only this job completes its future, so these cannot be refused.
            let _ = match outcome {
                Ok(value) => completer.set_result(value).map_err(drop),
                Err(error) => completer.set_exception(error).map_err(drop),
            };
            drop(completer);
        };
        if let Err(payload) = catch_unwind(AssertUnwindSafe(complete)) {
            future_core::report_callback_panic(payload);
        }
    }

    fn cancel(self) {
        self.completer.cancel();
    }

    fn fail(self, broken: &BrokenThreadPool) {
        let _ = self
            .completer
            .set_exception(TaskError::Broken(broken.clone()));
    }
}

/// A job too big for a slot travels boxed: the box is the job stored inline.
impl<J: Job> Job for Box<J> {
    fn run(self, finishing: &dyn Fn()) {
        (*self).run(finishing);
    }

    fn cancel(self) {
        (*self).cancel();
    }

    fn fail(self, broken: &BrokenThreadPool) {
        (*self).fail(broken);
    }
}

/// Words a job may take to be stored inline.
const INLINE_WORDS: usize = 3;

/// Whether a `J` is stored in a `RawJob`'s own words.
const fn fits<J>() -> bool {
    size_of::<J>() <= size_of::<[usize; INLINE_WORDS]>() && align_of::<J>() <= align_of::<usize>()
}

/// How to end a job of one type, stored at a given address.
struct Vtable {
    run: unsafe fn(*mut u8, &dyn Fn()),
    cancel: unsafe fn(*mut u8),
    fail: unsafe fn(*mut u8, &BrokenThreadPool),
    drop: unsafe fn(*mut u8),
}

/// A job of any type, in three words or behind a box: what the queue holds.
pub(crate) struct RawJob {
    vtable: &'static Vtable,
    data: MaybeUninit<[usize; INLINE_WORDS]>,
    /// Not `Sync`, not `Send` on its own: see the `Send` impl.
    _not_shared: PhantomData<*mut ()>,
}

// SAFETY: only `Job`s are erased into a `RawJob`, and `Job: Send`.
unsafe impl Send for RawJob {}

impl RawJob {
    /// Erases `job`'s type.
    pub(crate) fn new<J: Job + 'static>(job: J) -> Self {
        // SAFETY: a `'static` job stays valid however long it is kept.
        unsafe { Self::erase(job) }
    }

    /// Erases `job`'s type and lifetime.
    ///
    /// # Safety
    ///
    /// - `job`, and everything it borrows, must stay valid until the
    ///   returned `RawJob` has been run, cancelled, failed or dropped.
    pub(crate) unsafe fn erase<J: Job>(job: J) -> Self {
        let mut data = MaybeUninit::<[usize; INLINE_WORDS]>::uninit();
        let vtable = if fits::<J>() {
            // SAFETY: `fits` checked size and alignment against `data`.
            unsafe { data.as_mut_ptr().cast::<J>().write(job) };
            &Inline::<J>::VTABLE
        } else {
            const { assert!(fits::<Box<J>>()) };
            // SAFETY: a box pointer is one word, word-aligned (asserted above).
            unsafe { data.as_mut_ptr().cast::<Box<J>>().write(Box::new(job)) };
            &Inline::<Box<J>>::VTABLE
        };
        Self {
            vtable,
            data,
            _not_shared: PhantomData,
        }
    }

    /// Hands the stored words to one of the table's functions, which takes
    /// the job out of them; `self` is then forgotten.
    fn take(self) -> (&'static Vtable, MaybeUninit<[usize; INLINE_WORDS]>) {
        let this = ManuallyDrop::new(self);
        (this.vtable, this.data)
    }

    pub(crate) fn run(self, finishing: &dyn Fn()) {
        let (vtable, mut data) = self.take();
        // SAFETY: `data` holds the job `vtable` was made for, read once (module docs).
        unsafe { (vtable.run)(data.as_mut_ptr().cast(), finishing) }
    }

    pub(crate) fn cancel(self) {
        let (vtable, mut data) = self.take();
        // SAFETY: as in `run`.
        unsafe { (vtable.cancel)(data.as_mut_ptr().cast()) }
    }

    pub(crate) fn fail(self, broken: &BrokenThreadPool) {
        let (vtable, mut data) = self.take();
        // SAFETY: as in `run`.
        unsafe { (vtable.fail)(data.as_mut_ptr().cast(), broken) }
    }
}

impl Drop for RawJob {
    fn drop(&mut self) {
        // SAFETY: as in `run`; `drop` is the one read on this path.
        unsafe { (self.vtable.drop)(self.data.as_mut_ptr().cast()) }
    }
}

/// The table of a job stored in the `RawJob`'s words (a big job's box, too).
struct Inline<J>(PhantomData<J>);

impl<J: Job> Inline<J> {
    const VTABLE: Vtable = Vtable {
        run: Self::run,
        cancel: Self::cancel,
        fail: Self::fail,
        drop: Self::drop,
    };

    /// # Safety
    ///
    /// - `p` points at a `J` that nobody reads again.
    unsafe fn run(p: *mut u8, finishing: &dyn Fn()) {
        // SAFETY: the caller's contract.
        unsafe { p.cast::<J>().read() }.run(finishing);
    }

    /// # Safety
    ///
    /// - as for `run`.
    unsafe fn cancel(p: *mut u8) {
        // SAFETY: the caller's contract.
        unsafe { p.cast::<J>().read() }.cancel();
    }

    /// # Safety
    ///
    /// - as for `run`.
    unsafe fn fail(p: *mut u8, broken: &BrokenThreadPool) {
        // SAFETY: the caller's contract.
        unsafe { p.cast::<J>().read() }.fail(broken);
    }

    /// # Safety
    ///
    /// - as for `run`.
    unsafe fn drop(p: *mut u8) {
        // SAFETY: the caller's contract.
        unsafe { p.cast::<J>().drop_in_place() }
    }
}

#[cfg(all(test, not(exec_loom)))]
mod tests {
    use super::*;
    use std::{cell::Cell, sync::Arc};

    /// Records how it ended; big or small.
    struct Probe<const N: usize> {
        log: Arc<std::sync::Mutex<Vec<&'static str>>>,
        _pad: [u8; N],
    }

    impl<const N: usize> Job for Probe<N> {
        fn run(self, finishing: &dyn Fn()) {
            finishing();
            self.log.lock().unwrap().push("run");
        }
        fn cancel(self) {
            self.log.lock().unwrap().push("cancel");
        }
        fn fail(self, _: &BrokenThreadPool) {
            self.log.lock().unwrap().push("fail");
        }
    }

    fn each_way<const N: usize>() {
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let probe = || Probe::<N> {
            log: Arc::clone(&log),
            _pad: [0; N],
        };
        let called = Cell::new(false);
        RawJob::new(probe()).run(&|| called.set(true));
        RawJob::new(probe()).cancel();
        RawJob::new(probe()).fail(&BrokenThreadPool::new("x".into()));
        drop(RawJob::new(probe()));
        assert!(called.get());
        assert_eq!(*log.lock().unwrap(), ["run", "cancel", "fail"]);
        assert_eq!(Arc::strong_count(&log), 1, "every probe was dropped once");
    }

    #[test]
    fn small_jobs_are_inline_and_big_ones_boxed_and_both_end_once() {
        assert!(fits::<Probe<8>>());
        assert!(!fits::<Probe<64>>());
        each_way::<8>();
        each_way::<64>();
    }
}
