//! The derived state after a commit: regression findings and the site's touched pages,
//! recomputed until the round saw every commit.

use sglci_core::records;

use super::{load_site_data, update_months, update_site, write_site_stamp, AppError, SiteJob};
use crate::history::{History, HistoryError};
use crate::rows::Rows;
use crate::site::Touched;

/// Partition of the regressions table: derived from the whole history, rewritten whole.
pub const DETECTED_PARTITION: &str = crate::history::DERIVED_PARTITION;

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

/// Runs regression detection over the recent history (the months overlapping the last
/// [`DETECT_WINDOW_DAYS`] days) and stores the findings (the `regressions` table, partition
/// [`DETECTED_PARTITION`]). Returns how many there are.
pub fn refresh_regressions(hist: &History<'_>) -> Result<usize, AppError> {
    let data = detection_data(hist)?;
    let rows: Vec<records::RegressionRow> =
        crate::regress::detect(&data, &crate::regress::DetectConfig::default())
            .iter()
            .map(crate::regress::Finding::to_row)
            .collect();
    let table = crate::table::Table::from_rows(records::REGRESSIONS, &rows)?;
    hist.write_partition(&table, DETECTED_PARTITION)?;
    Ok(rows.len())
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
    /// Site files written.
    pub site_files: usize,
    /// Rounds it took (more than one when another publisher committed meanwhile).
    pub rounds: usize,
}

/// Brings the derived state up to date after a commit: the regressions table and, with `site`,
/// the pages `touched` names (or the whole site the first time).
///
/// Concurrency: each round reads the index and its version first, then the history, writes the
/// derived objects, and finally records the generation it derived from in the index by a
/// conditional write. When another publisher committed in between, that write fails and the
/// round runs again on the newer history, so the last writer of every shared page and of the
/// regressions table saw every commit. Each publisher renders the pages its own runs touch at
/// least once; pages shared with others are re-rendered by whoever derives last.
pub fn derive(
    hist: &History<'_>,
    site: Option<&SiteJob<'_>>,
    touched: &Touched,
) -> Result<Derived, AppError> {
    let mut out = Derived::default();
    for round in 1..=DERIVE_ATTEMPTS {
        out.rounds = round;
        // Nothing committed: nothing to derive from.
        let Some((idx, version)) = hist.index_versioned()? else {
            return Ok(out);
        };
        out.regressions = refresh_regressions(hist)?;
        if let Some(job) = site {
            let job = SiteJob {
                target: job.target.clone(),
                templates: job.templates,
                opts: crate::site::SiteOptions {
                    generation: Some(idx.generation),
                    ..job.opts.clone()
                },
            };
            out.site_files = update_site(hist.store(), &job, touched)?;
            write_site_stamp(
                hist.store(),
                &job.target,
                idx.generation,
                &job.opts.generated_at,
            )?;
        }
        if hist.mark_derived(idx, &version)? {
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
