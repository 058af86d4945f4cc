//! The predecessor's online "CSV": tab-separated text in three titled sections
//! (`Median E2E Latency (ms, lower better)`, TTFT, ITL), one header row of loads and one data row
//! per mode. GROK files use request rates, DeepSeek files concurrencies in descending order.

use serde::Serialize;

use crate::error::ParseError;
use crate::records::{LoadKind, Metric};

/// One parsed online CSV.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OnlineCsv {
    /// `Online mode - GROK1 (tag)` or `Online Serving Benchmark - DeepSeek-V3-0324 (tag)`.
    pub title: Option<String>,
    pub model: Option<String>,
    pub tag: Option<String>,
    pub load_kind: Option<LoadKind>,
    pub rows: Vec<CsvRow>,
    /// `Average Accuracy\t0.941` lines (supported by the predecessor, never seen in the corpus).
    pub average_accuracy: Option<f64>,
}

/// One cell: a metric at a load for one row label. `value` is `None` for an empty (or `NA`) cell.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CsvRow {
    pub metric: Metric,
    pub label: String,
    /// `aiter`, `aiter_decode`, `triton` from `MI300x-<mode>` labels; `None` for model labels.
    pub mode: Option<String>,
    pub host: Option<String>,
    pub load: u32,
    pub value: Option<f64>,
}

fn section_metric(title: &str) -> Option<Metric> {
    let t = title.trim();
    if t.starts_with("Median E2E Latency") {
        Some(Metric::E2e)
    } else if t.starts_with("Median TTFT") {
        Some(Metric::Ttft)
    } else if t.starts_with("Median ITL") {
        Some(Metric::Itl)
    } else {
        None
    }
}

/// Splits a row label into (mode, host). `MI300x-aiter, dell300x-pla-t10-23` gives
/// (`aiter`, host); legacy `MI300x-aiter (prefill+decode), host` gives `aiter`;
/// `MI300x-aiter_decode (decode only), host` gives `aiter_decode`.
fn label_parts(label: &str) -> (Option<String>, Option<String>) {
    let (head, host) = match label.split_once(',') {
        Some((h, rest)) => (
            h.trim(),
            Some(rest.trim().to_owned()).filter(|s| !s.is_empty()),
        ),
        None => (label.trim(), None),
    };
    let mode = head.strip_prefix("MI300x-").map(|m| {
        let m = m.split_whitespace().next().unwrap_or(m);
        m.to_owned()
    });
    (
        mode,
        if head.starts_with("MI300x") {
            host
        } else {
            None
        },
    )
}

/// Parses the file. Empty files parse to an empty table (the predecessor wrote them when every
/// load failed); a file with rows but no header is an error.
pub fn parse(text: &str) -> Result<OnlineCsv, ParseError> {
    let mut out = OnlineCsv {
        title: None,
        model: None,
        tag: None,
        load_kind: None,
        rows: Vec::new(),
        average_accuracy: None,
    };
    let mut metric: Option<Metric> = None;
    let mut loads: Option<Vec<Option<u32>>> = None;
    for (idx, line) in text.lines().enumerate() {
        let lineno = idx + 1;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        if out.title.is_none()
            && (line.starts_with("Online mode - ")
                || line.starts_with("Online Serving Benchmark - "))
        {
            out.title = Some(line.to_owned());
            let rest = line.split_once(" - ").map_or("", |(_, r)| r);
            if let Some((model, tag)) = rest.rsplit_once(" (") {
                out.model = Some(model.trim().to_owned());
                out.tag = Some(tag.trim_end_matches(')').to_owned());
            }
            continue;
        }
        if let Some(m) = section_metric(line) {
            metric = Some(m);
            loads = None;
            continue;
        }
        let cells: Vec<&str> = line.split('\t').collect();
        let first = cells[0].trim();
        if first == "request rate" || first == "concurrency" {
            let kind = if first == "request rate" {
                LoadKind::RequestRate
            } else {
                LoadKind::Concurrency
            };
            if out.load_kind.is_some_and(|k| k != kind) {
                return Err(ParseError::invalid(
                    lineno,
                    "mixes request-rate and concurrency headers",
                ));
            }
            out.load_kind = Some(kind);
            let parsed = cells[1..]
                .iter()
                .map(|c| {
                    let c = c.trim();
                    if c.is_empty() {
                        Ok(None)
                    } else {
                        c.parse::<u32>().map(Some).map_err(|_| {
                            ParseError::invalid(lineno, format!("load `{c}` is not an integer"))
                        })
                    }
                })
                .collect::<Result<Vec<_>, _>>()?;
            loads = Some(parsed);
            continue;
        }
        if first.starts_with("Average Accuracy") {
            out.average_accuracy = cells.get(1).and_then(|c| c.trim().parse().ok());
            continue;
        }
        // A data row.
        let Some(metric) = metric else {
            return Err(ParseError::invalid(
                lineno,
                format!("row `{first}` before any `Median … (ms, lower better)` section title"),
            ));
        };
        let Some(loads) = loads.as_ref() else {
            return Err(ParseError::invalid(
                lineno,
                format!("row `{first}` before the `request rate`/`concurrency` header"),
            ));
        };
        // Rows comparing to NVIDIA (H100 rows, H100/MI300x ratios) are not our measurements.
        if first.contains("H100") {
            continue;
        }
        let (mode, host) = label_parts(first);
        for (i, load) in loads.iter().enumerate() {
            let Some(load) = *load else { continue };
            let raw = cells.get(i + 1).map_or("", |c| c.trim());
            let value = if raw.is_empty() || raw == "NA" || raw == "N/A" {
                None
            } else {
                Some(raw.parse::<f64>().map_err(|_| {
                    ParseError::invalid(
                        lineno,
                        format!("cell `{raw}` at load {load} is not a number"),
                    )
                })?)
            };
            out.rows.push(CsvRow {
                metric,
                label: first.to_owned(),
                mode: mode.clone(),
                host: host.clone(),
                load,
                value,
            });
        }
    }
    Ok(out)
}

impl OnlineCsv {
    /// The value of `metric` at `load` from the first measuring row (legacy files can hold
    /// several modes; `aiter` is the nightly one).
    pub fn value(&self, metric: Metric, load: u32) -> Option<f64> {
        let pick = |want_aiter: bool| {
            self.rows
                .iter()
                .filter(|r| r.metric == metric && r.load == load)
                .find(|r| !want_aiter || r.mode.as_deref().is_none_or(|m| m == "aiter"))
                .and_then(|r| r.value)
        };
        pick(true).or_else(|| pick(false))
    }

    /// Every load in a header, in file order, without duplicates.
    pub fn loads(&self) -> Vec<u32> {
        let mut seen = Vec::new();
        for r in &self.rows {
            if !seen.contains(&r.load) {
                seen.push(r.load);
            }
        }
        seen
    }

    /// The host named in the row label, if any.
    pub fn host(&self) -> Option<&str> {
        self.rows.iter().find_map(|r| r.host.as_deref())
    }
}
