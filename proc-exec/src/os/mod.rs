//! The thin OS layer: the Linux calls a process pool makes, and nothing else.
//!
//! Every function here is a small wrapper in rustix's style: it takes
//! `BorrowedFd<'_>`, returns `OwnedFd` for anything it opens, reports errors as
//! [`std::io::Result`], retries `EINTR` where a retry is always right, and
//! names its man page under `# References`. Nothing here knows about pools,
//! tasks or frames; the pool's bookkeeping lives elsewhere and only asks this
//! layer to fork, read, write, poll, signal and reap. Keeping the layer thin
//! keeps each hazard (fork above all) in one short file that can be read alone.
//!
//! | file             | wraps                                                        |
//! |------------------|--------------------------------------------------------------|
//! | [`fd`]           | `pipe2`, `fcntl(O_NONBLOCK)`, `read`, `write`, `eventfd`     |
//! | [`poll`]         | `poll` with a deadline kept across `EINTR`                   |
//! | [`fork`]         | `fork`, `_exit`, `PR_SET_PDEATHSIG`, `close_range`           |
//! | [`exec`]         | `fork` + `fexecve` of `/proc/self/exe`, a report pipe        |
//! | [`status`]       | the wait status of a finished process                       |
//! | [`child`]        | `pidfd_open`, `waitid(P_PIDFD)`, `pidfd_send_signal`         |
//! | [`kernel`]       | whether the kernel has those calls, asked once               |
//! | [`fork_server`]  | a single-threaded process that forks workers on request      |
//! | [`limits`]       | `prlimit(RLIMIT_AS)`, `setpriority` on a worker              |
//! | [`signals`]      | `sigaction(SIGCHLD)`, `sigprocmask` in the fork server       |
//! | [`shm`]          | `memfd_create` + seals + `mmap`, `SCM_RIGHTS` on a socketpair |
//!
//! Unsafe code is denied here and allowed per file: only [`fork`] (which
//! forks and makes raw syscalls), [`exec`] and [`fork_server`] (which call `fork`),
//! [`kernel`] (one raw syscall) and
//! [`signals`] (libc's signal calls) and [`shm`] (`mmap`) opt in, each with its reasons, plus the
//! tests that fork children.
#![deny(unsafe_code)]

pub(crate) mod child;
pub(crate) mod exec;
pub(crate) mod fd;
pub(crate) mod fork;
pub(crate) mod fork_server;
pub(crate) mod kernel;
pub(crate) mod limits;
pub(crate) mod poll;
pub(crate) mod shm;
pub(crate) mod signals;
pub(crate) mod status;

pub use status::ExitStatus;

#[cfg(test)]
pub(crate) mod test_support;
