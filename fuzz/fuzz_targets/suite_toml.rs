//! The runner's suite TOML parser on arbitrary text. The parser is pure and self-contained, so
//! its file is compiled here directly (the runner crate's Docker and AWS dependencies would
//! multiply the instrumented build for no coverage).
#![no_main]

#[allow(dead_code, clippy::all)]
#[path = "../../runner/src/suite.rs"]
mod suite;

// `--grid` cells are part of a suite's jobs.
#[allow(dead_code, clippy::all)]
#[path = "../../runner/src/grid.rs"]
mod grid;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = suite::parse(&String::from_utf8_lossy(data), "fuzz.toml");
});
