//! PD disaggregation: `test_summary.txt` (rewritten after every step, so a dead run leaves
//! `PENDING` tests) and `test_gsm8k.log` (the GSM8K client through the router).

use serde::Serialize;

use crate::error::ParseError;
use crate::text;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PdTestLine {
    pub number: u32,
    pub name: String,
    /// `PASS`, `FAIL` or `PENDING`.
    pub status: String,
    pub seconds: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PdSummary {
    pub docker_tag: Option<String>,
    pub hardware: Option<String>,
    pub model: Option<String>,
    pub hostname: Option<String>,
    pub steps: Vec<(String, Option<u64>)>,
    pub tests: Vec<PdTestLine>,
    /// Test 6: the accuracy value (`None` for `FAILED`, `N/A`, `PENDING`).
    pub gsm8k_accuracy: Option<f64>,
    /// Test 6 bracket verdict: `PASS`, `FAIL`, `PENDING`.
    pub gsm8k_verdict: Option<String>,
    pub total_s: Option<u64>,
    pub completed: bool,
}

impl PdSummary {
    /// Our verdict, stricter than the predecessor's (which printed `0.0000 [PASS]`): every
    /// functional test passed and GSM8K has a non-zero accuracy with a PASS verdict.
    pub fn passed(&self) -> bool {
        !self.tests.is_empty()
            && self.tests.iter().all(|t| t.status == "PASS")
            && self.gsm8k_accuracy.is_some_and(|a| a > 0.001)
    }

    pub fn pending(&self) -> bool {
        self.tests.iter().any(|t| t.status == "PENDING")
    }
}

/// `- Test 6 - GSM8K Accuracy: 0.9600 [PASS] (120s)` / `- Test 1 - Health Check: PASS (3s)`.
fn test_line(line: &str) -> Option<(PdTestLine, Option<String>, Option<f64>)> {
    let rest = line.strip_prefix("- Test ")?;
    let (num, rest) = rest.split_once(" - ")?;
    let number = num.trim().parse().ok()?;
    let (name, value) = rest.split_once(':')?;
    let value = value.trim();
    let seconds = value.rfind('(').and_then(|i| {
        value[i + 1..]
            .trim_end_matches(')')
            .trim_end_matches('s')
            .parse()
            .ok()
    });
    let head = value.split('(').next().unwrap_or("").trim();
    if let Some(open) = head.find('[') {
        let acc_raw = head[..open].trim();
        let verdict = head[open + 1..].trim_end_matches(']').trim().to_owned();
        let status = verdict.clone();
        let acc = acc_raw.parse().ok();
        Some((
            PdTestLine {
                number,
                name: name.trim().to_owned(),
                status,
                seconds,
            },
            Some(verdict),
            acc,
        ))
    } else {
        Some((
            PdTestLine {
                number,
                name: name.trim().to_owned(),
                status: head.to_owned(),
                seconds,
            },
            None,
            None,
        ))
    }
}

pub fn parse_summary(bytes: &[u8]) -> Result<PdSummary, ParseError> {
    if bytes.is_empty() {
        return Err(ParseError::Empty);
    }
    let cleaned = text::clean(bytes);
    let mut s = PdSummary {
        docker_tag: None,
        hardware: None,
        model: None,
        hostname: None,
        steps: Vec::new(),
        tests: Vec::new(),
        gsm8k_accuracy: None,
        gsm8k_verdict: None,
        total_s: None,
        completed: false,
    };
    let mut header = false;
    for raw in text::lines(&cleaned) {
        let line = raw.trim();
        if line.starts_with("SGLang PD Disaggregation Test Summary") {
            header = true;
        } else if let Some(v) = text::after(line, "Docker Tag:") {
            s.docker_tag = Some(v.to_owned());
        } else if let Some(v) = text::after(line, "Hardware:") {
            s.hardware = Some(v.to_owned());
        } else if let Some(v) = text::after(line, "Model:") {
            s.model = Some(v.to_owned());
        } else if let Some(v) = text::after(line, "Hostname:") {
            s.hostname = Some(v.to_owned());
        } else if let Some(rest) = line.strip_prefix("- Step ") {
            if let Some((name, secs)) = rest.split_once(':') {
                s.steps.push((
                    name.trim().to_owned(),
                    text::leading_u64(secs.trim().trim_end_matches('s')),
                ));
            }
        } else if let Some((test, verdict, acc)) = test_line(line) {
            if verdict.is_some() {
                s.gsm8k_verdict = verdict;
                s.gsm8k_accuracy = acc;
            }
            s.tests.push(test);
        } else if let Some(v) = text::after(line, "- Total Time (Setup + Tests):") {
            s.total_s = text::leading_u64(v.trim_end_matches('s'));
        } else if line.starts_with("Test completed") {
            s.completed = true;
        }
    }
    if !header {
        return Err(ParseError::missing(
            "the `SGLang PD Disaggregation Test Summary` header",
        ));
    }
    Ok(s)
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PdGsm8k {
    pub total_questions: Option<u64>,
    pub correct: Option<u64>,
    pub accuracy: Option<f64>,
    pub invalid_rate: Option<f64>,
    pub total_time_s: Option<f64>,
    /// Last `Progress: n/N questions` line, for runs that never printed results.
    pub progress: Option<String>,
    pub first_error: Option<String>,
}

pub fn parse_gsm8k(bytes: &[u8]) -> Result<PdGsm8k, ParseError> {
    if bytes.is_empty() {
        return Err(ParseError::Empty);
    }
    let cleaned = text::clean(bytes);
    let mut g = PdGsm8k {
        total_questions: None,
        correct: None,
        accuracy: None,
        invalid_rate: None,
        total_time_s: None,
        progress: None,
        first_error: None,
    };
    let mut in_results = false;
    for raw in text::lines(&cleaned) {
        let line = raw.trim();
        if line == "RESULTS" {
            in_results = true;
        } else if line.starts_with("Progress:") {
            g.progress = Some(line.to_owned());
        } else if in_results {
            if let Some(v) = text::after(line, "Total Questions:") {
                g.total_questions = text::leading_u64(v);
            } else if let Some(v) = text::after(line, "Correct:") {
                g.correct = text::leading_u64(v);
            } else if let Some(v) = text::after(line, "Accuracy:") {
                g.accuracy = text::leading_f64(v);
            } else if let Some(v) = text::after(line, "Invalid Rate:") {
                g.invalid_rate = text::leading_f64(v);
            } else if let Some(v) = text::after(line, "Total Time:") {
                g.total_time_s = text::leading_f64(v.trim_end_matches('s'));
            }
        }
        if g.first_error.is_none() {
            if let Some(v) = text::after(line, "Error:") {
                g.first_error = Some(text::evidence(v, 240));
            }
        }
    }
    Ok(g)
}
