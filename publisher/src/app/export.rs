//! `export`: one history table as CSV, JSON or Parquet; the failure-class statistics (derived
//! from the task table); serving and offline results as PyTorch OSS benchmark records.

use std::io::Write;

use sglci_core::records::{self, Schema};
use sglci_core::store::ObjectStore;

use super::AppError;
use crate::history::History;

/// Table name, accepting the short CLI names.
pub fn resolve_table(name: &str) -> Result<Schema, AppError> {
    let canonical = match name {
        "sanity-models" => "sanity_models",
        "image-check" => "image_check",
        "upstream" | "coverage" | "upstream-coverage" => "upstream_coverage",
        "failure-stats" | "failures" => "failure_stats",
        other => other,
    };
    if canonical == records::FAILURE_STATS.name {
        return Ok(records::FAILURE_STATS);
    }
    records::schema(canonical).ok_or_else(|| {
        AppError::UnknownTable(
            name.to_owned(),
            records::ALL_SCHEMAS
                .iter()
                .map(|s| s.name)
                .chain(std::iter::once(records::FAILURE_STATS.name))
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
    /// The PyTorch OSS benchmark database's records (`serving` and `offline` only).
    Pytorch,
}

/// Writes one history table to `w`.
pub fn export(
    store: &dyn ObjectStore,
    table: Schema,
    format: Format,
    w: &mut impl Write,
) -> Result<(), AppError> {
    let hist = History::new(store);
    if format == Format::Pytorch {
        return export_records(&hist, table, w);
    }
    if table.name == records::FAILURE_STATS.name {
        let tasks = crate::rows::Rows::from_owned_tables(vec![hist.read(records::TASKS)?])?.tasks;
        let stats = crate::failure_stats::failure_stats(&tasks);
        let t = crate::table::Table::from_rows(records::FAILURE_STATS, &stats)?;
        return write_table(&t, format, w);
    }
    let mut t = hist.read(table)?;
    if table.name == records::TASKS.name {
        // One status per night, hardware and task across the bundles' partitions.
        let tasks = crate::rows::Rows::from_owned_tables(vec![t])?.tasks;
        t = crate::table::Table::from_rows(records::TASKS, &tasks)?;
    }
    write_table(&t, format, w)
}

fn write_table(
    t: &crate::table::Table,
    format: Format,
    w: &mut impl Write,
) -> Result<(), AppError> {
    match format {
        Format::Csv => t.write_csv(w)?,
        Format::Json | Format::Pytorch => t.write_json(w)?,
        Format::Parquet => {
            w.write_all(&t.to_parquet()?)?;
        }
    }
    w.flush()?;
    Ok(())
}

/// `serving` or `offline` as benchmark records (a JSON array), with each run's identity.
fn export_records(hist: &History<'_>, table: Schema, w: &mut impl Write) -> Result<(), AppError> {
    if table.name != records::SERVING.name && table.name != records::OFFLINE.name {
        return Err(AppError::ExportUsage(format!(
            "--format pytorch exports `serving` or `offline`, not `{}` (hint: export serving --format pytorch)",
            table.name
        )));
    }
    let rows =
        crate::rows::Rows::from_owned_tables(vec![hist.read(table)?, hist.read(records::RUNS)?])?;
    let recs = crate::benchmark_record::records(&rows);
    serde_json::to_writer_pretty(&mut *w, &recs).map_err(std::io::Error::from)?;
    writeln!(w)?;
    w.flush()?;
    Ok(())
}
