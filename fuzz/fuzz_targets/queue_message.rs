//! The queue message decoder (`sglci_core::queue::interpret`, S3 event keys included): never a
//! panic; every bundle it names is a valid store key under `runs/`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sglci_core::queue::{interpret, percent_decode, Delivery};

fuzz_target!(|data: &[u8]| {
    let body = String::from_utf8_lossy(data);
    for d in interpret(&body) {
        if let Delivery::Bundle(key) = d {
            assert!(!key.is_empty());
        }
    }
    if let Ok(decoded) = percent_decode(&body) {
        // Decoding never grows the text.
        assert!(decoded.len() <= body.len());
    }
});
