//! Writing a rendered site into a directory, in place.
//!
//! A full build used to remove the old site and create every file again; on a real file
//! system that cost more than rendering (1,200 unlinks and creates). Now the directory is
//! brought to the new site's content: a file whose bytes are already there is left alone,
//! changed and new files are written (on every core), files the new site lacks are removed.
//! The markers keep the old guarantee: the partial marker is written first and removed last,
//! the site marker only after the pages are on disk, so a build killed half-way leaves a
//! directory the next run renders whole again.
//!
//! Invariant: nothing is written through a symbolic link. The site never contains one, so
//! every link found in the directory is removed before anything is written.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{AppError, SITE_MARKER, SITE_PARTIAL};
use crate::site::RenderedSite;

fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> AppError {
    let path = path.to_owned();
    move |source| AppError::SiteIo { op, path, source }
}

/// What [`write_site`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DirWrite {
    /// Files written (new or changed).
    pub written: usize,
    /// Files left alone: their bytes were there already.
    pub unchanged: usize,
    /// Files removed: the new site does not have them (only with `replace`).
    pub removed: usize,
}

/// Writes `site` into `out`. With `replace` the directory ends up holding exactly the site
/// (files it lacks are removed), and `out` must be empty or hold an earlier sglci site (anything
/// else is refused, naming the directory). Without, only the given files are written.
pub fn write_site(out: &Path, site: &RenderedSite, replace: bool) -> Result<DirWrite, AppError> {
    let mut w = DirSiteWriter::begin(out, replace)?;
    w.part(site)?;
    w.finish()
}

/// [`write_site`] a part at a time: [`DirSiteWriter::begin`], a [`DirSiteWriter::part`] for
/// each part of the site (every file in one part), then [`DirSiteWriter::finish`].
#[derive(Debug)]
pub struct DirSiteWriter {
    out: PathBuf,
    replace: bool,
    /// The regular files found before the write.
    existing: BTreeSet<String>,
    /// The files of the parts written (only with `replace`: what stays).
    site: BTreeSet<String>,
    done: DirWrite,
}

impl DirSiteWriter {
    /// Checks `out` (see [`write_site`]) and marks it as being written.
    pub fn begin(out: &Path, replace: bool) -> Result<Self, AppError> {
        let mut existing = BTreeSet::new();
        if out.exists() {
            let marker = out.join(SITE_MARKER).exists() || out.join(SITE_PARTIAL).exists();
            let empty = std::fs::read_dir(out)
                .map_err(io("list", out))?
                .next()
                .is_none();
            if replace && !marker && !empty {
                return Err(AppError::NotASiteDir(out.to_owned()));
            }
            existing = regular_files(out)?;
        }
        std::fs::create_dir_all(out).map_err(io("create", out))?;
        let partial = out.join(SITE_PARTIAL);
        sglci_core::backend::write_durably(&partial, b"being written by sglci-publisher\n")
            .map_err(io("write", &partial))?;
        let _ = std::fs::remove_file(out.join(SITE_MARKER));
        Ok(Self {
            out: out.to_owned(),
            replace,
            existing,
            site: BTreeSet::new(),
            done: DirWrite::default(),
        })
    }

    /// Writes a part's files (on every core), leaving alone those whose bytes are there.
    pub fn part(&mut self, part: &RenderedSite) -> Result<(), AppError> {
        let (out, existing) = (&self.out, &self.existing);
        let changed: Vec<bool> = part
            .par_iter()
            .map(|(rel, bytes)| write_if_changed(out, rel, bytes, existing.contains(rel.as_str())))
            .collect::<Result<_, _>>()?;
        let written = changed.iter().filter(|c| **c).count();
        self.done.written += written;
        self.done.unchanged += part.len() - written;
        if self.replace {
            self.site.extend(part.keys().cloned());
        }
        Ok(())
    }

    /// Files written so far.
    pub fn written(&self) -> usize {
        self.done.written
    }

    /// Removes what the site lacks (with `replace`), syncs, and marks the site finished.
    pub fn finish(mut self) -> Result<DirWrite, AppError> {
        let out = &self.out;
        if self.replace {
            let stale: Vec<&String> = self
                .existing
                .iter()
                .filter(|rel| !self.site.contains(rel.as_str()))
                .filter(|rel| *rel != SITE_PARTIAL && *rel != SITE_MARKER)
                .collect();
            for rel in &stale {
                let path = out.join(rel);
                std::fs::remove_file(&path).map_err(io("remove", &path))?;
            }
            self.done.removed = stale.len();
            remove_empty_dirs(out)?;
        }
        // The pages on disk, then the marker last: only a site written whole carries it.
        sglci_core::backend::sync_filesystem(out).map_err(io("sync", out))?;
        let marker = out.join(SITE_MARKER);
        sglci_core::backend::write_durably(&marker, b"rendered by sglci-publisher site\n")
            .map_err(io("write", &marker))?;
        let partial = out.join(SITE_PARTIAL);
        std::fs::remove_file(&partial).map_err(io("remove", &partial))?;
        Ok(self.done)
    }
}

/// Writes one file unless it holds `bytes` already; whether it wrote.
fn write_if_changed(out: &Path, rel: &str, bytes: &[u8], exists: bool) -> Result<bool, AppError> {
    let path = out.join(rel);
    if exists {
        // Same length first: a changed page almost always changes size, and the read is saved.
        let same_len =
            std::fs::symlink_metadata(&path).is_ok_and(|m| m.len() == bytes.len() as u64);
        if same_len && std::fs::read(&path).is_ok_and(|old| old == bytes) {
            return Ok(false);
        }
    } else if let Ok(m) = std::fs::symlink_metadata(&path) {
        // A directory where the new site has a file (a page that was a folder before).
        if m.is_dir() {
            std::fs::remove_dir_all(&path).map_err(io("remove", &path))?;
        }
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io("create", dir))?;
    }
    std::fs::write(&path, bytes).map_err(io("write", &path))?;
    Ok(true)
}

/// The regular files under `root`, as `/`-separated relative paths. Symbolic links and other
/// non-regular entries are removed on the way (see the module's invariant).
fn regular_files(root: &Path) -> Result<BTreeSet<String>, AppError> {
    let mut files = BTreeSet::new();
    let mut dirs: Vec<PathBuf> = vec![root.to_owned()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).map_err(io("list", &dir))? {
            let entry = entry.map_err(io("list", &dir))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(io("list", &path))?;
            if kind.is_dir() {
                dirs.push(path);
            } else if kind.is_file() {
                if let Some(rel) = relative(root, &path) {
                    files.insert(rel);
                }
            } else {
                std::fs::remove_file(&path).map_err(io("remove", &path))?;
            }
        }
    }
    Ok(files)
}

fn relative(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let parts: Vec<&str> = rel
        .components()
        .map(|c| c.as_os_str().to_str())
        .collect::<Option<_>>()?;
    Some(parts.join("/"))
}

/// Removes the directories under `root` that hold nothing (left by removed pages).
fn remove_empty_dirs(root: &Path) -> Result<(), AppError> {
    fn walk(dir: &Path) -> Result<bool, AppError> {
        let mut empty = true;
        for entry in std::fs::read_dir(dir).map_err(io("list", dir))? {
            let entry = entry.map_err(io("list", dir))?;
            let path = entry.path();
            if entry.file_type().map_err(io("list", &path))?.is_dir() && walk(&path)? {
                std::fs::remove_dir(&path).map_err(io("remove", &path))?;
            } else {
                empty = false;
            }
        }
        Ok(empty)
    }
    walk(root).map(|_| ())
}
