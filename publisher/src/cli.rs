//! Command-line types (clap derive only; no logic here).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Ingests SGLang benchmark results into a consolidated history and exports it.
#[derive(Debug, Parser)]
#[command(name = "sglci-publisher", version, about)]
pub struct Cli {
    /// Where the history lives: a directory path or file:// URL.
    #[arg(
        long,
        env = "SGLCI_STORE",
        default_value = "./sglci-data",
        global = true
    )]
    pub store: String,

    #[command(subcommand)]
    pub command: CliCommand,
}

#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Ingest results into the history.
    Ingest(CliIngest),
    /// Write one history table to stdout.
    Export(CliExport),
    /// List the history tables with their row counts.
    Tables,
}

#[derive(Debug, clap::Args)]
pub struct CliIngest {
    /// Backfill a predecessor log tree (the layout of ../shared/fixtures/sglang-ci-log).
    #[arg(long, value_name = "DIR")]
    pub legacy: PathBuf,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct CliExport {
    /// Table: serving, accuracy, offline, sanity, sanity_models, pd, unit, image_check,
    /// upstream_coverage, tasks, runs, quarantine.
    pub table: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CliFormat::Csv)]
    pub format: CliFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CliFormat {
    Csv,
    Json,
    Parquet,
}
