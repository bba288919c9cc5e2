//! Rank 0's sends, non-blocking: a worker answering with a large `Done`
//! while rank 0 sends it a large `Run` would otherwise wait on each other
//! (both sends above the eager limit block until the other side receives).
//! rsmpi's safe `immediate_send` needs a scope the manager's loop cannot
//! keep open, so these own their buffers and go through `mpi::ffi`.
#![allow(unsafe_code)]

use std::os::raw::c_int;

use mpi::ffi;

/// Sends under way, each with its peer and the buffer MPI reads from until
/// it completes.
pub(crate) struct Sends {
    pending: Vec<(i32, Vec<u8>, ffi::MPI_Request)>,
    /// Peers a send to which failed, not yet reported.
    failed: Vec<i32>,
}

impl Sends {
    pub(crate) fn new() -> Self {
        Self {
            pending: Vec::new(),
            failed: Vec::new(),
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
        let code = unsafe {
            ffi::MPI_Isend(
                bytes.as_ptr().cast(),
                count,
                datatype,
                rank,
                tag,
                comm,
                &mut request,
            )
        };
        if code != 0 {
            // Only under `MPI_ERRORS_RETURN` (recovery): the next
            // `progress` reports the peer as failed.
            self.failed.push(rank);
            return;
        }
        self.pending.push((rank, bytes, request));
    }

    /// Lets MPI progress the sends and frees the finished ones; true if
    /// any finished. The peers of failed sends (possible only under
    /// `MPI_ERRORS_RETURN`) are added to `failed`.
    pub(crate) fn progress(&mut self, failed: &mut Vec<i32>) -> bool {
        let before = self.pending.len();
        failed.append(&mut self.failed);
        let mut leaked = Vec::new();
        self.pending.retain_mut(|(rank, bytes, request)| {
            let mut flag: c_int = 0;
            // SAFETY: `request` is a live request from `MPI_Isend` (a completed one is removed at once); the status is ignored through MPI's own constant.
            let code = unsafe { ffi::MPI_Test(request, &mut flag, ffi::RSMPI_STATUS_IGNORE) };
            if code != 0 {
                failed.push(*rank);
                leaked.push(std::mem::take(bytes));
                return false;
            }
            flag == 0
        });
        // MPI may still read a failed send's buffer: it is never freed.
        leaked.into_iter().for_each(std::mem::forget);
        self.pending.len() != before
    }

    /// Gives up the sends to `rank` (declared dead): their requests are
    /// freed, and their buffers leaked, since MPI may still read them.
    pub(crate) fn abandon(&mut self, rank: i32) {
        self.pending.retain_mut(|(to, bytes, request)| {
            if *to != rank {
                return true;
            }
            // SAFETY: `request` is a live request from `MPI_Isend`; freeing an active send request is allowed (it completes unobserved), and its buffer is leaked below, never reused.
            unsafe { ffi::MPI_Request_free(request) };
            std::mem::forget(std::mem::take(bytes));
            false
        });
    }

    /// Gives up every send (see [`abandon`](Self::abandon)).
    pub(crate) fn abandon_all(&mut self) {
        let ranks: Vec<i32> = self.pending.iter().map(|(rank, ..)| *rank).collect();
        for rank in ranks {
            self.abandon(rank);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}
