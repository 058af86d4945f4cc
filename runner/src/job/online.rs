//! Online and smoke jobs: the server's lifecycle, the GSM8K gate, the serving sweep with
//! best-of-runs, a failure class with its evidence line, and resume (keep complete loads and a
//! passed gate). The run folder is the predecessor's (server log, GSM8K log, one client log per
//! run, timing summary, CSV) plus `results.json`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;
use sglci_core::failure::FailureClass;
use sglci_core::parse::{bench_serving, gsm8k as gsm8k_parse};

use super::server::{server_gone, service_died, start_server};
use super::{
    append, keep_as_backup, read, stop, write, Context, JobOutcome, Origin, Progress, Stop,
};
use crate::engine::{run_to_end, Engine, EngineError, ProcId, RunEnd};
use crate::gsm8k::{self, Gate, Next};
use crate::outputs::{self, GsmBlock, LoadResult, PointTiming, Timing};
use crate::plan::{GatePlan, JobSpec, PlannedJob, ServerPlan, SweepPoint};
use crate::suite::SweepBy;

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

/// Load numbers as they appear in file names and tables.
fn load_of(v: f64) -> u32 {
    v.round().max(0.0) as u32
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
    let JobSpec::Online {
        server,
        gsm8k,
        sweep,
    } = &job.spec
    else {
        return Err(EngineError::NotThisKind {
            job: job.id.clone(),
            kind: "online",
        });
    };
    let mut run = OnlineRun::prepare(job, server, gsm8k.as_ref(), sweep, ctx)?;
    run.start(ctx, engine)?;
    if let (None, Some(id), Some(plan), true) =
        (&run.stopped, run.server_id, run.gsm8k, run.gate_needed())
    {
        run.gate(plan, id, ctx, engine)?;
    } else if let Some(g) = &run.prev.gate {
        run.timing.gsm8k = run.gsm8k.map(|p| GsmBlock {
            duration_s: 0,
            gate: g.clone(),
            threshold: p.threshold,
        });
    }
    if run.stopped.is_none() && !run.sweep.is_empty() {
        run.sweep(ctx, engine)?;
    }
    run.finish(ctx, engine)
}

/// An online job in progress: where its files go and what it has found so far.
struct OnlineRun<'j> {
    job: &'j PlannedJob,
    server: &'j ServerPlan,
    gsm8k: Option<&'j GatePlan>,
    sweep: &'j [SweepPoint],
    started: i64,
    tag: String,
    /// The run folder, relative to the log root, and where it is.
    rel: String,
    folder: PathBuf,
    model_folder: String,
    backend: String,
    client_prefix: String,
    server_log: PathBuf,
    gsm_log: PathBuf,
    timing_path: PathBuf,
    loads: Vec<u32>,
    prev: Previous,
    deadline: Instant,
    timing: Timing,
    stopped: Option<Stop>,
    server_id: Option<ProcId>,
    gate: Option<Gate>,
}

impl<'j> OnlineRun<'j> {
    /// The run folder (an earlier one kept as a backup unless resuming), what a resumed run can
    /// keep, and the first timing summary.
    fn prepare(
        job: &'j PlannedJob,
        server: &'j ServerPlan,
        gsm8k: Option<&'j GatePlan>,
        sweep: &'j [SweepPoint],
        ctx: &Context<'_>,
    ) -> Result<Self, EngineError> {
        let started = (ctx.clock)();
        let tag = ctx.tag.as_str().to_owned();
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
            // A second run of the same image: keep the first as the predecessor did (a
            // `.backup_` copy, which the publisher reads as such), never overwrite it.
            keep_as_backup(&folder, started)?;
        }
        std::fs::create_dir_all(&folder).map_err(|source| EngineError::Log {
            path: folder.clone(),
            source,
        })?;
        let model_folder = rel.split('/').nth(2).unwrap_or(&job.model).to_owned();
        let backend = server.backend.clone();
        let client_prefix = format!("sglang_client_log_{model_folder}_{backend}_");
        let gsm_log = folder.join(format!(
            "sglang_client_log_{model_folder}_gsm8k_{backend}.log"
        ));
        let mut loads = Vec::new();
        for p in sweep {
            let l = load_of(p.value);
            if !loads.contains(&l) {
                loads.push(l);
            }
        }
        let prev = if ctx.resume {
            previous(
                &folder,
                &client_prefix,
                &gsm_log,
                gsm8k.map_or(0, |g| g.attempts),
            )
        } else {
            Previous::default()
        };
        let timing = Timing {
            started_at: sglci_core::date::utc_datetime(started),
            command: ctx.command.clone(),
            hardware: ctx.tag.hardware().to_string(),
            rocm: ctx.tag.rocm().to_owned(),
            image: tag.clone(),
            model_path: job.model_path.clone().unwrap_or_else(|| job.model.clone()),
            hostname: ctx.hostname.clone(),
            header: vec![("Attention backend".to_owned(), backend.clone())],
            by: sweep.first().map(|p| p.by),
            ..Timing::default()
        };
        let run = Self {
            job,
            server,
            gsm8k,
            sweep,
            started,
            tag,
            server_log: folder.join("sglang_server.log"),
            timing_path: folder.join(format!(
                "timing_summary_{}.log",
                sglci_core::date::utc_stamp(started)
            )),
            rel,
            folder,
            model_folder,
            backend,
            client_prefix,
            gsm_log,
            loads,
            gate: prev.gate.clone(),
            prev,
            deadline: Instant::now() + Duration::from_secs(u64::from(job.timeout_minutes) * 60),
            timing,
            stopped: None,
            server_id: None,
        };
        run.save_timing()?;
        Ok(run)
    }

    fn save_timing(&self) -> Result<(), EngineError> {
        write(&self.timing_path, &outputs::render_timing(&self.timing))
    }

    fn gate_needed(&self) -> bool {
        self.gsm8k.is_some() && self.prev.gate.is_none()
    }

    /// Starts the server, unless a resumed run already has every log it needs.
    fn start(&mut self, ctx: &mut Context<'_>, engine: &mut dyn Engine) -> Result<(), EngineError> {
        let all_done = self
            .sweep
            .iter()
            .all(|p| (1..=p.runs).all(|r| self.prev.done.contains(&(load_of(p.value), r))));
        if all_done && !self.gate_needed() {
            self.timing.resumed_complete = true;
            (ctx.progress)(Progress::Step(
                "all logs already complete: skipping server startup",
            ));
            return Ok(());
        }
        (ctx.progress)(Progress::Step("starting the server"));
        match start_server(self.server, &self.job.env, &self.server_log, engine, ctx) {
            Ok((id, secs)) => {
                self.server_id = Some(id);
                self.timing.server_startup_s = Some(secs);
            }
            Err(s) => self.stopped = Some(s),
        }
        self.save_timing()
    }

    /// F5: the GSM8K gate, up to `attempts` runs with early exit.
    fn gate(
        &mut self,
        plan: &GatePlan,
        id: ProcId,
        ctx: &mut Context<'_>,
        engine: &mut dyn Engine,
    ) -> Result<(), EngineError> {
        let now = ctx.clock;
        (ctx.progress)(Progress::Step("GSM8K gate"));
        let t0 = now();
        let gsm_log = self.gsm_log.clone();
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
                &format!(
                    "Executing GSM8K test Run {n} for mode {}...\n",
                    self.backend
                ),
            )?;
            let offset = read(&gsm_log).len();
            let r0 = now();
            let left = self.deadline.saturating_duration_since(Instant::now());
            let end = run_to_end(engine, &argv, &self.job.env, &gsm_log, left, &mut |e| {
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
                    let during = format!("GSM8K run {n}");
                    self.stopped = Some(service_died(&self.server_log, "server", &why, &during));
                    break None;
                }
                RunEnd::TimedOut => {
                    self.stopped = Some(stop(
                        "the job's time ran out during the GSM8K gate",
                        FailureClass::Timeout,
                        format!(
                            "GSM8K run {n} timed out ({} min job limit)",
                            self.job.timeout_minutes
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
                &gsm8k::render_verdict(&g, plan.threshold, &self.backend),
            )?;
            self.timing.gsm8k = Some(GsmBlock {
                duration_s: (now() - t0).max(0) as u64,
                gate: g.clone(),
                threshold: plan.threshold,
            });
            if !g.passed {
                self.stopped = Some(gate_failure(&g, plan, &gsm_log));
            }
            self.gate = Some(g);
        }
        self.save_timing()
    }

    /// F6: the sweep, one client run per load and repeat (runs a resumed run has are kept).
    fn sweep(&mut self, ctx: &mut Context<'_>, engine: &mut dyn Engine) -> Result<(), EngineError> {
        let now = ctx.clock;
        let s0 = now();
        self.timing.serving_start = Some(sglci_core::date::utc_datetime(s0));
        let total_runs: usize = self.sweep.iter().map(|p| p.runs as usize).sum();
        let mut done_runs = self.prev.done.len().min(total_runs);
        'points: for p in self.sweep {
            let load = load_of(p.value);
            let what = if p.by == SweepBy::Concurrency {
                "concurrency"
            } else {
                "request rate"
            };
            let label = format!("{what} {load}");
            let l0 = now();
            for run in 1..=p.runs {
                if self.prev.done.contains(&(load, run)) {
                    continue;
                }
                let Some(id) = self.server_id else {
                    break 'points;
                };
                (ctx.progress)(Progress::Point {
                    done: done_runs,
                    total: total_runs,
                    label: &label,
                });
                let log = self.folder.join(format!(
                    "{}{load}_run{run}_{}.log",
                    self.client_prefix,
                    sglci_core::date::utc_stamp(now())
                ));
                let r0 = now();
                let left = self.deadline.saturating_duration_since(Instant::now());
                let argv = with_output_file(&p.argv, &log.with_extension("jsonl"));
                let end = run_to_end(engine, &argv, &self.job.env, &log, left, &mut |e| {
                    server_gone(e, id)
                })?;
                self.timing.points.push(PointTiming {
                    load,
                    run,
                    seconds: (now() - r0).max(0) as u64,
                });
                done_runs += 1;
                let during = format!("{label}, run {run}");
                // A client can finish (with errors) just before the watchdog notices.
                let gone = match &end {
                    RunEnd::Aborted(why) => Some(why.clone()),
                    RunEnd::Exited(_) => server_gone(engine, id),
                    RunEnd::TimedOut => None,
                };
                if let Some(why) = gone {
                    self.stopped = Some(service_died(&self.server_log, "server", &why, &during));
                    break 'points;
                }
                match end {
                    RunEnd::TimedOut => {
                        self.stopped = Some(stop(
                            format!("the job's time ran out at {label}"),
                            FailureClass::Timeout,
                            format!(
                                "client at {label} run {run} timed out ({} min job limit)",
                                self.job.timeout_minutes
                            ),
                        ));
                        break 'points;
                    }
                    RunEnd::Exited(x) if !x.success() => {
                        tracing::warn!(%label, run, exit = %x, "the client failed");
                    }
                    _ => {}
                }
                self.save_timing()?;
            }
            self.timing
                .completed_loads
                .push((load, (now() - l0).max(0) as u64));
        }
        let s1 = now();
        if self.stopped.is_none() {
            self.timing.serving_end =
                Some((sglci_core::date::utc_datetime(s1), (s1 - s0).max(0) as u64));
        }
        Ok(())
    }

    /// Best of runs per load, the server's shutdown and error check, the CSV, the last timing
    /// summary and `results.json`.
    fn finish(
        mut self,
        ctx: &mut Context<'_>,
        engine: &mut dyn Engine,
    ) -> Result<JobOutcome, EngineError> {
        let now = ctx.clock;
        let outcomes = best_per_load(&self.folder, &self.client_prefix, &self.loads);
        if self.stopped.is_none()
            && !self.loads.is_empty()
            && outcomes.iter().all(|o| o.median_e2e_ms.is_none())
        {
            self.stopped = Some(no_results(&self.folder, &self.client_prefix));
        }
        self.timing.performance = outcomes
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
        if let Some(id) = self.server_id {
            let t = now();
            engine.stop(id);
            self.timing.shutdown_s = Some((now() - t).max(0) as u64);
        }
        if self.server_id.is_some() || self.timing.resumed_complete {
            self.timing.server_check = Some(outputs::server_check(&sglci_core::text::clean(
                &read(&self.server_log),
            )));
        }
        if let Some(by) = self.timing.by {
            let row = format!(
                "{}-{}, {}",
                ctx.tag.hardware().as_str().to_uppercase(),
                self.backend,
                ctx.hostname
            );
            let csv = outputs::render_csv(
                &self.model_folder,
                &self.tag,
                by,
                &self.loads,
                &row,
                &self.timing.performance,
            );
            let name = self.rel.rsplit('/').next().unwrap_or("run");
            write(&self.folder.join(format!("{name}.csv")), &csv)?;
        }
        let ended = now();
        self.timing.stopped = self
            .stopped
            .as_ref()
            .map(|s| (s.reason.clone(), s.evidence.clone()));
        self.timing.ended = Some((
            sglci_core::date::utc_datetime(ended),
            (ended - self.started).max(0) as u64,
        ));
        self.save_timing()?;
        let with_result = outcomes
            .iter()
            .filter(|o| o.median_e2e_ms.is_some())
            .count();
        let loads = format!("{with_result} of {} loads have results", self.loads.len());
        let pass_reason = match (&self.gate, &self.job.gate_skipped) {
            (Some(g), _) => format!("GSM8K {:.3} passed; {loads}", g.accuracy.unwrap_or(0.0)),
            (None, Some(why)) => format!("GSM8K skipped: {why}; {loads}"),
            (None, None) => loads,
        };
        let resumed = ctx.resume && (!self.prev.done.is_empty() || self.prev.gate.is_some());
        let outcome = JobOutcome {
            gsm8k: self.gate,
            threshold: self.gsm8k.map(|g| g.threshold),
            loads: outcomes,
            resumed,
            ..JobOutcome::new(
                &self.job.id,
                &Origin::of(ctx),
                &self.tag,
                &self.rel,
                (self.started, ended),
                self.stopped,
                pass_reason,
            )
        };
        outcome.save(&self.folder)?;
        Ok(outcome)
    }
}

/// Why a failed gate failed: every run errored (the first error line), or the accuracy is below
/// the threshold.
fn gate_failure(g: &Gate, plan: &GatePlan, gsm_log: &Path) -> Stop {
    let a = g.accuracy.unwrap_or(0.0);
    if g.accuracy.is_none() || a < plan.exclude_below {
        let text = sglci_core::text::clean(&read(gsm_log)).into_owned();
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
    }
}

/// No load produced a result: the first client error the logs show.
fn no_results(folder: &Path, client_prefix: &str) -> Stop {
    let first_error = std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| client_log_load(&e.file_name().to_string_lossy(), client_prefix).is_some())
        .find_map(|e| {
            bench_serving::parse_client_log(&read(&e.path()))
                .ok()?
                .first_error
        })
        .unwrap_or_else(|| "no client log has a `Serving Benchmark Result` block".to_owned());
    stop(
        "no load produced a result",
        FailureClass::ClientErrors,
        first_error,
    )
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
}
