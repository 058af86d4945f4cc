//! The other task kinds `sglci-runner run` executes: F11 the unit test (a named test module in
//! the image; the result is its exit code) and F13 the nightly image check (are tonight's images
//! on Docker Hub). Each writes its log where the predecessor did, in its format, so the
//! publisher reads it with the legacy parsers; each returns a [`JobOutcome`].

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use sglci_core::failure::{self, Evidence, FailureClass};

use crate::engine::{run_to_end, Engine, EngineError, RunEnd};
use crate::execute::{Context, JobOutcome, Status, RESULTS_SCHEMA};
use crate::image::{self, ImageError};
use crate::plan::PlannedJob;
use crate::suite::{ImageCheckConfig, UnitConfig};

/// Who ran a task, where and when (what a [`JobOutcome`] records besides the result).
#[derive(Debug, Clone)]
pub struct Origin {
    pub run_id: String,
    pub suite: String,
    pub host: String,
    pub hardware: String,
}

fn outcome(
    job: &PlannedJob,
    origin: &Origin,
    image: &str,
    folder: &str,
    (started, ended): (i64, i64),
    failure: Option<(String, Evidence)>,
    pass_reason: String,
) -> JobOutcome {
    JobOutcome {
        schema: RESULTS_SCHEMA,
        run_id: origin.run_id.clone(),
        suite: origin.suite.clone(),
        job: job.id.clone(),
        image: image.to_owned(),
        hardware: origin.hardware.clone(),
        host: origin.host.clone(),
        run_folder: folder.to_owned(),
        started_at: sglci_core::date::utc_datetime(started),
        ended_at: sglci_core::date::utc_datetime(ended),
        status: if failure.is_some() {
            Status::Fail
        } else {
            Status::Pass
        },
        reason: failure
            .as_ref()
            .map_or(pass_reason, |(reason, _)| reason.clone()),
        failure: failure.map(|(_, e)| e),
        gsm8k: None,
        threshold: None,
        loads: Vec::new(),
        resumed: false,
    }
}

fn log_error(path: &std::path::Path, source: std::io::Error) -> EngineError {
    EngineError::Log {
        path: path.to_owned(),
        source,
    }
}

/// F11: `python3 -m unittest <test>` in the test directory on the first `gpus` GPUs, logged to
/// `test/unit-test-backend-8-gpu-CAR-amd/<hw>/<TAG>.log` between the predecessor's header and
/// footer.
pub fn run_unit(
    job: &PlannedJob,
    ctx: &mut Context<'_>,
    engine: &mut dyn Engine,
    image: &str,
) -> Result<JobOutcome, EngineError> {
    let unit: UnitConfig = job
        .details
        .clone()
        .and_then(|d| serde_json::from_value(d).ok())
        .ok_or_else(|| EngineError::Docker(format!("{}: a unit job without `unit`", job.id)))?;
    let started = (ctx.clock)();
    let tag = ctx.tag.as_str().to_owned();
    let folder = format!(
        "test/unit-test-backend-8-gpu-CAR-amd/{}",
        ctx.tag.hardware()
    );
    let dir = ctx.root.join(&folder);
    std::fs::create_dir_all(&dir).map_err(|e| log_error(&dir, e))?;
    let log = dir.join(format!("{tag}.log"));
    if log.exists() {
        let mut backup = log.as_os_str().to_owned();
        backup.push(format!(".backup_{}", sglci_core::date::utc_stamp(started)));
        std::fs::rename(&log, &backup).map_err(|e| log_error(&log, e))?;
    }
    let devices: Vec<String> = (0..unit.gpus).map(|g| g.to_string()).collect();
    let devices = devices.join(",");
    let command = format!(
        "CUDA_VISIBLE_DEVICES={devices} python3 -m unittest {}",
        unit.test
    );
    let mut header = String::new();
    let _ = writeln!(header, "==========================================");
    let _ = writeln!(header, "SGL Unit Test Log");
    let _ = writeln!(header, "==========================================");
    let _ = writeln!(header, "Test: {}", unit.test);
    let _ = writeln!(header, "Image: {image}");
    let _ = writeln!(header, "Container: {}", engine.describe());
    let _ = writeln!(header, "Hardware: {}", ctx.tag.hardware());
    let _ = writeln!(header, "Machine: {}", ctx.hostname);
    let _ = writeln!(
        header,
        "Start time: {}",
        sglci_core::date::utc_datetime(started)
    );
    let _ = writeln!(header, "Test directory: {}", unit.workdir);
    let _ = writeln!(header, "Command: {command}");
    let _ = writeln!(header, "==========================================\n");
    std::fs::write(&log, header).map_err(|e| log_error(&log, e))?;
    let mut env = job.env.clone();
    for var in ["CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES"] {
        env.insert(var.to_owned(), devices.clone());
    }
    let argv = vec![
        "sh".to_owned(),
        "-c".to_owned(),
        r#"cd "$0" && exec python3 -m unittest "$1""#.to_owned(),
        unit.workdir.clone(),
        unit.test.clone(),
    ];
    let timeout = Duration::from_secs(u64::from(job.timeout_minutes) * 60);
    let t0 = Instant::now();
    let end = run_to_end(engine, &argv, &env, &log, timeout, &mut |_| None)?;
    let code = match end {
        RunEnd::Exited(x) => x.code.unwrap_or(-1),
        RunEnd::TimedOut | RunEnd::Aborted(_) => -1,
    };
    let passed = matches!(end, RunEnd::Exited(x) if x.success());
    let mut footer = String::new();
    let _ = writeln!(footer, "\n==========================================");
    let _ = writeln!(
        footer,
        "End time: {}",
        sglci_core::date::utc_datetime((ctx.clock)())
    );
    let _ = writeln!(footer, "Exit code: {code}");
    let _ = writeln!(
        footer,
        "Result: {}",
        if passed { "PASSED" } else { "FAILED" }
    );
    let _ = writeln!(footer, "==========================================");
    let text = {
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&log)
            .map_err(|e| log_error(&log, e))?;
        f.write_all(footer.as_bytes())
            .map_err(|e| log_error(&log, e))?;
        std::fs::read(&log).unwrap_or_default()
    };
    let parsed = sglci_core::parse::unit_test::parse(&text).ok();
    let failure = if passed {
        None
    } else if matches!(end, RunEnd::TimedOut) {
        Some((
            format!("{} timed out", unit.test),
            Evidence {
                class: FailureClass::Timeout,
                line: format!(
                    "unit test timed out after {} s ({} min limit)",
                    t0.elapsed().as_secs(),
                    job.timeout_minutes
                ),
            },
        ))
    } else {
        let clean = sglci_core::text::clean(&text).into_owned();
        let ev = parsed
            .as_ref()
            .and_then(|p| p.failure.clone())
            .or_else(|| failure::classify(clean.lines()))
            .unwrap_or(Evidence {
                class: FailureClass::Unclassified,
                line: parsed
                    .as_ref()
                    .and_then(|p| p.unittest_verdict.clone())
                    .unwrap_or_else(|| format!("exit code {code}")),
            });
        Some((format!("{} failed (exit code {code})", unit.test), ev))
    };
    let ran = parsed.and_then(|p| p.tests_ran).unwrap_or(0);
    let origin = Origin {
        run_id: ctx.run_id.clone(),
        suite: ctx.suite.clone(),
        host: ctx.hostname.clone(),
        hardware: ctx.tag.hardware().to_string(),
    };
    Ok(outcome(
        job,
        &origin,
        image,
        &folder,
        (started, (ctx.clock)()),
        failure,
        format!("{} passed ({ran} tests)", unit.test),
    ))
}

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
    let cfg: ImageCheckConfig = job
        .details
        .clone()
        .and_then(|d| serde_json::from_value(d).ok())
        .ok_or_else(|| {
            EngineError::Docker(format!(
                "{}: an image-check job without `image_check`",
                job.id
            ))
        })?;
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
        Some((
            "Docker Hub could not be read".to_owned(),
            Evidence {
                class: FailureClass::Infrastructure,
                line: sglci_core::redact::redact(&e),
            },
        ))
    } else if !missing_required.is_empty() {
        Some((
            format!("{} required image(s) missing", missing_required.len()),
            Evidence {
                class: FailureClass::ImageMissing,
                line: format!(
                    "No image found for today ({date}): {}",
                    missing_required.join(", ")
                ),
            },
        ))
    } else {
        None
    };
    Ok(outcome(
        job,
        origin,
        &cfg.repo,
        &folder,
        (started, clock()),
        failure,
        format!("{available} of {checked} images available for {date}"),
    ))
}
