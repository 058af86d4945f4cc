//! The publisher's integration tests, one binary (one link of polars and the AWS SDK instead of
//! one per file): one module per area.

mod architecture;
mod backfill;
mod browser;
mod bundles;
mod cli;
mod cloud;
mod common;
mod compare;
mod corpus;
mod effects;
mod gitpub;
mod hardening;
mod notify;
mod plots;
mod regressions;
mod site;
mod workflows;
