//! F9, the sanity sweep: a server per model, up to N GSM8K trials with early exit, models
//! skipped by image tag, one `--disable-cuda-graph` retry when an SGLang server fails to start;
//! `test/sanity_check_log/<hw>/<TAG>/` with a client log per trial and one timing summary.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use sglci_core::failure::{Evidence, FailureClass};

use super::server::{server_gone, start_server};
use super::{append, log_error, read, Context, EngineFor, JobOutcome, Origin, Progress, Stop};
use crate::engine::{run_to_end, Engine, EngineError, ProcId, RunEnd};
use crate::plan::{GatePlan, JobSpec, PlannedJob, ServerPlan};

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
        .filter_map(|j| j.sanity().map(|g| g.attempts))
        .max()
        .unwrap_or(0);
    let models: Vec<&str> = jobs.iter().map(|j| j.model.as_str()).collect();
    append(
        &timing,
        &format!(
            "SGLang Sanity Check Timing Summary\n{RULE}\nStart time: {}\nMachine: {}\nPlatform: {hw}\nModels: {}\nTrials per model: {trials}\nDocker image: {image}\n{RULE}\n\n",
            sglci_core::date::utc_datetime(started),
            ctx.hostname,
            models.join(", ")
        ),
    )?;
    let sweep = Sweep {
        origin: Origin::of(ctx),
        dir,
        folder,
        timing,
        hw,
        tag,
        image,
    };
    let mut outcomes = Vec::new();
    for job in jobs {
        outcomes.push(sweep.model(job, ctx, engine_for)?);
    }
    let ended = (ctx.clock)();
    let n = outcomes.len();
    let count = |w: &str| outcomes.iter().filter(|o| verdict_word(o) == w).count();
    let mut summary = format!(
        "OVERALL SUMMARY\n{RULE}\nEnd time: {}\nTotal execution time: {}.00s ({:.1} minutes)\nModels tested: {n}/{n}\nModels passed: {}/{n}\nModels failed: {}/{n}\nModels skipped: {}/{n}\n",
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
    append(&sweep.timing, &summary)?;
    Ok(outcomes)
}

/// The timing summary's section rule.
const RULE: &str = "==================================================";

/// The sweep's shared folder, timing summary and identity.
struct Sweep<'a> {
    origin: Origin,
    dir: std::path::PathBuf,
    folder: String,
    timing: std::path::PathBuf,
    hw: String,
    tag: String,
    image: &'a str,
}

/// How one model's trials went.
struct Trials {
    best: Option<f64>,
    passed_on: Option<u32>,
    died: Option<String>,
}

impl Sweep<'_> {
    fn note(&self, text: &str) -> Result<(), EngineError> {
        append(&self.timing, text)
    }

    fn outcome(
        &self,
        job: &PlannedJob,
        span: (i64, i64),
        stopped: Option<Stop>,
        pass: String,
    ) -> JobOutcome {
        JobOutcome::new(
            &job.id,
            &self.origin,
            self.image,
            &self.folder,
            span,
            stopped,
            pass,
        )
    }

    /// One model: skipped by tag, or its server, its trials and its verdict.
    fn model(
        &self,
        job: &PlannedJob,
        ctx: &mut Context<'_>,
        engine_for: &mut EngineFor<'_>,
    ) -> Result<JobOutcome, EngineError> {
        let JobSpec::Sanity {
            server,
            gate,
            config,
        } = &job.spec
        else {
            return Err(EngineError::NotThisKind {
                job: job.id.clone(),
                kind: "sanity",
            });
        };
        let m0 = (ctx.clock)();
        let skip = config
            .skip_tags_containing
            .iter()
            .find(|s| self.tag.contains(s.as_str()));
        if let Some(skip) = skip {
            self.note(&format!(
                "=== {} on {} ===\nSkipped: image tag contains `{skip}`\n{RULE}\n\n",
                job.model, self.hw
            ))?;
            let why = format!("skipped: the image tag contains `{skip}`");
            return Ok(self.outcome(job, (m0, (ctx.clock)()), None, why));
        }
        (ctx.progress)(Progress::Step(&format!(
            "{}: starting the server",
            job.model
        )));
        let mut engine = engine_for(job)?;
        let id = match self.start_with_retry(job, server, ctx, engine.as_mut())? {
            Ok(id) => id,
            Err(stop) => {
                self.note(&format!("Final result: FAIL [X]\n{RULE}\n\n"))?;
                engine.teardown();
                return Ok(self.outcome(job, (m0, (ctx.clock)()), Some(stop), String::new()));
            }
        };
        let trials = self.trials(job, gate, id, ctx, engine.as_mut())?;
        let s0 = Instant::now();
        engine.stop(id);
        engine.teardown();
        self.note(&format!(
            "Server shutdown: {:.2}s\n",
            s0.elapsed().as_secs_f64()
        ))?;
        let acc = trials.best.unwrap_or(0.0);
        let head = if trials.passed_on.is_some() {
            "Accuracy"
        } else {
            "Highest accuracy"
        };
        let m1 = (ctx.clock)();
        self.note(&format!(
            "Final result: {}\n{head}: {acc:.3} (Required: {:.3})\nTotal time: {}.00s\nEnd time: {}\n{RULE}\n\n",
            if trials.passed_on.is_some() { "PASS [OK]" } else { "FAIL [X]" },
            gate.threshold,
            m1 - m0,
            sglci_core::date::utc_datetime(m1)
        ))?;
        let failure = match (trials.passed_on, trials.died) {
            (Some(_), _) => None,
            (None, Some(why)) => Some(Stop {
                reason: format!("{}: the server exited during the trials", job.model),
                evidence: Evidence {
                    class: FailureClass::ServerExited,
                    line: format!("{}: {why}", sglci_core::failure::SERVER_EXITED_MARKER),
                },
            }),
            (None, None) => Some(Stop {
                reason: format!("{}: accuracy {acc:.3} below {}", job.model, gate.threshold),
                evidence: Evidence {
                    class: FailureClass::AccuracyBelowThreshold,
                    line: format!(
                        "Highest accuracy: {acc:.3} (Required: {:.3})",
                        gate.threshold
                    ),
                },
            }),
        };
        let pass = format!("{}: accuracy {acc:.3} ≥ {}", job.model, gate.threshold);
        Ok(self.outcome(job, (m0, m1), failure, pass))
    }

    /// Starts the model's server; an SGLang server that fails is retried once with
    /// `--disable-cuda-graph`. The inner `Err` is the model's failure.
    fn start_with_retry(
        &self,
        job: &PlannedJob,
        server: &ServerPlan,
        ctx: &mut Context<'_>,
        engine: &mut dyn Engine,
    ) -> Result<Result<ProcId, Stop>, EngineError> {
        let server_log = self
            .dir
            .join(format!("{}_{}_server.log", job.model, self.hw));
        let mut attempt = server.clone();
        let mut retried = false;
        loop {
            let a0 = (ctx.clock)();
            self.note(&format!(
                "=== {} on {} ===\nStart time: {}\n{}",
                job.model,
                self.hw,
                sglci_core::date::utc_datetime(a0),
                if retried {
                    "Note: Running with --disable-cuda-graph fallback\n"
                } else {
                    ""
                }
            ))?;
            let t = Instant::now();
            let stop = match start_server(&attempt, &job.env, &server_log, engine, ctx) {
                Ok((id, _)) => {
                    self.note(&format!(
                        "Server startup: {:.2}s\n",
                        t.elapsed().as_secs_f64()
                    ))?;
                    return Ok(Ok(id));
                }
                Err(stop) => stop,
            };
            self.note(&format!(
                "Server startup: FAILED after {:.2}s\nError: {}\n",
                t.elapsed().as_secs_f64(),
                stop.evidence.line
            ))?;
            let sglang = attempt.argv.iter().any(|a| a == "sglang.launch_server");
            let has_flag = attempt.argv.iter().any(|a| a == "--disable-cuda-graph");
            if retried || !sglang || has_flag {
                return Ok(Err(stop));
            }
            self.note("🔄 Retrying with --disable-cuda-graph fallback...\n\n")?;
            attempt.argv.push("--disable-cuda-graph".to_owned());
            retried = true;
        }
    }

    /// Up to `attempts` GSM8K trials; the first pass ends early, a dead server ends them.
    fn trials(
        &self,
        job: &PlannedJob,
        gate: &GatePlan,
        id: ProcId,
        ctx: &mut Context<'_>,
        engine: &mut dyn Engine,
    ) -> Result<Trials, EngineError> {
        let argv = ctx.resolve(&gate.argv);
        let mut t = Trials {
            best: None,
            passed_on: None,
            died: None,
        };
        for trial in 1..=gate.attempts {
            (ctx.progress)(Progress::Step(&format!("{}: trial {trial}", job.model)));
            let log = self
                .dir
                .join(format!("{}_{}_client_try{trial}.log", job.model, self.hw));
            let t0 = Instant::now();
            let timeout = Duration::from_secs(u64::from(job.timeout_minutes) * 60);
            let end = run_to_end(engine, &argv, &job.env, &log, timeout, &mut |e| {
                server_gone(e, id)
            })?;
            let acc = sglci_core::parse::gsm8k::parse_bench_sglang(&read(&log))
                .ok()
                .and_then(|b| b.accuracy);
            if let RunEnd::Aborted(why) = &end {
                t.died = Some(why.clone());
            }
            let pass = acc.is_some_and(|a| a >= gate.threshold);
            t.best = match (t.best, acc) {
                (Some(b), Some(a)) => Some(b.max(a)),
                (b, a) => b.or(a),
            };
            self.note(&format!(
                "Trial {trial}: {} (Accuracy: {:.3}, Time: {:.2}s)\n",
                if pass { "PASS [OK]" } else { "FAIL [X]" },
                acc.unwrap_or(0.0),
                t0.elapsed().as_secs_f64()
            ))?;
            if pass {
                t.passed_on = Some(trial);
                if trial < gate.attempts {
                    self.note(&format!(
                        "Early exit: Passed on trial {trial}, skipped {} trial(s)\n",
                        gate.attempts - trial
                    ))?;
                }
                break;
            }
            if t.died.is_some() {
                break;
            }
        }
        Ok(t)
    }
}
