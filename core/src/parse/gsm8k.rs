//! GSM8K wrapper logs (`sglang_client_log_<M>_gsm8k[_aiter].log`) and raw `bench_sglang.py`
//! output (sanity client and warm-up logs).
//!
//! GROK logs are appended (`tee -a`), so a resumed run holds two sessions; the verdict is the last
//! final line. Final-line shapes: `Average Accuracy over N [valid ]runs[ for mode M]: X` and the
//! early exit `Accuracy: X (Required: T)`.

use serde::Serialize;

use crate::error::ParseError;
use crate::plausible;
use crate::text;

/// How the final accuracy was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FinalKind {
    /// `Average Accuracy over N [valid] runs…: X`.
    Average { runs: u32 },
    /// `Accuracy: X (Required: T)`: the first run passed and the rest were skipped.
    EarlyExit,
}

/// One GSM8K run inside the wrapper log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gsm8kRun {
    pub run: u32,
    /// `None` when the log says `Accuracy not found, defaulting to 0`.
    pub accuracy: Option<f64>,
    /// The wrapper excluded it from the average (accuracy below 0.1: a crash, not a measurement).
    pub excluded: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gsm8kLog {
    pub sessions: u32,
    /// Runs of the last session (a new session restarts the numbering).
    pub runs: Vec<Gsm8kRun>,
    pub final_accuracy: Option<f64>,
    pub final_kind: Option<FinalKind>,
    /// The threshold the wrapper compared against, when it printed one.
    pub threshold: Option<f64>,
    /// The wrapper's own verdict: `… meets threshold` (true) or `… below threshold` (false).
    pub threshold_met: Option<bool>,
    /// Tracebacks and connection errors seen, as evidence lines.
    pub errors: Vec<String>,
}

fn parse_final_average(line: &str) -> Option<(u32, f64)> {
    let rest = line.strip_prefix("Average Accuracy over ")?;
    let (head, value) = rest.rsplit_once(':')?;
    let runs = plausible::to_u32(text::leading_u64(head)?)?;
    Some((runs, text::leading_f64(value)?))
}

/// `Accuracy: 0.926 (Required: 0.8)` → (0.926, 0.8).
fn parse_required(line: &str) -> Option<(f64, f64)> {
    let rest = line.strip_prefix("Accuracy:")?;
    let (acc, req) = rest.split_once("(Required:")?;
    Some((
        text::leading_f64(acc)?,
        text::leading_f64(req.trim_end_matches(')'))?,
    ))
}

/// The number in the first parentheses: `Average accuracy meets threshold (0.93).` → 0.93.
fn threshold_in(line: &str) -> Option<f64> {
    let open = line.find('(')?;
    line[open + 1..].split(')').next()?.trim().parse().ok()
}

pub fn parse_log(bytes: &[u8]) -> Result<Gsm8kLog, ParseError> {
    if bytes.is_empty() {
        return Err(ParseError::Empty);
    }
    let cleaned = text::clean(bytes);
    let mut log = Gsm8kLog {
        sessions: 0,
        runs: Vec::new(),
        final_accuracy: None,
        final_kind: None,
        threshold: None,
        threshold_met: None,
        errors: Vec::new(),
    };
    for raw in text::lines(&cleaned) {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if line.starts_with("Starting GSM8K accuracy test") {
            log.sessions += 1;
            log.runs.clear();
        } else if let Some((runs, acc)) = parse_final_average(line) {
            log.final_accuracy = Some(acc);
            log.final_kind = Some(FinalKind::Average { runs });
        } else if let Some((acc, req)) = parse_required(line) {
            log.final_accuracy = Some(acc);
            log.final_kind = Some(FinalKind::EarlyExit);
            log.threshold = Some(req);
            log.threshold_met = Some(acc >= req);
        } else if let Some(rest) = line.strip_prefix("Run ") {
            // `Run 3: Accuracy: 0.813` / `Run 3: Accuracy not found, defaulting to 0`
            if let Some((n, tail)) = rest.split_once(':') {
                let Ok(run) = n.trim().parse::<u32>() else {
                    continue;
                };
                let tail = tail.trim();
                let accuracy = if tail.starts_with("Accuracy not found") {
                    Some(None)
                } else {
                    tail.strip_prefix("Accuracy:").map(text::leading_f64)
                };
                if let Some(accuracy) = accuracy {
                    log.runs.retain(|r| r.run != run);
                    log.runs.push(Gsm8kRun {
                        run,
                        accuracy,
                        excluded: false,
                    });
                }
            }
        } else if line.starts_with('✗') || line.starts_with("✗") {
            if let Some(n) = text::after_substr(line, "Run ").and_then(text::leading_u64) {
                if let Some(r) = log.runs.iter_mut().find(|r| u64::from(r.run) == n) {
                    r.excluded = true;
                }
            }
        } else if line.contains("meets threshold") {
            log.threshold_met = Some(true);
            log.threshold = threshold_in(line).or(log.threshold);
        } else if line.contains("is below threshold") {
            log.threshold_met = Some(false);
            log.threshold = text::after_substr(line, "threshold")
                .and_then(threshold_in)
                .or(log.threshold);
        } else if (line.contains("Error")
            || line.contains("Traceback")
            || line.contains("not responding"))
            && log.errors.len() < 20
        {
            log.errors.push(text::evidence(line, 240));
        }
    }
    // A file without the `Starting GSM8K` banner (DeepSeek truncates with `>`) is one session.
    if log.sessions == 0 {
        log.sessions = 1;
    }
    // An average over runs that the wrapper excluded as crashes is still reported; the excluded
    // flag stays visible per run. `Run N: Accuracy: X` below 0.1 is excluded by the same rule
    // even when the wrapper did not print the ✗ line (older GROK logs).
    for r in &mut log.runs {
        if r.accuracy.is_none_or(|a| a < 0.1) {
            r.excluded = true;
        }
    }
    Ok(log)
}

/// Raw bench_sglang output (sanity trial or warm-up): the first `Accuracy:` value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchSglang {
    pub accuracy: Option<f64>,
    pub invalid: Option<f64>,
    pub latency_s: Option<f64>,
    pub output_throughput: Option<f64>,
    /// Evidence of a crash when no accuracy was printed.
    pub error: Option<String>,
}

pub fn parse_bench_sglang(bytes: &[u8]) -> Result<BenchSglang, ParseError> {
    if bytes.is_empty() {
        return Err(ParseError::Empty);
    }
    let cleaned = text::clean(bytes);
    let mut out = BenchSglang {
        accuracy: None,
        invalid: None,
        latency_s: None,
        output_throughput: None,
        error: None,
    };
    for raw in text::lines(&cleaned) {
        let line = raw.trim();
        if out.accuracy.is_none() {
            if let Some(v) = line.strip_prefix("Accuracy:") {
                out.accuracy = text::leading_f64(v);
                continue;
            }
        }
        if out.invalid.is_none() {
            if let Some(v) = line.strip_prefix("Invalid:") {
                out.invalid = text::leading_f64(v);
            }
        }
        if out.latency_s.is_none() {
            if let Some(v) = line.strip_prefix("Latency:") {
                out.latency_s = text::leading_f64(v);
            }
        }
        if out.output_throughput.is_none() {
            if let Some(v) = line.strip_prefix("Output throughput:") {
                out.output_throughput = text::leading_f64(v);
            }
        }
        if out.error.is_none() && (line.contains("Error:") || line.starts_with("Traceback")) {
            out.error = Some(text::evidence(line, 240));
        }
    }
    Ok(out)
}
