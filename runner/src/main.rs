//! `sglci-runner`: the thin binary started on GPU hosts. Exit codes: 0 ok, 1 the task failed,
//! 2 usage or configuration error, 3 infrastructure error.

mod cli;

use std::process::ExitCode;

use clap::Parser;
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
            #[expect(clippy::print_stdout, reason = "stdout carries the command's data")]
            {
                println!("{json}");
            }
            ExitCode::SUCCESS
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
            let agent = ureq::AgentBuilder::new()
                .timeout(std::time::Duration::from_secs(15))
                .build();
            let mut fetch = |url: &str| -> Result<String, String> {
                agent
                    .get(url)
                    .call()
                    .map_err(|e| match e {
                        ureq::Error::Status(code, _) => format!("HTTP {code}"),
                        ureq::Error::Transport(t) => t.kind().to_string(),
                    })?
                    .into_string()
                    .map_err(|e| e.to_string())
            };
            match image::resolve(
                &hub_url, &repo, &hardware, &rocm, &dates, max_pages, &mut fetch,
            ) {
                Ok(r) => serde_json::to_string_pretty(&r).map_err(|e| (3, e.into())),
                Err(e @ image::ImageError::NotFound { .. }) => Err((1, e.into())),
                Err(e) => Err((3, e.into())),
            }
        }
        CliCommand::Exec(args) => exec(args),
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
    let run_id = args.run_id.clone();
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
        tracing::warn!(run = %run_id, "stopping: removing this run's containers");
        if let Ok(e) = DockerEngine::connect() {
            let _ = e.cleanup(Some(&run_id));
        }
        std::process::exit(143);
    });
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
