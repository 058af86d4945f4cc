//! Reduced-layer configs (`--mconf`) on arbitrary text: never a panic; a reduction that works
//! gives JSON whose layer counts are N.
#![no_main]

// Pure and self-contained, compiled here directly like the suite parser.
#[allow(dead_code, clippy::all)]
#[path = "../../runner/src/mconf.rs"]
mod mconf;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let n = 1 + u32::from(data.first().copied().unwrap_or(0) % 4);
    if let Ok(r) = mconf::reduce(&text, n, "config.json") {
        let v: serde_json::Value = serde_json::from_str(&r.text).expect("the reduced config is JSON");
        if let Some(c) = v.get("num_hidden_layers").and_then(|c| c.as_u64()) {
            assert_eq!(c, u64::from(n));
        }
        assert!(r.layers_before >= u64::from(n));
    }
});
