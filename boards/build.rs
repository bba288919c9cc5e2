//! Puts the memory layout of the target's board where cortex-m-rt's `link.x`
//! looks for `memory.x`: one board per target.

use std::{env, fs, path::PathBuf};

fn main() {
    let target = env::var("TARGET").unwrap_or_default();
    let board = match target.as_str() {
        "thumbv6m-none-eabi" => "nrf51822",
        "thumbv7m-none-eabi" => "lm3s6965",
        "thumbv7em-none-eabihf" | "thumbv7em-none-eabi" => "nrf52840",
        _ => "generic-m33",
    };
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let layout = format!("memory/{board}.x");
    fs::copy(&layout, out.join("memory.x")).expect("the board's memory layout");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed={layout}");
    println!("cargo:rerun-if-changed=build.rs");
}
