//! Unit-test logs (`test/unit-test-backend-8-gpu-CAR-amd/<hw>/<TAG>[-RC].log`): header block,
//! raw unittest output (ANSI colour, Ray warnings), footer with exit code and result.

use serde::Serialize;

use crate::error::ParseError;
use crate::failure::{self, Evidence};
use crate::plausible;
use crate::text;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitTestLog {
    pub test: Option<String>,
    pub image: Option<String>,
    pub hardware: Option<String>,
    pub machine: Option<String>,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub exit_code: Option<i32>,
    /// `Result: PASSED|FAILED`.
    pub result_passed: Option<bool>,
    /// `Ran N tests in Xs`.
    pub tests_ran: Option<u32>,
    pub duration_s: Option<f64>,
    /// unittest's own verdict: `OK` or `FAILED (errors=1)`.
    pub unittest_verdict: Option<String>,
    pub failure: Option<Evidence>,
}

impl UnitTestLog {
    /// Pass only when the footer says so and the exit code agrees.
    pub fn passed(&self) -> Option<bool> {
        match (self.result_passed, self.exit_code) {
            (Some(r), Some(code)) => Some(r && code == 0),
            (Some(r), None) => Some(r),
            (None, Some(code)) => Some(code == 0),
            (None, None) => None,
        }
    }
}

pub fn parse(bytes: &[u8]) -> Result<UnitTestLog, ParseError> {
    if bytes.is_empty() {
        return Err(ParseError::Empty);
    }
    let cleaned = text::clean(bytes);
    let mut u = UnitTestLog {
        test: None,
        image: None,
        hardware: None,
        machine: None,
        started_at: None,
        ended_at: None,
        exit_code: None,
        result_passed: None,
        tests_ran: None,
        duration_s: None,
        unittest_verdict: None,
        failure: None,
    };
    let mut header = false;
    let mut candidates = Vec::new();
    for raw in text::lines(&cleaned) {
        let line = raw.trim();
        if line == "SGL Unit Test Log" {
            header = true;
        } else if let Some(v) = text::after(line, "Test:") {
            u.test.get_or_insert_with(|| v.to_owned());
        } else if let Some(v) = text::after(line, "Image:") {
            u.image.get_or_insert_with(|| v.to_owned());
        } else if let Some(v) = text::after(line, "Hardware:") {
            u.hardware.get_or_insert_with(|| v.to_owned());
        } else if let Some(v) = text::after(line, "Machine:") {
            u.machine.get_or_insert_with(|| v.to_owned());
        } else if let Some(v) = text::after(line, "Start time:") {
            u.started_at.get_or_insert_with(|| v.to_owned());
        } else if let Some(v) = text::after(line, "End time:") {
            u.ended_at = Some(v.to_owned());
        } else if let Some(v) = text::after(line, "Exit code:") {
            u.exit_code = v.split_whitespace().next().and_then(|c| c.parse().ok());
        } else if let Some(v) = text::after(line, "Result:") {
            u.result_passed = Some(v.starts_with("PASSED"));
        } else if let Some(rest) = line.strip_prefix("Ran ") {
            u.tests_ran = text::leading_u64(rest).and_then(plausible::to_u32);
            u.duration_s = text::after_substr(rest, " in ")
                .and_then(|d| text::leading_f64(d.trim_end_matches('s')));
        } else if line == "OK" || line.starts_with("OK (") || line.starts_with("FAILED (") {
            u.unittest_verdict = Some(line.to_owned());
        } else if (failure::classify_line(line).is_some() || line.contains("Error:"))
            && candidates.len() < 200
        {
            candidates.push(line.to_owned());
        }
    }
    if !header {
        return Err(ParseError::missing("the `SGL Unit Test Log` header"));
    }
    if u.passed() == Some(false) {
        u.failure = failure::classify(candidates.iter().map(String::as_str));
        if u.failure.is_none() && u.exit_code == Some(137) {
            u.failure = Some(Evidence {
                class: failure::FailureClass::Cancelled,
                line: "Exit code: 137 (killed)".to_owned(),
            });
        }
    }
    Ok(u)
}
