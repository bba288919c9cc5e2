//! How a process ended.

use std::fmt;

use rustix::process::WaitIdStatus;

/// How a finished process ended: it exited with a code, a signal killed it,
/// or its status could not be collected.
///
/// [`exitcode`](Self::exitcode) folds the first two into one number the way
/// Python's `multiprocessing.Process.exitcode` does: the exit code, or minus
/// the signal number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(unreachable_pub)] // re-exported by the crate once the pool is built
pub enum ExitStatus {
    /// The process called `exit`/`_exit` (or returned from `main`) with this
    /// code, `0..=255`.
    Exited(i32),
    /// A signal ended the process.
    Signaled {
        /// The signal's number (`9` for `SIGKILL`).
        signal: i32,
        /// Whether the kernel wrote a core dump.
        core_dumped: bool,
    },
    /// The process has ended, but how is not known: someone else collected
    /// its status first. That happens when the application sets `SIGCHLD` to
    /// `SIG_IGN` (the kernel then discards the status of every child) or
    /// installs a handler that reaps every child (`waitpid(-1, ...)`), with
    /// [`StartMethod::Fork`](crate::StartMethod::Fork); or when a fork
    /// server died before reporting the status of its worker. The pool never
    /// makes a status up.
    Unknown,
}

#[allow(unreachable_pub)] // re-exported by the crate once the pool is built
impl ExitStatus {
    /// Python's convention: the exit code, or `-signal` if a signal ended
    /// the process (`-9` for `SIGKILL`); `None` if the status is
    /// [`Unknown`](Self::Unknown).
    pub fn exitcode(&self) -> Option<i32> {
        match *self {
            Self::Exited(code) => Some(code),
            Self::Signaled { signal, .. } => Some(-signal),
            Self::Unknown => None,
        }
    }

    /// The exit code, if the process is known to have exited rather than
    /// being killed.
    pub fn code(&self) -> Option<i32> {
        match *self {
            Self::Exited(code) => Some(code),
            Self::Signaled { .. } | Self::Unknown => None,
        }
    }

    /// The number of the signal that killed the process, if one is known
    /// to have.
    pub fn signal(&self) -> Option<i32> {
        match *self {
            Self::Signaled { signal, .. } => Some(signal),
            Self::Exited(_) | Self::Unknown => None,
        }
    }

    /// Whether the process is known to have exited with code `0`.
    pub fn success(&self) -> bool {
        *self == Self::Exited(0)
    }

    /// Whether the status could not be collected ([`Unknown`](Self::Unknown)).
    pub fn is_unknown(&self) -> bool {
        *self == Self::Unknown
    }

    /// Decodes a `wait`-style status word (as `waitpid` stores it: the code
    /// in bits 8..16 for an exit; the signal in bits 0..7 and the core flag
    /// in bit 7 for a kill), or [`RAW_UNKNOWN`](Self::RAW_UNKNOWN). `None`
    /// for a stopped or continued process.
    pub(crate) fn from_raw(raw: i32) -> Option<Self> {
        let signal = raw & 0x7f;
        if raw == Self::RAW_UNKNOWN {
            Some(Self::Unknown)
        } else if signal == 0 {
            Some(Self::Exited((raw >> 8) & 0xff))
        } else if signal != 0x7f && (raw >> 8) & 0xff == 0 {
            Some(Self::Signaled {
                signal,
                core_dumped: raw & 0x80 != 0,
            })
        } else {
            None
        }
    }

    /// The word that stands for [`Unknown`](Self::Unknown): no `wait`
    /// status has it (its low seven bits say "stopped", its high bits are
    /// not a stopping signal).
    pub(crate) const RAW_UNKNOWN: i32 = -1;

    /// Encodes `self` as a `wait`-style status word; the inverse of
    /// [`from_raw`](Self::from_raw).
    pub(crate) fn to_raw(self) -> i32 {
        match self {
            Self::Unknown => Self::RAW_UNKNOWN,
            Self::Exited(code) => (code & 0xff) << 8,
            Self::Signaled {
                signal,
                core_dumped,
            } => (signal & 0x7f) | if core_dumped { 0x80 } else { 0 },
        }
    }

    /// Reads the status `waitid(…, WEXITED)` reported; `None` for a stop or
    /// continue.
    pub(crate) fn from_waitid(status: &WaitIdStatus) -> Option<Self> {
        if let Some(code) = status.exit_status() {
            Some(Self::Exited(code))
        } else {
            status.terminating_signal().map(|signal| Self::Signaled {
                signal,
                core_dumped: status.dumped(),
            })
        }
    }
}

/// The name of a common signal (`"SIGKILL"` for 9), if it has one here.
fn signal_name(signal: i32) -> Option<&'static str> {
    Some(match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        10 => "SIGUSR1",
        11 => "SIGSEGV",
        12 => "SIGUSR2",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        24 => "SIGXCPU",
        25 => "SIGXFSZ",
        31 => "SIGSYS",
        _ => return None,
    })
}

impl fmt::Display for ExitStatus {
    /// `exited with code 99`, `killed by signal 9 (SIGKILL)`,
    /// `killed by signal 11 (SIGSEGV), core dumped`, or `ended with an
    /// unknown status (...)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Exited(code) => write!(f, "exited with code {code}"),
            Self::Signaled {
                signal,
                core_dumped,
            } => {
                write!(f, "killed by signal {signal}")?;
                if let Some(name) = signal_name(signal) {
                    write!(f, " ({name})")?;
                }
                if core_dumped {
                    f.write_str(", core dumped")?;
                }
                Ok(())
            }
            Self::Unknown => f.write_str(
                "ended with an unknown status (collected elsewhere: \
                 SIGCHLD ignored or reaped by the application, or a dead fork server)",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Python's `exitcode` convention, the accessors, and `success`.
    #[test]
    fn exitcode_code_signal() {
        let exited = ExitStatus::Exited(7);
        assert_eq!(
            (exited.exitcode(), exited.code(), exited.signal()),
            (Some(7), Some(7), None)
        );
        assert!(!exited.success() && ExitStatus::Exited(0).success());
        let killed = ExitStatus::Signaled {
            signal: 9,
            core_dumped: false,
        };
        assert_eq!(
            (killed.exitcode(), killed.code(), killed.signal()),
            (Some(-9), None, Some(9))
        );
        let unknown = ExitStatus::Unknown;
        assert_eq!(
            (unknown.exitcode(), unknown.code(), unknown.signal()),
            (None, None, None)
        );
        assert!(!unknown.success() && unknown.is_unknown() && !killed.is_unknown());
    }

    /// The `Display` texts, named and unnamed signals, with and without a
    /// core dump.
    #[test]
    fn display() {
        assert_eq!(ExitStatus::Exited(99).to_string(), "exited with code 99");
        let kill = ExitStatus::Signaled {
            signal: 9,
            core_dumped: false,
        };
        assert_eq!(kill.to_string(), "killed by signal 9 (SIGKILL)");
        let segv = ExitStatus::Signaled {
            signal: 11,
            core_dumped: true,
        };
        assert_eq!(
            segv.to_string(),
            "killed by signal 11 (SIGSEGV), core dumped"
        );
        let rt = ExitStatus::Signaled {
            signal: 40,
            core_dumped: false,
        };
        assert_eq!(rt.to_string(), "killed by signal 40");
        let unknown = ExitStatus::Unknown.to_string();
        assert!(
            unknown.starts_with("ended with an unknown status"),
            "{unknown}"
        );
        assert!(!unknown.contains("signal 9"), "{unknown}");
    }

    /// The raw status word has the layout `waitpid` uses (the code in the
    /// second byte; the signal in the low seven bits, bit 7 for a core dump)
    /// and round-trips; stop and continue words decode to `None`.
    #[test]
    fn raw_round_trip() {
        let cases = [
            (ExitStatus::Exited(0), 0x0000),
            (ExitStatus::Exited(3), 0x0300),
            (ExitStatus::Exited(255), 0xff00),
            (
                ExitStatus::Signaled {
                    signal: 9,
                    core_dumped: false,
                },
                0x09,
            ),
            (
                ExitStatus::Signaled {
                    signal: 6,
                    core_dumped: true,
                },
                0x86,
            ),
        ];
        let cases = cases.into_iter().chain([(ExitStatus::Unknown, -1)]);
        for (status, raw) in cases {
            assert_eq!(status.to_raw(), raw, "{status}");
            assert_eq!(ExitStatus::from_raw(raw), Some(status));
        }
        assert_eq!(ExitStatus::from_raw(0x137f), None, "stopped by SIGSTOP");
        assert_eq!(ExitStatus::from_raw(0xffff), None, "continued");
    }
}
