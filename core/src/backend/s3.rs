//! [`S3Store`]: the object store on S3 (aws-sdk-s3). Every object is written with its SHA-256
//! checksum, which S3 verifies on receipt; conditional writes use `If-None-Match: *` and
//! `If-Match: <ETag>`, so concurrent publishers never overwrite each other's index.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ChecksumAlgorithm;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::aws::Aws;
use crate::store::{under, Key, ObjectStore, StoreError, Version};

#[derive(Debug, Clone)]
pub struct S3Store {
    aws: Aws,
    client: aws_sdk_s3::Client,
    bucket: String,
    /// Prepended to every key (`""` or `"some/prefix/"`).
    prefix: String,
    /// Requests a batch keeps in flight (`SGLCI_S3_CONCURRENCY`, default 32).
    concurrency: usize,
}

/// Requests in flight per batch unless `SGLCI_S3_CONCURRENCY` says otherwise.
pub const DEFAULT_CONCURRENCY: usize = 32;

impl S3Store {
    pub fn new(aws: &Aws, bucket: &str, prefix: &str) -> Self {
        let mut conf = aws_sdk_s3::config::Builder::from(aws.config());
        if aws.custom_endpoint() || std::env::var_os("SGLCI_S3_PATH_STYLE").is_some() {
            conf = conf.force_path_style(true);
        }
        let prefix = prefix.trim_matches('/');
        Self {
            aws: aws.clone(),
            client: aws_sdk_s3::Client::from_conf(conf.build()),
            bucket: bucket.to_owned(),
            prefix: if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            },
            concurrency: std::env::var("SGLCI_S3_CONCURRENCY")
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .filter(|n| (1..=512).contains(n))
                .unwrap_or(DEFAULT_CONCURRENCY),
        }
    }

    /// The same store with `n` requests in flight per batch (1 = one after another).
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.clamp(1, 512);
        self
    }

    /// Creates the bucket when it does not exist (local emulators and first-time setup; in AWS
    /// the template creates it).
    pub fn ensure_bucket(&self) -> Result<(), StoreError> {
        self.aws.block_on(async {
            match self
                .client
                .create_bucket()
                .bucket(&self.bucket)
                .send()
                .await
            {
                Ok(_) => Ok(()),
                Err(e)
                    if e.as_service_error().is_some_and(|s| {
                        s.is_bucket_already_owned_by_you() || s.is_bucket_already_exists()
                    }) =>
                {
                    Ok(())
                }
                Err(e) => Err(sdk_error("create bucket", &self.bucket, &e)),
            }
        })
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    fn full(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    async fn delete_one(&self, key: &Key) -> Result<(), StoreError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(self.full(key.as_str()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| sdk_error("delete", key.as_str(), &e))
    }

    async fn put_with(
        &self,
        key: &Key,
        bytes: &[u8],
        if_none_match: bool,
        if_match: Option<&Version>,
    ) -> Result<(), StoreError> {
        let sum = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes));
        let mut req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(self.full(key.as_str()))
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .checksum_sha256(sum)
            .body(ByteStream::from(bytes.to_vec()));
        if if_none_match {
            req = req.if_none_match("*");
        }
        if let Some(v) = if_match {
            req = req.if_match(&v.0);
        }
        match req.send().await {
            Ok(_) => Ok(()),
            Err(e) => {
                let status = e.raw_response().map(|r| r.status().as_u16());
                Err(match status {
                    // 412 Precondition Failed; 409 when a concurrent conditional write is in
                    // flight for the same key.
                    Some(412 | 409) if if_none_match => StoreError::Exists {
                        key: key.to_string(),
                    },
                    Some(412 | 409 | 404) if if_match.is_some() => StoreError::Conflict {
                        key: key.to_string(),
                    },
                    _ => sdk_error("put", key.as_str(), &e),
                })
            }
        }
    }
}

/// An SDK error as text: the service's code and message when it answered, the cause otherwise
/// (connection refused, timeout), never the request (it can carry signed URLs).
pub(crate) fn sdk_error<E, R>(
    op: &'static str,
    key: &str,
    e: &aws_sdk_s3::error::SdkError<E, R>,
) -> StoreError
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    StoreError::Backend {
        op,
        key: key.to_owned(),
        reason: describe(e),
    }
}

/// Shared with the SQS backend: both SDKs re-export the same smithy error types.
pub(crate) fn describe<E, R>(e: &aws_sdk_s3::error::SdkError<E, R>) -> String
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_s3::error::SdkError;
    match e {
        SdkError::ServiceError(s) => {
            let err = s.err();
            format!(
                "{}: {}",
                err.code().unwrap_or("service error"),
                err.message().unwrap_or("no message")
            )
        }
        other => {
            let mut text = other.to_string();
            let mut src = std::error::Error::source(other);
            while let Some(s) = src {
                text.push_str(": ");
                text.push_str(&s.to_string());
                src = s.source();
            }
            text
        }
    }
}

impl S3Store {
    /// GetObject, refusing an object over `max` bytes by its Content-Length before its body is
    /// read.
    fn get_within(&self, key: &Key, max: u64) -> Result<(Vec<u8>, Version), StoreError> {
        self.aws.block_on(self.fetch(key, max))
    }

    async fn fetch(&self, key: &Key, max: u64) -> Result<(Vec<u8>, Version), StoreError> {
        {
            let out = self
                .client
                .get_object()
                .bucket(&self.bucket)
                .key(self.full(key.as_str()))
                .send()
                .await
                .map_err(|e| {
                    if e.as_service_error().is_some_and(|s| s.is_no_such_key())
                        || e.raw_response().is_some_and(|r| r.status().as_u16() == 404)
                    {
                        StoreError::NotFound {
                            key: key.to_string(),
                        }
                    } else {
                        sdk_error("get", key.as_str(), &e)
                    }
                })?;
            let version = Version(out.e_tag().unwrap_or_default().to_owned());
            // The size from the response's headers, before the body is read.
            let len = out
                .content_length()
                .and_then(|n| u64::try_from(n).ok())
                .unwrap_or(0);
            if len > max {
                return Err(StoreError::TooLarge {
                    key: key.to_string(),
                    bytes: len,
                    max,
                });
            }
            let bytes = out
                .body
                .collect()
                .await
                .map_err(|e| StoreError::Backend {
                    op: "get",
                    key: key.to_string(),
                    reason: e.to_string(),
                })?
                .into_bytes()
                .to_vec();
            Ok((bytes, version))
        }
    }
}

impl ObjectStore for S3Store {
    fn get_versioned(&self, key: &Key) -> Result<(Vec<u8>, Version), StoreError> {
        self.get_within(key, u64::MAX)
    }

    fn get_at_most(&self, key: &Key, max: u64) -> Result<Vec<u8>, StoreError> {
        self.get_within(key, max).map(|(bytes, _)| bytes)
    }

    fn put(&self, key: &Key, bytes: &[u8]) -> Result<(), StoreError> {
        self.aws.block_on(self.put_with(key, bytes, false, None))
    }

    fn put_if_absent(&self, key: &Key, bytes: &[u8]) -> Result<(), StoreError> {
        self.aws.block_on(self.put_with(key, bytes, true, None))
    }

    fn put_if_match(&self, key: &Key, bytes: &[u8], expected: &Version) -> Result<(), StoreError> {
        self.aws
            .block_on(self.put_with(key, bytes, false, Some(expected)))
    }

    fn get_many(&self, keys: &[Key]) -> Vec<Result<Vec<u8>, StoreError>> {
        use futures_util::stream::{self, StreamExt};
        self.aws.block_on(
            stream::iter(keys)
                .map(|k| async move { self.fetch(k, u64::MAX).await.map(|(b, _)| b) })
                .buffered(self.concurrency)
                .collect::<Vec<_>>(),
        )
    }

    fn get_many_at_most(&self, keys: &[(Key, u64)]) -> Vec<Result<Vec<u8>, StoreError>> {
        use futures_util::stream::{self, StreamExt};
        self.aws.block_on(
            stream::iter(keys)
                .map(|(k, max)| async move { self.fetch(k, *max).await.map(|(b, _)| b) })
                .buffered(self.concurrency)
                .collect::<Vec<_>>(),
        )
    }

    fn put_many(&self, items: &[(Key, Vec<u8>)]) -> Result<(), StoreError> {
        use futures_util::stream::{self, StreamExt};
        let results: Vec<Result<(), StoreError>> = self.aws.block_on(
            stream::iter(items)
                .map(|(k, b)| self.put_with(k, b, false, None))
                .buffer_unordered(self.concurrency)
                .collect::<Vec<_>>(),
        );
        results.into_iter().collect()
    }

    fn delete(&self, key: &Key) -> Result<(), StoreError> {
        self.aws.block_on(self.delete_one(key))
    }

    fn delete_many(&self, keys: &[Key]) -> Result<(), StoreError> {
        use futures_util::stream::{self, StreamExt};
        // Single deletes, concurrently: DeleteObjects needs a body checksum some endpoints
        // check differently, and a batch here is small (a derived table's months).
        let results: Vec<Result<(), StoreError>> = self.aws.block_on(
            stream::iter(keys)
                .map(|k| self.delete_one(k))
                .buffer_unordered(self.concurrency)
                .collect::<Vec<_>>(),
        );
        results.into_iter().collect()
    }

    fn list(&self, prefix: &str) -> Result<Vec<Key>, StoreError> {
        let prefix = prefix.trim_end_matches('/');
        let mut out = Vec::new();
        self.aws.block_on(async {
            let mut token: Option<String> = None;
            loop {
                let page = self
                    .client
                    .list_objects_v2()
                    .bucket(&self.bucket)
                    .prefix(self.full(prefix))
                    .set_continuation_token(token.take())
                    .send()
                    .await
                    .map_err(|e| sdk_error("list", prefix, &e))?;
                for o in page.contents() {
                    let Some(k) = o.key().and_then(|k| k.strip_prefix(self.prefix.as_str())) else {
                        continue;
                    };
                    if under(k, prefix) {
                        if let Ok(k) = Key::new(k) {
                            out.push(k);
                        }
                    }
                }
                match page.next_continuation_token() {
                    Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_owned()),
                    _ => break,
                }
            }
            Ok::<(), StoreError>(())
        })?;
        out.sort();
        Ok(out)
    }

    fn children(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let prefix = prefix.trim_end_matches('/');
        let base = if prefix.is_empty() {
            self.prefix.clone()
        } else {
            format!("{}{prefix}/", self.prefix)
        };
        let mut out = std::collections::BTreeSet::new();
        self.aws.block_on(async {
            let mut token: Option<String> = None;
            loop {
                let page = self
                    .client
                    .list_objects_v2()
                    .bucket(&self.bucket)
                    .prefix(&base)
                    .delimiter("/")
                    .set_continuation_token(token.take())
                    .send()
                    .await
                    .map_err(|e| sdk_error("list", prefix, &e))?;
                for p in page.common_prefixes() {
                    if let Some(name) = p.prefix().and_then(|p| p.strip_prefix(base.as_str())) {
                        out.insert(name.trim_end_matches('/').to_owned());
                    }
                }
                for o in page.contents() {
                    if let Some(name) = o.key().and_then(|k| k.strip_prefix(base.as_str())) {
                        out.insert(name.to_owned());
                    }
                }
                match page.next_continuation_token() {
                    Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_owned()),
                    _ => break,
                }
            }
            Ok::<(), StoreError>(())
        })?;
        Ok(out.into_iter().filter(|n| !n.is_empty()).collect())
    }
}
