//! `sglci-publisher`: the CLI shell. Parses arguments, sets up logging to stderr, runs a command
//! and maps errors to exit codes (0 ok, 2 usage/config, 3 infrastructure).

#[path = "../cli.rs"]
mod cli;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use sglci_core::backend::Backends;
use sglci_core::records::ALL_SCHEMAS;
use sglci_core::store::ObjectStore;
use sglci_publisher::app::{self, Format};
use sglci_publisher::config::{parse_site, parse_store, resolve_queue};
use sglci_publisher::history::History;

use cli::{Cli, CliCommand, CliFormat, CliNotifyWhat, CliReportFormat};
use sglci_publisher::regress;
use sglci_publisher::serve::{serve, ServeConfig};
use sglci_publisher::site::templates::Templates;
use sglci_publisher::site::SiteOptions;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PUBLISHER_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, err)) => {
            // A closed pipe (`export … | head`) is not an error.
            if err.chain().any(|e| {
                e.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            tracing::error!("{err:#}");
            ExitCode::from(code)
        }
    }
}

/// The wall clock as RFC 3339 (failure records).
fn now_rfc3339() -> String {
    sglci_core::date::rfc3339(sglci_core::clock::unix_now())
}

/// The wall clock to the minute, for the "generated at" line only (the site is otherwise a pure
/// function).
fn now_utc() -> String {
    let t = now_rfc3339();
    format!("{} UTC", t.get(..16).unwrap_or(&t).replace('T', " "))
}

/// What every command gets: the store, the triage file, stdout.
struct Shell<'a> {
    store: &'a dyn ObjectStore,
    triage: Option<std::path::PathBuf>,
    out: std::io::StdoutLock<'static>,
}

fn run(cli: Cli) -> Result<(), (u8, anyhow::Error)> {
    let location = parse_store(&cli.store).map_err(|e| (2, e.into()))?;
    let mut backends = Backends::default();
    let store_box = backends.store(&location).map_err(|e| (2, e.into()))?;
    let mut sh = Shell {
        store: store_box.as_ref(),
        triage: cli.triage.clone(),
        out: std::io::stdout().lock(),
    };
    match cli.command {
        CliCommand::Ingest(args) if args.pending => {
            ingest_pending(&mut sh, &args, &location, &mut backends)
        }
        CliCommand::Ingest(args) => ingest_legacy(&mut sh, &args, &location),
        CliCommand::Export(args) => export(&mut sh, &args),
        CliCommand::Site(args) => site(&mut sh, &args),
        CliCommand::Serve(args) => serve_site(&mut sh, args),
        CliCommand::Summary(args) => summary(&mut sh, &args),
        CliCommand::Regressions(args) => regressions(&mut sh, &args),
        CliCommand::Publish(args) => publish(sh.store, &args),
        CliCommand::Compare(args) => compare(&mut sh, &args),
        CliCommand::Notify(args) => notify(&mut sh, args),
        CliCommand::Tables => tables(&mut sh),
    }
}

/// The SGLCI_* and GITHUB_* variables (secrets and repositories for effects and notifications).
fn sglci_env() -> std::collections::BTreeMap<String, String> {
    std::env::vars()
        .filter(|(k, _)| k.starts_with("SGLCI_") || k.starts_with("GITHUB_"))
        .collect()
}

/// Names this process's claims on effects.
fn holder() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "host".to_owned());
    format!("{host}:{}", std::process::id())
}

/// The effects flags as a configuration, and the sinks they need (secrets from the environment).
fn effect_sinks(
    args: &cli::CliIngest,
    env: &std::collections::BTreeMap<String, String>,
    site: Option<&app::SiteTarget>,
) -> Result<Option<app::effects::Sinks>, (u8, anyhow::Error)> {
    let var = |k: &str| env.get(k).map(String::as_str);
    let mut config = sglci_publisher::config::parse_effects(
        args.log_repo.as_deref(),
        args.pages.as_deref(),
        &args.notify,
        args.dashboard.as_deref(),
        [
            var("SGLCI_EFFECT_ATTEMPTS"),
            var("SGLCI_EFFECT_BACKOFF_S"),
            var("SGLCI_EFFECT_LEASE_S"),
        ],
    )
    .map_err(|e| (2, e.into()))?;
    if !config.any() {
        return Ok(None);
    }
    config.git_cache = git_cache(env).map_err(|e| (2, e))?;
    app::effects::Sinks::new(
        config,
        app::effects::Secrets::from_env(env),
        &app::effects::GitHubRepo::from_env(env),
        site,
    )
    .map(Some)
    .map_err(|e| (2, e.into()))
}

/// `ingest --pending`: drain the queue through the shared batch handler, with its effects.
fn ingest_pending(
    sh: &mut Shell<'_>,
    args: &cli::CliIngest,
    location: &sglci_core::backend::StoreLocation,
    backends: &mut Backends,
) -> Result<(), (u8, anyhow::Error)> {
    let (store, triage, out) = (sh.store, sh.triage.clone(), &mut sh.out);
    let started = std::time::Instant::now();
    let queue_loc = resolve_queue(args.queue.as_deref(), location).map_err(|e| (2, e.into()))?;
    let queue = backends.queue(&queue_loc).map_err(|e| (2, e.into()))?;
    let templates = Templates::embedded().map_err(|e| (2, e.into()))?;
    let triage =
        app::load_triage(store, triage.as_deref()).map_err(|e| (e.exit_code(), e.into()))?;
    let job = match &args.site {
        Some(s) => Some(app::SiteJob {
            target: parse_site(s).map_err(|e| (2, e.into()))?,
            templates: &templates,
            opts: SiteOptions {
                generated_at: now_utc(),
                logs_base: args.logs_url.clone(),
                triage: triage.clone(),
                ..SiteOptions::default()
            },
        }),
        None => None,
    };
    let env = sglci_env();
    let sinks = effect_sinks(args, &env, job.as_ref().map(|j| &j.target))?;
    let holder = holder();
    let fault = match env.get("SGLCI_FAULT") {
        Some(f) => Some(app::effects::Fault::parse(f).ok_or_else(|| {
            (
                2,
                anyhow::anyhow!("SGLCI_FAULT `{f}`: after-commit or after-send"),
            )
        })?),
        None => None,
    };
    let handler = app::Handler {
        site: job.as_ref(),
        limits: limits_from_env().map_err(|e| (2, e))?,
        effects: sinks.as_ref().map(|sinks| app::EffectsRun {
            sinks,
            triage: &triage,
            holder: &holder,
            fault,
        }),
    };
    let report = app::ingest_pending_with(store, queue.as_ref(), &handler, &now_rfc3339())
        .map_err(|e| (e.exit_code(), e.into()))?;
    tracing::info!(
        ingested = report.ingested.len(),
        quarantined = report.quarantined.len(),
        site_files = report.site_files,
        seconds = started.elapsed().as_secs_f64(),
        "pending bundles processed"
    );
    out.write_all(pending_text(&report, args.json)?.as_bytes())
        .map_err(|e| (3, e.into()))?;
    let gave_up = report.effects.as_ref().map_or(0, |e| e.drained.gave_up);
    // The batch ran; some of its inputs failed (kept in failed/ with the reason).
    if report.quarantined.is_empty() && gave_up == 0 {
        Ok(())
    } else {
        Err((
            1,
            anyhow::anyhow!(
                "{} message(s) and {gave_up} effect(s) failed; their reasons are under quarantine/ in the store",
                report.quarantined.len()
            ),
        ))
    }
}

/// The `ingest --pending` report as text or JSON.
fn pending_text(report: &app::PendingReport, json: bool) -> Result<String, (u8, anyhow::Error)> {
    if json {
        return Ok(serde_json::to_string_pretty(report).map_err(|e| (3, e.into()))? + "\n");
    }
    let mut t = format!(
        "ingested: {}, quarantined: {}, regressions: {}\n",
        report.ingested.len(),
        report.quarantined.len(),
        report.regressions
    );
    for (run, key, rows) in &report.ingested {
        t.push_str(&format!("  ok  {run} ({rows} rows) {key}\n"));
    }
    for (id, reason) in &report.quarantined {
        t.push_str(&format!("  bad {id}: {reason}\n"));
    }
    if let Some(e) = &report.effects {
        let d = &e.drained;
        t.push_str(&format!(
            "effects: {} enqueued; {} done, {} superseded, {} failed (retried later), {} gave up, {} deferred\n",
            e.enqueued.effects, d.done, d.superseded, d.failed, d.gave_up, d.deferred
        ));
    }
    Ok(t)
}

/// `ingest --legacy DIR`: backfill the predecessor's tree.
fn ingest_legacy(
    sh: &mut Shell<'_>,
    args: &cli::CliIngest,
    location: &sglci_core::backend::StoreLocation,
) -> Result<(), (u8, anyhow::Error)> {
    let (store, out) = (sh.store, &mut sh.out);
    let started = std::time::Instant::now();
    let Some(legacy) = args.legacy.as_deref() else {
        return Err((2, anyhow::anyhow!("ingest needs --legacy DIR or --pending")));
    };
    let (backfill, report) =
        app::ingest_legacy(store, legacy).map_err(|e| (e.exit_code(), e.into()))?;
    tracing::info!(files = report.files, seconds = started.elapsed().as_secs_f64(), store = %location, "legacy backfill written");
    let res = if args.json {
        serde_json::to_writer_pretty(&mut *out, &report)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out))
    } else {
        app::write_report(out, &report, &backfill)
    };
    res.map_err(|e| (3, e.into()))
}

fn export(sh: &mut Shell<'_>, args: &cli::CliExport) -> Result<(), (u8, anyhow::Error)> {
    let (store, out) = (sh.store, &mut sh.out);
    let table = app::resolve_table(&args.table).map_err(|e| (e.exit_code(), e.into()))?;
    let format = match args.format {
        CliFormat::Csv => Format::Csv,
        CliFormat::Json => Format::Json,
        CliFormat::Parquet => Format::Parquet,
        CliFormat::Pytorch => Format::Pytorch,
    };
    app::export(store, table, format, out).map_err(|e| (e.exit_code(), e.into()))
}

fn site(sh: &mut Shell<'_>, args: &cli::CliSite) -> Result<(), (u8, anyhow::Error)> {
    let (store, triage, out) = (sh.store, sh.triage.clone(), &mut sh.out);
    let started = std::time::Instant::now();
    let templates = match &args.templates {
        Some(dir) => app::load_templates(dir),
        None => Templates::embedded(),
    }
    .map_err(|e| (2, e.into()))?;
    let opts = SiteOptions {
        generated_at: now_utc(),
        window_days: args.window_days,
        logs_base: args.logs_url.clone(),
        png: !args.no_png,
        triage: app::load_triage(store, triage.as_deref())
            .map_err(|e| (e.exit_code(), e.into()))?,
        generation: Some(
            History::new(store)
                .index()
                .map_err(|e| (3, e.into()))?
                .generation,
        )
        .filter(|g| *g > 0),
    };
    // A part at a time: a long history's whole site is not held in memory at once.
    let site = app::render_site_dir(store, &templates, &opts, &args.out)
        .map_err(|e| (e.exit_code(), e.into()))?;
    tracing::info!(files = site.files, bytes = site.bytes, written = site.write.written, unchanged = site.write.unchanged, removed = site.write.removed, seconds = started.elapsed().as_secs_f64(), out = %args.out.display(), "site written");
    writeln!(out, "{}", args.out.join("index.html").display()).map_err(|e| (3, e.into()))
}

fn serve_site(sh: &mut Shell<'_>, args: cli::CliServe) -> Result<(), (u8, anyhow::Error)> {
    let out = &mut sh.out;
    if !args.dir.join("index.html").is_file() {
        return Err((
            2,
            anyhow::anyhow!(
                "{} has no index.html (hint: render it first with `sglci-publisher site --out {}`)",
                args.dir.display(),
                args.dir.display()
            ),
        ));
    }
    let listener = std::net::TcpListener::bind(("127.0.0.1", args.port))
        .map_err(|e| (3, anyhow::anyhow!("binding 127.0.0.1:{}: {e}", args.port)))?;
    let addr = listener.local_addr().map_err(|e| (3, e.into()))?;
    writeln!(out, "http://{addr}/").map_err(|e| (3, e.into()))?;
    out.flush().map_err(|e| (3, e.into()))?;
    tracing::info!(dir = %args.dir.display(), "serving on http://{addr}/ (Ctrl-C stops)");
    serve(
        listener,
        ServeConfig {
            site: args.dir,
            logs: args.logs,
        },
    )
    .map_err(|e| (3, e.into()))
}

fn summary(sh: &mut Shell<'_>, args: &cli::CliSummary) -> Result<(), (u8, anyhow::Error)> {
    let (store, out) = (sh.store, &mut sh.out);
    let templates = Templates::embedded().map_err(|e| (2, e.into()))?;
    let md = app::daily_summary(
        store,
        &templates,
        &args.hardware,
        args.date.as_deref(),
        &args.logs_url,
    )
    .map_err(|e| (e.exit_code(), e.into()))?;
    out.write_all(md.as_bytes()).map_err(|e| (3, e.into()))
}

fn regressions(sh: &mut Shell<'_>, args: &cli::CliRegressions) -> Result<(), (u8, anyhow::Error)> {
    let (store, out) = (sh.store, &mut sh.out);
    let findings = if args.improvements {
        app::improvements(store, args.all)
    } else {
        app::regressions(store, args.all)
    }
    .map_err(|e| (e.exit_code(), e.into()))?;
    let text = match args.format {
        CliReportFormat::Csv => regress::report::to_csv(&findings),
        CliReportFormat::Markdown => regress::report::to_markdown(&findings),
        CliReportFormat::Json => serde_json::to_string_pretty(&findings)
            .map(|s| s + "\n")
            .map_err(|e| (3, e.into()))?,
    };
    out.write_all(text.as_bytes()).map_err(|e| (3, e.into()))
}

fn compare(sh: &mut Shell<'_>, args: &cli::CliCompare) -> Result<(), (u8, anyhow::Error)> {
    let (store, out) = (sh.store, &mut sh.out);
    let threshold = match args.threshold {
        Some(t) if t.is_finite() && t > 0.0 && t < 1000.0 => Some(t / 100.0),
        Some(t) => {
            return Err((
                2,
                anyhow::anyhow!("--threshold {t}: a percentage above 0 (e.g. --threshold 5)"),
            ))
        }
        None => None,
    };
    let opts = sglci_publisher::compare::CompareOptions {
        force: args.force,
        threshold,
    };
    let c = app::compare(store, &args.a, &args.b, &opts).map_err(|e| (e.exit_code(), e.into()))?;
    let text = match args.format {
        CliReportFormat::Markdown => sglci_publisher::compare::to_markdown(&c),
        CliReportFormat::Json => serde_json::to_string_pretty(&c)
            .map(|s| s + "\n")
            .map_err(|e| (3, e.into()))?,
        CliReportFormat::Csv => {
            return Err((
                2,
                anyhow::anyhow!("compare writes markdown or json (hint: --format markdown)"),
            ))
        }
    };
    out.write_all(text.as_bytes()).map_err(|e| (3, e.into()))
}

/// `notify summary --once`: the daily summary through the outbox, as the scheduled Lambda sends
/// it (once per hardware and night).
fn summary_once(
    sh: &mut Shell<'_>,
    args: &cli::CliNotify,
    hardware: &[String],
    date: Option<&str>,
) -> Result<(), (u8, anyhow::Error)> {
    let (store, triage, out) = (sh.store, sh.triage.clone(), &mut sh.out);
    let env = sglci_env();
    let mut config = sglci_publisher::config::parse_effects(
        None,
        None,
        std::slice::from_ref(&args.to),
        args.dashboard.as_deref(),
        [None; 3],
    )
    .map_err(|e| (2, e.into()))?;
    config.github_issues = false;
    let sinks = app::effects::Sinks::new(
        config,
        app::effects::Secrets::from_env(&env),
        &app::effects::GitHubRepo::from_env(&env),
        None,
    )
    .map_err(|e| (2, e.into()))?;
    let templates = Templates::embedded().map_err(|e| (2, e.into()))?;
    let triage =
        app::load_triage(store, triage.as_deref()).map_err(|e| (e.exit_code(), e.into()))?;
    let limits = limits_from_env().map_err(|e| (2, e))?;
    let cx = app::effects::Context {
        store,
        site: None,
        limits: &limits,
        triage: &triage,
    };
    let now = now_rfc3339();
    let today = now.get(..10).unwrap_or("").replace('-', "");
    let date = date.unwrap_or(&today);
    let added = app::effects::enqueue_summaries(
        &sinks,
        &cx,
        &templates,
        &args.logs_url,
        hardware,
        date,
        &now,
    )
    .map_err(|e| (e.exit_code(), e.into()))?;
    let holder = holder();
    let drained = app::effects::drain(
        &sinks,
        &cx,
        &app::effects::Drainer {
            holder: &holder,
            now: sglci_core::clock::unix_now(),
            now_text: &now,
            fault: None,
        },
    )
    .map_err(|e| (3, e.into()))?;
    writeln!(
        out,
        "summaries of {date}: {added} enqueued; {} sent, {} failed (retried by the next run), {} gave up",
        drained.done, drained.failed, drained.gave_up
    )
    .map_err(|e| (3, e.into()))
}

fn notify(sh: &mut Shell<'_>, args: cli::CliNotify) -> Result<(), (u8, anyhow::Error)> {
    if let CliNotifyWhat::Summary {
        hardware,
        date,
        once: true,
    } = &args.what
    {
        return summary_once(sh, &args, hardware, date.as_deref());
    }
    let (store, triage, out) = (sh.store, sh.triage.clone(), &mut sh.out);
    let what = match args.what {
        CliNotifyWhat::Summary { hardware, date, .. } => {
            app::NotifyWhat::Summary { hardware, date }
        }
        CliNotifyWhat::Cards { hardware, date } => app::NotifyWhat::Cards { hardware, date },
        CliNotifyWhat::Regressions => app::NotifyWhat::Regressions,
        CliNotifyWhat::Compare { a, b } => app::NotifyWhat::Compare { a, b },
        CliNotifyWhat::Ab { record } => {
            let text = std::fs::read_to_string(&record)
                .map_err(|e| (3, anyhow::anyhow!("{}: {e}", record.display())))?;
            let r = sglci_core::ab::parse(&text).map_err(|e| {
                (
                    2,
                    anyhow::anyhow!(
                        "{}: {e} (hint: give the comparison.json `sglci-runner ab` wrote)",
                        record.display()
                    ),
                )
            })?;
            app::NotifyWhat::Ab(Box::new(r))
        }
    };
    let env = sglci_env();
    let receipts = app::notify(
        store,
        what,
        &args.to,
        args.dashboard.as_deref(),
        &args.logs_url,
        &env,
        &app::load_triage(store, triage.as_deref()).map_err(|e| (e.exit_code(), e.into()))?,
    )
    .map_err(|e| (e.exit_code(), e.into()))?;
    for r in receipts {
        writeln!(out, "{r}").map_err(|e| (3, e.into()))?;
    }
    Ok(())
}

fn tables(sh: &mut Shell<'_>) -> Result<(), (u8, anyhow::Error)> {
    let (store, out) = (sh.store, &mut sh.out);
    let hist = History::new(store);
    for schema in ALL_SCHEMAS {
        let t = hist.read(*schema).map_err(|e| (3, e.into()))?;
        writeln!(out, "{:<20} {:>6}", schema.name, t.rows.len()).map_err(|e| (3, e.into()))?;
    }
    Ok(())
}

/// `publish`: the stored bundles' files to the log repository, the site to Pages.
fn publish(
    store: &dyn sglci_core::store::ObjectStore,
    args: &cli::CliPublish,
) -> Result<(), (u8, anyhow::Error)> {
    use sglci_publisher::gitpub::{self, Mode};
    if args.log_repo.is_none() && args.pages.is_none() {
        return Err((
            2,
            anyhow::anyhow!(
                "nothing to publish (hint: --log-repo REMOTE and/or --site DIR --pages REMOTE)"
            ),
        ));
    }
    let token = std::env::var("SGLCI_GIT_TOKEN")
        .or_else(|_| std::env::var("GITHUB_TOKEN"))
        .ok();
    let cache = git_cache(&sglci_env()).map_err(|e| (2, e))?;
    let mut report = serde_json::Map::new();
    if let Some(remote) = &args.log_repo {
        let dest =
            gitpub::Dest::new(remote, &args.log_branch, token.as_deref()).cached(cache.as_ref());
        // Every verified bundle's files, at their paths in the log layout (the predecessor's
        // mapping, predecessor.md 6.6, is the identity for runner bundles); bundles that fail
        // verification or reach outside their run folders are skipped with their reasons.
        let logs = app::log_files(store, &limits_from_env().map_err(|e| (2, e))?)
            .map_err(|e| (3, e.into()))?;
        let (files, runs, skipped) = (logs.files, logs.runs, logs.skipped);
        let entry = if args.dry_run {
            let changed = gitpub::plan(dest, &files).map_err(|e| (3, e.into()))?;
            serde_json::json!({ "remote": redact_remote(remote), "branch": args.log_branch, "runs": runs.len(), "files": files.len(), "would_push": changed, "skipped": skipped })
        } else {
            let msg = format!("sglci: raw logs of {} run(s)", runs.len());
            let r = gitpub::push(dest, &files, Mode::Append, &msg).map_err(|e| (3, e.into()))?;
            serde_json::json!({ "remote": redact_remote(remote), "branch": r.branch, "runs": runs.len(), "files": r.files, "changed": r.changed, "commit": r.commit, "retries": r.retries, "skipped": skipped, "refused": r.refused })
        };
        report.insert("log_repo".into(), entry);
    }
    if let Some(remote) = &args.pages {
        let Some(site) = &args.site else {
            return Err((
                2,
                anyhow::anyhow!("--pages needs --site DIR (a rendered site)"),
            ));
        };
        let files = gitpub::files_under(site)
            .map_err(|e| (3, anyhow::anyhow!("--site {}: {e}", site.display())))?;
        if !files.iter().any(|(p, _)| p == "index.html") {
            return Err((
                2,
                anyhow::anyhow!(
                    "--site {}: no index.html (hint: sglci-publisher site --out DIR first)",
                    site.display()
                ),
            ));
        }
        let dest =
            gitpub::Dest::new(remote, &args.pages_branch, token.as_deref()).cached(cache.as_ref());
        let entry = if args.dry_run {
            let changed = gitpub::plan(dest, &files).map_err(|e| (3, e.into()))?;
            serde_json::json!({ "remote": redact_remote(remote), "branch": args.pages_branch, "files": files.len(), "would_push": changed })
        } else {
            let r = gitpub::push(
                dest,
                &files,
                Mode::Replace { keep: args.keep },
                "sglci: site",
            )
            .map_err(|e| (3, e.into()))?;
            serde_json::json!({ "remote": redact_remote(remote), "branch": r.branch, "files": r.files, "changed": r.changed, "commit": r.commit, "squashed": r.squashed, "retries": r.retries })
        };
        report.insert("pages".into(), entry);
    }
    let text = serde_json::to_string_pretty(&serde_json::Value::Object(report))
        .map_err(|e| (3, e.into()))?;
    #[expect(clippy::print_stdout, reason = "stdout carries the command's data")]
    {
        println!("{text}");
    }
    Ok(())
}

/// The git cache from `SGLCI_GIT_CACHE` and `SGLCI_GIT_CACHE_MB` (see [`sglci_env`]).
fn git_cache(
    env: &std::collections::BTreeMap<String, String>,
) -> anyhow::Result<Option<sglci_publisher::gitpub::GitCache>> {
    let var = |k: &str| env.get(k).map(String::as_str);
    Ok(sglci_publisher::config::parse_git_cache(
        var("SGLCI_GIT_CACHE"),
        var("SGLCI_GIT_CACHE_MB"),
        &std::env::temp_dir(),
    )?)
}

/// The bundle limits from `SGLCI_MAX_FILE_MB` and `SGLCI_MAX_BUNDLE_MB`.
fn limits_from_env() -> anyhow::Result<sglci_core::bundle::BundleLimits> {
    let var = |n: &str| std::env::var(n).ok();
    Ok(sglci_publisher::config::parse_limits(
        var("SGLCI_MAX_FILE_MB").as_deref(),
        var("SGLCI_MAX_BUNDLE_MB").as_deref(),
    )?)
}

fn redact_remote(remote: &str) -> String {
    sglci_publisher::gitpub::redact_remote(remote)
}
