//! The runner's integration tests, one binary (one link of the library and its dev-dependencies):
//! one module per area. `tests/smoke.rs` stays its own binary: it runs llama.cpp servers and the
//! real benchmark client, which must not share the machine's cores with other tests.

mod cli;
mod common;
mod docker;
mod gpu;
mod image;
mod nodes;
mod secrets;
mod ship;
mod suites;
mod tasks;
mod workflows;
