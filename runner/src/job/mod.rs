//! The job executors behind `sglci-runner run`, one module per task kind, and what they share.
//!
//! - [`online`]: online and smoke jobs (server, GSM8K gate, serving sweep with best-of-runs,
//!   resume); [`offline`]: `bench_one_batch` grids; [`sanity`]: the sanity sweep over models;
//!   [`pd`]: prefill/decode disaggregation behind the router; [`unit`]: the unit test;
//!   [`image_check`]: are tonight's images on Docker Hub.
//! - [`server`]: starting a logged service and waiting until it answers, for every kind that
//!   starts one (online, sanity, PD's workers and router), and classifying its death.
//! - Here: the [`Context`] a job runs in, its [`JobOutcome`] (`results.json`) with its one
//!   constructor, and the log-file helpers.
//!
//! Each executor writes the predecessor's log layout so the publisher reads a runner bundle with
//! the legacy parsers. Everything that touches processes goes through an [`Engine`]; the clock
//! is a parameter. `Err` from an executor is an infrastructure failure of the engine itself;
//! every failure of the software under test is a failed [`JobOutcome`] with class and evidence.

pub mod image_check;
pub mod offline;
pub mod online;
pub mod pd;
pub mod sanity;
pub mod server;
pub mod unit;

use std::path::{Path, PathBuf};

use serde::Serialize;
use sglci_core::failure::{Evidence, FailureClass};
use sglci_core::ImageTag;

use crate::engine::{Engine, EngineError};
use crate::gsm8k::Gate;
use crate::plan::{PlannedJob, RUNNER};

pub use online::LoadOutcome;

/// Bumped when `results.json` changes meaning.
pub const RESULTS_SCHEMA: u32 = 1;

/// What a run needs besides the job.
pub struct Context<'a> {
    pub run_id: String,
    pub suite: String,
    pub tag: ImageTag,
    /// The root of the log layout (`online_benchmark_log/...` is created under it).
    pub root: PathBuf,
    pub hostname: String,
    /// The command line, for the timing summary (redacted before shipping).
    pub command: String,
    /// The running binary, for `{runner}` in planned commands.
    pub runner_exe: String,
    /// Reuse the run folder: only missing loads run again (F17).
    pub resume: bool,
    /// Unix seconds.
    pub clock: &'a dyn Fn() -> i64,
    /// Progress for humans (a terminal line or a GitHub Actions log line).
    pub progress: &'a mut dyn FnMut(Progress<'_>),
}

impl Context<'_> {
    /// A planned command with `{runner}` replaced by this binary (its builtin GSM8K client).
    pub fn resolve(&self, argv: &[String]) -> Vec<String> {
        argv.iter()
            .map(|a| {
                if a == RUNNER {
                    self.runner_exe.clone()
                } else {
                    a.clone()
                }
            })
            .collect()
    }
}

impl std::fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("run_id", &self.run_id)
            .field("suite", &self.suite)
            .field("tag", &self.tag)
            .field("root", &self.root)
            .field("resume", &self.resume)
            .finish_non_exhaustive()
    }
}

/// A step worth telling the person watching.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    Step(&'a str),
    Point {
        done: usize,
        total: usize,
        label: &'a str,
    },
}

/// pass or fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Fail,
}

/// A job's typed result (`results.json` in the run folder).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobOutcome {
    pub schema: u32,
    pub run_id: String,
    pub suite: String,
    pub job: String,
    pub image: String,
    pub hardware: String,
    pub host: String,
    pub run_folder: String,
    pub started_at: String,
    pub ended_at: String,
    pub status: Status,
    pub reason: String,
    pub failure: Option<Evidence>,
    pub gsm8k: Option<Gate>,
    pub threshold: Option<f64>,
    pub loads: Vec<LoadOutcome>,
    pub resumed: bool,
}

impl JobOutcome {
    /// The one constructor: which job, who ran it where and when, where its files are, and how
    /// it ended (`stopped` is its failure; without one it passed, for `pass_reason`). Executors
    /// that record more (the gate, the loads) fill those fields in afterwards.
    pub fn new(
        job: &str,
        origin: &Origin,
        image: &str,
        folder: &str,
        (started, ended): (i64, i64),
        stopped: Option<Stop>,
        pass_reason: String,
    ) -> Self {
        Self {
            schema: RESULTS_SCHEMA,
            run_id: origin.run_id.clone(),
            suite: origin.suite.clone(),
            job: job.to_owned(),
            image: image.to_owned(),
            hardware: origin.hardware.clone(),
            host: origin.host.clone(),
            run_folder: folder.to_owned(),
            started_at: sglci_core::date::utc_datetime(started),
            ended_at: sglci_core::date::utc_datetime(ended),
            status: if stopped.is_some() {
                Status::Fail
            } else {
                Status::Pass
            },
            reason: stopped.as_ref().map_or(pass_reason, |s| s.reason.clone()),
            failure: stopped.map(|s| s.evidence),
            gsm8k: None,
            threshold: None,
            loads: Vec::new(),
            resumed: false,
        }
    }

    pub fn failed(&self) -> bool {
        self.status == Status::Fail
    }

    /// Writes the outcome as `results.json` into `folder`.
    pub(crate) fn save(&self, folder: &Path) -> Result<(), EngineError> {
        write(
            &folder.join("results.json"),
            &serde_json::to_string_pretty(self).unwrap_or_default(),
        )
    }
}

/// Why a job stopped early.
#[derive(Debug, Clone)]
pub struct Stop {
    pub reason: String,
    pub evidence: Evidence,
}

pub(crate) fn stop(
    reason: impl Into<String>,
    class: FailureClass,
    line: impl Into<String>,
) -> Stop {
    Stop {
        reason: reason.into(),
        evidence: Evidence {
            class,
            line: sglci_core::redact::redact(&line.into()),
        },
    }
}

/// Moves `path` aside as `<path>.backup_<UTC time>`: an earlier run's output is never
/// overwritten.
pub(crate) fn keep_as_backup(path: &Path, now: i64) -> Result<(), EngineError> {
    let mut backup = path.as_os_str().to_owned();
    backup.push(format!(".backup_{}", sglci_core::date::utc_stamp(now)));
    std::fs::rename(path, &backup).map_err(|source| EngineError::Log {
        path: path.to_owned(),
        source,
    })
}

/// Who ran a task, where and when (what a [`JobOutcome`] records besides the result).
#[derive(Debug, Clone)]
pub struct Origin {
    pub run_id: String,
    pub suite: String,
    pub host: String,
    pub hardware: String,
}

impl Origin {
    /// The run a job context belongs to.
    pub fn of(ctx: &Context<'_>) -> Self {
        Self {
            run_id: ctx.run_id.clone(),
            suite: ctx.suite.clone(),
            host: ctx.hostname.clone(),
            hardware: ctx.tag.hardware().to_string(),
        }
    }
}

pub(crate) fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_default()
}

pub(crate) fn append(path: &Path, text: &str) -> Result<(), EngineError> {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|source| EngineError::Log {
            path: path.to_owned(),
            source,
        })
}

pub(crate) fn write(path: &Path, text: &str) -> Result<(), EngineError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|source| EngineError::Log {
            path: path.to_owned(),
            source,
        })
}

fn log_error(path: &std::path::Path, source: std::io::Error) -> EngineError {
    EngineError::Log {
        path: path.to_owned(),
        source,
    }
}

/// Makes the engine a job runs on (each sanity model gets a fresh one).
pub type EngineFor<'a> = dyn FnMut(&PlannedJob) -> Result<Box<dyn Engine>, EngineError> + 'a;
