//! The errors of the process pool, one small type per operation.

use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::ExitStatus;
use crate::pool_state::{BreakCause, Failure, Kill};

/// Why a task's future holds no value. `E` is the task's own error type for
/// functions submitted with [`submit_fallible`](crate::ProcessPoolExecutor::submit_fallible)
/// (otherwise [`Infallible`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskError<E = Infallible> {
    /// The task returned `Err(e)`; `e` crossed back from the worker.
    Raised(E),
    /// The task panicked; the worker survived. Carries the panic message and
    /// where it happened.
    Panicked(String),
    /// The worker could not deserialize the argument (a serde implementation
    /// that does not round-trip).
    ArgDecode(String),
    /// The worker could not serialize the task's result; only this task fails.
    ResultEncode(String),
    /// The encoded result was larger than the pool's maximum frame size.
    ResultTooLarge(String),
    /// The parent could not deserialize the result the worker sent.
    ResultDecode(String),
    /// The pool broke while the task was queued or running (a worker died, an
    /// initializer failed, a worker broke the protocol).
    Broken(BrokenProcessPool),
    /// The process running the task ended without sending its result: a
    /// [`Process`](crate::Process), or a pool worker under
    /// [`OnWorkerDeath::Replace`](crate::OnWorkerDeath::Replace) (the pool
    /// goes on).
    Died {
        /// Its pid.
        pid: u32,
        /// How it ended.
        status: ExitStatus,
    },
    /// The task ran longer than the timeout it was submitted with
    /// ([`TaskOptions::timeout`](crate::TaskOptions::timeout)): its worker
    /// was killed and is replaced.
    TimedOut {
        /// The pid of the worker that was killed.
        pid: Option<u32>,
        /// The task's timeout.
        timeout: Duration,
    },
    /// [`cancel_running`](crate::ProcessPoolExecutor::cancel_running)
    /// stopped the task: its worker was killed and is replaced.
    Stopped {
        /// The pid of the worker that was killed (`None` if the task was
        /// still waiting in a worker's pipe and never started).
        pid: Option<u32>,
    },
    /// A remote executor (mpi-exec with dead-rank recovery) declared the
    /// rank holding the task dead before it answered; the other ranks go on.
    RankLost {
        /// The rank declared dead.
        rank: u32,
        /// Why: its tasks were overdue, or an MPI call to it failed.
        reason: String,
    },
}

impl<E: fmt::Display> fmt::Display for TaskError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Raised(error) => write!(f, "the task failed: {error}"),
            Self::Panicked(message) => write!(f, "the task panicked: {message}"),
            Self::ArgDecode(message) | Self::ResultEncode(message) => f.write_str(message),
            Self::ResultTooLarge(message) => f.write_str(message),
            Self::ResultDecode(message) => {
                write!(f, "the result could not be deserialized: {message}")
            }
            Self::Broken(broken) => fmt::Display::fmt(broken, f),
            Self::Died { pid, status } => {
                write!(f, "process {pid} {status} without sending a result")
            }
            Self::TimedOut {
                pid: Some(pid),
                timeout,
            } => write!(
                f,
                "the task ran past its {timeout:?} timeout: worker {pid} was killed"
            ),
            Self::TimedOut { pid: None, timeout } => {
                write!(f, "the task ran past its {timeout:?} timeout")
            }
            Self::Stopped { pid: Some(pid) } => {
                write!(
                    f,
                    "the task was stopped by cancel_running: worker {pid} was killed"
                )
            }
            Self::Stopped { pid: None } => {
                f.write_str("the task was stopped by cancel_running before it started")
            }
            Self::RankLost { rank, reason } => {
                write!(
                    f,
                    "rank {rank} was declared dead ({reason}) before it answered"
                )
            }
        }
    }
}

impl<E> TaskError<E> {
    /// The error of a task the pool failed; `timeout` is the one it was
    /// submitted with.
    pub(crate) fn from_failure(failure: Failure<ExitStatus>, timeout: Option<Duration>) -> Self {
        match failure {
            Failure::Broken { cause, on_worker } => {
                Self::Broken(BrokenProcessPool::new(cause, on_worker))
            }
            // An exit is only reported for a process that was started, so
            // its pid is known.
            Failure::Died { pid, status } => Self::Died {
                pid: pid.unwrap_or_default(),
                status,
            },
            Failure::Killed {
                pid,
                kill: Kill::Timeout,
            } => Self::TimedOut {
                pid,
                timeout: timeout.unwrap_or_default(),
            },
            Failure::Killed {
                pid,
                kill: Kill::Cancelled,
            } => Self::Stopped { pid },
        }
    }
}

// Every variant's text is in `Display` (a `Broken` one is the
// `BrokenProcessPool`'s own, which has no source), so no `source()`: the
// convention is one or the other, never both.
impl<E: fmt::Debug + fmt::Display> std::error::Error for TaskError<E> {}

/// The pool can no longer be used (Python: `BrokenProcessPool`). Every
/// future it fails gets its own value, carrying what broke the pool: the dead
/// worker's pid and exit status or signal (CPython gh-101267, gh-139462), or
/// the initializer's error, or what a worker sent that made no sense.
#[derive(Clone, PartialEq, Eq)]
pub struct BrokenProcessPool {
    cause: Arc<BreakCause<ExitStatus>>,
    /// The pid of the worker this task was on, if it had been sent.
    on_worker: Option<u32>,
}

impl BrokenProcessPool {
    pub(crate) fn new(cause: Arc<BreakCause<ExitStatus>>, on_worker: Option<u32>) -> Self {
        Self { cause, on_worker }
    }

    /// The pid of the worker whose end broke the pool, if a worker did.
    pub fn pid(&self) -> Option<u32> {
        match &*self.cause {
            BreakCause::WorkerDied { pid, .. }
            | BreakCause::InitializerFailed { pid, .. }
            | BreakCause::Protocol { pid, .. } => *pid,
            BreakCause::SpawnFailed { .. } | BreakCause::ManagerPanicked { .. } => None,
        }
    }

    /// How the worker that broke the pool ended, if one died.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        match &*self.cause {
            BreakCause::WorkerDied { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the pool was ended on purpose, by
    /// [`terminate_workers`](crate::ProcessPoolExecutor::terminate_workers)
    /// or [`kill_workers`](crate::ProcessPoolExecutor::kill_workers), rather
    /// than broken by a worker that died on its own.
    pub fn terminated(&self) -> bool {
        matches!(&*self.cause, BreakCause::WorkerDied { forced: true, .. })
    }

    /// The pid of the worker this task had been sent to, if it had been
    /// (it may be another worker than the one that broke the pool).
    pub fn sent_to(&self) -> Option<u32> {
        self.on_worker
    }

    /// The initializer's error, if a failing initializer broke the pool.
    pub fn initializer_error(&self) -> Option<&str> {
        match &*self.cause {
            BreakCause::InitializerFailed { message, .. } => Some(message),
            _ => None,
        }
    }
}

impl fmt::Display for BrokenProcessPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the process pool is broken: {}", self.cause)?;
        if let Some(pid) = self.on_worker {
            if Some(pid) == self.pid() {
                f.write_str(" while running this task")?;
            } else {
                write!(f, " (this task was on worker {pid}, which was terminated)")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for BrokenProcessPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrokenProcessPool")
            .field("cause", &*self.cause)
            .field("sent_to", &self.on_worker)
            .finish()
    }
}

impl std::error::Error for BrokenProcessPool {}

/// Why `submit` refused a task.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubmitError {
    /// `shutdown` was called (Python: `RuntimeError('cannot schedule new
    /// futures after shutdown')`).
    Shutdown,
    /// The pool is broken (Python: `BrokenProcessPool`).
    Broken(BrokenProcessPool),
    /// The argument could not be serialized; nothing was queued.
    ArgEncode(String),
    /// The encoded argument is larger than the pool's maximum frame size.
    ArgTooLarge {
        /// Its encoded size in bytes (frame body).
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A chunk of so many items that even an answer of one empty outcome
    /// per item would be larger than the pool's maximum frame size (5 bytes
    /// an item): its worker could not answer, so it is not sent.
    ChunkTooLarge {
        /// The chunk's items.
        items: usize,
        /// The limit.
        max: usize,
    },
}

impl fmt::Display for SubmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Shutdown => f.write_str("cannot schedule new futures after shutdown"),
            Self::Broken(broken) => fmt::Display::fmt(broken, f),
            Self::ArgEncode(message) => {
                write!(f, "the argument could not be serialized: {message}")
            }
            Self::ArgTooLarge { len, max } => write!(
                f,
                "the encoded argument is {len} bytes, above the {max}-byte frame limit"
            ),
            Self::ChunkTooLarge { items, max } => write!(
                f,
                "a chunk of {items} items cannot be answered within the {max}-byte frame limit"
            ),
        }
    }
}

// As `TaskError`: the text is all in `Display`.
impl std::error::Error for SubmitError {}

/// Why a pool could not be built.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// `max_workers` was 0 (Python: `ValueError("max_workers must be greater
    /// than 0")`).
    ZeroWorkers,
    /// `max_tasks_per_child` was 0 (Python: `ValueError("max_tasks_per_child
    /// must be >= 1")`).
    ZeroTasksPerChild,
    /// The initializer's argument could not be serialized.
    InitArgEncode(String),
    /// The manager thread could not be started.
    Io(std::io::Error),
    /// The [`StartMethod`](crate::StartMethod) cannot work here: for the
    /// methods that `exec` the program, `/proc/self/exe` cannot be opened
    /// or the fork server could not be started (`exec` refused by a
    /// `noexec` mount or a seccomp filter, say). The message says which.
    StartMethod(std::io::Error),
    /// The kernel lacks a system call the pool needs (Linux
    /// [`MIN_LINUX`](crate::MIN_LINUX) has them all), or a sandbox refuses
    /// it. Checked once per process, before anything starts.
    Kernel(crate::MissingSyscall),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ZeroWorkers => f.write_str("max_workers must be greater than 0"),
            Self::ZeroTasksPerChild => f.write_str("max_tasks_per_child must be >= 1"),
            Self::InitArgEncode(message) => {
                write!(
                    f,
                    "the initializer's argument could not be serialized: {message}"
                )
            }
            Self::Io(error) => write!(f, "the pool could not be started: {error}"),
            Self::StartMethod(error) => {
                write!(f, "the pool's start method cannot work here: {error}")
            }
            Self::Kernel(missing) => write!(f, "the pool cannot run here: {missing}"),
        }
    }
}

// The `io::Error`'s text is in `Display`, so it is not a `source()` too;
// match the variant to reach the `io::Error` itself.
impl std::error::Error for BuildError {}
