//! Sanity-check timing summary (`test/sanity_check_log/<hw>/<TAG>/timing_summary_*.log`): one
//! `=== MODEL on hw ===` section per attempt (a retry repeats the header, the last one wins),
//! then an `OVERALL SUMMARY` with a PASS/FAIL/SKIPPED line per model.

use serde::Serialize;

use crate::error::ParseError;
use crate::plausible;
use crate::text;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HeadlineKind {
    /// `Average accuracy: X (Required: T)` (until 2025-10-20).
    Average,
    /// `Highest accuracy: X (Required: T)` (from 2025-10-28).
    Highest,
    /// `Accuracy: X (Required: T)` after an early exit or a passing warm-up.
    First,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SanityTrial {
    pub trial: u32,
    pub pass: bool,
    pub accuracy: Option<f64>,
}

/// One `=== MODEL on hw ===` attempt.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SanitySection {
    pub model: String,
    pub hardware: String,
    pub started_at: Option<String>,
    pub disable_cuda_graph: bool,
    pub startup_failed: bool,
    pub startup_s: Option<f64>,
    pub error: Option<String>,
    pub trials: Vec<SanityTrial>,
    pub warmup_pass: Option<bool>,
    pub warmup_accuracy: Option<f64>,
    pub final_pass: Option<bool>,
    pub accuracies: Vec<f64>,
    pub headline: Option<f64>,
    pub headline_kind: Option<HeadlineKind>,
    pub required: Option<f64>,
    pub skipped: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SanityTiming {
    pub started_at: Option<String>,
    pub machine: Option<String>,
    pub platform: Option<String>,
    pub models: Vec<String>,
    pub trials_per_model: Option<u32>,
    pub docker_image: Option<String>,
    pub sections: Vec<SanitySection>,
    /// `OVERALL SUMMARY` lines: (model, PASS|FAIL|SKIPPED).
    pub overall: Vec<(String, String)>,
    pub finished: bool,
}

impl SanityTiming {
    /// The last attempt for each model, in first-seen order.
    pub fn final_sections(&self) -> Vec<&SanitySection> {
        let mut order: Vec<&str> = Vec::new();
        for s in &self.sections {
            if !order.contains(&s.model.as_str()) {
                order.push(&s.model);
            }
        }
        order
            .into_iter()
            .filter_map(|m| self.sections.iter().rev().find(|s| s.model == m))
            .collect()
    }

    pub fn overall_status(&self, model: &str) -> Option<&str> {
        self.overall
            .iter()
            .rev()
            .find(|(m, _)| m == model)
            .map(|(_, s)| s.as_str())
    }
}

fn headline(line: &str, prefix: &str) -> Option<(f64, Option<f64>)> {
    let rest = line.strip_prefix(prefix)?;
    let acc = text::leading_f64(rest)?;
    let req = text::after_substr(rest, "(Required:")
        .and_then(|r| text::leading_f64(r.trim_end_matches(')')));
    Some((acc, req))
}

/// `Trial 1: PASS [OK] (Accuracy: 0.819, Time: 58.06s)`.
fn trial(line: &str) -> Option<SanityTrial> {
    let rest = line.strip_prefix("Trial ")?;
    let (n, tail) = rest.split_once(':')?;
    let trial = n.trim().parse().ok()?;
    let tail = tail.trim();
    let pass = tail.starts_with("PASS");
    if !pass && !tail.starts_with("FAIL") {
        return None;
    }
    let accuracy = text::after_substr(tail, "Accuracy:")
        .and_then(|v| text::leading_f64(v.trim_end_matches([',', ')'])))
        .or_else(|| {
            text::after_substr(tail, "Accuracy:")
                .and_then(|v| v.split(',').next()?.trim().parse().ok())
        });
    Some(SanityTrial {
        trial,
        pass,
        accuracy,
    })
}

fn float_list(v: &str) -> Vec<f64> {
    v.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(',')
        .filter_map(|x| x.trim().parse().ok())
        .collect()
}

pub fn parse(bytes: &[u8]) -> Result<SanityTiming, ParseError> {
    if bytes.is_empty() {
        return Err(ParseError::Empty);
    }
    let cleaned = text::clean(bytes);
    let mut t = SanityTiming {
        started_at: None,
        machine: None,
        platform: None,
        models: Vec::new(),
        trials_per_model: None,
        docker_image: None,
        sections: Vec::new(),
        overall: Vec::new(),
        finished: false,
    };
    let mut header_seen = false;
    let mut in_overall = false;
    for raw in text::lines(&cleaned) {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if line.starts_with("SGLang Sanity Check Timing Summary") {
            header_seen = true;
            continue;
        }
        if let Some(inner) = line.strip_prefix("===").and_then(|l| l.strip_suffix("===")) {
            if let Some((model, hw)) = inner.trim().split_once(" on ") {
                in_overall = false;
                t.sections.push(SanitySection {
                    model: model.trim().to_owned(),
                    hardware: hw.trim().to_owned(),
                    started_at: None,
                    disable_cuda_graph: false,
                    startup_failed: false,
                    startup_s: None,
                    error: None,
                    trials: Vec::new(),
                    warmup_pass: None,
                    warmup_accuracy: None,
                    final_pass: None,
                    accuracies: Vec::new(),
                    headline: None,
                    headline_kind: None,
                    required: None,
                    skipped: None,
                });
                continue;
            }
        }
        if line.starts_with("OVERALL SUMMARY") {
            in_overall = true;
            t.finished = true;
            continue;
        }
        if in_overall {
            if let Some((model, status)) = line.split_once(':') {
                let status = status.trim();
                if ["PASS", "FAIL", "SKIPPED"].contains(&status) && !model.contains(' ') {
                    t.overall.push((model.trim().to_owned(), status.to_owned()));
                }
            }
            continue;
        }
        // `llama4: SKIPPED - Model path does not exist: …` can appear outside a section.
        if let Some((model, rest)) = line.split_once(": SKIPPED") {
            if !model.contains(' ') {
                t.overall.push((model.to_owned(), "SKIPPED".to_owned()));
                if let Some(s) = t.sections.iter_mut().rev().find(|s| s.model == model) {
                    s.skipped = Some(rest.trim_start_matches([' ', '-']).to_owned());
                }
                continue;
            }
        }
        let Some(sec) = t.sections.last_mut() else {
            if let Some(v) = text::after(line, "Start time:") {
                t.started_at = Some(v.to_owned());
            } else if let Some(v) = text::after(line, "Machine:") {
                t.machine = Some(v.to_owned());
            } else if let Some(v) = text::after(line, "Platform:") {
                t.platform = Some(v.to_owned());
            } else if let Some(v) = text::after(line, "Models:") {
                t.models = v
                    .split(',')
                    .map(|m| m.trim().to_owned())
                    .filter(|m| !m.is_empty())
                    .collect();
            } else if let Some(v) = text::after(line, "Trials per model:") {
                t.trials_per_model = text::leading_u64(v).and_then(plausible::to_u32);
            } else if let Some(v) = text::after(line, "Docker image:") {
                t.docker_image = Some(v.to_owned());
            }
            continue;
        };
        if let Some(v) = text::after(line, "Start time:") {
            sec.started_at = Some(v.to_owned());
        } else if line.starts_with("Note: Running with --disable-cuda-graph") {
            sec.disable_cuda_graph = true;
        } else if let Some(v) = text::after(line, "Server startup:") {
            if let Some(rest) = v.strip_prefix("FAILED after") {
                sec.startup_failed = true;
                sec.startup_s = text::leading_f64(rest.trim_end_matches('s'));
            } else {
                sec.startup_s = text::leading_f64(v.trim_end_matches('s'));
            }
        } else if let Some(v) = text::after(line, "Error:") {
            sec.error.get_or_insert_with(|| text::evidence(v, 240));
        } else if let Some(tr) = trial(line) {
            sec.trials.push(tr);
        } else if let Some(rest) = text::after(line, "Warmup run:") {
            sec.warmup_pass = Some(rest.contains("PASSED"));
            sec.warmup_accuracy = text::after_substr(rest, "accuracy:")
                .and_then(|v| text::leading_f64(v.trim_end_matches(')')));
        } else if let Some(v) = text::after(line, "Final result:") {
            sec.final_pass = Some(v.starts_with("PASS"));
        } else if let Some(v) = text::after(line, "Accuracies:") {
            sec.accuracies = float_list(v);
        } else if let Some((acc, req)) = headline(line, "Average accuracy:") {
            (sec.headline, sec.headline_kind, sec.required) =
                (Some(acc), Some(HeadlineKind::Average), req);
        } else if let Some((acc, req)) = headline(line, "Highest accuracy:") {
            (sec.headline, sec.headline_kind, sec.required) =
                (Some(acc), Some(HeadlineKind::Highest), req);
        } else if let Some((acc, req)) = headline(line, "Accuracy:") {
            (sec.headline, sec.headline_kind, sec.required) =
                (Some(acc), Some(HeadlineKind::First), req);
        }
    }
    if !header_seen {
        return Err(ParseError::missing(
            "the `SGLang Sanity Check Timing Summary` header",
        ));
    }
    Ok(t)
}
