//! Makes chosen system calls fail, to simulate an older kernel or a
//! sandbox that refuses them: a seccomp filter answering each named call
//! with an `errno` instead of running it.
//!
//! The filter holds for every thread of the calling process and for every
//! process it starts from then on (across `fork` and `exec`), and it can
//! never be removed. So install it only in a process of its own: a test
//! started by [`run_alone`](crate::subprocess::run_alone) (the usual way),
//! or a forked child. Installing it needs no privilege (the process sets
//! `PR_SET_NO_NEW_PRIVS` first, as the kernel asks of an unprivileged
//! filter).
//!
//! ```no_run
//! use test_support::seccomp::{Fail, fail_syscalls, fail_syscalls_if};
//! // A kernel before 5.3: no pidfd_open.
//! fail_syscalls(&[(libc::SYS_pidfd_open, libc::ENOSYS)]).unwrap();
//! // A kernel before 5.4: waitid refuses P_PIDFD, other waitids work.
//! let old = Fail::new(libc::SYS_waitid, libc::ENOSYS).when_first_arg(libc::P_PIDFD);
//! fail_syscalls_if(&[old]).unwrap();
//! ```
//!
//! The filter is plain classic BPF written out here (no libseccomp). It
//! knows the system call numbers of x86_64, i686, aarch64, 32-bit ARM and
//! riscv64; a call made through another ABI of the same kernel (x32, or
//! `int 0x80` from a 64-bit x86 process) is let through untouched.
//! Under qemu-user the filter cannot be installed (qemu implements no
//! seccomp: `ENOSYS`): the functions return that error.
#![allow(unsafe_code)]

use std::io;
use std::mem::offset_of;

use libc::{c_int, c_long, seccomp_data, sock_filter, sock_fprog};

/// One system call to fail: its number (`libc::SYS_*`), the `errno` it
/// returns instead of running, and optionally the only first argument for
/// which it fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fail {
    /// The call's number on this target (`libc::SYS_*`).
    pub syscall: c_long,
    /// If set, the call fails only when the low 32 bits of its first
    /// argument are this value (enough for an `int` such as `waitid`'s
    /// `idtype`); other calls run.
    pub first_arg: Option<u32>,
    /// What the call returns instead, `1..=4095` (`libc::ENOSYS`, ...).
    pub errno: c_int,
}

impl Fail {
    /// `syscall` fails with `errno`, whatever its arguments.
    pub const fn new(syscall: c_long, errno: c_int) -> Self {
        Self {
            syscall,
            first_arg: None,
            errno,
        }
    }

    /// The same, only when the first argument is `value` (an `int` or
    /// `unsigned int`, compared on its 32 bits).
    pub const fn when_first_arg(self, value: u32) -> Self {
        Self {
            first_arg: Some(value),
            ..self
        }
    }
}

/// Makes each `(syscall, errno)` pair's call fail with that `errno`, in this
/// process and every process it starts from now on, for good.
///
/// Call it only in a process that exists for the test (see the module
/// docs): it cannot be undone.
///
/// # Errors
///
/// An `errno` outside `1..=4095`, a target whose calls the filter does not
/// know ([`io::ErrorKind::Unsupported`]), or the kernel's refusal
/// (`ENOSYS` without seccomp, and under qemu-user).
pub fn fail_syscalls(calls: &[(c_long, c_int)]) -> io::Result<()> {
    let rules: Vec<Fail> = calls
        .iter()
        .map(|&(syscall, errno)| Fail::new(syscall, errno))
        .collect();
    fail_syscalls_if(&rules)
}

/// Installs the filter for `rules` (see [`fail_syscalls`], which this
/// generalises with [`Fail::when_first_arg`]).
///
/// # Errors
///
/// As [`fail_syscalls`].
pub fn fail_syscalls_if(rules: &[Fail]) -> io::Result<()> {
    let Some(arch) = AUDIT_ARCH else {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "test_support::seccomp knows no system call numbers for this target",
        ));
    };
    if let Some(bad) = rules.iter().find(|r| !(1..=4095).contains(&r.errno)) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("errno {} is not in 1..=4095", bad.errno),
        ));
    }
    let mut program = filter(arch, rules);
    let len = u16::try_from(program.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "too many rules"))?;
    let prog = sock_fprog {
        len,
        filter: program.as_mut_ptr(),
    };
    // SAFETY: PR_SET_NO_NEW_PRIVS takes integers only and touches no memory of ours.
    if unsafe {
        libc::prctl(
            libc::PR_SET_NO_NEW_PRIVS,
            1 as c_long,
            0 as c_long,
            0 as c_long,
            0 as c_long,
        )
    } != 0
    {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `prog` points at `program`, `len` instructions that outlive the call (the kernel copies them). TSYNC puts every thread of the process under the filter, so none escapes it.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER as c_long,
            libc::SECCOMP_FILTER_FLAG_TSYNC as c_long,
            &prog as *const sock_fprog,
        )
    };
    match ret {
        0 => Ok(()),
        -1 => Err(io::Error::last_os_error()),
        // With TSYNC, a thread id: that thread could not be synchronised.
        tid => Err(io::Error::other(format!(
            "thread {tid} could not be put under the seccomp filter"
        ))),
    }
}

/// `AUDIT_ARCH_*` of this target (linux/audit.h: the ELF machine, with the
/// 64-bit and little-endian flags), which the filter checks before it trusts
/// a system call number.
const AUDIT_ARCH: Option<u32> = if cfg!(target_arch = "x86_64") {
    Some(0xC000_003E)
} else if cfg!(target_arch = "x86") {
    Some(0x4000_0003)
} else if cfg!(target_arch = "aarch64") {
    Some(0xC000_00B7)
} else if cfg!(all(target_arch = "arm", target_endian = "little")) {
    Some(0x4000_0028)
} else if cfg!(target_arch = "riscv64") {
    Some(0xC000_00F3)
} else {
    None
};

/// Where the low 32 bits of the first argument are in `seccomp_data`.
const FIRST_ARG_LOW: usize =
    offset_of!(seccomp_data, args) + if cfg!(target_endian = "little") { 0 } else { 4 };

/// The program: a call of another ABI passes; then each rule in turn
/// reloads the call number, and returns its `errno` on a match.
fn filter(arch: u32, rules: &[Fail]) -> Vec<sock_filter> {
    let load = |offset: usize| stmt(LD_ABS, offset as u32);
    let mut program = vec![
        load(offset_of!(seccomp_data, arch)),
        jump_eq(arch, 1, 0),
        stmt(RET, libc::SECCOMP_RET_ALLOW),
    ];
    for rule in rules {
        let fail = stmt(RET, libc::SECCOMP_RET_ERRNO | rule.errno as u32);
        program.push(load(offset_of!(seccomp_data, nr)));
        // The kernel's numbers are small and positive: an `int` in the data.
        let nr = rule.syscall as u32;
        match rule.first_arg {
            None => program.extend([jump_eq(nr, 0, 1), fail]),
            Some(value) => program.extend([
                jump_eq(nr, 0, 3),
                load(FIRST_ARG_LOW),
                jump_eq(value, 0, 1),
                fail,
            ]),
        }
    }
    program.push(stmt(RET, libc::SECCOMP_RET_ALLOW));
    program
}

/// `BPF_LD | BPF_W | BPF_ABS`: load the 32-bit word at offset `k`.
const LD_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
/// `BPF_RET | BPF_K`: return `k`.
const RET: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
/// `BPF_JMP | BPF_JEQ | BPF_K`: skip `jt` if the accumulator is `k`, else `jf`.
const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;

/// An instruction without jumps.
fn stmt(code: u16, k: u32) -> sock_filter {
    sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

/// A conditional jump on `accumulator == k`.
fn jump_eq(k: u32, jt: u8, jf: u8) -> sock_filter {
    sock_filter {
        code: JEQ,
        jt,
        jf,
        k,
    }
}
