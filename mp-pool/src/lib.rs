//! `mp-pool`: not built yet.
//!
//! This crate is a placeholder in the workspace layout; its issue in the
//! tracker describes what it will hold. It exports nothing.
#![no_std]
