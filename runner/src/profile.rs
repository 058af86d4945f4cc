//! Profiling (F22), pure: `--profile prefill|decode|both` on offline runs and
//! `--profile-load L` on online runs turn on the torch profiler for what they name, with the
//! traces written under the job's run folder (`<run folder>/profile/`), so they ship with the
//! bundle and the publisher can read them.
//!
//! - Offline: every `bench_one_batch` cell gets `--profile --profile-stage prefill|decode|all`;
//!   the traces are `profile_batch<B>_input<I>_output<O>_<stage>.trace.json.gz`.
//! - Online: the sweep point at load L gets bench_serving's `--profile`, which asks the server
//!   for `/start_profile` and `/stop_profile` around that load's requests.
//! - Both: `SGLANG_TORCH_PROFILER_DIR` in the job's environment (the server's, for online).

use std::path::Path;

use crate::plan::{JobSpec, Plan};

/// `--profile`: what of each offline cell is traced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Prefill,
    Decode,
    Both,
}

impl Stage {
    /// bench_one_batch's `--profile-stage` value.
    fn flag(self) -> &'static str {
        match self {
            Self::Prefill => "prefill",
            Self::Decode => "decode",
            Self::Both => "all",
        }
    }
}

/// The environment variable SGLang writes its traces under.
pub const PROFILER_DIR: &str = "SGLANG_TORCH_PROFILER_DIR";

/// Turns profiling on in `plan`'s jobs, their traces under `root` (the run's log tree, absolute:
/// the same path on the host and in a job's container). An error names the flag and says why.
pub fn apply(
    plan: &mut Plan,
    stage: Option<Stage>,
    load: Option<f64>,
    root: &Path,
) -> Result<(), String> {
    if stage.is_none() && load.is_none() {
        return Ok(());
    }
    for job in &mut plan.jobs {
        let Some(folder) = &job.run_folder else {
            continue;
        };
        let dir = root.join(folder).join("profile").display().to_string();
        match (&mut job.spec, stage, load) {
            (JobSpec::Offline { cells }, Some(stage), None) => {
                for c in cells {
                    c.argv.extend([
                        "--profile".to_owned(),
                        "--profile-stage".to_owned(),
                        stage.flag().to_owned(),
                    ]);
                }
            }
            (JobSpec::Online { sweep, .. }, None, Some(load)) => {
                let Some(point) = sweep.iter_mut().find(|p| p.value == load) else {
                    let values: Vec<String> = sweep.iter().map(|p| p.value.to_string()).collect();
                    return Err(format!(
                        "--profile-load {load}: {} has no such load (hint: one of {})",
                        job.id,
                        values.join(", ")
                    ));
                };
                point.argv.push("--profile".to_owned());
            }
            (JobSpec::Offline { .. }, None, Some(_)) => {
                return Err(format!(
                    "--profile-load: {} is offline (hint: --profile prefill|decode|both)",
                    job.id
                ))
            }
            (JobSpec::Online { .. }, Some(_), _) => {
                return Err(format!(
                "--profile: {} is online (hint: --profile-load L profiles one load of the sweep)",
                job.id
            ))
            }
            (_, Some(_), Some(_)) => {
                return Err(
                    "--profile is for offline suites, --profile-load for online ones: give one"
                        .to_owned(),
                )
            }
            _ => {
                return Err(format!(
                    "{}: profiling is for online and offline suites",
                    job.id
                ))
            }
        }
        job.env.insert(PROFILER_DIR.to_owned(), dir);
    }
    Ok(())
}
