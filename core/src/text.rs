//! Byte-level clean-up shared by every log parser.
//!
//! Real logs carry NUL runs (a file truncated while a writer still held its offset), ANSI colour
//! escapes, carriage-return progress bars and invalid UTF-8. Parsers see a cleaned `String` and
//! split it into logical lines where `\r`, `\r\n` and `\n` all end a line.

use std::borrow::Cow;

/// Drops NUL bytes, decodes UTF-8 lossily and strips ANSI escape sequences.
///
/// Borrows when the input is already clean, which is the common case.
pub fn clean(bytes: &[u8]) -> Cow<'_, str> {
    let Some(first) = memchr::memchr2(0, 0x1b, bytes) else {
        return crate::utf8::lossy(bytes);
    };
    // The runs between NULs and escapes are copied whole.
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..first]);
    let mut i = first;
    while i < bytes.len() {
        if bytes[i] == 0 {
            i += 1;
            continue;
        }
        if bytes[i] == 0x1b {
            i = crate::ansi::skip_escape(bytes, i);
            continue;
        }
        let run = memchr::memchr2(0, 0x1b, &bytes[i..]).map_or(bytes.len(), |n| i + n);
        out.extend_from_slice(&bytes[i..run]);
        i = run;
    }
    Cow::Owned(crate::utf8::into_string(out))
}

/// Logical lines: `\r`, `\r\n` and `\n` all terminate a line (tqdm rewrites one physical line
/// with `\r`, so every progress update becomes a line of its own).
pub fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.split(['\n', '\r'])
}

/// Parses the first whitespace-separated token of `s` as a float.
pub fn leading_f64(s: &str) -> Option<f64> {
    s.split_whitespace().next()?.parse().ok()
}

/// Parses the first whitespace-separated token of `s` as an unsigned integer.
pub fn leading_u64(s: &str) -> Option<u64> {
    s.split_whitespace().next()?.parse().ok()
}

/// The value after `label` (a line prefix) on the line, trimmed.
pub fn after<'a>(line: &'a str, label: &str) -> Option<&'a str> {
    line.strip_prefix(label).map(str::trim)
}

/// The text following `needle` anywhere in `line`.
pub fn after_substr<'a>(line: &'a str, needle: &str) -> Option<&'a str> {
    line.find(needle).map(|i| &line[i + needle.len()..])
}

/// Cuts a line to at most `max` characters for use as evidence in reports, with secrets
/// redacted (evidence lines end up in tables, pages and alerts).
pub fn evidence(line: &str, max: usize) -> String {
    let redacted = crate::redact::redact(line);
    let line = redacted.trim();
    match line.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The clean-up a byte at a time, as it was written first: what the run-copying version
    /// must equal.
    fn clean_bytewise(bytes: &[u8]) -> String {
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                0 => i += 1,
                0x1b => i = crate::ansi::skip_escape(bytes, i),
                b => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn clean_and_without_escapes_equal_their_bytewise_forms() {
        let cases: [&[u8]; 9] = [
            b"",
            b"plain",
            b"\x1b[31mred\x1b[0m and \0NUL\0",
            b"\x1b[\0 a NUL inside an escape m tail",
            b"ends in an escape \x1b",
            b"unterminated CSI \x1b[12;",
            b"\x1b]0;title\x07osc \x1b]2;t\x1b\\ st",
            b"\xff\xfe stray bytes \x1b[1m\xc3\xa9\x1b[0m \xc3",
            b"\0\0\x1b\x1b[m\x1bc\0",
        ];
        for case in cases {
            assert_eq!(clean(case), clean_bytewise(case), "{case:?}");
            let mut esc = Vec::new();
            let mut i = 0;
            while i < case.len() {
                if case[i] == 0x1b {
                    i = crate::ansi::skip_escape(case, i);
                } else {
                    esc.push(case[i]);
                    i += 1;
                }
            }
            assert_eq!(
                crate::ansi::without_escapes(case).as_ref(),
                &esc[..],
                "{case:?}"
            );
        }
    }

    #[test]
    fn clean_strips_nul_and_ansi() {
        let raw = b"\x1b[36m(pid=1)\x1b[0m ok\0\0\0 done\xff";
        assert_eq!(clean(raw), "(pid=1) ok done\u{fffd}");
    }

    #[test]
    fn lines_split_on_every_break() {
        let got: Vec<_> = lines("a\rb\r\nc\nd").collect();
        assert_eq!(got, ["a", "b", "", "c", "d"]);
    }

    #[test]
    fn evidence_is_bounded() {
        assert_eq!(evidence("  abcdef ", 3), "abc…");
        assert_eq!(evidence("ab", 3), "ab");
    }
}
