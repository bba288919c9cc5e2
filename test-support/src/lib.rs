//! What the process tests of proc-exec and mp-pool share: the check every
//! test ends with (no child left, alive or zombie, and no file descriptor
//! left open), and FIFOs through which a test and a task meet.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// A hang guard, never a synchronisation.
pub const GUARD: Option<Duration> = Some(Duration::from_secs(60));

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Serialises the tests of one binary (so fd and child counts are theirs)
/// and remembers the open fds.
#[derive(Debug)]
pub struct Clean {
    fds: Vec<String>,
    _one: MutexGuard<'static, ()>,
}

/// Call first in every test that starts processes (so it is dropped last,
/// after the test's other values, and the next test starts only then); call
/// [`Clean::check`] at the end.
pub fn clean() -> Clean {
    let one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    Clean {
        fds: open_fds(),
        _one: one,
    }
}

impl Clean {
    /// Asserts no child process exists (neither running nor a zombie) and the
    /// same fds are open as at the start.
    pub fn check(&self) {
        use rustix::process::{WaitId, WaitIdOptions, waitid};
        let options = WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT;
        match waitid(WaitId::All, options) {
            Err(rustix::io::Errno::CHILD) => {}
            other => panic!("a child process is left behind: {other:?}"),
        }
        assert_eq!(open_fds(), self.fds, "file descriptors leaked");
    }
}

fn open_fds() -> Vec<String> {
    let mut fds: Vec<String> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let target = std::fs::read_link(e.path())
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            format!("{} -> {target}", e.file_name().to_string_lossy())
        })
        .collect();
    fds.sort();
    // The directory listing itself is open while it is read.
    fds.retain(|f| !f.contains("/proc/") || !f.ends_with("/fd"));
    fds
}

/// A named pipe in a fresh temporary directory: how a test and a task in a
/// worker (which inherits no fds) meet, without sleeps.
#[derive(Debug)]
pub struct Fifo {
    /// Where it is.
    pub path: String,
}

impl Fifo {
    /// Makes the FIFO `name` in a fresh directory of its own.
    pub fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("proc-exec-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &path,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        Fifo {
            path: path.display().to_string(),
        }
    }

    /// Blocks until a task opened the FIFO for writing and closed it; returns
    /// what it wrote.
    pub fn read_all(&self) -> String {
        std::fs::read_to_string(&self.path).unwrap()
    }

    /// Blocks until a task opened the FIFO for reading, writes, closes.
    pub fn write(&self, text: &str) {
        std::fs::write(&self.path, text).unwrap();
    }
}

impl Drop for Fifo {
    fn drop(&mut self) {
        if let Some(dir) = std::path::Path::new(&self.path).parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
