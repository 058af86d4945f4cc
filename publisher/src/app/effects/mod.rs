//! The effects of committed runs, exactly once: the raw files to the log repository, the site to
//! the Pages branch, cards to Teams (or a directory, or stdout), and regression issues on GitHub.
//!
//! The history's index is the source of truth. After a batch commits, [`enqueue_new`] derives
//! the effects of every run committed since the outbox's cursor (the index names each run's
//! bundle, so this works again after a crash) and writes each as an entry under
//! `outbox/pending/` by conditional create; then [`drain`] carries out the pending entries. See
//! ARCHITECTURE.md, "The outbox", for the invariants:
//!
//! - an effect has one id, derived from what it is about (the run, the card's key, the
//!   generation), so enqueueing it twice gives one entry;
//! - an effect is carried out only under a claim (`outbox/claims/<id>`, conditional create, with
//!   a lease), and only when its done-marker (`outbox/done/<id>`) is absent: a duplicate delivery
//!   or a second publisher sends nothing again;
//! - the done-marker is written after the effect and before the entry is removed: a publisher
//!   that dies in between leaves an entry that the next one finds done and removes; one that dies
//!   while sending leaves a claim whose lease runs out, and the next one sends again (the only
//!   duplicate there can be);
//! - a failed effect is retried with back-off; after [`EffectPolicy::max_attempts`] it is
//!   recorded under `quarantine/effect-<id>.json` and marked done, and never blocks another.
//!
//! Log repository pushes are append-only and Pages pushes never replace a site of a newer
//! generation, so even a repeated push changes nothing.

mod drain;
mod outbox;
mod perform;
mod plan;
mod summary;

pub use drain::*;
pub use outbox::*;
pub use perform::*;
pub use plan::*;
pub use summary::*;

use serde::{Deserialize, Serialize};

use crate::config::{CardSink, EffectPolicy};
use crate::notify::Notification;

/// One effect, as the outbox keeps it: everything needed to carry it out again, so a retry
/// sends what the first attempt would have sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Effect {
    /// A run's raw files to the log repository, at their log-layout paths.
    Logs { run_id: String, manifest: String },
    /// The site, as of this generation or a later one, to the Pages branch.
    Pages { generation: u64 },
    /// One card to one sink.
    Card { sink: CardSink, card: Notification },
    /// The regression issues brought in line with the findings of this generation or later.
    Issues { generation: u64 },
}

impl Effect {
    /// The kind, for ids and log lines.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Logs { .. } => "logs",
            Self::Pages { .. } => "pages",
            Self::Card { sink, .. } => sink.name(),
            Self::Issues { .. } => "issues",
        }
    }

    /// For effects that bring a target up to the latest state (Pages, issues): the generation
    /// they were enqueued for. A later one supersedes an earlier one of the same kind.
    pub fn generation(&self) -> Option<u64> {
        match self {
            Self::Pages { generation } | Self::Issues { generation } => Some(*generation),
            _ => None,
        }
    }
}

/// An effect's id: `[A-Za-z0-9._-]`, at most [`EffectId::MAX`] bytes, the same for the same
/// effect. Long or unusual parts are shortened and made unique by a digest of the whole.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EffectId(String);

impl EffectId {
    pub const MAX: usize = 160;

    /// The id of `parts` joined by `.`.
    pub fn new(parts: &[&str]) -> Self {
        use sha2::Digest;
        let whole = parts.join("\u{1f}");
        let plain: String = parts
            .iter()
            .map(|p| {
                p.chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join(".");
        let exact = parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        });
        if exact && plain.len() <= Self::MAX {
            return Self(plain);
        }
        let digest = sha2::Sha256::digest(whole.as_bytes());
        let tag: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        let keep = Self::MAX - tag.len() - 1;
        let head: String = plain.chars().take(keep).collect();
        Self(format!("{head}-{tag}"))
    }

    /// Parses a stored id (an object name under `outbox/`).
    pub fn parse(s: &str) -> Option<Self> {
        (!s.is_empty()
            && s.len() <= Self::MAX
            && !s.starts_with('.')
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)))
        .then(|| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for EffectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A pending effect: the effect and its attempts so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub effect: Effect,
    /// When it was enqueued (RFC 3339).
    pub enqueued: String,
    /// Attempts that failed.
    pub attempts: u32,
    /// Not before this time (Unix seconds): the back-off after a failure.
    pub not_before: i64,
    /// The last failure's reason (redacted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// How an effect ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Carried out.
    Done,
    /// A later effect of the same kind covers it (Pages, issues).
    Superseded,
    /// Failed every attempt; its reason is under `quarantine/`.
    GaveUp,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Superseded => "superseded",
            Self::GaveUp => "gave_up",
        }
    }
}

/// The done-marker of an effect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DoneMarker {
    pub outcome: Outcome,
    pub at: String,
    pub attempts: u32,
    /// What the target answered (a commit, an HTTP status, a path; redacted).
    pub receipt: String,
}

/// The wait before attempt `attempts + 1`: `base`, then doubling, at most an hour. Pure.
pub fn backoff(policy: &EffectPolicy, attempts: u32) -> i64 {
    let factor = 1u64 << attempts.saturating_sub(1).min(16);
    policy.backoff_secs.saturating_mul(factor).min(3600) as i64
}

#[derive(Debug, thiserror::Error)]
pub enum EffectError {
    #[error(transparent)]
    Store(#[from] sglci_core::store::StoreError),
    #[error(transparent)]
    Update(#[from] sglci_core::store::UpdateError),
    #[error("{0}")]
    Config(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_safe_and_unique() {
        let a = EffectId::new(&["teams", "run-grok1-20251210", "benchmark"]);
        assert_eq!(a.as_str(), "teams.run-grok1-20251210.benchmark");
        let odd = EffectId::new(&["teams", "benchmark:online_benchmark_log/mi30x/GROK1/x"]);
        assert!(EffectId::parse(odd.as_str()).is_some(), "{odd}");
        let other = EffectId::new(&["teams", "benchmark:online_benchmark_log/mi30x/GROK1/y"]);
        assert_ne!(odd, other, "same slug, different keys: different ids");
        let long = EffectId::new(&["teams", &"x".repeat(500)]);
        assert!(long.as_str().len() <= EffectId::MAX);
        assert!(EffectId::parse("../x").is_none() && EffectId::parse("").is_none());
    }

    #[test]
    fn backoff_doubles_and_is_bounded() {
        let p = EffectPolicy {
            max_attempts: 5,
            backoff_secs: 30,
            lease_secs: 60,
        };
        let waits: Vec<i64> = (1..=4).map(|n| backoff(&p, n)).collect();
        assert_eq!(waits, [30, 60, 120, 240]);
        assert_eq!(backoff(&p, 40), 3600);
    }

    #[test]
    fn entries_round_trip() {
        let e = Entry {
            effect: Effect::Card {
                sink: CardSink::Dir("/tmp/x".into()),
                card: crate::notify::Notification {
                    kind: "benchmark".into(),
                    key: "benchmark:x".into(),
                    title: "t".into(),
                    status: crate::notify::Status::Good,
                    facts: vec![("a".into(), "b".into())],
                    lines: vec![],
                    links: vec![],
                    markdown: "m".into(),
                },
            },
            enqueued: "2025-12-11T06:00:00Z".into(),
            attempts: 1,
            not_before: 5,
            last_error: Some("HTTP 500".into()),
        };
        let text = serde_json::to_string(&e).expect("json");
        assert_eq!(serde_json::from_str::<Entry>(&text).expect("back"), e);
        assert!(serde_json::from_str::<Entry>(&text.replace("\"attempts\"", "\"tries\"")).is_err());
    }
}
