//! GitHub as a notification target: a PR comment updated in place (found by its hidden marker),
//! and one issue per regression, opened, updated while it lasts and closed on recovery (F63).
//! The API base is a parameter, so tests talk to a local server.

use serde_json::{json, Value};

use super::http::{host_of, Http};
use super::{marker, Notification, Notifier, NotifyError};

/// The label every regression issue carries.
pub const REGRESSION_LABEL: &str = "sglci-regression";

#[derive(Debug, Clone)]
pub struct GitHub {
    api: String,
    repo: String,
    token: String,
    http: Http,
}

/// What an issue sync did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct IssueSync {
    pub opened: Vec<u64>,
    pub updated: Vec<u64>,
    pub closed: Vec<u64>,
}

impl GitHub {
    /// `api` is `https://api.github.com` in production; `repo` is `owner/name`.
    pub fn new(api: &str, repo: &str, token: String, http: Http) -> Result<Self, NotifyError> {
        if repo.split('/').count() != 2 || repo.starts_with('/') || repo.ends_with('/') {
            return Err(NotifyError::Config(format!(
                "GitHub repository `{repo}` is not `owner/name` (hint: set GITHUB_REPOSITORY)"
            )));
        }
        Ok(Self {
            api: api.trim_end_matches('/').to_owned(),
            repo: repo.to_owned(),
            token,
            http,
        })
    }

    /// The API's host, for log lines.
    pub fn host(&self) -> String {
        host_of(&self.api)
    }

    fn call(
        &self,
        method: &'static str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, NotifyError> {
        let url = format!("{}/repos/{}{path}", self.api, self.repo);
        let auth = format!("Bearer {}", self.token);
        let r = self.http.send(
            method,
            &url,
            &[
                ("Authorization", auth.as_str()),
                ("X-GitHub-Api-Version", "2022-11-28"),
            ],
            body,
        )?;
        if !(200..300).contains(&r.status) {
            return Err(NotifyError::Rejected {
                backend: "github",
                host: host_of(&url),
                status: r.status,
                body: r.body.chars().take(300).collect(),
            });
        }
        Ok(serde_json::from_str(&r.body).unwrap_or(Value::Null))
    }

    /// Every page of a list endpoint.
    fn list(&self, path: &str) -> Result<Vec<Value>, NotifyError> {
        let mut out = Vec::new();
        for page in 1..=50 {
            let sep = if path.contains('?') { '&' } else { '?' };
            let v = self.call("GET", &format!("{path}{sep}per_page=100&page={page}"), None)?;
            let items = v.as_array().cloned().unwrap_or_default();
            let n = items.len();
            out.extend(items);
            if n < 100 {
                break;
            }
        }
        Ok(out)
    }

    /// Creates or updates the PR comment carrying the notification's marker. Returns the
    /// comment's id.
    pub fn upsert_pr_comment(&self, pr: u64, n: &Notification) -> Result<u64, NotifyError> {
        let mark = marker(&n.key);
        let body = json!({"body": format!("{mark}\n{}", n.markdown)});
        let existing = self
            .list(&format!("/issues/{pr}/comments"))?
            .into_iter()
            .find(|c| c["body"].as_str().is_some_and(|b| b.contains(&mark)));
        let v = match existing.and_then(|c| c["id"].as_u64()) {
            Some(id) => self.call("PATCH", &format!("/issues/comments/{id}"), Some(&body))?,
            None => self.call("POST", &format!("/issues/{pr}/comments"), Some(&body))?,
        };
        Ok(v["id"].as_u64().unwrap_or(0))
    }

    /// Makes the open regression issues match `open`: one issue per notification (by marker),
    /// opened or updated; issues of regressions no longer open are closed with a comment.
    /// Issues whose key is in `leave` (muted regressions) are left as they are.
    pub fn sync_regression_issues(
        &self,
        open: &[Notification],
        leave: &[String],
    ) -> Result<IssueSync, NotifyError> {
        let existing = self.list(&format!("/issues?state=open&labels={REGRESSION_LABEL}"))?;
        let mut sync = IssueSync::default();
        let find = |key: &str| {
            let mark = marker(key);
            existing
                .iter()
                .find(|i| i["body"].as_str().is_some_and(|b| b.contains(&mark)))
                .and_then(|i| i["number"].as_u64())
        };
        for n in open {
            let body = format!("{}\n{}", marker(&n.key), n.markdown);
            match find(&n.key) {
                Some(number) => {
                    self.call(
                        "PATCH",
                        &format!("/issues/{number}"),
                        Some(&json!({"title": n.title, "body": body})),
                    )?;
                    sync.updated.push(number);
                }
                None => {
                    let v = self.call(
                        "POST",
                        "/issues",
                        Some(
                            &json!({"title": n.title, "body": body, "labels": [REGRESSION_LABEL]}),
                        ),
                    )?;
                    sync.opened.push(v["number"].as_u64().unwrap_or(0));
                }
            }
        }
        let keep: Vec<String> = open
            .iter()
            .map(|n| marker(&n.key))
            .chain(leave.iter().map(|k| marker(k)))
            .collect();
        for issue in &existing {
            let body = issue["body"].as_str().unwrap_or("");
            let ours = body.contains("<!-- sglci:regression:");
            if !ours || keep.iter().any(|m| body.contains(m.as_str())) {
                continue;
            }
            let Some(number) = issue["number"].as_u64() else {
                continue;
            };
            self.call(
                "POST",
                &format!("/issues/{number}/comments"),
                Some(&json!({"body": "The regression has recovered (or is no longer detected): closing. sglci reopens a new issue if it comes back."})),
            )?;
            self.call(
                "PATCH",
                &format!("/issues/{number}"),
                Some(&json!({"state": "closed", "state_reason": "completed"})),
            )?;
            sync.closed.push(number);
        }
        Ok(sync)
    }
}

/// A PR comment target as a [`Notifier`].
#[derive(Debug, Clone)]
pub struct PrComment {
    pub github: GitHub,
    pub pr: u64,
}

impl Notifier for PrComment {
    fn notify(&self, n: &Notification) -> Result<String, NotifyError> {
        let id = self.github.upsert_pr_comment(self.pr, n)?;
        Ok(format!("PR #{} comment {id}", self.pr))
    }
}
