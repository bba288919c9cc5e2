//! Values whose own code panics: a `Serialize`, `Deserialize` or `Drop`
//! that panics when the value says so, on the side (worker or parent) it
//! says. What the tests of "user code runs on the pool's threads" send.

use std::sync::atomic::{AtomicU32, Ordering};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The pid of the test process; a forked worker has another one.
static PARENT: AtomicU32 = AtomicU32::new(0);

/// Marks this process as the parent: call before building a pool (its
/// workers and fork server, forked later, then know they are not it).
pub fn mark_parent() {
    // ORDERING: read only by this process and its later forks.
    PARENT.store(std::process::id(), Ordering::Relaxed);
}

/// Whether this is the process [`mark_parent`] marked.
pub fn in_parent() -> bool {
    // ORDERING: as in `mark_parent`.
    PARENT.load(Ordering::Relaxed) == std::process::id()
}

/// Which of a [`Hostile`]'s own functions panics, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Bomb {
    /// Nothing panics.
    None,
    /// `Serialize` panics in a worker (encoding a result).
    SerializeInWorker,
    /// `Deserialize` panics in a worker (decoding an argument).
    DeserializeInWorker,
    /// `Deserialize` panics in the parent (decoding a result).
    DeserializeInParent,
    /// `Drop` panics in a worker.
    DropInWorker,
    /// `Drop` panics in the parent.
    DropInParent,
}

/// A value carrying text, whose serde or `Drop` panics as its [`Bomb`] says.
/// Every panic message contains "on purpose" (see `quiet_panics`).
#[derive(Debug, PartialEq, Eq)]
pub struct Hostile {
    /// What it carries.
    pub text: String,
    /// What panics.
    pub bomb: Bomb,
}

impl Hostile {
    /// A value whose `bomb` goes off.
    pub fn new(text: impl Into<String>, bomb: Bomb) -> Self {
        Self {
            text: text.into(),
            bomb,
        }
    }

    /// Defuses it: the text, with nothing left to panic.
    pub fn defuse(mut self) -> String {
        self.bomb = Bomb::None;
        std::mem::take(&mut self.text)
    }
}

impl Clone for Hostile {
    fn clone(&self) -> Self {
        Self::new(self.text.clone(), self.bomb)
    }
}

impl Serialize for Hostile {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.bomb == Bomb::SerializeInWorker && !in_parent() {
            panic!("Serialize panicked on purpose");
        }
        (&self.text, self.bomb).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Hostile {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (text, bomb) = <(String, Bomb)>::deserialize(deserializer)?;
        match bomb {
            Bomb::DeserializeInWorker if !in_parent() => {
                panic!("Deserialize panicked on purpose in the worker")
            }
            Bomb::DeserializeInParent if in_parent() => {
                panic!("Deserialize panicked on purpose in the parent")
            }
            _ => Ok(Self { text, bomb }),
        }
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        let here = match self.bomb {
            Bomb::DropInWorker => !in_parent(),
            Bomb::DropInParent => in_parent(),
            _ => false,
        };
        if here && !std::thread::panicking() {
            panic!("Drop panicked on purpose");
        }
    }
}

/// A panic payload whose own `Drop` panics: what `std::panic::panic_any`
/// throws in the nastiest tests.
#[derive(Debug)]
pub struct PanickingPayload;

impl Drop for PanickingPayload {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("the payload's Drop panicked on purpose");
        }
    }
}
