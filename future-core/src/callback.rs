//! Done callbacks: what they receive, how they are stored and run.

#[cfg(feature = "alloc")]
use alloc::boxed::Box;

/// How a future ended, as a done callback sees it.
///
/// A borrowed view: callbacks run while the future is alive and before the
/// outcome can be moved out, so they read it in place.
#[derive(Debug)]
pub enum Completion<'a, T, E> {
    /// The task returned this value.
    Returned(&'a T),
    /// The task failed with this error.
    Raised(&'a E),
    /// The future was cancelled.
    Cancelled,
}

impl<T, E> Clone for Completion<'_, T, E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T, E> Copy for Completion<'_, T, E> {}

impl<'a, T, E> Completion<'a, T, E> {
    /// The outcome as a `Result`, Python's `result()` on a done future.
    pub fn result(self) -> Result<&'a T, crate::ResultError<&'a E>> {
        match self {
            Self::Returned(v) => Ok(v),
            Self::Raised(e) => Err(crate::ResultError::Failed(e)),
            Self::Cancelled => Err(crate::ResultError::Cancelled),
        }
    }

    /// Whether the future was cancelled.
    pub fn cancelled(self) -> bool {
        matches!(self, Self::Cancelled)
    }
}

/// A done callback as a boxed closure.
#[cfg(feature = "alloc")]
type BoxedCallback<T, E> = Box<dyn FnOnce(Completion<'_, T, E>) + Send>;

/// A stored done callback: a plain function (no allocation) or a boxed closure.
pub(crate) enum Callback<T, E> {
    Fn(fn(Completion<'_, T, E>)),
    #[cfg(feature = "alloc")]
    Boxed(BoxedCallback<T, E>),
}

impl<T, E> Callback<T, E> {
    /// Runs the callback. With `std`, a panic is caught and reported through the
    /// hook, so the next callback still runs and the future is unaffected.
    pub(crate) fn run(self, completion: Completion<'_, T, E>) {
        #[cfg(feature = "std")]
        {
            let outcome = std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| {
                self.call(completion);
            }));
            if let Err(payload) = outcome {
                report_callback_panic(payload);
            }
        }
        #[cfg(not(feature = "std"))]
        self.call(completion);
    }

    fn call(self, completion: Completion<'_, T, E>) {
        match self {
            Self::Fn(f) => f(completion),
            #[cfg(feature = "alloc")]
            Self::Boxed(f) => f(completion),
        }
    }
}

#[cfg(feature = "std")]
pub use hook::{CallbackPanic, drop_panic_payload, report_callback_panic, set_callback_panic_hook};

#[cfg(feature = "std")]
mod hook {
    use crate::sync::StdRwLock;
    use alloc::boxed::Box;
    use core::any::Any;

    /// A done callback that panicked, as reported to the hook.
    #[derive(Debug)]
    pub struct CallbackPanic<'a> {
        message: &'a str,
    }

    impl CallbackPanic<'_> {
        /// The panic's message (`"<non-string panic payload>"` when it had none).
        pub fn message(&self) -> &str {
            self.message
        }
    }

    static HOOK: StdRwLock<Option<fn(&CallbackPanic<'_>)>> = StdRwLock::new(None);

    /// Sets the process-wide function told about done callbacks that panic.
    ///
    /// A panicking callback never stops the other callbacks and never changes
    /// the future. By default it is reported on standard error as
    /// `future-core: a done callback panicked: <message>` (Python logs
    /// `exception calling callback for <future>`). Pass `None` to restore the
    /// default. The standard panic hook also runs first, as for any panic.
    ///
    /// # Examples
    ///
    /// ```
    /// use future_core::{CallbackPanic, set_callback_panic_hook};
    ///
    /// fn quiet(p: &CallbackPanic<'_>) {
    ///     let _ = p.message(); // send it to your logger instead
    /// }
    /// set_callback_panic_hook(Some(quiet));
    /// set_callback_panic_hook(None);
    /// ```
    pub fn set_callback_panic_hook(hook: Option<fn(&CallbackPanic<'_>)>) {
        *HOOK.write().unwrap_or_else(|e| e.into_inner()) = hook;
    }

    /// Reports a panic caught on a thread that runs other people's code (a
    /// done callback, or an executor's own thread dropping a user's value)
    /// through the hook of [`set_callback_panic_hook`], then drops the payload
    /// as [`drop_panic_payload`] does.
    ///
    /// Executors call it for panics that have no future left to fail: the
    /// thread goes on, and the panic is reported rather than lost.
    pub fn report_callback_panic(payload: Box<dyn Any + Send>) {
        report(payload.as_ref());
        drop_panic_payload(payload);
    }

    /// Drops a caught panic's payload, which is user code too: a payload
    /// whose own `Drop` panics is caught again, and that second payload is
    /// forgotten (leaked) rather than dropped, so the thread goes on whatever
    /// the payload does.
    pub fn drop_panic_payload(payload: Box<dyn Any + Send>) {
        let dropped = std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| drop(payload)));
        if let Err(second) = dropped {
            core::mem::forget(second);
        }
    }

    fn report(payload: &(dyn Any + Send)) {
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| {
                payload
                    .downcast_ref::<alloc::string::String>()
                    .map(|s| s.as_str())
            })
            .unwrap_or("<non-string panic payload>");
        let report = CallbackPanic { message };
        let hook = *HOOK.read().unwrap_or_else(|e| e.into_inner());
        match hook {
            Some(hook) => hook(&report),
            None => std::eprintln!("future-core: a done callback panicked: {message}"),
        }
    }
}
