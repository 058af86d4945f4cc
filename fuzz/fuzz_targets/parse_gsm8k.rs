//! `sglci_core::parse::gsm8k` on arbitrary bytes: never a panic, a hang or unbounded memory.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sglci_core::parse as p;

fuzz_target!(|data: &[u8]| {
    let _ = p::gsm8k::parse_log(data);
    let _ = p::gsm8k::parse_bench_sglang(data);
});
