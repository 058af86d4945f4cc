//! `sglci-publisher`: the CLI shell. Parses arguments, sets up logging to stderr, runs a command
//! and maps errors to exit codes (0 ok, 2 usage/config, 3 infrastructure).

#[path = "../cli.rs"]
mod cli;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use sglci_core::records::ALL_SCHEMAS;
use sglci_publisher::app::{self, Format};
use sglci_publisher::config::{parse_store, StoreLocation};
use sglci_publisher::history::DirHistory;

use cli::{Cli, CliCommand, CliFormat};

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PUBLISHER_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, err)) => {
            // A closed pipe (`export … | head`) is not an error.
            if err.chain().any(|e| {
                e.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            tracing::error!("{err:#}");
            ExitCode::from(code)
        }
    }
}

fn run(cli: Cli) -> Result<(), (u8, anyhow::Error)> {
    let StoreLocation::Dir(store) = parse_store(&cli.store).map_err(|e| (2, e.into()))?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match cli.command {
        CliCommand::Ingest(args) => {
            let started = std::time::Instant::now();
            let (backfill, report) =
                app::ingest_legacy(&store, &args.legacy).map_err(|e| (e.exit_code(), e.into()))?;
            tracing::info!(files = report.files, seconds = started.elapsed().as_secs_f64(), store = %store.display(), "legacy backfill written");
            let res = if args.json {
                serde_json::to_writer_pretty(&mut out, &report)
                    .map_err(std::io::Error::from)
                    .and_then(|()| writeln!(out))
            } else {
                app::write_report(&mut out, &report, &backfill)
            };
            res.map_err(|e| (3, e.into()))
        }
        CliCommand::Export(args) => {
            let table = app::resolve_table(&args.table).map_err(|e| (e.exit_code(), e.into()))?;
            let format = match args.format {
                CliFormat::Csv => Format::Csv,
                CliFormat::Json => Format::Json,
                CliFormat::Parquet => Format::Parquet,
            };
            app::export(&store, table, format, &mut out).map_err(|e| (e.exit_code(), e.into()))
        }
        CliCommand::Tables => {
            let hist = DirHistory::new(&store);
            for schema in ALL_SCHEMAS {
                let t = hist.read(*schema).map_err(|e| (3, e.into()))?;
                writeln!(out, "{:<20} {:>6}", schema.name, t.rows.len())
                    .map_err(|e| (3, e.into()))?;
            }
            Ok(())
        }
    }
}
