//! The publisher's commands over the pure core and the directory history.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::Serialize;
use sglci_core::records::{self, Schema};

use crate::history::{self, DirHistory, HistoryError};
use crate::legacy::{self, Backfill, ScanError};
use crate::table::{Table, TableError};

/// Partition written by the legacy backfill.
pub const LEGACY_PARTITION: &str = "legacy";

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Scan(#[from] ScanError),
    #[error(transparent)]
    History(#[from] HistoryError),
    #[error(transparent)]
    Table(#[from] TableError),
    #[error("unknown table `{0}` (hint: one of {1})")]
    UnknownTable(String, String),
    #[error("writing the output: {0}")]
    Output(#[from] std::io::Error),
    #[error("encoding Parquet: {0}")]
    Parquet(polars::prelude::PolarsError),
}

impl AppError {
    /// Exit code: 2 for usage errors, 3 for infrastructure (store, disk).
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::UnknownTable(..) => 2,
            Self::Scan(ScanError::NotADir { .. }) => 2,
            _ => 3,
        }
    }
}

/// What `ingest --legacy` did.
#[derive(Debug, Serialize)]
pub struct IngestReport {
    pub files: usize,
    pub bytes: u64,
    pub interpreted: usize,
    pub quarantined: usize,
    /// Per file kind: interpreted and quarantined counts.
    pub kinds: BTreeMap<String, (usize, usize)>,
    /// Rows written per table.
    pub tables: BTreeMap<String, usize>,
}

/// The backfill's tables, in the order of [`records::ALL_SCHEMAS`].
pub fn backfill_tables(b: &Backfill) -> Result<Vec<Table>, TableError> {
    Ok(vec![
        Table::from_rows(records::SERVING, &b.serving)?,
        Table::from_rows(records::ACCURACY, &b.accuracy)?,
        Table::from_rows(records::OFFLINE, &b.offline)?,
        Table::from_rows(records::SANITY, &b.sanity)?,
        Table::from_rows(records::SANITY_MODELS, &b.sanity_models)?,
        Table::from_rows(records::PD, &b.pd)?,
        Table::from_rows(records::UNIT, &b.unit)?,
        Table::from_rows(records::IMAGE_CHECK, &b.image_check)?,
        Table::from_rows(records::UPSTREAM_COVERAGE, &b.upstream_coverage)?,
        Table::from_rows(records::TASKS, &b.tasks)?,
        Table::from_rows(records::RUNS, &b.runs)?,
        Table::from_rows(records::QUARANTINE, &b.quarantine)?,
    ])
}

/// Backfills a predecessor tree into the store and returns the backfill with its report.
pub fn ingest_legacy(store: &Path, dir: &Path) -> Result<(Backfill, IngestReport), AppError> {
    let files = legacy::scan(dir)?;
    let backfill = legacy::build(&files);
    let hist = DirHistory::new(store);
    let mut tables = BTreeMap::new();
    for t in backfill_tables(&backfill)? {
        hist.write_partition(&t, LEGACY_PARTITION)?;
        tables.insert(t.schema.name.to_owned(), t.rows.len());
    }
    let quarantined = backfill.quarantine.len();
    let report = IngestReport {
        files: files.len(),
        bytes: files.iter().map(|f| f.bytes as u64).sum(),
        interpreted: files.len() - quarantined,
        quarantined,
        kinds: backfill
            .kinds
            .iter()
            .map(|(k, v)| ((*k).to_owned(), *v))
            .collect(),
        tables,
    };
    Ok((backfill, report))
}

/// Human-readable ingest report (stdout is the command's output).
pub fn write_report(
    w: &mut impl Write,
    report: &IngestReport,
    backfill: &Backfill,
) -> std::io::Result<()> {
    writeln!(
        w,
        "files: {} ({:.1} MB), interpreted: {}, quarantined: {}",
        report.files,
        report.bytes as f64 / 1e6,
        report.interpreted,
        report.quarantined
    )?;
    writeln!(w, "\nfile kind              interpreted  quarantined")?;
    for (kind, (ok, bad)) in &report.kinds {
        writeln!(w, "{kind:<22} {ok:>11}  {bad:>11}")?;
    }
    writeln!(w, "\ntable                  rows")?;
    for (table, n) in &report.tables {
        writeln!(w, "{table:<22} {n:>5}")?;
    }
    if !backfill.quarantine.is_empty() {
        writeln!(w, "\nquarantined files:")?;
        for q in &backfill.quarantine {
            writeln!(w, "  {}  [{}] {}", q.file, q.kind, q.reason)?;
        }
    }
    Ok(())
}

/// Table name, accepting the short CLI names.
pub fn resolve_table(name: &str) -> Result<Schema, AppError> {
    let canonical = match name {
        "sanity-models" => "sanity_models",
        "image-check" => "image_check",
        "upstream" | "coverage" | "upstream-coverage" => "upstream_coverage",
        other => other,
    };
    records::schema(canonical).ok_or_else(|| {
        AppError::UnknownTable(
            name.to_owned(),
            records::ALL_SCHEMAS
                .iter()
                .map(|s| s.name)
                .collect::<Vec<_>>()
                .join(", "),
        )
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
    Parquet,
}

/// Writes one history table to `w`.
pub fn export(
    store: &Path,
    table: Schema,
    format: Format,
    w: &mut impl Write,
) -> Result<(), AppError> {
    let t = DirHistory::new(store).read(table)?;
    match format {
        Format::Csv => t.write_csv(w)?,
        Format::Json => t.write_json(w)?,
        Format::Parquet => {
            let mut df = t.to_dataframe()?;
            let bytes = history::to_parquet(&mut df).map_err(AppError::Parquet)?;
            w.write_all(&bytes)?;
        }
    }
    w.flush()?;
    Ok(())
}
