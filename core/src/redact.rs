//! F15 secret redaction: webhook URLs, credentials in URLs, token shapes and values of
//! secret-looking assignments are replaced before any text leaves the machine or reaches a
//! table. The predecessor published Power Automate signatures and a GitHub token (W-S1, W-S2);
//! every evidence line we keep goes through [`redact`].
//!
//! Families recognised (the tests plant each): token shapes by prefix (GitHub, GitLab, Hugging
//! Face, Slack, AWS, OpenAI/Anthropic, Stripe, Google, npm, PyPI, JWTs, …); URLs to webhook
//! hosts with or without a scheme, JSON-escaped (`https:\/\/`), or carrying credentials or
//! secret parameters (also percent-encoded); `NAME=value`, `NAME = value`, `NAME="v a l"`,
//! `NAME: value`, `"name": "value"` and `name%3Dvalue` where the name looks secret; flags
//! followed by their value (`--hf-token VALUE`); credential headers (`Authorization: Bearer …`,
//! `x-api-key: …`, `Cookie: …`). Terminal escapes are stripped first, so a colour code cannot
//! hide a token's boundary.

use std::borrow::Cow;

const WEBHOOK_HOSTS: &[&str] = &[
    "powerplatform.com",
    "logic.azure.com",
    "webhook.office.com",
    "hooks.slack.com",
    "discord.com/api/webhooks",
    "discordapp.com/api/webhooks",
    "chat.googleapis.com",
];

const URL_SECRET_PARAMS: &[&str] = &[
    "sig=",
    "token=",
    "key=",
    "secret=",
    "password=",
    "access_token=",
    "x-amz-signature=",
    "x-amz-credential=",
    "x-amz-security-token=",
    "sig%3d",
    "token%3d",
    "key%3d",
    "secret%3d",
    "password%3d",
];

const TOKEN_PREFIXES: &[&str] = &[
    "ghp_",
    "gho_",
    "ghs_",
    "ghu_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "glptt-",
    "gldt-",
    "glrt-",
    "GR1348941",
    "hf_",
    "xoxb-",
    "xoxp-",
    "xoxa-",
    "xoxr-",
    "xoxs-",
    "xapp-",
    "AKIA",
    "ASIA",
    "sk-",
    "sk_live_",
    "sk_test_",
    "rk_live_",
    "pk_live_",
    "AIza",
    "ya29.",
    "npm_",
    "pypi-",
    "dop_v1_",
    "shpat_",
    "shpss_",
    "SG.",
    "hvs.",
    "AGE-SECRET-KEY-",
    "eyJ",
];

/// Names whose `_`/`-`-separated words include one of these hold secrets (`GITHUB_TOKEN`,
/// `teams-webhook-url`), but `max_tokens` does not.
const SECRET_WORDS: &[&str] = &[
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "PASS",
    "WEBHOOK",
    "APIKEY",
    "CREDENTIAL",
    "CREDENTIALS",
    "PAT",
    "SIGNATURE",
    "PRIVATEKEY",
    "AUTHTOKEN",
];

/// Header names whose value (the rest of the line) is a credential.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "api-key",
    "x-auth-token",
    "private-token",
    "x-goog-api-key",
    "x-amz-security-token",
    "ocp-apim-subscription-key",
    "cookie",
    "set-cookie",
];

fn secret_name(name: &str) -> bool {
    let words: Vec<&str> = name
        .split(['_', '-', '.'])
        .filter(|w| !w.is_empty())
        .collect();
    words.iter().any(|w| SECRET_WORDS.contains(w))
        || words.windows(2).any(|p| {
            p[1] == "KEY" && ["API", "ACCESS", "PRIVATE", "SECRET", "SIGNING"].contains(&p[0])
        })
}

pub const REDACTED_URL: &str = "<redacted-url>";
pub const REDACTED: &str = "<redacted>";

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Characters a JWT or a dotted token may hold beyond [`is_token_char`].
fn is_token_body_char(prefix: &str, c: char) -> bool {
    is_token_char(c) || ((prefix == "eyJ" || prefix.ends_with('.')) && c == '.')
}

/// Where a URL, a quoted value or a word ends.
fn is_delimiter(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`')
}

fn url_is_secret(url: &str) -> bool {
    let lower = url.to_ascii_lowercase().replace("\\/", "/");
    if lower.contains("redacted.invalid") {
        return false;
    }
    let after_scheme = lower.split_once("://").map_or(lower.as_str(), |(_, r)| r);
    let authority = after_scheme.split('/').next().unwrap_or("");
    WEBHOOK_HOSTS.iter().any(|h| lower.contains(h))
        || URL_SECRET_PARAMS.iter().any(|p| lower.contains(p))
        || authority.contains('@')
        || authority.contains("%40")
}

/// The values of this process's secret-looking environment variables (`HF_TOKEN`,
/// `TEAMS_WEBHOOK_URL`, `AWS_SECRET_ACCESS_KEY`, …), long enough to be searched for verbatim:
/// whatever a tool printed of them must not leave the machine either (F15).
pub fn secret_values(env: impl IntoIterator<Item = (String, String)>) -> Vec<String> {
    let mut v: Vec<String> = env
        .into_iter()
        .filter(|(k, v)| v.len() >= 8 && secret_name(&k.to_ascii_uppercase().replace('-', "_")))
        .map(|(_, v)| v)
        .collect();
    // Longest first, so a value containing another is replaced whole.
    v.sort_by_key(|s| std::cmp::Reverse(s.len()));
    v.dedup();
    v
}

/// [`redact`], after replacing every verbatim occurrence of the known secret `values`.
pub fn redact_with(text: &str, values: &[String]) -> String {
    let mut t = Cow::Borrowed(text);
    for v in values {
        if t.contains(v.as_str()) {
            t = Cow::Owned(t.replace(v.as_str(), REDACTED));
        }
    }
    redact(&t)
}

/// Text without terminal escape sequences (CSI, OSC and two-byte escapes).
pub fn strip_escapes(text: &str) -> Cow<'_, str> {
    if !text.contains('\x1b') {
        return Cow::Borrowed(text);
    }
    Cow::Owned(crate::text::clean(text.as_bytes()).into_owned())
}

/// Replaces secrets in `text`. Idempotent; text without secrets or terminal escapes comes back
/// unchanged.
pub fn redact(text: &str) -> String {
    let text = strip_escapes(text);
    let mut s = Scan {
        out: String::with_capacity(text.len()),
        rest: &text,
    };
    while !s.rest.is_empty() {
        if s.url() || s.word_with_webhook() || s.token() || s.assignment() || s.flag_value() {
            continue;
        }
        s.copy_char();
    }
    s.out
}

/// A number (`4096`, `0.85`, `1e-3`): counts and settings, never a credential.
fn numeric(value: &str) -> bool {
    value.trim_end_matches([',', ';']).parse::<f64>().is_ok()
}

/// One pass over a text: `out` is what was kept, `rest` what is still to read.
struct Scan<'a> {
    out: String,
    rest: &'a str,
}

impl Scan<'_> {
    fn copy_char(&mut self) {
        if let Some(c) = self.rest.chars().next() {
            self.out.push(c);
            self.rest = &self.rest[c.len_utf8()..];
        }
    }

    fn skip(&mut self, n: usize) {
        self.rest = &self.rest[n..];
    }

    fn at_word_start(&self) -> bool {
        self.out
            .chars()
            .last()
            .is_none_or(|c| is_delimiter(c) || matches!(c, '=' | ':' | '(' | '[' | '{' | ',' | ';'))
    }

    /// The length of the span up to the next delimiter.
    fn span(&self) -> usize {
        self.rest.find(is_delimiter).unwrap_or(self.rest.len())
    }

    /// A URL (also JSON-escaped) with a secret: replaced whole.
    fn url(&mut self) -> bool {
        let starts = ["http://", "https://", "http:\\/\\/", "https:\\/\\/"];
        if !starts.iter().any(|p| self.rest.starts_with(p)) {
            return false;
        }
        let end = self.span();
        let url = &self.rest[..end];
        if url_is_secret(url) {
            self.out.push_str(REDACTED_URL);
        } else {
            self.out.push_str(url);
        }
        self.skip(end);
        true
    }

    /// A word naming a webhook host without a scheme (`prod-1.westus.logic.azure.com/…`).
    fn word_with_webhook(&mut self) -> bool {
        if !self.at_word_start() {
            return false;
        }
        let end = self.span();
        let word = self.rest[..end].to_ascii_lowercase().replace("\\/", "/");
        // The word starts with the host (`prod-1.westus.logic.azure.com:443/…`); a word such as
        // `--flag=https://…` is the assignment's and the URL's to handle.
        let host = word.split('/').next().unwrap_or("");
        let host = host.split(':').next().unwrap_or("");
        let webhook = WEBHOOK_HOSTS.iter().any(|h| {
            let (h_host, h_path) = h.split_once('/').unwrap_or((h, ""));
            (host == h_host || host.ends_with(&format!(".{h_host}")))
                && (h_path.is_empty() || word.contains(h))
        });
        if !webhook || word.contains("redacted.invalid") {
            return false;
        }
        self.out.push_str(REDACTED_URL);
        self.skip(end);
        true
    }

    /// A token shape at a token boundary.
    fn token(&mut self) -> bool {
        if !self.out.chars().last().is_none_or(|c| !is_token_char(c)) {
            return false;
        }
        let Some(prefix) = TOKEN_PREFIXES.iter().find(|p| self.rest.starts_with(**p)) else {
            return false;
        };
        let body = &self.rest[prefix.len()..];
        let len = body
            .find(|c: char| !is_token_body_char(prefix, c))
            .unwrap_or(body.len());
        let (min, ok) = match *prefix {
            // A JWT: header.payload.signature.
            "eyJ" => (30, body[..len].matches('.').count() >= 2),
            "AKIA" | "ASIA" => (
                16,
                body[..len]
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()),
            ),
            _ => (16, true),
        };
        if len < min || !ok {
            return false;
        }
        self.out.push_str(REDACTED);
        self.skip(prefix.len() + len);
        true
    }

    /// The name just before an `=`/`:` (spaces and one closing quote skipped), upper-cased with
    /// `-` as `_`, and whether it is a header.
    fn name_before(&self) -> (String, String) {
        let t = self.out.trim_end_matches([' ', '\t']);
        let t = t.strip_suffix(['"', '\'']).unwrap_or(t);
        let start = t
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
            .map_or(0, |i| i + 1);
        let raw = &t[start..];
        (
            raw.to_ascii_uppercase().replace('-', "_"),
            raw.to_ascii_lowercase(),
        )
    }

    /// `NAME=value`, `NAME = "v"`, `"name": "value"`, `name%3Dvalue`, `Header: value`.
    fn assignment(&mut self) -> bool {
        let (sep_len, colon) = if self.rest.starts_with('=') {
            (1, false)
        } else if self.rest.starts_with("%3D") || self.rest.starts_with("%3d") {
            (3, false)
        } else if self.rest.starts_with(':') && !self.rest.starts_with("://") {
            (1, true)
        } else {
            return false;
        };
        let (name, lower) = self.name_before();
        let header = colon && SECRET_HEADERS.contains(&lower.as_str());
        if !header && !secret_name(&name) {
            return false;
        }
        let after = &self.rest[sep_len..];
        let pad = after.len() - after.trim_start_matches([' ', '\t']).len();
        let value_at = &after[pad..];
        let (open, value_len, close) = match value_at.chars().next() {
            Some(q @ ('"' | '\'')) => {
                let inner = &value_at[1..];
                let n = inner.find([q, '\n']).unwrap_or(inner.len());
                (1, n, usize::from(inner[n..].starts_with(q)))
            }
            _ if header => (
                0,
                value_at.find(['\n', '\r', '"']).unwrap_or(value_at.len()),
                0,
            ),
            // Unquoted: to the next delimiter; in a query string (`%3D`) also to `&`; after a
            // colon (JSON, YAML) also to `,` and `}`.
            _ => {
                let end = |c: char| {
                    is_delimiter(c)
                        || (sep_len == 3 && c == '&')
                        || (colon && matches!(c, ',' | '}'))
                };
                (0, value_at.find(end).unwrap_or(value_at.len()), 0)
            }
        };
        let value = &value_at[open..open + value_len];
        let keep = value.trim().is_empty()
            || value.starts_with('<')
            || value.contains("redacted.invalid")
            || value.contains("REDACTED")
            || (colon && !header && (value.len() < 6 || numeric(value)));
        if keep {
            return false;
        }
        let consumed = sep_len + pad + open + value_len + close;
        self.out.push_str(&self.rest[..sep_len + pad + open]);
        if header {
            // Keep the scheme word (`Bearer`, `Basic`, `token`) so the line still reads.
            if let Some((scheme, _)) = value
                .split_once(' ')
                .filter(|(w, _)| w.chars().all(|c| c.is_ascii_alphabetic()) && w.len() <= 8)
            {
                self.out.push_str(scheme);
                self.out.push(' ');
            }
        }
        self.out.push_str(REDACTED);
        self.out
            .push_str(&self.rest[sep_len + pad + open + value_len..consumed]);
        self.skip(consumed);
        true
    }

    /// `--hf-token VALUE`: a secret-looking flag followed by its value after whitespace.
    fn flag_value(&mut self) -> bool {
        if !self.rest.starts_with([' ', '\t']) {
            return false;
        }
        let start = self
            .out
            .rfind(|c: char| c.is_whitespace() || c == '"' || c == '\'')
            .map_or(0, |i| i + 1);
        let word = &self.out[start..];
        let Some(flag) = word.strip_prefix("--").or_else(|| word.strip_prefix('-')) else {
            return false;
        };
        if flag.is_empty() || !secret_name(&flag.to_ascii_uppercase().replace('-', "_")) {
            return false;
        }
        let after = self.rest.trim_start_matches([' ', '\t']);
        let pad = self.rest.len() - after.len();
        let len = after.find(is_delimiter).unwrap_or(after.len());
        let value = &after[..len];
        if value.is_empty()
            || value.starts_with('-')
            || value.starts_with('<')
            || numeric(value)
            || value.contains("redacted.invalid")
        {
            return false;
        }
        self.out.push_str(&self.rest[..pad]);
        self.out.push_str(REDACTED);
        self.skip(pad + len);
        true
    }
}

/// The planted forms of `tests/secret-forms.txt` filled with fresh values: (family, line,
/// the secret values the line holds). For the redaction tests (here and end to end); values are
/// made at run time from `seed`, so no secret-shaped literal is tracked.
#[doc(hidden)]
pub fn planted_forms(seed: u64) -> Vec<(String, String, Vec<String>)> {
    let mut state = seed | 1;
    let mut body = |n: usize| -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                ALPHABET[(state % ALPHABET.len() as u64) as usize] as char
            })
            .collect()
    };
    let mut out = Vec::new();
    for line in include_str!("../tests/secret-forms.txt").lines() {
        let Some((family, template)) = line.split_once(" | ") else {
            continue;
        };
        if family.starts_with('#') {
            continue;
        }
        let mut text = template.trim().to_owned();
        let mut values = Vec::new();
        while let Some(start) = text.find('{') {
            let Some(len) = text[start..].find('}') else {
                break;
            };
            let hole = text[start + 1..start + len].to_owned();
            let value = if let Some(prefix) = hole.strip_prefix("P:") {
                let b = if prefix == "AKIA" {
                    body(16).to_ascii_uppercase()
                } else {
                    body(36)
                };
                values.push(b.clone());
                format!("{prefix}{b}")
            } else if hole == "V" {
                let b = body(28);
                values.push(b.clone());
                b
            } else if hole == "ESC" {
                "\x1b".to_owned()
            } else if hole == "J" {
                let (h, p, sig) = (body(20), body(40), body(30));
                values.extend([p.clone(), sig.clone()]);
                format!("eyJ{h}.eyJ{p}.{sig}")
            } else {
                // A literal brace (JSON): keep it and look further on.
                text.replace_range(start..start + 1, "\u{1}");
                continue;
            };
            text.replace_range(start..=start + len, &value);
        }
        out.push((family.trim().to_owned(), text.replace('\u{1}', "{"), values));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_planted_form_is_redacted_and_redaction_is_idempotent() {
        let forms = planted_forms(0x5ec7e75);
        assert!(forms.len() >= 30, "{}", forms.len());
        let mut leaked = Vec::new();
        for (family, line, values) in &forms {
            assert!(!values.is_empty(), "{family}: a form without a secret");
            let out = redact(line);
            if let Some(v) = values.iter().find(|v| out.contains(v.as_str())) {
                leaked.push(format!("{family}: {v} in {out:?}"));
            }
            assert_eq!(redact(&out), out, "{family}: idempotent");
        }
        assert!(leaked.is_empty(), "leaked:\n{}", leaked.join("\n"));
    }

    // Fake secrets are assembled at run time so that no secret-shaped literal is tracked.
    fn fake(prefix: &str) -> String {
        format!("{prefix}{}", "0123456789abcdefghijklmnopqrstuvwxyz")
    }

    #[test]
    fn secret_environment_values_are_replaced_verbatim() {
        let env = vec![
            ("HF_TOKEN".to_owned(), "abc123secretvalue".to_owned()),
            ("MAX_TOKENS".to_owned(), "4096".to_owned()),
            (
                "teams-webhook-url".to_owned(),
                "plainstringwebhook".to_owned(),
            ),
            ("HOME".to_owned(), "/root/home/dir".to_owned()),
        ];
        let values = secret_values(env);
        assert_eq!(
            values,
            vec![
                "plainstringwebhook".to_owned(),
                "abc123secretvalue".to_owned()
            ]
        );
        let out = redact_with(
            "loaded abc123secretvalue from /root/home/dir; hook plainstringwebhook",
            &values,
        );
        assert_eq!(
            out,
            "loaded <redacted> from /root/home/dir; hook <redacted>"
        );
    }

    #[test]
    fn secrets_are_replaced() {
        let gh = fake("ghp_");
        let hf = fake("hf_");
        let aws = format!("AKIA{}", "ABCDEFGHIJKLMNOP");
        let owned = [
            (format!("GITHUB_TOKEN={gh}"), "GITHUB_TOKEN=<redacted>"),
            (format!("token {gh} used"), "token <redacted> used"),
            (format!("HF_TOKEN={hf}"), "HF_TOKEN=<redacted>"),
            (format!("AWS key {aws}"), "AWS key <redacted>"),
        ];
        for (input, want) in &owned {
            assert_eq!(redact(input), *want, "{input}");
        }
        let cases = [
            (
                "--teams-webhook-url=https://prod-99.westus.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sig=AbCdEf123",
                "--teams-webhook-url=<redacted>",
            ),
            ("post to https://x.environment.api.powerplatform.com/powerautomate/a?sig=zz now", "post to <redacted-url> now"),
            ("git clone https://user:pw@github.com/o/r.git", "git clone <redacted-url>"),
        ];
        for (input, want) in cases {
            assert_eq!(redact(input), want, "{input}");
        }
    }

    #[test]
    fn ordinary_text_is_untouched() {
        for s in [
            "Median E2E Latency (ms):                   36489.70",
            "see https://github.com/sgl-project/sglang/pull/1",
            "--teams-webhook-url=https://redacted.invalid/teams-webhook",
            "mem_fraction_static=0.85 max_tokens=512",
            "Output token throughput (tok/s):          1234.56",
            "Decode batch. #running-req: 1, #token: 123456, token usage: 0.05, gen throughput (token/s): 10.5",
            "--max-total-tokens 4096 --token-budget 16384",
            "Total input tokens:                        128000",
            "Authorization header missing",
            "keys: 12",
            "high_ghp_short",
            "",
        ] {
            assert_eq!(redact(s), s);
        }
        let once = redact(&format!("GITHUB_TOKEN={}", fake("ghp_")));
        assert_eq!(redact(&once), once);
    }
}
