//! Sealed memfds mapped read-only, and the socket that carries their
//! descriptors between a pool and a worker.
//!
//! A payload is written once into a fresh `memfd` with `pwrite`, sealed
//! against any change of size or content (`F_SEAL_SHRINK | F_SEAL_GROW |
//! F_SEAL_WRITE | F_SEAL_SEAL`), and mapped `PROT_READ`. A receiver checks the
//! seals and the size before it maps: a peer cannot shrink the file under
//! the mapping (which would make a read fault with `SIGBUS`) nor change the
//! bytes a `&[u8]` points at.
//!
//! # Safety
//!
//! This file's `unsafe` is `mmap`/`munmap` and reading the mapping as a
//! `&[u8]`. A `&[u8]` must not change and must stay readable while it is
//! borrowed; both hold because a [`Mapped`] is only ever made of a memfd
//! carrying all of `SEALS` (checked on arrival for a peer's): no write,
//! no writable mapping and no resize can happen to the file any more, so
//! neither another process nor this one can change the pages or cut them
//! from under the mapping. The mapping lives exactly as long as the
//! `Mapped` that every borrowed slice borrows.
//!
//! # References
//!
//! [memfd_create(2)](https://man7.org/linux/man-pages/man2/memfd_create.2.html),
//! [fcntl(2) file seals](https://man7.org/linux/man-pages/man2/fcntl.2.html),
//! [unix(7) SCM_RIGHTS](https://man7.org/linux/man-pages/man7/unix.7.html)
#![allow(unsafe_code)]

use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::ptr::NonNull;

use rustix::fs::{MemfdFlags, SealFlags};
use rustix::io::Errno;
use rustix::mm::{MapFlags, ProtFlags};
use rustix::net::{
    AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, ReturnFlags,
    SendAncillaryBuffer, SendAncillaryMessage, SendFlags, SocketFlags, SocketType,
};

/// The seals every shared payload carries before anyone maps it.
const SEALS: SealFlags = SealFlags::SHRINK
    .union(SealFlags::GROW)
    .union(SealFlags::WRITE)
    .union(SealFlags::SEAL);

/// The most descriptors one message on the channel carries.
pub(crate) const MAX_FDS: usize = 64;

/// A sealed memfd and its read-only mapping. The descriptor stays open so
/// the payload can be sent on; both are released on drop.
#[derive(Debug)]
pub(crate) struct Mapped {
    fd: OwnedFd,
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is read-only and its file is sealed against writes and size changes, so the bytes behind `ptr` never change while it lives: sharing or moving it between threads is sharing an immutable `[u8]`.
unsafe impl Send for Mapped {}
// SAFETY: as for `Send`: nothing can write through or behind the mapping.
unsafe impl Sync for Mapped {}

impl Mapped {
    /// Copies `bytes` into a new sealed memfd and maps it. `bytes` must not
    /// be empty (a zero-length mapping does not exist).
    ///
    /// # Errors
    ///
    /// `memfd_create`, `pwrite`, `fcntl` or `mmap` failed (`EMFILE` once the
    /// process is out of descriptors, `ENOMEM`).
    pub(crate) fn copy_of(bytes: &[u8]) -> io::Result<Self> {
        let fd = rustix::fs::memfd_create(
            c"proc-exec-shared",
            MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
        )?;
        rustix::fs::ftruncate(&fd, bytes.len() as u64)?;
        let mut done = 0;
        while done < bytes.len() {
            match rustix::io::pwrite(&fd, &bytes[done..], done as u64) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => done += n,
                Err(Errno::INTR) => {}
                Err(error) => return Err(error.into()),
            }
        }
        rustix::fs::fcntl_add_seals(&fd, SEALS)?;
        Self::map(fd, bytes.len())
    }

    /// Maps a memfd a peer sent, after checking it is sealed and holds
    /// exactly `len` bytes.
    ///
    /// # Errors
    ///
    /// A message naming what is wrong: not a sealed memfd, another size, or
    /// the `mmap` failed.
    pub(crate) fn receive(fd: OwnedFd, len: u64) -> Result<Self, String> {
        let seals = rustix::fs::fcntl_get_seals(&fd)
            .map_err(|error| format!("the shared payload's descriptor has no seals: {error}"))?;
        if !seals.contains(SEALS) {
            return Err(format!(
                "the shared payload's memfd is not sealed against changes (seals {:#x})",
                seals.bits()
            ));
        }
        let size = rustix::fs::fstat(&fd)
            .map_err(|error| format!("the shared payload's memfd cannot be measured: {error}"))?
            .st_size;
        if u64::try_from(size).ok() != Some(len) {
            return Err(format!(
                "the shared payload was announced with {len} bytes, its memfd holds {size}"
            ));
        }
        let len = usize::try_from(len)
            .map_err(|_| format!("a shared payload of {len} bytes cannot be mapped"))?;
        Self::map(fd, len).map_err(|error| format!("the shared payload cannot be mapped: {error}"))
    }

    fn map(fd: OwnedFd, len: usize) -> io::Result<Self> {
        if len == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "an empty shared payload",
            ));
        }
        // SAFETY: a fresh mapping chosen by the kernel (null hint), of a file sealed against shrinking, so every page of `len` stays backed; read-only, so no alias is ever written.
        let ptr = unsafe {
            rustix::mm::mmap(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ,
                MapFlags::SHARED,
                &fd,
                0,
            )?
        };
        let ptr =
            NonNull::new(ptr.cast::<u8>()).ok_or_else(|| io::Error::other("mmap gave null"))?;
        Ok(Self { fd, ptr, len })
    }

    /// The mapped bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr` maps `len` readable bytes until `drop`, and nothing writes them (see `Send`).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// The memfd, to send to a peer.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        // SAFETY: our own mapping of `len` bytes; every `&[u8]` into it borrows `self`, so none outlives it.
        let _ = unsafe { rustix::mm::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// `socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC)`: a worker's
/// descriptor channel (one message per frame that has shared payloads).
pub(crate) fn channel() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(rustix::net::socketpair(
        AddressFamily::UNIX,
        SocketType::SEQPACKET,
        SocketFlags::CLOEXEC,
        None,
    )?)
}

/// Sends `fds` as one message. `wait`: block while the socket is full
/// (the worker); otherwise a full socket is `WouldBlock` (the manager).
pub(crate) fn send_fds(sock: BorrowedFd<'_>, fds: &[BorrowedFd<'_>], wait: bool) -> io::Result<()> {
    if fds.len() > MAX_FDS {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "too many shared payloads",
        ));
    }
    let count = [fds.len() as u8];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    if !control.push(SendAncillaryMessage::ScmRights(fds)) {
        return Err(io::Error::other("descriptor buffer too small"));
    }
    let mut flags = SendFlags::NOSIGNAL;
    if !wait {
        flags |= SendFlags::DONTWAIT;
    }
    loop {
        match rustix::net::sendmsg(sock, &[IoSlice::new(&count)], &mut control, flags) {
            Ok(_) => return Ok(()),
            Err(Errno::INTR) => {}
            Err(error) => return Err(error.into()),
        }
    }
}

/// Takes the next message's descriptors without waiting: the peer sends
/// them before the frame that announces them, so they are there by the
/// time the frame is read. An empty channel gives none. The flag says the
/// kernel dropped some of them (`MSG_CTRUNC`): this process's descriptor
/// table is full (`RLIMIT_NOFILE`), and the message is consumed all the
/// same, so later frames still get their own.
pub(crate) fn recv_fds(sock: BorrowedFd<'_>) -> (Vec<OwnedFd>, bool) {
    let mut count = [0u8; 1];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let flags = RecvFlags::DONTWAIT | RecvFlags::CMSG_CLOEXEC;
    let cut = loop {
        match rustix::net::recvmsg(
            sock,
            &mut [IoSliceMut::new(&mut count)],
            &mut control,
            flags,
        ) {
            Ok(message) => break message.flags.contains(ReturnFlags::CTRUNC),
            Err(Errno::INTR) => {}
            Err(_) => return (Vec::new(), false),
        }
    };
    let mut fds = Vec::new();
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(received) = message {
            fds.extend(received);
        }
    }
    (fds, cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_is_sealed_and_maps_back() {
        let data: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        let mapped = Mapped::copy_of(&data).unwrap();
        assert_eq!(mapped.bytes(), &data[..]);
        let (a, b) = channel().unwrap();
        send_fds(a.as_fd(), &[mapped.fd()], true).unwrap();
        let (mut fds, cut) = recv_fds(b.as_fd());
        assert_eq!((fds.len(), cut), (1, false));
        let again = Mapped::receive(fds.pop().unwrap(), data.len() as u64).unwrap();
        assert_eq!(again.bytes(), &data[..]);
        // The seals hold: the file cannot be written or shrunk.
        assert!(rustix::io::pwrite(mapped.fd(), b"x", 0).is_err());
        assert!(rustix::fs::ftruncate(mapped.fd(), 1).is_err());
    }

    #[test]
    fn a_wrong_size_or_an_unsealed_fd_is_refused() {
        let mapped = Mapped::copy_of(&[1; 4096]).unwrap();
        let dup = mapped.fd().try_clone_to_owned().unwrap();
        let error = Mapped::receive(dup, 4097).unwrap_err();
        assert!(error.contains("announced with 4097 bytes"), "{error}");
        let loose = rustix::fs::memfd_create(c"loose", MemfdFlags::CLOEXEC).unwrap();
        rustix::fs::ftruncate(&loose, 10).unwrap();
        let error = Mapped::receive(loose, 10).unwrap_err();
        assert!(error.contains("seal"), "{error}");
        let (_a, b) = channel().unwrap();
        assert!(recv_fds(b.as_fd()).0.is_empty());
    }
}
