//! The raw logs the log repository receives: every verified bundle's files at their paths in the
//! log layout. A bundle is untrusted: it may write only into its own run's folders (a layout
//! root, its hardware, its date; never a dot segment, never another bundle's file), and a bundle
//! that asks for more is skipped whole, with its reason, while the others are published.

use std::collections::BTreeMap;

use sglci_core::bundle::{fetch_within, BundleLimits, Manifest};
use sglci_core::store::ObjectStore;

use super::AppError;

/// The log layout's top folders a bundle may write under.
pub const LOG_ROOTS: [&str; 5] = [
    "online_benchmark_log",
    "offline_benchmark_log",
    "test",
    "cron_log",
    "upstream_ci",
];

/// The longest path a bundle may publish.
const MAX_PATH: usize = 400;

/// What the log repository receives.
#[derive(Debug, Default)]
pub struct LogFiles {
    /// (path in the log layout, bytes), sorted, each path once.
    pub files: Vec<(String, Vec<u8>)>,
    /// Run ids published.
    pub runs: Vec<String>,
    /// (manifest key, reason): bundles not published.
    pub skipped: Vec<(String, String)>,
}

/// Whether a bundle may write `path`: relative, plain segments (none empty, none starting with
/// `.`, so no `.git`, `.github` or `..`), under a layout root, in a folder naming the bundle's
/// hardware (upstream CI reports excepted: they are not per hardware) and, in some segment
/// below the root, its date (the run folder: `<tag>_..._online`, `cron_log/<hw>/
/// <date>`, `<tag>.log`). Pure.
pub fn bundle_may_write(m: &Manifest, path: &str) -> Result<(), String> {
    let segments: Vec<&str> = path.split('/').collect();
    if path.len() > MAX_PATH {
        return Err(format!(
            "a path of {} bytes (at most {MAX_PATH})",
            path.len()
        ));
    }
    if let Some(bad) = segments.iter().find(|s| {
        s.is_empty() || s.starts_with('.') || s.chars().any(|c| c.is_control() || c == '\\')
    }) {
        return Err(format!(
            "path {:?}: segment {:?} is empty, hidden or has control characters",
            sglci_core::text::evidence(path, 120),
            sglci_core::text::evidence(bad, 60)
        ));
    }
    if !LOG_ROOTS.contains(&segments[0]) {
        return Err(format!(
            "path {:?} is outside the log layout (roots: {})",
            sglci_core::text::evidence(path, 120),
            LOG_ROOTS.join(", ")
        ));
    }
    let (dirs, name) = segments.split_at(segments.len() - 1);
    // Upstream CI reports are not per hardware (`upstream_ci/ci_report/…_<date>.csv`).
    if segments[0] != "upstream_ci" && !dirs.contains(&m.hardware.as_str()) {
        return Err(format!(
            "path {:?} is not under the bundle's hardware folder `{}`",
            sglci_core::text::evidence(path, 120),
            m.hardware
        ));
    }
    if !dirs.iter().chain(name).skip(1).any(|s| s.contains(&m.date)) {
        return Err(format!(
            "path {:?} is not in a folder of the bundle's night {}",
            sglci_core::text::evidence(path, 120),
            m.date
        ));
    }
    Ok(())
}

/// Collects the files of every verified bundle in the store. A bundle that fails verification,
/// writes outside its folders, or would change a file another bundle already supplied is
/// skipped whole with its reason.
pub fn log_files(store: &dyn ObjectStore, limits: &BundleLimits) -> Result<LogFiles, AppError> {
    let mut out = LogFiles::default();
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for key in store.list("runs/")? {
        if !key.as_str().ends_with("/manifest.json") {
            continue;
        }
        let verdict = fetch_within(store, &key, limits)
            .map_err(|e| e.to_string())
            .and_then(|(m, fs)| {
                for (path, bytes) in &fs {
                    bundle_may_write(&m, path)?;
                    if files.get(path).is_some_and(|b| b != bytes) {
                        return Err(format!(
                            "{path} differs from the same file of an earlier bundle (never overwritten)"
                        ));
                    }
                }
                Ok((m, fs))
            });
        match verdict {
            Ok((m, fs)) => {
                out.runs.push(m.run_id);
                files.extend(fs);
            }
            Err(reason) => {
                let reason = sglci_core::text::evidence(&reason, 400);
                tracing::warn!(manifest = %key, %reason, "bundle not published");
                out.skipped.push((key.to_string(), reason));
            }
        }
    }
    out.files = files.into_iter().collect();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        sglci_core::bundle::manifest_for("r1", "mi30x", "20251210", "img", "s", &[])
    }

    #[test]
    fn a_bundle_writes_only_into_its_own_run_folders() {
        let m = manifest();
        for ok in [
            "online_benchmark_log/mi30x/GROK1/v0.5.6-rocm700-mi30x-20251210_GROK1_online/client.log",
            "cron_log/mi30x/20251210/docker_image_check.log",
            "test/sanity_check_log/mi30x/v0.5.6-rocm700-mi30x-20251210/timing_summary.log",
            "test/unit-test-backend-8-gpu-CAR-amd/mi30x/v0.5.6-rocm700-mi30x-20251210.log",
            "upstream_ci/ci_report/sglang_ci_report_20251210.csv",
        ] {
            assert_eq!(bundle_may_write(&m, ok), Ok(()), "{ok}");
        }
        for bad in [
            ".github/workflows/x.yml",
            "README.md",
            "online_benchmark_log/mi30x/.git/config",
            "online_benchmark_log/mi30x/GROK1/../../README.md",
            "online_benchmark_log/mi35x/GROK1/v0.5.6-rocm700-mi35x-20251210_GROK1_online/a.log",
            "online_benchmark_log/mi30x/GROK1/v0.5.6-rocm700-mi30x-20251206_GROK1_online/a.log",
            "online_benchmark_log//mi30x/20251210/a.log",
            "cron_log/mi30x/20251210/a\nb.log",
            "upstream_ci/ci_report/sglang_ci_report_20251115.csv",
            "mi30x/20251210/a.log",
        ] {
            assert!(bundle_may_write(&m, bad).is_err(), "{bad:?}");
        }
    }
}
