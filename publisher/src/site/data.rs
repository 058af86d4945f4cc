//! The history as typed rows, the input of every page. Built from the stored tables (pure
//! conversion) or directly from a backfill in tests.

use serde::de::DeserializeOwned;
use sglci_core::records::*;

use crate::legacy::Backfill;
use crate::table::Table;

/// Typed rows of the history tables a site is rendered from.
#[derive(Debug, Clone, Default)]
pub struct SiteData {
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
    /// Years with data in the whole history (`YYYY`), also those whose rows were not loaded:
    /// pages link to every year.
    pub years: std::collections::BTreeSet<String>,
    /// Months with data in the whole history (`YYYY-MM`, and `undated`), likewise.
    pub months: std::collections::BTreeSet<String>,
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

impl SiteData {
    /// Rows from stored tables, looked up by name; a missing table is empty.
    pub fn from_tables(tables: &[Table]) -> Result<Self, DataError> {
        let mut d = SiteData::default();
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
                _ => {}
            }
        }
        Ok(d)
    }

    fn with_row_years(mut self) -> Self {
        self.add_row_years();
        self
    }

    /// Adds the years of the loaded rows to [`SiteData::years`].
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

    pub fn from_backfill(b: &Backfill) -> Self {
        SiteData {
            runs: b.runs.clone(),
            serving: b.serving.clone(),
            accuracy: b.accuracy.clone(),
            offline: b.offline.clone(),
            sanity: b.sanity.clone(),
            sanity_models: b.sanity_models.clone(),
            pd: b.pd.clone(),
            unit: b.unit.clone(),
            image_check: b.image_check.clone(),
            upstream_coverage: b.upstream_coverage.clone(),
            tasks: b.tasks.clone(),
            quarantine: b.quarantine.clone(),
            files: b.files.clone(),
            years: std::collections::BTreeSet::new(),
            months: std::collections::BTreeSet::new(),
        }
        .with_row_years()
    }
}

/// Days since 1970-01-01 of a `YYYYMMDD` date (proleptic Gregorian), or `None`.
pub fn day_number(date: &str) -> Option<i64> {
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let y: i64 = date[..4].parse().ok()?;
    let m: i64 = date[4..6].parse().ok()?;
    let d: i64 = date[6..].parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// The `YYYYMMDD` date of a day number (inverse of [`day_number`]).
pub fn date_of_day(z: i64) -> String {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}{m:02}{d:02}")
}

/// `20251209` → `2025-12-09` (other strings unchanged).
pub fn iso(date: &str) -> String {
    if date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}-{}-{}", &date[..4], &date[4..6], &date[6..])
    } else {
        date.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_round_trip() {
        assert_eq!(day_number("19700101"), Some(0));
        assert_eq!(day_number("20000301"), Some(11017));
        for d in ["19700101", "20240229", "20251209", "21000228", "19691231"] {
            let n = day_number(d).expect("valid");
            assert_eq!(date_of_day(n), d);
        }
        assert_eq!(day_number("2025120"), None);
        assert_eq!(day_number("20251301"), None);
        assert_eq!(iso("20251209"), "2025-12-09");
    }
}
