//! The A/B comparison record parser on arbitrary bytes: never a panic, and a record it accepts
//! renders as markdown and parses again from its own JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sglci_core::ab::{parse, to_markdown};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(r) = parse(&text) {
        let _ = to_markdown(&r);
        let again = serde_json::to_string(&r).expect("a record serializes");
        assert_eq!(parse(&again).as_ref(), Ok(&r), "the record round-trips");
    }
});
