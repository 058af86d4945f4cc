//! `exec`: one command in a fresh labelled container, streamed, removed afterwards whatever
//! happens (also on SIGTERM).

use crate::cli::CliExec;
use crate::container;
use crate::docker::DockerEngine;
use crate::error::RunnerError;
use crate::host::{append_job_summary, stop_on_signal, stopping};
use crate::report;

/// `KEY=VALUE` pairs.
fn env_pairs(env: &[String]) -> Result<Vec<(String, String)>, RunnerError> {
    env.iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .ok_or_else(|| RunnerError::config(format!("--env `{kv}`"), "expected KEY=VALUE"))
        })
        .collect()
}

pub(super) fn exec(args: &CliExec) -> Result<String, RunnerError> {
    let mounts = args
        .mounts
        .iter()
        .map(|m| container::parse_mount(m))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| RunnerError::config("--mount", e))?;
    let env = env_pairs(&args.env)?;
    let gpus: container::Gpus = args.gpus.parse().map_err(RunnerError::Config)?;
    let spec = container::spec(&container::Placement {
        run_id: &args.run_id,
        job: "exec",
        image: &args.image,
        hardware: &args.hardware,
        env: &std::collections::BTreeMap::new(),
        devices: &args.devices,
        gpus: &gpus,
        mounts: &mounts,
    });
    let engine = DockerEngine::connect()?;
    // SIGTERM (a cancelled job) or Ctrl-C: remove this run's containers, then exit 143.
    stop_on_signal("this run's containers", Some(args.run_id.clone()));
    let id = engine.start(&spec)?;
    tracing::info!(container = %spec.name, image = %spec.image, "container started");
    let surface = report::Surface::detect(std::env::var("GITHUB_ACTIONS").ok().as_deref());
    let stdout = std::io::stdout();
    let say = |line: &str| {
        let mut out = stdout.lock();
        let _ = std::io::Write::write_all(&mut out, line.as_bytes());
        let _ = std::io::Write::write_all(&mut out, b"\n");
    };
    let what = args.command.join(" ");
    say(&report::group_start(
        surface,
        &format!("{what} in {}", spec.name),
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
        let title = format!("{} failed", spec.name);
        say(&report::annotation(
            surface,
            report::Level::Error,
            &title,
            &status,
            None,
        ));
    }
    if surface == report::Surface::GitHubActions {
        append_job_summary(&report::summary(
            &format!("sglci-runner exec ({})", args.hardware),
            &[report::SummaryRow {
                job: what,
                status: status.clone(),
                detail: format!("{} · log {}", spec.image, args.log.display()),
            }],
        ));
    }
    if stopping() {
        // The signal handler is removing the containers and will exit with 143.
        std::thread::sleep(std::time::Duration::from_secs(60));
        std::process::exit(143);
    }
    let removed = engine.remove(&id);
    let code = result?;
    removed?;
    if code == 0 {
        Ok(serde_json::json!({ "container": spec.name, "exit_code": 0 }).to_string())
    } else {
        Err(RunnerError::Failed(format!(
            "{:?} exited with {code} (log: {})",
            args.command,
            args.log.display()
        )))
    }
}
