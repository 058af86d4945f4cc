//! `sglci-runner`: the thin binary started on GPU hosts. Exit codes: 0 ok, 1 the task failed,
//! 2 usage or configuration error, 3 infrastructure error.

mod cli;

use std::process::ExitCode;

use clap::Parser;
use sglci_core::failure::{Evidence, FailureClass};
use sglci_core::parse::{
    alert, bench_serving, cron, gsm8k, offline, online_csv, pd, sanity, server_log, timing,
    unit_test, upstream,
};
use sglci_core::ImageTag;

use cli::{Cli, CliBackends, CliCommand, CliKind};
use sglci_core::backend::{Backends, QueueLocation, StoreLocation};
use sglci_core::queue::Queue;
use sglci_core::store::ObjectStore;
use sglci_runner::docker::DockerEngine;
use sglci_runner::ship::{self, RunInfo, Shipped};
use sglci_runner::{container, image, report};

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RUNNER_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .init();
    match run(Cli::parse()) {
        Ok(json) => {
            // A closed pipe (`| head`) is the reader's choice, not an error worth a panic.
            let mut out = std::io::stdout().lock();
            match std::io::Write::write_all(&mut out, format!("{json}\n").as_bytes()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    tracing::error!("writing to stdout: {e}");
                    ExitCode::from(3)
                }
                _ => ExitCode::SUCCESS,
            }
        }
        Err((code, err)) => {
            tracing::error!("{err:#}");
            ExitCode::from(code)
        }
    }
}

fn to_json<T: serde::Serialize, E: std::fmt::Display>(
    r: Result<T, E>,
    what: &str,
) -> Result<String, (u8, anyhow::Error)> {
    let v = r.map_err(|e| (2, anyhow::anyhow!("{what}: {e}")))?;
    serde_json::to_string_pretty(&v).map_err(|e| (3, e.into()))
}

/// A failure: the exit code and the error.
type Failure = (u8, anyhow::Error);

/// The store and queue named on the command line (configuration errors exit 2).
/// Where bundles go: the store and the queue.
type Destination = (Box<dyn ObjectStore>, Box<dyn Queue>);

fn backends(b: &CliBackends) -> Result<Destination, Failure> {
    let store = StoreLocation::parse(&b.store).map_err(|e| (2, anyhow::anyhow!("--store: {e}")))?;
    let queue = match (&b.queue, &store) {
        (Some(q), _) => {
            QueueLocation::parse(q).map_err(|e| (2, anyhow::anyhow!("--queue: {e}")))?
        }
        (None, StoreLocation::Dir(d)) => QueueLocation::Spool(d.join("queue")),
        (None, StoreLocation::S3 { .. }) => {
            return Err((
                2,
                anyhow::anyhow!(
                    "--queue: an S3 store needs a queue (hint: --queue SQS_URL or SGLCI_QUEUE)"
                ),
            ))
        }
    };
    let mut all = Backends::default();
    Ok((
        all.store(&store).map_err(|e| (2, e.into()))?,
        all.queue(&queue).map_err(|e| (2, e.into()))?,
    ))
}

fn run(cli: Cli) -> Result<String, (u8, anyhow::Error)> {
    match cli.command {
        CliCommand::Ship(args) => {
            let tag = ImageTag::from_image(&args.image)
                .map_err(|e| (2, anyhow::anyhow!("--image: {e}")))?;
            let run = RunInfo {
                run_id: args.run_id.clone(),
                hardware: tag.hardware().as_str().to_owned(),
                date: tag.date().to_owned(),
                image: tag.as_str().to_owned(),
                suite: args.suite.clone(),
            };
            let files = ship::collect(&args.dir).map_err(|e| (2, e.into()))?;
            let files =
                ship::redact_files(files, &sglci_core::redact::secret_values(std::env::vars()));
            if files.is_empty() {
                return Err((
                    2,
                    anyhow::anyhow!("{}: no files to ship", args.dir.display()),
                ));
            }
            let (store, queue) = backends(&args.backends)?;
            match ship::ship(store.as_ref(), queue.as_ref(), &args.backends.spool, &run, &files)
                .map_err(|e| (3, e.into()))?
            {
                Shipped::Delivered { manifest } => Ok(serde_json::json!({
                    "delivered": manifest.as_str(), "files": files.len()
                })
                .to_string()),
                Shipped::Spooled { manifest, reason } => Err((
                    3,
                    anyhow::anyhow!(
                        "{manifest}: not delivered ({reason}); kept in {} (hint: `sglci-runner flush` delivers it once the store and queue are back)",
                        args.backends.spool.display()
                    ),
                )),
            }
        }
        CliCommand::Resolve {
            hardware,
            rocm,
            date,
            fallback_days,
            repo,
            hub_url,
            max_pages,
        } => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            let first = match date {
                Some(d) if sglci_core::tag::valid_date(&d) => d,
                Some(d) => return Err((2, anyhow::anyhow!("--date `{d}`: expected YYYYMMDD"))),
                None => image::pacific_date(now, 0),
            };
            let dates = image::fallback_dates(&first, fallback_days);
            let mut fetch = hub_fetch();
            match image::resolve(
                &hub_url, &repo, &hardware, &rocm, &dates, max_pages, &mut fetch,
            ) {
                Ok(r) => serde_json::to_string_pretty(&r).map_err(|e| (3, e.into())),
                Err(e @ image::ImageError::NotFound { .. }) => Err((1, e.into())),
                Err(e) => Err((3, e.into())),
            }
        }
        CliCommand::Exec(args) => exec(args),
        CliCommand::Run(args) => run_suite(args),
        CliCommand::Gsm8k(args) => {
            let (text, file) = match &args.data {
                // The predecessor's PD client read GSM8K from GitHub; a GPU host may do the same.
                Some(url) if url.starts_with("http://") || url.starts_with("https://") => (
                    ureq::AgentBuilder::new()
                        .timeout(std::time::Duration::from_secs(60))
                        .build()
                        .get(url)
                        .call()
                        .map_err(|e| e.to_string())
                        .and_then(|r| r.into_string().map_err(|e| e.to_string()))
                        .map_err(|e| (3, anyhow::anyhow!("--data {url}: {e} (hint: give a local copy of the GSM8K test set)")))?,
                    url.clone(),
                ),
                Some(p) => (
                    std::fs::read_to_string(p)
                        .map_err(|e| (2, anyhow::anyhow!("--data {p}: {e}")))?,
                    p.clone(),
                ),
                None => (
                    sglci_runner::gsm8k::SMOKE_QUESTIONS.to_owned(),
                    "suites/smoke/gsm8k.jsonl".to_owned(),
                ),
            };
            let items = sglci_runner::gsm8k::parse_items(&text, &file)
                .map_err(|e| (2, anyhow::anyhow!(e)))?;
            let loaded = items.len();
            let req = sglci_runner::gsm8k_client::Request {
                base_url: format!("{}:{}", args.host.trim_end_matches('/'), args.port),
                items,
                shots: args.num_shots,
                questions: args.num_questions,
                parallel: args.parallel,
                max_tokens: args.max_tokens,
                model: args.model.clone(),
            };
            let (score, errors) =
                sglci_runner::gsm8k_client::run(&req).map_err(|e| (1, anyhow::anyhow!(e)))?;
            if args.report == cli::CliGsm8kReport::Pd {
                return Ok(sglci_runner::gsm8k::render_pd_report(
                    &score,
                    &errors,
                    &req.base_url,
                    req.shots,
                    req.parallel,
                    req.max_tokens,
                    loaded,
                )
                .trim_end()
                .to_owned());
            }
            let mut out = errors.join("\n");
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(sglci_runner::gsm8k::render_score(&score).trim_end());
            Ok(out)
        }
        CliCommand::Cleanup { run_id } => {
            let engine = DockerEngine::connect().map_err(|e| (3, e.into()))?;
            let removed = engine
                .cleanup(run_id.as_deref())
                .map_err(|e| (3, e.into()))?;
            Ok(serde_json::json!({ "removed": removed }).to_string())
        }
        CliCommand::Plan {
            suite,
            hardware,
            image,
        } => {
            let s = sglci_runner::suites::load(&suite).map_err(|e| (2, e.into()))?;
            let p = sglci_runner::plan::plan(&s, &hardware, image.as_deref())
                .map_err(|e| (2, e.into()))?;
            serde_json::to_string_pretty(&p).map_err(|e| (3, e.into()))
        }
        CliCommand::Flush(b) => {
            let (store, queue) = backends(&b)?;
            let report =
                ship::flush(store.as_ref(), queue.as_ref(), &b.spool).map_err(|e| (3, e.into()))?;
            if report.kept.is_empty() && report.set_aside.is_empty() {
                serde_json::to_string_pretty(&report).map_err(|e| (3, e.into()))
            } else {
                Err((
                    3,
                    anyhow::anyhow!(
                        "{} bundle(s) still spooled, {} set aside: {}",
                        report.kept.len(),
                        report.set_aside.len(),
                        serde_json::to_string(&report).unwrap_or_default()
                    ),
                ))
            }
        }
        CliCommand::Tag { image } => {
            let tag = ImageTag::from_image(&image).map_err(|e| (2, e.into()))?;
            Ok(serde_json::json!({
                "tag": tag.as_str(),
                "version": tag.version(),
                "rocm": tag.rocm(),
                "hardware": tag.hardware().as_str(),
                "date": tag.date(),
                "release_candidate": tag.is_release_candidate(),
            })
            .to_string())
        }
        CliCommand::Parse { kind, file } => {
            let bytes = std::fs::read(&file)
                .map_err(|e| (3, anyhow::anyhow!("reading {}: {e}", file.display())))?;
            let name = file.display().to_string();
            let text = || sglci_core::text::clean(&bytes).into_owned();
            match kind {
                CliKind::ClientLog => to_json(bench_serving::parse_client_log(&bytes), &name),
                CliKind::BenchJsonl => to_json(bench_serving::parse_jsonl(&text()), &name),
                CliKind::Gsm8k => to_json(gsm8k::parse_log(&bytes), &name),
                CliKind::BenchSglang => to_json(gsm8k::parse_bench_sglang(&bytes), &name),
                CliKind::ServerLog => to_json(Ok::<_, String>(server_log::parse(&bytes)), &name),
                CliKind::Timing => to_json(timing::parse(&bytes), &name),
                CliKind::SanityTiming => to_json(sanity::parse(&bytes), &name),
                CliKind::OnlineCsv => to_json(online_csv::parse(&text()), &name),
                CliKind::OfflineCsv => to_json(offline::parse_csv(&text()), &name),
                CliKind::OneBatch => to_json(offline::parse_one_batch(&bytes), &name),
                CliKind::PdSummary => to_json(pd::parse_summary(&bytes), &name),
                CliKind::PdGsm8k => to_json(pd::parse_gsm8k(&bytes), &name),
                CliKind::UnitTest => to_json(unit_test::parse(&bytes), &name),
                CliKind::Cron => to_json(Ok::<_, String>(cron::parse(&bytes)), &name),
                CliKind::Upstream => to_json(upstream::parse(&text()), &name),
                CliKind::Alert => to_json(alert::parse(&text()), &name),
            }
        }
    }
}

/// Progress for humans: stderr (stdout carries the run's JSON).
fn say(line: &str) {
    #[expect(clippy::print_stderr, reason = "progress for humans goes to stderr")]
    {
        eprintln!("{line}");
    }
}

/// Reads Docker Hub pages (F1, F13): the body, or a short reason.
fn hub_fetch() -> impl FnMut(&str) -> Result<String, String> {
    let agent = ureq::AgentBuilder::new()
        .timeout(std::time::Duration::from_secs(15))
        .build();
    move |url: &str| {
        agent
            .get(url)
            .call()
            .map_err(|e| match e {
                ureq::Error::Status(code, _) => format!("HTTP {code}"),
                ureq::Error::Transport(t) => t.kind().to_string(),
            })?
            .into_string()
            .map_err(|e| e.to_string())
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The CPU smoke suite's image name: the installed SGLang client's version, `cpu` build and
/// hardware, and today's image date.
fn smoke_image(now: i64) -> Result<String, Failure> {
    let out = std::process::Command::new("python3")
        .args(["-c", "import importlib.metadata as m; print(m.version('sglang'))"])
        .output()
        .map_err(|e| (3, anyhow::anyhow!("python3: {e} (hint: the smoke suite needs Python 3 with sglang; see scripts/smoke-setup.sh)")))?;
    let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() || version.is_empty() {
        return Err((
            3,
            anyhow::anyhow!(
                "sglang is not installed for python3 (hint: bash scripts/smoke-setup.sh, or pass --image)"
            ),
        ));
    }
    Ok(format!(
        "v{version}-cpu-cpu-{}",
        image::pacific_date(now, 0)
    ))
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Stops this run's processes (and its containers) on SIGTERM (a cancelled job) or Ctrl-C,
/// then exits 143.
fn stop_on_signal(what: &'static str, run_id: Option<String>) {
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            use tokio::signal::unix::{signal, SignalKind};
            let (Ok(mut term), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) else {
                return;
            };
            tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
        });
        STOPPING.store(true, std::sync::atomic::Ordering::SeqCst);
        tracing::warn!("stopping: ending {what}");
        sglci_runner::engine::stop_all_local();
        if let Some(run) = run_id {
            if let Ok(e) = DockerEngine::connect() {
                let _ = e.cleanup(Some(&run));
            }
        }
        std::process::exit(143);
    });
}

/// F2: waits until the GPUs are idle (polling every 15 s up to `wait_s`); never stops anything.
/// Busy at the end exits 3 with the `GPU still busy after` evidence; no vendor tool is an
/// infrastructure failure on GPU hardware.
fn gpu_idle(hardware: &str, wait_s: u64) -> Result<(), Failure> {
    use sglci_runner::gpu;
    let probes = gpu::probes(hardware);
    if probes.is_empty() {
        return Ok(());
    }
    let start = std::time::Instant::now();
    loop {
        let mut seen = None;
        let mut tried = Vec::new();
        for p in &probes {
            match std::process::Command::new(p.tool).args(p.args).output() {
                Ok(o) if o.status.success() => {
                    match (p.parse)(&String::from_utf8_lossy(&o.stdout)) {
                        Ok(g) => {
                            seen = Some(g);
                            break;
                        }
                        Err(e) => tried.push(e.to_string()),
                    }
                }
                Ok(o) => tried.push(format!("{} exited with {}", p.tool, o.status)),
                Err(e) => tried.push(format!("{}: {e}", p.tool)),
            }
        }
        let Some(gpus) = seen else {
            return Err((
                3,
                anyhow::anyhow!(
                    "cannot tell whether the GPUs are idle: {} (hint: install the vendor tool on the runner host)",
                    tried.join("; ")
                ),
            ));
        };
        let busy = gpu::busy(&gpus, gpu::MAX_BUSY_PCT, gpu::MAX_MEM_PCT);
        if busy.is_empty() {
            tracing::info!(gpus = gpus.len(), "GPUs idle");
            return Ok(());
        }
        let waited = start.elapsed().as_secs();
        if waited >= wait_s {
            return Err((3, anyhow::anyhow!("{}", gpu::busy_line(&busy, waited))));
        }
        tracing::warn!(busy = busy.len(), waited, "GPUs busy; waiting");
        std::thread::sleep(std::time::Duration::from_secs(
            15.min(wait_s - waited).max(1),
        ));
    }
}

/// `run`: a suite's online/smoke jobs on this host, then the bundle.
fn run_suite(args: cli::CliRun) -> Result<String, Failure> {
    use sglci_runner::execute::{self, Progress};
    use sglci_runner::suite::Kind;
    let suite = sglci_runner::suites::load(&args.suite).map_err(|e| (2, e.into()))?;
    let hardware = match (&args.hardware, suite.hardware.as_slice()) {
        (Some(h), _) => h.clone(),
        (None, [only]) => only.clone(),
        (None, hs) => {
            return Err((
                2,
                anyhow::anyhow!(
                    "--hardware: suite `{}` runs on {} (hint: pick one)",
                    suite.name,
                    hs.join(", ")
                ),
            ))
        }
    };
    let now = unix_now();
    if suite.kind == Kind::ImageCheck {
        return image_check(&args, &suite, &hardware, now);
    }
    let image = match (&args.image, suite.kind) {
        (Some(i), _) => i.clone(),
        (None, _) if hardware == "cpu" => smoke_image(now)?,
        (None, _) => {
            return Err((
                2,
                anyhow::anyhow!("--image is required for suite `{}` (hint: `sglci-runner resolve --hardware {hardware}` finds tonight's)", suite.name),
            ))
        }
    };
    let tag = ImageTag::from_image(&image).map_err(|e| (2, anyhow::anyhow!("--image: {e}")))?;
    // A bare nightly tag names the nightly repository's image.
    let image = if image.contains(':') || !tag.hardware().is_amd() {
        image
    } else {
        format!("{}:{image}", image::DEFAULT_REPO)
    };
    if tag.hardware().as_str() != hardware {
        return Err((
            2,
            anyhow::anyhow!(
                "--image {image} is built for {}, not --hardware {hardware}",
                tag.hardware()
            ),
        ));
    }
    let plan = sglci_runner::plan::plan_with_env(
        &suite,
        &hardware,
        Some(tag.as_str()),
        &|k| std::env::var(k).ok(),
        true,
    )
    .map_err(|e| (2, e.into()))?;
    if !matches!(
        plan.kind,
        Kind::Online | Kind::Smoke | Kind::Unit | Kind::Sanity | Kind::Offline | Kind::Pd
    ) {
        return Err((
            2,
            anyhow::anyhow!(
                "suite `{}` is a {:?} suite: this runner executes online, smoke, offline, sanity, PD, unit and image-check suites (`sglci-runner plan` shows the others' commands)",
                suite.name,
                plan.kind
            ),
        ));
    }
    let jobs: Vec<_> = plan
        .jobs
        .iter()
        .filter(|j| match args.job.as_deref() {
            Some(f) => j.id.contains(f),
            None => !j.manual,
        })
        .collect();
    if jobs.is_empty() {
        return Err((
            2,
            anyhow::anyhow!("--job: no job of `{}` matches", suite.name),
        ));
    }
    // A resumed run continues the interrupted one: same run id, so its bundle and its history
    // partition replace the partial ones instead of adding a second copy.
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| std::path::PathBuf::from("sglci-runs"));
    let resumed_id = args
        .resume
        .then(|| {
            jobs.iter().find_map(|j| {
                let folder = j.run_folder.as_ref()?.replace("{tag}", tag.as_str());
                let text =
                    std::fs::read_to_string(out_dir.join(folder).join("results.json")).ok()?;
                let v: serde_json::Value = serde_json::from_str(&text).ok()?;
                v["run_id"].as_str().map(str::to_owned)
            })
        })
        .flatten();
    let run_id = args.run_id.clone().or(resumed_id).unwrap_or_else(|| {
        // The process id keeps two runs started in the same second apart.
        format!(
            "{}-{hardware}-{}-{}",
            suite.name,
            sglci_core::date::utc_stamp(now).replace('_', "-"),
            std::process::id()
        )
    });
    let run_id: String = run_id
        .parse::<sglci_core::RunId>()
        .map_err(|e| (2, anyhow::anyhow!("--run-id: {e}")))?
        .as_str()
        .to_owned();
    let out = out_dir.clone();
    let preflight = Preflight {
        args: &args,
        jobs: &jobs,
        out: &out_dir,
        info: RunInfo {
            run_id: run_id.clone(),
            hardware: hardware.clone(),
            date: tag.date().to_owned(),
            image: tag.as_str().to_owned(),
            suite: suite.name.clone(),
        },
        image: &image,
        now,
    };
    gpu_idle(&hardware, args.gpu_wait).map_err(|f| preflight.failed(f))?;
    let engine_kind = args.engine.unwrap_or(if hardware == "cpu" {
        cli::CliEngine::Local
    } else {
        cli::CliEngine::Docker
    });
    let mut mounts = args
        .mounts
        .iter()
        .map(|m| container::parse_mount(m))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| (2, anyhow::anyhow!("--mount: {e}")))?;
    if engine_kind == cli::CliEngine::Docker {
        // The log tree and this binary (the builtin GSM8K client) at their own paths, so that
        // logs and commands mean the same inside the container.
        std::fs::create_dir_all(&out)
            .map_err(|e| (3, anyhow::anyhow!("--out {}: {e}", out.display())))?;
        let abs = out
            .canonicalize()
            .map_err(|e| (3, anyhow::anyhow!("--out {}: {e}", out.display())))?;
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
    }
    let out = if engine_kind == cli::CliEngine::Docker {
        out.canonicalize().unwrap_or(out)
    } else {
        out
    };
    stop_on_signal("the run's processes", Some(run_id.clone()));
    let surface = report::Surface::detect(std::env::var("GITHUB_ACTIONS").ok().as_deref());
    if engine_kind == cli::CliEngine::Docker {
        pull_image(&image, &args, surface).map_err(|f| preflight.failed(f))?;
    }
    let command: Vec<String> = std::env::args().collect();
    let runner_exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "sglci-runner".to_owned());
    let base = RunBase {
        run_id: run_id.clone(),
        suite: suite.name.clone(),
        tag: tag.clone(),
        root: out.clone(),
        command: command.join(" "),
        runner_exe: runner_exe.clone(),
        resume: args.resume,
    };
    let engine_of = |job: &sglci_runner::plan::PlannedJob| {
        make_engine(
            engine_kind,
            &run_id,
            job,
            &image,
            &hardware,
            &args.devices,
            &mounts,
        )
    };
    let mut outcomes = Vec::new();
    let mut summary = Vec::new();
    if plan.kind == Kind::Sanity {
        // One timing summary for all models: the models run in turn, each on its own engine.
        let mut progress = |p: Progress<'_>| {
            if let Progress::Step(s) = p {
                say(&format!("{}: {s}", suite.name));
            }
        };
        let mut ctx = base.context(&mut progress);
        let mut engine_for = |job: &sglci_runner::plan::PlannedJob| {
            engine_of(job)
                .map_err(|(_, e)| sglci_runner::engine::EngineError::Docker(format!("{e:#}")))
        };
        outcomes = sglci_runner::tasks::run_sanity(&jobs, &mut ctx, &mut engine_for, &image)
            .map_err(|e| (3, anyhow::anyhow!("{}: {e}", suite.name)))?;
    }
    for job in jobs.iter().filter(|_| plan.kind != Kind::Sanity) {
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
        let mut ctx = base.context(&mut progress);
        let mut engine = engine_of(job)?;
        let outcome = match plan.kind {
            Kind::Unit => sglci_runner::tasks::run_unit(job, &mut ctx, engine.as_mut(), &image),
            Kind::Offline => {
                sglci_runner::tasks::run_offline(job, &mut ctx, engine.as_mut(), &image)
            }
            Kind::Pd => sglci_runner::pd::run_pd(job, &mut ctx, engine.as_mut(), &image),
            _ => execute::run_online(job, &mut ctx, engine.as_mut()),
        };
        engine.teardown();
        let outcome = outcome.map_err(|e| (3, anyhow::anyhow!("{}: {e}", job.id)))?;
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
        if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY") {
            let md = report::summary(
                &format!("sglci-runner run {} ({hardware})", suite.name),
                &summary,
            );
            let _ = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .and_then(|mut f| std::io::Write::write_all(&mut f, md.as_bytes()));
        }
    }
    let info = RunInfo {
        run_id: run_id.clone(),
        hardware: hardware.clone(),
        date: tag.date().to_owned(),
        image: tag.as_str().to_owned(),
        suite: suite.name.clone(),
    };
    finish_run(&args, &out, &info, &outcomes)
}

/// `run` for the image-check suite (F13): Docker Hub only, no engine, no GPU.
fn image_check(
    args: &cli::CliRun,
    suite: &sglci_runner::suite::Suite,
    hardware: &str,
    now: i64,
) -> Result<String, Failure> {
    let plan = sglci_runner::plan::plan(suite, hardware, None).map_err(|e| (2, e.into()))?;
    let date = match &args.date {
        Some(d) if sglci_core::tag::valid_date(d) => d.clone(),
        Some(d) => return Err((2, anyhow::anyhow!("--date `{d}`: expected YYYYMMDD"))),
        None => image::pacific_date(now, 0),
    };
    let run_id = args
        .run_id
        .clone()
        .unwrap_or_else(|| format!("{}-{hardware}-{date}", suite.name));
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| std::path::PathBuf::from("sglci-runs"));
    let origin = sglci_runner::tasks::Origin {
        run_id: run_id.clone(),
        suite: suite.name.clone(),
        host: hostname(),
        hardware: hardware.to_owned(),
    };
    let mut fetch = hub_fetch();
    let mut outcomes = Vec::new();
    for job in &plan.jobs {
        let o = sglci_runner::tasks::run_image_check(
            job,
            &origin,
            &out,
            &unix_now,
            &date,
            &args.hub_url,
            &mut fetch,
        )
        .map_err(|e| (3, anyhow::anyhow!("{}: {e}", job.id)))?;
        if o.failure
            .as_ref()
            .is_some_and(|f| f.class == sglci_core::failure::FailureClass::Infrastructure)
        {
            tracing::error!(job = %job.id, reason = %o.reason, "the image check could not run");
        }
        outcomes.push(o);
    }
    let info = RunInfo {
        run_id,
        hardware: hardware.to_owned(),
        date,
        image: outcomes
            .first()
            .map_or_else(String::new, |o| o.image.clone()),
        suite: suite.name.clone(),
    };
    let infra = outcomes.iter().any(|o| {
        o.failure
            .as_ref()
            .is_some_and(|f| f.class == sglci_core::failure::FailureClass::Infrastructure)
    });
    match finish_run(args, &out, &info, &outcomes) {
        Err((1, e)) if infra => Err((3, e)),
        r => r,
    }
}

/// The engine a job runs on: this machine's processes, or a fresh labelled container.
fn make_engine(
    kind: cli::CliEngine,
    run_id: &str,
    job: &sglci_runner::plan::PlannedJob,
    image: &str,
    hardware: &str,
    devices: &[String],
    mounts: &[container::Mount],
) -> Result<Box<dyn sglci_runner::engine::Engine>, Failure> {
    Ok(match kind {
        cli::CliEngine::Local => Box::new(sglci_runner::engine::LocalEngine::default()),
        cli::CliEngine::Docker => {
            let spec = container::spec(
                run_id,
                &job.id,
                image,
                hardware,
                &std::collections::BTreeMap::new(),
                devices,
                mounts,
            );
            let docker = DockerEngine::connect().map_err(|e| (3, e.into()))?;
            let job_engine = sglci_runner::docker::DockerJob::start(docker, &spec)
                .map_err(|e| (3, anyhow::anyhow!("{}: {e}", job.id)))?;
            tracing::info!(container = %spec.name, image = %spec.image, "job container started");
            Box::new(job_engine)
        }
    })
}

/// What every job of a run shares; [`RunBase::context`] gives a job its executor context.
struct RunBase {
    run_id: String,
    suite: String,
    tag: ImageTag,
    root: std::path::PathBuf,
    command: String,
    runner_exe: String,
    resume: bool,
}

impl RunBase {
    fn context<'a>(
        &self,
        progress: &'a mut dyn FnMut(sglci_runner::execute::Progress<'_>),
    ) -> sglci_runner::execute::Context<'a> {
        sglci_runner::execute::Context {
            run_id: self.run_id.clone(),
            suite: self.suite.clone(),
            tag: self.tag.clone(),
            root: self.root.clone(),
            hostname: hostname(),
            command: self.command.clone(),
            runner_exe: self.runner_exe.clone(),
            resume: self.resume,
            clock: &unix_now,
            progress,
        }
    }
}

/// What a run that could not start needs to report it.
struct Preflight<'a> {
    args: &'a cli::CliRun,
    jobs: &'a [&'a sglci_runner::plan::PlannedJob],
    out: &'a std::path::Path,
    info: RunInfo,
    image: &'a str,
    now: i64,
}

impl Preflight<'_> {
    /// The machine failed before any job started (busy GPUs, no image): each job's task gets the
    /// failure as its cron log (`cron_log/<hw>/<date>/<cron job>.log`, the predecessor's place
    /// for a job's console output), shipped like any bundle, so the night's status board shows
    /// the class instead of a missing run. The exit code stays the machine failure's.
    fn failed(&self, (code, err): Failure) -> Failure {
        if code != 3 {
            return (code, err);
        }
        let line = format!("{err:#}");
        let class = sglci_core::failure::classify(std::iter::once(line.as_str()))
            .map_or(FailureClass::Infrastructure, |e| e.class);
        let folder = format!("cron_log/{}/{}", self.info.hardware, self.info.date);
        let mut outcomes = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for job in self.jobs {
            let Some(cron) = job.cron_job.as_deref() else {
                continue;
            };
            if !seen.insert(cron) {
                continue;
            }
            let rel = format!("{folder}/{cron}.log");
            let text =
                sglci_runner::outputs::render_preflight_log(&sglci_runner::outputs::Preflight {
                    command: &std::env::args().collect::<Vec<_>>().join(" "),
                    run_id: &self.info.run_id,
                    started_at: &sglci_core::date::utc_datetime(self.now),
                    machine: &hostname(),
                    image: self.image,
                    line: &line,
                });
            let path = self.out.join(&rel);
            let written = path
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| {
                    use std::io::Write as _;
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&path)
                        .and_then(|mut f| f.write_all(text.as_bytes()))
                });
            if let Err(e) = written {
                tracing::warn!("{}: {e}", path.display());
                continue;
            }
            outcomes.push(sglci_runner::execute::JobOutcome {
                schema: sglci_runner::execute::RESULTS_SCHEMA,
                run_id: self.info.run_id.clone(),
                suite: self.info.suite.clone(),
                job: job.id.clone(),
                image: self.image.to_owned(),
                hardware: self.info.hardware.clone(),
                host: hostname(),
                run_folder: rel,
                started_at: sglci_core::date::utc_datetime(self.now),
                ended_at: sglci_core::date::utc_datetime(unix_now()),
                status: sglci_runner::execute::Status::Fail,
                reason: format!("the run could not start ({class})"),
                failure: Some(Evidence {
                    class,
                    line: sglci_core::redact::redact(&line),
                }),
                gsm8k: None,
                threshold: None,
                loads: Vec::new(),
                resumed: false,
            });
        }
        if outcomes.is_empty() {
            return (code, err);
        }
        match finish_run(self.args, self.out, &self.info, &outcomes) {
            Err((3, spooled)) => (3, err.context(format!("{spooled:#}"))),
            _ => (code, err),
        }
    }
}

/// F3: the image on this host before any job starts, pulled with retries when missing. A pull
/// that never succeeds is an infrastructure failure (exit 3) of class `pull_failed`.
fn pull_image(image: &str, args: &cli::CliRun, surface: report::Surface) -> Result<(), Failure> {
    let docker = DockerEngine::connect().map_err(|e| (3, e.into()))?;
    let backoff = std::time::Duration::from_secs(args.pull_backoff);
    let mut on_retry = |attempt: u32, why: &str| {
        say(&format!(
            "pull {image}: attempt {attempt} of {} failed ({why}); retrying in {} s",
            args.pull_attempts,
            backoff.as_secs() * u64::from(attempt)
        ));
    };
    match docker.ensure_image(image, args.pull_attempts, backoff, &mut on_retry) {
        Ok(0) => Ok(()),
        Ok(n) => {
            say(&format!("pulled {image} (attempt {n})"));
            Ok(())
        }
        Err(e) => {
            say(&report::annotation(
                surface,
                report::Level::Error,
                "pull_failed",
                &e.to_string(),
                None,
            ));
            Err((3, e.into()))
        }
    }
}

/// Ships this run's folders (unless `--no-ship`) and reports: the run's JSON on stdout; exit 1
/// when a job failed, 3 when the bundle was spooled.
fn finish_run(
    args: &cli::CliRun,
    out: &std::path::Path,
    info: &RunInfo,
    outcomes: &[sglci_runner::execute::JobOutcome],
) -> Result<String, Failure> {
    let mut shipped = serde_json::Value::Null;
    let mut ship_error = None;
    if !args.no_ship {
        // This run's folders only: the log tree also holds earlier runs and their backups.
        let files: Vec<_> = ship::collect(out)
            .map_err(|e| (3, e.into()))?
            .into_iter()
            .filter(|(path, _)| {
                outcomes.iter().any(|o| {
                    path == &o.run_folder || path.starts_with(&format!("{}/", o.run_folder))
                })
            })
            .collect();
        let files = ship::redact_files(files, &sglci_core::redact::secret_values(std::env::vars()));
        let (store, queue) = backends(&args.backends)?;
        match ship::ship(
            store.as_ref(),
            queue.as_ref(),
            &args.backends.spool,
            info,
            &files,
        )
        .map_err(|e| (3, e.into()))?
        {
            Shipped::Delivered { manifest } => shipped = serde_json::json!(manifest.as_str()),
            Shipped::Spooled { manifest, reason } => {
                ship_error = Some(anyhow::anyhow!(
                    "{manifest}: not delivered ({reason}); kept in {} (hint: `sglci-runner flush`)",
                    args.backends.spool.display()
                ));
            }
        }
    }
    let failed = outcomes.iter().filter(|o| o.failed()).count();
    let json = serde_json::to_string_pretty(&serde_json::json!({
        "run_id": info.run_id,
        "out": out.display().to_string(),
        "shipped": shipped,
        "jobs": outcomes,
    }))
    .map_err(|e| (3, e.into()))?;
    if failed == 0 && ship_error.is_none() {
        return Ok(json);
    }
    #[expect(
        clippy::print_stdout,
        reason = "stdout carries the command's data, also on failure"
    )]
    {
        println!("{json}");
    }
    match ship_error {
        Some(e) => Err((3, e)),
        None => Err((
            1,
            anyhow::anyhow!(
                "{failed} job(s) failed; see results.json in {}",
                out.display()
            ),
        )),
    }
}

/// Set when SIGTERM or Ctrl-C arrived: the handler owns the exit from then on.
static STOPPING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `exec`: one command in a fresh container, removed afterwards whatever happens.
fn exec(args: cli::CliExec) -> Result<String, Failure> {
    let mounts = args
        .mounts
        .iter()
        .map(|m| container::parse_mount(m))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| (2, anyhow::anyhow!("--mount: {e}")))?;
    let env: Vec<(String, String)> = args
        .env
        .iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .ok_or_else(|| (2, anyhow::anyhow!("--env `{kv}`: expected KEY=VALUE")))
        })
        .collect::<Result<_, _>>()?;
    let spec = container::spec(
        &args.run_id,
        "exec",
        &args.image,
        &args.hardware,
        &std::collections::BTreeMap::new(),
        &args.devices,
        &mounts,
    );
    let engine = DockerEngine::connect().map_err(|e| (3, e.into()))?;
    // SIGTERM (a cancelled job) or Ctrl-C: remove this run's containers, then exit 143.
    stop_on_signal("this run's containers", Some(args.run_id.clone()));
    let id = engine.start(&spec).map_err(|e| (3, e.into()))?;
    tracing::info!(container = %spec.name, image = %spec.image, "container started");
    let surface = report::Surface::detect(std::env::var("GITHUB_ACTIONS").ok().as_deref());
    let stdout = std::io::stdout();
    let say = |line: &str| {
        let mut out = stdout.lock();
        let _ = std::io::Write::write_all(&mut out, line.as_bytes());
        let _ = std::io::Write::write_all(&mut out, b"\n");
    };
    say(&report::group_start(
        surface,
        &format!("{} in {}", args.command.join(" "), spec.name),
    ));
    let result = engine.exec(&id, &args.command, &env, &args.log, &mut |line| say(line));
    if let Some(end) = report::group_end(surface) {
        say(&end);
    }
    let status = match &result {
        Ok(0) => "pass".to_owned(),
        Ok(code) => format!("fail (exit {code})"),
        Err(e) => format!("error: {e}"),
    };
    if !matches!(result, Ok(0)) {
        say(&report::annotation(
            surface,
            report::Level::Error,
            &format!("{} failed", spec.name),
            &status,
            None,
        ));
    }
    if surface == report::Surface::GitHubActions {
        if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY") {
            let md = report::summary(
                &format!("sglci-runner exec ({})", args.hardware),
                &[report::SummaryRow {
                    job: args.command.join(" "),
                    status: status.clone(),
                    detail: format!("{} · log {}", spec.image, args.log.display()),
                }],
            );
            let appended = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .and_then(|mut f| std::io::Write::write_all(&mut f, md.as_bytes()));
            if let Err(e) = appended {
                tracing::warn!("job summary not written: {e}");
            }
        }
    }
    if STOPPING.load(std::sync::atomic::Ordering::SeqCst) {
        // The signal handler is removing the containers and will exit with 143.
        std::thread::sleep(std::time::Duration::from_secs(60));
        std::process::exit(143);
    }
    let removed = engine.remove(&id);
    let code = result.map_err(|e| (3, e.into()))?;
    removed.map_err(|e| (3, e.into()))?;
    if code == 0 {
        Ok(serde_json::json!({ "container": spec.name, "exit_code": 0 }).to_string())
    } else {
        Err((
            1,
            anyhow::anyhow!(
                "{:?} exited with {code} (log: {})",
                args.command,
                args.log.display()
            ),
        ))
    }
}
