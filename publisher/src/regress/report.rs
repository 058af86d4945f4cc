//! Findings as CSV, JSON and GitHub-flavoured markdown (pure: findings in, text out).

use super::series::Direction;
use super::{Finding, State};
use crate::markdown::escape as md;
use sglci_core::date::iso;

const COLUMNS: &[&str] = &[
    "id",
    "state",
    "hardware",
    "model",
    "config",
    "load_kind",
    "loads",
    "metric",
    "change_pct",
    "current_change_pct",
    "first_bad_date",
    "first_bad_image",
    "last_good_date",
    "last_good_image",
    "versions",
    "alerted",
    "recovered",
    "confidence",
    "confirmed",
];

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn state(f: &Finding) -> &'static str {
    match f.state {
        State::Open => "open",
        State::Recovered => "recovered",
    }
}

fn loads(f: &Finding) -> String {
    f.loads
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A variant as people name it: `standard` for the run without one.
pub fn config_label(config: &str) -> &str {
    if config.is_empty() {
        "standard"
    } else {
        config
    }
}

/// `mi30x GROK1 standard`.
pub fn series_label(hardware: &str, model: &str, config: &str) -> String {
    format!("{hardware} {model} {}", config_label(config))
}

/// The change as people read it: `+34.2 %` (with `now …` when it moved since the alert) for a
/// metric, `-2.1 pts against the gate` for accuracy.
pub fn change_words(metric: &str, change: f64, current: f64) -> String {
    if metric == "gsm8k_accuracy" {
        format!("{:+.1} pts against the gate", change * 100.0)
    } else if (current - change).abs() >= 0.005 {
        format!("{:+.1} % (now {:+.1} %)", change * 100.0, current * 100.0)
    } else {
        format!("{:+.1} %", change * 100.0)
    }
}

pub fn change_text(f: &Finding) -> String {
    change_words(f.metric.as_str(), f.change, f.current_change)
}

pub fn to_csv(findings: &[Finding]) -> String {
    let mut out = COLUMNS.join(",");
    out.push('\n');
    for f in findings {
        let cells = [
            f.id.clone(),
            state(f).to_owned(),
            f.hardware.clone(),
            f.model.clone(),
            f.config.clone(),
            f.load_kind.to_string(),
            loads(f),
            f.metric.to_string(),
            format!("{:.1}", f.change * 100.0),
            format!("{:.1}", f.current_change * 100.0),
            f.first_bad_date.clone(),
            f.first_bad_image.clone(),
            f.last_good_date.clone().unwrap_or_default(),
            f.last_good_image.clone().unwrap_or_default(),
            f.versions.clone(),
            f.alerted.clone(),
            f.recovered.clone().unwrap_or_default(),
            format!("{:.4}", f.confidence),
            f.confirmed.to_string(),
        ];
        out.push_str(
            &cells
                .iter()
                .map(|c| csv_cell(c))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push('\n');
    }
    out
}

pub fn to_markdown(findings: &[Finding]) -> String {
    if findings.is_empty() {
        return "No open regressions.\n".to_owned();
    }
    let mut out = String::from(
        "| State | Series | Metric | Change | Loads | First bad image | Last good image | sglang | Confidence |\n\
         |---|---|---|---:|---|---|---|---|---|\n",
    );
    for f in findings {
        let series = series_label(&f.hardware, &f.model, &f.config);
        let dir = match f.direction {
            Direction::LowerIsBetter => "lower is better",
            Direction::HigherIsBetter => "higher is better",
        };
        out.push_str(&format!(
            "| {} | {} | {} ({}) | {} | {} {} | `{}` ({}) | {} | {} | {} |\n",
            state(f),
            md(&series),
            md(f.metric.as_str()),
            dir,
            change_text(f),
            md(f.load_kind.as_str()),
            loads(f),
            f.first_bad_image,
            iso(&f.first_bad_date),
            f.last_good_image
                .as_ref()
                .map_or("none".to_owned(), |t| format!("`{t}`")),
            md(&f.versions),
            if f.confirmed {
                format!("{:.1} % (change point)", f.confidence * 100.0)
            } else {
                "screen only".to_owned()
            },
        ));
    }
    let stepped: Vec<&Finding> = findings.iter().filter(|f| f.steps.len() > 1).collect();
    if !stepped.is_empty() {
        out.push_str("\nSteps (change points) of findings that arrived in more than one step:\n\n");
        for f in stepped {
            for st in &f.steps {
                out.push_str(&format!(
                    "- {} {} {} {}={}: {:+.1} % from `{}` ({}), last good `{}`, sglang {}\n",
                    f.hardware,
                    md(&f.model),
                    md(f.metric.as_str()),
                    md(f.load_kind.as_str()),
                    st.load,
                    st.change * 100.0,
                    st.first_bad_image,
                    iso(&st.first_bad_date),
                    st.last_good_image.as_deref().unwrap_or("none"),
                    md(&st.versions),
                ));
            }
        }
    }
    out
}
