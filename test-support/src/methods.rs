//! Which start method the process tests run with: one switch,
//! [`START_METHOD`], for every test of proc-exec and mp-pool.
//!
//! A test that builds a pool without caring how its workers start uses the
//! method the switch names (unset: the library's default), through its
//! crate's `tests/common` builder. A test that loops over the methods loops
//! over [`Method::to_test`]: all three when the switch is unset, only the
//! named one when it is set, so a run with the switch repeats no work the
//! default run did with another method.
//!
//! This crate does not depend on proc-exec (proc-exec's own unit tests use
//! it, and would then link a second copy of proc-exec, with a second start
//! constructor): each `tests/common` maps a [`Method`] to its
//! `StartMethod`.

/// The environment variable that picks the start method: `fork`,
/// `forkserver` or `spawn`.
pub const START_METHOD: &str = "EXEC_TEST_START_METHOD";

/// A start method, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Each worker forked from the pool's manager thread.
    Fork,
    /// Each worker forked from an exec'd fork server (the default).
    ForkServer,
    /// Each worker a fresh exec'd copy of the program.
    Spawn,
}

impl Method {
    /// Every start method.
    pub const ALL: [Method; 3] = [Method::Fork, Method::ForkServer, Method::Spawn];

    /// The method [`START_METHOD`] names, or `None` when it is unset.
    ///
    /// # Panics
    ///
    /// On any other value: a misspelt switch must not quietly test the
    /// default.
    pub fn chosen() -> Option<Method> {
        let value = std::env::var(START_METHOD).ok()?;
        match Method::ALL.into_iter().find(|m| m.name() == value) {
            Some(method) => Some(method),
            None => panic!("{START_METHOD}={value}: expected fork, forkserver or spawn"),
        }
    }

    /// Its name as [`START_METHOD`] spells it.
    pub fn name(self) -> &'static str {
        match self {
            Method::Fork => "fork",
            Method::ForkServer => "forkserver",
            Method::Spawn => "spawn",
        }
    }

    /// The methods a test that compares them loops over: the chosen one,
    /// else all three.
    pub fn to_test() -> Vec<Method> {
        match Method::chosen() {
            Some(one) => vec![one],
            None => Method::ALL.to_vec(),
        }
    }

    /// The methods that exec a fresh copy of the program: safe whatever
    /// the parent's other threads hold, out of [`Method::to_test`].
    pub fn exec_to_test() -> Vec<Method> {
        let mut methods = Method::to_test();
        methods.retain(|m| *m != Method::Fork);
        methods
    }
}
