//! sglci-runner's library: what the `sglci-runner` binary does, as functions the tests call.
//!
//! - [`container`]: F3 container specs (devices, groups, mounts, sglci labels), pure;
//!   [`docker`]: the Docker engine through its API (bollard): start, exec with streamed logs,
//!   remove, and cleanup of sglci's own containers only.
//! - [`gpu`]: F2, GPU load from rocm-smi, amd-smi and nvidia-smi output, and the idle verdict.
//! - [`image`]: F1, tonight's image from Docker Hub (Pacific-time date, paging, stale fallback).
//! - [`suite`]: suites as layered TOML (base, hardware, model, variant), validated with errors
//!   that name the file and the key; [`suites`]: the bundled suites (`suites/*.toml`).
//! - [`plan`]: a suite on one hardware resolved into jobs with their exact command lines.
//! - [`report`]: F21 progress for terminals and GitHub Actions (groups, annotations, job summary).
//! - [`engine`]: where a job's processes run (the local-process engine; Docker in [`docker`]);
//!   [`execute`]: the online/smoke job executor (server, GSM8K gate, sweep, failure class,
//!   resume) writing the run folder; [`outputs`]: its timing summary and CSV, pure;
//!   [`gsm8k`]: the gate rule and the few-shot scoring, pure; [`gsm8k_client`]: the client.
//! - [`tasks`]: the unit test (F11), the nightly image check (F13), the sanity sweep (F9) and
//!   the offline grid (F7) as run tasks; [`pd`]: the prefill/decode disaggregation test (F10).
//! - [`ship`]: a run's files as a bundle to the store (manifest last) and its announcement on
//!   the queue; when either is unreachable, the bundle waits in a local spool until
//!   `sglci-runner flush` delivers it.

pub mod container;
pub mod docker;
pub mod engine;
pub mod execute;
pub mod gpu;
pub mod gsm8k;
pub mod gsm8k_client;
pub mod image;
pub mod outputs;
pub mod pd;
pub mod plan;
pub mod report;
pub mod ship;
pub mod suite;
pub mod suites;
pub mod tasks;
