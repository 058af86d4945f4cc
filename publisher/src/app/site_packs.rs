//! Packs of a store site's files: a whole site is written a part at a time, and each part as one
//! object (`.sglci-pack/<id>.pack`, the files' bytes one after another), so that a first site
//! costs one PUT per part instead of one per file. On S3 a PUT costs a round trip and a fee;
//! on the emulator of the benchmarks about 3 ms of its CPU: 11,681 files at 10x took at least
//! 22 s there however many were in flight (BENCHMARKS.md, "The emulator's ceiling").
//!
//! [`chunks`] and [`pack`] are pure. [`read_files`] is the one reader of a store site's files by
//! path: loose files from their objects, packed ones from their packs (each pack read once).
//! Packs never change once written (their name is their blob id), so every pack read is checked
//! against its name: a pack cut, swapped or damaged is an error naming it, never wrong bytes on
//! Pages.

use std::collections::BTreeMap;

use sglci_core::store::{Key, ObjectStore, StoreError};
use thiserror::Error;

use super::site_manifest::{blob_id, pack_key, read_site_manifest, PackedAt, SiteManifest};
use crate::site::RenderedSite;

/// Why a store site's files could not be read.
#[derive(Debug, Error)]
pub enum SiteReadError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{key}: {rel}: {reason} (hint: remove the site's manifest `.sglci-manifest.json`; the next publish renders the site whole)")]
    Damaged {
        key: Key,
        rel: String,
        reason: String,
    },
    #[error("{rel}: not in the site's manifest")]
    Unknown { rel: String },
    /// A pack the manifest names is gone (removed by a concurrent whole render, or by hand):
    /// the manifest cannot be trusted.
    #[error("{key}: a pack the site's manifest names is gone (hint: remove the manifest; the next publish renders the site whole)")]
    PackGone { key: Key },
    /// What the receiver of the files said.
    #[error("{0}")]
    Sink(String),
    #[error("{prefix}: no site manifest, or one that lost a shard (hint: the next publish renders the site whole)")]
    NoManifest { prefix: Key },
}

/// A chunk of a site as one pack: its bytes, its name (their blob id), and each file's entry
/// (path, blob id, where its bytes are).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pack {
    pub name: String,
    pub bytes: Vec<u8>,
    pub entries: Vec<(String, String, PackedAt)>,
}

/// The pack of a chunk (`None` for an empty one).
pub fn pack(part: RenderedSite) -> Option<Pack> {
    if part.is_empty() {
        return None;
    }
    let mut bytes = Vec::with_capacity(part.values().map(Vec::len).sum());
    let mut placed = Vec::with_capacity(part.len());
    for (rel, file) in part {
        let at = bytes.len() as u64;
        bytes.extend_from_slice(&file);
        placed.push((rel, blob_id(&file), at, file.len() as u64));
    }
    let name = blob_id(&bytes);
    let entries = placed
        .into_iter()
        .map(|(rel, id, at, len)| (rel, id, PackedAt(name.clone(), at, len)))
        .collect();
    Some(Pack {
        name,
        bytes,
        entries,
    })
}

/// A part cut into chunks of about `max` bytes each (a file is never cut), in path order: each
/// becomes one pack, so that no pack, and no copy of one in memory, outgrows a part.
pub fn chunks(part: RenderedSite, max: usize) -> Vec<RenderedSite> {
    let mut out = Vec::new();
    let (mut chunk, mut size) = (RenderedSite::new(), 0);
    for (rel, bytes) in part {
        if size > 0 && size + bytes.len() > max {
            out.push(std::mem::take(&mut chunk));
            size = 0;
        }
        size += bytes.len();
        chunk.insert(rel, bytes);
    }
    if !chunk.is_empty() {
        out.push(chunk);
    }
    out
}

/// The bytes of the files `rels` (in order) of the site under `prefix` whose manifest is `m`.
pub fn read_files(
    store: &dyn ObjectStore,
    prefix: &Key,
    m: &SiteManifest,
    rels: &[String],
) -> Result<Vec<Vec<u8>>, SiteReadError> {
    if let Some(rel) = rels.iter().find(|r| !m.files.contains_key(*r)) {
        return Err(SiteReadError::Unknown { rel: rel.clone() });
    }
    let mut out: Vec<Option<Vec<u8>>> = vec![None; rels.len()];
    read_files_each(store, prefix, &m.packed, rels, &mut |i, bytes| {
        out[i] = Some(bytes);
        Ok(())
    })?;
    Ok(out.into_iter().flatten().collect())
}

/// Hands `each` the bytes of every file of `rels` (its index in `rels`, its bytes), in the
/// order they are read: files with no entry in `packed` from their own objects,
/// [`LOOSE_AT_ONCE`] at a time, then the packs the others need [`PACKS_AT_ONCE`] at a time,
/// each pack read once and checked against its name (its blob id). Memory holds one batch, not
/// the files: a first push of a whole site at 100x the fixture history is about 1 GB of files.
pub fn read_files_each(
    store: &dyn ObjectStore,
    prefix: &Key,
    packed: &BTreeMap<String, PackedAt>,
    rels: &[String],
    each: &mut dyn FnMut(usize, Vec<u8>) -> Result<(), String>,
) -> Result<(), SiteReadError> {
    let mut loose = Vec::new();
    let mut by_pack: BTreeMap<&str, Vec<(usize, &PackedAt)>> = BTreeMap::new();
    for (i, rel) in rels.iter().enumerate() {
        match packed.get(rel) {
            Some(at) => by_pack.entry(at.0.as_str()).or_default().push((i, at)),
            None => loose.push(i),
        }
    }
    let sink = |e: String| SiteReadError::Sink(e);
    for batch in loose.chunks(LOOSE_AT_ONCE) {
        let keys = batch
            .iter()
            .map(|i| prefix.join(&rels[*i]))
            .collect::<Result<Vec<_>, _>>()?;
        // A loose file's bytes decide: a publish writes its files before the manifest that
        // names them, so an entry may lag behind a newer file (gitpub hashes what it reads).
        for (i, got) in batch.iter().zip(store.get_many(&keys)) {
            each(*i, got?).map_err(sink)?;
        }
    }
    let packs = by_pack
        .into_iter()
        .map(|(p, members)| Ok((pack_key(prefix, p)?, members)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    for batch in packs.chunks(PACKS_AT_ONCE) {
        let keys: Vec<Key> = batch.iter().map(|(k, _)| k.clone()).collect();
        for ((key, members), got) in batch.iter().zip(store.get_many(&keys)) {
            let bytes = got.map_err(|e| match e {
                StoreError::NotFound { .. } => SiteReadError::PackGone { key: key.clone() },
                e => SiteReadError::Store(e),
            })?;
            let first = members.first().map_or("", |(i, _)| rels[*i].as_str());
            let id = blob_id(&bytes);
            if members.first().is_some_and(|(_, at)| at.0 != id) {
                return Err(SiteReadError::Damaged {
                    key: key.clone(),
                    rel: first.to_owned(),
                    reason: format!("the pack's bytes are blob {id}, not the one it is named for"),
                });
            }
            for (i, at) in members {
                each(*i, packed_file(key, &rels[*i], at, &bytes)?).map_err(sink)?;
            }
        }
    }
    Ok(())
}

/// Loose files read in one batch.
const LOOSE_AT_ONCE: usize = 1024;

/// Packs read in one batch (a pack holds a part: up to about 16 MB).
const PACKS_AT_ONCE: usize = 4;

/// A packed file's bytes out of its pack.
fn packed_file(
    key: &Key,
    rel: &str,
    at: &PackedAt,
    bytes: &[u8],
) -> Result<Vec<u8>, SiteReadError> {
    let slice = usize::try_from(at.1)
        .ok()
        .zip(usize::try_from(at.2).ok())
        .and_then(|(start, len)| bytes.get(start..start.checked_add(len)?));
    let Some(slice) = slice else {
        return Err(SiteReadError::Damaged {
            key: key.clone(),
            rel: rel.to_owned(),
            reason: format!(
                "bytes {}+{} are past the pack's end ({} bytes)",
                at.1,
                at.2,
                bytes.len()
            ),
        });
    };
    Ok(slice.to_vec())
}

/// Every file of the site under `prefix` (those the Pages push takes: not its own dot files),
/// through its manifest: the site as it is published. A site without a readable manifest is
/// an error.
pub fn read_site(
    store: &dyn ObjectStore,
    prefix: &Key,
) -> Result<BTreeMap<String, Vec<u8>>, SiteReadError> {
    let m = read_site_manifest(store, prefix)?.ok_or_else(|| SiteReadError::NoManifest {
        prefix: prefix.clone(),
    })?;
    let rels: Vec<String> = m
        .files
        .keys()
        .filter(|rel| !rel.starts_with('.'))
        .cloned()
        .collect();
    let bytes = read_files(store, prefix, &m, &rels)?;
    Ok(rels.into_iter().zip(bytes).collect())
}

/// One file of the site under `prefix`, through its manifest.
pub fn read_site_file(
    store: &dyn ObjectStore,
    prefix: &Key,
    rel: &str,
) -> Result<Vec<u8>, SiteReadError> {
    let m = read_site_manifest(store, prefix)?.ok_or_else(|| SiteReadError::NoManifest {
        prefix: prefix.clone(),
    })?;
    let mut got = read_files(store, prefix, &m, &[rel.to_owned()])?;
    got.pop().ok_or_else(|| SiteReadError::Unknown {
        rel: rel.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sglci_core::store::MemoryStore;

    fn key(s: &str) -> Key {
        Key::new(s).expect("key")
    }

    fn part(files: &[(&str, &str)]) -> RenderedSite {
        files
            .iter()
            .map(|(r, b)| ((*r).to_owned(), b.as_bytes().to_vec()))
            .collect()
    }

    /// A site of two packs and a loose file, stored under `site`.
    fn stored_site() -> (MemoryStore, SiteManifest) {
        let store = MemoryStore::default();
        let prefix = key("site");
        let mut m = SiteManifest::default();
        for p in [
            part(&[("index.html", "<h1>home</h1>"), ("a/b.html", "bee")]),
            part(&[("hw/mi30x/20251019.html", "night"), ("empty.txt", "")]),
        ] {
            let p = pack(p).expect("pack");
            store
                .put(&pack_key(&prefix, &p.name).expect("key"), &p.bytes)
                .expect("put");
            for (rel, id, at) in p.entries {
                m.files.insert(rel.clone(), id);
                m.packed.insert(rel, at);
            }
        }
        store.put(&key("site/loose.html"), b"loose").expect("put");
        m.files.insert("loose.html".into(), blob_id(b"loose"));
        (store, m)
    }

    #[test]
    fn packed_and_loose_files_read_back_in_the_order_asked() {
        let (store, m) = stored_site();
        let rels: Vec<String> = [
            "loose.html",
            "hw/mi30x/20251019.html",
            "empty.txt",
            "index.html",
            "a/b.html",
        ]
        .map(String::from)
        .to_vec();
        let got = read_files(&store, &key("site"), &m, &rels).expect("read");
        let want: Vec<&[u8]> = vec![b"loose", b"night", b"", b"<h1>home</h1>", b"bee"];
        assert_eq!(got.iter().map(Vec::as_slice).collect::<Vec<_>>(), want);
        // Two packs, two requests for them (plus the loose file's).
        assert_eq!(m.pack_keys(&key("site")).expect("keys").len(), 2);
        assert!(pack(RenderedSite::new()).is_none());
    }

    #[test]
    fn a_part_is_cut_into_chunks_of_about_the_size_given_never_inside_a_file() {
        let big = "x".repeat(10);
        let p = part(&[("a", &big), ("b", &big), ("c", "y"), ("d", &big), ("e", "")]);
        let sizes = |max| -> Vec<Vec<String>> {
            chunks(p.clone(), max)
                .into_iter()
                .map(|c| c.into_keys().collect())
                .collect()
        };
        assert_eq!(sizes(1000), vec![vec!["a", "b", "c", "d", "e"]]);
        assert_eq!(sizes(21), vec![vec!["a", "b", "c"], vec!["d", "e"]]);
        // A file larger than the size is a chunk of its own.
        assert_eq!(
            sizes(5),
            vec![vec!["a"], vec!["b"], vec!["c"], vec!["d"], vec!["e"]]
        );
        assert!(chunks(RenderedSite::new(), 5).is_empty());
    }

    #[test]
    fn a_damaged_pack_or_file_is_an_error_naming_it() {
        let (store, mut m) = stored_site();
        let prefix = key("site");
        let index = m.packed["index.html"].clone();
        let pk = pack_key(&prefix, &index.0).expect("key");
        // The pack's bytes changed under the manifest.
        let mut bytes = store.get(&pk).expect("get");
        bytes[index.1 as usize] ^= 0x20;
        store.put(&pk, &bytes).expect("put");
        let e = read_files(&store, &prefix, &m, &["index.html".to_owned()])
            .expect_err("damaged")
            .to_string();
        assert!(
            e.contains(pk.as_str()) && e.contains("index.html") && e.contains("hint"),
            "{e}"
        );
        // A range past the pack's end (of the pack as written).
        bytes[index.1 as usize] ^= 0x20;
        store.put(&pk, &bytes).expect("put");
        m.packed
            .insert("a/b.html".into(), PackedAt(index.0.clone(), 3, 1 << 40));
        let e = read_files(&store, &prefix, &m, &["a/b.html".to_owned()])
            .expect_err("past the end")
            .to_string();
        assert!(e.contains("past the pack's end"), "{e}");
        // A pack that is gone; a loose file that changed; a path the manifest lacks.
        store.delete(&pk).expect("delete");
        assert!(matches!(
            read_files(&store, &prefix, &m, &["index.html".to_owned()]),
            Err(SiteReadError::PackGone { .. })
        ));
        // A loose file newer than its entry is read as it is (its publish writes the manifest
        // after it).
        store.put(&key("site/loose.html"), b"LOOSE").expect("put");
        assert_eq!(
            read_files(&store, &prefix, &m, &["loose.html".to_owned()]).expect("newer"),
            vec![b"LOOSE".to_vec()]
        );
        assert!(matches!(
            read_files(&store, &prefix, &m, &["nope.html".to_owned()]),
            Err(SiteReadError::Unknown { .. })
        ));
    }

    #[test]
    fn a_packed_entry_for_no_file_or_no_valid_pack_is_no_manifest() {
        let id = blob_id(b"x");
        let ok = format!(r#"{{"files":{{"a.html":"{id}"}},"packed":{{"a.html":["{id}",0,1]}}}}"#);
        assert!(SiteManifest::parse(ok.as_bytes()).is_some());
        for bad in [
            format!(r#"{{"files":{{}},"packed":{{"a.html":["{id}",0,1]}}}}"#),
            format!(r#"{{"files":{{"a.html":"{id}"}},"packed":{{"a.html":["../x",0,1]}}}}"#),
            format!(
                r#"{{"files":{{"a.html":"{id}"}},"packed":{{"a.html":["{}",0,1]}}}}"#,
                id.to_uppercase()
            ),
            format!(
                r#"{{"files":{{"a.html":"{id}"}},"packed":{{"a.html":["{id}",18446744073709551615,1]}}}}"#
            ),
            format!(r#"{{"files":{{"a.html":"{id}"}},"packed":{{"a.html":["{id}",0]}}}}"#),
            format!(r#"{{"files":{{"a.html":"{id}"}},"packed":{{"a.html":["{id}",-1,1]}}}}"#),
        ] {
            assert!(SiteManifest::parse(bad.as_bytes()).is_none(), "{bad}");
        }
    }
}
