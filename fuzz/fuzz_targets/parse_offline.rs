//! `sglci_core::parse::offline` on arbitrary bytes: never a panic, a hang or unbounded memory.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sglci_core::parse as p;

fuzz_target!(|data: &[u8]| {
    let _ = p::offline::parse_csv(&String::from_utf8_lossy(data));
    let _ = p::offline::parse_one_batch(data);
});
