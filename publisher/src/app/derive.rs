//! The derived state after a commit: regression findings and the site's touched pages,
//! recomputed until the round saw every commit.
//!
//! One round reads the history once: the months the detection window and the touched pages
//! need, with the site's state, in one batch. The findings and the pages are computed from it,
//! and written together in one batch (the findings as content-named objects); the index then
//! names the findings with the same conditional write that records the derived generation.

use std::collections::BTreeSet;

use sglci_core::records::{self, Schema};

use super::{
    load_site_data, only_months, render_whole_in_parts, site_rows, site_stamp, update_months,
    update_months_of, write_site_to, AppError, SiteJob, SiteProbe, SiteState, SiteTarget,
    SiteWriter,
};
use crate::history::{DerivedUpdate, History, HistoryError, Index, Pack, Read};
use crate::rows::Rows;
use crate::site::{RenderedSite, Scope, Touched};
use crate::table::Table;
use sglci_core::store::Key;

/// Days of history the stored regression findings are computed from: the site's trend window.
/// Baselines need 14 valid nights and attribution looks back over the series, so this is ample;
/// it keeps a publish's reading (and memory) the same whatever the history's length.
pub const DETECT_WINDOW_DAYS: i64 = 180;

/// The history regression detection reads: the months overlapping the last
/// [`DETECT_WINDOW_DAYS`] days.
pub fn detection_data(hist: &History<'_>) -> Result<Rows, AppError> {
    let months = update_months(hist, &Touched::default(), DETECT_WINDOW_DAYS)?.window;
    load_site_data(hist, Some(&|_| months.clone()))
}

/// The regression findings of the detection window's rows, as the table stores them.
pub fn findings_of(data: &Rows) -> Vec<records::RegressionRow> {
    crate::regress::refresh::detect_rows(data, &crate::regress::DetectConfig::default())
}

/// The identity of a source's rows: the same rows give the same digest, so a bundle delivered
/// twice (or a backfill run twice) commits nothing the second time.
pub fn rows_digest(tables: &[crate::table::Table]) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for t in tables {
        h.update(t.schema.name.as_bytes());
        h.update([0]);
        for row in &t.rows {
            h.update(serde_json::to_vec(row).unwrap_or_default());
            h.update([b'\n']);
        }
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Conditional-write rounds of [`derive`] before it gives up (the message is then retried).
const DERIVE_ATTEMPTS: usize = 16;

/// What [`derive`] did.
#[derive(Debug, Clone, Default)]
pub struct Derived {
    /// Regression findings stored.
    pub regressions: usize,
    /// Models detection ran on (the others kept their stored findings: their input is
    /// unchanged).
    pub models_detected: usize,
    /// Site files written.
    pub site_files: usize,
    /// Rounds it took (more than one when another publisher committed meanwhile).
    pub rounds: usize,
    /// Months packed (see [`crate::history::Pack`]).
    pub packs: usize,
}

/// A month that new runs are still adding to (one the round's runs touch, and `undated`) is
/// packed once it is read from this many partition objects (not from its pack): a pack costs one
/// larger write, so a busy month is rewritten every few nights, not every night. Any other month
/// is packed as soon as it is read from two: it is settled, and one object per month keeps a
/// read at one request per table and month whatever the history holds.
pub const PACK_AFTER: usize = 4;

/// Brings the derived state up to date after a commit: the regressions table and, with `site`,
/// the pages `touched` names (or the whole site the first time).
///
/// Concurrency: each round reads the index and its version first, then the history, writes the
/// derived objects, and finally records the generation it derived from (and the findings'
/// objects) in the index by a conditional write. When another publisher committed in between,
/// that write fails and the round runs again on the newer history, so the last writer of every
/// shared page and of the regressions table saw every commit. Each publisher renders the pages
/// its own runs touch at least once; pages shared with others are re-rendered by whoever
/// derives last.
pub fn derive(
    hist: &History<'_>,
    site: Option<&SiteJob<'_>>,
    touched: &Touched,
) -> Result<Derived, AppError> {
    derive_with(hist, site, touched, true, None)
}

/// [`derive`]. Without `trust_manifest` every rendered page is written, also those the site's
/// manifest says are unchanged (after a derive that stopped half-way, the manifest may name
/// pages whose writing failed). `first`: the index (and its version) the caller has just read,
/// for the first round.
pub fn derive_with(
    hist: &History<'_>,
    site: Option<&SiteJob<'_>>,
    touched: &Touched,
    trust_manifest: bool,
    mut first: Option<(Index, sglci_core::store::Version)>,
) -> Result<Derived, AppError> {
    let mut out = Derived::default();
    for round in 1..=DERIVE_ATTEMPTS {
        out.rounds = round;
        let read = match first.take() {
            Some(f) => Some(f),
            None => hist.index_versioned()?,
        };
        // Nothing committed: nothing to derive from.
        let Some((idx, version)) = read else {
            return Ok(out);
        };
        let r = match derive_round(hist, &idx, site, touched, trust_manifest) {
            Ok(r) => r,
            // An object this round's index named was replaced meanwhile: a newer index.
            Err(AppError::History(e)) if e.is_gone() => continue,
            Err(e) => return Err(e),
        };
        out.regressions = r.regressions;
        out.models_detected = r.models_detected;
        out.site_files = r.site_files;
        out.packs = r.update.packs.len();
        if let Some(replaced) = hist.mark_derived(idx, &version, r.update)? {
            // Garbage only: a failure leaves unnamed objects, never a wrong history.
            if let Err(e) = hist.store().delete_many(&replaced) {
                tracing::warn!(error = %e, objects = replaced.len(), "replaced findings or packs were not removed");
            }
            return Ok(out);
        }
        tracing::info!(round, "the history changed while deriving; deriving again");
    }
    Err(
        HistoryError::Update(sglci_core::store::UpdateError::Contended {
            key: History::index_key().to_string(),
            attempts: DERIVE_ATTEMPTS,
        })
        .into(),
    )
}

/// What one round computed and wrote.
struct Round {
    update: DerivedUpdate,
    regressions: usize,
    models_detected: usize,
    site_files: usize,
}

/// One round at `idx`: one batch of reads (the months detection and the touched pages need,
/// and the site's state), the findings and the pages, one batch of writes.
fn derive_round(
    hist: &History<'_>,
    idx: &Index,
    site: Option<&SiteJob<'_>>,
    touched: &Touched,
    trust_manifest: bool,
) -> Result<Round, AppError> {
    let snap = hist.snapshot_at(idx);
    let schemas: Vec<Schema> = records::ALL_SCHEMAS
        .iter()
        .copied()
        .filter(|s| s.name != records::REGRESSIONS.name)
        .collect();
    let months = super::HistoryMonths::of(&snap, &schemas)?;
    let detect = update_months_of(&months, &Touched::default(), DETECT_WINDOW_DAYS).window;
    let pages = site.map(|job| update_months_of(&months, touched, job.opts.window_days));
    let all = months.all;
    let mut wanted: Vec<(Schema, BTreeSet<String>)> = schemas
        .iter()
        .map(|s| {
            let mut m = detect.clone();
            if let Some(p) = &pages {
                m.extend(p.for_table(*s));
            }
            (*s, m)
        })
        .collect();
    // The stored findings, in the same batch: a model whose input is unchanged keeps them.
    let stored = idx.detected.as_ref().filter(|d| !d.inputs.is_empty());
    if let Some(d) = stored {
        wanted.push((records::REGRESSIONS, d.months.iter().cloned().collect()));
    }
    let probe = match site.map(|j| &j.target) {
        Some(SiteTarget::Store(prefix)) => Some(SiteProbe::new(prefix, touched)?),
        _ => None,
    };
    let started = std::time::Instant::now();
    let read = snap.read_tables_with(&wanted, probe.as_ref().map_or(&[], |p| p.keys()))?;
    let read_at = started.elapsed();
    let mut active = touched.months.clone();
    active.insert(crate::history::UNDATED.to_owned());
    let (packs, pack_objects) = packs_of(hist, idx.generation, &read, &active)?;
    let read_months = read.months.len();
    let (mut tables, probed) = (read.tables, read.others);
    let refreshed = round_findings(&mut tables, &detect, &all, stored)?;
    let findings = refreshed.findings;
    let models_detected = refreshed.recomputed.len();
    let detect_at = started.elapsed();
    let mut found_months = all.clone();
    found_months.extend(
        findings
            .iter()
            .map(|f| crate::history::month_of(Some(&f.date))),
    );
    let (mut entry, objects) =
        hist.derived_objects(&Table::from_rows(records::REGRESSIONS, &findings)?)?;
    entry.inputs = refreshed.inputs;
    // The same findings as the index names (whatever the inputs' digests): their objects are
    // there already.
    let same = idx
        .detected
        .as_ref()
        .is_some_and(|d| d.file == entry.file && d.months == entry.months);
    let mut objects = if same { Vec::new() } else { objects };
    objects.extend(pack_objects);
    let update = DerivedUpdate {
        detected: Some(entry),
        packs,
    };
    let regressions = findings.len();
    let Some(job) = site else {
        hist.store().put_many(&objects)?;
        return Ok(Round {
            update,
            regressions,
            models_detected,
            site_files: 0,
        });
    };
    let state = match &job.target {
        SiteTarget::Store(_) => match &probe {
            Some(p) => p.state(probed)?,
            None => SiteState::Absent,
        },
        SiteTarget::Dir(out) => super::dir_site_state(out),
    };
    let opts = crate::site::SiteOptions {
        generation: Some(idx.generation),
        ..job.opts.clone()
    };
    let stamp = (
        super::effects::SITE_STAMP.to_owned(),
        site_stamp(idx.generation, &opts.generated_at),
    );
    let packed = update.packs.len();
    let (render_at, rendered, site_files) = match (&state, &pages) {
        (SiteState::Absent, _) | (_, None) => {
            // The whole site, rendered and written a part at a time (so the log's render_ms
            // includes the parts' writes, and write_ms is the manifest and markers).
            let mut w =
                SiteWriter::begin(hist.store(), &job.target, state, objects, trust_manifest)?;
            let whole = (&findings[..], &found_months);
            whole_site_into(&snap, whole, job.templates, &opts, &mut w)?;
            w.part(RenderedSite::from([stamp]))?;
            (started.elapsed(), None, w.finish()?)
        }
        (_, Some(p)) => {
            let mut rendered =
                touched_pages(&tables, p, &found_months, findings, job, &opts, touched)?;
            rendered.insert(stamp.0, stamp.1);
            let (render_at, count) = (started.elapsed(), rendered.len());
            let written = write_site_to(
                hist.store(),
                &job.target,
                state,
                rendered,
                objects,
                trust_manifest,
            )?;
            (render_at, Some(count), written)
        }
    };
    // Where a publish's time goes, in the Lambda's log.
    let ms = |d: std::time::Duration| d.as_millis() as u64;
    tracing::info!(
        generation = idx.generation,
        read_ms = ms(read_at),
        detect_ms = ms(detect_at - read_at),
        render_ms = ms(render_at - detect_at),
        write_ms = ms(started.elapsed() - render_at),
        months_read = read_months,
        models_detected,
        packed,
        rendered = rendered.unwrap_or(site_files),
        written = site_files,
        "derived"
    );
    Ok(Round {
        update,
        regressions,
        models_detected,
        site_files,
    })
}

/// The whole site of the snapshot (with these findings and the history's months) into `w`, a
/// year at a time.
fn whole_site_into(
    snap: &crate::history::Snapshot<'_>,
    (findings, all): (&[records::RegressionRow], &BTreeSet<String>),
    templates: &crate::site::templates::Templates,
    opts: &crate::site::SiteOptions,
    w: &mut SiteWriter<'_>,
) -> Result<(), AppError> {
    let part_bytes = w.part_bytes();
    render_whole_in_parts(snap, findings, all, templates, opts, part_bytes, &mut |p| {
        w.part(p)
    })
}

/// The pages a round's new runs touched (none when they touched none), from the months it read.
fn touched_pages(
    tables: &[Table],
    p: &super::UpdateMonths,
    found_months: &BTreeSet<String>,
    findings: Vec<records::RegressionRow>,
    job: &SiteJob<'_>,
    opts: &crate::site::SiteOptions,
    touched: &Touched,
) -> Result<RenderedSite, AppError> {
    if touched.is_empty() {
        return Ok(RenderedSite::new());
    }
    let mut data = site_rows(only_months(tables, &|s| p.for_table(s)), found_months)?;
    let keep = p.for_table(records::REGRESSIONS);
    data.regressions = findings
        .into_iter()
        .filter(|f| keep.contains(&crate::history::month_of(Some(&f.date))))
        .collect();
    let scope = Scope::Only(touched.clone());
    Ok(crate::site::render_site(
        &data,
        job.templates,
        opts,
        &scope,
    )?)
}

/// The round's findings from the rows it read: the stored findings (taken out of `tables`) are
/// kept for every model whose detection input is unchanged, the other models are detected again.
fn round_findings(
    tables: &mut Vec<Table>,
    detect: &BTreeSet<String>,
    all: &BTreeSet<String>,
    stored: Option<&crate::history::DerivedEntry>,
) -> Result<crate::regress::refresh::Refreshed, AppError> {
    let previous = match tables
        .iter()
        .position(|t| t.schema.name == records::REGRESSIONS.name)
    {
        Some(i) => Rows::from_owned_tables(vec![tables.remove(i)])?.regressions,
        None => Vec::new(),
    };
    Ok(crate::regress::refresh::refresh(
        &site_rows(only_months(tables, &|_| detect.clone()), all)?,
        &crate::regress::DetectConfig::default(),
        stored.map(|d| crate::regress::refresh::Stored {
            findings: &previous,
            inputs: &d.inputs,
        }),
    ))
}

/// Packs of the months this read took from several partition objects (see [`PACK_AFTER`];
/// `active`: the months new runs are adding to): the rows are in memory already, so a pack
/// costs one write in the round's batch.
#[allow(clippy::type_complexity)]
fn packs_of(
    hist: &History<'_>,
    generation: u64,
    read: &Read,
    active: &BTreeSet<String>,
) -> Result<(Vec<(String, String, Pack)>, Vec<(Key, Vec<u8>)>), AppError> {
    let mut packs = Vec::new();
    let mut objects = Vec::new();
    let due = |m: &&crate::history::MonthRead| {
        m.own >= PACK_AFTER || (m.own >= 2 && !active.contains(&m.month))
    };
    for m in read.months.iter().filter(due) {
        let Some(t) = read.tables.iter().find(|t| t.schema.name == m.schema.name) else {
            continue;
        };
        let rows = t.rows.get(m.rows.clone()).unwrap_or_default();
        let (pack, object) = hist.pack_object(m.schema, &m.month, generation, rows, &m.parts)?;
        packs.push((m.schema.name.to_owned(), m.month.clone(), pack));
        objects.push(object);
    }
    Ok((packs, objects))
}
