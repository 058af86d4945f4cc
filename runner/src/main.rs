//! `sglci-runner`: the thin binary started on GPU hosts. It parses the command line, runs the
//! command through the library ([`sglci_runner::commands::dispatch`]) and exits with what the
//! outcome means: 0 ok, 1 the task failed, 2 usage or configuration error, 3 the machine or the
//! network failed (143 after SIGTERM, from the run's signal handler).

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser;
use sglci_runner::cli::Cli;
use sglci_runner::commands::dispatch;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RUNNER_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .init();
    match dispatch(Cli::parse()) {
        Ok(out) => {
            // A closed pipe (`| head`) is the reader's choice, not an error worth a panic.
            match std::io::stdout()
                .lock()
                .write_all(format!("{out}\n").as_bytes())
            {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    tracing::error!("writing to stdout: {e}");
                    ExitCode::from(3)
                }
                _ => ExitCode::SUCCESS,
            }
        }
        Err(err) => {
            tracing::error!("{err}");
            ExitCode::from(err.exit_code())
        }
    }
}
