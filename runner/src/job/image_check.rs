//! F13, the nightly image check: are the day's images on Docker Hub? Logged as the
//! predecessor's `cron_log/<hw>/<date>/docker_image_check.log`; a missing required image fails
//! the task (`image_missing`), Docker Hub unreachable is an infrastructure failure.

use std::fmt::Write as _;

use sglci_core::failure::{Evidence, FailureClass};

use super::{log_error, JobOutcome, Origin, Stop};
use crate::engine::EngineError;
use crate::image::{self, ImageError};
use crate::plan::{JobSpec, PlannedJob};

/// F13: whether the day's images exist on Docker Hub, logged as the predecessor's
/// `cron_log/<hw>/<date>/docker_image_check.log`. A missing required image fails the task
/// (`image_missing`); Docker Hub unreachable is an infrastructure failure.
pub fn run_image_check(
    job: &PlannedJob,
    origin: &Origin,
    root: &std::path::Path,
    clock: &dyn Fn() -> i64,
    date: &str,
    hub: &str,
    fetch: &mut dyn FnMut(&str) -> Result<String, String>,
) -> Result<JobOutcome, EngineError> {
    let JobSpec::ImageCheck(cfg) = &job.spec else {
        return Err(EngineError::NotThisKind {
            job: job.id.clone(),
            kind: "image-check",
        });
    };
    let started = clock();
    let hw = &origin.hardware;
    let folder = format!("cron_log/{hw}/{date}");
    let dir = root.join(&folder);
    std::fs::create_dir_all(&dir).map_err(|e| log_error(&dir, e))?;
    let path = dir.join("docker_image_check.log");
    let mut w = String::new();
    let rule = "[check] ==========================================";
    let _ = writeln!(
        w,
        "{rule}\n[check] SGL Nightly Docker Image Availability Check\n{rule}"
    );
    let _ = writeln!(
        w,
        "[check] Run Date/Time: {}",
        sglci_core::date::utc_datetime(started)
    );
    let _ = writeln!(w, "[check] Machine: {}", origin.host);
    let _ = writeln!(w, "[check] Repository: {}", cfg.repo);
    let mut hws: Vec<&str> = cfg.required.iter().map(|s| s.hardware.as_str()).collect();
    hws.dedup();
    let _ = writeln!(w, "[check] Hardware types: {}", hws.join(" "));
    let _ = writeln!(w, "[check] Checking images for date: {date}\n");
    let (mut available, mut missing_required, mut missing_optional) = (0, Vec::new(), 0);
    let mut infra = None;
    let specs = cfg
        .required
        .iter()
        .map(|s| (s, false))
        .chain(cfg.optional.iter().map(|s| (s, true)));
    let mut checked = 0;
    for (spec, optional) in specs {
        checked += 1;
        let label = format!(
            "{} image ({}){}",
            spec.hardware,
            spec.rocm,
            if optional { " [optional]" } else { "" }
        );
        match image::resolve(
            hub,
            &cfg.repo,
            &spec.hardware,
            &spec.rocm,
            &[date.to_owned()],
            20,
            fetch,
        ) {
            Ok(r) => {
                available += 1;
                let _ = writeln!(
                    w,
                    "[check] Searching for {label}... found, verifying... ✓ AVAILABLE"
                );
                let _ = writeln!(w, "[check]   Image: {}", r.image);
            }
            Err(ImageError::NotFound { .. }) => {
                let _ = writeln!(w, "[check] Searching for {label}... ✗ NOT FOUND");
                if optional {
                    missing_optional += 1;
                } else {
                    missing_required.push(format!("{} {}", spec.hardware, spec.rocm));
                }
            }
            Err(e) => {
                let _ = writeln!(w, "[check] Searching for {label}... ERROR: {e}");
                infra.get_or_insert(e.to_string());
            }
        }
    }
    let _ = writeln!(w, "\n{rule}\n[check] Summary\n{rule}");
    let _ = writeln!(w, "[check] Total images checked: {checked}");
    let _ = writeln!(w, "[check] Available images: {available}");
    let _ = writeln!(
        w,
        "[check] Missing required images: {}",
        missing_required.len()
    );
    let _ = writeln!(w, "[check] Missing optional images: {missing_optional}\n");
    if missing_required.is_empty() && infra.is_none() {
        let _ = writeln!(w, "[check] ✓ All expected images are available!");
    } else if !missing_required.is_empty() {
        let _ = writeln!(
            w,
            "[check] ✗ ERROR: Image not found for {date}: {}",
            missing_required.join(", ")
        );
    }
    std::fs::write(&path, &w).map_err(|e| log_error(&path, e))?;
    let failure = if let Some(e) = infra {
        Some(Stop {
            reason: "Docker Hub could not be read".to_owned(),
            evidence: Evidence {
                class: FailureClass::Infrastructure,
                line: sglci_core::redact::redact(&e),
            },
        })
    } else if !missing_required.is_empty() {
        Some(Stop {
            reason: format!("{} required image(s) missing", missing_required.len()),
            evidence: Evidence {
                class: FailureClass::ImageMissing,
                line: format!(
                    "No image found for today ({date}): {}",
                    missing_required.join(", ")
                ),
            },
        })
    } else {
        None
    };
    Ok(JobOutcome::new(
        &job.id,
        origin,
        &cfg.repo,
        &folder,
        (started, clock()),
        failure,
        format!("{available} of {checked} images available for {date}"),
    ))
}
