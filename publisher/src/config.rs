//! Store location (`--store URL`, env `SGLCI_STORE`, default `./sglci-data`): a path or a
//! `file://` URL selects the directory store.

use std::path::PathBuf;

use thiserror::Error;

/// The object-store backends; the directory store is the local default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    Dir(PathBuf),
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("--store `{0}`: S3 stores are not available in this build yet; use a directory path or file:// URL")]
    S3Unsupported(String),
    #[error("--store `{0}`: unknown URL scheme (hint: a directory path, `file:///abs/path`, or `s3://bucket/prefix`)")]
    UnknownScheme(String),
    #[error("--store is empty (hint: a directory such as ./sglci-data)")]
    Empty,
}

pub const DEFAULT_STORE: &str = "./sglci-data";

/// Parses a store URL. Pure.
pub fn parse_store(url: &str) -> Result<StoreLocation, ConfigError> {
    let url = url.trim();
    if url.is_empty() {
        return Err(ConfigError::Empty);
    }
    if let Some(path) = url.strip_prefix("file://") {
        if path.is_empty() {
            return Err(ConfigError::Empty);
        }
        return Ok(StoreLocation::Dir(PathBuf::from(path)));
    }
    if url.starts_with("s3://") {
        return Err(ConfigError::S3Unsupported(url.to_owned()));
    }
    if let Some((scheme, _)) = url.split_once("://") {
        if !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '+')
        {
            return Err(ConfigError::UnknownScheme(url.to_owned()));
        }
    }
    Ok(StoreLocation::Dir(PathBuf::from(url)))
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
        assert!(matches!(
            parse_store("s3://b/p"),
            Err(ConfigError::S3Unsupported(_))
        ));
        assert!(matches!(
            parse_store("ftp://h/p"),
            Err(ConfigError::UnknownScheme(_))
        ));
        assert_eq!(parse_store(" "), Err(ConfigError::Empty));
    }
}
