//! Upstream CI coverage reports (`upstream_ci/ci_report/sglang_ci_report_<YYYYMMDD>.csv`): a
//! flat layout and, from 2025-11-25, a sectioned one with `#` headings and a `Total` row.

use serde::Serialize;

use crate::error::ParseError;

pub const HEADER: &str = "Test Category,AMD # of Tests,Nvidia # of Tests,AMD Coverage (%)";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoverageRow {
    /// The `#`/`##` heading the row sits under (`None` in the flat layout).
    pub section: Option<String>,
    pub category: String,
    pub amd: u32,
    pub nvidia: u32,
    /// `None` for `N/A`. May exceed 100.
    pub coverage_pct: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoverageReport {
    pub sectioned: bool,
    pub rows: Vec<CoverageRow>,
}

impl CoverageReport {
    pub fn total(&self) -> Option<&CoverageRow> {
        self.rows.iter().find(|r| r.category == "Total")
    }
}

pub fn parse(text: &str) -> Result<CoverageReport, ParseError> {
    if text.trim().is_empty() {
        return Err(ParseError::Empty);
    }
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, first)) if first.trim_end_matches('\r').trim() == HEADER => {}
        _ => {
            return Err(ParseError::missing(
                "the header row `Test Category,AMD # of Tests,…`",
            ))
        }
    }
    let mut report = CoverageReport {
        sectioned: false,
        rows: Vec::new(),
    };
    let mut section = None;
    for (idx, raw) in lines {
        let line = raw.trim_end_matches('\r').trim();
        if line.is_empty() {
            continue;
        }
        if let Some(h) = line.strip_prefix('#') {
            report.sectioned = true;
            section = Some(h.trim_start_matches('#').trim().to_owned());
            continue;
        }
        // Category names may contain commas inside parentheses? They do not; split from the right.
        let mut parts = line.rsplitn(4, ',');
        let (Some(pct), Some(nv), Some(amd), Some(cat)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ParseError::invalid(
                idx + 1,
                format!("expected 4 comma-separated fields in `{line}`"),
            ));
        };
        let int = |v: &str, what: &str| {
            v.trim().parse::<u32>().map_err(|_| {
                ParseError::invalid(idx + 1, format!("{what} count `{v}` is not an integer"))
            })
        };
        let pct = pct.trim();
        let coverage_pct = if pct == "N/A" {
            None
        } else {
            Some(pct.trim_end_matches('%').parse::<f64>().map_err(|_| {
                ParseError::invalid(idx + 1, format!("coverage `{pct}` is not a percentage"))
            })?)
        };
        report.rows.push(CoverageRow {
            section: section.clone(),
            category: cat.trim().to_owned(),
            amd: int(amd, "AMD")?,
            nvidia: int(nv, "NVIDIA")?,
            coverage_pct,
        });
    }
    Ok(report)
}

/// The `.md` variant (2025-09-16): markdown tables of test files; we keep the row count.
pub fn parse_markdown(text: &str) -> Result<usize, ParseError> {
    let rows = text
        .lines()
        .filter(|l| l.trim_start().starts_with('|') && !l.contains("---"))
        .count();
    if rows == 0 {
        return Err(ParseError::missing("a markdown table"));
    }
    Ok(rows)
}
