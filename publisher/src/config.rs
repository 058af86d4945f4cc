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

use crate::app::SiteTarget;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
