//! Writes the reduced models `--mconf <N>l` names (the shell of [`crate::mconf`]): each job's
//! directory gets the model's `config.json` with N layers, `sglci-mconf.json` (what changed),
//! and a link to every other file of the model's directory except the weights (tokenizer files,
//! `generation_config.json`, the Python files `--trust-remote-code` imports).
//!
//! The links point at the model's path as the job sees it (inside the container), so they
//! resolve there; the runner reads the model's directory through the `--mount` that holds it.

use std::path::{Path, PathBuf};

use crate::container::Mount;
use crate::error::RunnerError;
use crate::mconf::{self, Reduced};
use crate::plan::PlannedJob;
use crate::suite::ReducedModel;

/// Where `path` (as a job sees it) is on this host, through the mount that holds it.
pub fn host_path(path: &str, mounts: &[Mount]) -> PathBuf {
    mounts
        .iter()
        .filter_map(|m| {
            let rest = path.strip_prefix(m.container.trim_end_matches('/'))?;
            (rest.is_empty() || rest.starts_with('/')).then(|| format!("{}{rest}", m.host))
        })
        .max_by_key(String::len)
        .map_or_else(|| PathBuf::from(path), PathBuf::from)
}

/// Writes every reduced model of `jobs`; returns what each reduction changed, by job id.
pub fn write_all(
    jobs: &[&PlannedJob],
    model_config: Option<&Path>,
    mounts: &[Mount],
) -> Result<Vec<(String, Reduced)>, RunnerError> {
    let mut out = Vec::new();
    for job in jobs {
        if let Some(r) = &job.reduced {
            out.push((job.id.clone(), write(r, model_config, mounts)?));
        }
    }
    Ok(out)
}

/// Writes one reduced model's directory.
pub fn write(
    r: &ReducedModel,
    model_config: Option<&Path>,
    mounts: &[Mount],
) -> Result<Reduced, RunnerError> {
    let source = host_path(&r.source, mounts);
    let config = model_config.map_or_else(|| source.join("config.json"), Path::to_owned);
    let text = std::fs::read_to_string(&config).map_err(|e| {
        RunnerError::config(
            format!("--mconf {}l: {}", r.layers, config.display()),
            format!("{e} (hint: --model-config FILE gives the model's config.json when its directory is not readable here)"),
        )
    })?;
    let reduced = mconf::reduce(&text, r.layers, &config.display().to_string())
        .map_err(|e| RunnerError::config("--mconf", e))?;
    let dir = host_path(&r.dir, mounts);
    let io = |what: &Path, e: std::io::Error| {
        RunnerError::Machine(format!("--mconf: writing {}: {e}", what.display()))
    };
    std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
    let record = serde_json::to_string_pretty(&reduced).unwrap_or_default() + "\n";
    for (name, body) in [
        ("config.json", &reduced.text),
        ("sglci-mconf.json", &record),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, body).map_err(|e| io(&path, e))?;
    }
    if let Ok(entries) = std::fs::read_dir(&source) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if mconf::not_linked(&name) || name.starts_with('.') || name == "sglci-mconf.json" {
                continue;
            }
            let link = dir.join(&name);
            let _ = std::fs::remove_file(&link);
            let target = format!("{}/{name}", r.source.trim_end_matches('/'));
            std::os::unix::fs::symlink(&target, &link).map_err(|e| io(&link, e))?;
        }
    }
    Ok(reduced)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_container_path_maps_through_the_longest_mount() {
        let m = |h: &str, c: &str| Mount {
            host: h.to_owned(),
            container: c.to_owned(),
            read_only: true,
        };
        let mounts = [m("/raid", "/models"), m("/fast/ds", "/models/ds")];
        assert_eq!(
            host_path("/models/ds/v3", &mounts),
            PathBuf::from("/fast/ds/v3")
        );
        assert_eq!(
            host_path("/models/grok", &mounts),
            PathBuf::from("/raid/grok")
        );
        assert_eq!(
            host_path("/modelsx/a", &mounts),
            PathBuf::from("/modelsx/a")
        );
    }
}
