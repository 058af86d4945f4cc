//! The executor behind `sglci-runner run` for online and smoke jobs: F4 server lifecycle, F5 the
//! GSM8K gate, F6 the serving sweep with best-of-runs, F14 a failure class with its evidence
//! line, F17 resume. It writes the run folder in the predecessor's log layout (server log, GSM8K
//! log, one client log per run, timing summary, CSV) plus `results.json`, so the publisher reads
//! a runner bundle with the same parsers as the legacy tree.
//!
//! Everything that touches processes goes through an [`Engine`]; the clock is a parameter.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;
use sglci_core::failure::{self, Evidence, FailureClass, SERVER_EXITED_MARKER};
use sglci_core::parse::{bench_serving, gsm8k as gsm8k_parse};
use sglci_core::ImageTag;

use crate::engine::{run_to_end, Engine, EngineError, ProcId, RunEnd};
use crate::gsm8k::{self, Gate, Next};
use crate::outputs::{self, GsmBlock, LoadResult, PointTiming, Timing};
use crate::plan::{PlannedJob, ServerPlan, RUNNER};
use crate::suite::SweepBy;

/// Bumped when `results.json` changes meaning.
pub const RESULTS_SCHEMA: u32 = 1;

/// What a run needs besides the job.
pub struct Context<'a> {
    pub run_id: String,
    pub suite: String,
    pub tag: ImageTag,
    /// The root of the log layout (`online_benchmark_log/...` is created under it).
    pub root: PathBuf,
    pub hostname: String,
    /// The command line, for the timing summary (redacted before shipping).
    pub command: String,
    /// The running binary, for `{runner}` in planned commands.
    pub runner_exe: String,
    /// Reuse the run folder: only missing loads run again (F17).
    pub resume: bool,
    /// Unix seconds.
    pub clock: &'a dyn Fn() -> i64,
    /// Progress for humans (a terminal line or a GitHub Actions log line).
    pub progress: &'a mut dyn FnMut(Progress<'_>),
}

impl Context<'_> {
    /// A planned command with `{runner}` replaced by this binary (its builtin GSM8K client).
    pub fn resolve(&self, argv: &[String]) -> Vec<String> {
        argv.iter()
            .map(|a| {
                if a == RUNNER {
                    self.runner_exe.clone()
                } else {
                    a.clone()
                }
            })
            .collect()
    }
}

impl std::fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("run_id", &self.run_id)
            .field("suite", &self.suite)
            .field("tag", &self.tag)
            .field("root", &self.root)
            .field("resume", &self.resume)
            .finish_non_exhaustive()
    }
}

/// A step worth telling the person watching.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    Step(&'a str),
    Point {
        done: usize,
        total: usize,
        label: &'a str,
    },
}

/// pass or fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Fail,
}

/// One load's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadOutcome {
    pub load: u32,
    pub runs: u32,
    pub median_e2e_ms: Option<f64>,
    pub median_ttft_ms: Option<f64>,
    pub median_itl_ms: Option<f64>,
    pub output_throughput: Option<f64>,
    pub completed: Option<u64>,
    pub requested: Option<u64>,
    pub partial: bool,
    /// The client log the numbers come from.
    pub log: Option<String>,
}

/// A job's typed result (`results.json` in the run folder).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobOutcome {
    pub schema: u32,
    pub run_id: String,
    pub suite: String,
    pub job: String,
    pub image: String,
    pub hardware: String,
    pub host: String,
    pub run_folder: String,
    pub started_at: String,
    pub ended_at: String,
    pub status: Status,
    pub reason: String,
    pub failure: Option<Evidence>,
    pub gsm8k: Option<Gate>,
    pub threshold: Option<f64>,
    pub loads: Vec<LoadOutcome>,
    pub resumed: bool,
}

impl JobOutcome {
    pub fn failed(&self) -> bool {
        self.status == Status::Fail
    }
}

/// Why a job stopped early.
pub(crate) struct Stop {
    pub(crate) reason: String,
    pub(crate) evidence: Evidence,
}

pub(crate) fn stop(
    reason: impl Into<String>,
    class: FailureClass,
    line: impl Into<String>,
) -> Stop {
    Stop {
        reason: reason.into(),
        evidence: Evidence {
            class,
            line: sglci_core::redact::redact(&line.into()),
        },
    }
}

/// Moves `path` aside as `<path>.backup_<UTC time>`: an earlier run's output is never
/// overwritten.
pub(crate) fn keep_as_backup(path: &Path, now: i64) -> Result<(), EngineError> {
    let mut backup = path.as_os_str().to_owned();
    backup.push(format!(".backup_{}", sglci_core::date::utc_stamp(now)));
    std::fs::rename(path, &backup).map_err(|source| EngineError::Log {
        path: path.to_owned(),
        source,
    })
}

/// Load numbers as they appear in file names and tables.
fn load_of(v: f64) -> u32 {
    v.round().max(0.0) as u32
}

pub(crate) fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_default()
}

pub(crate) fn append(path: &Path, text: &str) -> Result<(), EngineError> {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|source| EngineError::Log {
            path: path.to_owned(),
            source,
        })
}

pub(crate) fn write(path: &Path, text: &str) -> Result<(), EngineError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|source| EngineError::Log {
            path: path.to_owned(),
            source,
        })
}

/// The server's failure from its log, or the fallback.
pub(crate) fn server_failure(log: &Path, fallback: Evidence) -> Evidence {
    let text = sglci_core::text::clean(&read(log)).into_owned();
    failure::classify(text.lines())
        .map(|e| Evidence {
            class: e.class,
            line: sglci_core::redact::redact(&e.line),
        })
        .unwrap_or(fallback)
}

/// Whether the server answers: the first readiness endpoint that returns 200 (SGLang's
/// `/health_generate`, `/health`, `/get_model_info`; OpenAI servers' `/v1/models`).
pub(crate) fn http_ready(port: u16) -> bool {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(3))
        .build();
    [
        "/health_generate",
        "/health",
        "/get_model_info",
        "/v1/models",
    ]
    .iter()
    .any(|p| {
        agent
            .get(&format!("http://127.0.0.1:{port}{p}"))
            .call()
            .is_ok_and(|r| r.status() == 200)
    })
}

/// What the run folder already holds (F17): complete client runs and a passed gate.
#[derive(Debug, Default)]
struct Previous {
    done: BTreeSet<(u32, u32)>,
    gate: Option<Gate>,
}

fn client_log_load(name: &str, prefix: &str) -> Option<(u32, u32)> {
    let rest = name.strip_prefix(prefix)?.strip_suffix(".log")?;
    let mut parts = rest.split('_');
    let load = parts.next()?.parse().ok()?;
    let run = parts.next()?.strip_prefix("run")?.parse().ok()?;
    Some((load, run))
}

/// Scans a run folder for what a resumed run can keep; incomplete client logs are removed (the
/// predecessor's GROK rule) so they are not counted as attempts.
fn previous(folder: &Path, client_prefix: &str, gsm_log: &Path, attempts: u32) -> Previous {
    let mut p = Previous::default();
    if let Ok(entries) = std::fs::read_dir(folder) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(key) = client_log_load(&name, client_prefix) else {
                continue;
            };
            let complete = bench_serving::parse_client_log(&read(&e.path()))
                .ok()
                .and_then(|c| c.result)
                .is_some_and(|r| r.median_e2e_ms.is_some());
            if complete {
                p.done.insert(key);
            } else {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    if let Ok(g) = gsm8k_parse::parse_log(&read(gsm_log)) {
        if g.threshold_met == Some(true) {
            p.gate = Some(Gate {
                passed: true,
                accuracy: g.final_accuracy,
                runs_used: g.runs.len(),
                early_exit: matches!(g.final_kind, Some(gsm8k_parse::FinalKind::EarlyExit)),
                attempts: attempts as usize,
                valid_runs: g.runs.iter().filter(|r| !r.excluded).count(),
                excluded_runs: g.runs.iter().filter(|r| r.excluded).count(),
            });
        }
    }
    p
}

/// Best of runs per load (predecessor.md 2.5): the smallest median E2E; the other numbers from
/// that same log.
fn best_per_load(folder: &Path, client_prefix: &str, loads: &[u32]) -> Vec<LoadOutcome> {
    let mut by_load: BTreeMap<u32, Vec<(String, bench_serving::ClientLog)>> = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir(folder) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some((load, _)) = client_log_load(&name, client_prefix) {
                if let Ok(c) = bench_serving::parse_client_log(&read(&e.path())) {
                    by_load.entry(load).or_default().push((name, c));
                }
            }
        }
    }
    loads
        .iter()
        .map(|&load| {
            let runs = by_load.get(&load).map_or(&[][..], Vec::as_slice);
            let best = runs
                .iter()
                .filter_map(|(n, c)| {
                    let r = c.result.as_ref()?;
                    Some((r.median_e2e_ms?, n, c, r))
                })
                .min_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(b.1)));
            LoadOutcome {
                load,
                runs: runs.len() as u32,
                median_e2e_ms: best.map(|b| b.0),
                median_ttft_ms: best.and_then(|b| b.3.median_ttft_ms),
                median_itl_ms: best.and_then(|b| b.3.median_itl_ms),
                output_throughput: best.and_then(|b| b.3.output_throughput),
                completed: best.and_then(|b| b.3.successful_requests),
                requested: best.and_then(|b| b.2.requested_prompts),
                partial: best.is_some_and(|b| b.2.partial()),
                log: best.map(|b| b.1.clone()),
            }
        })
        .collect()
}

/// Runs one online or smoke job. `Err` is an infrastructure failure of the engine itself (a
/// program that cannot start, a log that cannot be written); every failure of the software
/// under test is a failed [`JobOutcome`] with its class and evidence.
pub fn run_online(
    job: &PlannedJob,
    ctx: &mut Context<'_>,
    engine: &mut dyn Engine,
) -> Result<JobOutcome, EngineError> {
    let now = ctx.clock;
    let started = now();
    let tag = ctx.tag.as_str().to_owned();
    let Some(server) = job.server.as_ref() else {
        return Err(EngineError::Docker(format!(
            "{}: an online job without a server",
            job.id
        )));
    };
    let rel = job
        .run_folder
        .clone()
        .unwrap_or_else(|| {
            format!(
                "online_benchmark_log/{}/{}/{tag}_{}_online",
                ctx.tag.hardware(),
                job.model,
                job.model
            )
        })
        .replace("{tag}", &tag);
    let folder = ctx.root.join(&rel);
    if folder.exists() && !ctx.resume {
        // A second run of the same image: keep the first as the predecessor did (a `.backup_`
        // copy, which the publisher reads as such), never overwrite it.
        keep_as_backup(&folder, started)?;
    }
    std::fs::create_dir_all(&folder).map_err(|source| EngineError::Log {
        path: folder.clone(),
        source,
    })?;
    let model_folder = rel.split('/').nth(2).unwrap_or(&job.model).to_owned();
    let backend = server.backend.clone();
    let client_prefix = format!("sglang_client_log_{model_folder}_{backend}_");
    let server_log = folder.join("sglang_server.log");
    let gsm_log = folder.join(format!(
        "sglang_client_log_{model_folder}_gsm8k_{backend}.log"
    ));
    let timing_path = folder.join(format!(
        "timing_summary_{}.log",
        sglci_core::date::utc_stamp(started)
    ));
    let loads: Vec<u32> = {
        let mut seen = Vec::new();
        for p in &job.sweep {
            let l = load_of(p.value);
            if !seen.contains(&l) {
                seen.push(l);
            }
        }
        seen
    };
    let attempts = job.gsm8k.as_ref().map_or(0, |g| g.attempts);
    let prev = if ctx.resume {
        previous(&folder, &client_prefix, &gsm_log, attempts)
    } else {
        Previous::default()
    };
    let resumed = ctx.resume && (!prev.done.is_empty() || prev.gate.is_some());
    let deadline = Instant::now() + Duration::from_secs(u64::from(job.timeout_minutes) * 60);
    let env = job.env.clone();

    let mut timing = Timing {
        started_at: sglci_core::date::utc_datetime(started),
        command: ctx.command.clone(),
        hardware: ctx.tag.hardware().to_string(),
        rocm: ctx.tag.rocm().to_owned(),
        image: tag.clone(),
        model_path: job.model_path.clone().unwrap_or_else(|| job.model.clone()),
        hostname: ctx.hostname.clone(),
        header: vec![("Attention backend".to_owned(), backend.clone())],
        by: job.sweep.first().map(|p| p.by),
        ..Timing::default()
    };
    write(&timing_path, &outputs::render_timing(&timing))?;

    let total_runs: usize = job.sweep.iter().map(|p| p.runs as usize).sum();
    let all_done = job
        .sweep
        .iter()
        .all(|p| (1..=p.runs).all(|r| prev.done.contains(&(load_of(p.value), r))));
    let gate_needed = job.gsm8k.is_some() && prev.gate.is_none();
    let mut outcome_gate = prev.gate.clone();
    let mut stopped: Option<Stop> = None;
    let mut server_id: Option<ProcId> = None;

    if all_done && !gate_needed {
        timing.resumed_complete = true;
        (ctx.progress)(Progress::Step(
            "all logs already complete: skipping server startup",
        ));
    } else {
        (ctx.progress)(Progress::Step("starting the server"));
        match start_server(server, &env, &server_log, engine, ctx) {
            Ok((id, secs)) => {
                server_id = Some(id);
                timing.server_startup_s = Some(secs);
            }
            Err(s) => stopped = Some(s),
        }
        write(&timing_path, &outputs::render_timing(&timing))?;
    }

    // F5: the GSM8K gate.
    if let (None, Some(id), Some(plan), true) =
        (&stopped, server_id, job.gsm8k.as_ref(), gate_needed)
    {
        (ctx.progress)(Progress::Step("GSM8K gate"));
        let t0 = now();
        append(
            &gsm_log,
            &format!(
                "Starting GSM8K accuracy test at: {}\n",
                sglci_core::date::utc_datetime(t0)
            ),
        )?;
        let argv = ctx.resolve(&plan.argv);
        let mut runs: Vec<Option<f64>> = Vec::new();
        let gate = loop {
            let n = runs.len() + 1;
            append(
                &gsm_log,
                &format!("Executing GSM8K test Run {n} for mode {backend}...\n"),
            )?;
            let offset = read(&gsm_log).len();
            let r0 = now();
            let left = deadline.saturating_duration_since(Instant::now());
            let end = run_to_end(engine, &argv, &env, &gsm_log, left, &mut |e| {
                server_gone(e, id)
            })?;
            let out = read(&gsm_log);
            let acc = gsm8k_parse::parse_bench_sglang(&out[offset.min(out.len())..])
                .ok()
                .and_then(|b| b.accuracy);
            append(
                &gsm_log,
                &gsm8k::render_run(n, acc, (now() - r0).max(0) as u64, plan.exclude_below),
            )?;
            match end {
                RunEnd::Aborted(why) => {
                    stopped = Some(server_died(&server_log, &why, &format!("GSM8K run {n}"))?);
                    break None;
                }
                RunEnd::TimedOut => {
                    stopped = Some(stop(
                        "the job's time ran out during the GSM8K gate",
                        FailureClass::Timeout,
                        format!(
                            "GSM8K run {n} timed out ({} min job limit)",
                            job.timeout_minutes
                        ),
                    ));
                    break None;
                }
                RunEnd::Exited(_) => {}
            }
            runs.push(acc);
            if let Next::Done(g) =
                gsm8k::gate(&runs, plan.attempts, plan.threshold, plan.exclude_below)
            {
                break Some(g);
            }
        };
        if let Some(g) = gate {
            append(
                &gsm_log,
                &gsm8k::render_verdict(&g, plan.threshold, &backend),
            )?;
            timing.gsm8k = Some(GsmBlock {
                duration_s: (now() - t0).max(0) as u64,
                gate: g.clone(),
                threshold: plan.threshold,
            });
            if !g.passed {
                let a = g.accuracy.unwrap_or(0.0);
                let text = sglci_core::text::clean(&read(&gsm_log)).into_owned();
                stopped = Some(if g.accuracy.is_none() || a < plan.exclude_below {
                    let line = text
                        .lines()
                        .find(|l| l.contains("Error") || l.contains("Traceback"))
                        .unwrap_or("no run printed an accuracy")
                        .to_owned();
                    stop(
                        format!("GSM8K: every run failed (accuracy {a:.3})"),
                        FailureClass::ClientErrors,
                        line,
                    )
                } else {
                    stop(
                        format!("GSM8K accuracy {a:.3} below threshold {}", plan.threshold),
                        FailureClass::AccuracyBelowThreshold,
                        format!(
                            "Average accuracy ({a:.3}) is below threshold ({})",
                            plan.threshold
                        ),
                    )
                });
            }
            outcome_gate = Some(g);
        }
        write(&timing_path, &outputs::render_timing(&timing))?;
    } else if let Some(g) = &prev.gate {
        timing.gsm8k = job.gsm8k.as_ref().map(|p| GsmBlock {
            duration_s: 0,
            gate: g.clone(),
            threshold: p.threshold,
        });
    }

    // F6: the sweep.
    if stopped.is_none() && !job.sweep.is_empty() {
        let s0 = now();
        timing.serving_start = Some(sglci_core::date::utc_datetime(s0));
        let mut done_runs = prev.done.len().min(total_runs);
        'points: for p in &job.sweep {
            let load = load_of(p.value);
            let label = format!(
                "{} {}",
                if p.by == SweepBy::Concurrency {
                    "concurrency"
                } else {
                    "request rate"
                },
                load
            );
            let l0 = now();
            for run in 1..=p.runs {
                if prev.done.contains(&(load, run)) {
                    continue;
                }
                let Some(id) = server_id else { break 'points };
                (ctx.progress)(Progress::Point {
                    done: done_runs,
                    total: total_runs,
                    label: &label,
                });
                let log = folder.join(format!(
                    "{client_prefix}{load}_run{run}_{}.log",
                    sglci_core::date::utc_stamp(now())
                ));
                let r0 = now();
                let left = deadline.saturating_duration_since(Instant::now());
                let argv = with_output_file(&p.argv, &log.with_extension("jsonl"));
                let end = run_to_end(engine, &argv, &env, &log, left, &mut |e| server_gone(e, id))?;
                timing.points.push(PointTiming {
                    load,
                    run,
                    seconds: (now() - r0).max(0) as u64,
                });
                done_runs += 1;
                match end {
                    RunEnd::Aborted(why) => {
                        stopped = Some(server_died(
                            &server_log,
                            &why,
                            &format!("{label}, run {run}"),
                        )?);
                        break 'points;
                    }
                    RunEnd::TimedOut => {
                        stopped = Some(stop(
                            format!("the job's time ran out at {label}"),
                            FailureClass::Timeout,
                            format!(
                                "client at {label} run {run} timed out ({} min job limit)",
                                job.timeout_minutes
                            ),
                        ));
                        break 'points;
                    }
                    RunEnd::Exited(x) => {
                        // A client can finish (with errors) just before the watchdog notices.
                        if let Some(why) = server_gone(engine, id) {
                            stopped = Some(server_died(
                                &server_log,
                                &why,
                                &format!("{label}, run {run}"),
                            )?);
                            break 'points;
                        }
                        if !x.success() {
                            tracing::warn!(%label, run, exit = %x, "the client failed");
                        }
                    }
                }
                write(&timing_path, &outputs::render_timing(&timing))?;
            }
            timing
                .completed_loads
                .push((load, (now() - l0).max(0) as u64));
        }
        let s1 = now();
        if stopped.is_none() {
            timing.serving_end =
                Some((sglci_core::date::utc_datetime(s1), (s1 - s0).max(0) as u64));
        }
    }

    let outcomes = best_per_load(&folder, &client_prefix, &loads);
    if stopped.is_none() && !loads.is_empty() && outcomes.iter().all(|o| o.median_e2e_ms.is_none())
    {
        let first_error = std::fs::read_dir(&folder)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| client_log_load(&e.file_name().to_string_lossy(), &client_prefix).is_some())
            .find_map(|e| {
                bench_serving::parse_client_log(&read(&e.path()))
                    .ok()?
                    .first_error
            })
            .unwrap_or_else(|| "no client log has a `Serving Benchmark Result` block".to_owned());
        stopped = Some(stop(
            "no load produced a result",
            FailureClass::ClientErrors,
            first_error,
        ));
    }
    timing.performance = outcomes
        .iter()
        .filter(|o| o.median_e2e_ms.is_some())
        .map(|o| LoadResult {
            load: o.load,
            e2e_ms: o.median_e2e_ms,
            ttft_ms: o.median_ttft_ms,
            itl_ms: o.median_itl_ms,
            output_throughput: o.output_throughput,
        })
        .collect();

    // Server error check and shutdown.
    if let Some(id) = server_id {
        let t = now();
        engine.stop(id);
        timing.shutdown_s = Some((now() - t).max(0) as u64);
    }
    if server_id.is_some() || timing.resumed_complete {
        timing.server_check = Some(outputs::server_check(&sglci_core::text::clean(&read(
            &server_log,
        ))));
    }
    if let Some(by) = timing.by {
        let row = format!(
            "{}-{backend}, {}",
            ctx.tag.hardware().as_str().to_uppercase(),
            ctx.hostname
        );
        let csv = outputs::render_csv(&model_folder, &tag, by, &loads, &row, &timing.performance);
        let name = rel.rsplit('/').next().unwrap_or("run");
        write(&folder.join(format!("{name}.csv")), &csv)?;
    }
    let ended = now();
    timing.stopped = stopped
        .as_ref()
        .map(|s| (s.reason.clone(), s.evidence.clone()));
    timing.ended = Some((
        sglci_core::date::utc_datetime(ended),
        (ended - started).max(0) as u64,
    ));
    write(&timing_path, &outputs::render_timing(&timing))?;

    let with_result = outcomes
        .iter()
        .filter(|o| o.median_e2e_ms.is_some())
        .count();
    let reason = match &stopped {
        Some(s) => s.reason.clone(),
        None => match &outcome_gate {
            Some(g) => format!(
                "GSM8K {:.3} passed; {with_result} of {} loads have results",
                g.accuracy.unwrap_or(0.0),
                loads.len()
            ),
            None => format!("{with_result} of {} loads have results", loads.len()),
        },
    };
    let outcome = JobOutcome {
        schema: RESULTS_SCHEMA,
        run_id: ctx.run_id.clone(),
        suite: ctx.suite.clone(),
        job: job.id.clone(),
        image: tag,
        hardware: ctx.tag.hardware().to_string(),
        host: ctx.hostname.clone(),
        run_folder: rel,
        started_at: sglci_core::date::utc_datetime(started),
        ended_at: sglci_core::date::utc_datetime(ended),
        status: if stopped.is_some() {
            Status::Fail
        } else {
            Status::Pass
        },
        reason,
        failure: stopped.map(|s| s.evidence),
        gsm8k: outcome_gate,
        threshold: job.gsm8k.as_ref().map(|g| g.threshold),
        loads: outcomes,
        resumed,
    };
    let json = serde_json::to_string_pretty(&outcome).unwrap_or_default();
    write(&folder.join("results.json"), &json)?;
    Ok(outcome)
}

/// bench_serving writes its per-run JSONL into the working directory unless told where: keep
/// it in the run folder, beside the client log it belongs to.
fn with_output_file(argv: &[String], path: &Path) -> Vec<String> {
    let mut a = argv.to_vec();
    if a.iter().any(|x| x.ends_with("bench_serving")) && !a.iter().any(|x| x == "--output-file") {
        a.extend(["--output-file".to_owned(), path.display().to_string()]);
    }
    a
}

/// `Some(reason)` when the server process has exited.
pub(crate) fn server_gone(engine: &mut dyn Engine, id: ProcId) -> Option<String> {
    match engine.status(id) {
        Ok(Some(exit)) => Some(format!("the server process ended ({exit})")),
        _ => None,
    }
}

/// The server died under load: say so in its log (the publisher's classifier reads the marker)
/// unless its own last words name a more specific cause.
fn server_died(server_log: &Path, why: &str, during: &str) -> Result<Stop, EngineError> {
    let line = format!("{SERVER_EXITED_MARKER}: {why} during {during}");
    let ev = server_failure(
        server_log,
        Evidence {
            class: FailureClass::ServerExited,
            line: line.clone(),
        },
    );
    append(server_log, &format!("\n{line}\n"))?;
    Ok(Stop {
        reason: format!("the server exited during {during}"),
        evidence: ev,
    })
}

/// Starts `argv` in the background after writing what was started, with which environment, at
/// the top of its log: the first thing to read when a server misbehaves. Secrets among it are
/// redacted before the log leaves the machine (F15).
pub(crate) fn spawn_logged(
    engine: &mut dyn Engine,
    name: &str,
    argv: &[String],
    env: &BTreeMap<String, String>,
    log: &Path,
    now: i64,
) -> Result<ProcId, Stop> {
    let env_line: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    append(
        log,
        &format!(
            "sglci-runner: starting the {name} at {}: {}\nsglci-runner: environment: {}\n",
            sglci_core::date::utc_datetime(now),
            argv.join(" "),
            env_line.join(" ")
        ),
    )
    .map_err(|e| {
        stop(
            format!("the {name} log cannot be written"),
            FailureClass::Infrastructure,
            e.to_string(),
        )
    })?;
    engine.spawn(argv, env, log).map_err(|e| {
        stop(
            format!("the {name} could not be started"),
            FailureClass::Infrastructure,
            e.to_string(),
        )
    })
}

/// Starts the server and waits until it is ready (HTTP or its log line). Fails fast when the
/// process exits, with the class its log shows.
pub(crate) fn start_server(
    server: &ServerPlan,
    env: &BTreeMap<String, String>,
    log: &Path,
    engine: &mut dyn Engine,
    ctx: &Context<'_>,
) -> Result<(ProcId, u64), Stop> {
    let t0 = (ctx.clock)();
    let id = spawn_logged(engine, "server", &server.argv, env, log, t0)?;
    let limit = Instant::now() + Duration::from_secs(u64::from(server.ready_timeout_s));
    loop {
        if let Ok(Some(exit)) = engine.status(id) {
            let fallback = Evidence {
                class: FailureClass::Unclassified,
                line: format!("server exited during startup ({exit})"),
            };
            let ev = server_failure(log, fallback);
            return Err(Stop {
                reason: format!("the server exited during startup ({exit})"),
                evidence: ev,
            });
        }
        let marker =
            !server.ready.is_empty() && sglci_core::text::clean(&read(log)).contains(&server.ready);
        if marker || http_ready(server.port) {
            // The log line can come a moment before the port answers.
            let until = Instant::now() + Duration::from_secs(30);
            while !http_ready(server.port) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(250));
            }
            return Ok((id, ((ctx.clock)() - t0).max(0) as u64));
        }
        if Instant::now() > limit {
            engine.stop(id);
            let secs = server.ready_timeout_s;
            return Err(stop(
                format!("the server was not ready within {secs} s"),
                FailureClass::ServerStartTimeout,
                format!("server failed to start in time ({secs} s)"),
            ));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_log_names_round_trip() {
        assert_eq!(
            client_log_load(
                "sglang_client_log_M_llamacpp_4_run2_20261125_010203.log",
                "sglang_client_log_M_llamacpp_"
            ),
            Some((4, 2))
        );
        assert_eq!(
            client_log_load(
                "sglang_client_log_M_gsm8k_llamacpp.log",
                "sglang_client_log_M_llamacpp_"
            ),
            None
        );
    }

    #[test]
    fn a_dead_server_is_named_by_its_last_words_or_the_marker() {
        let dir = tempfile::tempdir().expect("tmp");
        let log = dir.path().join("sglang_server.log");
        std::fs::write(&log, "loading\nserving\n").expect("write");
        let s = server_died(
            &log,
            "the server process ended (signal 9)",
            "request rate 2, run 1",
        )
        .expect("stop");
        assert_eq!(s.evidence.class, FailureClass::ServerExited);
        let text = std::fs::read_to_string(&log).expect("read");
        assert!(text.contains(SERVER_EXITED_MARKER), "{text}");
        // The publisher reads the same log back to the same class.
        let parsed = sglci_core::parse::server_log::parse(text.as_bytes());
        assert_eq!(
            parsed.failure.map(|f| f.class),
            Some(FailureClass::ServerExited)
        );

        std::fs::write(&log, "x\nHIP out of memory. Tried to allocate 2 GiB\n").expect("write");
        let s = server_died(&log, "ended", "GSM8K run 1").expect("stop");
        assert_eq!(s.evidence.class, FailureClass::GpuOutOfMemory);
    }
}
