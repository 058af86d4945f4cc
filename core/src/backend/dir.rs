//! [`DirStore`]: objects as files under a root directory (key = relative path). The local
//! default, and what a developer's `--store DIR` points at.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::bundle::sha256_hex;
use crate::store::{child_of, under, Key, ObjectStore, StoreError, Version};

#[derive(Debug, Clone)]
pub struct DirStore {
    root: PathBuf,
    lock_timeout: Duration,
}

/// How long a conditional write waits for another process's lock before it reports the holder
/// (a commit holds it for milliseconds; a holder that was stopped or hangs holds it forever).
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(120);

impl DirStore {
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_owned(),
            lock_timeout: LOCK_TIMEOUT,
        }
    }

    /// The same store with another lock timeout (tests; a slow shared disk).
    pub fn with_lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
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
        let lock_path = dir.join(format!(".{name}.lock"));
        let mut lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&lock_path)
            .map_err(backend("lock", key))?;
        self.acquire(&lock, &lock_path, key)?;
        // Who holds it, for the error another process reports if this one stops.
        let _ = lock.set_len(0);
        let _ = std::io::Write::write_all(&mut lock, std::process::id().to_string().as_bytes());
        let out = f(&path);
        let _ = lock.unlock();
        out
    }

    /// Takes the lock, polling, until the timeout; then names the holder.
    fn acquire(&self, lock: &std::fs::File, lock_path: &Path, key: &Key) -> Result<(), StoreError> {
        let deadline = Instant::now() + self.lock_timeout;
        let mut pause = Duration::from_millis(2);
        loop {
            match lock.try_lock() {
                Ok(()) => return Ok(()),
                Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(200));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    let holder = std::fs::read_to_string(lock_path).unwrap_or_default();
                    return Err(StoreError::Backend {
                        op: "lock",
                        key: key.to_string(),
                        reason: format!(
                            "{} is still held after {} s by process {} (hint: that process is stopped or hung; \
                             resume or stop it, then retry; nothing was written)",
                            lock_path.display(),
                            self.lock_timeout.as_secs_f64(),
                            if holder.trim().is_empty() { "unknown" } else { holder.trim() }
                        ),
                    });
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(backend("lock", key)(e)),
            }
        }
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

/// Writes `bytes` to `path` whole and durably: a temporary file whose data is synced, a rename,
/// then the folder synced, so after a power loss the path holds the old bytes or the new ones,
/// never an empty or torn file.
pub fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = temp_beside(path);
    write_synced(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })?;
    sync_dir(path)
}

/// Creates `path` with `bytes`, its data synced to disk before returning.
pub(crate) fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::File::create(path)?;
    f.write_all(bytes)?;
    f.sync_data()
}

/// Syncs the folder holding `path` (a rename or a link is durable once its folder is).
pub(crate) fn sync_dir(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(dir) => std::fs::File::open(dir)?.sync_all(),
        None => Ok(()),
    }
}

/// Flushes the whole file system holding `path` (one call after writing many files, before
/// the marker that says they are all there).
pub fn sync_filesystem(path: &Path) -> std::io::Result<()> {
    let f = std::fs::File::open(path)?;
    rustix::fs::syncfs(&f).map_err(std::io::Error::from)
}

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_durably(path, bytes)
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

impl DirStore {
    /// Opens an object for reading: never through a symbolic link (the final name is opened
    /// with `O_NOFOLLOW`, and the resolved parent must lie under the root), so a bundle cannot
    /// make the store read, and the publisher publish, a host file.
    fn open_object(&self, key: &Key) -> Result<(std::fs::File, u64), StoreError> {
        use std::os::unix::fs::OpenOptionsExt;
        let path = self.path(key);
        let refused = |reason: String| StoreError::Backend {
            op: "get",
            key: key.to_string(),
            reason,
        };
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(|e| {
                if e.raw_os_error() == Some(libc::ELOOP) {
                    refused(
                        "is a symbolic link; refused (hint: a store holds plain files only)".into(),
                    )
                } else {
                    not_found_or(key, "get")(e)
                }
            })?;
        let root = std::fs::canonicalize(&self.root).map_err(backend("get", key))?;
        let parent = path
            .parent()
            .map(std::fs::canonicalize)
            .transpose()
            .map_err(backend("get", key))?;
        if parent.is_none_or(|p| !p.starts_with(&root)) {
            return Err(refused(format!(
                "resolves outside the store's root {} through a linked folder; refused",
                root.display()
            )));
        }
        let meta = file.metadata().map_err(backend("get", key))?;
        if !meta.is_file() {
            return Err(refused("is not a regular file; refused".into()));
        }
        Ok((file, meta.len()))
    }
}

impl ObjectStore for DirStore {
    fn get(&self, key: &Key) -> Result<Vec<u8>, StoreError> {
        self.get_at_most(key, u64::MAX)
    }

    fn get_at_most(&self, key: &Key, max: u64) -> Result<Vec<u8>, StoreError> {
        use std::io::Read;
        let (file, len) = self.open_object(key)?;
        if len > max {
            return Err(StoreError::TooLarge {
                key: key.to_string(),
                bytes: len,
                max,
            });
        }
        // The size was checked on the open file; a writer growing it meanwhile is cut at `max`
        // plus one byte, which the caller's size check then refuses.
        let mut bytes = Vec::with_capacity(len as usize);
        file.take(max.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(backend("get", key))?;
        Ok(bytes)
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
        write_synced(&tmp, bytes).map_err(backend("put", key))?;
        // A hard link fails when the target exists: an atomic create-if-absent.
        let linked = std::fs::hard_link(&tmp, &path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => sync_dir(&path).map_err(backend("put", key)),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A process that holds the lock and is then stopped (SIGSTOP) must not block every other
    /// writer forever: the write times out and names the holder.
    #[test]
    fn a_stopped_lock_holder_times_out_and_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = DirStore::new(dir.path()).with_lock_timeout(Duration::from_secs(1));
        let key = Key::new("history/index.json").expect("key");
        store.put(&key, b"v1").expect("put");
        let version = store.get_versioned(&key).expect("get").1;
        // Another process takes the lock the way the store does (flock), writes its PID, stops.
        let lock = dir.path().join("history/.index.json.lock");
        let mut holder = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "exec 9>>'{0}'; flock -x 9; echo $$ > '{0}'; kill -STOP $$; sleep 60",
                lock.display()
            ))
            .spawn()
            .expect("sh");
        let held = (0..200).any(|_| {
            std::thread::sleep(Duration::from_millis(20));
            std::fs::read_to_string(&lock).is_ok_and(|s| !s.trim().is_empty())
        });
        let started = Instant::now();
        let got = store.put_if_match(&key, b"v2", &version);
        let waited = started.elapsed();
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &holder.id().to_string()])
            .status();
        let _ = holder.wait();
        assert!(held, "the holder took the lock");
        let err = got.expect_err("times out").to_string();
        assert!(err.contains("still held after 1 s"), "{err}");
        assert!(
            err.contains(&holder.id().to_string()),
            "names the holder: {err}"
        );
        assert!(waited < Duration::from_secs(10), "{waited:?}");
        assert_eq!(store.get(&key).expect("get"), b"v1", "nothing written");
    }
}
