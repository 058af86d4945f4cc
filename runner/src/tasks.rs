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

impl Origin {
    /// The run a job context belongs to.
    pub fn of(ctx: &Context<'_>) -> Self {
        Self {
            run_id: ctx.run_id.clone(),
            suite: ctx.suite.clone(),
            host: ctx.hostname.clone(),
            hardware: ctx.tag.hardware().to_string(),
        }
    }
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
        crate::execute::keep_as_backup(&log, started)?;
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
    let origin = Origin::of(ctx);
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

/// Makes the engine a sanity model runs on (each model gets a fresh one).
pub type EngineFor<'a> = dyn FnMut(&PlannedJob) -> Result<Box<dyn Engine>, EngineError> + 'a;

/// One model's sanity result, for the run's `OVERALL SUMMARY`.
fn verdict_word(o: &JobOutcome) -> &'static str {
    if o.reason.starts_with("skipped") {
        "SKIPPED"
    } else if o.failed() {
        "FAIL"
    } else {
        "PASS"
    }
}

/// F9: the sanity sweep over models, each with its server, up to `trials` GSM8K trials (the
/// first pass ends early; the model passes if any trial reaches its threshold), skipped on the
/// image tags its suite names, and one retry with `--disable-cuda-graph` when an SGLang server
/// fails to start. Writes `test/sanity_check_log/<hw>/<TAG>/` as the predecessor did: a client
/// log per trial and one timing summary for the run.
pub fn run_sanity(
    jobs: &[&PlannedJob],
    ctx: &mut Context<'_>,
    engine_for: &mut EngineFor<'_>,
    image: &str,
) -> Result<Vec<JobOutcome>, EngineError> {
    use crate::execute::{append, read, server_gone, start_server};
    let started = (ctx.clock)();
    let hw = ctx.tag.hardware().to_string();
    let tag = ctx.tag.as_str().to_owned();
    let folder = format!("test/sanity_check_log/{hw}/{tag}");
    let dir = ctx.root.join(&folder);
    std::fs::create_dir_all(&dir).map_err(|e| log_error(&dir, e))?;
    let timing = dir.join(format!(
        "timing_summary_{}.log",
        sglci_core::date::utc_stamp(started)
    ));
    let trials = jobs
        .iter()
        .filter_map(|j| j.sanity.as_ref().map(|g| g.attempts))
        .max()
        .unwrap_or(0);
    let rule = "==================================================";
    let models: Vec<&str> = jobs.iter().map(|j| j.model.as_str()).collect();
    append(
        &timing,
        &format!(
            "SGLang Sanity Check Timing Summary\n{rule}\nStart time: {}\nMachine: {}\nPlatform: {hw}\nModels: {}\nTrials per model: {trials}\nDocker image: {image}\n{rule}\n\n",
            sglci_core::date::utc_datetime(started),
            ctx.hostname,
            models.join(", ")
        ),
    )?;
    let origin = Origin::of(ctx);
    let mut outcomes = Vec::new();
    for job in jobs {
        let m0 = (ctx.clock)();
        let (Some(server), Some(gate)) = (job.server.as_ref(), job.sanity.as_ref()) else {
            return Err(EngineError::Docker(format!(
                "{}: a sanity job needs a server and a sanity gate",
                job.id
            )));
        };
        let cfg: Option<crate::suite::SanityConfig> = job
            .details
            .clone()
            .and_then(|d| serde_json::from_value(d).ok());
        if let Some(skip) = cfg.as_ref().and_then(|c| {
            c.skip_tags_containing
                .iter()
                .find(|s| tag.contains(s.as_str()))
        }) {
            append(
                &timing,
                &format!(
                    "=== {} on {hw} ===\nSkipped: image tag contains `{skip}`\n{rule}\n\n",
                    job.model
                ),
            )?;
            outcomes.push(outcome(
                job,
                &origin,
                image,
                &folder,
                (m0, (ctx.clock)()),
                None,
                format!("skipped: the image tag contains `{skip}`"),
            ));
            continue;
        }
        (ctx.progress)(crate::execute::Progress::Step(&format!(
            "{}: starting the server",
            job.model
        )));
        let server_log = dir.join(format!("{}_{hw}_server.log", job.model));
        let mut attempt_server = server.clone();
        let mut engine = engine_for(job)?;
        let mut retried = false;
        let started_server = loop {
            let a0 = (ctx.clock)();
            append(
                &timing,
                &format!(
                    "=== {} on {hw} ===\nStart time: {}\n{}",
                    job.model,
                    sglci_core::date::utc_datetime(a0),
                    if retried {
                        "Note: Running with --disable-cuda-graph fallback\n"
                    } else {
                        ""
                    }
                ),
            )?;
            let t = Instant::now();
            match start_server(&attempt_server, &job.env, &server_log, engine.as_mut(), ctx) {
                Ok((id, _)) => {
                    append(
                        &timing,
                        &format!("Server startup: {:.2}s\n", t.elapsed().as_secs_f64()),
                    )?;
                    break Ok(id);
                }
                Err(stop) => {
                    append(
                        &timing,
                        &format!(
                            "Server startup: FAILED after {:.2}s\nError: {}\n",
                            t.elapsed().as_secs_f64(),
                            stop.evidence.line
                        ),
                    )?;
                    let sglang = attempt_server
                        .argv
                        .iter()
                        .any(|a| a == "sglang.launch_server");
                    if !retried
                        && sglang
                        && !attempt_server
                            .argv
                            .iter()
                            .any(|a| a == "--disable-cuda-graph")
                    {
                        append(
                            &timing,
                            "🔄 Retrying with --disable-cuda-graph fallback...\n\n",
                        )?;
                        attempt_server.argv.push("--disable-cuda-graph".to_owned());
                        retried = true;
                        continue;
                    }
                    break Err(stop);
                }
            }
        };
        let id = match started_server {
            Ok(id) => id,
            Err(stop) => {
                append(&timing, &format!("Final result: FAIL [X]\n{rule}\n\n"))?;
                engine.teardown();
                outcomes.push(outcome(
                    job,
                    &origin,
                    image,
                    &folder,
                    (m0, (ctx.clock)()),
                    Some((stop.reason, stop.evidence)),
                    String::new(),
                ));
                continue;
            }
        };
        let argv = ctx.resolve(&gate.argv);
        let mut best: Option<f64> = None;
        let mut passed_on = None;
        let mut died = None;
        for trial in 1..=gate.attempts {
            (ctx.progress)(crate::execute::Progress::Step(&format!(
                "{}: trial {trial}",
                job.model
            )));
            let log = dir.join(format!("{}_{hw}_client_try{trial}.log", job.model));
            let t = Instant::now();
            let timeout = Duration::from_secs(u64::from(job.timeout_minutes) * 60);
            let end = run_to_end(engine.as_mut(), &argv, &job.env, &log, timeout, &mut |e| {
                server_gone(e, id)
            })?;
            let acc = sglci_core::parse::gsm8k::parse_bench_sglang(&read(&log))
                .ok()
                .and_then(|b| b.accuracy);
            if let RunEnd::Aborted(why) = &end {
                died = Some(why.clone());
            }
            let pass = acc.is_some_and(|a| a >= gate.threshold);
            best = match (best, acc) {
                (Some(b), Some(a)) => Some(b.max(a)),
                (b, a) => b.or(a),
            };
            append(
                &timing,
                &format!(
                    "Trial {trial}: {} (Accuracy: {:.3}, Time: {:.2}s)\n",
                    if pass { "PASS [OK]" } else { "FAIL [X]" },
                    acc.unwrap_or(0.0),
                    t.elapsed().as_secs_f64()
                ),
            )?;
            if pass {
                passed_on = Some(trial);
                break;
            }
            if died.is_some() {
                break;
            }
        }
        if let Some(t) = passed_on {
            if t < gate.attempts {
                append(
                    &timing,
                    &format!(
                        "Early exit: Passed on trial {t}, skipped {} trial(s)\n",
                        gate.attempts - t
                    ),
                )?;
            }
        }
        let s0 = Instant::now();
        engine.stop(id);
        engine.teardown();
        append(
            &timing,
            &format!("Server shutdown: {:.2}s\n", s0.elapsed().as_secs_f64()),
        )?;
        let acc = best.unwrap_or(0.0);
        let head = if passed_on.is_some() {
            "Accuracy"
        } else {
            "Highest accuracy"
        };
        let m1 = (ctx.clock)();
        append(
            &timing,
            &format!(
                "Final result: {}\n{head}: {acc:.3} (Required: {:.3})\nTotal time: {}.00s\nEnd time: {}\n{rule}\n\n",
                if passed_on.is_some() { "PASS [OK]" } else { "FAIL [X]" },
                gate.threshold,
                m1 - m0,
                sglci_core::date::utc_datetime(m1)
            ),
        )?;
        let failure = match (passed_on, died) {
            (Some(_), _) => None,
            (None, Some(why)) => Some((
                format!("{}: the server exited during the trials", job.model),
                Evidence {
                    class: FailureClass::ServerExited,
                    line: format!("{}: {why}", sglci_core::failure::SERVER_EXITED_MARKER),
                },
            )),
            (None, None) => Some((
                format!("{}: accuracy {acc:.3} below {}", job.model, gate.threshold),
                Evidence {
                    class: FailureClass::AccuracyBelowThreshold,
                    line: format!(
                        "Highest accuracy: {acc:.3} (Required: {:.3})",
                        gate.threshold
                    ),
                },
            )),
        };
        outcomes.push(outcome(
            job,
            &origin,
            image,
            &folder,
            (m0, m1),
            failure,
            format!("{}: accuracy {acc:.3} ≥ {}", job.model, gate.threshold),
        ));
    }
    let ended = (ctx.clock)();
    let n = outcomes.len();
    let count = |w: &str| outcomes.iter().filter(|o| verdict_word(o) == w).count();
    let mut summary = format!(
        "OVERALL SUMMARY\n{rule}\nEnd time: {}\nTotal execution time: {}.00s ({:.1} minutes)\nModels tested: {n}/{n}\nModels passed: {}/{n}\nModels failed: {}/{n}\nModels skipped: {}/{n}\n",
        sglci_core::date::utc_datetime(ended),
        ended - started,
        (ended - started) as f64 / 60.0,
        count("PASS"),
        count("FAIL"),
        count("SKIPPED"),
    );
    for (job, o) in jobs.iter().zip(&outcomes) {
        let _ = writeln!(summary, "  {}: {}", job.model, verdict_word(o));
    }
    append(&timing, &summary)?;
    Ok(outcomes)
}

/// The value after `flag` in a command line.
fn flag_value<'a>(argv: &'a [String], flag: &str) -> Option<&'a str> {
    argv.iter()
        .position(|a| a == flag)
        .and_then(|i| argv.get(i + 1))
        .map(String::as_str)
}

/// F7: the offline grid, one `bench_one_batch` run per (batch size, input, output) cell, each
/// logged in the run folder; the results in the predecessor's offline CSV (`NA` for a failed
/// cell). The job fails when no cell produced a result, with the class the logs show.
pub fn run_offline(
    job: &PlannedJob,
    ctx: &mut Context<'_>,
    engine: &mut dyn Engine,
    image: &str,
) -> Result<JobOutcome, EngineError> {
    let started = (ctx.clock)();
    let tag = ctx.tag.as_str().to_owned();
    let rel = job
        .run_folder
        .clone()
        .ok_or_else(|| EngineError::Docker(format!("{}: an offline job needs a label", job.id)))?
        .replace("{tag}", &tag);
    let dir = ctx.root.join(&rel);
    if dir.exists() {
        crate::execute::keep_as_backup(&dir, started)?;
    }
    std::fs::create_dir_all(&dir).map_err(|e| log_error(&dir, e))?;
    let deadline = Instant::now() + Duration::from_secs(u64::from(job.timeout_minutes) * 60);
    let mut csv = String::from("TP,batch_size,IL,OL,Backend,Prefill_latency(s),Median_decode_latency(s),E2E_Latency(s),Prefill_Throughput(token/s),Median_Decode_Throughput(token/s),E2E_Throughput(token/s)\n");
    let (mut ok, mut failed_logs) = (0usize, Vec::new());
    let total = job.offline.len();
    let mut timed_out = false;
    for (i, cell) in job.offline.iter().enumerate() {
        let label = format!(
            "bs {} in {} out {}",
            cell.batch_size, cell.input_len, cell.output_len
        );
        (ctx.progress)(crate::execute::Progress::Point {
            done: i,
            total,
            label: &label,
        });
        let log = dir.join(format!(
            "bench_one_batch_bs{}_il{}_ol{}.log",
            cell.batch_size, cell.input_len, cell.output_len
        ));
        let left = deadline.saturating_duration_since(Instant::now());
        let end = run_to_end(engine, &cell.argv, &job.env, &log, left, &mut |_| None)?;
        let tp = flag_value(&cell.argv, "--tp").unwrap_or("1");
        let backend = flag_value(&cell.argv, "--attention-backend").unwrap_or("default");
        let r = sglci_core::parse::offline::parse_one_batch(&crate::execute::read(&log)).ok();
        let f = |v: Option<f64>, digits: usize| {
            v.map_or_else(|| "NA".to_owned(), |v| format!("{v:.digits$}"))
        };
        let _ = match &r {
            Some(r) => writeln!(
                csv,
                "{tp},{},{},{},{backend},{},{},{},{},{},{}",
                cell.batch_size,
                cell.input_len,
                cell.output_len,
                f(r.prefill_latency_s, 4),
                f(r.decode_median_latency_s, 4),
                f(r.total_latency_s, 4),
                f(r.prefill_throughput, 2),
                f(r.decode_median_throughput, 2),
                f(r.total_throughput, 2),
            ),
            None => writeln!(
                csv,
                "{tp},{},{},{},{backend},NA,NA,NA,NA,NA,NA",
                cell.batch_size, cell.input_len, cell.output_len
            ),
        };
        if r.is_some() {
            ok += 1;
        } else {
            failed_logs.push(log.clone());
        }
        if matches!(end, RunEnd::TimedOut) {
            timed_out = true;
            break;
        }
    }
    let name = rel.rsplit('/').next().unwrap_or("offline");
    let csv_path = dir.join(format!("{name}.csv"));
    std::fs::write(&csv_path, &csv).map_err(|e| log_error(&csv_path, e))?;
    let failure = if timed_out {
        Some((
            format!("the job's time ran out after {ok} of {total} cells"),
            Evidence {
                class: FailureClass::Timeout,
                line: format!(
                    "offline grid timed out ({} min job limit)",
                    job.timeout_minutes
                ),
            },
        ))
    } else if ok == 0 && total > 0 {
        let text: String = failed_logs
            .iter()
            .map(|p| sglci_core::text::clean(&crate::execute::read(p)).into_owned())
            .collect::<Vec<_>>()
            .join("\n");
        let ev = failure::classify(text.lines()).unwrap_or(Evidence {
            class: FailureClass::Unclassified,
            line: "no cell printed a `Total.` result".to_owned(),
        });
        Some((
            format!("no cell of the {total}-cell grid produced a result"),
            ev,
        ))
    } else {
        None
    };
    let origin = Origin::of(ctx);
    Ok(outcome(
        job,
        &origin,
        image,
        &rel,
        (started, (ctx.clock)()),
        failure,
        format!("{ok} of {total} cells have results"),
    ))
}
