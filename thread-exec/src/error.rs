//! The errors of the thread pool, one small type per operation.

use core::fmt;

/// Why a task's future holds no value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskError {
    /// The task panicked; the worker thread survived. Carries the panic message.
    Panicked(String),
    /// The pool broke (an initializer failed) before the task could run.
    Broken(BrokenThreadPool),
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Panicked(message) => write!(f, "the task panicked: {message}"),
            Self::Broken(broken) => fmt::Display::fmt(broken, f),
        }
    }
}

// A `Broken` error shows the `BrokenThreadPool`'s text as its own, so it
// is not a `source()` too.
impl std::error::Error for TaskError {}

/// The pool can no longer be used (Python: `BrokenThreadPool`): a worker's
/// initializer failed (carrying its error or panic message), no worker
/// thread could be started, or a worker thread ended by a panic of the
/// pool's own (never a task's: those are caught). Every pending task gets
/// its own copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenThreadPool {
    cause: String,
    initializer: bool,
}

impl BrokenThreadPool {
    /// An initializer failed with `cause`.
    pub(crate) fn new(cause: String) -> Self {
        Self {
            cause,
            initializer: true,
        }
    }

    /// Something other than an initializer broke the pool; `cause` says what.
    pub(crate) fn other(cause: String) -> Self {
        Self {
            cause,
            initializer: false,
        }
    }

    /// What broke it: the initializer's error, or what else happened.
    pub fn cause(&self) -> &str {
        &self.cause
    }
}

impl fmt::Display for BrokenThreadPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.initializer {
            f.write_str("a thread initializer failed, ")?;
        }
        write!(f, "the thread pool is not usable anymore: {}", self.cause)
    }
}

impl std::error::Error for BrokenThreadPool {}

/// Why [`submit`](crate::ThreadPoolExecutor::submit) refused a task. The task
/// is handed back, not lost.
pub struct SubmitError<F> {
    kind: SubmitErrorKind,
    task: F,
}

/// What made a submit fail.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubmitErrorKind {
    /// `shutdown` was called (Python: `RuntimeError('cannot schedule new
    /// futures after shutdown')`).
    Shutdown,
    /// The pool is broken.
    Broken(BrokenThreadPool),
}

impl<F> SubmitError<F> {
    pub(crate) fn new(kind: SubmitErrorKind, task: F) -> Self {
        Self { kind, task }
    }

    /// Why the task was refused.
    pub fn kind(&self) -> &SubmitErrorKind {
        &self.kind
    }

    /// The task that was not scheduled.
    pub fn into_task(self) -> F {
        self.task
    }

    /// The error without the task.
    pub fn without_task(self) -> SubmitError<()> {
        SubmitError::new(self.kind, ())
    }
}

impl fmt::Display for SubmitErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Shutdown => f.write_str("cannot schedule new futures after shutdown"),
            Self::Broken(broken) => fmt::Display::fmt(broken, f),
        }
    }
}

impl<F> fmt::Debug for SubmitError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubmitError")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl<F> fmt::Display for SubmitError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.kind, f)
    }
}

impl<F> std::error::Error for SubmitError<F> {}

/// An invalid builder setting.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// `max_workers` was zero (Python: `ValueError("max_workers must be
    /// greater than 0")`).
    ZeroWorkers,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ZeroWorkers => f.write_str("max_workers must be greater than 0"),
        }
    }
}

impl std::error::Error for BuildError {}

/// The message of a caught panic payload.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_string()
    }
}
