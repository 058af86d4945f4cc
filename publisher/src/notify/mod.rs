//! Notifications (F37): what to say (pure builders: a [`Notification`] from the history), and
//! where to say it (small backends behind one trait: a file or stdout, a Teams webhook, GitHub).
//!
//! Stale-image handling (W-13, done right): a report about a night whose image is not that
//! night's image is still sent, marked stale in its title; nothing is dropped silently.

pub mod build;
pub mod github;
pub mod http;

use std::path::PathBuf;

use serde::Serialize;
use serde_json::json;

use http::{Http, HttpError};

/// How a notification reads at a glance (Teams colours).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Good,
    Warning,
    Error,
    Info,
}

impl Status {
    fn teams_color(self) -> &'static str {
        match self {
            Status::Good => "Good",
            Status::Warning => "Warning",
            Status::Error => "Attention",
            Status::Info => "Default",
        }
    }
}

/// One message, in forms every backend can use.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Notification {
    /// What it is about (`daily_summary`, `regression`, `compare`, …).
    pub kind: String,
    /// A stable key: a PR comment or an issue carrying it is updated instead of duplicated.
    pub key: String,
    pub title: String,
    pub status: Status,
    pub facts: Vec<(String, String)>,
    /// Short markdown lines (Teams renders a subset of markdown: no tables).
    pub lines: Vec<String>,
    pub links: Vec<(String, String)>,
    /// The whole message as GitHub-flavoured markdown.
    pub markdown: String,
}

/// The hidden marker that identifies a message on GitHub.
pub fn marker(key: &str) -> String {
    format!("<!-- sglci:{key} -->")
}

/// The Adaptive Card 1.4 of a notification, wrapped as a Teams message. The same payload is
/// accepted by Incoming Webhook URLs and by Workflows ("When a Teams webhook request is
/// received") URLs.
pub fn teams_message(n: &Notification) -> serde_json::Value {
    let mut body = vec![
        json!({"type": "TextBlock", "text": n.title, "weight": "Bolder", "size": "Medium", "wrap": true}),
    ];
    if !n.facts.is_empty() {
        body.push(json!({"type": "FactSet", "facts": n.facts.iter()
            .map(|(t, v)| json!({"title": t, "value": v})).collect::<Vec<_>>()}));
    }
    for line in &n.lines {
        body.push(
            json!({"type": "TextBlock", "text": line, "wrap": true, "spacing": "Small",
                         "color": n.status.teams_color()}),
        );
    }
    let actions: Vec<serde_json::Value> = n
        .links
        .iter()
        .map(|(title, url)| json!({"type": "Action.OpenUrl", "title": title, "url": url}))
        .collect();
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "msteams": {"width": "Full"},
                "body": body,
                "actions": actions,
            }
        }]
    })
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("{backend}: unexpected HTTP {status} from {host}: {body}")]
    Rejected {
        backend: &'static str,
        host: String,
        status: u16,
        body: String,
    },
    #[error("writing {path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Config(String),
}

/// Where a notification goes. Returns a short receipt (a path, a URL, a status).
pub trait Notifier {
    fn notify(&self, n: &Notification) -> Result<String, NotifyError>;
}

/// Writes each notification as JSON (card and markdown) into a directory: the local default,
/// and what tests and dry runs read.
#[derive(Debug, Clone)]
pub struct FileNotifier {
    pub dir: PathBuf,
}

impl Notifier for FileNotifier {
    fn notify(&self, n: &Notification) -> Result<String, NotifyError> {
        let err = |path: &PathBuf| {
            let path = path.clone();
            move |source| NotifyError::File { path, source }
        };
        std::fs::create_dir_all(&self.dir).map_err(err(&self.dir))?;
        let name: String = n
            .key
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = self.dir.join(format!("{name}.json"));
        let doc = json!({"notification": n, "teams": teams_message(n)});
        std::fs::write(&path, serde_json::to_vec_pretty(&doc).unwrap_or_default())
            .map_err(err(&path))?;
        Ok(path.display().to_string())
    }
}

/// Posts the Adaptive Card to a Teams Incoming Webhook or Workflows URL.
#[derive(Debug, Clone)]
pub struct TeamsNotifier {
    url: String,
    http: Http,
}

impl TeamsNotifier {
    pub fn new(url: String, http: Http) -> Self {
        Self { url, http }
    }

    /// The webhook's host (the URL itself is a secret).
    pub fn host(&self) -> String {
        http::host_of(&self.url)
    }
}

impl Notifier for TeamsNotifier {
    fn notify(&self, n: &Notification) -> Result<String, NotifyError> {
        let r = self
            .http
            .send("POST", &self.url, &[], Some(&teams_message(n)))?;
        // Incoming webhooks answer 200 "1"; Workflows answer 202.
        if (200..300).contains(&r.status) {
            Ok(format!(
                "teams {} HTTP {}",
                http::host_of(&self.url),
                r.status
            ))
        } else {
            Err(NotifyError::Rejected {
                backend: "teams",
                host: http::host_of(&self.url),
                status: r.status,
                body: r.body.chars().take(300).collect(),
            })
        }
    }
}

/// Whether the night's image is that night's: a stale image marks the message, it never drops
/// it.
pub fn mark_stale(n: &mut Notification, image_date: Option<&str>, night: &str) {
    match image_date {
        Some(d) if d == night => {}
        Some(d) => {
            n.title = format!("⚠️ stale image ({d}) · {}", n.title);
            n.lines.insert(
                0,
                format!("⚠️ The image tested is from {d}, not from {night}: no new image was published, or the run fell back to an older one."),
            );
            if n.status == Status::Good {
                n.status = Status::Warning;
            }
        }
        None => {
            n.lines
                .insert(0, "⚠️ No task of this night names its image.".to_owned());
        }
    }
}
