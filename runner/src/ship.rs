//! Shipping a run (F16): its files become a bundle in the object store (`manifest.json` last,
//! SHA-256 per file), then an announcement on the queue. Nothing is lost when the network, the
//! store or the queue fails: the bundle is written to a local spool instead (itself a directory
//! store plus a spool queue, so a spooled bundle is verified by the same checks as a stored
//! one), and [`flush`] delivers it later.

use std::path::Path;

use sglci_core::backend::{DirStore, SpoolQueue};
use sglci_core::bundle::{fetch, manifest_for, upload, Announcement, Files, Manifest};
use sglci_core::queue::{interpret, Delivery, Queue};
use sglci_core::store::{Key, ObjectStore};

/// What identifies a run's bundle.
#[derive(Debug, Clone)]
pub struct RunInfo {
    pub run_id: String,
    pub hardware: String,
    /// Image date `YYYYMMDD`.
    pub date: String,
    pub image: String,
    pub suite: String,
    /// What the run was (F16: identity, config hash, times, status), when it ran here.
    pub record: Option<sglci_core::bundle::RunMeta>,
}

#[derive(Debug, thiserror::Error)]
pub enum ShipError {
    #[error("reading the run directory {path}: {source}")]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{0} (hint: the spool directory must be writable; nothing was shipped or spooled)")]
    Spool(String),
    #[error("invalid bundle: {0}")]
    Invalid(String),
}

/// The outcome of [`ship`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shipped {
    /// In the store and announced.
    Delivered { manifest: Key },
    /// Not delivered (the reason); kept in the spool for `sglci-runner flush`.
    Spooled { manifest: Key, reason: String },
}

/// F15: every file of a bundle with its secrets replaced (token shapes, webhook URLs,
/// credentials in URLs, secret assignments, flags and headers, and the verbatim `values` of the
/// host's secret environment variables), before checksums are taken and anything leaves the
/// machine, whatever the file's name. Only files whose first bytes say they are a binary format
/// (PNG, JPEG, gzip, zip, Parquet) are kept as they are; any other file is text, read lossily
/// when it has stray bytes, since a log is text whatever its bytes. File names are redacted too.
pub fn redact_files(files: Files, values: &[String]) -> Files {
    files
        .into_iter()
        .map(|(path, bytes)| {
            let path = sglci_core::redact::redact_with(&path, values);
            if sglci_core::redact::binary_format(&bytes) {
                return (path, bytes);
            }
            let text = String::from_utf8_lossy(&bytes);
            let r = sglci_core::redact::redact_with(&text, values);
            if r == text {
                (path, bytes)
            } else {
                (path, r.into_bytes())
            }
        })
        .collect()
}

/// Every regular file under `dir`, keyed by its `/`-separated path relative to `dir` (the log
/// layout: `online_benchmark_log/<hw>/<model>/<run folder>/...`), sorted.
pub fn collect(dir: &Path) -> Result<Files, ShipError> {
    sglci_core::backend::files_under(dir).map_err(|(path, source)| ShipError::Read { path, source })
}

/// Uploads (manifest last) and announces. Either step failing leaves no announcement of a
/// bundle that is not whole: the manifest is the last object written, and the announcement is
/// sent only after it.
pub fn deliver(
    store: &dyn ObjectStore,
    queue: &dyn Queue,
    m: &Manifest,
    files: &Files,
) -> Result<Key, String> {
    let key = upload(store, m, files).map_err(|e| format!("upload: {e}"))?;
    queue
        .send(&Announcement::body(&key))
        .map_err(|e| format!("announce: {e}"))?;
    Ok(key)
}

/// The spool's two halves: bundles as a directory store, announcements as a spool queue.
fn spool_parts(spool: &Path) -> (DirStore, SpoolQueue) {
    (
        DirStore::new(&spool.join("store")),
        SpoolQueue::new(&spool.join("queue")),
    )
}

/// Ships a run's files; on failure, spools them (see the module docs).
pub fn ship(
    store: &dyn ObjectStore,
    queue: &dyn Queue,
    spool: &Path,
    run: &RunInfo,
    files: &Files,
) -> Result<Shipped, ShipError> {
    let mut m = manifest_for(
        &run.run_id,
        &run.hardware,
        &run.date,
        &run.image,
        &run.suite,
        files,
    );
    m.run = run.record.clone();
    sglci_core::bundle::bundle_prefix(&run.hardware, &run.date, &run.run_id)
        .map_err(|e| ShipError::Invalid(e.to_string()))?;
    match deliver(store, queue, &m, files) {
        Ok(manifest) => Ok(Shipped::Delivered { manifest }),
        Err(reason) => {
            tracing::warn!(run = %run.run_id, %reason, spool = %spool.display(), "delivery failed; spooling the bundle");
            let (ds, sq) = spool_parts(spool);
            let manifest = upload(&ds, &m, files).map_err(|e| ShipError::Spool(e.to_string()))?;
            sq.send(&Announcement::body(&manifest))
                .map_err(|e| ShipError::Spool(e.to_string()))?;
            Ok(Shipped::Spooled { manifest, reason })
        }
    }
}

/// What [`flush`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FlushReport {
    /// Manifests delivered and removed from the spool.
    pub delivered: Vec<String>,
    /// (manifest, reason): still spooled, to be retried.
    pub kept: Vec<(String, String)>,
    /// (message, reason): spooled data that fails its own checks, set aside in the spool's
    /// `queue/failed/` (never deleted).
    pub set_aside: Vec<(String, String)>,
}

/// Delivers every spooled bundle: verified against its manifest, uploaded, announced, then
/// removed from the spool. A bundle that still cannot be delivered stays for the next flush.
pub fn flush(
    store: &dyn ObjectStore,
    queue: &dyn Queue,
    spool: &Path,
) -> Result<FlushReport, ShipError> {
    let (ds, sq) = spool_parts(spool);
    let mut report = FlushReport::default();
    let pending = sq
        .receive(usize::MAX)
        .map_err(|e| ShipError::Spool(e.to_string()))?;
    for msg in pending {
        let key = match interpret(&msg.body).into_iter().next() {
            Some(Delivery::Bundle(k)) => k,
            other => {
                let reason = format!("not a bundle announcement: {other:?}");
                sq.fail(&msg, &reason)
                    .map_err(|e| ShipError::Spool(e.to_string()))?;
                report.set_aside.push((msg.id.clone(), reason));
                continue;
            }
        };
        let verified = Key::new(key.clone())
            .map_err(|e| e.to_string())
            .and_then(|k| fetch(&ds, &k).map_err(|e| e.to_string()).map(|b| (k, b)));
        let (mkey, (m, files)) = match verified {
            Ok(v) => v,
            Err(reason) => {
                sq.fail(&msg, &reason)
                    .map_err(|e| ShipError::Spool(e.to_string()))?;
                report.set_aside.push((msg.id.clone(), reason));
                continue;
            }
        };
        match deliver(store, queue, &m, &files) {
            Ok(_) => {
                sq.ack(&msg).map_err(|e| ShipError::Spool(e.to_string()))?;
                let prefix = mkey.as_str().trim_end_matches("/manifest.json");
                for k in ds
                    .list(prefix)
                    .map_err(|e| ShipError::Spool(e.to_string()))?
                {
                    ds.delete(&k).map_err(|e| ShipError::Spool(e.to_string()))?;
                }
                tracing::info!(run = %m.run_id, "spooled bundle delivered");
                report.delivered.push(key);
            }
            Err(reason) => {
                tracing::warn!(run = %m.run_id, %reason, "still undeliverable; kept in the spool");
                report.kept.push((key, reason));
            }
        }
    }
    Ok(report)
}
