//! Backfill of a predecessor log tree (`sglci-publisher ingest --legacy DIR`).
//!
//! [`classify`], [`parse_file`] and [`build`] are pure; [`scan`] is the thin shell that walks the
//! directory and reads bytes (in parallel: parsing is CPU-bound and the tree is ~140 MB).

pub mod build;
pub mod classify;
pub mod parse_file;
pub mod plausible;

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use thiserror::Error;

pub use build::{build, Backfill};
pub use parse_file::{parse_file, FileResult};

#[derive(Debug, Error)]
pub enum ScanError {
    #[error("cannot read the legacy tree at {path}: {source}")]
    Walk {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a directory (hint: pass the root of a predecessor log tree, e.g. ../shared/fixtures/sglang-ci-log)")]
    NotADir { path: PathBuf },
}

/// All regular files under `root`, as sorted `/`-separated relative paths.
pub fn list_files(root: &Path) -> Result<Vec<String>, ScanError> {
    if !root.is_dir() {
        return Err(ScanError::NotADir {
            path: root.to_owned(),
        });
    }
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|source| ScanError::Walk {
            path: dir.clone(),
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| ScanError::Walk {
                path: dir.clone(),
                source,
            })?;
            let ty = entry.file_type().map_err(|source| ScanError::Walk {
                path: entry.path(),
                source,
            })?;
            let path = entry.path();
            if ty.is_dir() {
                stack.push(path);
            } else if ty.is_file() {
                if let Ok(rel) = path.strip_prefix(root) {
                    let rel: Vec<String> = rel
                        .components()
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .collect();
                    out.push(rel.join("/"));
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Reads and parses every file under `root`. A file that cannot be read is quarantined with the
/// I/O error as its reason, so nothing is lost silently.
pub fn scan(root: &Path) -> Result<Vec<FileResult>, ScanError> {
    let files = list_files(root)?;
    Ok(files
        .par_iter()
        .map(|rel| match std::fs::read(root.join(rel)) {
            Ok(bytes) => parse_file(rel, &bytes),
            Err(e) => {
                let mut r = parse_file(rel, &[]);
                r.outcome = Err(format!("cannot read the file: {e}"));
                r
            }
        })
        .collect())
}
