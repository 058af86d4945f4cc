//! sglci-runner's library: what the `sglci-runner` binary does, as functions the tests call.
//! `main.rs` only parses the command line, calls [`commands::dispatch`] and exits with
//! [`error::RunnerError::exit_code`].
//!
//! - [`cli`]: the command line (clap derive, no logic); [`commands`]: one function per command;
//!   [`error`]: `RunnerError` and its exit codes; [`host`]: this host's name, progress lines,
//!   Docker Hub reads, the stop on SIGTERM.
//! - [`ab`]: `sglci-runner ab`, interleaved A/B rounds of whole runs and their paired
//!   comparison record ([`ab::stats`], pure).
//! - [`run`]: `sglci-runner run`, the orchestration of a suite on this host: hardware, image and
//!   tag, plan, job selection, run id, preflight (idle GPUs, the image pulled, a run that cannot
//!   start still reporting), each job on its engine, the job summary, ship and exit code.
//! - [`job`]: the executors, one module per task kind (online, offline, sanity, PD, unit, image
//!   check), the shared server start and readiness (`job::server`), and the `JobOutcome` each
//!   writes as `results.json`.
//! - [`suite`]: suites as layered TOML (base, hardware, model, variant), validated with errors
//!   that name the file, the layer and the key; [`suites`]: the bundled suites (`suites/*.toml`).
//! - [`plan`]: a suite on one hardware resolved into jobs with their exact command lines and a
//!   typed `JobSpec` per kind; pure.
//! - [`engine`]: where a job's processes run (local process groups; a labelled container per
//!   job in [`docker`]); [`container`]: container specs (devices, groups, mounts, labels), pure.
//! - [`outputs`]: the timing summary and CSV in the predecessor's formats, pure; [`gsm8k`]: the
//!   gate rule and few-shot scoring, pure; [`gsm8k_client`]: the OpenAI-completions client.
//! - [`grid`]: offline grids from a file (`--grid`: the latency pipeline's `{bsz};{seq}` lines
//!   or TOML lists), pure.
//! - [`gpu`]: GPU load from rocm-smi, amd-smi and nvidia-smi output, and the idle verdict.
//! - [`identity`]: the run's image identity and run label from the reference, the host's GPUs,
//!   `docker inspect` and a probe inside the image; pure.
//! - [`image`]: tonight's image from Docker Hub (Pacific-time date, paging, stale fallback).
//! - [`report`]: progress for terminals and GitHub Actions (groups, annotations, job summary).
//! - [`ship`]: a run's files as a bundle to the store (manifest last) and its announcement on
//!   the queue; when either is unreachable, the bundle waits in a local spool until
//!   `sglci-runner flush` delivers it; [`destination`]: the store and queue from the flags.

pub mod ab;
pub mod cli;
pub mod commands;
pub mod container;
pub mod deploy;
pub mod destination;
pub mod docker;
pub mod engine;
pub mod error;
pub mod gpu;
pub mod grid;
pub mod gsm8k;
pub mod gsm8k_client;
pub mod host;
pub mod identity;
pub mod image;
pub mod job;
pub mod mconf;
pub mod nodes;
pub mod outputs;
pub mod plan;
pub mod profile;
pub mod reduced;
pub mod report;
pub mod run;
pub mod ship;
pub mod suite;
pub mod suites;
