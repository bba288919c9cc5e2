//! Starting a fresh copy of the program as a worker or a fork server: the
//! parent's half of what [`divert`](super::divert) does in the copy.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use rustix::process::{Signal, getpid};

use super::divert::{DIVERT, fingerprint};
use super::marker::{self, MISMATCH, Marker, READY, Role};
use crate::call;
use crate::os::child::Child;
use crate::os::exec::{Program, Report, await_report};
use crate::os::fd;
use crate::os::fork_server::Entry;

/// Starts a copy of `program` in `role`, running `entry` (with `request`
/// for a worker), with `fds` handed over under the same numbers; returns it
/// once it is set up and about to serve.
///
/// # Errors
///
/// The `exec`'s own error (`EACCES` on a `noexec` mount, `EPERM` from a
/// seccomp filter, ...), or an error saying the copy is another build or
/// ended before it was ready. The copy is reaped first: nothing is left.
pub(crate) fn start_copy(
    program: &Program,
    role: Role,
    entry: Entry,
    request: &[u8],
    fds: &[BorrowedFd<'_>],
) -> io::Result<Child> {
    if request.len() > marker::MAX_REQUEST {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "request too large for a start marker",
        ));
    }
    // The constructor must be linked in wherever a copy is started, or
    // the copy would run `main`: this reference keeps it (the linker drops
    // unreferenced objects of a library before `#[used]` can help).
    std::hint::black_box(&DIVERT);
    let (report_read, report_write) = fd::pipe()?;
    let marker = Marker {
        role,
        fingerprint: fingerprint(),
        parent: getpid().as_raw_nonzero().get(),
        report: report_write.as_raw_fd(),
        entry: call::offset(entry as usize),
        fds: fds.iter().map(AsRawFd::as_raw_fd).collect(),
        request: request.to_vec(),
    };
    let value = marker.encode();
    let pid = program.spawn(
        (marker::VAR.as_ref(), value.as_ref()),
        fds,
        report_write.as_fd(),
    )?;
    drop(report_write);
    let mut child = Child::spawned(pid)?;
    let report = await_report(&report_read, &child);
    if let Ok(Report::Word(READY)) = report {
        return Ok(child);
    }
    // Whatever went wrong, the copy is not serving: end it, then say why.
    let _ = child.signal(Signal::KILL);
    let status = child.wait(None);
    let what = match role {
        Role::Server => "the fork server",
        Role::Worker => "the worker",
    };
    Err(match report? {
        Report::ExecFailed(errno) => {
            let cause = io::Error::from_raw_os_error(errno);
            io::Error::new(
                cause.kind(),
                format!(
                    "{what} could not be started: exec of this program's executable failed: {cause}"
                ),
            )
        }
        Report::Word(MISMATCH) => io::Error::other(format!(
            "{what} could not be started: the program exec'd is not the same build as this one"
        )),
        Report::Word(_) | Report::Nothing => {
            let how = match status {
                Ok(Some(status)) => format!(" ({status})"),
                _ => String::new(),
            };
            io::Error::other(format!(
                "{what} could not be started: the fresh copy of this program ended before it was ready{how}"
            ))
        }
    })
}
