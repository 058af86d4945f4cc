//! sglci-publisher: turns benchmark files into a consolidated, queryable history.
//!
//! - [`legacy`]: backfill of the predecessor's log tree (pure classification, parsing and run
//!   grouping; a thin parallel directory scan).
//! - [`rows`]: typed rows of every table (backfill output, store contents, site input).
//! - [`table`]: typed tables ↔ polars frames, CSV and JSON.
//! - [`history`]: the Parquet history in the object store, with its index of commits.
//! - [`app`]: the commands over those pieces, one module per command family (ingest and the
//!   batch handler, derive, site I/O, export, reports, notify).
//! - [`site`]: the static site, plots and markdown (pure), [`serve`]: the local preview server.
//! - [`regress`]: regression detection (pure); [`compare`]: two runs side by side (pure);
//!   [`markdown`]: escaping log text for markdown.
//! - [`synth`]: synthetic histories for benchmarks.
//! - [`benchmark_record`]: the PyTorch OSS benchmark database's record format (`export --format
//!   pytorch`); [`failure_stats`]: failure classes per hardware and ISO week (pure).
//! - [`config`]: where the store, queue and site live (flags and `SGLCI_*`).
//! - [`lambda`]: the SQS event handler of `sglci-publisher-lambda` (the same batch handler as
//!   `ingest --pending`).

pub mod app;
pub mod benchmark_record;
pub mod benchmarks;
pub mod compare;
pub mod config;
pub mod failure_stats;
pub mod gitpub;
pub mod history;
pub mod lambda;
pub mod legacy;
pub mod markdown;
pub mod notify;
pub mod regress;
pub mod rows;
pub mod serve;
pub mod site;
pub mod synth;
pub mod table;
pub mod triage;
