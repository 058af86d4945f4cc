//! A history table as typed columns: rows come in as serializable records, go out as a polars
//! `DataFrame` (for Parquet), CSV or JSON. Column order and types come from
//! [`sglci_core::records::Schema`].

use std::io::Write;

use polars::prelude::*;
use serde::Serialize;
use serde_json::Value;
use sglci_core::records::{ColumnType, Schema};

/// Rows of one table, each a JSON object keyed by column name.
#[derive(Debug, Clone)]
pub struct Table {
    pub schema: Schema,
    pub rows: Vec<serde_json::Map<String, Value>>,
}

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("table {table}: column `{column}` is missing from the stored data (hint: the history was written by another schema version; rebuild it with `ingest`)")]
    MissingColumn {
        table: &'static str,
        column: &'static str,
    },
    #[error("table {table}: {source}")]
    Polars {
        table: &'static str,
        source: PolarsError,
    },
    #[error("table {table}: a row does not serialize: {source}")]
    Serialize {
        table: &'static str,
        source: serde_json::Error,
    },
}

impl Table {
    pub fn from_rows<T: Serialize>(schema: Schema, rows: &[T]) -> Result<Self, TableError> {
        let rows = rows
            .iter()
            .map(|r| match serde_json::to_value(r) {
                Ok(Value::Object(m)) => Ok(m),
                Ok(_) => Ok(serde_json::Map::new()),
                Err(source) => Err(TableError::Serialize {
                    table: schema.name,
                    source,
                }),
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { schema, rows })
    }

    /// The table as Parquet (zstd), in memory: the history's partitions and the site's
    /// downloads.
    pub fn to_parquet(&self) -> Result<Vec<u8>, TableError> {
        let mut df = self.to_dataframe()?;
        let mut buf = Vec::new();
        ParquetWriter::new(&mut buf)
            .with_compression(ParquetCompression::Zstd(None))
            .finish(&mut df)
            .map_err(|source| TableError::Polars {
                table: self.schema.name,
                source,
            })?;
        Ok(buf)
    }

    pub fn to_dataframe(&self) -> Result<DataFrame, TableError> {
        let name = self.schema.name;
        let mut columns: Vec<Column> = Vec::with_capacity(self.schema.columns.len());
        for &(col, ty) in self.schema.columns {
            let cells = self.rows.iter().map(|r| r.get(col).unwrap_or(&Value::Null));
            let series = match ty {
                ColumnType::Str => Series::new(
                    col.into(),
                    cells
                        .map(|v| v.as_str().map(str::to_owned))
                        .collect::<Vec<Option<String>>>(),
                ),
                ColumnType::Int => Series::new(
                    col.into(),
                    cells.map(Value::as_i64).collect::<Vec<Option<i64>>>(),
                ),
                ColumnType::Float => Series::new(
                    col.into(),
                    cells.map(Value::as_f64).collect::<Vec<Option<f64>>>(),
                ),
                ColumnType::Bool => Series::new(
                    col.into(),
                    cells.map(Value::as_bool).collect::<Vec<Option<bool>>>(),
                ),
            };
            columns.push(series.into());
        }
        DataFrame::new(self.rows.len(), columns).map_err(|source| TableError::Polars {
            table: name,
            source,
        })
    }

    pub fn from_dataframe(schema: Schema, df: &DataFrame) -> Result<Self, TableError> {
        let name = schema.name;
        let mut rows = vec![serde_json::Map::new(); df.height()];
        for &(col, ty) in schema.columns {
            let c = match df.column(col) {
                Ok(c) => c,
                // Written before the column was added: null in every row.
                Err(_) if schema.added.contains(&col) => {
                    rows.iter_mut()
                        .for_each(|r| drop(r.insert(col.to_owned(), Value::Null)));
                    continue;
                }
                Err(_) => {
                    return Err(TableError::MissingColumn {
                        table: name,
                        column: col,
                    })
                }
            };
            let s = c.as_materialized_series();
            let err = |source| TableError::Polars {
                table: name,
                source,
            };
            match ty {
                ColumnType::Str => {
                    for (row, v) in rows.iter_mut().zip(s.str().map_err(err)?.iter()) {
                        row.insert(
                            col.to_owned(),
                            v.map_or(Value::Null, |v| Value::String(v.to_owned())),
                        );
                    }
                }
                ColumnType::Int => {
                    for (row, v) in rows.iter_mut().zip(s.i64().map_err(err)?.iter()) {
                        row.insert(col.to_owned(), v.map_or(Value::Null, Value::from));
                    }
                }
                ColumnType::Float => {
                    for (row, v) in rows.iter_mut().zip(s.f64().map_err(err)?.iter()) {
                        row.insert(col.to_owned(), v.map_or(Value::Null, float_value));
                    }
                }
                ColumnType::Bool => {
                    for (row, v) in rows.iter_mut().zip(s.bool().map_err(err)?.iter()) {
                        row.insert(col.to_owned(), v.map_or(Value::Null, Value::Bool));
                    }
                }
            }
        }
        Ok(Self { schema, rows })
    }

    /// Writes CSV with a header row; empty cells for missing values; RFC 4180 quoting.
    pub fn write_csv(&self, w: &mut impl Write) -> std::io::Result<()> {
        let header: Vec<&str> = self.schema.columns.iter().map(|(n, _)| *n).collect();
        writeln!(w, "{}", header.join(","))?;
        let mut line = String::new();
        for row in &self.rows {
            line.clear();
            for (j, (n, _)) in self.schema.columns.iter().enumerate() {
                if j > 0 {
                    line.push(',');
                }
                push_csv_cell(&mut line, row.get(*n).unwrap_or(&Value::Null));
            }
            line.push('\n');
            w.write_all(line.as_bytes())?;
        }
        Ok(())
    }

    /// Writes a JSON array of objects with keys in column order.
    pub fn write_json(&self, w: &mut impl Write) -> std::io::Result<()> {
        // The keys quoted once, not once per row.
        let keys: Vec<String> = self
            .schema
            .columns
            .iter()
            .map(|(n, _)| Value::String((*n).to_owned()).to_string())
            .collect();
        write!(w, "[")?;
        for (i, row) in self.rows.iter().enumerate() {
            write!(w, "{}\n  {{", if i == 0 { "" } else { "," })?;
            for (j, ((name, _), key)) in self.schema.columns.iter().zip(&keys).enumerate() {
                if j > 0 {
                    w.write_all(b",")?;
                }
                w.write_all(key.as_bytes())?;
                w.write_all(b":")?;
                serde_json::to_writer(&mut *w, row.get(*name).unwrap_or(&Value::Null))?;
            }
            write!(w, "}}")?;
        }
        writeln!(w, "{}]", if self.rows.is_empty() { "" } else { "\n" })
    }
}

/// Non-finite floats (bench_serving's `Infinity`) have no JSON number; keep them as strings.
fn float_value(v: f64) -> Value {
    serde_json::Number::from_f64(v).map_or_else(|| Value::String(v.to_string()), Value::Number)
}

/// Appends one CSV cell: quoted (with doubled quotes) when it holds a separator, a quote or a
/// line break.
fn push_csv_cell(line: &mut String, v: &Value) {
    use std::fmt::Write as _;
    let start = line.len();
    match v {
        Value::Null => return,
        Value::String(s) => line.push_str(s),
        Value::Bool(b) => line.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(line, "{n}");
        }
        other => {
            let _ = write!(line, "{other}");
        }
    }
    if line[start..].contains([',', '"', '\n', '\r']) {
        let quoted = format!("\"{}\"", line[start..].replace('"', "\"\""));
        line.truncate(start);
        line.push_str(&quoted);
    }
}
