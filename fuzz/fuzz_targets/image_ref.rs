//! Image references and run labels on arbitrary text: never a panic; what parses prints back as
//! given, and a tag's hints never claim a field the tag does not spell.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sglci_core::{ImageRef, ImageTag};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(r) = text.parse::<ImageRef>() {
        assert_eq!(r.to_string(), text);
        let h = r.hints();
        if let (Some(tag), Some(date)) = (r.tag(), h.date.as_deref()) {
            assert!(tag.contains(date), "{tag}: date {date} not in the tag");
        }
    }
    if let Ok(t) = text.parse::<ImageTag>() {
        assert_eq!(t.as_str(), text);
    }
});
