//! The manifest of a site in the store: every file's git blob id (the SHA-1 git gives its bytes),
//! so that an update writes only the files whose bytes changed and the Pages effect fetches only
//! the files the branch does not hold yet.
//!
//! It is split by year, so that a publish reads and writes what one night touches, not the whole
//! site: at 100x the fixture history the site has 111,000 files and a whole manifest 14 MB.
//! - `.sglci-manifest.json` (the root) names the shards: `{"scheme":1,"shards":["2025","rest"]}`.
//! - `.sglci-manifest/<shard>.json` holds the entries of one shard (`{"files":{path: id}}`, the
//!   format of a whole manifest). [`shard_of`] sends each path to one shard, a pure function of
//!   the path fixed by the root's scheme.
//! - A root of the earlier form (`{"files":{…}}`, the whole manifest in one object) is still read;
//!   the next patch writes it split.
//!
//! A whole site's files are written in packs (`.sglci-pack/<id>.pack`: the files of one part of
//! the render, one after another; the name is the pack's own blob id), so that a first site
//! costs one PUT per part instead of one per file (11,681 files at 10x; see
//! [`crate::app::site_packs`]). A packed file's entry says where its bytes are
//! (`"packed":{path: [pack, offset, length]}` in its shard); an update writes the files it
//! changes as objects of their own and drops their `packed` entries.
//!
//! A root naming a shard that is gone or unreadable is no manifest: a patch that meets one writes
//! every file it renders and removes the root, and the next publish renders the site whole and
//! writes a new manifest (as for a site without one). The effect then lists the prefix.

use std::collections::{BTreeMap, BTreeSet};

use sglci_core::store::{Key, ObjectStore, StoreError};

use crate::site::RenderedSite;

/// The manifest's root object in a site prefix.
pub const SITE_MANIFEST: &str = ".sglci-manifest.json";

/// The folder of the manifest's shards in a site prefix.
pub const MANIFEST_SHARDS: &str = ".sglci-manifest";

/// The shard of paths that name no year.
pub const REST_SHARD: &str = "rest";

/// How [`shard_of`] splits paths; a root with another scheme is no manifest here.
const SCHEME: u32 = 1;

/// The shard a path's entry lives in: the first year the path names (a run of 4 or 8 digits
/// starting `19` or `20`: `2025`, `2025-10`, `20251019`, not part of a longer number), or
/// [`REST_SHARD`]. A night's run pages, night pages, downloads and data files fall in its year;
/// pages about no one night (home, hardware, models, plots) in `rest`.
pub fn shard_of(rel: &str) -> &str {
    let b = rel.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let run = &rel[start..i];
        if (run.len() == 4 || run.len() == 8) && (run.starts_with("19") || run.starts_with("20")) {
            return &run[..4];
        }
    }
    REST_SHARD
}

/// The key of a shard's object under `prefix`.
pub fn shard_key(prefix: &Key, shard: &str) -> Result<Key, StoreError> {
    prefix.join(&format!("{MANIFEST_SHARDS}/{shard}.json"))
}

/// The folder of a site's packs in its prefix.
pub const SITE_PACKS: &str = ".sglci-pack";

/// The key of a pack's object under `prefix`.
pub fn pack_key(prefix: &Key, pack: &str) -> Result<Key, StoreError> {
    prefix.join(&format!("{SITE_PACKS}/{pack}.pack"))
}

/// Where a packed file's bytes are: the pack's name (its blob id), the offset and the length.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PackedAt(pub String, pub u64, pub u64);

impl PackedAt {
    /// A name that is a blob id (40 lower-case hex digits: never a path), and a range that
    /// fits in a `usize`.
    fn valid(&self) -> bool {
        self.0.len() == 40
            && self
                .0
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            && self
                .1
                .checked_add(self.2)
                .is_some_and(|end| usize::try_from(end).is_ok())
    }
}

/// A whole manifest (and the form of each shard): relative path → git blob id (40 hex digits),
/// and where the bytes of packed files are.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteManifest {
    pub files: BTreeMap<String, String>,
    /// Files whose bytes are in a pack, not in an object of their own.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub packed: BTreeMap<String, PackedAt>,
}

impl SiteManifest {
    /// The manifest of these files.
    pub fn of(site: &RenderedSite) -> Self {
        Self {
            files: site
                .iter()
                .map(|(rel, bytes)| (rel.clone(), blob_id(bytes)))
                .collect(),
            packed: BTreeMap::new(),
        }
    }

    /// A stored whole manifest or shard; `None` when it is not one, or when a packed entry
    /// names no file or no valid pack.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let m: Self = serde_json::from_slice(bytes).ok()?;
        m.packed
            .iter()
            .all(|(rel, at)| m.files.contains_key(rel) && at.valid())
            .then_some(m)
    }

    /// The keys of the packs its entries name.
    pub fn pack_keys(&self, prefix: &Key) -> Result<BTreeSet<Key>, StoreError> {
        self.packed
            .values()
            .map(|at| at.0.as_str())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(|p| pack_key(prefix, p))
            .collect()
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The objects that store this manifest under `prefix`: every shard, then the root (write
    /// the root last, once the shards are in).
    pub fn objects(&self, prefix: &Key) -> Result<Stored, StoreError> {
        let shards = split(self.clone());
        stored(prefix, &shards, shards.keys())
    }
}

/// A manifest's objects: the shards, and the root to write after them (`None`: unchanged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub shards: Vec<(Key, Vec<u8>)>,
    pub root: Option<(Key, Vec<u8>)>,
}

impl Stored {
    /// Whether `key` is one of these objects.
    pub fn holds(&self, key: &Key) -> bool {
        self.root.as_ref().is_some_and(|(k, _)| k == key)
            || self.shards.iter().any(|(k, _)| k == key)
    }
}

/// A whole manifest from a root and, for a split one, the results of reading the shards it
/// names (in the order [`StoredRoot::shard_keys`] gives). `Ok(None)` when a shard is gone or
/// unreadable (no manifest); other read errors are returned.
pub fn assemble(
    root: StoredRoot,
    shards: Vec<Result<Vec<u8>, StoreError>>,
) -> Result<Option<SiteManifest>, StoreError> {
    let names = match root {
        StoredRoot::Whole(m) => return Ok(Some(m)),
        StoredRoot::Sharded(names) => names,
    };
    let mut patch = ManifestPatch::new(StoredRoot::Sharded(names.clone()));
    for (name, got) in names.iter().zip(shards) {
        match got {
            Ok(bytes) => patch.load(name, Some(&bytes)),
            Err(StoreError::NotFound { .. }) => patch.load(name, None),
            Err(e) => return Err(e),
        }
    }
    if patch.is_broken() || patch.loaded.len() != names.len() {
        return Ok(None);
    }
    let mut whole = SiteManifest::default();
    for shard in patch.loaded.into_values() {
        whole.files.extend(shard.files);
        whole.packed.extend(shard.packed);
    }
    Ok(Some(whole))
}

/// The root object's form.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Root {
    scheme: u32,
    shards: BTreeSet<String>,
}

/// A stored root, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredRoot {
    /// The earlier form: the whole manifest in the root.
    Whole(SiteManifest),
    /// The shards the manifest is split into.
    Sharded(BTreeSet<String>),
}

impl StoredRoot {
    /// A stored root; `None` when it is neither form (or another scheme, or a shard name that is
    /// not one [`shard_of`] gives).
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        if let Ok(r) = serde_json::from_slice::<Root>(bytes) {
            let names_ok = r.shards.iter().all(|s| s == REST_SHARD || shard_of(s) == s);
            return (r.scheme == SCHEME && names_ok).then_some(Self::Sharded(r.shards));
        }
        SiteManifest::parse(bytes).map(Self::Whole)
    }

    /// The keys of the shards a split root names, in order (none for a whole one).
    pub fn shard_keys(&self, prefix: &Key) -> Result<Vec<Key>, StoreError> {
        match self {
            Self::Whole(_) => Ok(Vec::new()),
            Self::Sharded(names) => names.iter().map(|s| shard_key(prefix, s)).collect(),
        }
    }
}

/// A manifest split into shards.
fn split(m: SiteManifest) -> BTreeMap<String, SiteManifest> {
    let mut out: BTreeMap<String, SiteManifest> = BTreeMap::new();
    for (rel, id) in m.files {
        out.entry(shard_of(&rel).to_owned())
            .or_default()
            .files
            .insert(rel, id);
    }
    for (rel, at) in m.packed {
        out.entry(shard_of(&rel).to_owned())
            .or_default()
            .packed
            .insert(rel, at);
    }
    out
}

fn stored<'a>(
    prefix: &Key,
    shards: &BTreeMap<String, SiteManifest>,
    names: impl Iterator<Item = &'a String>,
) -> Result<Stored, StoreError> {
    let shards_out = shards
        .iter()
        .map(|(name, shard)| Ok((shard_key(prefix, name)?, shard.to_bytes())))
        .collect::<Result<Vec<_>, StoreError>>()?;
    let root = Root {
        scheme: SCHEME,
        shards: names.cloned().collect(),
    };
    Ok(Stored {
        shards: shards_out,
        root: Some((
            prefix.join(SITE_MANIFEST)?,
            serde_json::to_vec(&root).unwrap_or_default(),
        )),
    })
}

/// The whole manifest of the site under `prefix` as stored: its root, then its shards in one
/// batch. `Ok(None)` when there is none, or one that lost a shard.
pub fn read_site_manifest(
    store: &dyn ObjectStore,
    prefix: &Key,
) -> Result<Option<SiteManifest>, StoreError> {
    let root = match store.get(&prefix.join(SITE_MANIFEST)?) {
        Ok(bytes) => StoredRoot::parse(&bytes),
        Err(StoreError::NotFound { .. }) => None,
        Err(e) => return Err(e),
    };
    let Some(root) = root else {
        return Ok(None);
    };
    let keys = root.shard_keys(prefix)?;
    assemble(root, store.get_many(&keys))
}

/// The git blob id of some bytes (what `git hash-object` prints).
pub fn blob_id(bytes: &[u8]) -> String {
    git2::Oid::hash_object(git2::ObjectType::Blob, bytes)
        .map(|o| o.to_string())
        .unwrap_or_default()
}

/// What a patch of a store site knows of its manifest: the shards loaded so far, and those it
/// changed. Pure: the writer reads the shards [`ManifestPatch::unloaded`] names and hands their
/// bytes to [`ManifestPatch::load`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestPatch {
    /// The shards the stored root names.
    named: BTreeSet<String>,
    loaded: BTreeMap<String, SiteManifest>,
    dirty: BTreeSet<String>,
    /// The root must be written: a shard was added, or the stored root was the whole form.
    new_root: bool,
    /// A shard the root names was gone or unreadable: the manifest is no longer trusted.
    broken: bool,
}

impl ManifestPatch {
    /// A patch of the manifest a root names; nothing loaded yet (a whole root: everything,
    /// to be written split).
    pub fn new(root: StoredRoot) -> Self {
        match root {
            StoredRoot::Sharded(named) => Self {
                named,
                loaded: BTreeMap::new(),
                dirty: BTreeSet::new(),
                new_root: false,
                broken: false,
            },
            StoredRoot::Whole(m) => {
                let loaded = split(m);
                Self {
                    named: BTreeSet::new(),
                    dirty: loaded.keys().cloned().collect(),
                    loaded,
                    new_root: true,
                    broken: false,
                }
            }
        }
    }

    /// The shards the root names that entries of these paths live in and that are not loaded.
    pub fn unloaded<'a>(&self, rels: impl Iterator<Item = &'a str>) -> BTreeSet<String> {
        rels.map(shard_of)
            .filter(|s| self.named.contains(*s) && !self.loaded.contains_key(*s))
            .map(str::to_owned)
            .collect()
    }

    /// Takes in a shard's stored bytes (`None`: the object is gone). A shard that is gone or
    /// unreadable breaks the manifest.
    pub fn load(&mut self, shard: &str, bytes: Option<&[u8]>) {
        match bytes.and_then(SiteManifest::parse) {
            // `parse` keeps packed entries to paths of `files`, so this holds for them too.
            Some(m) if m.files.keys().all(|rel| shard_of(rel) == shard) => {
                self.loaded.insert(shard.to_owned(), m);
            }
            _ => {
                self.broken = true;
                self.loaded
                    .insert(shard.to_owned(), SiteManifest::default());
            }
        }
    }

    /// Whether a shard the root names was gone or unreadable.
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// Records a file's id; returns the id the manifest had for it (`None` when the shard is
    /// new). Call [`ManifestPatch::load`] for [`ManifestPatch::unloaded`] first: an entry for a
    /// shard the root names and that was not loaded breaks the manifest.
    pub fn insert(&mut self, rel: String, id: String) -> Option<String> {
        let shard = shard_of(&rel).to_owned();
        match (
            self.named.contains(&shard),
            self.loaded.contains_key(&shard),
        ) {
            (false, false) => self.new_root = true,
            // Its other entries are unknown: written now, the shard would lose them.
            (true, false) => self.broken = true,
            _ => {}
        }
        self.dirty.insert(shard.clone());
        self.loaded.entry(shard).or_default().files.insert(rel, id)
    }

    /// Records that a file is written as an object of its own: its bytes are no longer those
    /// of its pack (call after [`ManifestPatch::insert`]).
    pub fn unpack(&mut self, rel: &str) {
        let shard = shard_of(rel);
        if let Some(m) = self.loaded.get_mut(shard) {
            if m.packed.remove(rel).is_some() {
                self.dirty.insert(shard.to_owned());
            }
        }
    }

    /// The objects to write: the changed shards, and the root when it changed (write it after
    /// the shards). `None` when the manifest is broken: remove the root instead.
    pub fn objects(&self, prefix: &Key) -> Result<Option<Stored>, StoreError> {
        if self.broken {
            return Ok(None);
        }
        let changed: BTreeMap<String, SiteManifest> = self
            .dirty
            .iter()
            .filter_map(|s| Some((s.clone(), self.loaded.get(s)?.clone())))
            .collect();
        let names: BTreeSet<String> = self
            .named
            .iter()
            .chain(self.dirty.iter())
            .cloned()
            .collect();
        let mut out = stored(prefix, &changed, names.iter())?;
        if !self.new_root {
            out.root = None;
        }
        Ok(Some(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sglci_core::store::MemoryStore;

    fn key(s: &str) -> Key {
        Key::new(s).expect("key")
    }

    fn manifest(paths: &[&str]) -> SiteManifest {
        SiteManifest {
            files: paths
                .iter()
                .map(|p| ((*p).to_owned(), blob_id(p.as_bytes())))
                .collect(),
            packed: BTreeMap::new(),
        }
    }

    fn store_objects(store: &MemoryStore, stored: Stored) {
        store.put_many(&stored.shards).expect("shards");
        if let Some((k, b)) = stored.root {
            store.put(&k, &b).expect("root");
        }
    }

    #[test]
    fn paths_go_to_the_first_year_they_name() {
        for (rel, shard) in [
            (
                "runs/online_benchmark_log--mi30x--DeepSeek-V3-0324--v0.5.5.post3-rocm700-mi30x-20230408_x.html",
                "2023",
            ),
            ("hw/mi30x/20251019.html", "2025"),
            ("hw/mi30x/20251019-summary.md", "2025"),
            ("hw/mi35x/year-2024.html", "2024"),
            ("data/files/2025-10.json", "2025"),
            ("downloads/1996.html", "1996"),
            ("index.html", "rest"),
            ("models/mi30x/DeepSeek-V3-0324.html", "rest"),
            ("data/ab/undated.csv", "rest"),
            ("plots/mi30x/x-123456789.svg", "rest"),
            ("runs/tag-2025123.html", "rest"),
            ("runs/tag-30001231.html", "rest"),
            ("runs/tag-202510191.html", "rest"),
            ("runs/v0.5.6-rocm700-mi30x-2025xx-20240101.html", "2025"),
            ("", "rest"),
        ] {
            assert_eq!(shard_of(rel), shard, "{rel}");
        }
    }

    #[test]
    fn a_manifest_stored_split_reads_back_whole() {
        let store = MemoryStore::default();
        let m = manifest(&[
            "index.html",
            "hw/mi30x/20241231.html",
            "hw/mi30x/20250101.html",
            "data/files/2025-01.json",
        ]);
        let stored = m.objects(&key("site")).expect("objects");
        assert_eq!(stored.shards.len(), 3, "2024, 2025, rest");
        store_objects(&store, stored);
        assert_eq!(
            read_site_manifest(&store, &key("site")).expect("read"),
            Some(m.clone())
        );
        // The earlier form, the whole manifest in the root, still reads.
        let legacy = MemoryStore::default();
        legacy
            .put(&key("site/.sglci-manifest.json"), &m.to_bytes())
            .expect("put");
        assert_eq!(
            read_site_manifest(&legacy, &key("site")).expect("read"),
            Some(m.clone())
        );
        // A patch of it writes it split, root included.
        let patch = ManifestPatch::new(StoredRoot::Whole(m.clone()));
        store_objects(
            &legacy,
            patch
                .objects(&key("site"))
                .expect("objects")
                .expect("whole"),
        );
        assert!(matches!(
            StoredRoot::parse(&legacy.get(&key("site/.sglci-manifest.json")).expect("root")),
            Some(StoredRoot::Sharded(_))
        ));
        assert_eq!(
            read_site_manifest(&legacy, &key("site")).expect("read"),
            Some(m)
        );
        assert_eq!(
            read_site_manifest(&MemoryStore::default(), &key("site")).expect("read"),
            None
        );
    }

    #[test]
    fn a_patch_writes_the_shards_it_changed_and_the_root_only_for_a_new_shard() {
        let store = MemoryStore::default();
        let m = manifest(&[
            "index.html",
            "hw/mi30x/20241231.html",
            "hw/mi30x/20250101.html",
        ]);
        store_objects(&store, m.objects(&key("site")).expect("objects"));
        let root = StoredRoot::parse(&store.get(&key("site/.sglci-manifest.json")).expect("root"))
            .expect("parsed");
        let mut patch = ManifestPatch::new(root.clone());
        let rels = ["index.html", "hw/mi30x/20250101.html"];
        let need = patch.unloaded(rels.iter().copied());
        assert_eq!(need, BTreeSet::from(["2025".to_owned(), "rest".to_owned()]));
        for s in &need {
            let bytes = store
                .get(&shard_key(&key("site"), s).expect("key"))
                .expect("shard");
            patch.load(s, Some(&bytes));
        }
        assert!(patch.unloaded(rels.iter().copied()).is_empty());
        let id = blob_id(b"index.html");
        assert_eq!(patch.insert("index.html".into(), "0".repeat(40)), Some(id));
        let stored = patch
            .objects(&key("site"))
            .expect("objects")
            .expect("sound");
        assert_eq!(stored.shards.len(), 1, "only `rest` changed");
        assert_eq!(stored.root, None, "the same shards");
        // A night in a new year adds a shard: the root is written too.
        assert_eq!(
            patch.insert("hw/mi30x/20260101.html".into(), "1".repeat(40)),
            None
        );
        let stored = patch
            .objects(&key("site"))
            .expect("objects")
            .expect("sound");
        assert_eq!(stored.shards.len(), 2);
        store_objects(&store, stored);
        let back = read_site_manifest(&store, &key("site"))
            .expect("read")
            .expect("manifest");
        assert_eq!(back.files.len(), 4);
        assert_eq!(back.files["index.html"], "0".repeat(40));
        assert_eq!(
            back.files["hw/mi30x/20241231.html"],
            blob_id(b"hw/mi30x/20241231.html")
        );
    }

    #[test]
    fn a_lost_or_foreign_shard_is_no_manifest() {
        let store = MemoryStore::default();
        let m = manifest(&["index.html", "hw/mi30x/20241231.html"]);
        store_objects(&store, m.objects(&key("site")).expect("objects"));
        let root = StoredRoot::parse(&store.get(&key("site/.sglci-manifest.json")).expect("root"))
            .expect("parsed");
        let mut gone = ManifestPatch::new(root.clone());
        gone.load("2024", None);
        assert!(gone.is_broken());
        assert_eq!(gone.objects(&key("site")).expect("objects"), None);
        // An entry for a shard the root names that was never loaded: never written half.
        let mut unread = ManifestPatch::new(root.clone());
        unread.insert("hw/mi30x/20241230.html".into(), "2".repeat(40));
        assert!(unread.is_broken());
        assert_eq!(unread.objects(&key("site")).expect("objects"), None);
        // A shard holding an entry of another shard (a hostile or mixed-up object).
        let mut foreign = ManifestPatch::new(root.clone());
        foreign.load("2024", Some(br#"{"files":{"index.html":"x"}}"#));
        assert!(foreign.is_broken());
        let mut garbage = ManifestPatch::new(root);
        garbage.load("rest", Some(b"\x00not json"));
        assert!(garbage.is_broken());
        store
            .delete(&key("site/.sglci-manifest/2024.json"))
            .expect("delete");
        assert_eq!(
            read_site_manifest(&store, &key("site")).expect("read"),
            None
        );
    }

    #[test]
    fn roots_that_are_not_ours_are_refused() {
        for bad in [
            &br#"{"scheme":2,"shards":["rest"]}"#[..],
            br#"{"scheme":1,"shards":["../x"]}"#,
            br#"{"scheme":1,"shards":["20251019"]}"#,
            br#"{"scheme":1,"shards":[""]}"#,
            br#"{"scheme":1,"shards":["rest"],"extra":1}"#,
            b"[]",
            b"",
        ] {
            assert_eq!(
                StoredRoot::parse(bad),
                None,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(
            StoredRoot::parse(br#"{"scheme":1,"shards":["2025","rest"]}"#),
            Some(StoredRoot::Sharded(BTreeSet::from([
                "2025".into(),
                "rest".into()
            ])))
        );
    }

    /// Cut, flipped and spliced roots and shards (the bytes are read from a bucket): each is
    /// refused or read as a manifest whose entries all belong to their shard, never a panic.
    #[test]
    fn damaged_roots_and_shards_are_refused_or_consistent() {
        let m = manifest(&[
            "index.html",
            "hw/mi30x/20241231.html",
            "data/files/2024-12.json",
        ]);
        let stored = m.objects(&key("site")).expect("objects");
        let root = stored.root.clone().expect("root").1;
        let shard = stored.shards[0].1.clone();
        let mut cases: Vec<Vec<u8>> = Vec::new();
        for bytes in [&root, &shard] {
            for cut in (0..bytes.len()).step_by(3) {
                cases.push(bytes[..cut].to_vec());
            }
            for at in (0..bytes.len()).step_by(5) {
                let mut flipped = bytes.clone();
                flipped[at] ^= 0x5a;
                cases.push(flipped);
            }
            cases.push([&bytes[..bytes.len() / 2], &root[root.len() / 2..]].concat());
            cases.push([&bytes[..bytes.len() / 2], &shard[shard.len() / 2..]].concat());
        }
        assert!(cases.len() > 100, "{}", cases.len());
        for case in &cases {
            if let Some(StoredRoot::Sharded(names)) = StoredRoot::parse(case) {
                assert!(names.iter().all(|n| shard_of(n) == n));
                assert!(StoredRoot::Sharded(names).shard_keys(&key("site")).is_ok());
            }
            let mut patch =
                ManifestPatch::new(StoredRoot::Sharded(BTreeSet::from(["2024".into()])));
            patch.load("2024", Some(case));
            if !patch.is_broken() {
                assert!(patch.loaded["2024"]
                    .files
                    .keys()
                    .all(|rel| shard_of(rel) == "2024"));
            }
        }
    }
}
