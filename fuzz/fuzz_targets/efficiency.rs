//! Model configs and `efficiency.json` on arbitrary text: never a panic (no overflow in the
//! parameter and FLOP counts); what parses gives finite, non-negative figures.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sglci_core::efficiency::{parse_input, ModelShape, OfflineCell};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(m) = ModelShape::parse(&text, "config.json") {
        assert!(m.active_params() <= m.params());
        assert!(m.flops_per_token().is_finite() && m.flops_per_token() >= 0.0);
        assert!(m.prefill_flops(64, 8192).is_finite());
    }
    if let Ok(e) = parse_input(&text) {
        let s = e.serving("h200", Some(1e4), Some(1e3), Some(10.0));
        assert!(s.mfu.is_some_and(|m| m.is_finite() && m >= 0.0));
        let o = e.offline(
            "mi35x",
            &OfflineCell {
                batch: 8,
                input: 1024,
                output: 64,
                prefill_latency_s: Some(0.1),
                decode_latency_s: Some(0.01),
                e2e_latency_s: Some(1.0),
            },
        );
        assert!(o.prefill_mfu.is_some_and(f64::is_finite));
    }
});
