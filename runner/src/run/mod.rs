//! `sglci-runner run`: a suite's jobs on this host, then the bundle.
//!
//! In order: the suite and its hardware, the image under test and what its reference and the
//! host's GPUs say ([`identify`]: a first run label), the plan (with `${VAR}` from the
//! environment) and the jobs to run, the run id (a resumed run keeps its own), [`preflight`]
//! (idle GPUs, the image pulled; a run that cannot start still reports), the image's own
//! identity (`docker inspect`, the probe inside it) and the final run label, each job on its
//! engine (local processes or a labelled container) through its executor in
//! [`crate::job`], the GitHub Actions job summary, and [`finish`] (ship, print, exit code).

mod efficiency;
mod finish;
mod identify;
mod image_check;
mod preflight;
mod traces;

use std::path::{Path, PathBuf};

use sglci_core::{Hardware, ImageTag};

use crate::cli::{CliEngine, CliRun};
use crate::container;
use crate::docker::{DockerEngine, DockerJob};
use crate::engine::{Engine, EngineError, LocalEngine};
use crate::error::RunnerError;
use crate::host::{append_job_summary, hostname, say, smoke_image, stop_on_signal};
use crate::identity::{self, IdentityInputs};
use crate::image;
use crate::job::{self, Context, JobOutcome, Progress};
use crate::plan::{Plan, PlannedJob};
use crate::report;
use crate::ship::RunInfo;
use crate::suite::{Kind, Suite};

use finish::finish_run;
pub use finish::RunReport;
use preflight::{gpu_idle, pull_image, Preflight};

/// Runs the suite `args` names and returns the run's JSON.
pub fn run(args: &CliRun) -> Result<String, RunnerError> {
    let suite = load_suite(args)?;
    if suite.kind == Kind::ImageCheck {
        let hardware = hardware_of(args, &suite)?;
        let now = sglci_core::clock::unix_now();
        return image_check::image_check(args, &suite, &hardware, now);
    }
    run_report(args)?.into_result()
}

/// Runs the suite `args` names: the typed report of a run that ran (its jobs may have failed),
/// or the error of one that could not (configuration, machine).
pub fn run_report(args: &CliRun) -> Result<RunReport, RunnerError> {
    let suite = load_suite(args)?;
    let now = sglci_core::clock::unix_now();
    let flag = hardware_flag(args, &suite)?;
    let given = image_given(args, &suite, flag.as_ref(), now)?;
    let image = identity::reference(&given)
        .map_err(|e| RunnerError::config("--image", e))?
        .image;
    let mut inputs = IdentityInputs {
        hardware: flag.clone(),
        host: identify::host_gpus(flag.as_ref()),
        facts: None,
        probe: None,
        run_date: image::pacific_date(now, 0),
    };
    // What the reference and the host say: enough to report a run that cannot start.
    let (_, first_label) =
        identity::identify(&given, &inputs).map_err(|e| RunnerError::config("--image", e))?;
    let hardware = first_label.hardware().to_string();
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("sglci-runs"));
    let first = Prepared::new(args, &suite, &first_label, &out_dir, now)?;
    let first_jobs = first.jobs();
    let preflight = Preflight {
        args,
        jobs: &first_jobs,
        out: &out_dir,
        info: first.info.clone(),
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
    stop_on_signal("the run's processes", Some(first.run_id.clone()));
    let surface = report::Surface::detect(std::env::var("GITHUB_ACTIONS").ok().as_deref());
    let gpus: container::Gpus = args.gpus.parse().map_err(RunnerError::Config)?;
    if engine_kind == CliEngine::Docker {
        pull_image(&image, args, surface).map_err(|e| preflight.failed(e))?;
        inputs.facts = identify::image_facts(&image);
    }
    // What the image says about itself, asked where the jobs will run.
    inputs.probe = identify::probe_image(
        engine_kind,
        &container::Placement {
            run_id: &first.run_id,
            job: "probe",
            image: &image,
            hardware: &hardware,
            env: &std::collections::BTreeMap::new(),
            devices: &args.devices,
            gpus: &gpus,
            mounts: &mounts,
        },
        &std::env::temp_dir().join(format!("sglci-probe-{}.log", first.run_id)),
    );
    let (identity, label) =
        identity::identify(&given, &inputs).map_err(|e| RunnerError::config("--image", e))?;
    let run = if label == first_label {
        first
    } else {
        say(&format!(
            "run label {label} (the image's identity refines {first_label})"
        ));
        let run = Prepared::new(args, &suite, &label, &out_dir, now)?;
        if run.run_id != first.run_id {
            stop_on_signal("the run's processes", Some(run.run_id.clone()));
        }
        run
    };
    let jobs = run.jobs();
    crate::reduced::write_all(&jobs, args.tailor.model_config.as_deref(), &mounts)?;
    let nodes = nodes_of(args)?;
    let wait = std::time::Duration::from_secs(args.nodes.node_wait);
    let leader = match &nodes {
        Some(n) if n.is_leader() => Some(std::cell::RefCell::new(
            crate::nodes::coord::Leader::gather(&n.coord_addr(), n.nnodes, wait)
                .map_err(RunnerError::Machine)?,
        )),
        _ => None,
    };
    let base = RunBase {
        run_id: run.run_id.clone(),
        suite: suite.name.clone(),
        tag: label,
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
            gpus,
            mounts,
        },
        leader,
        rank_events_seen: std::cell::Cell::new(0),
    };
    if let Some(n) = nodes.as_ref().filter(|n| !n.is_leader()) {
        return base.follow(n, &jobs, wait, identity);
    }
    let outcomes = if run.plan.kind == Kind::Sanity {
        base.sanity(&jobs, &image)?
    } else {
        base.each_job(run.plan.kind, &jobs, &image, surface)?
    };
    traces::compress_all(&jobs, &out);
    efficiency::write_all(
        &jobs,
        &out,
        args.tailor.model_config.as_deref(),
        &base.engine.mounts,
    );
    if let Some(l) = &base.leader {
        l.borrow_mut().say(&crate::nodes::Msg::Done);
    }
    let mut info = run
        .info
        .clone()
        .with_record(identity, &jobs, now, &outcomes);
    if let (Some(r), Some(n)) = (info.record.as_mut(), &nodes) {
        r.nodes = Some(sglci_core::bundle::NodeRank {
            nnodes: n.nnodes,
            rank: n.rank,
        });
    }
    finish_run(args, &out, &info, outcomes)
}

/// The suite as the command line tailors it; reduced models go under `<out>/mconf`.
fn load_suite(args: &CliRun) -> Result<Suite, RunnerError> {
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("sglci-runs"));
    crate::suites::load_tailored(&args.suite, &args.tailor, &mconf_root(&out)?)
}

/// `<out>/mconf`, absolute (the same path on the host and in a job's container, where the
/// run's folder is mounted at its own path).
pub fn mconf_root(out: &Path) -> Result<PathBuf, RunnerError> {
    Ok(absolute(out)?.join("mconf"))
}

/// `path` made absolute against the working directory.
pub fn absolute(path: &Path) -> Result<PathBuf, RunnerError> {
    if path.is_absolute() {
        return Ok(path.to_owned());
    }
    Ok(std::env::current_dir()
        .map_err(|e| RunnerError::Machine(format!("the working directory: {e}")))?
        .join(path))
}

/// A run's plan, jobs, id and bundle identity for one run label.
struct Prepared {
    plan: Plan,
    /// Indexes into the plan's jobs.
    selected: Vec<usize>,
    run_id: String,
    info: RunInfo,
}

impl Prepared {
    fn new(
        args: &CliRun,
        suite: &Suite,
        label: &ImageTag,
        out_dir: &Path,
        now: i64,
    ) -> Result<Self, RunnerError> {
        let hardware = label.hardware().to_string();
        let plan = crate::plan::plan_with_env(
            suite,
            &hardware,
            Some(label.as_str()),
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
        let mut plan = plan;
        crate::profile::apply(
            &mut plan,
            args.tailor.profile,
            args.tailor.profile_load,
            &absolute(out_dir)?,
        )
        .map_err(RunnerError::Config)?;
        let deploy_nodes = suite.deploy().map(|d| d.nnodes());
        match nodes_of(args)? {
            Some(n) => n.apply(&mut plan, deploy_nodes),
            None => crate::nodes::check_single_node(deploy_nodes),
        }
        .map_err(RunnerError::Config)?;
        let selected = select_jobs(&plan, args.job.as_deref())?;
        let jobs: Vec<&PlannedJob> = selected.iter().map(|&i| &plan.jobs[i]).collect();
        let run_id = run_id_of(args, &jobs, out_dir, label, &suite.name, &hardware, now)?;
        let info = RunInfo {
            run_id: run_id.clone(),
            hardware,
            date: label.date().to_owned(),
            image: label.as_str().to_owned(),
            suite: suite.name.clone(),
            record: None,
        };
        Ok(Self {
            plan,
            selected,
            run_id,
            info,
        })
    }

    fn jobs(&self) -> Vec<&PlannedJob> {
        self.selected.iter().map(|&i| &self.plan.jobs[i]).collect()
    }
}

/// `--nnodes`, `--node-rank`, `--master`: `None` for a one-node run.
fn nodes_of(args: &CliRun) -> Result<Option<crate::nodes::Nodes>, RunnerError> {
    crate::nodes::Nodes::from_flags(
        args.nodes.nnodes,
        args.nodes.node_rank,
        args.nodes.master.as_deref(),
    )
    .map_err(RunnerError::Config)
}

/// `--hardware`, else the suite's only one, else none (the host or the tag will say).
fn hardware_flag(args: &CliRun, suite: &Suite) -> Result<Option<Hardware>, RunnerError> {
    let h = match (&args.hardware, suite.hardware.as_slice()) {
        (Some(h), _) => h.clone(),
        (None, [only]) => only.clone(),
        (None, _) => return Ok(None),
    };
    h.parse()
        .map(Some)
        .map_err(|e| RunnerError::config("--hardware", e))
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

/// The image under test as given: `--image`, or the smoke label on `cpu`.
fn image_given(
    args: &CliRun,
    suite: &Suite,
    hardware: Option<&Hardware>,
    now: i64,
) -> Result<String, RunnerError> {
    match (&args.image, hardware) {
        (Some(i), _) => Ok(i.clone()),
        (None, Some(h)) if h.as_str() == "cpu" => smoke_image(now),
        (None, h) => Err(RunnerError::Config(format!(
            "--image is required for suite `{}` (hint: `sglci-runner resolve --hardware {}` finds tonight's)",
            suite.name,
            h.map_or("<hw>", Hardware::as_str)
        ))),
    }
}

/// The jobs `--job` names (by a part of their id), else every job that is not manual: their
/// indexes in the plan.
fn select_jobs(plan: &Plan, filter: Option<&str>) -> Result<Vec<usize>, RunnerError> {
    let jobs: Vec<usize> = plan
        .jobs
        .iter()
        .enumerate()
        .filter(|(_, j)| match filter {
            Some(f) => j.id.contains(f),
            None => !j.manual,
        })
        .map(|(i, _)| i)
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
    gpus: container::Gpus,
    mounts: Vec<container::Mount>,
}

impl EngineChoice {
    /// This machine's processes, or a fresh labelled container for the job.
    fn make(&self, run_id: &str, job: &PlannedJob) -> Result<Box<dyn Engine>, RunnerError> {
        Ok(match self.kind {
            CliEngine::Local => Box::new(LocalEngine::default()),
            CliEngine::Docker => {
                let spec = container::spec(&container::Placement {
                    run_id,
                    job: &job.id,
                    image: &self.image,
                    hardware: &self.hardware,
                    env: &std::collections::BTreeMap::new(),
                    devices: &self.devices,
                    gpus: &self.gpus,
                    mounts: &self.mounts,
                });
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
    /// Rank 0 of a multi-node run: its line to the other ranks.
    leader: Option<std::cell::RefCell<crate::nodes::coord::Leader>>,
    /// Rank events already charged to a job.
    rank_events_seen: std::cell::Cell<usize>,
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

    /// Tells the other ranks `m` (multi-node rank 0).
    fn tell_ranks(&self, m: crate::nodes::Msg) {
        if let Some(l) = &self.leader {
            l.borrow_mut().say(&m);
        }
    }

    /// A job fails, naming the rank, when another rank failed or went away since the last job
    /// was checked (or before the first), or went away at any time before it.
    fn rank_failures(
        &self,
        job: &PlannedJob,
        mut outcome: JobOutcome,
    ) -> Result<JobOutcome, RunnerError> {
        let Some(l) = &self.leader else {
            return Ok(outcome);
        };
        let events = l.borrow().events();
        let new = events
            .get(self.rank_events_seen.get()..)
            .unwrap_or_default();
        self.rank_events_seen.set(events.len());
        let gone = events.iter().find(|e| e.why.contains("went away"));
        let Some(first) = new.first().or(gone) else {
            return Ok(outcome);
        };
        say(&format!("{}: {}", job.id, first.why));
        if !outcome.failed() {
            outcome.status = job::Status::Fail;
            outcome.reason = format!("{} during the job", first.why);
            outcome.failure = Some(sglci_core::failure::Evidence {
                class: sglci_core::failure::FailureClass::ServerExited,
                line: first.why.clone(),
            });
            if let Some(folder) = &job.run_folder {
                outcome.save(&self.root.join(folder))?;
            }
        }
        Ok(outcome)
    }

    /// A follower's run: its part of each job until rank 0 says done.
    fn follow(
        &self,
        nodes: &crate::nodes::Nodes,
        jobs: &[&PlannedJob],
        wait: std::time::Duration,
        identity: sglci_core::ImageIdentity,
    ) -> Result<RunReport, RunnerError> {
        let link = crate::nodes::coord::connect(&nodes.coord_addr(), nodes.rank, wait)
            .map_err(RunnerError::Machine)?;
        say(&format!(
            "node-rank {}: following rank 0 at {}",
            nodes.rank,
            nodes.coord_addr()
        ));
        let mut make = |j: &PlannedJob| self.engine.make(&self.run_id, j);
        let parts = crate::nodes::follower::follow(link, nodes, jobs, &self.root, &mut make);
        let failed = match &parts {
            Ok(p) => p.iter().filter(|p| p.failed.is_some()).count(),
            Err(_) => 0,
        };
        let (parts, error) = match parts {
            Ok(p) => (
                p,
                (failed > 0)
                    .then(|| RunnerError::Failed(format!("{failed} part(s) of this rank failed"))),
            ),
            Err(e) => (Vec::new(), Some(e)),
        };
        Ok(RunReport {
            run_id: self.run_id.clone(),
            out: self.root.display().to_string(),
            shipped: None,
            jobs: Vec::new(),
            image: Some(identity),
            node_parts: parts,
            error,
        })
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
            self.tell_ranks(crate::nodes::Msg::Start {
                job: job.id.clone(),
            });
            let mut engine = self.engine.make(&self.run_id, job)?;
            let outcome = match kind {
                Kind::Unit => job::unit::run_unit(job, &mut ctx, engine.as_mut(), image),
                Kind::Offline => job::offline::run_offline(job, &mut ctx, engine.as_mut(), image),
                Kind::Pd => job::pd::run_pd(job, &mut ctx, engine.as_mut(), image),
                _ => job::online::run_online(job, &mut ctx, engine.as_mut()),
            };
            engine.teardown();
            let outcome = outcome.map_err(|e| RunnerError::Machine(format!("{}: {e}", job.id)))?;
            self.tell_ranks(crate::nodes::Msg::Stop {
                job: job.id.clone(),
            });
            let outcome = self.rank_failures(job, outcome)?;
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
