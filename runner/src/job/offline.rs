//! F7, the offline grid: one `bench_one_batch` run per (batch size, input, output) cell, each
//! logged in the run folder, and the predecessor's offline CSV (`NA` for a failed cell).

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use sglci_core::failure::{self, Evidence, FailureClass};

use super::{keep_as_backup, log_error, read, Context, JobOutcome, Origin, Progress, Stop};
use crate::engine::{run_to_end, Engine, EngineError, RunEnd};
use crate::plan::{JobSpec, PlannedJob};

/// The value after `flag` in a command line.
fn flag_value<'a>(argv: &'a [String], flag: &str) -> Option<&'a str> {
    argv.iter()
        .position(|a| a == flag)
        .and_then(|i| argv.get(i + 1))
        .map(String::as_str)
}

/// F7: the offline grid, one `bench_one_batch` run per (batch size, input, output) cell, each
/// logged in the run folder; the results in the predecessor's offline CSV (`NA` for a failed
/// cell). The job fails when no cell produced a result, with the class the logs show.
pub fn run_offline(
    job: &PlannedJob,
    ctx: &mut Context<'_>,
    engine: &mut dyn Engine,
    image: &str,
) -> Result<JobOutcome, EngineError> {
    let started = (ctx.clock)();
    let tag = ctx.tag.as_str().to_owned();
    let rel = job
        .run_folder
        .clone()
        .ok_or_else(|| EngineError::Docker(format!("{}: an offline job needs a label", job.id)))?
        .replace("{tag}", &tag);
    let dir = ctx.root.join(&rel);
    if dir.exists() {
        keep_as_backup(&dir, started)?;
    }
    std::fs::create_dir_all(&dir).map_err(|e| log_error(&dir, e))?;
    let deadline = Instant::now() + Duration::from_secs(u64::from(job.timeout_minutes) * 60);
    let mut csv = String::from("TP,batch_size,IL,OL,Backend,Prefill_latency(s),Median_decode_latency(s),E2E_Latency(s),Prefill_Throughput(token/s),Median_Decode_Throughput(token/s),E2E_Throughput(token/s)\n");
    let (mut ok, mut failed_logs) = (0usize, Vec::new());
    let JobSpec::Offline { cells } = &job.spec else {
        return Err(EngineError::NotThisKind {
            job: job.id.clone(),
            kind: "offline",
        });
    };
    let total = cells.len();
    let mut timed_out = false;
    for (i, cell) in cells.iter().enumerate() {
        let label = format!(
            "bs {} in {} out {}",
            cell.batch_size, cell.input_len, cell.output_len
        );
        (ctx.progress)(Progress::Point {
            done: i,
            total,
            label: &label,
        });
        let log = dir.join(format!(
            "bench_one_batch_bs{}_il{}_ol{}.log",
            cell.batch_size, cell.input_len, cell.output_len
        ));
        let left = deadline.saturating_duration_since(Instant::now());
        let end = run_to_end(engine, &cell.argv, &job.env, &log, left, &mut |_| None)?;
        let tp = flag_value(&cell.argv, "--tp").unwrap_or("1");
        let backend = flag_value(&cell.argv, "--attention-backend").unwrap_or("default");
        let r = sglci_core::parse::offline::parse_one_batch(&read(&log)).ok();
        let f = |v: Option<f64>, digits: usize| {
            v.map_or_else(|| "NA".to_owned(), |v| format!("{v:.digits$}"))
        };
        let _ = match &r {
            Some(r) => writeln!(
                csv,
                "{tp},{},{},{},{backend},{},{},{},{},{},{}",
                cell.batch_size,
                cell.input_len,
                cell.output_len,
                f(r.prefill_latency_s, 4),
                f(r.decode_median_latency_s, 4),
                f(r.total_latency_s, 4),
                f(r.prefill_throughput, 2),
                f(r.decode_median_throughput, 2),
                f(r.total_throughput, 2),
            ),
            None => writeln!(
                csv,
                "{tp},{},{},{},{backend},NA,NA,NA,NA,NA,NA",
                cell.batch_size, cell.input_len, cell.output_len
            ),
        };
        if r.is_some() {
            ok += 1;
        } else {
            failed_logs.push(log.clone());
        }
        if matches!(end, RunEnd::TimedOut) {
            timed_out = true;
            break;
        }
    }
    let name = rel.rsplit('/').next().unwrap_or("offline");
    let csv_path = dir.join(format!("{name}.csv"));
    std::fs::write(&csv_path, &csv).map_err(|e| log_error(&csv_path, e))?;
    let failure = if timed_out {
        Some(Stop {
            reason: format!("the job's time ran out after {ok} of {total} cells"),
            evidence: Evidence {
                class: FailureClass::Timeout,
                line: format!(
                    "offline grid timed out ({} min job limit)",
                    job.timeout_minutes
                ),
            },
        })
    } else if ok == 0 && total > 0 {
        let text: String = failed_logs
            .iter()
            .map(|p| sglci_core::text::clean(&read(p)).into_owned())
            .collect::<Vec<_>>()
            .join("\n");
        let ev = failure::classify(text.lines()).unwrap_or(Evidence {
            class: FailureClass::Unclassified,
            line: "no cell printed a `Total.` result".to_owned(),
        });
        Some(Stop {
            reason: format!("no cell of the {total}-cell grid produced a result"),
            evidence: ev,
        })
    } else {
        None
    };
    let origin = Origin::of(ctx);
    Ok(JobOutcome::new(
        &job.id,
        &origin,
        image,
        &rel,
        (started, (ctx.clock)()),
        failure,
        format!("{ok} of {total} cells have results"),
    ))
}
