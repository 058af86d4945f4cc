//! The object store boundary (F16, F39): validated keys, the small [`ObjectStore`] trait every
//! backend implements (directory, S3, memory), an in-memory backend for tests, and the
//! conformance checks every backend must pass.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// A key in the store: a relative path of non-empty segments without `.`/`..`, so that it maps
/// onto a directory tree and an S3 key alike and can never escape its root.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Key(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    #[error("invalid key `{key}`: {reason}")]
    InvalidKey { key: String, reason: &'static str },
    #[error("{key}: not found")]
    NotFound { key: String },
    #[error("{key}: already exists")]
    Exists { key: String },
    /// A conditional write lost: the object changed (or vanished) since it was read.
    #[error("{key}: changed since it was read (conditional write refused)")]
    Conflict { key: String },
    /// The object is larger than the reader accepts; it was not read.
    #[error("{key}: {bytes} bytes, more than the {max} accepted")]
    TooLarge { key: String, bytes: u64, max: u64 },
    #[error("{op} {key}: {reason}")]
    Backend {
        op: &'static str,
        key: String,
        reason: String,
    },
}

impl Key {
    pub fn new(s: impl Into<String>) -> Result<Self, StoreError> {
        let s = s.into();
        let bad = |reason| StoreError::InvalidKey {
            key: s.clone(),
            reason,
        };
        if s.is_empty() {
            return Err(bad("empty"));
        }
        if s.starts_with('/') || s.ends_with('/') {
            return Err(bad("starts or ends with `/`"));
        }
        if s.contains('\\') || s.contains('\0') {
            return Err(bad("contains `\\` or NUL"));
        }
        if s.split('/')
            .any(|seg| seg.is_empty() || seg == "." || seg == "..")
        {
            return Err(bad("has an empty, `.` or `..` segment"));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A key under this one.
    pub fn join(&self, rel: &str) -> Result<Self, StoreError> {
        Self::new(format!("{}/{rel}", self.0))
    }
}

impl TryFrom<String> for Key {
    type Error = StoreError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<Key> for String {
    fn from(k: Key) -> String {
        k.0
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An object's version as its backend tells it (an S3 ETag, a digest on disk): opaque, only
/// compared, never parsed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version(pub String);

/// An object store: the local directory by default, S3 in the cloud.
///
/// The trait is blocking on purpose: the publisher's work is CPU-bound (Parquet, rendering) and
/// runs on plain threads; the S3 backend drives its async client on its own runtime.
pub trait ObjectStore: Send + Sync {
    /// The object's bytes, or [`StoreError::NotFound`].
    fn get(&self, key: &Key) -> Result<Vec<u8>, StoreError> {
        self.get_versioned(key).map(|(bytes, _)| bytes)
    }
    /// The object's bytes when it has at most `max` of them; otherwise [`StoreError::TooLarge`]
    /// without reading it whole (backends check the size first; this default reads, then
    /// checks, and suits only the in-memory store).
    fn get_at_most(&self, key: &Key, max: u64) -> Result<Vec<u8>, StoreError> {
        let bytes = self.get(key)?;
        if bytes.len() as u64 > max {
            return Err(StoreError::TooLarge {
                key: key.to_string(),
                bytes: bytes.len() as u64,
                max,
            });
        }
        Ok(bytes)
    }
    /// The object's bytes and version, for a later [`ObjectStore::put_if_match`].
    fn get_versioned(&self, key: &Key) -> Result<(Vec<u8>, Version), StoreError>;
    /// Writes the object whole (readers see the old or the new bytes, never a mix).
    fn put(&self, key: &Key, bytes: &[u8]) -> Result<(), StoreError>;
    /// Writes only when no object has the key ([`StoreError::Exists`] otherwise).
    fn put_if_absent(&self, key: &Key, bytes: &[u8]) -> Result<(), StoreError>;
    /// Writes only when the object still has version `expected` ([`StoreError::Conflict`]
    /// otherwise, also when it was deleted meanwhile). Keys updated this way must only be
    /// created with [`ObjectStore::put_if_absent`] and changed with this method.
    fn put_if_match(&self, key: &Key, bytes: &[u8], expected: &Version) -> Result<(), StoreError>;
    /// Removes the object; a missing object is not an error.
    fn delete(&self, key: &Key) -> Result<(), StoreError>;
    /// Every key that starts with `prefix` (a whole-segment prefix), sorted.
    fn list(&self, prefix: &str) -> Result<Vec<Key>, StoreError>;
    /// The distinct next segments below `prefix` (like `ls`: sub-"directories" and objects),
    /// sorted. Cheaper than [`ObjectStore::list`] on a deep tree: S3 answers it with a delimiter.
    fn children(&self, prefix: &str) -> Result<Vec<String>, StoreError>;
    /// Reads several objects: one result per key, in the keys' order. Backends with request
    /// latency (S3) issue them concurrently, a bounded number in flight; this default reads them
    /// one after another.
    fn get_many(&self, keys: &[Key]) -> Vec<Result<Vec<u8>, StoreError>> {
        keys.iter().map(|k| self.get(k)).collect()
    }
    /// [`ObjectStore::get_many`] with a size bound per key (as [`ObjectStore::get_at_most`]).
    fn get_many_at_most(&self, keys: &[(Key, u64)]) -> Vec<Result<Vec<u8>, StoreError>> {
        keys.iter()
            .map(|(k, max)| self.get_at_most(k, *max))
            .collect()
    }
    /// Writes several objects whole (as [`ObjectStore::put`] each); concurrently on S3. On an
    /// error some may be written and others not; the first error is returned.
    fn put_many(&self, items: &[(Key, Vec<u8>)]) -> Result<(), StoreError> {
        for (k, bytes) in items {
            self.put(k, bytes)?;
        }
        Ok(())
    }
    /// Removes several objects (as [`ObjectStore::delete`] each); concurrently on S3. On an
    /// error some may be removed and others not; the first error is returned.
    fn delete_many(&self, keys: &[Key]) -> Result<(), StoreError> {
        for k in keys {
            self.delete(k)?;
        }
        Ok(())
    }
}

/// The next segment of `key` below `prefix`, if `key` is strictly under it.
pub fn child_of<'a>(key: &'a str, prefix: &str) -> Option<&'a str> {
    let prefix = prefix.trim_end_matches('/');
    let rest = if prefix.is_empty() {
        key
    } else {
        key.strip_prefix(prefix)?.strip_prefix('/')?
    };
    rest.split('/').next().filter(|s| !s.is_empty())
}

/// Applies `change` to the object at `key` with optimistic concurrency: read (or start from
/// `None` when missing), change, write conditionally, and on a conflict read again and retry.
/// `change` returns `None` when nothing needs writing. Returns the value written (or the current
/// one when unchanged).
pub fn update<T>(
    store: &dyn ObjectStore,
    key: &Key,
    attempts: usize,
    decode: impl Fn(&[u8]) -> Result<T, String>,
    encode: impl Fn(&T) -> Vec<u8>,
    mut change: impl FnMut(Option<T>) -> Result<Option<T>, String>,
) -> Result<Option<T>, UpdateError> {
    for _ in 0..attempts.max(1) {
        let current = match store.get_versioned(key) {
            Ok((bytes, v)) => Some((
                decode(&bytes).map_err(|reason| UpdateError::Decode {
                    key: key.to_string(),
                    reason,
                })?,
                v,
            )),
            Err(StoreError::NotFound { .. }) => None,
            Err(e) => return Err(e.into()),
        };
        let (value, version) = match current {
            Some((t, v)) => (Some(t), Some(v)),
            None => (None, None),
        };
        let Some(next) = change(value).map_err(UpdateError::Refused)? else {
            return match store.get(key) {
                Ok(bytes) => Ok(Some(decode(&bytes).map_err(|reason| {
                    UpdateError::Decode {
                        key: key.to_string(),
                        reason,
                    }
                })?)),
                Err(StoreError::NotFound { .. }) => Ok(None),
                Err(e) => Err(e.into()),
            };
        };
        let bytes = encode(&next);
        let written = match &version {
            Some(v) => store.put_if_match(key, &bytes, v),
            None => store.put_if_absent(key, &bytes),
        };
        match written {
            Ok(()) => return Ok(Some(next)),
            Err(StoreError::Conflict { .. } | StoreError::Exists { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(UpdateError::Contended {
        key: key.to_string(),
        attempts,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{key}: unreadable: {reason}")]
    Decode { key: String, reason: String },
    #[error("{0}")]
    Refused(String),
    #[error("{key}: still contended after {attempts} conditional writes (hint: another publisher is busy; the message will be retried)")]
    Contended { key: String, attempts: usize },
}

/// An in-memory store (unit tests, dry runs).
#[derive(Debug, Default)]
pub struct MemoryStore {
    /// Bytes and a write counter (the version).
    objects: Mutex<BTreeMap<Key, (Vec<u8>, u64)>>,
}

impl MemoryStore {
    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<Key, (Vec<u8>, u64)>> {
        // A poisoned lock only means another test thread panicked; the map is still whole.
        self.objects
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Whether `key` is under `prefix` at a segment boundary (`runs/a` is not under `run`).
pub fn under(key: &str, prefix: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    prefix.is_empty()
        || key == prefix
        || key
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn next_write() -> u64 {
    WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1
}

impl ObjectStore for MemoryStore {
    fn get_versioned(&self, key: &Key) -> Result<(Vec<u8>, Version), StoreError> {
        self.map()
            .get(key)
            .map(|(b, n)| (b.clone(), Version(n.to_string())))
            .ok_or_else(|| StoreError::NotFound {
                key: key.to_string(),
            })
    }

    fn put(&self, key: &Key, bytes: &[u8]) -> Result<(), StoreError> {
        self.map()
            .insert(key.clone(), (bytes.to_vec(), next_write()));
        Ok(())
    }

    fn put_if_absent(&self, key: &Key, bytes: &[u8]) -> Result<(), StoreError> {
        let mut m = self.map();
        if m.contains_key(key) {
            return Err(StoreError::Exists {
                key: key.to_string(),
            });
        }
        m.insert(key.clone(), (bytes.to_vec(), next_write()));
        Ok(())
    }

    fn put_if_match(&self, key: &Key, bytes: &[u8], expected: &Version) -> Result<(), StoreError> {
        let mut m = self.map();
        match m.get(key) {
            Some((_, n)) if n.to_string() == expected.0 => {
                m.insert(key.clone(), (bytes.to_vec(), next_write()));
                Ok(())
            }
            _ => Err(StoreError::Conflict {
                key: key.to_string(),
            }),
        }
    }

    fn delete(&self, key: &Key) -> Result<(), StoreError> {
        self.map().remove(key);
        Ok(())
    }

    fn list(&self, prefix: &str) -> Result<Vec<Key>, StoreError> {
        Ok(self
            .map()
            .keys()
            .filter(|k| under(k.as_str(), prefix))
            .cloned()
            .collect())
    }

    fn children(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let set: std::collections::BTreeSet<String> = self
            .map()
            .keys()
            .filter_map(|k| child_of(k.as_str(), prefix).map(str::to_owned))
            .collect();
        Ok(set.into_iter().collect())
    }
}

/// The behaviour every backend must have; run against each one by its tests. Uses keys under
/// `conformance/` only.
pub fn check_store(store: &dyn ObjectStore) -> Result<(), String> {
    let k = |s: &str| Key::new(format!("conformance/{s}")).map_err(|e| e.to_string());
    let a = k("runs/mi30x/20251210/run-1/manifest.json")?;
    let b = k("runs/mi30x/20251210/run-1/logs/client.log")?;
    let c = k("runs/mi30x/20251210/run-10/manifest.json")?;
    let fail = |what: &str| Err(format!("conformance: {what}"));
    match store.get(&a) {
        Err(StoreError::NotFound { .. }) => {}
        other => {
            return fail(&format!(
                "get of a missing key gives NotFound, not {other:?}"
            ))
        }
    }
    store.put(&a, b"{}").map_err(|e| e.to_string())?;
    store.put(&b, &[0, 1, 2, 255]).map_err(|e| e.to_string())?;
    store.put(&c, b"x").map_err(|e| e.to_string())?;
    if store.get(&b).map_err(|e| e.to_string())? != [0, 1, 2, 255] {
        return fail("bytes come back unchanged");
    }
    store.put(&a, b"{\"v\":2}").map_err(|e| e.to_string())?;
    if store.get(&a).map_err(|e| e.to_string())? != b"{\"v\":2}" {
        return fail("put replaces");
    }
    match store.put_if_absent(&a, b"other") {
        Err(StoreError::Exists { .. }) => {}
        other => {
            return fail(&format!(
                "put_if_absent on an existing key gives Exists, not {other:?}"
            ))
        }
    }
    let d = k("runs/mi30x/20251210/run-2/manifest.json")?;
    store.put_if_absent(&d, b"new").map_err(|e| e.to_string())?;
    let listed = store
        .list("conformance/runs/mi30x/20251210/run-1")
        .map_err(|e| e.to_string())?;
    if listed != vec![b.clone(), a.clone()] && listed != vec![a.clone(), b.clone()] {
        return fail(&format!("list is by whole segments: {listed:?}"));
    }
    let all = store.list("conformance").map_err(|e| e.to_string())?;
    let mut sorted = all.clone();
    sorted.sort();
    if all != sorted || all.len() != 4 {
        return fail(&format!("list is sorted and complete: {all:?}"));
    }
    if !store
        .list("conformance/none")
        .map_err(|e| e.to_string())?
        .is_empty()
    {
        return fail("list of an unknown prefix is empty");
    }
    let kids = store
        .children("conformance/runs/mi30x/20251210")
        .map_err(|e| e.to_string())?;
    if kids != ["run-1", "run-10", "run-2"] {
        return fail(&format!("children are the next segments, sorted: {kids:?}"));
    }
    // Conditional writes.
    let (_, v1) = store.get_versioned(&a).map_err(|e| e.to_string())?;
    store
        .put_if_match(&a, b"v3", &v1)
        .map_err(|e| format!("put_if_match with the current version: {e}"))?;
    match store.put_if_match(&a, b"v4", &v1) {
        Err(StoreError::Conflict { .. }) => {}
        other => {
            return fail(&format!(
                "put_if_match with a stale version gives Conflict, not {other:?}"
            ))
        }
    }
    if store.get(&a).map_err(|e| e.to_string())? != b"v3" {
        return fail("a refused conditional write leaves the object alone");
    }
    store.delete(&b).map_err(|e| e.to_string())?;
    store
        .delete(&b)
        .map_err(|e| format!("deleting a missing key is fine: {e}"))?;
    match store.get(&b) {
        Err(StoreError::NotFound { .. }) => {}
        other => return fail(&format!("a deleted key is gone, not {other:?}")),
    }
    match store.put_if_match(&b, b"x", &v1) {
        Err(StoreError::Conflict { .. }) => {}
        other => {
            return fail(&format!(
                "put_if_match on a missing key gives Conflict, not {other:?}"
            ))
        }
    }
    // Optimistic concurrency: 4 writers each add 5 to a counter through `update`; no increment
    // is lost.
    let counter = k("counter")?;
    std::thread::scope(|scope| {
        let writers: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    for _ in 0..5 {
                        update(
                            store,
                            &counter,
                            100,
                            |b| {
                                std::str::from_utf8(b)
                                    .ok()
                                    .and_then(|s| s.parse::<u64>().ok())
                                    .ok_or_else(|| "not a number".to_owned())
                            },
                            |n| n.to_string().into_bytes(),
                            |n| Ok(Some(n.unwrap_or(0) + 1)),
                        )
                        .map_err(|e| e.to_string())?;
                    }
                    Ok::<(), String>(())
                })
            })
            .collect();
        writers
            .into_iter()
            .try_for_each(|w| w.join().map_err(|_| "a writer panicked".to_owned())?)
    })?;
    let total = store.get(&counter).map_err(|e| e.to_string())?;
    if total != b"20" {
        return fail(&format!(
            "20 concurrent conditional increments give 20, not {}",
            String::from_utf8_lossy(&total)
        ));
    }
    check_batches(store)?;
    check_bounded_reads(store)?;
    for key in store.list("conformance").map_err(|e| e.to_string())? {
        store.delete(&key).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Bounded reads: at the limit the bytes, over it a refusal naming the size, never the bytes.
/// Batches: `put_many` writes every object, `get_many` answers per key in the keys' order
/// (a missing key is `NotFound` in its place, the others still read).
fn check_batches(store: &dyn ObjectStore) -> Result<(), String> {
    let keys: Vec<Key> = (0..40)
        .map(|i| Key::new(format!("conformance/batch/{i:02}.bin")))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let items: Vec<(Key, Vec<u8>)> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (k.clone(), format!("object {i}").into_bytes()))
        .collect();
    store
        .put_many(&items)
        .map_err(|e| format!("conformance: put_many: {e}"))?;
    let mut asked = keys.clone();
    let missing = Key::new("conformance/batch/missing.bin").map_err(|e| e.to_string())?;
    asked.insert(17, missing);
    let got = store.get_many(&asked);
    if got.len() != asked.len() {
        return Err(format!(
            "conformance: get_many gave {} results for {} keys",
            got.len(),
            asked.len()
        ));
    }
    for (i, (k, r)) in asked.iter().zip(&got).enumerate() {
        match (i, r) {
            (17, Err(StoreError::NotFound { .. })) => {}
            (17, other) => {
                return Err(format!("conformance: get_many of a missing key: {other:?}"))
            }
            (_, Ok(bytes)) => {
                let n = if i < 17 { i } else { i - 1 };
                if bytes != format!("object {n}").as_bytes() {
                    return Err(format!("conformance: get_many out of order at {k}"));
                }
            }
            (_, Err(e)) => return Err(format!("conformance: get_many {k}: {e}")),
        }
    }
    // Removed together: a missing key among them is not an error, and nothing is left.
    let mut gone = keys.clone();
    gone.push(Key::new("conformance/batch/missing.bin").map_err(|e| e.to_string())?);
    store
        .delete_many(&gone)
        .map_err(|e| format!("conformance: delete_many: {e}"))?;
    if let Some((k, _)) = keys
        .iter()
        .zip(store.get_many(&keys))
        .find(|(_, r)| !matches!(r, Err(StoreError::NotFound { .. })))
    {
        return Err(format!("conformance: delete_many left {k}"));
    }
    Ok(())
}

fn check_bounded_reads(store: &dyn ObjectStore) -> Result<(), String> {
    let k = |s: &str| Key::new(format!("conformance/{s}")).map_err(|e| e.to_string());
    let fail = |what: &str| Err(format!("conformance: {what}"));
    let sized = k("sized/ten.bin")?;
    store
        .put(&sized, b"0123456789")
        .map_err(|e| e.to_string())?;
    if store.get_at_most(&sized, 10).map_err(|e| e.to_string())? != b"0123456789" {
        return fail("get_at_most at the object's size returns it");
    }
    match store.get_at_most(&sized, 9) {
        Err(StoreError::TooLarge {
            bytes: 10, max: 9, ..
        }) => {}
        other => {
            return fail(&format!(
                "get_at_most below the size refuses with the size: {other:?}"
            ))
        }
    }
    if !matches!(
        store.get_at_most(&k("sized/none")?, 9),
        Err(StoreError::NotFound { .. })
    ) {
        return fail("get_at_most of a missing key is NotFound");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_validated() {
        assert!(Key::new("runs/mi30x/20251210/x/manifest.json").is_ok());
        for bad in ["", "/abs", "a//b", "a/../b", "./a", "a/", "a\\b"] {
            assert!(Key::new(bad).is_err(), "{bad:?}");
        }
        assert!(under("runs/a/b", "runs/a"));
        assert!(!under("runs/ab", "runs/a"));
    }

    #[test]
    fn memory_store_conforms() {
        check_store(&MemoryStore::default()).expect("conforms");
    }
}
