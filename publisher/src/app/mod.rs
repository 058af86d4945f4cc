//! The publisher's commands over the pure core and the history in the object store, one module
//! per command family; the binaries and the Lambda call them through the re-exports here.
//!
//! - [`ingest`]: `ingest --legacy` (backfill), and the shared batch handler behind
//!   `ingest --pending` and the Lambda: verify each announced bundle, commit it as its own
//!   partition, record failures under `quarantine/`, then derive.
//! - [`derive`]: the derived state after a commit (regression findings, the site's touched
//!   pages), recomputed until it saw every commit (the index's `derived` generation, written
//!   through [`History`](crate::history::History)).
//! - [`site_io`]: which history months a site render needs, rendering, and writing the site
//!   into a directory or a store prefix.
//! - [`site_parts`]: a whole site rendered a year of the history at a time (a first site's
//!   memory bounded by a year's rows, not the history's).
//! - [`site_manifest`]: a store site's manifest (every file's git blob id), split by year so that
//!   a publish reads and writes what one night touches.
//! - [`export`]: a history table as CSV, JSON or Parquet.
//! - [`reports`]: the daily summary, the regressions report and `compare`.
//! - [`logs`]: the raw logs the log repository receives, each bundle confined to its own run
//!   folders.
//! - [`effects`]: the outbox of effects committed runs call for (log repository, Pages, cards,
//!   regression issues), each carried out once.
//! - [`notify`]: notifications (summary, cards, regressions, comparison) and the triage file.

mod derive;
pub mod effects;
mod export;
mod ingest;
mod logs;
mod notify;
mod reports;
mod site_dir;
mod site_io;
mod site_manifest;
pub mod site_packs;
mod site_parts;

pub use derive::*;
pub use export::*;
pub use ingest::*;
pub use logs::*;
pub use notify::*;
pub use reports::*;
pub use site_io::*;
pub use site_manifest::*;
pub use site_parts::*;

use sglci_core::queue::QueueError;
use sglci_core::store::StoreError;

use crate::history::HistoryError;
use crate::legacy::ScanError;
use crate::rows::DataError;
use crate::site::templates::TemplateError;
use crate::site::SiteError;
use crate::table::TableError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Scan(#[from] ScanError),
    #[error(transparent)]
    History(#[from] HistoryError),
    #[error(transparent)]
    Table(#[from] TableError),
    #[error("unknown table `{0}` (hint: one of {1})")]
    UnknownTable(String, String),
    #[error("writing the output: {0}")]
    Output(#[from] std::io::Error),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Site(#[from] SiteError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("{0}")]
    NoSuchNight(String),
    #[error(transparent)]
    Compare(#[from] crate::compare::CompareError),
    #[error(transparent)]
    Notify(#[from] crate::notify::NotifyError),
    #[error("{0}")]
    NotifyUsage(String),
    #[error("{0}")]
    ExportUsage(String),
    #[error(transparent)]
    Triage(#[from] crate::triage::TriageError),
    #[error("refusing to write the site into {0}: it is not empty and was not made by sglci (hint: choose an empty or new directory)")]
    NotASiteDir(std::path::PathBuf),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error("refusing to write the site under `{0}` in the store: it holds objects that sglci did not render (hint: choose another prefix)")]
    NotASitePrefix(String),
    #[error(transparent)]
    Effect(#[from] effects::EffectError),
    #[error("{op} {path}: {source}")]
    SiteIo {
        op: &'static str,
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

impl AppError {
    /// Exit code: 2 for usage errors, 3 for infrastructure (store, disk).
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::UnknownTable(..)
            | Self::NotASiteDir(_)
            | Self::NotASitePrefix(_)
            | Self::Template(_)
            | Self::NoSuchNight(_)
            | Self::Compare(_)
            | Self::NotifyUsage(_)
            | Self::ExportUsage(_)
            | Self::Triage(_)
            | Self::Notify(crate::notify::NotifyError::Config(_))
            | Self::Effect(effects::EffectError::Config(_)) => 2,
            Self::Scan(ScanError::NotADir { .. }) => 2,
            _ => 3,
        }
    }
}
