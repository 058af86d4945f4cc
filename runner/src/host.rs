//! This host, for the commands: its name, progress lines for the person watching, Docker Hub
//! reads, the installed SGLang client, and the stop on SIGTERM or Ctrl-C. The clock is
//! [`sglci_core::clock::unix_now`].

use std::sync::atomic::{AtomicBool, Ordering};

use crate::docker::DockerEngine;
use crate::error::RunnerError;
use crate::image;

/// The host's name (for timing summaries and results).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Progress for humans: stderr (stdout carries the command's JSON).
pub fn say(line: &str) {
    #[expect(clippy::print_stderr, reason = "progress for humans goes to stderr")]
    {
        eprintln!("{line}");
    }
}

/// Reads Docker Hub pages (tonight's image, the image check): the body, or a short reason.
pub fn hub_fetch() -> impl FnMut(&str) -> Result<String, String> {
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

/// The CPU smoke suite's image name: the installed SGLang client's version, `cpu` build and
/// hardware, and today's image date.
pub fn smoke_image(now: i64) -> Result<String, RunnerError> {
    let out = std::process::Command::new("python3")
        .args(["-c", "import importlib.metadata as m; print(m.version('sglang'))"])
        .output()
        .map_err(|e| RunnerError::Machine(format!("python3: {e} (hint: the smoke suite needs Python 3 with sglang; see scripts/smoke-setup.sh)")))?;
    let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() || version.is_empty() {
        return Err(RunnerError::Machine(
            "sglang is not installed for python3 (hint: bash scripts/smoke-setup.sh, or pass --image)"
                .to_owned(),
        ));
    }
    Ok(format!(
        "v{version}-cpu-cpu-{}",
        image::pacific_date(now, 0)
    ))
}

/// Set when SIGTERM or Ctrl-C arrived: the handler owns the exit from then on.
static STOPPING: AtomicBool = AtomicBool::new(false);

/// Whether a stop signal arrived (the handler is cleaning up and will exit 143).
pub fn stopping() -> bool {
    STOPPING.load(Ordering::SeqCst)
}

/// Stops this run's processes (and its containers) on SIGTERM (a cancelled job) or Ctrl-C,
/// then exits 143.
pub fn stop_on_signal(what: &'static str, run_id: Option<String>) {
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
        STOPPING.store(true, Ordering::SeqCst);
        tracing::warn!("stopping: ending {what}");
        crate::engine::stop_all_local();
        if let Some(run) = run_id {
            if let Ok(e) = DockerEngine::connect() {
                let _ = e.cleanup(Some(&run));
            }
        }
        std::process::exit(143);
    });
}

/// Appends `markdown` to the GitHub Actions job summary, when there is one.
pub fn append_job_summary(markdown: &str) {
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY") else {
        return;
    };
    let appended = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, markdown.as_bytes()));
    if let Err(e) = appended {
        tracing::warn!("job summary not written: {e}");
    }
}
