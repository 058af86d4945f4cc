//! The end of a run: its folders shipped as one bundle (unless `--no-ship`), the run's JSON on
//! stdout, and the exit code: 1 when a job failed, 3 when the bundle was spooled.

use std::path::Path;

use crate::cli::CliRun;
use crate::destination;
use crate::error::RunnerError;
use crate::job::JobOutcome;
use crate::plan::PlannedJob;
use crate::ship::{self, RunInfo, Shipped};

impl RunInfo {
    /// The run's record (F16) added: the image identity, the hash of the jobs' resolved plan,
    /// the start and end times, the status and each failed job's class.
    pub(crate) fn with_record(
        mut self,
        image: sglci_core::ImageIdentity,
        jobs: &[&PlannedJob],
        started: i64,
        outcomes: &[JobOutcome],
    ) -> Self {
        let plan = serde_json::to_vec(jobs).unwrap_or_default();
        let failures: Vec<_> = outcomes
            .iter()
            .filter_map(|o| o.failure.as_ref().map(|f| f.class))
            .collect();
        self.record = Some(sglci_core::bundle::RunMeta {
            host: crate::host::hostname(),
            image,
            config_hash: sglci_core::bundle::sha256_hex(&plan),
            started: sglci_core::date::rfc3339(started),
            ended: sglci_core::date::rfc3339(sglci_core::clock::unix_now()),
            status: if failures.is_empty() {
                sglci_core::bundle::RunStatus::Pass
            } else {
                sglci_core::bundle::RunStatus::Fail
            },
            failures,
            mconf: jobs
                .iter()
                .find_map(|j| j.reduced.as_ref())
                .map(|r| format!("{}l", r.layers)),
            deploy: jobs.iter().find_map(|j| j.deploy.clone()),
            nodes: None,
        });
        self
    }
}

/// What a run did: its id and folders, the bundle's manifest (when delivered), each job's
/// outcome, and the error the run ends with (a failed job, a spooled bundle).
#[derive(Debug, serde::Serialize)]
pub struct RunReport {
    pub run_id: String,
    pub out: String,
    /// The delivered bundle's manifest key.
    pub shipped: Option<String>,
    pub jobs: Vec<JobOutcome>,
    /// The image's identity, as the manifest records it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<sglci_core::ImageIdentity>,
    /// A multi-node follower's parts (its logs stay on its node; rank 0 ships the bundle).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub node_parts: Vec<crate::nodes::follower::Part>,
    #[serde(skip)]
    pub error: Option<RunnerError>,
}

impl RunReport {
    /// The command's answer: `Ok(json)`, or the JSON printed and the error.
    pub fn into_result(self) -> Result<String, RunnerError> {
        let json =
            serde_json::to_string_pretty(&self).map_err(|e| RunnerError::Machine(e.to_string()))?;
        let Some(err) = self.error else {
            return Ok(json);
        };
        #[expect(
            clippy::print_stdout,
            reason = "stdout carries the command's data, also on failure"
        )]
        {
            println!("{json}");
        }
        Err(err)
    }
}

/// Ships this run's folders (unless `--no-ship`) and reports.
pub(crate) fn finish_run(
    args: &CliRun,
    out: &Path,
    info: &RunInfo,
    outcomes: Vec<JobOutcome>,
) -> Result<RunReport, RunnerError> {
    let mut shipped = None;
    let mut ship_error = None;
    if !args.no_ship {
        // This run's folders only: the log tree also holds earlier runs and their backups.
        let files: Vec<_> = ship::collect(out)?
            .into_iter()
            .filter(|(path, _)| {
                outcomes.iter().any(|o| {
                    path == &o.run_folder || path.starts_with(&format!("{}/", o.run_folder))
                })
            })
            .collect();
        let files = ship::redact_files(files, &sglci_core::redact::secret_values(std::env::vars()));
        let (store, queue) = destination::open(&args.backends)?;
        match ship::ship(
            store.as_ref(),
            queue.as_ref(),
            &args.backends.spool,
            info,
            &files,
        )? {
            Shipped::Delivered { manifest } => shipped = Some(manifest.as_str().to_owned()),
            Shipped::Spooled { manifest, reason } => {
                ship_error = Some(RunnerError::Machine(format!(
                    "{manifest}: not delivered ({reason}); kept in {} (hint: `sglci-runner flush`)",
                    args.backends.spool.display()
                )));
            }
        }
    }
    let failed = outcomes.iter().filter(|o| o.failed()).count();
    let error = ship_error.or_else(|| {
        (failed > 0).then(|| {
            RunnerError::Failed(format!(
                "{failed} job(s) failed; see results.json in {}",
                out.display()
            ))
        })
    });
    Ok(RunReport {
        run_id: info.run_id.clone(),
        out: out.display().to_string(),
        shipped,
        jobs: outcomes,
        image: info.record.as_ref().map(|r| r.image.clone()),
        node_parts: Vec::new(),
        error,
    })
}
