//! [`RunnerError`]: every way a `sglci-runner` command can end badly, and the exit code each
//! means (0 ok, 1 the task failed, 2 usage or configuration, 3 the machine or the network).

use crate::docker::DockerError;
use crate::engine::EngineError;
use crate::image::ImageError;
use crate::ship::ShipError;
use crate::suite::SuiteError;

#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// A flag, a suite or an input file that cannot be used (exit 2).
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Suite(#[from] SuiteError),
    /// The task ran and failed: a job, an exec'd command, no image for the night (exit 1).
    #[error("{0}")]
    Failed(String),
    /// The machine failed before or around the task: busy GPUs, a pull that never succeeded,
    /// Docker Hub or the store unreachable, a bundle left in the spool (exit 3).
    #[error("{0}")]
    Machine(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Docker(#[from] DockerError),
    #[error(transparent)]
    Ship(#[from] ShipError),
    #[error("writing the output: {0}")]
    Output(#[from] std::io::Error),
}

impl RunnerError {
    /// A usage or configuration error about `what` (a flag, a file).
    pub fn config(what: impl std::fmt::Display, why: impl std::fmt::Display) -> Self {
        Self::Config(format!("{what}: {why}"))
    }

    /// The process exit code this error means.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Config(_) | Self::Suite(_) => 2,
            Self::Failed(_) => 1,
            Self::Machine(_)
            | Self::Engine(_)
            | Self::Docker(_)
            | Self::Ship(_)
            | Self::Output(_) => 3,
        }
    }

    /// Whether the machine failed (exit 3): what a run that cannot start reports per job.
    pub fn is_machine(&self) -> bool {
        self.exit_code() == 3
    }

    /// The same error with `more` said after it (the exit code is kept).
    #[must_use]
    pub fn and_then_say(self, more: &str) -> Self {
        let code = self.exit_code();
        let text = format!("{self}: {more}");
        match code {
            1 => Self::Failed(text),
            2 => Self::Config(text),
            _ => Self::Machine(text),
        }
    }
}

impl From<ImageError> for RunnerError {
    fn from(e: ImageError) -> Self {
        match e {
            ImageError::NotFound { .. } => Self::Failed(e.to_string()),
            _ => Self::Machine(e.to_string()),
        }
    }
}
