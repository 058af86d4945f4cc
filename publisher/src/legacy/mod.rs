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

/// The deepest folder nesting a legacy tree may have (the real one has 7 levels); deeper
/// folders are quarantined, not walked.
pub const MAX_DEPTH: usize = 64;

/// What a walk of a legacy tree found.
#[derive(Debug, Default)]
pub struct Listing {
    /// Regular files, as sorted `/`-separated relative paths.
    pub files: Vec<String>,
    /// Entries that are not read, each with its reason: symbolic links, FIFOs, sockets and
    /// devices, names that are not UTF-8, folders that cannot be read or are nested too deep.
    pub odd: Vec<(String, String)>,
}

/// `rel` as a `/`-separated string, lossily.
fn rel_string(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .map(|rel| {
            rel.components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/")
        })
        .unwrap_or_default()
}

/// Why an entry of this type is not read (`None` for a regular file or a folder).
fn odd_type(ty: std::fs::FileType) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    if ty.is_file() || ty.is_dir() {
        None
    } else if ty.is_symlink() {
        Some("a symbolic link: not followed (hint: a log tree holds plain files)")
    } else if ty.is_fifo() {
        Some("a FIFO: not read (it could block the backfill forever)")
    } else if ty.is_socket() {
        Some("a socket: not read")
    } else if ty.is_block_device() || ty.is_char_device() {
        Some("a device: not read")
    } else {
        Some("not a regular file: not read")
    }
}

/// Walks `root`: every regular file, and every entry that is not read with its reason. Only a
/// root that is not a readable directory is an error; everything below it is reported.
pub fn list_files(root: &Path) -> Result<Listing, ScanError> {
    if !root.is_dir() {
        return Err(ScanError::NotADir {
            path: root.to_owned(),
        });
    }
    std::fs::read_dir(root).map_err(|source| ScanError::Walk {
        path: root.to_owned(),
        source,
    })?;
    let mut out = Listing::default();
    let mut stack = vec![(root.to_owned(), 0usize)];
    while let Some((dir, depth)) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) => {
                out.odd.push((
                    rel_string(root, &dir),
                    format!("a folder that cannot be read: {e}"),
                ));
                continue;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    out.odd.push((
                        rel_string(root, &dir),
                        format!("a folder entry that cannot be read: {e}"),
                    ));
                    continue;
                }
            };
            let path = entry.path();
            let rel = rel_string(root, &path);
            let ty = match entry.file_type() {
                Ok(t) => t,
                Err(e) => {
                    out.odd.push((rel, format!("cannot tell what it is: {e}")));
                    continue;
                }
            };
            if entry.file_name().to_str().is_none() {
                out.odd.push((
                    rel,
                    "a name that is not UTF-8: not read (hint: rename it)".into(),
                ));
            } else if let Some(why) = odd_type(ty) {
                out.odd.push((rel, why.to_owned()));
            } else if ty.is_dir() && depth + 1 >= MAX_DEPTH {
                out.odd.push((
                    rel,
                    format!("a folder nested deeper than {MAX_DEPTH} levels: not walked"),
                ));
            } else if ty.is_dir() {
                stack.push((path, depth + 1));
            } else {
                out.files.push(rel);
            }
        }
    }
    out.files.sort();
    out.odd.sort();
    Ok(out)
}

/// Reads and parses every file under `root`. A file that cannot be read is quarantined with the
/// I/O error as its reason, so nothing is lost silently.
pub fn scan(root: &Path) -> Result<Vec<FileResult>, ScanError> {
    let listing = list_files(root)?;
    let unread = |rel: &str, reason: String| {
        let mut r = parse_file(rel, &[]);
        r.outcome = Err(sglci_core::text::evidence(&reason, 400));
        r
    };
    let mut out: Vec<FileResult> = listing
        .files
        .par_iter()
        .map(|rel| match std::fs::read(root.join(rel)) {
            Ok(bytes) => parse_file(rel, &bytes),
            Err(e) => unread(rel, format!("cannot read the file: {e}")),
        })
        .collect();
    out.extend(
        listing
            .odd
            .iter()
            .map(|(rel, why)| unread(rel, why.clone())),
    );
    Ok(out)
}
