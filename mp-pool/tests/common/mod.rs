//! The helpers every process test uses (shared with proc-exec's tests), and
//! the tasks mp-pool's tests run.
#![allow(dead_code, unused_imports)]

pub(crate) use test_support::*;

use std::time::Duration;

/// A pool of `n` processes.
pub(crate) fn pool(n: usize) -> mp_pool::Pool {
    mp_pool::Pool::builder().processes(n).build().unwrap()
}

pub(crate) fn square(n: u64) -> u64 {
    n * n
}

pub(crate) fn panics_on_zero(n: u64) -> u64 {
    assert_ne!(n, 0, "zero is not allowed");
    n
}

/// The pid of the worker that runs it.
pub(crate) fn pid(_: ()) -> u32 {
    std::process::id()
}

/// What a test task does.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) enum Step {
    /// Says it started through `started`, then blocks until the test opens
    /// `gate`; returns the length of what it read.
    Block { started: String, gate: String },
    /// Returns its number.
    Value(u64),
    /// Panics.
    Panic,
    /// Kills its own worker with SIGKILL.
    KillSelf,
}

pub(crate) fn step(step: Step) -> u64 {
    match step {
        Step::Block { started, gate } => {
            std::fs::write(started, "started").unwrap();
            std::fs::read_to_string(gate).unwrap().len() as u64
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

/// A task that blocks until the test lets it go.
pub(crate) struct Gate {
    pub(crate) started: Fifo,
    pub(crate) gate: Fifo,
}

impl Gate {
    pub(crate) fn new(name: &str) -> Self {
        Self {
            started: Fifo::new(&format!("mp-{name}-started")),
            gate: Fifo::new(&format!("mp-{name}-gate")),
        }
    }

    /// The step that blocks on this gate.
    pub(crate) fn step(&self) -> Step {
        Step::Block {
            started: self.started.path.clone(),
            gate: self.gate.path.clone(),
        }
    }

    /// Waits until the task started.
    pub(crate) fn wait_started(&self) {
        self.started.read_all();
    }

    /// Lets the task go (it returns 2).
    pub(crate) fn open(&self) {
        self.gate.write("go");
    }
}

/// How long a test waits for something that should not happen, to see it
/// does not: long enough to catch it almost always, never a synchronisation.
pub(crate) const NOT_YET: Duration = Duration::from_millis(200);
