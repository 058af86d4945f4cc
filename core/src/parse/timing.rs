//! Online `timing_summary_<YYYYMMDD_HHMMSS>.log`: the run's own account of itself (header,
//! GSM8K block, per-load durations, performance summary, server error check, overall summary).
//! A run that died stops after the header.

use serde::Serialize;

use crate::error::ParseError;
use crate::text;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadSummary {
    /// `Request Rate 8` or `Concurrency 128`.
    pub load: u32,
    pub e2e_ms: Option<f64>,
    pub ttft_ms: Option<f64>,
    pub itl_ms: Option<f64>,
    /// DeepSeek only; the predecessor printed `(tok/s): tok/s` here (W-05).
    pub output_throughput: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OnlineTiming {
    pub started_at: Option<String>,
    pub hardware: Option<String>,
    pub rocm: Option<String>,
    pub docker_image: Option<String>,
    pub model_path: Option<String>,
    pub hostname: Option<String>,
    pub server_startup_s: Option<u64>,
    /// The last `GSM8K accuracy: X` line (the canonical anchor).
    pub gsm8k_accuracy: Option<f64>,
    pub gsm8k_required: Option<f64>,
    /// `GSM8K threshold: X`: the threshold the runner's gate applied (sglci-runner writes it;
    /// the predecessor never did, so legacy runs fall back to the per-model table).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gsm8k_threshold: Option<f64>,
    pub performance: Vec<LoadSummary>,
    pub runtime_error_count: Option<u64>,
    /// `Server error status: PASS|FAIL`.
    pub server_error_pass: Option<bool>,
    pub critical_error_count: Option<u64>,
    /// `Status: SKIPPED (prerequisites not met)`.
    pub skipped: bool,
    /// GSM8K-only variants say the serving benchmarks were skipped on purpose.
    pub serving_skipped: bool,
    /// `Server Health Check … Status: FAILED` lines.
    pub health_failures: Vec<String>,
    pub overall_summary: bool,
    pub ended_at: Option<String>,
    pub total_execution_s: Option<u64>,
    /// `All logs already complete - skipping server startup`.
    pub resumed_complete: bool,
    /// sglci-runner's own verdict on a run it stopped: `Run failed: <reason>` with
    /// `Failure class: <class>` and `Failure evidence: <line>`.
    pub runner_failure: Option<RunnerFailure>,
    pub lines: usize,
}

/// A run sglci-runner stopped, in its own words.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunnerFailure {
    pub reason: String,
    pub class: Option<crate::failure::FailureClass>,
    pub evidence: Option<String>,
}

impl OnlineTiming {
    /// Any completion marker of the predecessor's rule set (§3.16).
    pub fn completed(&self) -> bool {
        self.overall_summary
            || self.total_execution_s.is_some()
            || self.ended_at.is_some()
            || self.server_error_pass.is_some()
    }
}

fn unquote(v: &str) -> String {
    v.trim().trim_matches('"').to_owned()
}

pub fn parse(bytes: &[u8]) -> Result<OnlineTiming, ParseError> {
    if bytes.is_empty() {
        return Err(ParseError::Empty);
    }
    let cleaned = text::clean(bytes);
    let mut t = OnlineTiming {
        started_at: None,
        hardware: None,
        rocm: None,
        docker_image: None,
        model_path: None,
        hostname: None,
        server_startup_s: None,
        gsm8k_accuracy: None,
        gsm8k_required: None,
        gsm8k_threshold: None,
        performance: Vec::new(),
        runtime_error_count: None,
        server_error_pass: None,
        critical_error_count: None,
        skipped: false,
        serving_skipped: false,
        health_failures: Vec::new(),
        overall_summary: false,
        ended_at: None,
        total_execution_s: None,
        resumed_complete: false,
        runner_failure: None,
        lines: 0,
    };
    let mut header_seen = false;
    let mut current: Option<LoadSummary> = None;
    for raw in text::lines(&cleaned) {
        t.lines += 1;
        let line = raw.trim();
        if line == "TIMING SUMMARY LOG" {
            header_seen = true;
            continue;
        }
        // Performance-summary load blocks.
        let load_head = line
            .strip_prefix("Request Rate ")
            .or_else(|| line.strip_prefix("Concurrency "));
        if let Some(rest) = load_head.filter(|r| r.ends_with(':')) {
            if let Some(done) = current.take() {
                t.performance.push(done);
            }
            if let Ok(load) = rest.trim_end_matches(':').trim().parse() {
                current = Some(LoadSummary {
                    load,
                    e2e_ms: None,
                    ttft_ms: None,
                    itl_ms: None,
                    output_throughput: None,
                });
            }
            continue;
        }
        if let Some(cur) = current.as_mut() {
            if let Some(v) = text::after(line, "E2E Latency:") {
                cur.e2e_ms = text::leading_f64(v);
                continue;
            } else if let Some(v) = text::after(line, "TTFT:") {
                cur.ttft_ms = text::leading_f64(v);
                continue;
            } else if let Some(v) = text::after(line, "ITL:") {
                cur.itl_ms = text::leading_f64(v);
                continue;
            } else if let Some(v) = text::after(line, "Output throughput:") {
                cur.output_throughput = text::leading_f64(v);
                continue;
            } else if line.starts_with("Throughput:") {
                continue;
            } else if !line.is_empty() {
                t.performance.push(current.take().expect("checked above"));
            }
        }
        if let Some(v) = text::after(line, "Script started at:") {
            t.started_at = Some(v.to_owned());
        } else if let Some(v) = text::after(line, "Hardware:") {
            t.hardware.get_or_insert_with(|| unquote(v));
        } else if let Some(v) = text::after(line, "ROCM Version:") {
            t.rocm.get_or_insert_with(|| unquote(v));
        } else if let Some(v) = text::after(line, "Docker image:") {
            t.docker_image.get_or_insert_with(|| unquote(v));
        } else if let Some(v) = text::after(line, "Model:") {
            t.model_path.get_or_insert_with(|| unquote(v));
        } else if let Some(v) = text::after(line, "Hostname:") {
            t.hostname.get_or_insert_with(|| unquote(v));
        } else if let Some(v) = text::after(line, "Server startup time:") {
            t.server_startup_s = text::leading_u64(v);
        } else if let Some(v) = text::after(line, "GSM8K threshold:") {
            t.gsm8k_threshold = text::leading_f64(v).filter(|x| x.is_finite());
        } else if let Some(v) = text::after(line, "GSM8K accuracy:") {
            t.gsm8k_accuracy = text::leading_f64(v);
        } else if let Some(v) = text::after(line, "Accuracy:") {
            if let Some(req) = text::after_substr(v, "(Required:") {
                t.gsm8k_required = text::leading_f64(req.trim_end_matches(')'));
            }
        } else if let Some(v) = text::after(line, "RuntimeError count:") {
            t.runtime_error_count = text::leading_u64(v);
        } else if let Some(v) = text::after(line, "Server error status:") {
            t.server_error_pass = Some(v.starts_with("PASS"));
        } else if let Some(v) = text::after(line, "Critical error count:") {
            t.critical_error_count = text::leading_u64(v);
        } else if line.contains("Status: SKIPPED") {
            t.skipped = true;
        } else if line.contains("Serving benchmarks skipped") || line.starts_with("Test skipped:") {
            t.serving_skipped = true;
            if line.starts_with("Test skipped:") {
                t.skipped = true;
            }
        } else if line.starts_with("Status: FAILED") {
            t.health_failures.push(text::evidence(line, 240));
        } else if line == "OVERALL SCRIPT SUMMARY" {
            t.overall_summary = true;
        } else if let Some(v) = text::after(line, "Script ended at:") {
            t.ended_at = Some(v.to_owned());
        } else if let Some(v) = text::after(line, "Total execution time:") {
            t.total_execution_s = text::leading_u64(v);
        } else if line.starts_with("All logs already complete") {
            t.resumed_complete = true;
        } else if let Some(v) = text::after(line, "Run failed:") {
            t.runner_failure = Some(RunnerFailure {
                reason: v.to_owned(),
                class: None,
                evidence: None,
            });
        } else if let (Some(v), Some(f)) = (
            text::after(line, "Failure class:"),
            t.runner_failure.as_mut(),
        ) {
            f.class = v.parse().ok();
        } else if let (Some(v), Some(f)) = (
            text::after(line, "Failure evidence:"),
            t.runner_failure.as_mut(),
        ) {
            f.evidence = Some(text::evidence(v, 240));
        }
    }
    if let Some(done) = current.take() {
        t.performance.push(done);
    }
    if !header_seen {
        return Err(ParseError::missing("the `TIMING SUMMARY LOG` header"));
    }
    Ok(t)
}
