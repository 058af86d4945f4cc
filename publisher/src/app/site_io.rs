//! The site's side of the store: which history months a render needs, rendering (whole or the
//! touched pages), and writing the result into a directory or a prefix in the store.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use sglci_core::records::{self, Schema};
use sglci_core::store::{Key, ObjectStore, StoreError};

use super::site_manifest::{
    blob_id, pack_key, shard_key, shard_of, ManifestPatch, SiteManifest, StoredRoot, REST_SHARD,
    SITE_MANIFEST, SITE_PACKS,
};
use super::AppError;
use crate::history::{self, History};
use crate::rows::Rows;
use crate::site::templates::{TemplateError, Templates};
use crate::site::{self, RenderedSite, Scope, SiteOptions, Touched};
use sglci_core::date::day_number;

/// Marker file of a directory the site was rendered into; only such directories are replaced.
pub const SITE_MARKER: &str = ".sglci-site";

/// Marker of a site whose writing started and has not finished (written first, removed last):
/// a render or update killed half-way leaves it, and the next run renders the whole site again
/// instead of patching a half-written one.
pub const SITE_PARTIAL: &str = ".sglci-site-partial";

/// What a target holds now, for deciding between an update and a whole render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SiteState {
    /// No finished site (none yet, a write killed half-way, or a store site without a whole
    /// manifest): render it whole.
    Absent,
    /// A finished site in a directory.
    Dir,
    /// A finished site in the store, with the shards of its manifest read so far.
    Store(ManifestPatch),
}

impl SiteState {
    pub fn exists(&self) -> bool {
        !matches!(self, Self::Absent)
    }
}

/// The objects that tell a store site's state: its markers, its manifest's root, and the shards
/// an update of these years likely touches (read in the same batch; see [`SiteProbe::state`]).
#[derive(Debug, Clone)]
pub struct SiteProbe {
    keys: Vec<Key>,
    shards: Vec<String>,
}

impl SiteProbe {
    /// The probe of the site under `prefix` for an update that touches `touched`: the shards of
    /// its years, of the year before for a night in January and of the year after for one in
    /// December (a night's neighbours are re-rendered, and may be across the new year).
    pub fn new(prefix: &Key, touched: &Touched) -> Result<Self, StoreError> {
        let mut years = touched.years.clone();
        for (_, date) in &touched.nights {
            let (Some(y), Some(m)) = (date.get(..4), date.get(4..6)) else {
                continue;
            };
            let Ok(y) = y.parse::<u16>() else {
                continue;
            };
            match m {
                "01" => years.insert(format!("{:04}", y.saturating_sub(1))),
                "12" => years.insert(format!("{:04}", y.saturating_add(1))),
                _ => false,
            };
        }
        let shards: Vec<String> = std::iter::once(REST_SHARD.to_owned())
            .chain(years.into_iter().filter(|y| shard_of(y) == y.as_str()))
            .collect();
        let mut keys = vec![
            prefix.join(SITE_MARKER)?,
            prefix.join(SITE_PARTIAL)?,
            prefix.join(SITE_MANIFEST)?,
        ];
        for s in &shards {
            keys.push(shard_key(prefix, s)?);
        }
        Ok(Self { keys, shards })
    }

    /// The keys to read.
    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    /// The site's state from the results of reading [`SiteProbe::keys`] (in order). A shard the
    /// root names that is gone makes the site one to render whole.
    pub fn state(&self, probe: Vec<Result<Vec<u8>, StoreError>>) -> Result<SiteState, StoreError> {
        let mut it = probe.into_iter();
        let mut present = || match it.next() {
            Some(Ok(bytes)) => Ok(Some(bytes)),
            Some(Err(StoreError::NotFound { .. })) | None => Ok(None),
            Some(Err(e)) => Err(e),
        };
        let (marker, partial, root) = (present()?, present()?, present()?);
        let root = match (marker, partial, root.as_deref().and_then(StoredRoot::parse)) {
            (Some(_), None, Some(root)) => root,
            _ => return Ok(SiteState::Absent),
        };
        let whole = matches!(root, StoredRoot::Whole(_));
        let mut patch = ManifestPatch::new(root);
        for shard in &self.shards {
            let bytes = present()?;
            if !whole && !patch.unloaded(std::iter::once(shard.as_str())).is_empty() {
                patch.load(shard, bytes.as_deref());
            }
        }
        Ok(if patch.is_broken() {
            SiteState::Absent
        } else {
            SiteState::Store(patch)
        })
    }
}

/// A directory site's state (no request).
pub fn dir_site_state(out: &Path) -> SiteState {
    if out.join(SITE_MARKER).is_file() && !out.join(SITE_PARTIAL).exists() {
        SiteState::Dir
    } else {
        SiteState::Absent
    }
}

/// A target's state for an update that touches `touched`: for the store, one batch of reads.
pub fn site_state(
    store: &dyn ObjectStore,
    target: &SiteTarget,
    touched: &Touched,
) -> Result<SiteState, AppError> {
    Ok(match target {
        SiteTarget::Dir(out) => dir_site_state(out),
        SiteTarget::Store(prefix) => {
            let probe = SiteProbe::new(prefix, touched)?;
            probe.state(store.get_many(probe.keys()))?
        }
    })
}

/// Loads the history for the site: every table whole, or per table only the months `select`
/// names for it.
pub fn load_site_data(
    hist: &History<'_>,
    select: Option<&dyn Fn(Schema) -> BTreeSet<String>>,
) -> Result<Rows, AppError> {
    hist.with_snapshot(
        |snap| site_data_of(snap, select),
        |e| matches!(e, AppError::History(h) if h.is_gone()),
    )
}

/// [`load_site_data`] from one snapshot.
fn site_data_of(
    snap: &crate::history::Snapshot<'_>,
    select: Option<&dyn Fn(Schema) -> BTreeSet<String>>,
) -> Result<Rows, AppError> {
    let mut wanted = Vec::new();
    let mut all_months = BTreeSet::new();
    for schema in records::ALL_SCHEMAS {
        let months = snap.months(*schema)?;
        all_months.extend(months.iter().cloned());
        wanted.push((
            *schema,
            match select {
                Some(f) => f(*schema),
                None => months.into_iter().collect(),
            },
        ));
    }
    let data = match select {
        // The recent months of a warm update: every table's objects in one batch.
        Some(_) => Rows::from_owned_tables(snap.read_tables(&wanted)?)?,
        None => read_rows_batched(snap, &wanted, WHOLE_READ_BATCH)?,
    };
    Ok(with_months(data, &all_months))
}

/// Table-months read in one batch when a whole history is read (a first site): their rows are
/// made typed before the next batch is read, so a long history is never held as JSON maps at
/// once (at 100x the fixture history those are gigabytes; the typed rows, a fraction).
pub const WHOLE_READ_BATCH: usize = 64;

/// The typed rows of `wanted` (tables and their months), read `per_batch` table-months at a
/// time: the same rows, in the same order, as one read of them all.
pub fn read_rows_batched(
    snap: &crate::history::Snapshot<'_>,
    wanted: &[(Schema, BTreeSet<String>)],
    per_batch: usize,
) -> Result<Rows, AppError> {
    let mut data = Rows::default();
    for batch in month_batches(wanted, per_batch) {
        for t in snap.read_tables(&batch)? {
            data.append_owned_table(t)?;
        }
    }
    data.merge_tasks();
    Ok(data)
}

/// `wanted` cut into batches of at most `per_batch` table-months (at least one), in order:
/// tables in their order, each table's months ascending.
pub fn month_batches(
    wanted: &[(Schema, BTreeSet<String>)],
    per_batch: usize,
) -> Vec<Vec<(Schema, BTreeSet<String>)>> {
    let per_batch = per_batch.max(1);
    let mut batches: Vec<Vec<(Schema, BTreeSet<String>)>> = vec![Vec::new()];
    let mut in_batch = 0;
    for (schema, months) in wanted {
        for month in months {
            if in_batch == per_batch {
                batches.push(Vec::new());
                in_batch = 0;
            }
            let batch = batches.last_mut().expect("never empty");
            match batch.last_mut() {
                Some((s, m)) if s.name == schema.name => {
                    m.insert(month.clone());
                }
                _ => batch.push((*schema, BTreeSet::from([month.clone()]))),
            }
            in_batch += 1;
        }
    }
    batches.retain(|b| !b.is_empty());
    batches
}

/// The site's data from tables read: typed rows, with the years and months of the whole history
/// (`all_months`: every table's, also those not read), as pages link to every year.
pub fn site_rows(
    tables: Vec<crate::table::Table>,
    all_months: &BTreeSet<String>,
) -> Result<Rows, AppError> {
    Ok(with_months(Rows::from_owned_tables(tables)?, all_months))
}

/// `data` with the years and months of the whole history (see [`site_rows`]).
pub fn with_months(mut data: Rows, all_months: &BTreeSet<String>) -> Rows {
    data.years = all_months
        .iter()
        .filter(|m| m.len() == 7 && m[..4].bytes().all(|b| b.is_ascii_digit()))
        .map(|m| m[..4].to_owned())
        .collect();
    data.months = all_months.clone();
    data.add_row_years();
    data
}

/// The rows of `tables` in the months `pick` names for each (the rows of a wider read, narrowed
/// to what one use of it read before: order is kept).
pub fn only_months(
    tables: &[crate::table::Table],
    pick: &dyn Fn(Schema) -> BTreeSet<String>,
) -> Vec<crate::table::Table> {
    tables
        .iter()
        .map(|t| {
            let months = pick(t.schema);
            crate::table::Table {
                schema: t.schema,
                rows: t
                    .rows
                    .iter()
                    .filter(|r| {
                        months.contains(&history::month_of(r.get("date").and_then(|v| v.as_str())))
                    })
                    .cloned()
                    .collect(),
            }
        })
        .collect()
}

/// The last day of a month directory (`YYYY-MM`) as a day number, or `None` for `undated`.
pub(super) fn month_end_day(month: &str) -> Option<i64> {
    let (y, m) = month.split_once('-')?;
    let (y, m): (i64, i64) = (y.parse().ok()?, m.parse().ok()?);
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    day_number(&format!("{ny:04}{nm:02}01")).map(|d| d - 1)
}

/// What an update reads, per table: the months that overlap the trend window (before the newest
/// month of the history), the touched months and the undated rows; for the task table also every
/// month of the touched years (the year's archive page counts its nights).
#[derive(Debug, Clone)]
pub struct UpdateMonths {
    pub window: BTreeSet<String>,
    pub touched_years: BTreeSet<String>,
    /// Every month of the history.
    pub all: BTreeSet<String>,
}

impl UpdateMonths {
    pub fn for_table(&self, schema: Schema) -> BTreeSet<String> {
        if schema.name == records::TASKS.name {
            self.window.union(&self.touched_years).cloned().collect()
        } else if schema.name == records::AB.name {
            // The A/B index lists every comparison: the (small) table is read whole.
            self.all.clone()
        } else {
            self.window.clone()
        }
    }

    /// Distinct months read over all tables.
    pub fn count(&self) -> usize {
        self.window.union(&self.touched_years).count()
    }
}

/// The months of a history: every table's, and those of the tables whose dates are nights
/// (tasks, runs, upstream coverage). The trend window ends at the newest of these, as the
/// pages' window does: an A/B comparison or a quarantined bundle may carry a later date (a
/// bundle's date is the runner's claim), and a window ending there would leave the pages of an
/// update without the nights they show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryMonths {
    pub all: BTreeSet<String>,
    pub nightly: BTreeSet<String>,
}

impl HistoryMonths {
    /// The months of these tables in a snapshot.
    pub fn of(
        snap: &crate::history::Snapshot<'_>,
        schemas: &[Schema],
    ) -> Result<Self, history::HistoryError> {
        let mut m = Self::default();
        for s in schemas {
            let months = snap.months(*s)?;
            if [records::TASKS, records::RUNS, records::UPSTREAM_COVERAGE]
                .iter()
                .any(|n| n.name == s.name)
            {
                m.nightly.extend(months.iter().cloned());
            }
            m.all.extend(months);
        }
        Ok(m)
    }
}

pub fn update_months(
    hist: &History<'_>,
    touched: &Touched,
    window_days: i64,
) -> Result<UpdateMonths, AppError> {
    let months = HistoryMonths::of(&hist.snapshot()?, records::ALL_SCHEMAS)?;
    Ok(update_months_of(&months, touched, window_days))
}

/// [`update_months`] from the history's months.
pub fn update_months_of(
    months: &HistoryMonths,
    touched: &Touched,
    window_days: i64,
) -> UpdateMonths {
    let newest_of = |ms: &BTreeSet<String>| ms.iter().filter_map(|m| month_end_day(m)).max();
    let newest = newest_of(&months.nightly)
        .or_else(|| newest_of(&months.all))
        .unwrap_or(0);
    // Nights are at most the newest month's end; a month matters when it ends inside the window.
    let from = newest - window_days - 31;
    let all = &months.all;
    let window = all
        .iter()
        .filter(|m| {
            *m == history::UNDATED
                || touched.months.contains(*m)
                || month_end_day(m).is_some_and(|d| d >= from)
        })
        .cloned()
        .collect();
    let touched_years = all
        .iter()
        .filter(|m| touched.years.iter().any(|y| m.starts_with(y.as_str())))
        .cloned()
        .collect();
    UpdateMonths {
        window,
        touched_years,
        all: all.clone(),
    }
}

/// Renders the whole site from the history.
pub fn render_full(
    store: &dyn ObjectStore,
    templates: &Templates,
    opts: &SiteOptions,
) -> Result<RenderedSite, AppError> {
    let data = load_site_data(&History::new(store), None)?;
    Ok(site::render_site(&data, templates, opts, &Scope::All)?)
}

/// Renders only the pages a new run touches, reading only the recent months of the history.
pub fn render_update(
    store: &dyn ObjectStore,
    templates: &Templates,
    opts: &SiteOptions,
    touched: &Touched,
) -> Result<RenderedSite, AppError> {
    let hist = History::new(store);
    let months = update_months(&hist, touched, opts.window_days)?;
    let data = load_site_data(&hist, Some(&|s| months.for_table(s)))?;
    Ok(site::render_site(
        &data,
        templates,
        opts,
        &Scope::Only(touched.clone()),
    )?)
}

pub use super::site_dir::{write_site, DirSiteWriter, DirWrite};

pub use crate::config::SiteTarget;

/// A site to keep up to date while ingesting.
#[derive(Debug)]
pub struct SiteJob<'a> {
    pub target: SiteTarget,
    pub templates: &'a Templates,
    pub opts: SiteOptions,
}

/// Brings a rendered site up to date: only the touched pages when the target holds an earlier
/// sglci site, the whole site otherwise. Returns the number of files written.
pub fn update_site(
    store: &dyn ObjectStore,
    job: &SiteJob<'_>,
    touched: &Touched,
) -> Result<usize, AppError> {
    let state = site_state(store, &job.target, touched)?;
    if state.exists() && touched.is_empty() {
        return Ok(0);
    }
    if state.exists() {
        let site = render_update(store, job.templates, &job.opts, touched)?;
        return write_site_to(store, &job.target, state, site, Vec::new(), true);
    }
    let mut w = SiteWriter::begin(store, &job.target, state, Vec::new(), true)?;
    let part_bytes = w.part_bytes;
    super::render_whole_site(store, job.templates, &job.opts, part_bytes, &mut |p| {
        w.part(p)
    })?;
    w.finish()
}

/// The site's stamp (`sglci.json`): the history generation it was rendered from and when. The
/// Pages effect reads it to never replace a newer site with an older one; people and scripts
/// read it to see how fresh the site is.
pub fn site_stamp(generation: u64, generated_at: &str) -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct Stamp<'a> {
        generation: u64,
        generated_at: &'a str,
    }
    serde_json::to_vec_pretty(&Stamp {
        generation,
        generated_at,
    })
    .unwrap_or_default()
}

/// Bytes of a site gathered before they are written: a whole site is rendered and written a
/// part at a time (see [`render_site_to`](crate::site::render_site_to)), so that its memory does
/// not grow with the history (a first site at 10x the fixture history is 11,000 files).
pub const SITE_PART_BYTES: usize = 16 << 20;

/// Writes a rendered site to its target as [`SiteState`] found it, with `also` (other objects:
/// the derived regressions). See [`SiteWriter`]. Returns the files written.
pub fn write_site_to(
    store: &dyn ObjectStore,
    target: &SiteTarget,
    state: SiteState,
    site: RenderedSite,
    also: Vec<(Key, Vec<u8>)>,
    skip_unchanged: bool,
) -> Result<usize, AppError> {
    let mut w = SiteWriter::begin(store, target, state, also, skip_unchanged)?;
    w.part(site)?;
    w.finish()
}

/// Renders `data` (the pages in `scope`) into `w` a part at a time.
pub fn render_into(
    data: &Rows,
    templates: &Templates,
    opts: &SiteOptions,
    scope: &Scope,
    w: &mut SiteWriter<'_>,
) -> Result<(), AppError> {
    let part_bytes = w.part_bytes;
    let skel = site::Skeleton::of(data);
    super::site_parts::render_rows(data, &skel, templates, opts, scope, part_bytes, &mut |p| {
        w.part(p)
    })
}

/// What [`render_site_dir`] did: the write, and the site's files and bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirSite {
    pub write: DirWrite,
    pub files: usize,
    pub bytes: usize,
}

/// Renders the whole site of `store`'s history into the directory `out` (replacing an earlier
/// site there; see [`write_site`]) a part at a time, as [`update_site`] makes a first site, with
/// the stamp when `opts.generation` is set: the CLI's `site`.
pub fn render_site_dir(
    store: &dyn ObjectStore,
    templates: &Templates,
    opts: &SiteOptions,
    out: &Path,
) -> Result<DirSite, AppError> {
    let mut w = DirSiteWriter::begin(out, true)?;
    // Path → bytes: a render started again (see [`render_whole_site`]) hands files twice.
    let mut sizes: BTreeMap<String, usize> = BTreeMap::new();
    let mut part = |p: RenderedSite| {
        sizes.extend(p.iter().map(|(rel, b)| (rel.clone(), b.len())));
        w.part(&p)
    };
    super::render_whole_site(store, templates, opts, SITE_PART_BYTES, &mut part)?;
    if let Some(g) = opts.generation {
        let stamp = site_stamp(g, &opts.generated_at);
        part(RenderedSite::from([(
            super::effects::SITE_STAMP.to_owned(),
            stamp,
        )]))?;
    }
    Ok(DirSite {
        write: w.finish()?,
        files: sizes.len(),
        bytes: sizes.values().sum(),
    })
}

/// A site written to its target a part at a time, as [`SiteState`] found it:
/// [`SiteWriter::begin`], [`SiteWriter::part`] for each part, [`SiteWriter::finish`].
///
/// - A store site with a manifest gets only the files whose bytes differ from it (all of them
///   unless `skip_unchanged`), then the updated manifest; `also` goes in the first batch, and a
///   site smaller than [`SITE_PART_BYTES`] is one batch with its manifest (the warm path's one
///   round of requests). When a batch fails the index's derived generation stays behind, and the
///   next derive trusts no manifest entry (it writes every page it renders).
/// - Any other store target is written whole: only when the prefix is empty or holds an earlier
///   sglci site (the cold path: it lists the prefix), marked partial until the last part, then
///   the objects the new site lacks are removed.
/// - A directory: see [`DirSiteWriter`](DirSiteWriter).
pub struct SiteWriter<'s> {
    store: &'s dyn ObjectStore,
    to: WriteTo,
    written: usize,
    part_bytes: usize,
}

impl std::fmt::Debug for SiteWriter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let to = match &self.to {
            WriteTo::Patch { prefix, .. } => format!("patch {prefix}"),
            WriteTo::Whole { prefix, .. } => format!("whole {prefix}"),
            WriteTo::Dir(w) => format!("{w:?}"),
        };
        f.debug_struct("SiteWriter")
            .field("to", &to)
            .field("written", &self.written)
            .finish()
    }
}

enum WriteTo {
    Patch {
        prefix: Key,
        manifest: ManifestPatch,
        skip_unchanged: bool,
        batch: Vec<(Key, Vec<u8>)>,
        batch_bytes: usize,
    },
    Whole {
        prefix: Key,
        existing: Vec<Key>,
        manifest: SiteManifest,
        /// Leave the packs `existing` holds (another whole render was under way at the start).
        keep_packs: bool,
    },
    Dir(DirSiteWriter),
}

impl<'s> SiteWriter<'s> {
    pub fn begin(
        store: &'s dyn ObjectStore,
        target: &SiteTarget,
        state: SiteState,
        also: Vec<(Key, Vec<u8>)>,
        skip_unchanged: bool,
    ) -> Result<Self, AppError> {
        let to = match (target, state) {
            (SiteTarget::Store(prefix), SiteState::Store(manifest)) => WriteTo::Patch {
                prefix: prefix.clone(),
                manifest,
                skip_unchanged,
                batch_bytes: also.iter().map(|(_, b)| b.len()).sum(),
                batch: also,
            },
            (SiteTarget::Store(prefix), _) => {
                store.put_many(&also)?;
                begin_whole_site(store, prefix)?
            }
            (SiteTarget::Dir(out), state) => {
                store.put_many(&also)?;
                WriteTo::Dir(DirSiteWriter::begin(out, !state.exists())?)
            }
        };
        Ok(Self {
            store,
            to,
            written: 0,
            part_bytes: SITE_PART_BYTES,
        })
    }

    /// Parts (and batches) of about `bytes` instead of [`SITE_PART_BYTES`].
    pub fn with_part_bytes(mut self, bytes: usize) -> Self {
        self.part_bytes = bytes.max(1);
        self
    }

    /// The size of the parts it takes.
    pub fn part_bytes(&self) -> usize {
        self.part_bytes
    }

    /// Writes a part of the site (or gathers it into the next batch).
    pub fn part(&mut self, part: RenderedSite) -> Result<(), AppError> {
        match &mut self.to {
            WriteTo::Patch {
                prefix,
                manifest,
                skip_unchanged,
                batch,
                batch_bytes,
            } => {
                load_shards(self.store, prefix, manifest, &part)?;
                let trusted = !manifest.is_broken();
                for (rel, bytes) in part {
                    let id = blob_id(&bytes);
                    let previous = manifest.insert(rel.clone(), id.clone());
                    if !*skip_unchanged || !trusted || previous.as_deref() != Some(id.as_str()) {
                        // Written as an object of its own: a pack's copy is stale now.
                        manifest.unpack(&rel);
                        *batch_bytes += bytes.len();
                        batch.push((prefix.join(&rel)?, bytes));
                        self.written += 1;
                    }
                }
                if *batch_bytes >= self.part_bytes {
                    self.store.put_many(batch)?;
                    batch.clear();
                    *batch_bytes = 0;
                }
            }
            WriteTo::Whole {
                prefix, manifest, ..
            } => {
                // One object for the part (see `site_packs`); its files are found through the
                // manifest, which is written last.
                let files = part.len();
                for chunk in super::site_packs::chunks(part, self.part_bytes) {
                    let Some(pack) = super::site_packs::pack(chunk) else {
                        continue;
                    };
                    self.store
                        .put(&pack_key(prefix, &pack.name)?, &pack.bytes)?;
                    for (rel, id, at) in pack.entries {
                        manifest.files.insert(rel.clone(), id);
                        manifest.packed.insert(rel, at);
                    }
                }
                self.written += files;
            }
            WriteTo::Dir(w) => {
                w.part(&part)?;
                self.written = w.written();
            }
        }
        Ok(())
    }

    /// Writes the manifest (a store site), removes what the new site lacks (a whole site), and
    /// marks the site finished. Returns the files written.
    pub fn finish(self) -> Result<usize, AppError> {
        match self.to {
            WriteTo::Patch {
                prefix,
                manifest,
                mut batch,
                ..
            } => match manifest.objects(&prefix)? {
                Some(stored) => {
                    batch.extend(stored.shards);
                    self.store.put_many(&batch)?;
                    if let Some((key, bytes)) = stored.root {
                        self.store.put(&key, &bytes)?;
                    }
                }
                None => {
                    // A shard was lost: the next publish renders the site whole.
                    self.store.put_many(&batch)?;
                    self.store.delete(&prefix.join(SITE_MANIFEST)?)?;
                }
            },
            WriteTo::Whole {
                prefix,
                existing,
                manifest,
                keep_packs,
            } => finish_whole_site(self.store, &prefix, (existing, keep_packs), &manifest)?,
            WriteTo::Dir(w) => {
                w.finish()?;
            }
        }
        Ok(self.written)
    }
}

/// Reads the manifest's shards that entries of the part's files live in and the patch has not
/// read yet (an update's probe reads the likely ones; this finds the rest, such as a neighbour
/// night across a new year).
fn load_shards(
    store: &dyn ObjectStore,
    prefix: &Key,
    manifest: &mut ManifestPatch,
    part: &RenderedSite,
) -> Result<(), AppError> {
    let need = manifest.unloaded(part.keys().map(String::as_str));
    if need.is_empty() {
        return Ok(());
    }
    let keys = need
        .iter()
        .map(|s| shard_key(prefix, s))
        .collect::<Result<Vec<_>, _>>()?;
    for (shard, got) in need.iter().zip(store.get_many(&keys)) {
        match got {
            Ok(bytes) => manifest.load(shard, Some(&bytes)),
            Err(StoreError::NotFound { .. }) => manifest.load(shard, None),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Whether the store holds `key`.
fn has(store: &dyn ObjectStore, key: &Key) -> Result<bool, AppError> {
    match store.get(key) {
        Ok(_) => Ok(true),
        Err(StoreError::NotFound { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Starts a whole site under `prefix`: refused unless the prefix is empty or holds an earlier
/// sglci site, then marked partial.
fn begin_whole_site(store: &dyn ObjectStore, prefix: &Key) -> Result<WriteTo, AppError> {
    let marker = prefix.join(SITE_MARKER)?;
    let existing = store.list(prefix.as_str())?;
    let partial = prefix.join(SITE_PARTIAL)?;
    if !existing.is_empty() && !has(store, &marker)? && !has(store, &partial)? {
        return Err(AppError::NotASitePrefix(prefix.to_string()));
    }
    // Another whole render may be under way (or stopped half-way): the packs listed now may be
    // its own, and its manifest may land after this one's. They are left for a later whole
    // render to remove.
    let keep_packs = existing.contains(&partial);
    store.put(&partial, b"being written by sglci-publisher\n")?;
    Ok(WriteTo::Whole {
        prefix: prefix.clone(),
        existing,
        manifest: SiteManifest::default(),
        keep_packs,
    })
}

/// Ends a whole site: its manifest, the objects it lacks removed (packs only when no other
/// whole render was under way at the start: `keep_packs`), the marker, the partial marker
/// removed.
fn finish_whole_site(
    store: &dyn ObjectStore,
    prefix: &Key,
    (existing, keep_packs): (Vec<Key>, bool),
    manifest: &SiteManifest,
) -> Result<(), AppError> {
    let (marker, partial) = (prefix.join(SITE_MARKER)?, prefix.join(SITE_PARTIAL)?);
    let stored = manifest.objects(prefix)?;
    store.put_many(&stored.shards)?;
    if let Some((key, bytes)) = &stored.root {
        store.put(key, bytes)?;
    }
    let packs = manifest.pack_keys(prefix)?;
    let stale: Vec<Key> = existing
        .into_iter()
        .filter(|k| {
            let rel = k
                .as_str()
                .strip_prefix(prefix.as_str())
                .and_then(|rel| rel.strip_prefix('/'));
            let a_pack = rel.is_some_and(|r| r.starts_with(&format!("{SITE_PACKS}/")));
            if keep_packs && a_pack {
                return false;
            }
            let keep = rel
                // A file now packed leaves its earlier object behind, stale.
                .is_some_and(|rel| {
                    manifest.files.contains_key(rel) && !manifest.packed.contains_key(rel)
                });
            !keep && *k != marker && *k != partial && !stored.holds(k) && !packs.contains(k)
        })
        .collect();
    store.delete_many(&stale)?;
    store.put(&marker, b"rendered by sglci-publisher\n")?;
    store.delete(&partial)?;
    Ok(())
}

/// The site's templates read from a directory (a working copy of `site-templates/`, for
/// `site --templates DIR`): every file the embedded set has, by the same name.
pub fn load_templates(dir: &Path) -> Result<Templates, TemplateError> {
    let mut files = Vec::new();
    for name in Templates::file_names() {
        let text = std::fs::read_to_string(dir.join(name)).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                TemplateError::Missing {
                    dir: dir.display().to_string(),
                    name: name.to_owned(),
                }
            } else {
                TemplateError::Read {
                    dir: dir.display().to_string(),
                    source,
                }
            }
        })?;
        files.push((name.to_owned(), text));
    }
    Templates::from_files(files.into_iter())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An A/B comparison recorded a year after the last night (or a bundle claiming a date far
    /// ahead) does not move the window off the nights.
    #[test]
    fn the_window_ends_at_the_newest_night_not_at_the_newest_month_of_any_table() {
        let set = |ms: &[&str]| ms.iter().map(|m| (*m).to_owned()).collect::<BTreeSet<_>>();
        let months = HistoryMonths {
            all: set(&[
                "2025-01", "2025-10", "2025-11", "2025-12", "2026-12", "2099-12", "undated",
            ]),
            nightly: set(&["2025-01", "2025-10", "2025-11", "2025-12"]),
        };
        let w = update_months_of(&months, &Touched::default(), 180);
        assert_eq!(
            w.window,
            set(&["2025-10", "2025-11", "2025-12", "2026-12", "2099-12", "undated"])
        );
        let none = HistoryMonths {
            nightly: BTreeSet::new(),
            ..months
        };
        let w = update_months_of(&none, &Touched::default(), 180);
        assert_eq!(
            w.window,
            set(&["2099-12", "undated"]),
            "no nights: the newest month of any"
        );
    }
}
