//! Pure: one file's bytes → its parsed value, or the reason it is quarantined.

use sglci_core::parse::{
    alert, bench_serving, cron, gsm8k, offline, online_csv, pd, plots_log, sanity, server_log,
    timing, unit_test, upstream,
};
use sglci_core::ParseError;

use super::classify::{classify, FileKind, Place};

/// A parsed file of any kind. Large values are boxed so that a vector of files stays compact.
#[derive(Debug, Clone)]
pub enum Parsed {
    OnlineCsv(online_csv::OnlineCsv),
    OfflineCsv(Vec<offline::OfflineRow>),
    Client(Box<bench_serving::ClientLog>),
    Jsonl(Vec<bench_serving::JsonlRecord>),
    Gsm8k(gsm8k::Gsm8kLog),
    Server(server_log::ServerLog),
    OnlineTiming(timing::OnlineTiming),
    Plots(plots_log::PlotsLog),
    SanityTiming(sanity::SanityTiming),
    SanityTrial(gsm8k::BenchSglang),
    PdSummary(pd::PdSummary),
    PdGsm8k(pd::PdGsm8k),
    Unit(unit_test::UnitTestLog),
    Cron(cron::CronLog),
    Upstream(upstream::CoverageReport),
    UpstreamMarkdown(usize),
    Alert(alert::AlertCard),
    Ab(Box<sglci_core::ab::AbRecord>),
    Efficiency(Box<sglci_core::efficiency::EfficiencyInput>),
    Trace(Box<sglci_core::parse::trace::TraceSummary>),
    PlotImage,
}

/// One file after classification and parsing.
#[derive(Debug, Clone)]
pub struct FileResult {
    pub rel: String,
    pub kind: FileKind,
    pub place: Place,
    pub bytes: usize,
    /// The parsed value, or why the file is quarantined.
    pub outcome: Result<Parsed, String>,
}

fn reason(e: ParseError) -> String {
    e.to_string()
}

/// Classifies `rel` and parses `bytes` accordingly. Never panics. Secrets in the name and the
/// bytes are redacted first, so no free text derived from a file (host names, failure lines,
/// quoted cells, names) can carry one into a table, a page or a notification.
pub fn parse_file(rel: &str, bytes: &[u8]) -> FileResult {
    let rel = sglci_core::redact::redact(rel);
    let size = bytes.len();
    let bytes = sglci_core::redact::redact_bytes(bytes);
    let c = classify(&rel);
    let outcome = match c.reject {
        Some(why) => Err(why),
        None => parse_kind(c.kind, &bytes),
    };
    let bytes = size;
    FileResult {
        rel,
        kind: c.kind,
        place: c.place,
        bytes,
        outcome,
    }
}

fn text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    sglci_core::text::clean(bytes)
}

fn parse_kind(kind: FileKind, bytes: &[u8]) -> Result<Parsed, String> {
    let empty = || Err(reason(ParseError::Empty));
    match kind {
        FileKind::OnlineCsv => {
            if bytes.is_empty() {
                return empty();
            }
            online_csv::parse(&text(bytes))
                .map(Parsed::OnlineCsv)
                .map_err(reason)
        }
        FileKind::OfflineCsv => offline::parse_csv(&text(bytes))
            .map(Parsed::OfflineCsv)
            .map_err(reason),
        FileKind::ClientLog => bench_serving::parse_client_log(bytes)
            .map(|c| Parsed::Client(Box::new(c)))
            .map_err(reason),
        FileKind::BenchJsonl => bench_serving::parse_jsonl(&text(bytes))
            .map(Parsed::Jsonl)
            .map_err(reason),
        FileKind::Gsm8kLog => gsm8k::parse_log(bytes).map(Parsed::Gsm8k).map_err(reason),
        FileKind::ServerLog | FileKind::SanityServer | FileKind::PdServer | FileKind::PdRouter => {
            if bytes.is_empty() {
                return empty();
            }
            Ok(Parsed::Server(server_log::parse(bytes)))
        }
        FileKind::OnlineTiming => timing::parse(bytes)
            .map(Parsed::OnlineTiming)
            .map_err(reason),
        FileKind::PlotsLog => plots_log::parse(bytes).map(Parsed::Plots).map_err(reason),
        FileKind::SanityTiming => sanity::parse(bytes)
            .map(Parsed::SanityTiming)
            .map_err(reason),
        FileKind::SanityClient | FileKind::SanityWarmup => gsm8k::parse_bench_sglang(bytes)
            .map(Parsed::SanityTrial)
            .map_err(reason),
        FileKind::PdSummary => pd::parse_summary(bytes)
            .map(Parsed::PdSummary)
            .map_err(reason),
        FileKind::PdGsm8k => pd::parse_gsm8k(bytes).map(Parsed::PdGsm8k).map_err(reason),
        FileKind::PdMain | FileKind::Cron => Ok(Parsed::Cron(cron::parse(bytes))),
        FileKind::UnitTest => unit_test::parse(bytes).map(Parsed::Unit).map_err(reason),
        FileKind::Upstream => upstream::parse(&text(bytes))
            .map(Parsed::Upstream)
            .map_err(reason),
        FileKind::UpstreamMarkdown => upstream::parse_markdown(&text(bytes))
            .map(Parsed::UpstreamMarkdown)
            .map_err(reason),
        FileKind::Alert => alert::parse(&text(bytes))
            .map(Parsed::Alert)
            .map_err(reason),
        FileKind::AbRecord => sglci_core::ab::parse(&text(bytes))
            .map(|r| Parsed::Ab(Box::new(r)))
            .map_err(reason),
        FileKind::Efficiency => sglci_core::efficiency::parse_input(&text(bytes))
            .map(|e| Parsed::Efficiency(Box::new(e)))
            .map_err(reason),
        FileKind::Trace => sglci_core::parse::trace::parse(bytes)
            .map(|t| Parsed::Trace(Box::new(t)))
            .map_err(reason),
        FileKind::PlotImage => {
            if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
                Ok(Parsed::PlotImage)
            } else {
                Err("not a PNG image (bad signature)".to_owned())
            }
        }
        FileKind::NotData | FileKind::Unrecognized => Err("not recognised".to_owned()),
    }
}
