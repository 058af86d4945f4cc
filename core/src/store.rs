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

/// An object store: the local directory by default, S3 in the cloud.
pub trait ObjectStore {
    /// The object's bytes, or [`StoreError::NotFound`].
    fn get(&self, key: &Key) -> Result<Vec<u8>, StoreError>;
    /// Writes the object whole (readers see the old or the new bytes, never a mix).
    fn put(&self, key: &Key, bytes: &[u8]) -> Result<(), StoreError>;
    /// Writes only when no object has the key ([`StoreError::Exists`] otherwise).
    fn put_if_absent(&self, key: &Key, bytes: &[u8]) -> Result<(), StoreError>;
    /// Every key that starts with `prefix` (a whole-segment prefix), sorted.
    fn list(&self, prefix: &str) -> Result<Vec<Key>, StoreError>;
}

/// An in-memory store (unit tests, dry runs).
#[derive(Debug, Default)]
pub struct MemoryStore {
    objects: Mutex<BTreeMap<Key, Vec<u8>>>,
}

impl MemoryStore {
    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<Key, Vec<u8>>> {
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

impl ObjectStore for MemoryStore {
    fn get(&self, key: &Key) -> Result<Vec<u8>, StoreError> {
        self.map()
            .get(key)
            .cloned()
            .ok_or_else(|| StoreError::NotFound {
                key: key.to_string(),
            })
    }

    fn put(&self, key: &Key, bytes: &[u8]) -> Result<(), StoreError> {
        self.map().insert(key.clone(), bytes.to_vec());
        Ok(())
    }

    fn put_if_absent(&self, key: &Key, bytes: &[u8]) -> Result<(), StoreError> {
        let mut m = self.map();
        if m.contains_key(key) {
            return Err(StoreError::Exists {
                key: key.to_string(),
            });
        }
        m.insert(key.clone(), bytes.to_vec());
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
