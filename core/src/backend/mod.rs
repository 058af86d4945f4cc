//! The shell side of the store and queue boundaries: the backends themselves, and the closed
//! enums that pick one from configuration. This is the only part of `core` that touches the disk
//! or the network; everything else stays pure.
//!
//! | Location        | Store                      | Queue                           |
//! |-----------------|----------------------------|---------------------------------|
//! | a path          | [`DirStore`] (the default) | [`SpoolQueue`] (the default)    |
//! | `s3://bucket/p` | `S3Store` (feature `aws`)  |                                 |
//! | `https://sqs…`  |                            | `SqsQueue` (feature `aws`)      |

#[cfg(feature = "aws")]
pub mod aws;
pub mod dir;
#[cfg(feature = "moto")]
pub mod moto;
#[cfg(feature = "aws")]
pub mod s3;
pub mod spool;
#[cfg(feature = "aws")]
pub mod sqs;
#[cfg(feature = "aws")]
pub mod ssm;

use std::path::{Path, PathBuf};

pub use dir::{sync_filesystem, write_durably, DirStore};
pub use spool::SpoolQueue;

use crate::queue::Queue;
use crate::store::ObjectStore;

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("{0}")]
    Config(String),
}

/// Where the object store is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    Dir(PathBuf),
    S3 { bucket: String, prefix: String },
}

/// Why a `--store`/`--queue` location cannot be used. The one parser of locations: the runner
/// and the publisher (CLI and Lambda) both read them through [`StoreLocation::parse`] and
/// [`QueueLocation::resolve`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocationError {
    #[error("--store `{0}`: unknown URL scheme (hint: a directory path, `file:///abs/path`, or `s3://bucket/prefix`)")]
    UnknownScheme(String),
    #[error("--store is empty (hint: a directory such as ./sglci-data, or s3://BUCKET[/PREFIX])")]
    Empty,
    #[error("--store `{0}`: no bucket (hint: s3://BUCKET[/PREFIX])")]
    NoBucket(String),
    #[error("--queue `{0}`: not a directory or an SQS queue URL (hint: https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)")]
    BadQueue(String),
    #[error("--queue: an S3 store needs a queue (hint: --queue https://sqs.REGION.amazonaws.com/ACCOUNT/NAME, or SGLCI_QUEUE)")]
    NoQueue,
}

impl StoreLocation {
    /// A directory path, a `file://` URL, or `s3://bucket[/prefix]` (surrounding blanks
    /// ignored).
    pub fn parse(s: &str) -> Result<Self, LocationError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(LocationError::Empty);
        }
        if let Some(path) = s.strip_prefix("file://") {
            if path.is_empty() {
                return Err(LocationError::Empty);
            }
            return Ok(Self::Dir(PathBuf::from(path)));
        }
        if let Some(rest) = s.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(LocationError::NoBucket(s.to_owned()));
            }
            return Ok(Self::S3 {
                bucket: bucket.to_owned(),
                prefix: prefix.trim_matches('/').to_owned(),
            });
        }
        if s.contains("://") {
            return Err(LocationError::UnknownScheme(s.to_owned()));
        }
        Ok(Self::Dir(PathBuf::from(s)))
    }

    /// The directory, for the local backend.
    pub fn dir(&self) -> Option<&Path> {
        match self {
            Self::Dir(p) => Some(p),
            Self::S3 { .. } => None,
        }
    }
}

impl std::fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Dir(p) => write!(f, "{}", p.display()),
            Self::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            Self::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

/// Where the queue is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueLocation {
    Spool(PathBuf),
    /// An SQS queue URL.
    Sqs(String),
}

impl QueueLocation {
    /// An `http(s)://` SQS queue URL, or a spool directory path.
    pub fn parse(s: &str) -> Result<Self, LocationError> {
        let s = s.trim();
        if s.starts_with("https://") || s.starts_with("http://") {
            return Ok(Self::Sqs(s.to_owned()));
        }
        if s.contains("://") || s.is_empty() {
            return Err(LocationError::BadQueue(s.to_owned()));
        }
        Ok(Self::Spool(PathBuf::from(s)))
    }

    /// The queue `explicit` names, else the directory store's own spool (`<store>/queue`); an
    /// S3 store needs one named.
    pub fn resolve(explicit: Option<&str>, store: &StoreLocation) -> Result<Self, LocationError> {
        match (explicit, store) {
            (Some(q), _) => Self::parse(q),
            (None, StoreLocation::Dir(d)) => Ok(Self::Spool(d.join("queue"))),
            (None, StoreLocation::S3 { .. }) => Err(LocationError::NoQueue),
        }
    }
}

impl std::fmt::Display for QueueLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Spool(p) => write!(f, "{}", p.display()),
            Self::Sqs(u) => f.write_str(u),
        }
    }
}

/// Builds backends, sharing one AWS context (SDK configuration, runtime) between them: built on
/// first use, once per process or Lambda cold start.
#[derive(Debug, Default)]
pub struct Backends {
    #[cfg(feature = "aws")]
    aws: Option<aws::Aws>,
}

impl Backends {
    #[cfg(feature = "aws")]
    fn aws(&mut self) -> Result<aws::Aws, BackendError> {
        if let Some(a) = &self.aws {
            return Ok(a.clone());
        }
        let a = aws::Aws::from_env()?;
        self.aws = Some(a.clone());
        Ok(a)
    }

    pub fn store(&mut self, loc: &StoreLocation) -> Result<Box<dyn ObjectStore>, BackendError> {
        match loc {
            StoreLocation::Dir(p) => Ok(Box::new(DirStore::new(p))),
            #[cfg(feature = "aws")]
            StoreLocation::S3 { bucket, prefix } => {
                Ok(Box::new(s3::S3Store::new(&self.aws()?, bucket, prefix)))
            }
            #[cfg(not(feature = "aws"))]
            StoreLocation::S3 { .. } => Err(BackendError::Config(
                "this build has no S3 backend (hint: build with the `aws` feature)".to_owned(),
            )),
        }
    }

    /// A secret from an SSM parameter (SecureString), for the Lambda's webhook URL and token.
    pub fn ssm_parameter(&mut self, name: &str) -> Result<String, BackendError> {
        #[cfg(feature = "aws")]
        {
            ssm::SsmParameters::new(&self.aws()?).get(name)
        }
        #[cfg(not(feature = "aws"))]
        {
            Err(BackendError::Config(format!(
                "this build cannot read the SSM parameter {name} (hint: build with the `aws` feature)"
            )))
        }
    }

    pub fn queue(&mut self, loc: &QueueLocation) -> Result<Box<dyn Queue>, BackendError> {
        match loc {
            QueueLocation::Spool(p) => Ok(Box::new(SpoolQueue::new(p))),
            #[cfg(feature = "aws")]
            QueueLocation::Sqs(url) => Ok(Box::new(sqs::SqsQueue::new(&self.aws()?, url))),
            #[cfg(not(feature = "aws"))]
            QueueLocation::Sqs(_) => Err(BackendError::Config(
                "this build has no SQS backend (hint: build with the `aws` feature)".to_owned(),
            )),
        }
    }
}

/// Every regular file under `dir`, keyed by its `/`-separated path relative to `dir`, sorted.
/// An error names the path it happened on. (The runner ships a log tree this way; the publisher
/// pushes a rendered site.)
pub fn files_under(dir: &Path) -> Result<crate::bundle::Files, (PathBuf, std::io::Error)> {
    let at = |p: &Path| {
        let p = p.to_owned();
        move |e| (p, e)
    };
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).map_err(at(&d))? {
            let e = e.map_err(at(&d))?;
            let p = e.path();
            let ty = e.file_type().map_err(at(&p))?;
            if ty.is_dir() {
                stack.push(p);
            } else if ty.is_file() {
                let rel = p
                    .strip_prefix(dir)
                    .map(|r| {
                        r.components()
                            .map(|c| c.as_os_str().to_string_lossy().into_owned())
                            .collect::<Vec<_>>()
                            .join("/")
                    })
                    .unwrap_or_default();
                out.push((rel, std::fs::read(&p).map_err(at(&p))?));
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse() {
        assert_eq!(
            StoreLocation::parse("s3://b/p/q/").expect("s3"),
            StoreLocation::S3 {
                bucket: "b".into(),
                prefix: "p/q".into()
            }
        );
        assert_eq!(
            StoreLocation::parse("./store").expect("dir"),
            StoreLocation::Dir("./store".into())
        );
        assert!(StoreLocation::parse("s3://").is_err());
        assert!(StoreLocation::parse("gs://x").is_err());
        assert!(matches!(
            QueueLocation::parse("http://127.0.0.1:5000/123/q").expect("sqs"),
            QueueLocation::Sqs(_)
        ));
        assert!(QueueLocation::parse("ftp://x").is_err());
        // One parser for the runner and the publisher: `file://` URLs and blanks too.
        assert_eq!(
            StoreLocation::parse(" file:///tmp/s "),
            Ok(StoreLocation::Dir("/tmp/s".into()))
        );
        assert_eq!(StoreLocation::parse(" "), Err(LocationError::Empty));
        assert_eq!(StoreLocation::parse("file://"), Err(LocationError::Empty));
        assert_eq!(
            QueueLocation::resolve(None, &StoreLocation::Dir("d".into())),
            Ok(QueueLocation::Spool("d/queue".into()))
        );
        let s3 = StoreLocation::parse("s3://b").expect("s3");
        assert_eq!(
            QueueLocation::resolve(None, &s3),
            Err(LocationError::NoQueue)
        );
    }

    #[test]
    fn spool_queue_conforms() {
        let dir = tempfile::tempdir().expect("tmp");
        crate::queue::check_queue(&SpoolQueue::new(dir.path())).expect("conforms");
    }

    #[test]
    fn dir_store_conforms() {
        let dir = tempfile::tempdir().expect("tmp");
        crate::store::check_store(&DirStore::new(dir.path())).expect("conforms");
    }
}
