//! sglci-publisher: turns benchmark files into a consolidated, queryable history.
//!
//! - [`legacy`]: backfill of the predecessor's log tree (pure classification, parsing and run
//!   grouping; a thin parallel directory scan).
//! - [`rows`]: typed rows of every table (backfill output, store contents, site input).
//! - [`table`]: typed tables ↔ polars frames, CSV and JSON.
//! - [`history`]: the Parquet history on the directory store.
//! - [`app`]: the commands (`ingest`, `export`, `tables`) over those pieces.
//! - [`site`]: the static site, plots and markdown (pure), [`serve`]: the local preview server.
//! - [`synth`]: synthetic histories for benchmarks.
//! - [`config`]: where the store lives (`--store`, `SGLCI_STORE`).

pub mod app;
pub mod benchmarks;
pub mod compare;
pub mod config;
pub mod history;
pub mod legacy;
pub mod notify;
pub mod regress;
pub mod rows;
pub mod serve;
pub mod site;
pub mod store;
pub mod synth;
pub mod table;
pub mod triage;
