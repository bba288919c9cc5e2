//! What the process tests of proc-exec and mp-pool share: the check every
//! test ends with (no child left, alive or zombie, and no file descriptor
//! left open), FIFOs through which a test and a task meet, and the start
//! method the tests run with ([`START_METHOD`]).
//!
//! Those parts, and the signal dispositions and the seccomp filter, are
//! Linux's, as are proc-exec and mp-pool; the rest (hang guards, seeded
//! randomness, hostile types) builds everywhere, for thread-exec's tests.

pub mod errors;
mod held;
pub mod hostile;
mod methods;
#[cfg(target_os = "linux")]
pub mod seccomp;
pub mod subprocess;
mod watchdog;

pub use held::Held;
pub use methods::{Method, START_METHOD};
pub use watchdog::Watchdog;

#[cfg(target_os = "linux")]
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

#[cfg(target_os = "linux")]
pub mod signals;

/// A hang guard, never a synchronisation.
pub const GUARD: Option<Duration> = Some(Duration::from_secs(60));

#[cfg(target_os = "linux")]
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

#[cfg(target_os = "linux")]
/// Serialises the tests of one binary (so fd and child counts are theirs)
/// and remembers the open fds.
#[derive(Debug)]
pub struct Clean {
    fds: Vec<String>,
    _one: MutexGuard<'static, ()>,
}

#[cfg(target_os = "linux")]
/// Call first in every test that starts processes (so it is dropped last,
/// after the test's other values, and the next test starts only then); call
/// [`Clean::check`] at the end.
pub fn clean() -> Clean {
    let one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    Clean {
        fds: settled(open_fds),
        _one: one,
    }
}

#[cfg(target_os = "linux")]
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
        // A leaked fd stays open; one the test harness's main thread opens
        // for a moment (between tests libtest reads cgroup files to size
        // its thread count) is gone on a second look.
        let mut now = open_fds();
        for _ in 0..LOOKS {
            if now == self.fds {
                return;
            }
            std::thread::yield_now();
            now = open_fds();
        }
        assert_eq!(now, self.fds, "file descriptors leaked");
    }
}

/// How many times the fd table is listed before a difference counts.
pub const LOOKS: usize = 1000;

/// What `look` sees once two looks in a row agree (bounded: after
/// [`LOOKS`] looks, the last): how the fd checks ignore a descriptor the
/// test harness's main thread holds for a moment (between tests libtest
/// reads cgroup files to size its thread count).
pub fn settled<T: PartialEq>(mut look: impl FnMut() -> T) -> T {
    let mut last = look();
    for _ in 0..LOOKS {
        let now = look();
        if now == last {
            return now;
        }
        last = now;
        std::thread::yield_now();
    }
    last
}

#[cfg(target_os = "linux")]
fn open_fds() -> Vec<String> {
    let mut fds: Vec<String> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| {
            let e = e.unwrap();
            // An fd closed between the listing and this look has no link.
            let target = std::fs::read_link(e.path()).ok()?;
            Some(format!(
                "{} -> {}",
                e.file_name().to_string_lossy(),
                target.display()
            ))
        })
        .collect();
    fds.sort();
    // The directory listing itself is open while it is read.
    fds.retain(|f| !f.contains("/proc/") || !f.ends_with("/fd"));
    fds
}

#[cfg(target_os = "linux")]
/// A named pipe in a fresh temporary directory: how a test and a task in a
/// worker (which inherits no fds) meet, without sleeps.
#[derive(Debug)]
pub struct Fifo {
    /// Where it is.
    pub path: String,
}

#[cfg(target_os = "linux")]
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

#[cfg(target_os = "linux")]
impl Drop for Fifo {
    fn drop(&mut self) {
        if let Some(dir) = std::path::Path::new(&self.path).parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A small seeded generator (splitmix64) for the soak tests: the same seed
/// gives the same workload, so a failing round can be run again.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `percent` in 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// How long a soak test runs: `SOAK_ROUNDS` rounds if set (the knob to run
/// for hours), else `default`.
pub fn soak_rounds(default: u64) -> u64 {
    std::env::var("SOAK_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The seed of a soak run: `SOAK_SEED` if set, else one from the clock
/// (printed by the caller, so a failure can be replayed).
pub fn soak_seed() -> u64 {
    std::env::var("SOAK_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
            now.map_or(1, |d| d.as_nanos() as u64)
        })
}

/// This process's resident set size in bytes (`/proc/self/statm`: Linux
/// only at run time).
pub fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * rustix::param::page_size() as u64
}

/// The threads of this process (`/proc/self/task`: Linux only at run time).
pub fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

/// The threads of this process once at most `expected` are left, or after
/// [`GUARD`]. A joined thread can still be listed for a moment: `join`
/// returns when the kernel clears the thread's id, a little before it
/// takes the thread out of `/proc/self/task`.
pub fn threads_settle_to(expected: usize) -> usize {
    let give_up = std::time::Instant::now() + GUARD.unwrap();
    loop {
        let now = thread_count();
        if now <= expected || std::time::Instant::now() > give_up {
            return now;
        }
        std::thread::yield_now();
    }
}

/// Checks that the resident set does not keep growing across soak rounds:
/// after a warm-up round, no later round may end more than `slack` bytes
/// above the first round after warm-up.
#[derive(Debug, Default)]
pub struct RssWatch {
    baseline: Option<u64>,
    rounds: u64,
}

impl RssWatch {
    /// Records the end of a round; panics if the RSS grew past the slack.
    pub fn round_ended(&mut self, slack: u64) {
        self.rounds += 1;
        let now = rss_bytes();
        match self.baseline {
            // Round 1 warms allocator arenas and thread stacks up.
            None if self.rounds >= 2 => self.baseline = Some(now),
            None => {}
            Some(base) => assert!(
                now <= base + slack,
                "RSS grew from {base} to {now} bytes by round {}",
                self.rounds
            ),
        }
    }
}

/// Keeps panics whose message contains `marker` (the ones a test causes on
/// purpose) out of the output; every other panic is reported as usual.
pub fn quiet_panics(marker: &'static str) {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let text = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if !text.contains(marker) {
            report(info);
        }
    }));
}

#[cfg(target_os = "linux")]
/// What a test task does, sent to a worker as its argument.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Step {
    /// Says it started through the FIFO `started`, then blocks until the
    /// test writes to the FIFO `gate`; returns the length of what it read.
    Block {
        /// Where it says it started.
        started: String,
        /// What it waits on.
        gate: String,
    },
    /// Writes "ran" into this file and returns 0.
    Touch(String),
    /// Returns its number.
    Value(u64),
    /// Panics with a message containing "on purpose".
    Panic,
    /// Kills its own process with SIGKILL.
    KillSelf,
}

#[cfg(target_os = "linux")]
/// Runs a [`Step`] (the task function the tests submit).
pub fn step(step: Step) -> u64 {
    match step {
        Step::Block { started, gate } => {
            std::fs::write(started, "started").unwrap();
            std::fs::read_to_string(gate).unwrap().len() as u64
        }
        Step::Touch(path) => {
            std::fs::write(path, "ran").unwrap();
            0
        }
        Step::Value(n) => n,
        Step::Panic => panic!("the task panicked on purpose"),
        Step::KillSelf => {
            let me = rustix::process::getpid();
            rustix::process::kill_process(me, rustix::process::Signal::KILL).unwrap();
            unreachable!("SIGKILL cannot be caught")
        }
    }
}

#[cfg(target_os = "linux")]
/// A task that blocks until the test lets it go: two FIFOs, one to hear
/// that it started, one to release it.
#[derive(Debug)]
pub struct Gate {
    started: Fifo,
    gate: Fifo,
}

#[cfg(target_os = "linux")]
impl Gate {
    /// A gate whose FIFOs are named after `name`.
    pub fn new(name: &str) -> Self {
        Self {
            started: Fifo::new(&format!("{name}-started")),
            gate: Fifo::new(&format!("{name}-gate")),
        }
    }

    /// The step that blocks on this gate.
    pub fn step(&self) -> Step {
        Step::Block {
            started: self.started.path.clone(),
            gate: self.gate.path.clone(),
        }
    }

    /// Waits until the task started.
    pub fn wait_started(&self) {
        self.started.read_all();
    }

    /// Lets the task go (it returns 2, the length of "go").
    pub fn open(&self) {
        self.gate.write("go");
    }
}

/// Kills a random worker among `pids()` every few milliseconds (a third of
/// the time it looks) until `stop` is set; returns how many it killed. The
/// fault injection of the soak tests.
pub fn chaos(pids: impl Fn() -> Vec<u32>, seed: u64, stop: &std::sync::atomic::AtomicBool) -> u64 {
    let mut rng = Rng::new(seed);
    let mut kills = 0;
    // ORDERING: a stop flag; nothing else is published through it.
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        // Fault-injection pacing, not a synchronisation.
        std::thread::sleep(Duration::from_millis(1 + rng.below(9)));
        let pids = pids();
        if pids.is_empty() || !rng.chance(30) {
            continue;
        }
        let pid = pids[rng.below(pids.len() as u64) as usize];
        if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
            // The worker may have exited meanwhile (ESRCH); that is fine.
            if rustix::process::kill_process(pid, rustix::process::Signal::KILL).is_ok() {
                kills += 1;
            }
        }
    }
    kills
}

/// Busy for about `micros` microseconds: a task that keeps a CPU, as real
/// work does (not a sleep).
pub fn spin(micros: u64) -> u64 {
    let end = std::time::Instant::now() + Duration::from_micros(micros);
    while std::time::Instant::now() < end {
        std::hint::spin_loop();
    }
    micros
}

/// Runs `body` under a [`Watchdog`] of [`GUARD`] and returns what it returns.
/// A panic in `body` is the caller's panic.
pub fn watchdog<T>(what: &str, body: impl FnOnce() -> T) -> T {
    let _guard = Watchdog::arm(what, GUARD.unwrap());
    body()
}

#[cfg(target_os = "linux")]
/// This process's descriptors and mappings of proc-exec's shared payloads
/// (`SharedBytes` memfds, named `proc-exec-shared`): `(0, 0)` once none is
/// held, which a leak check of shared memory asserts.
pub fn shared_payloads_held() -> (usize, usize) {
    let marker = "proc-exec-shared";
    let fds = std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .filter(|target| target.to_string_lossy().contains(marker))
        .count();
    let maps = std::fs::read_to_string("/proc/self/maps")
        .expect("/proc/self/maps")
        .lines()
        .filter(|line| line.contains(marker))
        .count();
    (fds, maps)
}

#[cfg(target_os = "linux")]
/// Every file descriptor this process may open is taken (see
/// [`exhaust_fds`]); dropping it closes them and puts the limit back.
#[derive(Debug)]
pub struct Exhausted {
    fillers: Vec<std::os::fd::OwnedFd>,
    limit: rustix::process::Rlimit,
}

#[cfg(target_os = "linux")]
/// Lowers `RLIMIT_NOFILE` to `limit` and opens descriptors until no more
/// can be opened, so the next `pipe` or `socketpair` fails with `EMFILE`.
/// Process-wide: only in a test binary of its own, under [`clean`].
pub fn exhaust_fds(limit: u64) -> Exhausted {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let old = getrlimit(Resource::Nofile);
    let lowered = Rlimit {
        current: Some(limit),
        maximum: old.maximum,
    };
    setrlimit(Resource::Nofile, lowered).unwrap();
    let mut fillers = Vec::new();
    loop {
        match rustix::io::fcntl_dupfd_cloexec(std::io::stderr(), 0) {
            Ok(fd) => fillers.push(fd),
            Err(rustix::io::Errno::MFILE) => break,
            Err(other) => panic!("filling the descriptor table: {other}"),
        }
    }
    Exhausted {
        fillers,
        limit: old,
    }
}

#[cfg(target_os = "linux")]
impl Drop for Exhausted {
    fn drop(&mut self) {
        self.fillers.clear();
        let _ = rustix::process::setrlimit(rustix::process::Resource::Nofile, self.limit);
    }
}
