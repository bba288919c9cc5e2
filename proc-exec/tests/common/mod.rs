//! The helpers every process test uses (shared with mp-pool's tests).
#![allow(unused_imports)]

pub(crate) use test_support::*;
