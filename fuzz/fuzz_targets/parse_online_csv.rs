//! `sglci_core::parse::online_csv` on arbitrary bytes: never a panic, a hang or unbounded memory.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sglci_core::parse as p;

fuzz_target!(|data: &[u8]| {
    let _ = p::online_csv::parse(&String::from_utf8_lossy(data));
});
