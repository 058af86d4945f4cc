//! The interleaved A/B comparison record (F20, F35): what `sglci-runner ab` measured on one host,
//! image against image, round by round, and the paired verdict of every series. The runner
//! writes it (`ab_log/<hw>/<ab id>/comparison.json`) and ships it as a bundle; the publisher
//! renders it as a compare page. [`to_markdown`] is the PR comment. Pure.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// Bumped when the record's meaning changes.
pub const AB_SCHEMA: u32 = 1;

/// The record's file name in its folder.
pub const AB_FILE: &str = "comparison.json";

/// One image of a comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AbImage {
    /// `A` for the baseline, then `B`, `C`, … for the candidates.
    pub letter: String,
    /// The reference as given.
    pub reference: String,
    /// Its run label.
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The run id of each round, in round order (empty when the round could not run).
    pub runs: Vec<String>,
}

/// Which way is better for a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    Lower,
    Higher,
}

/// A candidate's verdict on one series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AbVerdict {
    /// Worse beyond the noise floor, and the interval excludes zero.
    Worse,
    Better,
    /// The interval includes zero, or the change is within the noise floor.
    NoSignificantDifference,
    /// Fewer than two complete pairs.
    Missing,
}

impl AbVerdict {
    /// As the record and the history spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Worse => "worse",
            Self::Better => "better",
            Self::NoSignificantDifference => "no_significant_difference",
            Self::Missing => "missing",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Worse => "worse",
            Self::Better => "better",
            Self::NoSignificantDifference => "no significant difference",
            Self::Missing => "missing",
        }
    }
}

/// One candidate on one series: its values, the paired relative differences against the
/// baseline (`(c - a) / a` per round), their median and interval, the noise floor, the verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AbCell {
    pub letter: String,
    /// Per round; `None` where the round has no value.
    pub values: Vec<Option<f64>>,
    /// Per complete pair.
    pub diffs: Vec<f64>,
    pub median_change: Option<f64>,
    /// The 95 % interval of the mean paired difference (the bootstrap percentile interval,
    /// widened to the Student-t interval).
    pub low: Option<f64>,
    pub high: Option<f64>,
    /// The smallest relative change this series can tell from noise.
    pub floor: f64,
    pub verdict: AbVerdict,
}

/// One series: a job's metric at one load, the baseline's values per round, each candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AbSeries {
    pub job: String,
    pub load: u32,
    pub metric: String,
    pub better: Better,
    pub baseline: Vec<Option<f64>>,
    pub candidates: Vec<AbCell>,
}

/// The whole comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AbRecord {
    pub schema: u32,
    pub ab_id: String,
    pub suite: String,
    pub hardware: String,
    /// The day the comparison started (`YYYYMMDD`, UTC).
    pub date: String,
    pub started: String,
    pub ended: String,
    pub host: String,
    pub rounds: u32,
    /// The order the images ran in, round by round (`AB BA`, `ABC CBA`).
    pub order: Vec<String>,
    pub images: Vec<AbImage>,
    pub series: Vec<AbSeries>,
    /// Per candidate: its letter and the one-line verdict.
    pub verdicts: Vec<(String, String)>,
}

impl AbRecord {
    /// The baseline.
    pub fn baseline(&self) -> Option<&AbImage> {
        self.images.first()
    }
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{:+.1} %", v * 100.0))
}

/// The one-line verdict of `letter` over the series.
pub fn candidate_verdict(series: &[AbSeries], letter: &str) -> String {
    let cells: Vec<(&AbSeries, &AbCell)> = series
        .iter()
        .flat_map(|s| {
            s.candidates
                .iter()
                .filter(|c| c.letter == letter)
                .map(move |c| (s, c))
        })
        .collect();
    let count = |v: AbVerdict| cells.iter().filter(|(_, c)| c.verdict == v).count();
    let (worse, better, compared) = (
        count(AbVerdict::Worse),
        count(AbVerdict::Better),
        cells.len() - count(AbVerdict::Missing),
    );
    let largest = |v: AbVerdict| {
        cells
            .iter()
            .filter(|(_, c)| c.verdict == v)
            .max_by(|x, y| {
                let m = |c: &AbCell| c.median_change.unwrap_or(0.0).abs();
                m(x.1).total_cmp(&m(y.1))
            })
            .map(|(s, c)| format!("{} {} at load {}", s.metric, pct(c.median_change), s.load))
            .unwrap_or_default()
    };
    if compared == 0 {
        format!("{letter}: nothing to compare (no round produced paired results)")
    } else if worse > 0 {
        format!(
            "{letter}: 🔴 worse in {worse} of {compared} series (largest: {}){}",
            largest(AbVerdict::Worse),
            if better > 0 {
                format!("; better in {better}")
            } else {
                String::new()
            }
        )
    } else if better > 0 {
        format!(
            "{letter}: 🟢 better in {better} of {compared} series (largest: {}), worse in none",
            largest(AbVerdict::Better)
        )
    } else {
        format!("{letter}: ⚪ no significant difference in {compared} series")
    }
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// The record as GitHub-flavoured markdown for a PR comment.
pub fn to_markdown(r: &AbRecord) -> String {
    let mut out = format!(
        "## A/B on {}: suite `{}`, {} round(s), order {}\n\n",
        r.hardware,
        md_cell(&r.suite),
        r.rounds,
        r.order.join(" ")
    );
    for img in &r.images {
        let _ = writeln!(
            out,
            "- **{}** `{}`{}",
            img.letter,
            md_cell(&img.reference),
            img.digest
                .as_deref()
                .map_or(String::new(), |d| format!(" ({})", md_cell(d)))
        );
    }
    out.push('\n');
    for (_, v) in &r.verdicts {
        let _ = writeln!(out, "**{}**  ", md_cell(v));
    }
    out.push_str(
        "\nPaired by round, so drift on the host cancels out. A change is reported only when the 95 % interval of the paired differences excludes zero and the median change exceeds the series' noise floor.\n\n",
    );
    let letters: Vec<&str> = r.images.iter().skip(1).map(|i| i.letter.as_str()).collect();
    let _ = write!(out, "| Job | Load | Metric | A (median) |");
    for l in &letters {
        let _ = write!(out, " {l} change | {l} interval | {l} verdict |");
    }
    out.push_str("\n|---|---|---|---|");
    for _ in &letters {
        out.push_str("---|---|---|");
    }
    out.push('\n');
    for s in &r.series {
        let base = median(&s.baseline.iter().flatten().copied().collect::<Vec<_>>());
        let _ = write!(
            out,
            "| {} | {} | {} | {} |",
            md_cell(&s.job),
            s.load,
            md_cell(&s.metric),
            base.map_or_else(|| "–".to_owned(), |v| format!("{v:.4}"))
        );
        for l in &letters {
            match s.candidates.iter().find(|c| c.letter == *l) {
                Some(c) => {
                    let _ = write!(
                        out,
                        " {} | [{}, {}] (floor ±{:.1} %) | {} |",
                        pct(c.median_change),
                        pct(c.low),
                        pct(c.high),
                        c.floor * 100.0,
                        c.verdict.label()
                    );
                }
                None => out.push_str(" – | – | missing |"),
            }
        }
        out.push('\n');
    }
    out
}

pub use crate::stats::median;

/// The most series a record may hold (an untrusted file: far beyond any suite's).
const MAX_SERIES: usize = 20_000;

/// Reads a comparison record (an untrusted file): JSON of this schema, a safe id, a known
/// hardware, a `YYYYMMDD` date, at most [`MAX_SERIES`] series, per-round vectors as long as the
/// rounds, and one baseline.
pub fn parse(text: &str) -> Result<AbRecord, crate::ParseError> {
    use crate::ParseError;
    if text.trim().is_empty() {
        return Err(ParseError::Empty);
    }
    let r: AbRecord = serde_json::from_str(text)
        .map_err(|e| ParseError::invalid(e.line(), format!("not an A/B record: {e}")))?;
    let bad = |reason: String| Err(ParseError::invalid(1, reason));
    if r.schema != AB_SCHEMA {
        return bad(format!(
            "schema {}, this publisher reads {AB_SCHEMA}",
            r.schema
        ));
    }
    if r.ab_id.parse::<crate::RunId>().is_err() {
        return bad(format!(
            "ab_id `{}` is not a run id",
            crate::text::evidence(&r.ab_id, 80)
        ));
    }
    if r.hardware.parse::<crate::Hardware>().is_err() {
        return bad(format!(
            "hardware `{}` is unknown",
            crate::text::evidence(&r.hardware, 40)
        ));
    }
    if !crate::tag::valid_date(&r.date) {
        return bad(format!(
            "date `{}` is not YYYYMMDD",
            crate::text::evidence(&r.date, 40)
        ));
    }
    if r.images.len() < 2 || r.series.len() > MAX_SERIES || !(1..=100).contains(&r.rounds) {
        return bad(
            "a record has a baseline and a candidate, 1-100 rounds, and bounded series".into(),
        );
    }
    let rounds = r.rounds as usize;
    for s in &r.series {
        if s.baseline.len() != rounds || s.candidates.iter().any(|c| c.values.len() != rounds) {
            return bad(format!(
                "series {} at load {}: values per round must number {rounds}",
                crate::text::evidence(&s.metric, 40),
                s.load
            ));
        }
    }
    Ok(r)
}
