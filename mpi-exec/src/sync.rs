//! The crate's one door to atomics and channels.

pub(crate) use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
pub(crate) use std::sync::mpsc::{Receiver, Sender, channel};
