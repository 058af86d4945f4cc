//! The publisher's triage file parser on arbitrary text (pure and self-contained; compiled here
//! directly, without the publisher's Polars and AWS dependencies).
#![no_main]

#[allow(dead_code, clippy::all)]
#[path = "../../publisher/src/triage.rs"]
mod triage;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = triage::parse(&String::from_utf8_lossy(data), "triage.toml");
});
