//! `sglci-runner run`: a suite's jobs on this host, then the bundle.
//!
//! In order: the suite and its hardware, the image under test and its tag, the plan (with
//! `${VAR}` from the environment) and the jobs to run, the run id (a resumed run keeps its
//! own), [`preflight`] (idle GPUs, the image pulled; a run that cannot start still reports),
//! each job on its engine (local processes or a labelled container) through its executor in
//! [`crate::job`], the GitHub Actions job summary, and [`finish`] (ship, print, exit code).

mod finish;
mod image_check;
mod preflight;

use std::path::{Path, PathBuf};

use sglci_core::ImageTag;

use crate::cli::{CliEngine, CliRun};
use crate::container;
use crate::docker::{DockerEngine, DockerJob};
use crate::engine::{Engine, EngineError, LocalEngine};
use crate::error::RunnerError;
use crate::host::{append_job_summary, hostname, say, smoke_image, stop_on_signal};
use crate::image;
use crate::job::{self, Context, JobOutcome, Progress};
use crate::plan::{Plan, PlannedJob};
use crate::report;
use crate::ship::RunInfo;
use crate::suite::{Kind, Suite};

use finish::finish_run;
use preflight::{gpu_idle, pull_image, Preflight};

/// Runs the suite `args` names and returns the run's JSON.
pub fn run(args: &CliRun) -> Result<String, RunnerError> {
    let suite = crate::suites::load(&args.suite)?;
    let hardware = hardware_of(args, &suite)?;
    let now = sglci_core::clock::unix_now();
    if suite.kind == Kind::ImageCheck {
        return image_check::image_check(args, &suite, &hardware, now);
    }
    let (image, tag) = image_of(args, &suite, &hardware, now)?;
    let plan = crate::plan::plan_with_env(
        &suite,
        &hardware,
        Some(tag.as_str()),
        &|k| std::env::var(k).ok(),
        true,
    )?;
    if !matches!(
        plan.kind,
        Kind::Online | Kind::Smoke | Kind::Unit | Kind::Sanity | Kind::Offline | Kind::Pd
    ) {
        return Err(RunnerError::Config(format!(
            "suite `{}` is a {:?} suite: this runner executes online, smoke, offline, sanity, PD, unit and image-check suites (`sglci-runner plan` shows the others' commands)",
            suite.name, plan.kind
        )));
    }
    let jobs = select_jobs(&plan, args.job.as_deref())?;
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("sglci-runs"));
    let run_id = run_id_of(args, &jobs, &out_dir, &tag, &suite.name, &hardware, now)?;
    let info = RunInfo {
        run_id: run_id.clone(),
        hardware: hardware.clone(),
        date: tag.date().to_owned(),
        image: tag.as_str().to_owned(),
        suite: suite.name.clone(),
    };
    let preflight = Preflight {
        args,
        jobs: &jobs,
        out: &out_dir,
        info: info.clone(),
        image: &image,
        now,
    };
    gpu_idle(&hardware, args.gpu_wait).map_err(|e| preflight.failed(e))?;
    let engine_kind = args.engine.unwrap_or(if hardware == "cpu" {
        CliEngine::Local
    } else {
        CliEngine::Docker
    });
    let (out, mounts) = engine_paths(args, engine_kind, &out_dir)?;
    stop_on_signal("the run's processes", Some(run_id.clone()));
    let surface = report::Surface::detect(std::env::var("GITHUB_ACTIONS").ok().as_deref());
    if engine_kind == CliEngine::Docker {
        pull_image(&image, args, surface).map_err(|e| preflight.failed(e))?;
    }
    let base = RunBase {
        run_id,
        suite: suite.name.clone(),
        tag,
        root: out.clone(),
        command: std::env::args().collect::<Vec<_>>().join(" "),
        runner_exe: std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "sglci-runner".to_owned()),
        resume: args.resume,
        engine: EngineChoice {
            kind: engine_kind,
            image: image.clone(),
            hardware: hardware.clone(),
            devices: args.devices.clone(),
            mounts,
        },
    };
    let outcomes = if plan.kind == Kind::Sanity {
        base.sanity(&jobs, &image)?
    } else {
        base.each_job(plan.kind, &jobs, &image, surface)?
    };
    finish_run(args, &out, &info, &outcomes)
}

/// `--hardware`, else the suite's only one.
fn hardware_of(args: &CliRun, suite: &Suite) -> Result<String, RunnerError> {
    match (&args.hardware, suite.hardware.as_slice()) {
        (Some(h), _) => Ok(h.clone()),
        (None, [only]) => Ok(only.clone()),
        (None, hs) => Err(RunnerError::config(
            "--hardware",
            format!(
                "suite `{}` runs on {} (hint: pick one)",
                suite.name,
                hs.join(", ")
            ),
        )),
    }
}

/// The image under test (`--image`, or the smoke image on `cpu`) and its validated tag, which
/// must be built for the hardware. A bare nightly tag names the nightly repository's image.
fn image_of(
    args: &CliRun,
    suite: &Suite,
    hardware: &str,
    now: i64,
) -> Result<(String, ImageTag), RunnerError> {
    let image = match &args.image {
        Some(i) => i.clone(),
        None if hardware == "cpu" => smoke_image(now)?,
        None => {
            return Err(RunnerError::Config(format!(
                "--image is required for suite `{}` (hint: `sglci-runner resolve --hardware {hardware}` finds tonight's)",
                suite.name
            )))
        }
    };
    let tag = ImageTag::from_image(&image).map_err(|e| RunnerError::config("--image", e))?;
    let image = if image.contains(':') || !tag.hardware().is_amd() {
        image
    } else {
        format!("{}:{image}", image::DEFAULT_REPO)
    };
    if tag.hardware().as_str() != hardware {
        return Err(RunnerError::Config(format!(
            "--image {image} is built for {}, not --hardware {hardware}",
            tag.hardware()
        )));
    }
    Ok((image, tag))
}

/// The jobs `--job` names (by a part of their id), else every job that is not manual.
fn select_jobs<'p>(
    plan: &'p Plan,
    filter: Option<&str>,
) -> Result<Vec<&'p PlannedJob>, RunnerError> {
    let jobs: Vec<_> = plan
        .jobs
        .iter()
        .filter(|j| match filter {
            Some(f) => j.id.contains(f),
            None => !j.manual,
        })
        .collect();
    if jobs.is_empty() {
        return Err(RunnerError::config(
            "--job",
            format!("no job of `{}` matches", plan.suite),
        ));
    }
    Ok(jobs)
}

/// `--run-id`; else, when resuming, the interrupted run's (so its bundle and history partition
/// replace the partial ones instead of adding a second copy); else a new one.
fn run_id_of(
    args: &CliRun,
    jobs: &[&PlannedJob],
    out_dir: &Path,
    tag: &ImageTag,
    suite: &str,
    hardware: &str,
    now: i64,
) -> Result<String, RunnerError> {
    #[derive(serde::Deserialize)]
    struct Resumable {
        run_id: String,
    }
    let resumed_id = args
        .resume
        .then(|| {
            jobs.iter().find_map(|j| {
                let folder = j.run_folder.as_ref()?.replace("{tag}", tag.as_str());
                let text =
                    std::fs::read_to_string(out_dir.join(folder).join("results.json")).ok()?;
                serde_json::from_str::<Resumable>(&text)
                    .ok()
                    .map(|r| r.run_id)
            })
        })
        .flatten();
    let run_id = args.run_id.clone().or(resumed_id).unwrap_or_else(|| {
        // The process id keeps two runs started in the same second apart.
        format!(
            "{suite}-{hardware}-{}-{}",
            sglci_core::date::utc_stamp(now).replace('_', "-"),
            std::process::id()
        )
    });
    Ok(run_id
        .parse::<sglci_core::RunId>()
        .map_err(|e| RunnerError::config("--run-id", e))?
        .as_str()
        .to_owned())
}

/// The log root and the containers' mounts: with Docker, the log tree and this binary (the
/// builtin GSM8K client) at their own paths, so logs and commands mean the same inside.
fn engine_paths(
    args: &CliRun,
    kind: CliEngine,
    out: &Path,
) -> Result<(PathBuf, Vec<container::Mount>), RunnerError> {
    let mut mounts = args
        .mounts
        .iter()
        .map(|m| container::parse_mount(m))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| RunnerError::config("--mount", e))?;
    if kind == CliEngine::Local {
        return Ok((out.to_owned(), mounts));
    }
    let io = |e: std::io::Error| RunnerError::Machine(format!("--out {}: {e}", out.display()));
    std::fs::create_dir_all(out).map_err(io)?;
    let abs = out.canonicalize().map_err(io)?;
    mounts.push(container::Mount {
        host: abs.display().to_string(),
        container: abs.display().to_string(),
        read_only: false,
    });
    if let Ok(exe) = std::env::current_exe() {
        mounts.push(container::Mount {
            host: exe.display().to_string(),
            container: exe.display().to_string(),
            read_only: true,
        });
    }
    Ok((abs, mounts))
}

/// Where a job's processes run.
struct EngineChoice {
    kind: CliEngine,
    image: String,
    hardware: String,
    devices: Vec<String>,
    mounts: Vec<container::Mount>,
}

impl EngineChoice {
    /// This machine's processes, or a fresh labelled container for the job.
    fn make(&self, run_id: &str, job: &PlannedJob) -> Result<Box<dyn Engine>, RunnerError> {
        Ok(match self.kind {
            CliEngine::Local => Box::new(LocalEngine::default()),
            CliEngine::Docker => {
                let spec = container::spec(
                    run_id,
                    &job.id,
                    &self.image,
                    &self.hardware,
                    &std::collections::BTreeMap::new(),
                    &self.devices,
                    &self.mounts,
                );
                let job_engine = DockerJob::start(DockerEngine::connect()?, &spec)
                    .map_err(|e| RunnerError::Machine(format!("{}: {e}", job.id)))?;
                tracing::info!(container = %spec.name, image = %spec.image, "job container started");
                Box::new(job_engine)
            }
        })
    }
}

/// What every job of a run shares; [`RunBase::context`] gives a job its executor context.
struct RunBase {
    run_id: String,
    suite: String,
    tag: ImageTag,
    root: PathBuf,
    command: String,
    runner_exe: String,
    resume: bool,
    engine: EngineChoice,
}

impl RunBase {
    fn context<'a>(&self, progress: &'a mut dyn FnMut(Progress<'_>)) -> Context<'a> {
        Context {
            run_id: self.run_id.clone(),
            suite: self.suite.clone(),
            tag: self.tag.clone(),
            root: self.root.clone(),
            hostname: hostname(),
            command: self.command.clone(),
            runner_exe: self.runner_exe.clone(),
            resume: self.resume,
            clock: &sglci_core::clock::unix_now,
            progress,
        }
    }

    /// The sanity sweep: one timing summary for all models, which run in turn, each on its own
    /// engine.
    fn sanity(&self, jobs: &[&PlannedJob], image: &str) -> Result<Vec<JobOutcome>, RunnerError> {
        let mut progress = |p: Progress<'_>| {
            if let Progress::Step(s) = p {
                say(&format!("{}: {s}", self.suite));
            }
        };
        let mut ctx = self.context(&mut progress);
        let mut engine_for = |job: &PlannedJob| {
            self.engine
                .make(&self.run_id, job)
                .map_err(|e| EngineError::Docker(e.to_string()))
        };
        job::sanity::run_sanity(jobs, &mut ctx, &mut engine_for, image)
            .map_err(|e| RunnerError::Machine(format!("{}: {e}", self.suite)))
    }

    /// Every other kind: each job in its own group, on its own engine, then the job summary.
    fn each_job(
        &self,
        kind: Kind,
        jobs: &[&PlannedJob],
        image: &str,
        surface: report::Surface,
    ) -> Result<Vec<JobOutcome>, RunnerError> {
        let mut outcomes = Vec::new();
        let mut summary = Vec::new();
        for job in jobs {
            say(&report::group_start(surface, &job.id));
            let mut progress = |p: Progress<'_>| match p {
                Progress::Step(s) => say(&format!("{}: {s}", job.id)),
                Progress::Point { done, total, label } => {
                    say(&report::progress(
                        done,
                        total,
                        &format!("{}: {label}", job.id),
                    ));
                }
            };
            let mut ctx = self.context(&mut progress);
            let mut engine = self.engine.make(&self.run_id, job)?;
            let outcome = match kind {
                Kind::Unit => job::unit::run_unit(job, &mut ctx, engine.as_mut(), image),
                Kind::Offline => job::offline::run_offline(job, &mut ctx, engine.as_mut(), image),
                Kind::Pd => job::pd::run_pd(job, &mut ctx, engine.as_mut(), image),
                _ => job::online::run_online(job, &mut ctx, engine.as_mut()),
            };
            engine.teardown();
            let outcome = outcome.map_err(|e| RunnerError::Machine(format!("{}: {e}", job.id)))?;
            if let Some(end) = report::group_end(surface) {
                say(&end);
            }
            if let Some(f) = &outcome.failure {
                say(&report::annotation(
                    surface,
                    report::Level::Error,
                    &format!("{} failed: {}", job.id, f.class),
                    &format!("{} — {}", outcome.reason, f.line),
                    None,
                ));
            }
            summary.push(report::SummaryRow {
                job: job.id.clone(),
                status: match &outcome.failure {
                    None => "pass".to_owned(),
                    Some(f) => format!("fail ({})", f.class),
                },
                detail: outcome.reason.clone(),
            });
            outcomes.push(outcome);
        }
        if surface == report::Surface::GitHubActions {
            let title = format!("sglci-runner run {} ({})", self.suite, self.engine.hardware);
            append_job_summary(&report::summary(&title, &summary));
        }
        Ok(outcomes)
    }
}
