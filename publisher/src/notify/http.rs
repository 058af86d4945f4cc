//! A small HTTP client for the notifiers: JSON requests with retries and back-off on 429 and
//! 5xx (honouring `Retry-After`), and log lines that never carry the URL's path or query (a
//! webhook URL is a secret) nor any header value.

use std::time::Duration;

/// An HTTP response: status and body.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("{method} {host}: HTTP {status} after {attempts} attempt(s): {body}")]
    Status {
        method: &'static str,
        host: String,
        status: u16,
        attempts: u32,
        body: String,
    },
    #[error("{method} {host}: {reason} after {attempts} attempt(s)")]
    Transport {
        method: &'static str,
        host: String,
        reason: String,
        attempts: u32,
    },
}

/// Retry policy: attempts in all, and the first back-off (doubled each time).
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    pub attempts: u32,
    pub backoff: Duration,
    /// Upper bound for one wait, also for a server's `Retry-After`.
    pub max_wait: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Self {
            attempts: 4,
            backoff: Duration::from_millis(500),
            max_wait: Duration::from_secs(30),
        }
    }
}

/// The scheme and host of a URL, the only part of it that is ever logged.
pub fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    // Credentials in the authority are secrets too.
    host.rsplit('@').next().unwrap_or("").to_owned()
}

#[derive(Debug, Clone)]
pub struct Http {
    agent: ureq::Agent,
    retry: Retry,
    user_agent: String,
}

impl Http {
    pub fn new(retry: Retry) -> Self {
        Self {
            agent: ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(30))
                .build(),
            retry,
            user_agent: format!("sglci-publisher/{}", env!("CARGO_PKG_VERSION")),
        }
    }

    /// Sends a request with an optional JSON body and headers; retries 429, 5xx and transport
    /// errors. Any other status is returned as it is (the caller decides).
    pub fn send(
        &self,
        method: &'static str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&serde_json::Value>,
    ) -> Result<Response, HttpError> {
        let host = host_of(url);
        let payload = body.map(serde_json::Value::to_string);
        let mut wait = self.retry.backoff;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut req = self
                .agent
                .request(method, url)
                .set("User-Agent", &self.user_agent)
                .set("Accept", "application/json");
            for (k, v) in headers {
                req = req.set(k, v);
            }
            let result = match &payload {
                Some(p) => req.set("Content-Type", "application/json").send_string(p),
                None => req.call(),
            };
            let (status, retry_after, body, transport) = match result {
                Ok(r) => {
                    let status = r.status();
                    (status, None, r.into_string().unwrap_or_default(), None)
                }
                Err(ureq::Error::Status(status, r)) => {
                    let ra = r
                        .header("Retry-After")
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    (status, ra, r.into_string().unwrap_or_default(), None)
                }
                Err(ureq::Error::Transport(t)) => {
                    (0, None, String::new(), Some(t.kind().to_string()))
                }
            };
            let retryable = transport.is_some() || status == 429 || status >= 500;
            if !retryable {
                tracing::debug!(method, host = %host, status, attempt, "request done");
                return Ok(Response { status, body });
            }
            if attempt >= self.retry.attempts {
                return Err(match transport {
                    Some(reason) => HttpError::Transport {
                        method,
                        host,
                        reason,
                        attempts: attempt,
                    },
                    None => HttpError::Status {
                        method,
                        host,
                        status,
                        attempts: attempt,
                        body: body.chars().take(300).collect(),
                    },
                });
            }
            let pause = retry_after.unwrap_or(wait).min(self.retry.max_wait);
            tracing::warn!(method, host = %host, status, attempt, wait_ms = pause.as_millis() as u64, "retrying");
            std::thread::sleep(pause);
            wait = wait.saturating_mul(2);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_host_is_logged() {
        // Assembled at run time: no webhook-shaped literal in the repository.
        let url = [
            "https://example.",
            "webhook.office.com",
            "/webhookb2/",
            "abc@def/x/y",
        ]
        .concat();
        assert_eq!(host_of(&url), "example.webhook.office.com");
        assert_eq!(
            host_of("https://user:pass@api.github.com/repos"),
            "api.github.com"
        );
        assert_eq!(host_of("http://127.0.0.1:9/x?sig=1"), "127.0.0.1:9");
    }
}
