//! `python -m sglang.bench_serving` output: the wrapper's client log (text) and the
//! `--output-file` JSONL.
//!
//! A client log holds a preamble (`Run started at:`, `Executing: …` or `Using N prompts …`), a
//! tqdm progress bar on `\r`-separated updates, and at most one `Serving Benchmark Result` block of
//! `<label>:<spaces><number>` lines. Crashed runs have no block; that is a failed run, not zeros.

use serde::Serialize;

use crate::error::ParseError;
use crate::plausible;
use crate::text;

/// Every metric bench_serving prints, across versions (TPOT from v0.5.5.post1, peak throughput
/// and peak concurrency from v0.5.5.post3).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ServingMetrics {
    pub backend: Option<String>,
    pub request_rate: Option<f64>,
    pub max_concurrency: Option<u32>,
    pub successful_requests: Option<u64>,
    pub duration_s: Option<f64>,
    pub total_input_tokens: Option<u64>,
    pub total_generated_tokens: Option<u64>,
    pub total_generated_tokens_retokenized: Option<u64>,
    pub request_throughput: Option<f64>,
    pub input_throughput: Option<f64>,
    pub output_throughput: Option<f64>,
    pub peak_output_throughput: Option<f64>,
    pub peak_concurrent_requests: Option<f64>,
    pub total_throughput: Option<f64>,
    pub concurrency: Option<f64>,
    pub mean_e2e_ms: Option<f64>,
    pub median_e2e_ms: Option<f64>,
    pub p99_e2e_ms: Option<f64>,
    pub mean_ttft_ms: Option<f64>,
    pub median_ttft_ms: Option<f64>,
    pub p99_ttft_ms: Option<f64>,
    pub mean_tpot_ms: Option<f64>,
    pub median_tpot_ms: Option<f64>,
    pub p99_tpot_ms: Option<f64>,
    pub mean_itl_ms: Option<f64>,
    pub median_itl_ms: Option<f64>,
    pub p95_itl_ms: Option<f64>,
    pub p99_itl_ms: Option<f64>,
    pub max_itl_ms: Option<f64>,
}

/// A parsed client log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClientLog {
    /// Prompts asked for (`--num-prompts N`, `Using N prompts`, or `num_prompts=N`).
    pub requested_prompts: Option<u64>,
    /// The load from the preamble (`request rate: 8`, `concurrency 128`).
    pub rate: Option<f64>,
    pub concurrency: Option<u32>,
    pub run: Option<u32>,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
    /// The result block, if the run reached it.
    pub result: Option<ServingMetrics>,
    /// The block ended with its `=====` rule (false when the file was cut inside it).
    pub result_complete: bool,
    /// Count of per-request `output.error=` lines (the error-flood shape).
    pub request_errors: usize,
    /// First request error, as evidence.
    pub first_error: Option<String>,
    pub ends_with_newline: bool,
}

impl ClientLog {
    /// Successful versus requested: true when some prompts did not complete.
    pub fn partial(&self) -> bool {
        match (
            self.result.as_ref().and_then(|r| r.successful_requests),
            self.requested_prompts,
        ) {
            (Some(done), Some(asked)) => done < asked,
            _ => false,
        }
    }
}

const RESULT_HEADER: &str = "Serving Benchmark Result";

/// A finite number (`inf` and `nan` are not measurements; the request rate's `inf` is read
/// apart).
fn num_f(v: &str) -> Option<f64> {
    text::leading_f64(v).filter(|f| f.is_finite())
}
/// A count, also when printed as a whole float (`500.0`); never a saturating cast.
fn num_u(v: &str) -> Option<u64> {
    text::leading_u64(v).or_else(|| num_f(v).and_then(plausible::count_from_f64))
}

fn set_metric(m: &mut ServingMetrics, label: &str, value: &str) {
    let f = num_f(value);
    match label {
        "Backend" => m.backend = Some(value.to_owned()),
        "Traffic request rate" => {
            m.request_rate = if value == "inf" {
                Some(f64::INFINITY)
            } else {
                f
            }
        }
        "Max request concurrency" => m.max_concurrency = num_u(value).and_then(plausible::to_u32),
        "Successful requests" => m.successful_requests = num_u(value),
        "Benchmark duration (s)" => m.duration_s = f,
        "Total input tokens" => m.total_input_tokens = num_u(value),
        "Total generated tokens" => m.total_generated_tokens = num_u(value),
        "Total generated tokens (retokenized)" => {
            m.total_generated_tokens_retokenized = num_u(value)
        }
        "Request throughput (req/s)" => m.request_throughput = f,
        "Input token throughput (tok/s)" => m.input_throughput = f,
        "Output token throughput (tok/s)" => m.output_throughput = f,
        "Peak output token throughput (tok/s)" => m.peak_output_throughput = f,
        "Peak concurrent requests" => m.peak_concurrent_requests = f,
        "Total token throughput (tok/s)" => m.total_throughput = f,
        "Concurrency" => m.concurrency = f,
        "Mean E2E Latency (ms)" => m.mean_e2e_ms = f,
        "Median E2E Latency (ms)" => m.median_e2e_ms = f,
        "P99 E2E Latency (ms)" => m.p99_e2e_ms = f,
        "Mean TTFT (ms)" => m.mean_ttft_ms = f,
        "Median TTFT (ms)" => m.median_ttft_ms = f,
        "P99 TTFT (ms)" => m.p99_ttft_ms = f,
        "Mean TPOT (ms)" => m.mean_tpot_ms = f,
        "Median TPOT (ms)" => m.median_tpot_ms = f,
        "P99 TPOT (ms)" => m.p99_tpot_ms = f,
        "Mean ITL (ms)" => m.mean_itl_ms = f,
        "Median ITL (ms)" => m.median_itl_ms = f,
        "P95 ITL (ms)" => m.p95_itl_ms = f,
        "P99 ITL (ms)" => m.p99_itl_ms = f,
        "Max ITL (ms)" => m.max_itl_ms = f,
        _ => {}
    }
}

/// The number after `flag`: `--num-prompts 300` or, in the client's argument dump,
/// `num_prompts=300, …` (digits up to the comma).
fn arg_after(line: &str, flag: &str) -> Option<u64> {
    let rest = text::after_substr(line, flag)?.trim_start();
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// Parses a client log. Never fails on content; an empty file is [`ParseError::Empty`].
pub fn parse_client_log(bytes: &[u8]) -> Result<ClientLog, ParseError> {
    if bytes.is_empty() {
        return Err(ParseError::Empty);
    }
    let cleaned = text::clean(bytes);
    let mut log = ClientLog {
        requested_prompts: None,
        rate: None,
        concurrency: None,
        run: None,
        started_at: None,
        completed_at: None,
        result: None,
        result_complete: false,
        request_errors: 0,
        first_error: None,
        ends_with_newline: bytes.ends_with(b"\n"),
    };
    let mut in_block = false;
    for line in text::lines(&cleaned) {
        if line.contains("output.error=") {
            log.request_errors += 1;
            if log.first_error.is_none() {
                log.first_error = Some(text::evidence(line, 240));
            }
            continue;
        }
        if in_block {
            let t = line.trim();
            if t.starts_with("=====") {
                in_block = false;
                log.result_complete = true;
                continue;
            }
            if let Some((label, value)) = t.split_once(':') {
                if let Some(m) = log.result.as_mut() {
                    set_metric(m, label.trim(), value.trim());
                }
            }
            continue;
        }
        if line.contains(RESULT_HEADER) {
            // Exactly one block per file is expected; a second one (a re-run appended to the
            // same file) replaces the first so the values stay from one run.
            log.result = Some(ServingMetrics::default());
            log.result_complete = false;
            in_block = true;
            continue;
        }
        if let Some(v) = text::after(line, "Run started at:") {
            log.started_at.get_or_insert_with(|| v.to_owned());
        } else if let Some(v) = text::after(line, "Run completed at:") {
            log.completed_at = Some(v.to_owned());
        } else if let Some(rest) = text::after(line, "Running benchmark with request rate:") {
            log.rate = text::leading_f64(rest);
            log.run = text::after_substr(rest, "(Run ")
                .and_then(|r| text::leading_u64(r.trim_end_matches(')')))
                .and_then(plausible::to_u32);
        } else if line.starts_with("Executing:") {
            log.requested_prompts = log
                .requested_prompts
                .or_else(|| arg_after(line, "--num-prompts "));
            if log.rate.is_none() {
                log.rate = text::after_substr(line, "--request-rate ").and_then(text::leading_f64);
            }
            if let Some(c) = arg_after(line, "--max-concurrency ") {
                log.concurrency = plausible::to_u32(c);
            }
        } else if let Some(rest) = text::after(line, "Using") {
            // `Using 500 prompts for concurrency 128`
            if let Some((n, tail)) = rest.split_once(" prompts") {
                log.requested_prompts = n.trim().parse().ok().or(log.requested_prompts);
                log.concurrency = text::after_substr(tail, "concurrency ")
                    .and_then(text::leading_u64)
                    .and_then(plausible::to_u32);
            }
        } else if (line.starts_with("benchmark_args=Namespace(") || line.starts_with("Namespace("))
            && log.requested_prompts.is_none()
        {
            log.requested_prompts = arg_after(line, "num_prompts=");
        }
    }
    Ok(log)
}

/// One record of bench_serving's `--output-file` JSONL (one line per benchmark invocation).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JsonlRecord {
    pub metrics: ServingMetrics,
    pub completed: Option<u64>,
    pub num_prompts: Option<u64>,
}

/// Rewrites bare `Infinity`, `-Infinity` and `NaN` tokens (Python's `json.dumps` default) into
/// strings so that a strict JSON parser accepts them; string contents are left alone.
fn quote_nonfinite(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 16);
    let mut in_str = false;
    let mut escaped = false;
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        if in_str {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
            rest = &rest[c.len_utf8()..];
            continue;
        }
        if c == '"' {
            in_str = true;
        }
        let mut matched = false;
        for tok in ["-Infinity", "Infinity", "NaN"] {
            if rest.starts_with(tok) {
                out.push('"');
                out.push_str(tok);
                out.push('"');
                rest = &rest[tok.len()..];
                matched = true;
                break;
            }
        }
        if !matched {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

fn json_f64(v: &serde_json::Value) -> Option<f64> {
    match v {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => match s.as_str() {
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            "NaN" => Some(f64::NAN),
            _ => None,
        },
        _ => None,
    }
}

/// Parses `--output-file` JSONL: one record per non-empty line.
pub fn parse_jsonl(text: &str) -> Result<Vec<JsonlRecord>, ParseError> {
    let mut out = Vec::new();
    for (idx, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value = serde_json::from_str(&quote_nonfinite(line))
            .map_err(|e| ParseError::invalid(idx + 1, format!("not JSON: {e}")))?;
        let obj = value
            .as_object()
            .ok_or_else(|| ParseError::invalid(idx + 1, "expected a JSON object"))?;
        let f = |k: &str| obj.get(k).and_then(json_f64);
        let u = |k: &str| f(k).and_then(plausible::count_from_f64);
        let metrics = ServingMetrics {
            backend: obj
                .get("backend")
                .and_then(|v| v.as_str())
                .map(str::to_owned),
            request_rate: f("request_rate"),
            max_concurrency: u("max_concurrency").and_then(plausible::to_u32),
            successful_requests: u("completed"),
            duration_s: f("duration"),
            total_input_tokens: u("total_input_tokens"),
            total_generated_tokens: u("total_output_tokens"),
            total_generated_tokens_retokenized: u("total_output_tokens_retokenized"),
            request_throughput: f("request_throughput"),
            input_throughput: f("input_throughput"),
            output_throughput: f("output_throughput"),
            peak_output_throughput: f("max_output_tokens_per_s"),
            peak_concurrent_requests: f("max_concurrent_requests"),
            total_throughput: f("total_throughput"),
            concurrency: f("concurrency"),
            mean_e2e_ms: f("mean_e2e_latency_ms"),
            median_e2e_ms: f("median_e2e_latency_ms"),
            p99_e2e_ms: f("p99_e2e_latency_ms"),
            mean_ttft_ms: f("mean_ttft_ms"),
            median_ttft_ms: f("median_ttft_ms"),
            p99_ttft_ms: f("p99_ttft_ms"),
            mean_tpot_ms: f("mean_tpot_ms"),
            median_tpot_ms: f("median_tpot_ms"),
            p99_tpot_ms: f("p99_tpot_ms"),
            mean_itl_ms: f("mean_itl_ms"),
            median_itl_ms: f("median_itl_ms"),
            p95_itl_ms: f("p95_itl_ms"),
            p99_itl_ms: f("p99_itl_ms"),
            max_itl_ms: f("max_itl_ms"),
        };
        out.push(JsonlRecord {
            completed: u("completed"),
            num_prompts: u("num_prompts"),
            metrics,
        });
    }
    if out.is_empty() {
        return Err(ParseError::Empty);
    }
    Ok(out)
}
