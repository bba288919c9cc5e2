//! The job queue alone, for the loom models in `loom-tests` (only under
//! `--cfg exec_loom`): its block boundaries are cheaper to check without a
//! pool around them.

/// Slots per block under loom: a third push already needs a new block.
pub const BLOCK_CAP: usize = crate::sync::BLOCK_CAP;

/// The pool's queue, holding plain numbers.
#[derive(Default)]
pub struct Queue(crate::queue::Queue<u32>);

impl Queue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `value` (what a submit does).
    pub fn push(&self, value: u32) {
        self.0.push(value);
    }

    /// The oldest ready value, if any (what a worker does).
    pub fn pop(&self) -> Option<u32> {
        self.0.pop().ok()
    }

    /// Every ready value at once (what shutdown with `cancel_futures` does).
    pub fn take_all(&self) -> Vec<u32> {
        self.0.take_all()
    }
}

impl core::fmt::Debug for Queue {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Queue").finish_non_exhaustive()
    }
}
