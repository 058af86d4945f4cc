//! Terminal escape sequences (ANSI colour codes, OSC titles): found and skipped on bytes. Shared
//! by the log clean-up ([`crate::text`]) and the redactor ([`crate::redact`]), which must see a
//! token's boundary behind a colour code.

use std::borrow::Cow;

/// The bytes without terminal escape sequences (everything else, NULs included, is kept).
pub fn without_escapes(bytes: &[u8]) -> Cow<'_, [u8]> {
    let Some(first) = memchr::memchr(0x1b, bytes) else {
        return Cow::Borrowed(bytes);
    };
    // The runs between escapes are copied whole (a byte at a time cost a tenth of redacting a
    // coloured server log).
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..first]);
    let mut i = skip_escape(bytes, first);
    while i < bytes.len() {
        let run = memchr::memchr(0x1b, &bytes[i..]).map_or(bytes.len(), |n| i + n);
        out.extend_from_slice(&bytes[i..run]);
        if run == bytes.len() {
            break;
        }
        i = skip_escape(bytes, run);
    }
    Cow::Owned(out)
}

/// Returns the index just past the escape sequence starting at `start` (which holds ESC).
pub fn skip_escape(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    match bytes.get(i) {
        // CSI: ESC [ parameters intermediates final-byte(0x40..=0x7e)
        Some(b'[') => {
            i += 1;
            while let Some(&c) = bytes.get(i) {
                i += 1;
                if (0x40..=0x7e).contains(&c) {
                    break;
                }
            }
            i
        }
        // OSC: ESC ] ... BEL or ESC \
        Some(b']') => {
            i += 1;
            while let Some(&c) = bytes.get(i) {
                if c == 0x07 {
                    return i + 1;
                }
                if c == 0x1b && bytes.get(i + 1) == Some(&b'\\') {
                    return i + 2;
                }
                i += 1;
            }
            i
        }
        Some(_) => i + 1,
        None => i,
    }
}
