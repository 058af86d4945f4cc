//! [`DirStore`]: objects as files under a root directory (key = relative path). The local
//! default, and what a developer's `--store DIR` points at.

use std::path::{Path, PathBuf};

use crate::bundle::sha256_hex;
use crate::store::{child_of, under, Key, ObjectStore, StoreError, Version};

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

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, key: &Key) -> PathBuf {
        self.root.join(key.as_str())
    }

    /// Runs `f` holding an exclusive lock on a hidden file beside `path`, so conditional writes
    /// to one key from several processes take turns.
    fn locked<T>(
        &self,
        key: &Key,
        f: impl FnOnce(&Path) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let path = self.path(key);
        let dir = path.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(dir).map_err(backend("lock", key))?;
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("object");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(format!(".{name}.lock")))
            .map_err(backend("lock", key))?;
        lock.lock().map_err(backend("lock", key))?;
        let out = f(&path);
        let _ = lock.unlock();
        out
    }
}

fn backend<'a>(op: &'static str, key: &'a Key) -> impl Fn(std::io::Error) -> StoreError + 'a {
    move |e| StoreError::Backend {
        op,
        key: key.to_string(),
        reason: e.to_string(),
    }
}

/// A unique temporary name beside `path` (hidden, so listings skip it).
pub(crate) fn temp_beside(path: &Path) -> PathBuf {
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("object");
    path.with_file_name(format!(".{name}.{}.{n}.tmp", std::process::id()))
}

/// Writes `bytes` to `path` whole: a temporary file, then a rename.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = temp_beside(path);
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

fn not_found_or<'a>(key: &'a Key, op: &'static str) -> impl Fn(std::io::Error) -> StoreError + 'a {
    move |e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            StoreError::NotFound {
                key: key.to_string(),
            }
        } else {
            backend(op, key)(e)
        }
    }
}

impl ObjectStore for DirStore {
    fn get(&self, key: &Key) -> Result<Vec<u8>, StoreError> {
        std::fs::read(self.path(key)).map_err(not_found_or(key, "get"))
    }

    fn get_versioned(&self, key: &Key) -> Result<(Vec<u8>, Version), StoreError> {
        let bytes = self.get(key)?;
        let v = Version(sha256_hex(&bytes));
        Ok((bytes, v))
    }

    fn put(&self, key: &Key, bytes: &[u8]) -> Result<(), StoreError> {
        write_atomic(&self.path(key), bytes).map_err(backend("put", key))
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

    fn put_if_match(&self, key: &Key, bytes: &[u8], expected: &Version) -> Result<(), StoreError> {
        self.locked(key, |path| {
            let current = match std::fs::read(path) {
                Ok(b) => Some(sha256_hex(&b)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(backend("put", key)(e)),
            };
            if current.as_deref() != Some(expected.0.as_str()) {
                return Err(StoreError::Conflict {
                    key: key.to_string(),
                });
            }
            write_atomic(path, bytes).map_err(backend("put", key))
        })
    }

    fn delete(&self, key: &Key) -> Result<(), StoreError> {
        match std::fs::remove_file(self.path(key)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(backend("delete", key)(e)),
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

    fn children(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let dir = self.root.join(prefix.trim_end_matches('/'));
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                return Ok(Vec::new())
            }
            Err(e) => {
                return Err(StoreError::Backend {
                    op: "list",
                    key: prefix.to_owned(),
                    reason: e.to_string(),
                })
            }
        };
        let mut out: Vec<String> = entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .filter(|n| !n.starts_with('.'))
            .collect();
        out.sort();
        // Same answer as the other backends' (`child_of` over keys) for a sane prefix.
        debug_assert!(out
            .iter()
            .all(|n| child_of(&format!("{prefix}/{n}"), prefix) == Some(n.as_str())));
        Ok(out)
    }
}
