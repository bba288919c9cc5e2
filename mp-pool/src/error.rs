//! The errors of the pool and of its jobs.

use std::fmt;

use proc_exec::{InputError, MapError, SubmitError, TaskError};

/// Why a call on the pool was refused, or why a job has no result.
///
/// One type for both, as Python raises from the call and from `get()` alike.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PoolError {
    /// The pool was closed or terminated (Python: `ValueError("Pool not
    /// running")`).
    NotRunning,
    /// A chunksize of zero (Python's `imap` says `ValueError("Chunksize
    /// must be 1+, not 0")`; its `map` silently returns `[None] * n`).
    ZeroChunksize,
    /// The task failed in its worker: it panicked, its worker died while
    /// running it ([`TaskError::Died`], with the pid and how it ended; the
    /// worker is replaced), its result did not serialize, or the pool broke
    /// (an initializer that keeps failing).
    Task(TaskError),
    /// The pool refused the work: an argument did not serialize, or was
    /// above the frame limit.
    Submit(SubmitError),
    /// The job's `callback` or `error_callback` panicked; this is its
    /// message. The pool goes on (CPython gh-83371: its result handler died).
    Callback(String),
    /// The timeout of `get`, `wait` or an iterator's `next_timeout` passed
    /// first (Python: `multiprocessing.TimeoutError`). The job goes on.
    Timeout,
    /// The pool was terminated before the job finished (CPython leaves such
    /// a job's result pending forever).
    Terminated,
    /// The input of an `imap` failed at this place: its iterator panicked
    /// ([`InputError::Panicked`], with the panic's message), or a `try_imap`
    /// input yielded `Err` ([`InputError::Failed`], with the error's text).
    /// The items before it were yielded first; the iteration ends here and
    /// the pool goes on (Python: `next` raises the generator's exception).
    Input(InputError),
    /// An item of an `imap` has no result for a reason of proc-exec's
    /// [`MapError`] that none of the variants above names (none today; the
    /// enum may grow).
    Map(MapError),
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotRunning => f.write_str("Pool not running"),
            Self::ZeroChunksize => f.write_str("chunksize must be 1+, not 0"),
            Self::Task(error) => fmt::Display::fmt(error, f),
            Self::Submit(error) => fmt::Display::fmt(error, f),
            Self::Callback(message) => write!(f, "a callback of the job panicked: {message}"),
            Self::Timeout => f.write_str("the job's result was not ready in time"),
            Self::Terminated => f.write_str("the pool was terminated before the job finished"),
            Self::Input(error) => fmt::Display::fmt(error, f),
            Self::Map(error) => fmt::Display::fmt(error, f),
        }
    }
}

impl std::error::Error for PoolError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            // Each shows the inner error's text as its own, so the next
            // link is the inner error's source, not the inner error.
            Self::Task(error) => error.source(),
            Self::Submit(error) => error.source(),
            Self::Input(error) => error.source(),
            Self::Map(error) => error.source(),
            _ => None,
        }
    }
}

impl From<TaskError> for PoolError {
    /// A task lost because the pool was terminated is [`Self::Terminated`],
    /// like the tasks the termination cancelled.
    fn from(error: TaskError) -> Self {
        match error {
            TaskError::Broken(broken) if broken.terminated() => Self::Terminated,
            other => Self::Task(other),
        }
    }
}

impl From<SubmitError> for PoolError {
    /// proc-exec refuses work after its shutdown, which only `close`,
    /// `terminate` and drop ask for: to the caller, the pool is not running.
    fn from(error: SubmitError) -> Self {
        match error {
            SubmitError::Shutdown => Self::NotRunning,
            other => Self::Submit(other),
        }
    }
}

impl From<MapError> for PoolError {
    fn from(error: MapError) -> Self {
        match error {
            MapError::Task(error) => error.into(),
            MapError::Submit(error) => error.into(),
            MapError::Timeout => Self::Timeout,
            // proc-exec cancels queued work only when the pool is terminated.
            MapError::Cancelled => Self::Terminated,
            MapError::Input(error) => Self::Input(error),
            other => Self::Map(other),
        }
    }
}

/// Why a pool could not be built.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// `processes` was 0 (Python: `ValueError("Number of processes must be
    /// at least 1")`).
    ZeroProcesses,
    /// `maxtasksperchild` was 0 (Python: `ValueError("maxtasksperchild must
    /// be a positive int or None")`).
    ZeroMaxTasksPerChild,
    /// The process pool underneath could not be started (its manager
    /// thread, its start method, e.g. the fork server, or its eventfd), or
    /// the initializer's argument did not serialize.
    Exec(proc_exec::BuildError),
    /// The result-handler thread could not be started.
    Io(std::io::Error),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ZeroProcesses => f.write_str("Number of processes must be at least 1"),
            Self::ZeroMaxTasksPerChild => {
                f.write_str("maxtasksperchild must be a positive int or None")
            }
            Self::Exec(error) => fmt::Display::fmt(error, f),
            Self::Io(error) => write!(f, "the result handler could not be started: {error}"),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            // `Exec` shows proc-exec's error as its own; `Io` includes the
            // `io::Error`'s text: neither repeats it as a source.
            Self::Exec(error) => error.source(),
            _ => None,
        }
    }
}

/// `join` was called on a pool still running (Python: `ValueError("Pool is
/// still running")`): call `close` or `terminate` first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StillRunning;

impl fmt::Display for StillRunning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pool is still running")
    }
}

impl std::error::Error for StillRunning {}

/// `successful` was called before the job was ready (Python:
/// `ValueError("… not ready")`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotReady;

impl fmt::Display for NotReady {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the job is not ready")
    }
}

impl std::error::Error for NotReady {}
