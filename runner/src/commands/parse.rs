//! `parse --kind KIND FILE`: one result file through its parser, as JSON.

use std::path::Path;

use sglci_core::parse::{
    alert, bench_serving, cron, gsm8k, offline, online_csv, pd, sanity, server_log, timing,
    unit_test, upstream,
};

use crate::cli::CliKind;
use crate::error::RunnerError;

fn to_json<T: serde::Serialize, E: std::fmt::Display>(
    r: Result<T, E>,
    file: &str,
) -> Result<String, RunnerError> {
    super::json(&r.map_err(|e| RunnerError::config(file, e))?)
}

pub(super) fn parse(kind: CliKind, file: &Path) -> Result<String, RunnerError> {
    let bytes = std::fs::read(file)
        .map_err(|e| RunnerError::Machine(format!("reading {}: {e}", file.display())))?;
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
