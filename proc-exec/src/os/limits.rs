//! Resource limits and priority, set on a worker from the outside.
//!
//! The manager applies them to a new worker's pid before it writes the
//! worker its first frame, so no task can run before they hold, and the
//! worker needs no code for them (and the fork server, which forks it, no
//! knowledge of the pool's configuration).

use std::io;

use rustix::process::{Pid, Resource, Rlimit, prlimit, setpriority_process};

/// What is applied to each worker process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct WorkerLimits {
    /// `RLIMIT_AS`, soft and hard, in bytes.
    pub(crate) address_space: Option<u64>,
    /// The nice value (`setpriority(PRIO_PROCESS)`).
    pub(crate) nice: Option<i32>,
}

impl WorkerLimits {
    /// True if there is nothing to apply.
    pub(crate) fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// `prlimit(pid, RLIMIT_AS)` and `setpriority(PRIO_PROCESS, pid)`—Applies
    /// the limits to the process `pid` (ours, or our fork server's child).
    ///
    /// A lower limit than the process uses already is accepted; allocations
    /// beyond it fail from then on. A nice value below the current one needs
    /// `CAP_SYS_NICE` and fails with `EACCES` otherwise.
    ///
    /// # References
    ///  - [Linux prlimit]
    ///  - [Linux setpriority]
    ///
    /// [Linux prlimit]: https://man7.org/linux/man-pages/man2/prlimit.2.html
    /// [Linux setpriority]: https://man7.org/linux/man-pages/man2/setpriority.2.html
    pub(crate) fn apply(&self, pid: Pid) -> io::Result<()> {
        if let Some(bytes) = self.address_space {
            let limit = Rlimit {
                current: Some(bytes),
                maximum: Some(bytes),
            };
            prlimit(Some(pid), Resource::As, limit)?;
        }
        if let Some(nice) = self.nice {
            setpriority_process(Some(pid), nice)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    use rustix::process::{getpriority_process, getrlimit};

    use crate::os::fd::{pipe, read, write_all_blocking};
    use crate::os::test_support::{fork_child, serial};

    #[test]
    fn limits_reach_the_child_before_it_goes_on() {
        let _serial = serial();
        let limits = WorkerLimits {
            address_space: Some(1 << 40),
            nice: Some(5),
        };
        let (go_read, go_write) = pipe().unwrap();
        let mut child = fork_child(|| {
            // Waits for the parent to apply the limits.
            let mut byte = [0u8];
            if read(go_read.as_fd(), &mut byte).is_err() {
                return 2;
            }
            let applied = getrlimit(Resource::As).current == Some(1 << 40)
                && getpriority_process(None).ok() == Some(5);
            if applied { 0 } else { 1 }
        });
        limits.apply(child.pid()).unwrap();
        write_all_blocking(go_write.as_fd(), b"g").unwrap();
        let status = child.wait(None).unwrap().unwrap();
        assert_eq!(status.code(), Some(0));
    }

    #[test]
    fn nothing_to_apply_is_empty() {
        assert!(WorkerLimits::default().is_empty());
        let nice = WorkerLimits {
            nice: Some(1),
            ..WorkerLimits::default()
        };
        assert!(!nice.is_empty());
    }
}
