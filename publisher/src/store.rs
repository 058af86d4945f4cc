//! Shell backends of the store and queue on the local disk (the defaults): [`DirStore`], an
//! [`ObjectStore`] whose keys are paths under a root, and [`SpoolQueue`], a queue of JSON files.
//! S3 and SQS come with the cloud path; they implement the same traits.

use std::path::{Path, PathBuf};

use sglci_core::bundle::Announcement;
use sglci_core::store::{under, Key, ObjectStore, StoreError};

/// Objects as files under a root directory (key = relative path).
#[derive(Debug, Clone)]
pub struct DirStore {
    root: PathBuf,
}

impl DirStore {
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_owned(),
        }
    }

    fn path(&self, key: &Key) -> PathBuf {
        self.root.join(key.as_str())
    }
}

fn backend<'a>(op: &'static str, key: &'a Key) -> impl Fn(std::io::Error) -> StoreError + 'a {
    move |e| StoreError::Backend {
        op,
        key: key.to_string(),
        reason: e.to_string(),
    }
}

/// A unique temporary name beside `path`.
fn temp_beside(path: &Path) -> PathBuf {
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("object");
    path.with_file_name(format!(".{name}.{}.{n}.tmp", std::process::id()))
}

impl ObjectStore for DirStore {
    fn get(&self, key: &Key) -> Result<Vec<u8>, StoreError> {
        std::fs::read(self.path(key)).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                StoreError::NotFound {
                    key: key.to_string(),
                }
            } else {
                backend("get", key)(e)
            }
        })
    }

    fn put(&self, key: &Key, bytes: &[u8]) -> Result<(), StoreError> {
        let path = self.path(key);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(backend("put", key))?;
        }
        let tmp = temp_beside(&path);
        std::fs::write(&tmp, bytes).map_err(backend("put", key))?;
        std::fs::rename(&tmp, &path).map_err(backend("put", key))
    }

    fn put_if_absent(&self, key: &Key, bytes: &[u8]) -> Result<(), StoreError> {
        let path = self.path(key);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(backend("put", key))?;
        }
        let tmp = temp_beside(&path);
        std::fs::write(&tmp, bytes).map_err(backend("put", key))?;
        // A hard link fails when the target exists: an atomic create-if-absent.
        let linked = std::fs::hard_link(&tmp, &path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(StoreError::Exists {
                key: key.to_string(),
            }),
            Err(e) => Err(backend("put", key)(e)),
        }
    }

    fn list(&self, prefix: &str) -> Result<Vec<Key>, StoreError> {
        let mut out = Vec::new();
        let start = self.root.join(prefix.trim_end_matches('/'));
        let mut stack = vec![if start.is_dir() {
            start
        } else {
            self.root.clone()
        }];
        while let Some(dir) = stack.pop() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    return Err(StoreError::Backend {
                        op: "list",
                        key: prefix.to_owned(),
                        reason: e.to_string(),
                    })
                }
            };
            for e in entries.filter_map(Result::ok) {
                let p = e.path();
                let name = e.file_name();
                if name.to_str().is_some_and(|n| n.starts_with('.')) {
                    continue;
                }
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    stack.push(p);
                } else if let Some(rel) = p.strip_prefix(&self.root).ok().and_then(|r| r.to_str()) {
                    if under(rel, prefix) {
                        if let Ok(k) = Key::new(rel) {
                            out.push(k);
                        }
                    }
                }
            }
        }
        out.sort();
        Ok(out)
    }
}

/// A queue of announcements as JSON files: `pending/`, then `done/` or `failed/` (with the
/// reason beside it). A message's file name derives from its manifest key, so announcing the
/// same bundle twice queues it once.
#[derive(Debug, Clone)]
pub struct SpoolQueue {
    dir: PathBuf,
}

/// A received message.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub id: String,
    pub announcement: Announcement,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("queue {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("queue message {path}: {reason}")]
    Malformed { path: PathBuf, reason: String },
}

impl SpoolQueue {
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_owned(),
        }
    }

    fn sub(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn io(path: &Path) -> impl Fn(std::io::Error) -> QueueError + '_ {
        move |source| QueueError::Io {
            path: path.to_owned(),
            source,
        }
    }

    /// Announces a bundle; returns the message id.
    pub fn send(&self, a: &Announcement) -> Result<String, QueueError> {
        let pending = self.sub("pending");
        std::fs::create_dir_all(&pending).map_err(Self::io(&pending))?;
        let id = sglci_core::bundle::sha256_hex(a.manifest.as_bytes())[..24].to_owned();
        let path = pending.join(format!("{id}.json"));
        let tmp = temp_beside(&path);
        let body = serde_json::to_vec(a).map_err(|e| QueueError::Malformed {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        std::fs::write(&tmp, body).map_err(Self::io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(Self::io(&path))?;
        Ok(id)
    }

    /// Pending messages in name order. A file that is not a message is moved to `failed/` with
    /// its reason (it would never parse), and the rest are returned.
    pub fn receive(&self) -> Result<Vec<Message>, QueueError> {
        let pending = self.sub("pending");
        let mut names: Vec<PathBuf> = match std::fs::read_dir(&pending) {
            Ok(e) => e
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(Self::io(&pending)(e)),
        };
        names.sort();
        let mut out = Vec::new();
        for path in names {
            let id = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_owned();
            let bytes = std::fs::read(&path).map_err(Self::io(&path))?;
            match serde_json::from_slice::<Announcement>(&bytes) {
                Ok(announcement) => out.push(Message { id, announcement }),
                Err(e) => self.fail(&id, &format!("not an announcement: {e}"))?,
            }
        }
        Ok(out)
    }

    fn settle(&self, id: &str, to: &str, reason: Option<&str>) -> Result<(), QueueError> {
        let dir = self.sub(to);
        std::fs::create_dir_all(&dir).map_err(Self::io(&dir))?;
        let from = self.sub("pending").join(format!("{id}.json"));
        let dest = dir.join(format!("{id}.json"));
        if let Some(r) = reason {
            let note = dir.join(format!("{id}.reason.txt"));
            std::fs::write(&note, r).map_err(Self::io(&note))?;
        }
        std::fs::rename(&from, &dest).map_err(Self::io(&from))
    }

    /// The message was processed.
    pub fn ack(&self, id: &str) -> Result<(), QueueError> {
        self.settle(id, "done", None)
    }

    /// The message cannot be processed: kept in `failed/` with the reason, never dropped.
    pub fn fail(&self, id: &str, reason: &str) -> Result<(), QueueError> {
        self.settle(id, "failed", Some(reason))
    }
}
