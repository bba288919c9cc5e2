//! Rank 0's sends, non-blocking: a worker answering with a large `Done`
//! while rank 0 sends it a large `Run` would otherwise wait on each other
//! (both sends above the eager limit block until the other side receives).
//! rsmpi's safe `immediate_send` needs a scope the manager's loop cannot
//! keep open, so these own their buffers and go through `mpi::ffi`.
#![allow(unsafe_code)]

use std::os::raw::c_int;

use mpi::ffi;

/// Sends under way, each with the buffer MPI reads from until it completes.
pub(crate) struct Sends {
    pending: Vec<(Vec<u8>, ffi::MPI_Request)>,
}

impl Sends {
    pub(crate) fn new() -> Self {
        Self {
            pending: Vec::new(),
        }
    }

    /// Starts sending `bytes` to `rank` with `tag` (on `MPI_COMM_WORLD`).
    /// `bytes` is at most `i32::MAX` long (the frame limit sees to it).
    pub(crate) fn start(&mut self, rank: i32, tag: i32, bytes: Vec<u8>) {
        let count = c_int::try_from(bytes.len()).unwrap_or(c_int::MAX);
        // SAFETY: reading MPI's predefined handles, constants set once at MPI's initialisation (which `run` did).
        let (mut request, datatype, comm) = unsafe {
            (
                ffi::RSMPI_REQUEST_NULL,
                ffi::RSMPI_UINT8_T,
                ffi::RSMPI_COMM_WORLD,
            )
        };
        // SAFETY: `bytes`' heap buffer stays where it is, unread and unwritten by us, until `progress` sees the request complete (the `Vec` is kept beside it, and moving a `Vec` does not move its buffer); `count` bytes of it are valid.
        unsafe {
            ffi::MPI_Isend(
                bytes.as_ptr().cast(),
                count,
                datatype,
                rank,
                tag,
                comm,
                &mut request,
            );
        }
        self.pending.push((bytes, request));
    }

    /// Lets MPI progress the sends and frees the finished ones; true if
    /// any finished.
    pub(crate) fn progress(&mut self) -> bool {
        let before = self.pending.len();
        self.pending.retain_mut(|(_, request)| {
            let mut flag: c_int = 0;
            // SAFETY: `request` is a live request from `MPI_Isend` (a completed one is removed at once); the status is ignored through MPI's own constant.
            unsafe { ffi::MPI_Test(request, &mut flag, ffi::RSMPI_STATUS_IGNORE) };
            flag == 0
        });
        self.pending.len() != before
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}
