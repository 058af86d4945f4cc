//! `sglci_core::parse::upstream` on arbitrary bytes: never a panic, a hang or unbounded memory.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sglci_core::parse as p;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = p::upstream::parse(&text);
    let _ = p::upstream::parse_markdown(&text);
});
