//! `sglci_core::parse::cron` on arbitrary bytes: never a panic, a hang or unbounded memory.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sglci_core::parse as p;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = p::cron::parse_name(text.lines().next().unwrap_or(""));
    let _ = p::cron::parse(data);
});
