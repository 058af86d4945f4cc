//! F15 secret redaction: webhook URLs, credentials in URLs, token shapes and values of
//! secret-looking `NAME=value` assignments are replaced before any text leaves the machine or
//! reaches a table. The predecessor published Power Automate signatures and a GitHub token
//! (W-S1, W-S2); every evidence line we keep goes through [`redact`].

const WEBHOOK_HOSTS: &[&str] = &[
    "powerplatform.com",
    "logic.azure.com",
    "webhook.office.com",
    "hooks.slack.com",
    "discord.com/api/webhooks",
];

const URL_SECRET_PARAMS: &[&str] = &[
    "sig=",
    "token=",
    "key=",
    "secret=",
    "password=",
    "access_token=",
    "X-Amz-Signature=",
];

const TOKEN_PREFIXES: &[&str] = &[
    "ghp_",
    "gho_",
    "ghs_",
    "ghu_",
    "ghr_",
    "github_pat_",
    "hf_",
    "xoxb-",
    "xoxp-",
    "AKIA",
    "ASIA",
    "sk-",
];

/// `NAME=value` names whose `_`/`-`-separated words include one of these hold secrets
/// (`GITHUB_TOKEN`, `teams-webhook-url`), but `max_tokens` does not.
const SECRET_WORDS: &[&str] = &[
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "WEBHOOK",
    "APIKEY",
    "CREDENTIAL",
    "CREDENTIALS",
    "PAT",
];

fn secret_name(name: &str) -> bool {
    let words: Vec<&str> = name.split('_').filter(|w| !w.is_empty()).collect();
    words.iter().any(|w| SECRET_WORDS.contains(w))
        || words
            .windows(2)
            .any(|p| p[1] == "KEY" && ["API", "ACCESS", "PRIVATE", "SECRET"].contains(&p[0]))
}

pub const REDACTED_URL: &str = "<redacted-url>";
pub const REDACTED: &str = "<redacted>";

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

fn url_is_secret(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    if lower.contains("redacted.invalid") {
        return false;
    }
    let after_scheme = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = after_scheme.split('/').next().unwrap_or("");
    WEBHOOK_HOSTS.iter().any(|h| lower.contains(h))
        || URL_SECRET_PARAMS
            .iter()
            .any(|p| lower.contains(&p.to_ascii_lowercase()))
        || authority.contains('@')
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
    let mut t = std::borrow::Cow::Borrowed(text);
    for v in values {
        if t.contains(v.as_str()) {
            t = std::borrow::Cow::Owned(t.replace(v.as_str(), REDACTED));
        }
    }
    redact(&t)
}

/// Replaces secrets in `text`. Idempotent; text without secrets comes back unchanged.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        // URLs.
        if rest.starts_with("http://") || rest.starts_with("https://") {
            let end = rest
                .find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '<' || c == '>')
                .unwrap_or(rest.len());
            let url = &rest[..end];
            out.push_str(if url_is_secret(url) {
                REDACTED_URL
            } else {
                url
            });
            rest = &rest[end..];
            continue;
        }
        // Token shapes, only at a token boundary.
        let at_boundary = out.chars().last().is_none_or(|c| !is_token_char(c));
        if at_boundary {
            if let Some(prefix) = TOKEN_PREFIXES.iter().find(|p| rest.starts_with(**p)) {
                let body_len = rest[prefix.len()..]
                    .find(|c: char| !is_token_char(c))
                    .unwrap_or(rest.len() - prefix.len());
                if body_len >= 16 {
                    out.push_str(REDACTED);
                    rest = &rest[prefix.len() + body_len..];
                    continue;
                }
            }
        }
        // NAME=value where NAME looks secret.
        if let Some(c) = rest.chars().next() {
            if c == '=' {
                let name_start = out
                    .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                    .map_or(0, |i| i + 1);
                let name = out[name_start..].to_ascii_uppercase().replace('-', "_");
                if secret_name(&name) {
                    let end = rest[1..]
                        .find(|c: char| c.is_whitespace() || c == '"' || c == '\'')
                        .map_or(rest.len(), |i| i + 1);
                    let value = &rest[1..end];
                    out.push('=');
                    if value.is_empty()
                        || value.starts_with('<')
                        || value.contains("redacted.invalid")
                        || value.contains("REDACTED")
                    {
                        out.push_str(value);
                    } else {
                        out.push_str(REDACTED);
                    }
                    rest = &rest[end..];
                    continue;
                }
            }
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
            "high_ghp_short",
            "",
        ] {
            assert_eq!(redact(s), s);
        }
        let once = redact(&format!("GITHUB_TOKEN={}", fake("ghp_")));
        assert_eq!(redact(&once), once);
    }
}
