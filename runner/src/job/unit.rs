//! F11, the unit test: a named test module in the image (`python3 -m unittest`), run in its test
//! directory on the first N GPUs; the result is its exit code, the class what its output shows.
//! The log is the predecessor's `test/unit-test-backend-8-gpu-CAR-amd/<hw>/<TAG>.log`, between
//! its header and footer.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use sglci_core::failure::{self, Evidence, FailureClass};

use super::{keep_as_backup, log_error, Context, JobOutcome, Origin, Stop};
use crate::engine::{run_to_end, Engine, EngineError, RunEnd};
use crate::plan::{JobSpec, PlannedJob};

/// F11: `python3 -m unittest <test>` in the test directory on the first `gpus` GPUs, logged to
/// `test/unit-test-backend-8-gpu-CAR-amd/<hw>/<TAG>.log` between the predecessor's header and
/// footer.
pub fn run_unit(
    job: &PlannedJob,
    ctx: &mut Context<'_>,
    engine: &mut dyn Engine,
    image: &str,
) -> Result<JobOutcome, EngineError> {
    let JobSpec::Unit(unit) = &job.spec else {
        return Err(EngineError::NotThisKind {
            job: job.id.clone(),
            kind: "unit",
        });
    };
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
        keep_as_backup(&log, started)?;
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
        Some(Stop {
            reason: format!("{} timed out", unit.test),
            evidence: Evidence {
                class: FailureClass::Timeout,
                line: format!(
                    "unit test timed out after {} s ({} min limit)",
                    t0.elapsed().as_secs(),
                    job.timeout_minutes
                ),
            },
        })
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
        Some(Stop {
            reason: format!("{} failed (exit code {code})", unit.test),
            evidence: ev,
        })
    };
    let ran = parsed.and_then(|p| p.tests_ran).unwrap_or(0);
    let origin = Origin::of(ctx);
    Ok(JobOutcome::new(
        &job.id,
        &origin,
        image,
        &folder,
        (started, (ctx.clock)()),
        failure,
        format!("{} passed ({ran} tests)", unit.test),
    ))
}
