//! Before any job starts: the GPUs idle (F2), the image on this host (F3), and what a run that
//! cannot start reports instead of its jobs.

use std::path::Path;

use sglci_core::failure::{Evidence, FailureClass};

use super::finish::{finish_run, RunReport};
use crate::cli::CliRun;
use crate::docker::DockerEngine;
use crate::error::RunnerError;
use crate::gpu;
use crate::host::{hostname, say};
use crate::job::{JobOutcome, Origin, Stop};
use crate::plan::PlannedJob;
use crate::report;
use crate::ship::RunInfo;

/// Waits until the GPUs are idle (polling every 15 s up to `wait_s`); never stops anything.
/// Busy at the end is a machine failure with the `GPU still busy after` evidence; no vendor tool
/// is one too on GPU hardware.
pub(crate) fn gpu_idle(hardware: &str, wait_s: u64) -> Result<(), RunnerError> {
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
            return Err(RunnerError::Machine(format!(
                "cannot tell whether the GPUs are idle: {} (hint: install the vendor tool on the runner host)",
                tried.join("; ")
            )));
        };
        let busy = gpu::busy(&gpus, gpu::MAX_BUSY_PCT, gpu::MAX_MEM_PCT);
        if busy.is_empty() {
            tracing::info!(gpus = gpus.len(), "GPUs idle");
            return Ok(());
        }
        let waited = start.elapsed().as_secs();
        if waited >= wait_s {
            return Err(RunnerError::Machine(gpu::busy_line(&busy, waited)));
        }
        tracing::warn!(busy = busy.len(), waited, "GPUs busy; waiting");
        std::thread::sleep(std::time::Duration::from_secs(
            15.min(wait_s - waited).max(1),
        ));
    }
}

/// The image on this host before any job starts, pulled with retries when missing. A pull that
/// never succeeds is a machine failure of class `pull_failed`.
pub(crate) fn pull_image(
    image: &str,
    args: &CliRun,
    surface: report::Surface,
) -> Result<(), RunnerError> {
    let docker = DockerEngine::connect()?;
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
            let text = e.to_string();
            say(&report::annotation(
                surface,
                report::Level::Error,
                "pull_failed",
                &text,
                None,
            ));
            Err(e.into())
        }
    }
}

/// What a run that could not start needs to report it.
pub(crate) struct Preflight<'a> {
    pub(crate) args: &'a CliRun,
    pub(crate) jobs: &'a [&'a PlannedJob],
    pub(crate) out: &'a Path,
    pub(crate) info: RunInfo,
    pub(crate) image: &'a str,
    pub(crate) now: i64,
}

impl Preflight<'_> {
    /// The machine failed before any job started (busy GPUs, no image): each job's task gets the
    /// failure as its cron log (`cron_log/<hw>/<date>/<cron job>.log`, the predecessor's place
    /// for a job's console output), shipped like any bundle, so the night's status board shows
    /// the class instead of a missing run. The error stays the machine failure.
    pub(crate) fn failed(&self, err: RunnerError) -> RunnerError {
        if !err.is_machine() {
            return err;
        }
        let line = err.to_string();
        let class = sglci_core::failure::classify(std::iter::once(line.as_str()))
            .map_or(FailureClass::Infrastructure, |e| e.class);
        let outcomes = self.cron_logs(&line, class);
        if outcomes.is_empty() {
            return err;
        }
        // The run's JSON is printed as for any run (the cron logs' outcomes); the error stays
        // the machine failure, with a spooled bundle said after it.
        match finish_run(self.args, self.out, &self.info, outcomes).and_then(RunReport::into_result)
        {
            Ok(json) => {
                #[expect(
                    clippy::print_stdout,
                    reason = "stdout carries the run's data, also when it could not start"
                )]
                {
                    println!("{json}");
                }
                err
            }
            Err(spooled) if spooled.is_machine() => err.and_then_say(&spooled.to_string()),
            Err(_) => err,
        }
    }

    /// One cron log per cron job the run's jobs replace, each holding the failure line.
    fn cron_logs(&self, line: &str, class: FailureClass) -> Vec<JobOutcome> {
        let folder = format!("cron_log/{}/{}", self.info.hardware, self.info.date);
        let origin = Origin {
            run_id: self.info.run_id.clone(),
            suite: self.info.suite.clone(),
            host: hostname(),
            hardware: self.info.hardware.clone(),
        };
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
            let text = crate::outputs::render_preflight_log(&crate::outputs::Preflight {
                command: &std::env::args().collect::<Vec<_>>().join(" "),
                run_id: &self.info.run_id,
                started_at: &sglci_core::date::utc_datetime(self.now),
                machine: &origin.host,
                image: self.image,
                line,
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
            let stopped = Stop {
                reason: format!("the run could not start ({class})"),
                evidence: Evidence {
                    class,
                    line: sglci_core::redact::redact(line),
                },
            };
            outcomes.push(JobOutcome::new(
                &job.id,
                &origin,
                self.image,
                &rel,
                (self.now, sglci_core::clock::unix_now()),
                Some(stopped),
                String::new(),
            ));
        }
        outcomes
    }
}
