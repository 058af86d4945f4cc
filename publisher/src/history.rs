//! The history in the object store: Parquet objects under
//! `history/v<SCHEMA_VERSION>/<table>/<YYYY-MM>/<partition>.parquet`, and an index of committed
//! partitions (`history/v<SCHEMA_VERSION>/_index.json`).
//!
//! Rows are split by the month of their image date (`undated` for rows without one) and written
//! per source: one partition per run (its run id) or `legacy` for the backfill of a predecessor
//! tree. Adding a run therefore writes a few small files whatever the history's length, and a
//! reader that only needs recent months lists and opens only those.
//!
//! A partition is rewritten whole (each object is written whole) and a re-write removes the same
//! partition from months it no longer covers (`<table>/.partitions/<partition>.months` names the
//! months of its last write), so writing the same source twice gives the same history. The index
//! takes commits by conditional write, so publishers working at once lose nothing.

use std::collections::{BTreeMap, BTreeSet};

use polars::prelude::*;
use serde::{Deserialize, Serialize};
use sglci_core::records::Schema;
use sglci_core::store::{update, Key, ObjectStore, StoreError, UpdateError, Version};
use thiserror::Error;

use crate::table::{Table, TableError};

/// The month directory for rows without a date.
pub const UNDATED: &str = "undated";

/// `20251209` → `2025-12`; anything else → [`UNDATED`].
pub fn month_of(date: Option<&str>) -> String {
    match date {
        Some(d) if d.len() == 8 && d.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{}-{}", &d[..4], &d[4..6])
        }
        _ => UNDATED.to_owned(),
    }
}

/// The one partition of the derived regressions table (written whole by
/// [`History::write_partition`], not committed to the index); readers find its months through
/// its manifest, so reading it costs one GET per month and no listing.
pub const DERIVED_PARTITION: &str = "detected";

/// Bumped whenever a table's columns change; old versions stay readable side by side.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Error)]
pub enum HistoryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{key}: {source}")]
    Parquet { key: String, source: PolarsError },
    #[error(transparent)]
    Table(#[from] TableError),
    #[error("{key}: unreadable index: {reason} (hint: restore it from the bucket's versions, or delete it to rebuild from the partitions)")]
    Index { key: String, reason: String },
    #[error(transparent)]
    Update(#[from] UpdateError),
}

impl HistoryError {
    /// An object a snapshot named is gone: a concurrent commit replaced it (read again).
    pub fn is_gone(&self) -> bool {
        matches!(self, Self::Store(StoreError::NotFound { .. }))
    }
}

/// Fresh snapshots a read takes when concurrent commits keep replacing what it reads.
const SNAPSHOT_ATTEMPTS: usize = 5;

/// The history's index: every committed partition with the generation that committed it and
/// the digest of its source, and the generation the derived state (regressions, site) was last
/// computed from. It is the one object publishers change together, always by conditional
/// write; see ARCHITECTURE.md, "Concurrency".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Index {
    pub generation: u64,
    pub partitions: BTreeMap<String, PartitionEntry>,
    /// The generation the regressions and the site reflect.
    #[serde(default)]
    pub derived: u64,
    /// The derived regressions table of that generation: named here, so a reader finds it with
    /// the index it already has, and replaced with the same conditional write that records
    /// `derived` (older stores: `None`, found through the partition's month manifest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detected: Option<DerivedEntry>,
    /// Per table and month, a [`Pack`] of the partitions committed there (written by a derive).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub packs: BTreeMap<String, BTreeMap<String, Pack>>,
}

/// One month of a table's committed partitions in one object, so that a read costs one request
/// per month however many partitions the month holds (every night adds one per run, and each
/// partition with undated rows adds one to `undated`). The partitions' own objects stay the
/// history; a pack is a copy a derive writes of rows it read anyway, named here with the parts
/// it holds. A reader takes from it only the parts whose object names the index still gives
/// (a re-committed partition has a new name) and reads the rest from their own objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pack {
    /// The object's name in the month (`<file>.parquet`).
    pub file: String,
    /// The partition objects it holds (`<stem>.parquet`), in order, with their row counts.
    pub parts: Vec<(String, usize)>,
}

impl Pack {
    /// The rows of the object `name` in the pack: (first row, count).
    pub fn range_of(&self, name: &str) -> Option<(usize, usize)> {
        let mut start = 0;
        for (n, len) in &self.parts {
            if n == name {
                return Some((start, *len));
            }
            start += len;
        }
        None
    }
}

/// What a derive records in the index with its generation: the findings, and the packs it
/// wrote.
#[derive(Debug, Clone, Default)]
pub struct DerivedUpdate {
    pub detected: Option<DerivedEntry>,
    /// (table, month, pack).
    pub packs: Vec<(String, String, Pack)>,
}

/// A derived table's objects as the index names them: `<month>/<file>.parquet` for each month.
/// The file is named by the objects' content, so publishers deriving the same history at once
/// write the same objects, and a replaced entry's objects can be removed once the index no longer
/// names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DerivedEntry {
    pub file: String,
    pub months: Vec<String>,
    /// The digest of each model's detection input the findings were computed from (see
    /// [`crate::regress::refresh`]): the next derive recomputes only the models whose digest
    /// changed. Empty in older indexes (every model is recomputed).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub inputs: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionEntry {
    pub generation: u64,
    /// The source's rows' identity: the same digest again means the same rows, so nothing is
    /// written.
    pub digest: String,
    /// Per table, the months the partition has rows in: readers find every object from the
    /// index alone, without listing the store (a LIST per month and table adds up on S3).
    #[serde(default)]
    pub months: BTreeMap<String, Vec<String>>,
    /// The stem of the partition's objects (`<partition>.g<digest>`): each generation of a
    /// partition has its own objects, so a commit never touches the ones the index names until
    /// the index names the new ones (old indexes: the partition's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Where the rows came from: a run bundle's manifest key (`None` for the legacy backfill).
    /// The outbox finds a committed run's raw files and cards through it, so the effects of a
    /// commit can be derived again from the index alone after a crash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl PartitionEntry {
    /// The stem of this entry's objects.
    pub fn stem<'a>(&'a self, partition: &'a str) -> &'a str {
        self.file.as_deref().unwrap_or(partition)
    }
}

/// What committing a partition did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    /// New or changed rows, committed at this generation.
    Written(u64),
    /// The same source was committed before: nothing changed.
    Unchanged,
}

/// Conditional writes to the index before giving up (each retry re-reads it).
const INDEX_ATTEMPTS: usize = 64;

/// The history in an object store (the directory store by default, S3 in the cloud).
#[derive(Clone, Copy)]
pub struct History<'a> {
    store: &'a dyn ObjectStore,
}

impl std::fmt::Debug for History<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("History")
    }
}

fn root() -> String {
    format!("history/v{SCHEMA_VERSION}")
}

fn key(s: String) -> Result<Key, HistoryError> {
    Ok(Key::new(s)?)
}

fn is_month(name: &str) -> bool {
    name == UNDATED
        || (name.len() == 7
            && name.as_bytes()[4] == b'-'
            && name[..4].bytes().all(|b| b.is_ascii_digit())
            && name[5..].bytes().all(|b| b.is_ascii_digit()))
}

impl<'a> History<'a> {
    pub fn new(store: &'a dyn ObjectStore) -> Self {
        Self { store }
    }

    pub fn store(&self) -> &'a dyn ObjectStore {
        self.store
    }

    fn table_prefix(schema: Schema) -> String {
        format!("{}/{}", root(), schema.name)
    }

    pub fn index_key() -> Key {
        // A constant of valid segments.
        Key::new(format!("{}/_index.json", root())).unwrap_or_else(|_| unreachable!())
    }

    /// The index (empty when the history has none yet).
    pub fn index(&self) -> Result<Index, HistoryError> {
        let k = Self::index_key();
        match self.store.get(&k) {
            Ok(bytes) => decode_index(&bytes).map_err(|reason| HistoryError::Index {
                key: k.to_string(),
                reason,
            }),
            Err(StoreError::NotFound { .. }) => Ok(Index::default()),
            Err(e) => Err(e.into()),
        }
    }

    /// The index as it is now and its version, for work that must know whether the history
    /// moved while it ran ([`History::mark_derived`]); `None` before the first commit.
    pub fn index_versioned(&self) -> Result<Option<(Index, Version)>, HistoryError> {
        let k = Self::index_key();
        match self.store.get_versioned(&k) {
            Ok((bytes, version)) => {
                let idx = decode_index(&bytes).map_err(|reason| HistoryError::Index {
                    key: k.to_string(),
                    reason,
                })?;
                Ok(Some((idx, version)))
            }
            Err(StoreError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Records that the derived state (regressions, site) reflects `idx`'s generation, if the
    /// index is still at `version`. `Ok(false)`: another publisher committed meanwhile, and the
    /// derived state must be computed again.
    pub fn mark_derived(
        &self,
        mut idx: Index,
        version: &Version,
        update: DerivedUpdate,
    ) -> Result<Option<Vec<Key>>, HistoryError> {
        idx.derived = idx.generation;
        // What the new entries replace: removed once the index no longer names it.
        let mut replaced = Vec::new();
        if let Some(d) = update.detected {
            if let Some(old) = idx.detected.replace(d.clone()).filter(|o| o.file != d.file) {
                let prefix = Self::table_prefix(sglci_core::records::REGRESSIONS);
                for m in old.months.iter().filter(|m| is_month(m)) {
                    replaced.push(key(format!("{prefix}/{m}/{}.parquet", old.file))?);
                }
            }
        }
        for (table, month, pack) in update.packs {
            let file = pack.file.clone();
            if let Some(old) = idx
                .packs
                .entry(table.clone())
                .or_default()
                .insert(month.clone(), pack)
                .filter(|o| o.file != file)
            {
                replaced.push(key(format!(
                    "{}/v{SCHEMA_VERSION}/{table}/{month}/{}.parquet",
                    root(),
                    old.file
                ))?);
            }
        }
        let next = encode_index(&idx);
        match self.store.put_if_match(&Self::index_key(), &next, version) {
            Ok(()) => Ok(Some(replaced)),
            Err(StoreError::Conflict { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// A pack of `rows` (one month of a table, as read: `parts` in order) named for the
    /// generation that wrote it; the object to write with it.
    pub fn pack_object(
        &self,
        schema: Schema,
        month: &str,
        generation: u64,
        rows: &[serde_json::Map<String, serde_json::Value>],
        parts: &[(String, usize)],
    ) -> Result<(Pack, (Key, Vec<u8>)), HistoryError> {
        let file = format!("pack.g{generation}");
        let body = Table {
            schema,
            rows: rows.to_vec(),
        }
        .to_parquet()?;
        let k = key(format!(
            "{}/{month}/{file}.parquet",
            Self::table_prefix(schema)
        ))?;
        Ok((
            Pack {
                file,
                parts: parts.to_vec(),
            },
            (k, body),
        ))
    }

    /// Applies `change` to the index by conditional write, retrying on conflict. `change` returns
    /// `None` to leave it alone.
    pub fn update_index(
        &self,
        mut change: impl FnMut(Index) -> Option<Index>,
    ) -> Result<Index, HistoryError> {
        let out = update(
            self.store,
            &Self::index_key(),
            INDEX_ATTEMPTS,
            decode_index,
            encode_index,
            |cur| Ok(change(cur.unwrap_or_default())),
        )?;
        Ok(out.unwrap_or_default())
    }

    /// Writes a source's tables as one partition and commits it to the index; the same digest
    /// again writes nothing. Safe when several publishers commit different partitions at once:
    /// partition files have their own keys, and the index takes every commit by conditional
    /// write.
    pub fn commit(
        &self,
        tables: &[Table],
        partition: &str,
        digest: &str,
    ) -> Result<Commit, HistoryError> {
        self.commit_from(tables, partition, digest, None)
    }

    /// [`History::commit`], recording the source (a bundle's manifest key) in the index entry.
    pub fn commit_from(
        &self,
        tables: &[Table],
        partition: &str,
        digest: &str,
        source: Option<&str>,
    ) -> Result<Commit, HistoryError> {
        let first = self.index_versioned()?;
        if first.as_ref().is_some_and(|(idx, _)| {
            idx.partitions
                .get(partition)
                .is_some_and(|e| e.digest == digest)
        }) {
            return Ok(Commit::Unchanged);
        }
        // This generation's objects have their own names; the old ones are deleted only once
        // the index names the new ones, so a commit killed at any moment leaves the history
        // readable (and the next run repairs it: same digest, same names).
        let stem = format!("{partition}.g{}", digest_token(digest));
        let mut months = BTreeMap::new();
        let mut objects = Vec::new();
        let all: Vec<&Table> = tables.iter().collect();
        for (t, (m, o)) in tables.iter().zip(self.month_objects(&all, &stem)?) {
            if !m.is_empty() {
                months.insert(t.schema.name.to_owned(), m);
            }
            objects.extend(o);
        }
        // Every table's months at once (concurrently on S3).
        self.store.put_many(&objects)?;
        let mut committed = Commit::Unchanged;
        let mut replaced = None;
        let mut apply = |mut idx: Index| {
            if idx
                .partitions
                .get(partition)
                .is_some_and(|e| e.digest == digest)
            {
                committed = Commit::Unchanged;
                return None;
            }
            idx.generation += 1;
            replaced = idx.partitions.insert(
                partition.to_owned(),
                PartitionEntry {
                    generation: idx.generation,
                    digest: digest.to_owned(),
                    months: months.clone(),
                    file: Some(stem.clone()),
                    source: source.map(str::to_owned),
                },
            );
            committed = Commit::Written(idx.generation);
            Some(idx)
        };
        // One conditional write against the index read above (one round trip on S3); when
        // another commit landed meanwhile, the read-change-write loop.
        let (idx, version) = match first {
            Some((idx, v)) => (idx, Some(v)),
            None => (Index::default(), None),
        };
        let landed = match apply(idx) {
            Some(next) => {
                let bytes = encode_index(&next);
                let k = Self::index_key();
                let written = match &version {
                    Some(v) => self.store.put_if_match(&k, &bytes, v),
                    None => self.store.put_if_absent(&k, &bytes),
                };
                match written {
                    Ok(()) => true,
                    Err(StoreError::Conflict { .. } | StoreError::Exists { .. }) => false,
                    Err(e) => return Err(e.into()),
                }
            }
            None => false,
        };
        if !landed {
            self.update_index(&mut apply)?;
        }
        if let (Commit::Written(_), Some(old)) = (committed, replaced) {
            self.delete_generation(partition, &old, &stem)?;
        }
        Ok(committed)
    }

    /// Writes a table's rows as one object per month named `<stem>.parquet`; returns the months.
    fn write_months(&self, table: &Table, stem: &str) -> Result<Vec<String>, HistoryError> {
        let Some((months, objects)) = self.month_objects(&[table], stem)?.pop() else {
            return Ok(Vec::new());
        };
        self.store.put_many(&objects)?;
        Ok(months)
    }

    /// A table's rows as one Parquet object per month named `<stem>.parquet`: the months, and
    /// the objects to write.
    #[allow(clippy::type_complexity)]
    fn month_objects(
        &self,
        tables: &[&Table],
        stem: &str,
    ) -> Result<Vec<(Vec<String>, Vec<(Key, Vec<u8>)>)>, HistoryError> {
        let mut out = Vec::new();
        for (table, parts) in tables.iter().zip(month_parts(tables)?) {
            let prefix = Self::table_prefix(table.schema);
            let mut months = Vec::new();
            let mut objects = Vec::new();
            for (month, bytes) in parts {
                objects.push((key(format!("{prefix}/{month}/{stem}.parquet"))?, bytes));
                months.push(month);
            }
            out.push((months, objects));
        }
        Ok(out)
    }

    /// Deletes a replaced generation's objects (after the commit that replaced it).
    fn delete_generation(
        &self,
        partition: &str,
        old: &PartitionEntry,
        new_stem: &str,
    ) -> Result<(), HistoryError> {
        let stem = old.stem(partition);
        if stem == new_stem {
            return Ok(());
        }
        for (table, months) in &old.months {
            for month in months.iter().filter(|m| is_month(m)) {
                self.store.delete(&key(format!(
                    "{}/v{SCHEMA_VERSION}/{table}/{month}/{stem}.parquet",
                    root()
                ))?)?;
            }
        }
        Ok(())
    }

    /// The regressions table as derived objects named by their content
    /// (`detected.c<digest>.parquet` per month), and the entry [`History::mark_derived`] records.
    /// Nothing is written here: the objects go out with the other derived files, in one batch.
    #[allow(clippy::type_complexity)]
    pub fn derived_objects(
        &self,
        table: &Table,
    ) -> Result<(DerivedEntry, Vec<(Key, Vec<u8>)>), HistoryError> {
        use sha2::Digest;
        let parts = month_parts(&[table])?.pop().unwrap_or_default();
        let mut h = sha2::Sha256::new();
        for (month, bytes) in &parts {
            h.update(month.as_bytes());
            h.update([0]);
            h.update(bytes);
        }
        let digest: String = h.finalize()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let file = format!("{DERIVED_PARTITION}.c{digest}");
        let prefix = Self::table_prefix(table.schema);
        let mut months = Vec::with_capacity(parts.len());
        let mut objects = Vec::with_capacity(parts.len());
        for (month, bytes) in parts {
            objects.push((key(format!("{prefix}/{month}/{file}.parquet"))?, bytes));
            months.push(month);
        }
        Ok((
            DerivedEntry {
                file,
                months,
                inputs: BTreeMap::new(),
            },
            objects,
        ))
    }

    /// Replaces one source's partition of a table: its rows split by month, one file per month,
    /// and the partition's files in other months removed. (Not committed to the index: see
    /// [`History::commit`]; derived tables are written with this alone.)
    pub fn write_partition(
        &self,
        table: &Table,
        partition: &str,
    ) -> Result<Vec<Key>, HistoryError> {
        let prefix = Self::table_prefix(table.schema);
        let file_name = format!("{partition}.parquet");
        // Months that hold this partition from an earlier write but not from this one. The
        // partition's manifest names them, so a write costs the same whatever the history's
        // length; without a manifest the partition is new.
        let manifest = key(format!("{prefix}/.partitions/{partition}.months"))?;
        let earlier: Vec<String> = match self.store.get(&manifest) {
            Ok(bytes) => String::from_utf8_lossy(&bytes)
                .lines()
                .map(str::to_owned)
                .collect(),
            Err(StoreError::NotFound { .. }) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        let months = self.write_months(table, partition)?;
        let written = months
            .iter()
            .map(|m| key(format!("{prefix}/{m}/{file_name}")))
            .collect::<Result<Vec<_>, _>>()?;
        // The union first, so a kill between the two writes leaves no object unnamed; then the
        // stale months go, then the manifest names only the new ones.
        let union: BTreeSet<&String> = earlier.iter().chain(&months).collect();
        let union: Vec<&str> = union.into_iter().map(String::as_str).collect();
        self.store.put(&manifest, union.join("\n").as_bytes())?;
        for month in &earlier {
            if !months.contains(month) && is_month(month) {
                self.store
                    .delete(&key(format!("{prefix}/{month}/{file_name}"))?)?;
            }
        }
        self.store.put(&manifest, months.join("\n").as_bytes())?;
        Ok(written)
    }

    /// The index as of now, for several reads that agree with each other.
    pub fn snapshot(&self) -> Result<Snapshot<'a>, HistoryError> {
        Ok(self.snapshot_of(self.index()?))
    }

    /// A snapshot of an index already read (no request).
    pub fn snapshot_of(&self, index: Index) -> Snapshot<'a> {
        Snapshot {
            store: self.store,
            index: std::borrow::Cow::Owned(index),
        }
    }

    /// A snapshot of an index the caller keeps (no request, no copy: at 100x history the index
    /// holds about 100,000 partitions).
    pub fn snapshot_at<'b>(&self, index: &'b Index) -> Snapshot<'b>
    where
        'a: 'b,
    {
        Snapshot {
            store: self.store,
            index: std::borrow::Cow::Borrowed(index),
        }
    }

    /// Runs `read` on a snapshot; when an object the snapshot names is gone (a concurrent
    /// commit replaced its generation meanwhile), again on a fresh snapshot, a few times.
    pub fn with_snapshot<T, E: From<HistoryError>>(
        &self,
        read: impl Fn(&Snapshot<'a>) -> Result<T, E>,
        gone: impl Fn(&E) -> bool,
    ) -> Result<T, E> {
        let mut attempt = 0;
        loop {
            let snap = self.snapshot()?;
            match read(&snap) {
                Err(e) if gone(&e) && attempt < SNAPSHOT_ATTEMPTS => attempt += 1,
                other => return other,
            }
        }
    }

    /// The months a table has rows in (`YYYY-MM`, and `undated`), sorted.
    pub fn months(&self, schema: Schema) -> Result<Vec<String>, HistoryError> {
        self.snapshot()?.months(schema)
    }

    /// Every partition of a table, in (month, name) order, concatenated.
    pub fn read(&self, schema: Schema) -> Result<Table, HistoryError> {
        self.with_snapshot(|s| s.read(schema), HistoryError::is_gone)
    }

    /// The partitions of the given months only.
    pub fn read_months(
        &self,
        schema: Schema,
        months: &BTreeSet<String>,
    ) -> Result<Table, HistoryError> {
        self.with_snapshot(|s| s.read_months(schema, months), HistoryError::is_gone)
    }
}

/// The history as one index names it. Committed tables are found from the index alone (no
/// listing); derived tables (regressions) and stores without an index are listed. A partition
/// that is written but not committed (a publisher stopped half-way) is never read.
pub struct Snapshot<'a> {
    store: &'a dyn ObjectStore,
    pub index: std::borrow::Cow<'a, Index>,
}

impl std::fmt::Debug for Snapshot<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Snapshot(generation {})", self.index.generation)
    }
}

impl Snapshot<'_> {
    /// Whether the table's partitions are found through the index.
    fn indexed(&self, schema: Schema) -> bool {
        self.index.generation > 0 && schema.name != sglci_core::records::REGRESSIONS.name
    }

    /// Whether the table is the derived one, found through its partition's month manifest
    /// (one GET, no listing).
    fn derived(&self, schema: Schema) -> bool {
        self.index.generation > 0 && schema.name == sglci_core::records::REGRESSIONS.name
    }

    /// The months of the derived partition: from the index, or (older stores) from its manifest
    /// (none when never written).
    fn derived_months(&self, schema: Schema) -> Result<Vec<String>, HistoryError> {
        if let Some(d) = &self.index.detected {
            return Ok(d.months.clone());
        }
        let manifest = key(format!(
            "{}/.partitions/{DERIVED_PARTITION}.months",
            History::table_prefix(schema)
        ))?;
        match self.store.get(&manifest) {
            Ok(bytes) => Ok(String::from_utf8_lossy(&bytes)
                .lines()
                .filter(|m| is_month(m))
                .map(str::to_owned)
                .collect()),
            Err(StoreError::NotFound { .. }) => Ok(Vec::new()),
            Err(e) => Err(e.into()),
        }
    }

    /// The months a table has rows in (`YYYY-MM`, and `undated`), sorted.
    pub fn months(&self, schema: Schema) -> Result<Vec<String>, HistoryError> {
        if self.indexed(schema) {
            let set: BTreeSet<String> = self
                .index
                .partitions
                .values()
                .filter_map(|e| e.months.get(schema.name))
                .flatten()
                .cloned()
                .collect();
            return Ok(set.into_iter().collect());
        }
        let mut months: Vec<String> = if self.derived(schema) {
            self.derived_months(schema)?
        } else {
            self.store
                .children(&History::table_prefix(schema))?
                .into_iter()
                .filter(|n| is_month(n))
                .collect()
        };
        months.sort();
        months.dedup();
        Ok(months)
    }

    /// Every partition of a table, in (month, name) order, concatenated. A table never written is
    /// empty.
    pub fn read(&self, schema: Schema) -> Result<Table, HistoryError> {
        let months: BTreeSet<String> = self.months(schema)?.into_iter().collect();
        self.read_months(schema, &months)
    }

    /// The objects of one month of a table, in file-name order (as a listing gives it).
    fn month_objects(
        &self,
        schema: Schema,
        month: &str,
        derived: &[String],
    ) -> Result<Vec<String>, HistoryError> {
        let mut p: Vec<String> = if self.indexed(schema) {
            self.index
                .partitions
                .iter()
                .filter(|(_, e)| {
                    e.months
                        .get(schema.name)
                        .is_some_and(|m| m.iter().any(|x| x == month))
                })
                .map(|(name, e)| format!("{}.parquet", e.stem(name)))
                .collect()
        } else if self.derived(schema) {
            let file = self
                .index
                .detected
                .as_ref()
                .map_or(DERIVED_PARTITION, |d| d.file.as_str());
            derived
                .iter()
                .filter(|m| *m == month)
                .map(|_| format!("{file}.parquet"))
                .collect()
        } else {
            self.store
                .children(&format!("{}/{month}", History::table_prefix(schema)))?
                .into_iter()
                .filter(|n| n.ends_with(".parquet"))
                .collect()
        };
        p.sort();
        Ok(p)
    }

    /// The partitions of the given months only. The objects are fetched together
    /// ([`ObjectStore::get_many`]: concurrently on S3), then decoded in order.
    pub fn read_months(
        &self,
        schema: Schema,
        months: &BTreeSet<String>,
    ) -> Result<Table, HistoryError> {
        let mut t = self.read_tables(&[(schema, months.clone())])?;
        Ok(t.pop().unwrap_or(Table {
            schema,
            rows: Vec::new(),
        }))
    }

    /// Several tables, each for its months, with every object fetched in one batch (one round
    /// of requests on S3 however many tables and months).
    pub fn read_tables(
        &self,
        wanted: &[(Schema, BTreeSet<String>)],
    ) -> Result<Vec<Table>, HistoryError> {
        Ok(self.read_tables_with(wanted, &[])?.tables)
    }

    /// [`Snapshot::read_tables`], with other objects fetched in the same batch (the site's
    /// markers and manifest): their results come back in the order asked, missing ones as
    /// errors for the caller to judge. A month with a [`Pack`] is read from it, and only the
    /// partitions committed since from their own objects; rows come in the same order either
    /// way (month, then object name).
    pub fn read_tables_with(
        &self,
        wanted: &[(Schema, BTreeSet<String>)],
        extra: &[Key],
    ) -> Result<Read, HistoryError> {
        let mut keys: Vec<Key> = Vec::new();
        // Per table and month: where each object's rows come from.
        let mut plans: Vec<MonthPlan> = Vec::new();
        for (i, (schema, months)) in wanted.iter().enumerate() {
            let prefix = History::table_prefix(*schema);
            let derived = if self.derived(*schema) {
                self.derived_months(*schema)?
            } else {
                Vec::new()
            };
            for month in months {
                let pack = self
                    .index
                    .packs
                    .get(schema.name)
                    .and_then(|m| m.get(month))
                    .filter(|_| self.indexed(*schema));
                let mut pack_at = None;
                let mut plan = Vec::new();
                for name in self.month_objects(*schema, month, &derived)? {
                    let packed = pack.and_then(|p| p.range_of(&name));
                    let source = match packed {
                        Some((start, len)) => {
                            let at = match pack_at {
                                Some(at) => at,
                                None => {
                                    let p = pack.map_or("", |p| p.file.as_str());
                                    keys.push(key(format!("{prefix}/{month}/{p}.parquet"))?);
                                    pack_at = Some(keys.len() - 1);
                                    keys.len() - 1
                                }
                            };
                            Source::Packed { at, start, len }
                        }
                        None => {
                            keys.push(key(format!("{prefix}/{month}/{name}"))?);
                            Source::Own(keys.len() - 1)
                        }
                    };
                    plan.push((name, source));
                }
                plans.push((i, month.clone(), plan));
            }
        }
        let n = keys.len();
        let mut all = keys.clone();
        all.extend_from_slice(extra);
        let mut got = self.store.get_many(&all);
        let others = got.split_off(n.min(got.len()));
        let owners: Vec<Schema> = {
            let mut o = vec![None; n];
            for (i, _, plan) in &plans {
                for (_, src) in plan {
                    let at = match src {
                        Source::Own(at) | Source::Packed { at, .. } => *at,
                    };
                    o[at] = Some(wanted[*i].0);
                }
            }
            o.into_iter()
                .map(|s| s.unwrap_or(sglci_core::records::TASKS))
                .collect()
        };
        let mut decoded = decode_all(got, &keys, &owners)?;
        let mut tables: Vec<Table> = wanted
            .iter()
            .map(|(schema, _)| Table {
                schema: *schema,
                rows: Vec::new(),
            })
            .collect();
        let mut months = Vec::with_capacity(plans.len());
        for (i, month, plan) in plans {
            let start_row = tables[i].rows.len();
            let mut parts = Vec::with_capacity(plan.len());
            let mut own = 0;
            for (name, src) in plan {
                // Rows are moved, not copied: each object, and each range of a pack, is read
                // by one part only, and a long history's rows are most of a read's memory.
                let rows: Vec<serde_json::Map<String, serde_json::Value>> = match src {
                    Source::Own(at) => {
                        own += 1;
                        std::mem::take(&mut decoded[at])
                    }
                    Source::Packed { at, start, len } => {
                        let held = decoded[at].len();
                        decoded[at]
                            .get_mut(start..start + len)
                            .ok_or_else(|| HistoryError::Index {
                                key: keys[at].to_string(),
                                reason: format!(
                                    "the pack holds {held} rows, the index names rows {start}..{} of {name}",
                                    start + len
                                ),
                            })?
                            .iter_mut()
                            .map(std::mem::take)
                            .collect()
                    }
                };
                parts.push((name, rows.len()));
                tables[i].rows.extend(rows);
            }
            months.push(MonthRead {
                schema: wanted[i].0,
                month,
                rows: start_row..tables[i].rows.len(),
                parts,
                own,
            });
        }
        Ok(Read {
            tables,
            others,
            months,
        })
    }
}

/// One object as a batch read returned it.
type Fetched = Result<Vec<u8>, StoreError>;

/// Decodes fetched Parquet objects into rows, in order, on every core. Plain threads, each
/// with a few objects: polars decodes on its own pool, and a rayon worker that waits for it
/// steals more decoding meanwhile, nesting until its stack overflows (seen at 100x history).
fn decode_all(
    got: Vec<Fetched>,
    keys: &[Key],
    owners: &[Schema],
) -> Result<Vec<Vec<serde_json::Map<String, serde_json::Value>>>, HistoryError> {
    let decode = |bytes: Result<Vec<u8>, StoreError>, k: &Key, schema: Schema| {
        let df = ParquetReader::new(std::io::Cursor::new(bytes?))
            .finish()
            .map_err(|source| HistoryError::Parquet {
                key: k.to_string(),
                source,
            })?;
        Ok(Table::from_dataframe(schema, &df)?.rows)
    };
    let jobs: Vec<(Fetched, &Key, Schema)> = got
        .into_iter()
        .zip(keys)
        .zip(owners)
        .map(|((bytes, k), schema)| (bytes, k, *schema))
        .collect();
    on_threads(jobs, |(bytes, k, schema)| decode(bytes, k, schema))
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|| {
                Err(HistoryError::Index {
                    key: History::index_key().to_string(),
                    reason: "decoding an object panicked".to_owned(),
                })
            })
        })
        .collect()
}

/// `f` of every item, in order, on plain threads (one per core, at most 8), each with a run
/// of the items; `None` for the items of a thread that panicked. Not rayon: polars encodes
/// and decodes on its own pool, and a rayon worker that waits for it steals more work
/// meanwhile, nesting until its stack overflows (seen at 100x history).
fn on_threads<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<Option<R>> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    if items.len() <= 1 || workers == 1 {
        return items.into_iter().map(|i| Some(f(i))).collect();
    }
    let per = items.len().div_ceil(workers).max(1);
    let mut jobs: Vec<Vec<T>> = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        if i % per == 0 {
            jobs.push(Vec::with_capacity(per));
        }
        if let Some(job) = jobs.last_mut() {
            job.push(item);
        }
    }
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .into_iter()
            .map(|job| {
                let n = job.len();
                (
                    n,
                    scope.spawn(move || job.into_iter().map(f).collect::<Vec<R>>()),
                )
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|(n, h)| match h.join() {
                Ok(done) => done.into_iter().map(Some).collect::<Vec<_>>(),
                Err(_) => (0..n).map(|_| None).collect(),
            })
            .collect()
    })
}

/// One month of one table to read: (the table's place in the request, the month, each
/// partition object's name and where its rows come from).
type MonthPlan = (usize, String, Vec<(String, Source)>);

/// Where one object's rows are read from.
#[derive(Debug, Clone, Copy)]
enum Source {
    /// Its own object (the `at`th key of the batch).
    Own(usize),
    /// A range of a pack's rows.
    Packed { at: usize, start: usize, len: usize },
}

/// What [`Snapshot::read_tables_with`] read.
#[derive(Debug)]
pub struct Read {
    /// One table per table asked for, in the order asked.
    pub tables: Vec<Table>,
    /// The other objects' results, in the order asked.
    pub others: Vec<Result<Vec<u8>, StoreError>>,
    /// Per table and month read: where its rows are, and from what.
    pub months: Vec<MonthRead>,
}

/// One month of one table as read.
#[derive(Debug, Clone)]
pub struct MonthRead {
    pub schema: Schema,
    pub month: String,
    /// Its rows' range in the table read.
    pub rows: std::ops::Range<usize>,
    /// Each partition object's name and row count, in order.
    pub parts: Vec<(String, usize)>,
    /// How many of them were read from their own objects (not from a pack).
    pub own: usize,
}

/// A table's rows by month (`YYYY-MM`, or `undated`).
fn by_month(table: &Table) -> BTreeMap<String, Vec<serde_json::Map<String, serde_json::Value>>> {
    let mut out: BTreeMap<String, Vec<_>> = BTreeMap::new();
    for row in &table.rows {
        out.entry(month_of(row.get("date").and_then(|v| v.as_str())))
            .or_default()
            .push(row.clone());
    }
    out
}

/// One table's months: each month's name and Parquet body, in month order.
type MonthBodies = Vec<(String, Vec<u8>)>;

/// Each table's rows as one Parquet body per month, in month order.
fn month_parts(tables: &[&Table]) -> Result<Vec<MonthBodies>, HistoryError> {
    // Every table's months are encoded together: a table has a few months, a history many
    // tables.
    let mut jobs: Vec<(usize, String, Table)> = Vec::new();
    for (i, table) in tables.iter().enumerate() {
        for (month, rows) in by_month(table) {
            let schema = table.schema;
            jobs.push((i, month, Table { schema, rows }));
        }
    }
    let names: Vec<(usize, String)> = jobs.iter().map(|(i, m, _)| (*i, m.clone())).collect();
    let bodies = on_threads(jobs, |(_, _, part)| part.to_parquet());
    let mut out: Vec<MonthBodies> = tables.iter().map(|_| Vec::new()).collect();
    for ((i, month), body) in names.into_iter().zip(bodies) {
        let body = body.ok_or_else(|| HistoryError::Index {
            key: History::index_key().to_string(),
            reason: format!("encoding {month} of {} panicked", tables[i].schema.name),
        })??;
        out[i].push((month, body));
    }
    Ok(out)
}

/// Sixteen characters of a digest that are safe in an object name.
fn digest_token(digest: &str) -> String {
    let t: String = digest
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(16)
        .collect();
    if t.is_empty() {
        "0".to_owned()
    } else {
        t
    }
}

/// The index as stored: compact JSON. It is read and written on every publish and grows with
/// the history (about 100,000 partitions at 100x the fixture corpus), so indentation would be
/// paid for in bytes sent, parsed and held, every time.
fn encode_index(idx: &Index) -> Vec<u8> {
    serde_json::to_vec(idx).unwrap_or_default()
}

fn decode_index(bytes: &[u8]) -> Result<Index, String> {
    serde_json::from_slice(bytes).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use sglci_core::records::TASKS;

    fn rows(dates: &[&str]) -> Table {
        Table {
            schema: TASKS,
            rows: dates
                .iter()
                .map(|d| {
                    let v = json!({"date": d, "hardware": "mi30x", "task": "unit_test",
                        "task_name": "Unit Tests", "status": "pass", "reason": "ok"});
                    v.as_object().cloned().unwrap_or_default()
                })
                .collect(),
        }
    }

    #[test]
    fn a_rewrite_moves_a_partition_between_months() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = sglci_core::backend::DirStore::new(dir.path());
        let h = History::new(&store);
        h.write_partition(&rows(&["20251130", "20251201"]), "run-a")
            .expect("write");
        h.write_partition(&rows(&["20251201"]), "run-b")
            .expect("write");
        assert_eq!(h.months(TASKS).expect("months"), ["2025-11", "2025-12"]);
        // The same run delivered again with other rows: only its new months hold it.
        h.write_partition(&rows(&["20251202", "20260101"]), "run-a")
            .expect("rewrite");
        let t = h.read(TASKS).expect("read");
        let dates: Vec<&str> = t
            .rows
            .iter()
            .filter_map(|r| r.get("date").and_then(|v| v.as_str()))
            .collect();
        // Month order, then partition order within a month.
        assert_eq!(dates, ["20251202", "20251201", "20260101"]);
        assert!(!dir
            .path()
            .join("history/v1/tasks/2025-11/run-a.parquet")
            .exists());
        // Selected months only.
        let only: BTreeSet<String> = ["2026-01".to_owned()].into();
        assert_eq!(h.read_months(TASKS, &only).expect("read").rows.len(), 1);
    }
}
