//! `export`: one history table as CSV, JSON or Parquet.

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
    store: &dyn ObjectStore,
    table: Schema,
    format: Format,
    w: &mut impl Write,
) -> Result<(), AppError> {
    let mut t = History::new(store).read(table)?;
    if table.name == records::TASKS.name {
        // One status per night, hardware and task across the bundles' partitions.
        let tasks = crate::rows::Rows::from_tables(&[t])?.tasks;
        t = crate::table::Table::from_rows(records::TASKS, &tasks)?;
    }
    match format {
        Format::Csv => t.write_csv(w)?,
        Format::Json => t.write_json(w)?,
        Format::Parquet => {
            w.write_all(&t.to_parquet()?)?;
        }
    }
    w.flush()?;
    Ok(())
}
