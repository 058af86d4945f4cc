//! Decoding bytes as UTF-8, shared by the clean-up ([`crate::text`]) and the redactor
//! ([`crate::redact`]), which must not depend on each other.

use std::borrow::Cow;

/// `bytes` decoded lossily, borrowed when they are valid UTF-8: the validation of
/// `str::from_utf8` is faster than that of the lossy decoder, and nearly every log is valid.
pub fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// Owned `bytes` as a string, decoded lossily: moved without a copy when they are valid UTF-8.
pub fn into_string(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}
