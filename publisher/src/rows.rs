//! Typed rows of every history table: what a backfill produces, what the store holds, and what
//! the site is rendered from. Conversions to and from [`Table`] are pure.

use std::collections::BTreeSet;

use serde::de::DeserializeOwned;
use sglci_core::records::{self, *};

use crate::table::{Table, TableError};
use sglci_core::date::day_number;

/// Typed rows of the history tables a site is rendered from.
#[derive(Debug, Clone, Default)]
pub struct Rows {
    pub runs: Vec<RunRow>,
    pub serving: Vec<ServingRow>,
    pub accuracy: Vec<AccuracyRow>,
    pub offline: Vec<OfflineResultRow>,
    pub sanity: Vec<SanityTrialRow>,
    pub sanity_models: Vec<SanityModelRow>,
    pub pd: Vec<PdRow>,
    pub unit: Vec<UnitRow>,
    pub image_check: Vec<ImageCheckRow>,
    pub upstream_coverage: Vec<CoverageRowRecord>,
    pub tasks: Vec<TaskRow>,
    pub quarantine: Vec<QuarantineRow>,
    pub files: Vec<FileRow>,
    pub regressions: Vec<RegressionRow>,
    /// Years with data in the whole history (`YYYY`), also those whose rows were not loaded:
    /// pages link to every year.
    pub years: BTreeSet<String>,
    /// Months with data in the whole history (`YYYY-MM`, and `undated`), likewise.
    pub months: BTreeSet<String>,
}

/// A stored row that does not match its record type.
#[derive(Debug, thiserror::Error)]
#[error("table {table}, row {row}: {source} (hint: the history was written by another schema version; rebuild it with `ingest`)")]
pub struct DataError {
    pub table: &'static str,
    pub row: usize,
    pub source: serde_json::Error,
}

fn typed<T: DeserializeOwned>(t: &Table) -> Result<Vec<T>, DataError> {
    t.rows
        .iter()
        .enumerate()
        .map(|(row, m)| {
            // Stored nulls of non-optional string columns read back as empty strings.
            serde_json::from_value(serde_json::Value::Object(m.clone())).map_err(|source| {
                DataError {
                    table: t.schema.name,
                    row,
                    source,
                }
            })
        })
        .collect()
}

impl Rows {
    /// Rows from stored tables, looked up by name; a missing table is empty.
    pub fn from_tables(tables: &[Table]) -> Result<Self, DataError> {
        let mut d = Rows::default();
        for t in tables {
            match t.schema.name {
                "runs" => d.runs = typed(t)?,
                "serving" => d.serving = typed(t)?,
                "accuracy" => d.accuracy = typed(t)?,
                "offline" => d.offline = typed(t)?,
                "sanity" => d.sanity = typed(t)?,
                "sanity_models" => d.sanity_models = typed(t)?,
                "pd" => d.pd = typed(t)?,
                "unit" => d.unit = typed(t)?,
                "image_check" => d.image_check = typed(t)?,
                "upstream_coverage" => d.upstream_coverage = typed(t)?,
                "tasks" => d.tasks = typed(t)?,
                "quarantine" => d.quarantine = typed(t)?,
                "files" => d.files = typed(t)?,
                "regressions" => d.regressions = typed(t)?,
                _ => {}
            }
        }
        Ok(d)
    }

    /// Adds the years of the loaded rows to [`Rows::years`].
    pub fn add_row_years(&mut self) {
        let dates = self
            .tasks
            .iter()
            .map(|r| r.date.as_str())
            .chain(self.runs.iter().map(|r| r.date.as_str()))
            .chain(self.files.iter().filter_map(|r| r.date.as_deref()))
            .chain(self.upstream_coverage.iter().map(|r| r.date.as_str()));
        for d in dates {
            if day_number(d).is_some() {
                self.years.insert(d[..4].to_owned());
                self.months.insert(format!("{}-{}", &d[..4], &d[4..6]));
            }
        }
    }
}

impl Rows {
    /// Every table, in the order of [`records::ALL_SCHEMAS`].
    pub fn to_tables(&self) -> Result<Vec<Table>, TableError> {
        Ok(vec![
            Table::from_rows(records::SERVING, &self.serving)?,
            Table::from_rows(records::ACCURACY, &self.accuracy)?,
            Table::from_rows(records::OFFLINE, &self.offline)?,
            Table::from_rows(records::SANITY, &self.sanity)?,
            Table::from_rows(records::SANITY_MODELS, &self.sanity_models)?,
            Table::from_rows(records::PD, &self.pd)?,
            Table::from_rows(records::UNIT, &self.unit)?,
            Table::from_rows(records::IMAGE_CHECK, &self.image_check)?,
            Table::from_rows(records::UPSTREAM_COVERAGE, &self.upstream_coverage)?,
            Table::from_rows(records::TASKS, &self.tasks)?,
            Table::from_rows(records::RUNS, &self.runs)?,
            Table::from_rows(records::QUARANTINE, &self.quarantine)?,
            Table::from_rows(records::FILES, &self.files)?,
            Table::from_rows(records::REGRESSIONS, &self.regressions)?,
        ])
    }
}
