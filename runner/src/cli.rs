//! Command-line types (clap derive only; no logic here).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Runs SGLang benchmark suites on a GPU host and ships run bundles.
///
/// This build provides the result parsers and image-tag validation the runner is built on.
#[derive(Debug, Parser)]
#[command(name = "sglci-runner", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: CliCommand,
}

#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Validate an image tag (or `repo:tag` image) and print its fields as JSON.
    Tag {
        /// e.g. `v0.5.6.post2-rocm700-mi30x-20251216` or `rocm/sgl-dev:v0.5.6-rocm700-mi35x-20251204`.
        image: String,
    },
    /// Parse one result file and print the typed value as JSON.
    Parse {
        /// What the file is.
        #[arg(long, value_enum)]
        kind: CliKind,
        /// The file to parse.
        file: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CliKind {
    /// bench_serving client log (text).
    ClientLog,
    /// bench_serving --output-file JSONL.
    BenchJsonl,
    /// GSM8K wrapper log.
    Gsm8k,
    /// Raw bench_sglang output (sanity trial).
    BenchSglang,
    /// SGLang server log.
    ServerLog,
    /// Online timing summary.
    Timing,
    /// Sanity timing summary.
    SanityTiming,
    /// Online benchmark CSV (tab-separated sections).
    OnlineCsv,
    /// Offline CSV.
    OfflineCsv,
    /// bench_one_batch stdout.
    OneBatch,
    /// PD test_summary.txt.
    PdSummary,
    /// PD test_gsm8k.log.
    PdGsm8k,
    /// Unit-test log.
    UnitTest,
    /// Cron job log.
    Cron,
    /// Upstream CI coverage CSV.
    Upstream,
    /// Teams Adaptive Card JSON.
    Alert,
}
