//! The repository a push works in: a cached one (kept between pushes, locked while in use), a
//! scratch one, and a fresh one planted from the branch's seed; a git failure in a cached or
//! seeded repository is made again in a scratch one.

use std::path::Path;

use git2::{Oid, Repository};

use super::{git, redact_remote, seed, Dest, GitCache, GitError, SeedStore};

/// The repository a push works in. Fields drop in order: the repository, then what holds its
/// place (the scratch directory, removed; or the cache's lock, released).
struct Workspace {
    repo: Repository,
    hold: Hold,
    /// It started from a seed (it lacks the branch's older blobs).
    seeded: bool,
}

/// Runs `work` in `dest`'s workspace. A git failure in a cached or seeded repository is tried
/// again in a scratch one without a seed (a seed that does not fit, say because the branch
/// moved and the remote sent changes as deltas against blobs a seed leaves out, costs a whole
/// fetch, never the push); when that works and the cache was used, it was at fault (damaged,
/// or from another libgit2) and its repository is removed, to be made afresh by the next push.
pub(super) fn in_workspace<T>(
    dest: &Dest<'_>,
    work: impl Fn(&Repository) -> Result<T, GitError>,
) -> Result<T, GitError> {
    let ws = workspace(dest, true)?;
    let error = match work(&ws.repo) {
        Ok(v) => return Ok(v),
        Err(e @ GitError::Git { .. }) if ws.seeded || matches!(ws.hold, Hold::Cached(..)) => e,
        Err(e) => return Err(e),
    };
    tracing::warn!(%error, seeded = ws.seeded, "a push in the git cache or from a seed failed: again in a scratch repository");
    // Still leaving a seed: the next fresh repository starts from this push's.
    let again = work(&workspace(&dest.cached(None), false)?.repo)?;
    if let Hold::Cached(_, dir) = &ws.hold {
        // Still locked by `ws`: no other push uses it meanwhile.
        if let Err(e) = std::fs::remove_dir_all(dir) {
            tracing::warn!(dir = %dir.display(), error = %e, "the damaged git cache could not be removed");
        }
    }
    Ok(again)
}

enum Hold {
    Scratch(#[allow(dead_code, reason = "removed on drop")] tempfile::TempDir),
    /// The lock (released on drop) and the repository's folder.
    Cached(
        #[allow(dead_code, reason = "unlocked on drop")] std::fs::File,
        std::path::PathBuf,
    ),
}

/// The cached repository of `dest` when it has a cache that no other push holds, else a fresh
/// scratch one (a cache that cannot be used costs speed, never a publish); a fresh one planted
/// with the branch's seed when there is one and `plant` says so.
fn workspace(dest: &Dest<'_>, plant: bool) -> Result<Workspace, GitError> {
    let mut ws = bare_workspace(dest)?;
    if let Some(store) = dest.seed.filter(|_| plant) {
        let fresh = ws.repo.references().is_ok_and(|mut r| r.next().is_none());
        if fresh {
            ws.seeded = plant_seed(&ws.repo, store);
        }
    }
    Ok(ws)
}

/// Plants the seed `store` holds in `repo`; whether one was planted (a seed that cannot be read
/// or planted is logged and left: the fetch brings the whole branch, as without one).
fn plant_seed(repo: &Repository, store: &dyn SeedStore) -> bool {
    let bytes = match store.read() {
        Ok(Some(b)) => b,
        Ok(None) => return false,
        Err(e) => {
            tracing::warn!(error = %e, "the git seed cannot be read: the whole branch is fetched");
            return false;
        }
    };
    match seed::plant(repo, &bytes) {
        Ok(tip) => {
            tracing::info!(%tip, bytes = bytes.len(), "started from the git seed");
            true
        }
        Err(e) => {
            tracing::warn!(error = %e, "the git seed was not planted: the whole branch is fetched");
            false
        }
    }
}

/// Leaves the seed of `commit` (just pushed) in `store`, with the blobs at `paths`; a failure is
/// logged (the next fresh repository fetches more, nothing else).
pub(super) fn leave_seed(repo: &Repository, store: &dyn SeedStore, commit: Oid, paths: &[&str]) {
    match seed::make(repo, commit, paths) {
        Ok(Some(bytes)) => match store.write(&bytes) {
            Ok(()) => tracing::info!(%commit, bytes = bytes.len(), "left the git seed"),
            Err(e) => tracing::warn!(error = %e, "the git seed was not written"),
        },
        Ok(None) => {
            tracing::info!("the branch's history is longer than a seed holds: none written")
        }
        Err(e) => tracing::warn!(error = %e, "the git seed was not made"),
    }
}

/// [`workspace`] before its seed.
fn bare_workspace(dest: &Dest<'_>) -> Result<Workspace, GitError> {
    if let Some(cache) = dest.cache {
        match cached(cache, dest) {
            Ok(Some(ws)) => return Ok(ws),
            Ok(None) => {
                tracing::info!(dir = %cache.dir.display(), "the git cache is held by another push: a scratch repository")
            }
            Err(e) => {
                tracing::warn!(dir = %cache.dir.display(), error = %e, "the git cache cannot be used: a scratch repository")
            }
        }
    }
    let dir = tempfile::tempdir().map_err(|e| GitError::Git {
        op: "scratch",
        remote: redact_remote(dest.remote),
        reason: e.to_string(),
    })?;
    let repo = Repository::init_bare(dir.path()).map_err(git("init", dest.remote))?;
    Ok(Workspace {
        repo,
        hold: Hold::Scratch(dir),
        seeded: false,
    })
}

/// `dest`'s repository in the cache, locked; `Ok(None)` while another push holds it. One past
/// the cache's size bound, or unreadable, is started afresh.
fn cached(cache: &GitCache, dest: &Dest<'_>) -> std::io::Result<Option<Workspace>> {
    let name = dest.cache_name();
    std::fs::create_dir_all(&cache.dir)?;
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(cache.dir.join(format!("{name}.lock")))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
        Err(std::fs::TryLockError::Error(e)) => return Err(e),
    }
    let dir = cache.dir.join(name);
    let size = bytes_under(&dir);
    if size > cache.max_bytes {
        tracing::info!(dir = %dir.display(), size, "the git cache outgrew its bound: started afresh");
        std::fs::remove_dir_all(&dir)?;
    }
    let repo = match Repository::open_bare(&dir) {
        Ok(r) => r,
        Err(_) => {
            if dir.exists() {
                std::fs::remove_dir_all(&dir)?;
            }
            Repository::init_bare(&dir).map_err(std::io::Error::other)?
        }
    };
    Ok(Some(Workspace {
        repo,
        hold: Hold::Cached(lock, dir),
        seeded: false,
    }))
}

/// The bytes of the files under `dir` (0 when it is absent; links are not followed).
fn bytes_under(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(e.path()),
                Ok(t) if t.is_file() => total += e.metadata().map_or(0, |m| m.len()),
                _ => {}
            }
        }
    }
    total
}
