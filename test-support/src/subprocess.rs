//! Runs one test of the current test binary alone, in a fresh process: for
//! tests that change what cannot be changed back (a seccomp filter, see
//! [`seccomp`](crate::seccomp)), or that need a process with no other test
//! thread in it.
//!
//! The test that does the work (the *role*) is `#[ignore]`d, so ordinary
//! runs skip it, and starts with [`is_role`], so a run of the ignored tests
//! skips its body too. A visible test starts it with [`run_alone`]:
//!
//! ```no_run
//! #[test]
//! fn an_old_kernel_gets_a_clear_error() {
//!     test_support::subprocess::run_alone("old_kernel_role");
//! }
//!
//! #[test]
//! #[ignore = "a role: run by an_old_kernel_gets_a_clear_error"]
//! fn old_kernel_role() {
//!     if !test_support::subprocess::is_role("old_kernel_role") {
//!         return;
//!     }
//!     // The process is this test's alone: change it for good.
//! }
//! ```

use std::process::{Command, Output, Stdio};
use std::sync::mpsc;

use crate::GUARD;

/// The variable [`run_alone`] sets to the role's name.
pub const ROLE: &str = "EXEC_TEST_ROLE";

/// Whether this process was started by [`run_alone`] to play `name`.
pub fn is_role(name: &str) -> bool {
    std::env::var_os(ROLE).is_some_and(|role| role == name)
}

/// Runs the `#[ignore]`d test `name` of this test binary alone in a new
/// process (`--exact --ignored --nocapture`, one test thread), with
/// [`ROLE`] set to `name`, and returns its output once it passed.
///
/// # Panics
///
/// If the role failed (its output is shown), ran no test (a misspelt name),
/// or did not end within [`GUARD`] (it is then killed).
pub fn run_alone(name: &str) -> Output {
    let exe = std::env::current_exe().expect("the test binary's path");
    let child = Command::new(exe)
        .args([
            "--exact",
            name,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ROLE, name)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the test binary again");
    let pid = child.id();
    let (done, finished) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    let output = match finished.recv_timeout(GUARD.unwrap()) {
        Ok(output) => output.expect("waiting for the test binary"),
        Err(_) => {
            // Still unreaped (the waiter has not returned), so the pid is
            // still this process's.
            if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
            let _ = waiter.join();
            panic!("{name}: did not finish within {GUARD:?} (killed): a hang");
        }
    };
    let _ = waiter.join();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{name}: the test run alone failed ({})\n---- its stdout:\n{stdout}\n---- its stderr:\n{stderr}",
        output.status
    );
    output
}
