//! Where things live, from flags or the environment. Pure parsing into the backend enums of
//! `sglci_core::backend`:
//! - the store (`--store`, `SGLCI_STORE`, default `./sglci-data`): a directory path, a
//!   `file://` URL, or `s3://BUCKET[/PREFIX]`;
//! - the queue (`--queue`, `SGLCI_QUEUE`): a spool directory or an SQS queue URL;
//! - the site (`--site`, `SGLCI_SITE`): a directory, or `store:PREFIX` for a prefix in the
//!   store (the Lambda's choice: it has no disk to keep).

use std::path::PathBuf;

pub use sglci_core::backend::{LocationError, QueueLocation, StoreLocation};
use sglci_core::bundle::BundleLimits;
use sglci_core::store::Key;
use thiserror::Error;

/// Where a site goes.
#[derive(Debug, Clone)]
pub enum SiteTarget {
    /// A directory (`--site DIR`).
    Dir(PathBuf),
    /// A prefix in the object store (`site/` in the bucket, for the Lambda).
    Store(Key),
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("--store `{0}`: unknown URL scheme (hint: a directory path, `file:///abs/path`, or `s3://bucket/prefix`)")]
    UnknownScheme(String),
    #[error("--store is empty (hint: a directory such as ./sglci-data)")]
    Empty,
    #[error("{0}")]
    Invalid(String),
}

impl From<LocationError> for ConfigError {
    fn from(e: LocationError) -> Self {
        match e {
            LocationError::UnknownScheme(s) => Self::UnknownScheme(s),
            LocationError::Empty => Self::Empty,
            other => Self::Invalid(other.to_string()),
        }
    }
}

pub const DEFAULT_STORE: &str = "./sglci-data";

/// Parses a store location ([`StoreLocation::parse`], shared with the runner). Pure.
pub fn parse_store(url: &str) -> Result<StoreLocation, ConfigError> {
    Ok(StoreLocation::parse(url)?)
}

/// The queue: explicit, else `<store>/queue` for a directory store ([`QueueLocation::resolve`],
/// shared with the runner). An S3 store needs an explicit queue (SQS).
pub fn resolve_queue(
    explicit: Option<&str>,
    store: &StoreLocation,
) -> Result<QueueLocation, ConfigError> {
    Ok(QueueLocation::resolve(explicit, store)?)
}

/// The bundle limits: `SGLCI_MAX_FILE_MB` (one file) and `SGLCI_MAX_BUNDLE_MB` (all files of
/// one bundle), in MiB; unset means the defaults of [`BundleLimits`]. Pure.
pub fn parse_limits(
    file_mb: Option<&str>,
    bundle_mb: Option<&str>,
) -> Result<BundleLimits, ConfigError> {
    let mut limits = BundleLimits::default();
    let mib = |name: &str, v: &str| -> Result<u64, ConfigError> {
        v.trim()
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=1 << 20).contains(n))
            .map(|n| n << 20)
            .ok_or_else(|| {
                ConfigError::Invalid(format!(
                    "{name} `{v}`: not a whole number of MiB from 1 to 1048576 (hint: {name}=256)"
                ))
            })
    };
    if let Some(v) = file_mb {
        limits.max_file_bytes = mib("SGLCI_MAX_FILE_MB", v)?;
    }
    if let Some(v) = bundle_mb {
        limits.max_total_bytes = mib("SGLCI_MAX_BUNDLE_MB", v)?;
    }
    Ok(limits)
}

/// `store:PREFIX` or a directory.
pub fn parse_site(s: &str) -> Result<SiteTarget, ConfigError> {
    if let Some(prefix) = s.strip_prefix("store:") {
        return Key::new(prefix.trim_matches('/'))
            .map(SiteTarget::Store)
            .map_err(|e| ConfigError::Invalid(format!("--site `{s}`: {e} (hint: store:site)")));
    }
    if s.is_empty() || s.contains("://") {
        return Err(ConfigError::Invalid(format!(
            "--site `{s}`: not a directory or store:PREFIX"
        )));
    }
    Ok(SiteTarget::Dir(PathBuf::from(s)))
}

/// Where a card (a Teams message: run cards, regression alerts, the daily summary) goes: the
/// `--notify` targets that take cards.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(tag = "sink", content = "path", rename_all = "snake_case")]
pub enum CardSink {
    /// The Teams webhook (its URL is a secret: `SGLCI_TEAMS_WEBHOOK_URL`, or the SSM parameter
    /// `SGLCI_TEAMS_WEBHOOK_PARAMETER` names).
    Teams,
    /// One JSON file per card in a directory (`dir:PATH`).
    Dir(String),
    /// The card's markdown on stdout (the Lambda's log).
    Stdout,
}

impl CardSink {
    /// The short name used in effect ids and log lines.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Teams => "teams",
            Self::Dir(_) => "dir",
            Self::Stdout => "stdout",
        }
    }
}

/// A git remote and the branch sglci writes on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitTarget {
    /// A path, `file://` or `https://` URL (credentials never belong here: the token is a secret
    /// passed apart).
    pub remote: String,
    pub branch: String,
}

/// The retry policy of effects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EffectPolicy {
    /// Attempts before an effect is given up and recorded under `quarantine/`.
    pub max_attempts: u32,
    /// The first retry waits this long; each later one twice as long as the one before.
    pub backoff_secs: u64,
    /// How long a claim on an effect holds before another publisher may take it over (a
    /// publisher that died while sending).
    pub lease_secs: u64,
}

impl Default for EffectPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            backoff_secs: 60,
            lease_secs: 900,
        }
    }
}

/// What a committed run should reach besides the history and the site: `--log-repo`,
/// `--pages` and `--notify` (or `SGLCI_LOG_REPO`, `SGLCI_PAGES`, `SGLCI_NOTIFY`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EffectsConfig {
    pub log_repo: Option<GitTarget>,
    pub pages: Option<GitTarget>,
    /// Commits the Pages branch keeps (its history restarts from one commit at the bound).
    pub pages_keep: usize,
    pub cards: Vec<CardSink>,
    pub github_issues: bool,
    /// The published dashboard's URL, for links in cards and issues.
    pub dashboard: Option<String>,
    pub policy: EffectPolicy,
    /// Where git pushes keep their repositories between pushes ([`parse_git_cache`]).
    pub git_cache: Option<crate::gitpub::GitCache>,
}

impl EffectsConfig {
    /// Whether any effect is configured.
    pub fn any(&self) -> bool {
        self.log_repo.is_some()
            || self.pages.is_some()
            || !self.cards.is_empty()
            || self.github_issues
    }
}

/// The git cache from `SGLCI_GIT_CACHE` (a folder, or `off`; unset: `sglci-git-cache` in
/// `temp`, the system's temporary folder) and `SGLCI_GIT_CACHE_MB` (the size at which a cached
/// repository starts afresh; 2048 by default). Pure.
pub fn parse_git_cache(
    dir: Option<&str>,
    max_mb: Option<&str>,
    temp: &std::path::Path,
) -> Result<Option<crate::gitpub::GitCache>, ConfigError> {
    const DEFAULT_MB: u64 = 2048;
    let max_mb = match max_mb.map(str::trim).filter(|v| !v.is_empty()) {
        None => DEFAULT_MB,
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|n| (16..=1_048_576).contains(n))
            .ok_or_else(|| {
                ConfigError::Invalid(format!(
                    "SGLCI_GIT_CACHE_MB `{v}`: not a whole number of MiB from 16 to 1048576 (hint: SGLCI_GIT_CACHE_MB={DEFAULT_MB})"
                ))
            })?,
    };
    let dir = match dir.map(str::trim).filter(|v| !v.is_empty()) {
        None => temp.join("sglci-git-cache"),
        Some("off") => return Ok(None),
        Some(d) => std::path::PathBuf::from(d),
    };
    Ok(Some(crate::gitpub::GitCache {
        dir,
        max_bytes: max_mb << 20,
    }))
}

/// `REMOTE` or `REMOTE#BRANCH`.
fn git_target(flag: &str, value: &str, default_branch: &str) -> Result<GitTarget, ConfigError> {
    let value = value.trim();
    let (remote, branch) = match value.rsplit_once('#') {
        Some((r, b)) => (r, b),
        None => (value, default_branch),
    };
    let branch_ok = !branch.is_empty()
        && branch
            .split('/')
            .all(|p| !p.is_empty() && !p.starts_with('.') && !p.ends_with(".lock"))
        && branch
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
    if remote.is_empty() || !branch_ok {
        return Err(ConfigError::Invalid(format!(
            "{flag} `{}`: not REMOTE or REMOTE#BRANCH (hint: file:///srv/log.git or https://github.com/ORG/REPO.git#log)",
            crate::gitpub::redact_remote(value)
        )));
    }
    if remote.split_once("://").is_some_and(|(_, rest)| {
        rest.split('/')
            .next()
            .is_some_and(|authority| authority.contains('@'))
    }) {
        return Err(ConfigError::Invalid(format!(
            "{flag} `{}`: credentials in the URL (hint: give the token as SGLCI_GIT_TOKEN or GITHUB_TOKEN, never in a flag)",
            crate::gitpub::redact_remote(value)
        )));
    }
    Ok(GitTarget {
        remote: remote.to_owned(),
        branch: branch.to_owned(),
    })
}

/// The `--notify` targets (repeatable, or comma-separated in `SGLCI_NOTIFY`): `teams`,
/// `github-issues`, `dir:PATH`, `stdout`. Pure.
pub fn parse_notify(targets: &[String]) -> Result<(Vec<CardSink>, bool), ConfigError> {
    let mut cards = Vec::new();
    let mut issues = false;
    for t in targets
        .iter()
        .flat_map(|t| t.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        let sink = match t {
            "teams" => CardSink::Teams,
            "stdout" => CardSink::Stdout,
            "github-issues" => {
                issues = true;
                continue;
            }
            other => match other.strip_prefix("dir:") {
                Some(path) if !path.is_empty() => CardSink::Dir(path.to_owned()),
                _ => {
                    return Err(ConfigError::Invalid(format!(
                        "--notify `{other}`: unknown target (hint: teams, github-issues, dir:PATH or stdout)"
                    )))
                }
            },
        };
        if !cards.contains(&sink) {
            cards.push(sink);
        }
    }
    Ok((cards, issues))
}

/// The effects configuration from its flags or variables. `policy` holds
/// `SGLCI_EFFECT_ATTEMPTS`, `SGLCI_EFFECT_BACKOFF_S` and `SGLCI_EFFECT_LEASE_S` when set. Pure.
pub fn parse_effects(
    log_repo: Option<&str>,
    pages: Option<&str>,
    notify: &[String],
    dashboard: Option<&str>,
    policy: [Option<&str>; 3],
) -> Result<EffectsConfig, ConfigError> {
    let (cards, github_issues) = parse_notify(notify)?;
    fn some(v: Option<&str>) -> Option<&str> {
        v.map(str::trim).filter(|v| !v.is_empty())
    }
    let number =
        |name: &str, v: Option<&str>, min: u64, default: u64| -> Result<u64, ConfigError> {
            match some(v) {
                None => Ok(default),
                Some(v) => v
                    .parse::<u64>()
                    .ok()
                    .filter(|n| (min..=86_400).contains(n))
                    .ok_or_else(|| {
                        ConfigError::Invalid(format!(
                    "{name} `{v}`: not a whole number from {min} to 86400 (hint: {name}={default})"
                ))
                    }),
            }
        };
    let d = EffectPolicy::default();
    Ok(EffectsConfig {
        log_repo: some(log_repo)
            .map(|v| git_target("--log-repo", v, "log"))
            .transpose()?,
        pages: some(pages)
            .map(|v| git_target("--pages", v, "gh-pages"))
            .transpose()?,
        pages_keep: 10,
        cards,
        github_issues,
        dashboard: some(dashboard).map(str::to_owned),
        policy: EffectPolicy {
            max_attempts: number("SGLCI_EFFECT_ATTEMPTS", policy[0], 1, d.max_attempts.into())?
                as u32,
            backoff_secs: number("SGLCI_EFFECT_BACKOFF_S", policy[1], 0, d.backoff_secs)?,
            lease_secs: number("SGLCI_EFFECT_LEASE_S", policy[2], 1, d.lease_secs)?,
        },
        git_cache: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_cache_settings() {
        let tmp = std::path::Path::new("/tmp");
        let c = parse_git_cache(None, None, tmp).expect("default");
        assert_eq!(
            c,
            Some(crate::gitpub::GitCache {
                dir: tmp.join("sglci-git-cache"),
                max_bytes: 2048 << 20
            })
        );
        assert_eq!(parse_git_cache(Some("off"), None, tmp), Ok(None));
        let c = parse_git_cache(Some("/srv/c"), Some("64"), tmp).expect("set");
        assert_eq!(
            c.map(|c| (c.dir, c.max_bytes)),
            Some(("/srv/c".into(), 64 << 20))
        );
        for bad in ["0", "-1", "lots", "1048577"] {
            let e = parse_git_cache(None, Some(bad), tmp).expect_err(bad);
            assert!(e.to_string().contains("SGLCI_GIT_CACHE_MB"), "{e}");
        }
    }

    #[test]
    fn store_urls() {
        assert_eq!(parse_store("./x"), Ok(StoreLocation::Dir("./x".into())));
        assert_eq!(
            parse_store("file:///tmp/s"),
            Ok(StoreLocation::Dir("/tmp/s".into()))
        );
        assert_eq!(
            parse_store("s3://b/p"),
            Ok(StoreLocation::S3 {
                bucket: "b".into(),
                prefix: "p".into()
            })
        );
        assert!(matches!(
            parse_store("ftp://h/p"),
            Err(ConfigError::UnknownScheme(_))
        ));
        assert_eq!(parse_store(" "), Err(ConfigError::Empty));
        assert!(resolve_queue(None, &parse_store("s3://b").expect("s3")).is_err());
        assert_eq!(
            resolve_queue(None, &StoreLocation::Dir("s".into())),
            Ok(QueueLocation::Spool("s/queue".into()))
        );
        assert!(matches!(parse_site("store:site"), Ok(SiteTarget::Store(_))));
        assert!(matches!(parse_site("out"), Ok(SiteTarget::Dir(_))));
        assert!(parse_site("store:../x").is_err());
    }

    #[test]
    fn effect_targets() {
        let c = parse_effects(
            Some("file:///srv/log.git"),
            Some("https://github.com/o/r.git#pages"),
            &[
                "teams,stdout".to_owned(),
                "github-issues".to_owned(),
                "dir:/tmp/n".to_owned(),
            ],
            None,
            [None, Some("5"), None],
        )
        .expect("valid");
        assert_eq!(c.log_repo.as_ref().map(|t| t.branch.as_str()), Some("log"));
        assert_eq!(c.pages.as_ref().map(|t| t.branch.as_str()), Some("pages"));
        assert_eq!(
            c.cards,
            [
                CardSink::Teams,
                CardSink::Stdout,
                CardSink::Dir("/tmp/n".into())
            ]
        );
        assert!(c.github_issues && c.any());
        assert_eq!(c.policy.backoff_secs, 5);
        assert!(!parse_effects(None, None, &[], None, [None; 3])
            .expect("empty")
            .any());
        for (bad, needle) in [("slack", "unknown target"), ("dir:", "unknown target")] {
            let e = parse_notify(&[bad.to_owned()]).expect_err(bad).to_string();
            assert!(e.contains(needle) && e.contains("hint"), "{e}");
        }
        let e = parse_effects(
            Some("https://x:secretvalue@github.com/o/r.git"),
            None,
            &[],
            None,
            [None; 3],
        )
        .expect_err("credentials")
        .to_string();
        assert!(
            e.contains("credentials") && !e.contains("secretvalue"),
            "{e}"
        );
        assert!(parse_effects(Some("r.git#"), None, &[], None, [None; 3]).is_err());
        assert!(parse_effects(None, None, &[], None, [Some("0"), None, None]).is_err());
    }
}
