//! Terminal escape sequences (ANSI colour codes, OSC titles): found and skipped on bytes. Shared
//! by the log clean-up ([`crate::text`]) and the redactor ([`crate::redact`]), which must see a
//! token's boundary behind a colour code.

use std::borrow::Cow;

/// The bytes without terminal escape sequences (everything else, NULs included, is kept).
pub fn without_escapes(bytes: &[u8]) -> Cow<'_, [u8]> {
    if memchr::memchr(0x1b, bytes).is_none() {
        return Cow::Borrowed(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == 0x1b {
            i = skip_escape(bytes, i);
        } else {
            out.push(bytes[i]);
            i += 1;
        }
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
