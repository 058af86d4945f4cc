//! The history store on the local default backend: Parquet tables under
//! `<store>/history/v<SCHEMA_VERSION>/<table>/<partition>.parquet`.
//!
//! A partition is rewritten whole (write to a temporary file, then rename), so re-ingesting the
//! same source replaces it: running `ingest` twice gives the same history.

use std::path::{Path, PathBuf};

use polars::prelude::*;
use sglci_core::records::Schema;
use thiserror::Error;

use crate::table::{Table, TableError};

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

    /// Replaces one partition of a table.
    pub fn write_partition(&self, table: &Table, partition: &str) -> Result<PathBuf, HistoryError> {
        let dir = self.table_dir(table.schema);
        std::fs::create_dir_all(&dir).map_err(|source| HistoryError::Io {
            op: "create",
            path: dir.clone(),
            source,
        })?;
        let path = dir.join(format!("{partition}.parquet"));
        let tmp = dir.join(format!(".{partition}.parquet.tmp"));
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

    /// Every partition of a table, in name order, concatenated. A table never written is empty.
    pub fn read(&self, schema: Schema) -> Result<Table, HistoryError> {
        let dir = self.table_dir(schema);
        let mut parts: Vec<PathBuf> = match std::fs::read_dir(&dir) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(source) => {
                return Err(HistoryError::Io {
                    op: "list",
                    path: dir,
                    source,
                })
            }
        };
        parts.sort();
        let mut table = Table {
            schema,
            rows: Vec::new(),
        };
        for path in parts {
            let file = std::fs::File::open(&path).map_err(|source| HistoryError::Io {
                op: "open",
                path: path.clone(),
                source,
            })?;
            let df = ParquetReader::new(file)
                .finish()
                .map_err(|source| HistoryError::Parquet {
                    path: path.clone(),
                    source,
                })?;
            table.rows.extend(Table::from_dataframe(schema, &df)?.rows);
        }
        Ok(table)
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
