//! The bundled suites (`suites/*.toml` at the repository root), embedded so the binary needs no
//! checkout; `--suite FILE` reads any other file.

use std::path::Path;

use crate::cli::CliTailor;
use crate::error::RunnerError;
use crate::mconf::Mconf;
use crate::suite::{parse, Suite, SuiteError};

/// (name, text) of every bundled suite.
pub const BUNDLED: &[(&str, &str)] = &[
    (
        "deepseek-offline",
        include_str!("../../suites/deepseek-offline.toml"),
    ),
    (
        "deepseek-online",
        include_str!("../../suites/deepseek-online.toml"),
    ),
    (
        "grok-offline",
        include_str!("../../suites/grok-offline.toml"),
    ),
    ("grok-online", include_str!("../../suites/grok-online.toml")),
    ("h200-proof", include_str!("../../suites/h200-proof.toml")),
    ("image-check", include_str!("../../suites/image-check.toml")),
    ("latency", include_str!("../../suites/latency.toml")),
    ("pd", include_str!("../../suites/pd.toml")),
    ("sanity", include_str!("../../suites/sanity.toml")),
    ("smoke", include_str!("../../suites/smoke.toml")),
    ("smoke-pd", include_str!("../../suites/smoke-pd.toml")),
    (
        "smoke-sanity",
        include_str!("../../suites/smoke-sanity.toml"),
    ),
    ("unit", include_str!("../../suites/unit.toml")),
    ("upstream", include_str!("../../suites/upstream.toml")),
];

/// A bundled suite by name, or a suite file by path (anything with a `/` or a `.toml` suffix).
pub fn load(name_or_file: &str) -> Result<Suite, SuiteError> {
    crate::suite::load_named(name_or_file, BUNDLED, "suites", "--suite", "suite", parse)
}

/// [`load`], tailored by the command line: `--base FILE`, `--grid FILE`, `--deploy NAME` and
/// `--mconf <N>l` (its reduced models under `mconf_root`), in that order.
pub fn load_tailored(
    name_or_file: &str,
    tailor: &CliTailor,
    mconf_root: &Path,
) -> Result<Suite, RunnerError> {
    let mut suite = load(name_or_file)?;
    let read = |flag: &str, path: &Path| {
        std::fs::read_to_string(path)
            .map_err(|e| RunnerError::config(format!("{flag} {}", path.display()), e))
    };
    if let Some(path) = &tailor.base {
        suite = suite.with_base(&read("--base", path)?, &path.display().to_string())?;
    }
    if let Some(path) = &tailor.grid {
        let grid = crate::grid::parse(&read("--grid", path)?, &path.display().to_string())
            .map_err(|e| RunnerError::Config(e.to_string()))?;
        suite = suite.with_grid(grid)?;
    }
    if let Some(name) = &tailor.deploy {
        suite = suite.with_deploy(crate::deploy::load(name)?)?;
    }
    if let Mconf::Layers(n) = tailor.mconf {
        suite = suite.with_mconf(n, &mconf_root.display().to_string())?;
    }
    Ok(suite)
}
