//! The run bundle protocol (F16, F30): a run's files under `runs/<hardware>/<YYYYMMDD>/<run_id>/`,
//! each with its SHA-256 in `manifest.json`, which is written last. A queue message names the
//! manifest. The publisher checks the schema version and every checksum before it reads a
//! number, and quarantines a bad bundle with its reason.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::store::{Key, ObjectStore, StoreError};

/// Bumped when the manifest's meaning changes; the publisher refuses other versions.
pub const BUNDLE_SCHEMA: u32 = 1;

/// One file of a bundle, relative to the bundle's prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// The file's path in the predecessor's log layout (`online_benchmark_log/...`), so the same
    /// parsers read bundles and the legacy tree.
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub schema: u32,
    pub run_id: String,
    pub hardware: String,
    /// Image date `YYYYMMDD`.
    pub date: String,
    pub image: String,
    pub suite: String,
    pub files: Vec<FileEntry>,
    /// What the run was (F16); absent in bundles of runners before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<RunMeta>,
}

/// A run's record beyond the identity fields that name its key (F16).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunMeta {
    /// The runner host's name.
    pub host: String,
    /// The image tested and the GPUs it ran on.
    pub image: crate::ImageIdentity,
    /// SHA-256 of the resolved plan of the jobs that ran: two runs with one hash were asked the
    /// same thing.
    pub config_hash: String,
    /// RFC 3339, UTC.
    pub started: String,
    pub ended: String,
    pub status: RunStatus,
    /// The failure class of each failed job, in job order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<crate::failure::FailureClass>,
    /// `--mconf`: the layers the model was reduced to (`2l`), with dummy weights; absent for
    /// the full model. Its jobs' model names carry the same suffix, so its history is its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mconf: Option<String>,
    /// `--deploy`: the deployment the jobs ran with (`tp8ep8`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy: Option<String>,
    /// Multi-node runs: the node count and this bundle's rank.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<NodeRank>,
}

/// Which node of a multi-node run shipped a bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeRank {
    pub nnodes: u32,
    pub rank: u32,
}

/// Whether every job of the run passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Pass,
    Fail,
}

/// The queue message announcing a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Announcement {
    pub schema: u32,
    pub manifest: String,
}

impl Announcement {
    /// The queue message body announcing the bundle whose manifest is `manifest`.
    pub fn body(manifest: &Key) -> String {
        // A struct of a number and a string always serializes.
        serde_json::to_string(&Self {
            schema: BUNDLE_SCHEMA,
            manifest: manifest.to_string(),
        })
        .unwrap_or_default()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BundleError {
    #[error("{manifest}: not a manifest: {reason}")]
    Malformed { manifest: String, reason: String },
    #[error("{manifest}: schema {found}, this publisher reads {BUNDLE_SCHEMA} (hint: upgrade the publisher, or re-run with a matching runner)")]
    Schema { manifest: String, found: u32 },
    #[error("{manifest}: {path}: checksum mismatch (manifest {expected}, stored {actual})")]
    Checksum {
        manifest: String,
        path: String,
        expected: String,
        actual: String,
    },
    #[error("{manifest}: {path}: {bytes} bytes stored, manifest says {expected}")]
    Size {
        manifest: String,
        path: String,
        bytes: u64,
        expected: u64,
    },
    #[error("{manifest}: stored under the wrong key: its own fields place it at {expected} (hint: a bundle may not claim another run's identity; re-ship it with `sglci-runner ship`)")]
    Identity { manifest: String, expected: String },
    #[error("{manifest}: field `{field}` = {value:?}: {reason}")]
    Field {
        manifest: String,
        field: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("{manifest}: {path} is listed twice (hint: a manifest lists each file once)")]
    Duplicate { manifest: String, path: String },
    #[error("{manifest}: {what} (limit {limit}; hint: raise SGLCI_MAX_FILE_MB / SGLCI_MAX_BUNDLE_MB if this run is genuine)")]
    TooLarge {
        manifest: String,
        what: String,
        limit: u64,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a publisher accepts from one bundle; a bundle beyond these is refused before its files
/// are read (a bundle is untrusted input).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BundleLimits {
    pub max_file_bytes: u64,
    pub max_total_bytes: u64,
    pub max_files: usize,
}

impl Default for BundleLimits {
    /// Ten times the largest run in the predecessor's corpus, in every dimension.
    fn default() -> Self {
        Self {
            max_file_bytes: 256 << 20,
            max_total_bytes: 2 << 30,
            max_files: 20_000,
        }
    }
}

/// The longest identity field (hardware, date, run id) a manifest may carry.
const MAX_FIELD: usize = 128;

/// A manifest's identity fields are single safe key segments: they name its key.
fn check_identity(name: &str, m: &Manifest) -> Result<(), BundleError> {
    let field = |field: &'static str, value: &str, reason: &'static str| BundleError::Field {
        manifest: name.to_owned(),
        field,
        value: crate::text::evidence(value, 80),
        reason,
    };
    for (f, v) in [
        ("hardware", &m.hardware),
        ("date", &m.date),
        ("run_id", &m.run_id),
    ] {
        if v.is_empty() || v.len() > MAX_FIELD {
            return Err(field(f, v, "must be 1 to 128 characters"));
        }
        if v.starts_with('.')
            || !v
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+'))
        {
            return Err(field(
                f,
                v,
                "only ASCII letters, digits and `-_.+`, not starting with `.`",
            ));
        }
    }
    if m.date.len() != 8 || !m.date.chars().all(|c| c.is_ascii_digit()) {
        return Err(field("date", &m.date, "must be YYYYMMDD"));
    }
    let expected = format!("runs/{}/{}/{}/manifest.json", m.hardware, m.date, m.run_id);
    if name != expected {
        return Err(BundleError::Identity {
            manifest: name.to_owned(),
            expected,
        });
    }
    Ok(())
}

/// Every listed path once, the count and the declared sizes within the limits.
fn check_entries(name: &str, m: &Manifest, limits: &BundleLimits) -> Result<(), BundleError> {
    let too_large = |what: String, limit: u64| BundleError::TooLarge {
        manifest: name.to_owned(),
        what,
        limit,
    };
    if m.files.len() > limits.max_files {
        return Err(too_large(
            format!("{} files", m.files.len()),
            limits.max_files as u64,
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut total: u64 = 0;
    for f in &m.files {
        if !seen.insert(f.path.as_str()) {
            return Err(BundleError::Duplicate {
                manifest: name.to_owned(),
                path: crate::text::evidence(&f.path, 200),
            });
        }
        if f.bytes > limits.max_file_bytes {
            return Err(too_large(
                format!("{}: {} bytes", crate::text::evidence(&f.path, 200), f.bytes),
                limits.max_file_bytes,
            ));
        }
        total = total.saturating_add(f.bytes);
    }
    if total > limits.max_total_bytes {
        return Err(too_large(
            format!("{total} bytes in all"),
            limits.max_total_bytes,
        ));
    }
    Ok(())
}

/// A bundle's files: (path in the log layout, bytes).
pub type Files = Vec<(String, Vec<u8>)>;

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Where a run's bundle lives: `runs/<hardware>/<YYYYMMDD>/<run_id>`.
pub fn bundle_prefix(hardware: &str, date: &str, run_id: &str) -> Result<Key, StoreError> {
    Key::new(format!("runs/{hardware}/{date}/{run_id}"))
}

/// A manifest for files (path, bytes).
pub fn manifest_for(
    run_id: &str,
    hardware: &str,
    date: &str,
    image: &str,
    suite: &str,
    files: &[(String, Vec<u8>)],
) -> Manifest {
    Manifest {
        schema: BUNDLE_SCHEMA,
        run_id: run_id.to_owned(),
        hardware: hardware.to_owned(),
        date: date.to_owned(),
        image: image.to_owned(),
        suite: suite.to_owned(),
        files: files
            .iter()
            .map(|(path, b)| FileEntry {
                path: path.clone(),
                sha256: sha256_hex(b),
                bytes: b.len() as u64,
            })
            .collect(),
        run: None,
    }
}

/// Uploads a bundle: every file, then the manifest last; returns the manifest's key.
pub fn upload(
    store: &dyn ObjectStore,
    manifest: &Manifest,
    files: &[(String, Vec<u8>)],
) -> Result<Key, StoreError> {
    let prefix = bundle_prefix(&manifest.hardware, &manifest.date, &manifest.run_id)?;
    for (path, bytes) in files {
        store.put(&prefix.join(&format!("files/{path}"))?, bytes)?;
    }
    let key = prefix.join("manifest.json")?;
    let json = serde_json::to_vec_pretty(manifest).map_err(|e| StoreError::Backend {
        op: "encode",
        key: key.to_string(),
        reason: e.to_string(),
    })?;
    store.put(&key, &json)?;
    Ok(key)
}

/// Reads and verifies a bundle with the default [`BundleLimits`].
pub fn fetch(
    store: &dyn ObjectStore,
    manifest_key: &Key,
) -> Result<(Manifest, Files), BundleError> {
    fetch_within(store, manifest_key, &BundleLimits::default())
}

/// Reads and verifies a bundle: the manifest's schema, its identity against its key, every entry
/// once and within the limits, then every file's size (before its bytes are read) and checksum.
/// Returns the manifest and the files (path in the log layout, bytes).
pub fn fetch_within(
    store: &dyn ObjectStore,
    manifest_key: &Key,
    limits: &BundleLimits,
) -> Result<(Manifest, Files), BundleError> {
    let name = manifest_key.to_string();
    let raw = store.get_at_most(manifest_key, MAX_MANIFEST_BYTES)?;
    let m: Manifest = serde_json::from_slice(&raw).map_err(|e| BundleError::Malformed {
        manifest: name.clone(),
        reason: e.to_string(),
    })?;
    if m.schema != BUNDLE_SCHEMA {
        return Err(BundleError::Schema {
            manifest: name,
            found: m.schema,
        });
    }
    check_identity(&name, &m)?;
    check_entries(&name, &m, limits)?;
    let prefix = manifest_key
        .as_str()
        .rsplit_once('/')
        .map_or("", |(p, _)| p);
    let keys = m
        .files
        .iter()
        .map(|f| Ok((Key::new(format!("{prefix}/files/{}", f.path))?, f.bytes)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    // Fetched together (concurrently on S3), each refused unread above its declared size.
    let mut files = Vec::with_capacity(keys.len());
    for (f, got) in m.files.iter().zip(store.get_many_at_most(&keys)) {
        let bytes = match got {
            Err(StoreError::TooLarge { bytes, .. }) => Err(BundleError::Size {
                manifest: name.clone(),
                path: f.path.clone(),
                bytes,
                expected: f.bytes,
            }),
            other => other.map_err(BundleError::from),
        }?;
        if bytes.len() as u64 != f.bytes {
            return Err(BundleError::Size {
                manifest: name,
                path: f.path.clone(),
                bytes: bytes.len() as u64,
                expected: f.bytes,
            });
        }
        let actual = sha256_hex(&bytes);
        if actual != f.sha256 {
            return Err(BundleError::Checksum {
                manifest: name,
                path: f.path.clone(),
                expected: f.sha256.clone(),
                actual,
            });
        }
        files.push((f.path.clone(), bytes));
    }
    Ok((m, files))
}

/// The largest manifest read (a manifest of `max_files` entries is a few MB).
pub const MAX_MANIFEST_BYTES: u64 = 16 << 20;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    #[test]
    fn sha256_of_known_input() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn round_trip_and_rejections() {
        let store = MemoryStore::default();
        let files = vec![
            (
                "online_benchmark_log/mi30x/GROK1/x/timing_summary_1.log".to_owned(),
                b"TIMING".to_vec(),
            ),
            (
                "online_benchmark_log/mi30x/GROK1/x/client.log".to_owned(),
                b"Median E2E".to_vec(),
            ),
        ];
        let m = manifest_for(
            "run-1",
            "mi30x",
            "20251210",
            "v0.5.6-rocm700-mi30x-20251210",
            "grok",
            &files,
        );
        let key = upload(&store, &m, &files).expect("upload");
        assert_eq!(key.as_str(), "runs/mi30x/20251210/run-1/manifest.json");
        let (back, got) = fetch(&store, &key).expect("verified");
        assert_eq!((back, got), (m.clone(), files.clone()));
        // A file changed after the manifest was written.
        let f = Key::new(
            "runs/mi30x/20251210/run-1/files/online_benchmark_log/mi30x/GROK1/x/client.log",
        )
        .expect("key");
        store.put(&f, b"Median E2F").expect("put");
        assert!(matches!(
            fetch(&store, &key),
            Err(BundleError::Checksum { .. })
        ));
        store.put(&f, b"short").expect("put");
        assert!(matches!(fetch(&store, &key), Err(BundleError::Size { .. })));
        // Another schema version.
        let mut v2 = m;
        v2.schema = 2;
        store
            .put(&key, &serde_json::to_vec(&v2).expect("json"))
            .expect("put");
        assert!(matches!(
            fetch(&store, &key),
            Err(BundleError::Schema { found: 2, .. })
        ));
        store.put(&key, b"not json").expect("put");
        assert!(matches!(
            fetch(&store, &key),
            Err(BundleError::Malformed { .. })
        ));
    }
}
