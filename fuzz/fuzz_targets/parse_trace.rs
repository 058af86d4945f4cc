//! Torch profiler traces (gzipped or not) on arbitrary bytes: never a panic; a summary has at
//! most TOP entries per table, sorted by total time, with shares between 0 and 1.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sglci_core::parse::trace::{parse, TOP};

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = parse(data) {
        for table in [&t.kernels, &t.operators] {
            assert!(table.len() <= TOP);
            for w in table.windows(2) {
                assert!(w[0].total_us >= w[1].total_us);
            }
            for e in table.iter() {
                assert!((0.0..=1.0 + 1e-9).contains(&e.share), "{}", e.share);
                assert!(e.calls >= 1);
            }
        }
    }
});
