//! Writes `efficiency.json` into each online and offline run folder (F70): the model's shape
//! from its `config.json` (the reduced one for `--mconf`), the GPUs the job's arguments use and
//! the GEMMs' type, so the publisher can compute tokens/s per GPU and MFU. A model whose config
//! cannot be read (a GGUF file, a directory not mounted here) gets no file and a note.

use std::path::Path;

use sglci_core::efficiency::{Dtype, EfficiencyInput, ModelShape, EFFICIENCY_SCHEMA};

use crate::container::Mount;
use crate::host::say;
use crate::plan::{JobSpec, PlannedJob};

/// The job's main command line (the server's, or the first offline cell's).
fn main_argv(job: &PlannedJob) -> Option<&[String]> {
    match &job.spec {
        JobSpec::Online { server, .. } => Some(&server.argv),
        JobSpec::Offline { cells } => cells.first().map(|c| c.argv.as_slice()),
        _ => None,
    }
}

/// The efficiency record of `job` given its model's `config.json` text; pure.
pub fn input_for(job: &PlannedJob, config: &str, file: &str) -> Result<EfficiencyInput, String> {
    let argv = main_argv(job).ok_or("not an online or offline job")?;
    let model = ModelShape::parse(config, file).map_err(|e| e.to_string())?;
    let args = crate::deploy::args_of(argv);
    let quantization = args.get("--quantization").and_then(|v| v.as_str());
    let dtype = quantization
        .and_then(Dtype::from_quantization)
        .or(model.dtype)
        .unwrap_or(Dtype::Bf16);
    Ok(EfficiencyInput {
        schema: EFFICIENCY_SCHEMA,
        gpus: crate::deploy::parallel_gpus(&args),
        dtype,
        model,
    })
}

/// Writes the record into every job's run folder under `root` that exists.
pub fn write_all(jobs: &[&PlannedJob], root: &Path, model_config: Option<&Path>, mounts: &[Mount]) {
    for job in jobs {
        let (Some(folder), Some(_)) = (&job.run_folder, main_argv(job)) else {
            continue;
        };
        let folder = root.join(folder);
        if !folder.is_dir() {
            continue;
        }
        let config = match (model_config, &job.reduced, &job.model_path) {
            // A reduced model's own config: its layer count is what ran.
            (_, Some(r), _) => crate::reduced::host_path(&r.dir, mounts).join("config.json"),
            (Some(c), None, _) => c.to_owned(),
            (None, None, Some(p)) => crate::reduced::host_path(p, mounts).join("config.json"),
            (None, None, None) => continue,
        };
        let result = std::fs::read_to_string(&config)
            .map_err(|e| format!("{}: {e}", config.display()))
            .and_then(|text| input_for(job, &text, &config.display().to_string()));
        match result {
            Ok(input) => {
                let body = serde_json::to_string_pretty(&input).unwrap_or_default() + "\n";
                if let Err(e) = std::fs::write(folder.join("efficiency.json"), body) {
                    say(&format!("{}: efficiency.json not written: {e}", job.id));
                }
            }
            Err(e) => say(&format!(
                "{}: no efficiency figures (tokens/s per GPU, MFU): {e} (hint: --model-config FILE)",
                job.id
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/tests/data/models/{name}/config.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("config")
    }

    /// GPUs from the job's own flags (the deploy's), the type from `--quantization`, else the
    /// checkpoint's.
    #[test]
    fn the_record_follows_the_jobs_flags() {
        let deploy = crate::deploy::load("tp8ep8dp8").expect("bundled");
        let suite = crate::suites::load("deepseek-offline")
            .expect("bundled")
            .with_deploy(deploy)
            .expect("applies");
        let plan = crate::plan::plan(&suite, "mi30x", None).expect("plan");
        let e = input_for(&plan.jobs[0], &config("deepseek-v3"), "c").expect("record");
        assert_eq!((e.gpus, e.dtype), (8, Dtype::Fp8));
        assert_eq!(e.model.layers, 61);

        let suite = crate::suites::load("grok-offline").expect("bundled");
        let plan = crate::plan::plan(&suite, "mi30x", None).expect("plan");
        let e = input_for(&plan.jobs[0], &config("llama-3-8b"), "c").expect("record");
        // grok-offline says `--tp 8 --quantization fp8`; the Llama config says nothing.
        assert_eq!((e.gpus, e.dtype), (8, Dtype::Fp8));
        assert!(input_for(&plan.jobs[0], "{}", "c/config.json")
            .expect_err("no shape")
            .contains("c/config.json"));
    }
}
