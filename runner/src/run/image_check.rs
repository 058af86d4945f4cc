//! `run` for the image-check suite (F13): Docker Hub only, no engine, no GPU.

use super::finish::{finish_run, RunReport};
use crate::cli::CliRun;
use crate::error::RunnerError;
use crate::host::{hostname, hub_fetch};
use crate::image;
use crate::job::{image_check::run_image_check, Origin};
use crate::ship::RunInfo;
use crate::suite::Suite;

pub(crate) fn image_check(
    args: &CliRun,
    suite: &Suite,
    hardware: &str,
    now: i64,
) -> Result<String, RunnerError> {
    let plan = crate::plan::plan(suite, hardware, None)?;
    let date = match &args.date {
        Some(d) if sglci_core::tag::valid_date(d) => d.clone(),
        Some(d) => {
            return Err(RunnerError::config(
                format!("--date `{d}`"),
                "expected YYYYMMDD",
            ))
        }
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
    let origin = Origin {
        run_id: run_id.clone(),
        suite: suite.name.clone(),
        host: hostname(),
        hardware: hardware.to_owned(),
    };
    let mut fetch = hub_fetch();
    let mut outcomes = Vec::new();
    let infra = |o: &crate::job::JobOutcome| {
        o.failure
            .as_ref()
            .is_some_and(|f| f.class == sglci_core::failure::FailureClass::Infrastructure)
    };
    for job in &plan.jobs {
        let o = run_image_check(
            job,
            &origin,
            &out,
            &sglci_core::clock::unix_now,
            &date,
            &args.hub_url,
            &mut fetch,
        )
        .map_err(|e| RunnerError::Machine(format!("{}: {e}", job.id)))?;
        if infra(&o) {
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
        record: None,
    };
    let infra_failed = outcomes.iter().any(infra);
    match finish_run(args, &out, &info, outcomes).and_then(RunReport::into_result) {
        // Docker Hub unreachable is the machine's failure, not the night's.
        Err(RunnerError::Failed(e)) if infra_failed => Err(RunnerError::Machine(e)),
        r => r,
    }
}
