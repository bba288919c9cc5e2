//! What the exec'd start methods (`ForkServer`, `Spawn`) depend on, broken
//! by the user (issue 15, item 5): the program's file replaced on disk
//! while the pool runs (new workers still start: they run the original
//! file, held open), `exec` refused (a seccomp filter, as a sandbox or a
//! `noexec` mount would: a typed error naming `exec`, never a hang), and
//! `/proc` missing (the build fails, saying so). Each case runs in a
//! process of its own (a copy of this test binary, or a forked child),
//! never in the test harness's process.

mod common;

use std::ffi::CStr;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use common::subprocess::{ROLE, is_role, run_alone};
use common::{Fifo, GUARD, clean, exec_methods, methods, watchdog};
use future_core::ResultError;
use proc_exec::{BuildError, Process, ProcessError, ProcessPoolExecutor, StartMethod, TaskError};

fn pid(_: ()) -> u32 {
    std::process::id()
}

fn double(n: u64) -> u64 {
    2 * n
}

/// Every task on a fresh worker: each one started when it is submitted.
fn pool(method: StartMethod) -> ProcessPoolExecutor {
    ProcessPoolExecutor::builder()
        .max_workers(1)
        .max_tasks_per_child(1)
        .start_method(method)
        .build()
        .unwrap()
}

/// Runs three tasks on three fresh workers of `pool`.
fn three_tasks(what: &str, pool: &ProcessPoolExecutor) {
    let pids: Vec<u32> = (0..3)
        .map(|_| pool.submit(pid, ()).unwrap().into_result().unwrap())
        .collect();
    assert!(pids[0] != pids[1] && pids[1] != pids[2], "{what}: {pids:?}");
    let future = pool.submit(double, 21).unwrap();
    assert_eq!(future.result(GUARD), Ok(&42), "{what}");
}

/// The role of the copy of this binary that the test replaces on disk:
/// pools that work, then (once the test has renamed another file over the
/// copy's path) more workers for them and new pools, which must work too.
#[test]
#[ignore = "run as a child process by the test below"]
fn replaced_binary_role() {
    let (Ok(ready), Ok(gate)) = (
        std::env::var("PROC_EXEC_READY"),
        std::env::var("PROC_EXEC_GATE"),
    ) else {
        return;
    };
    let pools: Vec<_> = exec_methods().into_iter().map(pool).collect();
    for pool in &pools {
        three_tasks("before the replacement", pool);
    }
    std::fs::write(&ready, "ready").unwrap();
    std::fs::read_to_string(&gate).unwrap();
    // The file this process runs is no longer at its path.
    let exe = std::fs::read_link("/proc/self/exe").unwrap();
    assert!(
        exe.to_string_lossy().ends_with(" (deleted)"),
        "not replaced: {exe:?}"
    );
    for pool in &pools {
        three_tasks("after the replacement", pool);
    }
    for method in exec_methods() {
        three_tasks("a pool built after the replacement", &pool(method));
    }
}

/// Waits (with a generous guard) until `child` exits; kills it if it does
/// not.
fn wait_or_kill(child: &mut std::process::Child) -> std::process::ExitStatus {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    use rustix::process::{Pid, PidfdFlags, pidfd_open};
    let pid = Pid::from_raw(child.id() as i32).unwrap();
    let pidfd = pidfd_open(pid, PidfdFlags::empty()).unwrap();
    let guard = Timespec {
        tv_sec: GUARD.unwrap().as_secs() as i64,
        tv_nsec: 0,
    };
    let mut fds = [PollFd::new(&pidfd, PollFlags::IN)];
    if poll(&mut fds, Some(&guard)).unwrap() == 0 {
        let _ = child.kill();
        let _ = child.wait();
        panic!("the copy of the test binary hung");
    }
    child.wait().unwrap()
}

#[test]
fn new_workers_start_after_the_binary_is_replaced_on_disk() {
    let clean = clean();
    let dir = std::env::temp_dir().join(format!("proc-exec-test-{}-replaced", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("program");
    std::fs::copy(std::env::current_exe().unwrap(), &copy).unwrap();
    // What takes its place: a program that is not this one at all.
    let other = dir.join("other");
    let mut script = std::fs::File::create(&other).unwrap();
    script.write_all(b"#!/bin/sh\nexit 3\n").unwrap();
    drop(script);
    std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o755)).unwrap();

    let ready = Fifo::new("replaced-ready");
    let gate = Fifo::new("replaced-gate");
    let mut child = Command::new(&copy)
        .args([
            "--exact",
            "replaced_binary_role",
            "--ignored",
            "--nocapture",
        ])
        .env("PROC_EXEC_READY", &ready.path)
        .env("PROC_EXEC_GATE", &gate.path)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    watchdog("the copy's pools start", || ready.read_all());
    std::fs::rename(&other, &copy).unwrap();
    gate.write("go");
    let status = wait_or_kill(&mut child);
    assert!(status.success(), "the copy's role failed: {status}");
    std::fs::remove_dir_all(&dir).unwrap();
    clean.check();
}

/// Hides `/proc` from the process about to `exec`: a tmpfs over it, in a
/// user and mount namespace of its own (no privilege needed where the
/// kernel allows unprivileged user namespaces). For `pre_exec`: only
/// system calls, on static strings.
fn hide_proc() -> std::io::Result<()> {
    let null = std::ptr::null::<libc::c_char>();
    let (root, none, proc, tmpfs): (&CStr, &CStr, &CStr, &CStr) =
        (c"/", c"none", c"/proc", c"tmpfs");
    // SAFETY: `unshare` on flags; the forked child is single-threaded, as CLONE_NEWUSER needs.
    if unsafe { libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNS) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `mount` with NUL-terminated strings, or nulls where the call allows them; it changes only this process's own mount namespace.
    let private = unsafe {
        libc::mount(
            null,
            root.as_ptr(),
            null,
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        )
    };
    if private != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: as above.
    let hidden = unsafe {
        libc::mount(
            none.as_ptr(),
            proc.as_ptr(),
            tmpfs.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if hidden != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[test]
fn without_proc_the_exec_methods_refuse_to_build_naming_proc() {
    let clean = clean();
    let role = "without_proc_role";
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "--exact",
            role,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ROLE, role)
        .stdin(Stdio::null());
    // SAFETY: `hide_proc` makes only system calls (`unshare`, `mount`), async-signal-safe, on static strings, as a `pre_exec` closure must.
    unsafe { command.pre_exec(hide_proc) };
    match watchdog("a copy of this binary without /proc", || command.output()) {
        Ok(output) => assert!(
            output.status.success() && String::from_utf8_lossy(&output.stdout).contains("1 passed"),
            "{role} failed ({})\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
        // The copy could not be started: `/proc` cannot be hidden here.
        Err(error) => println!("skipped: no user and mount namespace to hide /proc in ({error})"),
    }
    clean.check();
}

/// In a copy of this binary that cannot see `/proc`: the exec'd start
/// methods refuse to start, naming `/proc`.
#[test]
#[ignore = "a role: run by without_proc_the_exec_methods_refuse_to_build_naming_proc"]
fn without_proc_role() {
    if !is_role("without_proc_role") {
        return;
    }
    assert!(
        std::fs::metadata("/proc/self/exe").is_err(),
        "/proc is not hidden"
    );
    for method in exec_methods() {
        match ProcessPoolExecutor::builder()
            .max_workers(1)
            .start_method(method)
            .build()
        {
            Err(error @ BuildError::StartMethod(_)) => {
                assert!(error.to_string().contains("/proc"), "{error}")
            }
            other => panic!("{method:?}: {:?}", other.map(|_| "a pool")),
        }
        let mut process = Process::new(double, 1).unwrap().start_method(method);
        match process.start() {
            Err(ProcessError::Io(error)) => assert!(error.to_string().contains("/proc"), "{error}"),
            other => panic!("Process, {method:?}: {other:?}"),
        }
    }
}

/// Whether `text` says an `exec` was refused.
fn names_exec(text: &str) -> bool {
    text.contains("could not be started") && text.contains("exec")
}

#[test]
fn exec_refused_is_a_typed_error_naming_exec() {
    let clean = clean();
    let output = run_alone("exec_refused_role");
    // Where no filter can be installed (qemu-user), the role says so.
    let said = String::from_utf8_lossy(&output.stdout);
    if let Some(line) = said.lines().find(|line| line.starts_with("skipped")) {
        println!("{line}");
    }
    clean.check();
}

/// In a process of its own: `execve` and `execveat` (what `fexecve` uses)
/// fail with `EPERM`, as under a sandbox's seccomp filter. `ForkServer`
/// cannot build; `Spawn` builds, and its first task fails with a broken
/// pool saying why; `Fork` does not `exec` and works; a `Process` of an
/// exec'd method cannot start.
#[test]
#[ignore = "a role: run by exec_refused_is_a_typed_error_naming_exec"]
fn exec_refused_role() {
    if !is_role("exec_refused_role") {
        return;
    }
    let refuse = [
        (libc::SYS_execve, libc::EPERM),
        (libc::SYS_execveat, libc::EPERM),
    ];
    if let Err(error) = common::seccomp::fail_syscalls(&refuse) {
        println!("skipped: no seccomp filter here ({error})");
        return;
    }
    for method in methods() {
        watchdog(&format!("{method:?} with exec refused"), || {
            let built = ProcessPoolExecutor::builder()
                .max_workers(1)
                .start_method(method)
                .build();
            match (method, built) {
                (StartMethod::ForkServer, Err(error @ BuildError::StartMethod(_))) => {
                    assert!(names_exec(&error.to_string()), "{error}");
                }
                (StartMethod::Spawn, Ok(pool)) => {
                    match pool.submit(double, 1).unwrap().result(GUARD) {
                        Err(ResultError::Failed(TaskError::Broken(broken))) => {
                            assert!(names_exec(&broken.to_string()), "{broken}");
                        }
                        other => panic!("Spawn: {other:?}"),
                    }
                }
                (StartMethod::Fork, Ok(pool)) => {
                    assert_eq!(pool.submit(double, 1).unwrap().result(GUARD), Ok(&2));
                }
                (method, other) => panic!("{method:?}: {:?}", other.map(|_| "a pool")),
            }
            if method != StartMethod::Fork {
                let mut process = Process::new(double, 1).unwrap().start_method(method);
                match process.start() {
                    Err(ProcessError::Io(error)) => {
                        assert!(names_exec(&error.to_string()), "{error}");
                    }
                    other => panic!("Process, {method:?}: {other:?}"),
                }
            }
        });
    }
}
