//! The history store on the local default backend: Parquet files under
//! `<store>/history/v<SCHEMA_VERSION>/<table>/<YYYY-MM>/<partition>.parquet`.
//!
//! Rows are split by the month of their image date (`undated` for rows without one) and written
//! per source: one partition per run (its run id) or `legacy` for the backfill of a predecessor
//! tree. Adding a run therefore writes a few small files whatever the history's length, and a
//! reader that only needs recent months lists and opens only those.
//!
//! A partition is rewritten whole (write to a temporary file, then rename) and a re-write removes
//! the same partition from months it no longer covers (`<table>/.partitions/<partition>.months`
//! names the months of its last write), so writing the same source twice gives the same history.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use polars::prelude::*;
use sglci_core::records::Schema;
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

/// Bumped whenever a table's columns change; old versions stay readable side by side.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Error)]
pub enum HistoryError {
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Parquet { path: PathBuf, source: PolarsError },
    #[error(transparent)]
    Table(#[from] TableError),
}

/// A directory store (the local default).
#[derive(Debug, Clone)]
pub struct DirHistory {
    root: PathBuf,
}

impl DirHistory {
    pub fn new(store_root: &Path) -> Self {
        Self {
            root: store_root
                .join("history")
                .join(format!("v{SCHEMA_VERSION}")),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn table_dir(&self, schema: Schema) -> PathBuf {
        self.root.join(schema.name)
    }

    /// Replaces one source's partition of a table: its rows split by month, one file per month,
    /// and the partition's files in other months removed.
    pub fn write_partition(
        &self,
        table: &Table,
        partition: &str,
    ) -> Result<Vec<PathBuf>, HistoryError> {
        let mut by_month: BTreeMap<String, Vec<serde_json::Map<String, serde_json::Value>>> =
            BTreeMap::new();
        for row in &table.rows {
            by_month
                .entry(month_of(row.get("date").and_then(|v| v.as_str())))
                .or_default()
                .push(row.clone());
        }
        let dir = self.table_dir(table.schema);
        let file_name = format!("{partition}.parquet");
        // Months that hold this partition from an earlier write but not from this one. The
        // partition's manifest names them, so a write costs the same whatever the history's
        // length; without a manifest (an older store) every month is checked.
        let manifest = dir.join(".partitions").join(format!("{partition}.months"));
        let earlier: Vec<String> = match std::fs::read_to_string(&manifest) {
            Ok(text) => text.lines().map(str::to_owned).collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => self.months(table.schema)?,
            Err(source) => {
                return Err(HistoryError::Io {
                    op: "read",
                    path: manifest,
                    source,
                })
            }
        };
        for month in earlier {
            if !by_month.contains_key(&month) {
                let stale = dir.join(&month).join(&file_name);
                match std::fs::remove_file(&stale) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(source) => {
                        return Err(HistoryError::Io {
                            op: "remove",
                            path: stale,
                            source,
                        })
                    }
                }
            }
        }
        let months: Vec<&str> = by_month.keys().map(String::as_str).collect();
        let manifest_dir = dir.join(".partitions");
        std::fs::create_dir_all(&manifest_dir).map_err(|source| HistoryError::Io {
            op: "create",
            path: manifest_dir.clone(),
            source,
        })?;
        let tmp = manifest_dir.join(format!(".{partition}.months.tmp"));
        std::fs::write(&tmp, months.join("\n")).map_err(|source| HistoryError::Io {
            op: "write",
            path: tmp.clone(),
            source,
        })?;
        std::fs::rename(&tmp, &manifest).map_err(|source| HistoryError::Io {
            op: "rename",
            path: manifest.clone(),
            source,
        })?;
        let mut written = Vec::new();
        for (month, rows) in by_month {
            let part = Table {
                schema: table.schema,
                rows,
            };
            written.push(self.write_file(&part, &dir.join(month), &file_name)?);
        }
        Ok(written)
    }

    fn write_file(&self, table: &Table, dir: &Path, name: &str) -> Result<PathBuf, HistoryError> {
        std::fs::create_dir_all(dir).map_err(|source| HistoryError::Io {
            op: "create",
            path: dir.to_owned(),
            source,
        })?;
        let path = dir.join(name);
        let tmp = dir.join(format!(".{name}.tmp"));
        let mut df = table.to_dataframe()?;
        let bytes = to_parquet(&mut df).map_err(|source| HistoryError::Parquet {
            path: path.clone(),
            source,
        })?;
        std::fs::write(&tmp, bytes).map_err(|source| HistoryError::Io {
            op: "write",
            path: tmp.clone(),
            source,
        })?;
        std::fs::rename(&tmp, &path).map_err(|source| HistoryError::Io {
            op: "rename",
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }

    /// The months a table has rows in (`YYYY-MM`, and `undated`), sorted.
    pub fn months(&self, schema: Schema) -> Result<Vec<String>, HistoryError> {
        let dir = self.table_dir(schema);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(HistoryError::Io {
                    op: "list",
                    path: dir,
                    source,
                })
            }
        };
        // The entry's own file type: no extra stat per month, which matters for long histories.
        let mut months: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .filter(|n| !n.starts_with('.'))
            .collect();
        months.sort();
        Ok(months)
    }

    /// Every partition of a table, in (month, name) order, concatenated. A table never written is
    /// empty.
    pub fn read(&self, schema: Schema) -> Result<Table, HistoryError> {
        let months: BTreeSet<String> = self.months(schema)?.into_iter().collect();
        self.read_months(schema, &months)
    }

    /// The partitions of the given months only.
    pub fn read_months(
        &self,
        schema: Schema,
        months: &BTreeSet<String>,
    ) -> Result<Table, HistoryError> {
        let dir = self.table_dir(schema);
        let mut table = Table {
            schema,
            rows: Vec::new(),
        };
        for month in months {
            let mut parts: Vec<PathBuf> = list_dir(&dir.join(month))?
                .into_iter()
                .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
                .collect();
            parts.sort();
            for path in parts {
                let file = std::fs::File::open(&path).map_err(|source| HistoryError::Io {
                    op: "open",
                    path: path.clone(),
                    source,
                })?;
                let df =
                    ParquetReader::new(file)
                        .finish()
                        .map_err(|source| HistoryError::Parquet {
                            path: path.clone(),
                            source,
                        })?;
                table.rows.extend(Table::from_dataframe(schema, &df)?.rows);
            }
        }
        Ok(table)
    }
}

/// Entries of a directory; a missing directory has none.
fn list_dir(dir: &Path) -> Result<Vec<PathBuf>, HistoryError> {
    match std::fs::read_dir(dir) {
        Ok(entries) => Ok(entries.filter_map(Result::ok).map(|e| e.path()).collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(source) => Err(HistoryError::Io {
            op: "list",
            path: dir.to_owned(),
            source,
        }),
    }
}

/// Serializes a frame as Parquet (zstd) into memory.
pub fn to_parquet(df: &mut DataFrame) -> PolarsResult<Vec<u8>> {
    let mut buf = Vec::new();
    ParquetWriter::new(&mut buf)
        .with_compression(ParquetCompression::Zstd(None))
        .finish(df)?;
    Ok(buf)
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
        let h = DirHistory::new(dir.path());
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
