//! `sglci_core::parse::pd` on arbitrary bytes: never a panic, a hang or unbounded memory.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sglci_core::parse as p;

fuzz_target!(|data: &[u8]| {
    let _ = p::pd::parse_summary(data);
    let _ = p::pd::parse_gsm8k(data);
});
