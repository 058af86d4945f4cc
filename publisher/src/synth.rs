//! A synthetic-history generator for benchmarks: copies of a real history moved back in time,
//! so that the history is N times as long with the same shape (same models, loads, failures).
//! Pure: tables in, tables out.

use serde_json::Value;

use crate::table::Table;
use sglci_core::date::{date_of_day, day_number};

/// Moves every `YYYYMMDD` date (an 8-digit run that is a valid date in 2000..2100) in `s` by
/// `days`: in dates, image tags, run folders and file paths alike, so rows stay consistent.
pub fn shift_dates(s: &str, days: i64) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let run = &s[start..i];
            match day_number(run)
                .filter(|_| run.len() == 8 && ("2000".."2100").contains(&&run[..4]))
            {
                Some(d) => out.push_str(&date_of_day(d + days)),
                None => out.push_str(run),
            }
        } else {
            let c = s[i..].chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// A copy of a table with every date moved by `days`.
pub fn shifted(table: &Table, days: i64) -> Table {
    Table {
        schema: table.schema,
        rows: table
            .rows
            .iter()
            .map(|row| {
                row.iter()
                    .map(|(k, v)| {
                        let v = match v {
                            Value::String(s) => Value::String(shift_dates(s, days)),
                            other => other.clone(),
                        };
                        (k.clone(), v)
                    })
                    .collect()
            })
            .collect(),
    }
}

/// (first, last) day of the rows' `date` column.
pub fn day_span(tables: &[Table]) -> Option<(i64, i64)> {
    let days = tables
        .iter()
        .flat_map(|t| t.rows.iter())
        .filter_map(|r| r.get("date").and_then(Value::as_str).and_then(day_number));
    let (lo, hi) = days.fold((i64::MAX, i64::MIN), |(lo, hi), d| (lo.min(d), hi.max(d)));
    (lo <= hi).then_some((lo, hi))
}

/// Rows of one night (`date`), from every table.
pub fn night(tables: &[Table], date: &str) -> Vec<Table> {
    tables
        .iter()
        .map(|t| Table {
            schema: t.schema,
            rows: t
                .rows
                .iter()
                .filter(|r| r.get("date").and_then(Value::as_str) == Some(date))
                .cloned()
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifts_every_date_token() {
        assert_eq!(
            shift_dates("online/GROK1/v0.5.6-rocm700-mi30x-20251231_GROK1_online", 1),
            "online/GROK1/v0.5.6-rocm700-mi30x-20260101_GROK1_online"
        );
        assert_eq!(shift_dates("20251209", -365), "20241209");
        // Not dates: other lengths, invalid days, out-of-range years.
        assert_eq!(
            shift_dates("run 123456789 and 20251332", 5),
            "run 123456789 and 20251332"
        );
        assert_eq!(shift_dates("rocm700 x 19991231", 1), "rocm700 x 19991231");
        assert_eq!(shift_dates("é 20250101 ü", 1), "é 20250102 ü");
    }
}
