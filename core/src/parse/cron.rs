//! Cron job logs (`cron_log/<hw>/<YYYYMMDD>/<job>.log`): the prefixed wrapper lines
//! (`[nightly]`, `[test]`, `[check]`, …) around the whole job's stdout. We extract facts; the
//! task-status rules in [`crate::status`] decide what they mean.

use serde::Serialize;

use crate::failure::{self, Evidence};
use crate::plausible;
use crate::text;

/// What a cron file name says about the job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CronName {
    /// The job, e.g. `grok_nightly`, `deepseek_dp_attention`, `test_nightly_pd`.
    pub job: String,
    /// Ad-hoc reruns, manual runs, retries (`_rerun2`, `_manual_153000`, `.failed_101500`, …).
    pub qualifier: Option<String>,
}

/// Splits `grok_nightly_rerun2.log` into job and qualifier.
pub fn parse_name(file: &str) -> Option<CronName> {
    let (stem, failed) = match file.split_once(".log") {
        Some((stem, "")) => (stem, None),
        Some((stem, rest)) => (stem, Some(rest.trim_start_matches('.').to_owned())),
        None => return None,
    };
    for marker in ["_rerun", "_manual", "_retry", "_retest"] {
        if let Some(i) = stem.find(marker) {
            let q = stem[i + 1..].to_owned();
            return Some(CronName {
                job: stem[..i].to_owned(),
                qualifier: Some(failed.map_or(q.clone(), |f| format!("{q}.{f}"))),
            });
        }
    }
    Some(CronName {
        job: stem.to_owned(),
        qualifier: failed,
    })
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CronLog {
    pub empty: bool,
    pub start_time: Option<String>,
    pub machine: Option<String>,
    /// Images the job named (`Image: rocm/sgl-dev:…`, `Successfully obtained image …`).
    pub images: Vec<String>,
    /// `bash: …: No such file or directory`.
    pub script_not_found: Option<String>,
    /// No usable image (today's and the fallback).
    pub image_missing: Option<String>,
    /// The job fell back to yesterday's image.
    pub fallback_image: bool,
    pub skipped: bool,
    pub result_passed: bool,
    pub result_failed: Option<String>,
    pub overall_summary: bool,
    pub total_execution: bool,
    pub server_terminated: Option<String>,
    pub server_start_timeout: Option<String>,
    /// Image check: `Missing required images: N` (or the older `Missing images: N`).
    pub missing_required_images: Option<u32>,
    pub missing_optional_images: Option<u32>,
    pub all_images_available: bool,
    pub sanity_models_passed: Option<(u32, u32)>,
    pub gsm8k_accuracy: Option<f64>,
    pub csv_from_existing_logs: bool,
    pub test_completed: bool,
    pub failure: Option<Evidence>,
    pub crlf: bool,
}

pub fn parse(bytes: &[u8]) -> CronLog {
    let cleaned = text::clean(bytes);
    let mut c = CronLog {
        empty: bytes.iter().all(u8::is_ascii_whitespace),
        start_time: None,
        machine: None,
        images: Vec::new(),
        script_not_found: None,
        image_missing: None,
        fallback_image: false,
        skipped: false,
        result_passed: false,
        result_failed: None,
        overall_summary: false,
        total_execution: false,
        server_terminated: None,
        server_start_timeout: None,
        missing_required_images: None,
        missing_optional_images: None,
        all_images_available: false,
        sanity_models_passed: None,
        gsm8k_accuracy: None,
        csv_from_existing_logs: false,
        test_completed: false,
        failure: None,
        crlf: memchr::memmem::find(bytes, b"\r\n").is_some(),
    };
    let mut candidates: Vec<&str> = Vec::new();
    for raw in text::lines(&cleaned) {
        let full = raw.trim();
        if full.is_empty() {
            continue;
        }
        // Drop the `[nightly]`-style prefix.
        let line = match full.strip_prefix('[').and_then(|r| r.split_once(']')) {
            Some((tag, rest)) if !tag.contains(' ') && tag.len() < 20 => rest.trim(),
            _ => full,
        };
        if c.start_time.is_none() {
            if let Some(v) = text::after(line, "Start time:") {
                c.start_time = Some(v.to_owned());
            }
        }
        if c.machine.is_none() {
            if let Some(v) = text::after(line, "Machine:") {
                c.machine = Some(v.to_owned());
            }
        }
        if let Some(v) = text::after(line, "Image:") {
            if v.contains(':') && !c.images.iter().any(|i| i == v) {
                c.images.push(v.to_owned());
            }
        }
        if line.starts_with("bash:") && line.contains("No such file or directory") {
            c.script_not_found
                .get_or_insert_with(|| text::evidence(line, 240));
        }
        let missing = (line.contains("ERROR:")
            && (line.contains("Could not find and pull any valid")
                || line.contains("Could not find and obtain any valid")))
            || (line.contains("No image found for today") && line.contains("yesterday either"))
            || (line.contains("Primary version")
                && line.contains("not found")
                && line.contains("fallback"))
            || (line.contains("ERROR:") && line.contains("Image") && line.contains("not found"));
        if missing {
            c.image_missing
                .get_or_insert_with(|| text::evidence(line, 240));
        }
        if line.contains("Using yesterday")
            || line.contains("falling back to yesterday")
            || line.contains("Fallback image")
        {
            c.fallback_image = true;
        }
        if line.contains("Status: SKIPPED (prerequisites not met)") {
            c.skipped = true;
        }
        if line.starts_with("Result: PASSED") {
            c.result_passed = true;
        }
        if line.starts_with("Result: FAILED") || line.contains("test FAILED") {
            c.result_failed
                .get_or_insert_with(|| text::evidence(line, 240));
        }
        if line.contains("OVERALL SCRIPT SUMMARY") {
            c.overall_summary = true;
        }
        if line.starts_with("Total execution time:") {
            c.total_execution = true;
        }
        // The predecessor wrote this as a regex inside a substring test, so it never matched (W-08).
        if line.contains("SGLang server process") && line.contains("has terminated unexpectedly") {
            c.server_terminated
                .get_or_insert_with(|| text::evidence(line, 240));
        }
        if line.contains("SGLang server failed to start in time") {
            c.server_start_timeout
                .get_or_insert_with(|| text::evidence(line, 240));
        }
        // What the image check really prints (W-07: the predecessor looked for other words).
        if let Some(v) = text::after(line, "Missing required images:")
            .or_else(|| text::after(line, "Missing images:"))
        {
            c.missing_required_images = text::leading_u64(v).and_then(plausible::to_u32);
        }
        if let Some(v) = text::after(line, "Missing optional images:") {
            c.missing_optional_images = text::leading_u64(v).and_then(plausible::to_u32);
        }
        if line.contains("All expected images are available")
            || line.contains("All REQUIRED images")
        {
            c.all_images_available = true;
        }
        if let Some(v) = text::after(line, "Models passed:") {
            if let Some((p, t)) = v.split_once('/') {
                if let (Some(p), Some(t)) = (
                    text::leading_u64(p).and_then(plausible::to_u32),
                    text::leading_u64(t).and_then(plausible::to_u32),
                ) {
                    c.sanity_models_passed = Some((p, t));
                }
            }
        }
        if let Some(v) = text::after_substr(line, "GSM8K accuracy:") {
            if let Some(a) = text::leading_f64(v) {
                c.gsm8k_accuracy = Some(a);
            }
        }
        if line.contains("CSV generated from existing logs successfully") {
            c.csv_from_existing_logs = true;
        }
        if line.contains("Test completed for image:") {
            c.test_completed = true;
        }
        if failure::classify_line(line).is_some() && candidates.len() < 500 {
            candidates.push(line);
        }
    }
    c.failure = failure::classify(candidates);
    c
}
