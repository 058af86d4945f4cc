//! sglci-publisher: turns benchmark files into a consolidated, queryable history.
//!
//! - [`legacy`]: backfill of the predecessor's log tree (pure classification, parsing and run
//!   grouping; a thin parallel directory scan).
//! - [`rows`]: typed rows of every table (backfill output, store contents, site input).
//! - [`table`]: typed tables ↔ polars frames, CSV and JSON.
//! - [`history`]: the Parquet history in the object store, with its index of commits.
//! - [`app`]: the commands (`ingest`, `export`, `tables`) over those pieces.
//! - [`site`]: the static site, plots and markdown (pure), [`serve`]: the local preview server.
//! - [`synth`]: synthetic histories for benchmarks.
//! - [`config`]: where the store, queue and site live (flags and `SGLCI_*`).
//! - [`lambda`]: the SQS event handler of `sglci-publisher-lambda` (the same batch handler as
//!   `ingest --pending`).

pub mod app;
pub mod benchmarks;
pub mod compare;
pub mod config;
pub mod gitpub;
pub mod history;
pub mod lambda;
pub mod legacy;
pub mod notify;
pub mod regress;
pub mod rows;
pub mod serve;
pub mod site;
pub mod synth;
pub mod table;
pub mod triage;
