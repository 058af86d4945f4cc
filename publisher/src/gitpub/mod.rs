//! F38 publishing to git: the site to a Pages branch and the runs' raw files to the log
//! repository, through libgit2 (git2 with libgit2 built in), so it also runs inside Lambda where
//! there is no git binary. Every push works in a bare repository of its own: fetch the branch,
//! build the new tree in memory, commit, push. With a [`GitCache`] that repository is kept
//! between pushes (in a warm Lambda, `/tmp` outlives an invocation), so a fetch brings only what
//! others pushed since, not the branch's whole content: at 100x history the Pages branch holds
//! 110,000 files. Without one, or while another push holds it, a fresh scratch repository.
//!
//! - [`Mode::Append`] (the log repository): the files are added on top of the branch's tree
//!   (append-only, as the predecessor's `rsync` without `--delete`); a push rejected because
//!   someone else pushed first is retried on top of their commit, so concurrent publishers all
//!   land.
//! - [`Mode::Replace`] (Pages): the branch's tree becomes exactly the files. The branch keeps at
//!   most `keep` commits: when it is that long, the new commit starts a fresh history (an orphan
//!   commit, force-pushed), so the branch's size stays bounded however many nights are published.
//!
//! A fresh repository (scratch, or a cache's first) starts from the branch's [`seed`] when the
//! destination has a [`SeedStore`]: its commits and trees without the files, left in the object
//! store by the last push, so that a cold container does not fetch the whole branch.

use std::collections::BTreeMap;
use std::path::Path;

use git2::{Oid, Repository, Signature};

pub mod seed;
mod tree;
mod workspace;

pub use seed::SeedStore;
use tree::{listing, valid, Dir};
use workspace::{in_workspace, leave_seed};

/// How the files relate to what the branch holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Add these files; keep everything else, and never change a file the branch already
    /// holds: a path whose content differs is left as it is and reported in
    /// [`PushReport::refused`] (published raw logs are a record, not a cache).
    Append,
    /// The branch holds exactly these files, in a history of at most `keep` commits.
    Replace { keep: usize },
}

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PushReport {
    pub remote: String,
    pub branch: String,
    /// The commit now at the branch's head (`None`: nothing changed, nothing pushed).
    pub commit: Option<String>,
    pub files: usize,
    pub bytes: u64,
    /// Files that differ from what the branch held before (added or changed).
    pub changed: usize,
    /// Pushes rejected because the branch moved, then retried.
    pub retries: usize,
    /// The history was squashed to one commit (Replace mode at its bound).
    pub squashed: bool,
    /// Paths left unchanged because the branch holds other content there (Append mode).
    pub refused: Vec<String>,
}

/// Where pushed branches' repositories are kept between pushes (one bare repository per remote
/// and branch, under `dir`), and the size beyond which one is started afresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitCache {
    pub dir: std::path::PathBuf,
    pub max_bytes: u64,
}

/// Where a push goes: the remote (a path, `file://` or `https://` URL), its branch, the token
/// for https remotes, the cache and the seed's store, if any.
#[derive(Clone, Copy)]
pub struct Dest<'a> {
    pub remote: &'a str,
    pub branch: &'a str,
    pub token: Option<&'a str>,
    pub cache: Option<&'a GitCache>,
    pub seed: Option<&'a dyn SeedStore>,
}

impl std::fmt::Debug for Dest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_struct("Dest")
            .field("remote", &redact_remote(self.remote))
            .field("branch", &self.branch)
            .field("cache", &self.cache)
            .field("seed", &self.seed.is_some())
            .finish_non_exhaustive()
    }
}

impl<'a> Dest<'a> {
    /// A push to `branch` of `remote` in a fresh scratch repository.
    pub fn new(remote: &'a str, branch: &'a str, token: Option<&'a str>) -> Self {
        Self {
            remote,
            branch,
            token,
            cache: None,
            seed: None,
        }
    }

    /// The same, keeping its repository in `cache` between pushes.
    pub fn cached(self, cache: Option<&'a GitCache>) -> Self {
        Self { cache, ..self }
    }

    /// The same, a fresh repository starting from the seed in `seed`, and each push leaving
    /// its own there.
    pub fn seeded(self, seed: Option<&'a dyn SeedStore>) -> Self {
        Self { seed, ..self }
    }

    /// The name of `remote` and `branch` in caches and seeds: a digest, as the remote's URL
    /// might carry what is not to be printed.
    pub fn cache_name(&self) -> String {
        match Oid::hash_object(
            git2::ObjectType::Blob,
            format!("{}\n{}", self.remote, self.branch).as_bytes(),
        ) {
            Ok(id) => format!("{:.16}", id.to_string()),
            // Hashing a buffer does not fail; a fixed name would only share a cache.
            Err(_) => "0000000000000000".to_owned(),
        }
    }
}

/// A remote as it may be printed: no user information (a token in `https://x:TOKEN@host/…`),
/// and whatever else [`sglci_core::redact`] recognises.
pub fn redact_remote(remote: &str) -> String {
    let without_userinfo = match remote.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('/') {
            Some((authority, path)) => match authority.rsplit_once('@') {
                Some((_, host)) => format!("{scheme}://***@{host}/{path}"),
                None => remote.to_owned(),
            },
            None => match rest.rsplit_once('@') {
                Some((_, host)) => format!("{scheme}://***@{host}"),
                None => remote.to_owned(),
            },
        },
        None => remote.to_owned(),
    };
    sglci_core::redact::redact(&without_userinfo)
}

/// An error text with the remote (as given) replaced by its redacted form (libgit2 quotes URLs
/// in its messages).
fn redact_in(text: &str, remote: &str) -> String {
    sglci_core::redact::redact(&text.replace(remote, &redact_remote(remote)))
}

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("git {op} {remote}: {reason}")]
    Git {
        op: &'static str,
        remote: String,
        reason: String,
    },
    #[error("{remote} {branch}: still rejected after {attempts} attempts (hint: another publisher keeps pushing; try again)")]
    Contended {
        remote: String,
        branch: String,
        attempts: usize,
    },
    #[error("invalid path `{0}` (hint: relative, `/`-separated, no `..`)")]
    Path(String),
}

fn git<'a>(op: &'static str, remote: &'a str) -> impl Fn(git2::Error) -> GitError + 'a {
    move |e| GitError::Git {
        op,
        remote: redact_remote(remote),
        reason: redact_in(e.message(), remote),
    }
}

/// Credentials for https remotes: `GITHUB_TOKEN` (or `SGLCI_GIT_TOKEN`) as the password.
fn callbacks<'a>(token: Option<&'a str>) -> git2::RemoteCallbacks<'a> {
    let mut cb = git2::RemoteCallbacks::new();
    if let Some(t) = token {
        cb.credentials(move |_url, _user, _allowed| {
            git2::Cred::userpass_plaintext("x-access-token", t)
        });
    }
    cb
}

/// What a push of `files` would change, without pushing (for `--dry-run`): the files that are
/// new or different from the branch's.
pub fn plan(dest: Dest<'_>, files: &[(String, Vec<u8>)]) -> Result<Vec<String>, GitError> {
    in_workspace(&dest, |repo| changed_files(repo, &dest, files))
}

fn changed_files(
    repo: &Repository,
    dest: &Dest<'_>,
    files: &[(String, Vec<u8>)],
) -> Result<Vec<String>, GitError> {
    let remote = dest.remote;
    let head = fetch(repo, dest)?;
    let old = match head {
        Some(h) => {
            let c = repo.find_commit(h).map_err(git("read", remote))?;
            let t = c.tree().map_err(git("read", remote))?;
            listing(repo, &t)
        }
        None => BTreeMap::new(),
    };
    let mut changed = Vec::new();
    for (path, bytes) in files {
        let oid = Oid::hash_object(git2::ObjectType::Blob, bytes).map_err(git("hash", remote))?;
        if old.get(path) != Some(&oid) {
            changed.push(path.clone());
        }
    }
    Ok(changed)
}

/// The branch's head on the remote (`None` when it has no such branch), its objects fetched
/// into `repo`. A cached repository already holds most of them and tells the remote so: what it
/// last saw of the branch stays a ref of its own (`refs/sglci/have`), while the tracking ref is
/// made again only by a fetch that finds the branch (one deleted since is not taken for there).
fn fetch(repo: &Repository, dest: &Dest<'_>) -> Result<Option<Oid>, GitError> {
    let (remote, branch) = (dest.remote, dest.branch);
    let tracking = format!("refs/remotes/origin/{branch}");
    if let Ok(mut seen) = repo.find_reference(&tracking) {
        if let Some(oid) = seen.target() {
            repo.reference("refs/sglci/have", oid, true, "sglci: seen")
                .map_err(git("ref", remote))?;
        }
        seen.delete().map_err(git("ref", remote))?;
    }
    let mut r = repo
        .remote_anonymous(remote)
        .map_err(git("remote", remote))?;
    let mut opts = git2::FetchOptions::new();
    opts.remote_callbacks(callbacks(dest.token));
    let spec = format!("+refs/heads/{branch}:{tracking}");
    match r.fetch(&[&spec], Some(&mut opts), None) {
        Ok(()) => {}
        Err(e) => return Err(git("fetch", remote)(e)),
    }
    Ok(repo.find_reference(&tracking).ok().and_then(|r| r.target()))
}

/// Records `commit` as what the branch now holds (a later fetch from a cached repository then
/// asks only for what came after it), and drops the push's own ref.
fn remember(repo: &Repository, branch: &str, commit: Oid, local: &str) {
    let tracking = format!("refs/remotes/origin/{branch}");
    let _ = repo.reference(&tracking, commit, true, "sglci: pushed");
    if let Ok(mut r) = repo.find_reference(local) {
        let _ = r.delete();
    }
}

fn depth(repo: &Repository, head: Oid, limit: usize) -> usize {
    let mut n = 0;
    let mut cur = repo.find_commit(head).ok();
    while let Some(c) = cur {
        n += 1;
        if n >= limit {
            break;
        }
        cur = c.parent(0).ok();
    }
    n
}

/// Writes the objects of `commit` that `to` lacks (its tree, recursively, and blobs) straight
/// into `to`'s object database; parents are already there (they were fetched from it).
fn copy_objects(from: &Repository, to: &Repository, commit: Oid) -> Result<(), git2::Error> {
    let (src, dst) = (from.odb()?, to.odb()?);
    let mut stack = vec![commit];
    while let Some(oid) = stack.pop() {
        if dst.exists(oid) {
            // Present objects are complete: their subtrees are there too.
            continue;
        }
        let obj = src.read(oid)?;
        match obj.kind() {
            git2::ObjectType::Commit => stack.push(from.find_commit(oid)?.tree_id()),
            git2::ObjectType::Tree => stack.extend(from.find_tree(oid)?.iter().map(|e| e.id())),
            _ => {}
        }
        dst.write(obj.kind(), obj.data())?;
    }
    Ok(())
}

/// A remote on this machine: a path or a `file://` URL.
fn local_path(remote: &str) -> Option<std::path::PathBuf> {
    match remote.strip_prefix("file://") {
        Some(p) => Some(p.into()),
        None if !remote.contains("://") && !remote.contains('@') => Some(remote.into()),
        None => None,
    }
}

/// Pushes one refspec; `Ok(false)` when the remote refused it as not a fast-forward.
fn send(repo: &Repository, dest: &Dest<'_>, spec: &str) -> Result<bool, GitError> {
    let remote = dest.remote;
    let mut r = repo
        .remote_anonymous(remote)
        .map_err(git("remote", remote))?;
    let rejected = std::cell::RefCell::new(None::<String>);
    let mut cb = callbacks(dest.token);
    cb.push_update_reference(|_, status| {
        if let Some(s) = status {
            *rejected.borrow_mut() = Some(s.to_owned());
        }
        Ok(())
    });
    let mut opts = git2::PushOptions::new();
    opts.remote_callbacks(cb);
    let result = r.push(&[spec], Some(&mut opts));
    let refused = rejected.borrow().clone();
    match (result, refused) {
        (Ok(()), None) => Ok(true),
        (Ok(()), Some(_)) => Ok(false),
        (Err(e), _)
            if e.code() == git2::ErrorCode::NotFastForward
                || e.message().contains("fast-forward")
                || e.message().contains("fetch first") =>
        {
            Ok(false)
        }
        (Err(e), _) => Err(git("push", remote)(e)),
    }
}

/// Pushes `files` to `dest`.
pub fn push(
    dest: Dest<'_>,
    files: &[(String, Vec<u8>)],
    mode: Mode,
    message: &str,
) -> Result<PushReport, GitError> {
    push_guarded(dest, Files::Bytes(files), mode, message, None).map(|r| {
        r.unwrap_or_else(|| PushReport {
            remote: redact_remote(dest.remote),
            branch: dest.branch.to_owned(),
            commit: None,
            files: files.len(),
            bytes: 0,
            changed: 0,
            retries: 0,
            squashed: false,
            refused: Vec::new(),
        })
    })
}

/// Reads the bytes of files by their paths, handing each to the receiver as it is read (its
/// index in the paths, its bytes; any order), so that the files of a whole site are never all
/// in memory at once.
pub type Loader<'a> = dyn Fn(&[String], &mut dyn FnMut(usize, Vec<u8>) -> Result<(), String>) -> Result<(), String>
    + 'a;

/// The files of a push: their bytes, or their blob ids with a loader for the bytes of those the
/// branch does not hold yet (a site in the store with its manifest: only what changed is read).
#[derive(Clone, Copy)]
pub enum Files<'a> {
    Bytes(&'a [(String, Vec<u8>)]),
    Known {
        ids: &'a [(String, Oid)],
        load: &'a Loader<'a>,
    },
}

impl std::fmt::Debug for Files<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Files::Bytes(b) => write!(f, "Files::Bytes({} files)", b.len()),
            Files::Known { ids, .. } => write!(f, "Files::Known({} files)", ids.len()),
        }
    }
}

impl Files<'_> {
    fn len(&self) -> usize {
        match self {
            Files::Bytes(f) => f.len(),
            Files::Known { ids, .. } => ids.len(),
        }
    }

    fn paths(&self) -> Vec<&str> {
        match self {
            Files::Bytes(f) => f.iter().map(|(p, _)| p.as_str()).collect(),
            Files::Known { ids, .. } => ids.iter().map(|(p, _)| p.as_str()).collect(),
        }
    }

    /// The blob of every file, and the bytes written: a file's blob is written into `repo`
    /// unless `repo` holds it or the branch's tree does (`remote_has`: a seeded repository has
    /// the branch's trees, not its blobs, and a push does not read what the remote has).
    fn blobs(
        &self,
        repo: &Repository,
        remote: &str,
        remote_has: &std::collections::HashSet<Oid>,
    ) -> Result<(Vec<(String, Oid)>, u64), GitError> {
        match self {
            Files::Bytes(files) => {
                let mut bytes = 0;
                let mut out = Vec::with_capacity(files.len());
                for (path, content) in *files {
                    out.push((
                        path.clone(),
                        repo.blob(content).map_err(git("blob", remote))?,
                    ));
                    bytes += content.len() as u64;
                }
                Ok((out, bytes))
            }
            Files::Known { ids, load } => {
                let odb = repo.odb().map_err(git("odb", remote))?;
                let missing: Vec<usize> = (0..ids.len())
                    .filter(|i| !remote_has.contains(&ids[*i].1) && !odb.exists(ids[*i].1))
                    .collect();
                let paths: Vec<String> = missing.iter().map(|i| ids[*i].0.clone()).collect();
                let mut out = ids.to_vec();
                let (mut bytes, mut got) = (0, vec![false; missing.len()]);
                let mut each = |j: usize, content: Vec<u8>| -> Result<(), String> {
                    let i = *missing
                        .get(j)
                        .ok_or("the loader gave a file not asked for")?;
                    // The bytes read decide (a manifest entry may lag behind its file).
                    out[i].1 = repo.blob(&content).map_err(|e| e.message().to_owned())?;
                    bytes += content.len() as u64;
                    got[j] = true;
                    Ok(())
                };
                let read = |reason| GitError::Git {
                    op: "read the files",
                    remote: redact_remote(remote),
                    reason,
                };
                if !paths.is_empty() {
                    load(&paths, &mut each).map_err(read)?;
                }
                if let Some(j) = got.iter().position(|g| !g) {
                    return Err(read(format!("{}: not read", paths[j])));
                }
                Ok((out, bytes))
            }
        }
    }
}

/// A test on the branch's current head before each push attempt: the file at `.0` (its bytes,
/// `None` when absent); the push is left out when `.1` says so.
pub type Guard<'a> = (&'a str, &'a dyn Fn(Option<&[u8]>) -> bool);

/// Replaces the branch's tree with `files` (bounded history, as [`Mode::Replace`]) unless the
/// branch's `stamp` file shows it newer (`newer` decides from its bytes, checked again on every
/// retry): a publisher that lags behind never replaces a later site with an earlier one.
/// `Ok(None)`: left out.
pub fn push_unless_newer(
    dest: Dest<'_>,
    files: Files<'_>,
    keep: usize,
    message: &str,
    (stamp, newer): Guard<'_>,
) -> Result<Option<PushReport>, GitError> {
    push_guarded(
        dest,
        files,
        Mode::Replace { keep },
        message,
        Some((stamp, newer)),
    )
}

/// [`push`] with an optional [`Guard`].
fn push_guarded(
    dest: Dest<'_>,
    files: Files<'_>,
    mode: Mode,
    message: &str,
    guard: Option<Guard<'_>>,
) -> Result<Option<PushReport>, GitError> {
    if let Some(p) = files.paths().into_iter().find(|p| !valid(p)) {
        return Err(GitError::Path(p.to_owned()));
    }
    in_workspace(&dest, |repo| {
        push_in(repo, &dest, files, mode, message, guard)
    })
}

/// [`push_guarded`] in `repo`.
fn push_in(
    repo: &Repository,
    dest: &Dest<'_>,
    files: Files<'_>,
    mode: Mode,
    message: &str,
    guard: Option<Guard<'_>>,
) -> Result<Option<PushReport>, GitError> {
    let (remote, branch) = (dest.remote, dest.branch);
    const ATTEMPTS: usize = 20;
    let sig = Signature::now(
        "sglci-publisher",
        "sglci-publisher@users.noreply.github.com",
    )
    .map_err(git("signature", remote))?;
    // Made after the first fetch: blobs the branch holds already are not read again. Files known
    // by id are looked at again on a retry (the branch's new head may lack a blob the first
    // held; those read before are in `repo` by then).
    let mut made: Option<Vec<(String, Oid)>> = None;
    let mut bytes = 0;
    for attempt in 0..ATTEMPTS {
        let head = fetch(repo, dest)?;
        let head_commit = head
            .map(|h| repo.find_commit(h))
            .transpose()
            .map_err(git("read", remote))?;
        let head_tree = head_commit
            .as_ref()
            .map(git2::Commit::tree)
            .transpose()
            .map_err(git("read", remote))?;
        if let (Some((path, skip)), Some(tree)) = (guard, head_tree.as_ref()) {
            // A stamp the tree names but the repository lacks is an error, not an absence: a
            // lagging publisher must never take a newer site for none.
            let current = match tree.get_path(Path::new(path)) {
                Ok(e) => Some(repo.find_blob(e.id()).map_err(git("read", remote))?),
                Err(_) => None,
            };
            if skip(current.as_ref().map(git2::Blob::content)) {
                return Ok(None);
            }
        }
        let old = head_tree
            .as_ref()
            .map(|t| listing(repo, t))
            .unwrap_or_default();
        if made.is_none() || matches!(files, Files::Known { .. }) {
            let has = old.values().copied().collect();
            let (b, n) = files.blobs(repo, remote, &has)?;
            made = Some(b);
            bytes += n;
        }
        let blobs = made.as_deref().unwrap_or_default();
        let base = match mode {
            Mode::Append => head_tree.as_ref(),
            Mode::Replace { .. } => None,
        };
        // Append never changes a file the branch holds with other content.
        let (mut dir, mut refused) = (Dir::default(), Vec::new());
        for (path, oid) in blobs {
            match old.get(path) {
                Some(existing) if mode == Mode::Append && existing != oid => {
                    refused.push(path.clone())
                }
                _ => dir.insert(&path.split('/').collect::<Vec<_>>(), *oid),
            }
        }
        if !refused.is_empty() {
            tracing::warn!(%branch, refused = refused.len(), "files the branch holds with other content were left as they are");
        }
        let tree_id = dir.write(repo, base).map_err(git("tree", remote))?;
        let tree = repo.find_tree(tree_id).map_err(git("tree", remote))?;
        let changed = listing(repo, &tree)
            .iter()
            .filter(|(p, oid)| old.get(*p) != Some(oid))
            .count();
        if head_tree.as_ref().is_some_and(|t| t.id() == tree_id) {
            return Ok(Some(PushReport {
                remote: redact_remote(remote),
                branch: branch.to_owned(),
                commit: None,
                files: files.len(),
                bytes,
                changed: 0,
                retries: attempt,
                squashed: false,
                refused,
            }));
        }
        let squash = match (mode, head) {
            (Mode::Replace { keep }, Some(h)) => depth(repo, h, keep.max(1)) >= keep.max(1),
            _ => false,
        };
        let parents: Vec<&git2::Commit<'_>> = match (&head_commit, squash) {
            (Some(c), false) => vec![c],
            _ => Vec::new(),
        };
        let commit = repo
            .commit(None, &sig, &sig, message, &tree, &parents)
            .map_err(git("commit", remote))?;
        let local = format!("refs/heads/sglci-push-{attempt}");
        repo.reference(&local, commit, true, "sglci push")
            .map_err(git("ref", remote))?;
        let report = PushReport {
            remote: redact_remote(remote),
            branch: branch.to_owned(),
            commit: Some(commit.to_string()),
            files: files.len(),
            bytes,
            changed,
            retries: attempt,
            squashed: squash,
            refused,
        };
        let landed = land(repo, dest, head, commit, (&local, squash), message)?;
        if landed {
            remember(repo, branch, commit, &local);
            if let Some(store) = dest.seed {
                let paths: Vec<&str> = guard.map(|(p, _)| p).into_iter().collect();
                leave_seed(repo, store, commit, &paths);
            }
            return Ok(Some(report));
        }
        tracing::info!(%remote, %branch, attempt, "the branch moved; retrying on the new head");
        std::thread::sleep(std::time::Duration::from_millis(50 * (attempt as u64 + 1)));
    }
    Err(GitError::Contended {
        remote: redact_remote(remote),
        branch: branch.to_owned(),
        attempts: ATTEMPTS,
    })
}

/// Moves `branch` of `remote` to `commit` (built on `head`); `Ok(false)` when the branch moved
/// meanwhile (the caller rebuilds on the new head). `local` is the ref naming `commit` here;
/// `squash`: it starts a new history, so the branch is forced.
fn land(
    repo: &Repository,
    dest: &Dest<'_>,
    head: Option<Oid>,
    commit: Oid,
    (local, squash): (&str, bool),
    message: &str,
) -> Result<bool, GitError> {
    let (remote, branch) = (dest.remote, dest.branch);
    Ok(match local_path(remote) {
        // A repository on this machine: libgit2's local transport does not refuse a
        // non-fast-forward update, so the objects are written into it directly and the branch
        // moves by compare-and-swap against the head this commit was built on.
        Some(path) => {
            let target = Repository::open(&path).map_err(git("open", remote))?;
            copy_objects(repo, &target, commit).map_err(git("copy", remote))?;
            let name = format!("refs/heads/{branch}");
            let swapped = match head {
                Some(h) => target.reference_matching(&name, commit, true, h, message),
                None => target.reference(&name, commit, false, message),
            };
            match swapped {
                Ok(_) => true,
                Err(e)
                    if matches!(
                        e.code(),
                        git2::ErrorCode::Modified
                            | git2::ErrorCode::Exists
                            | git2::ErrorCode::Locked
                    ) =>
                {
                    false
                }
                Err(e) => return Err(git("update", remote)(e)),
            }
        }
        // A server (GitHub): it refuses a non-fast-forward push itself; only a squash forces.
        None => {
            let force = if squash { "+" } else { "" };
            send(repo, dest, &format!("{force}{local}:refs/heads/{branch}"))?
        }
    })
}

/// Every regular file under `dir` as (`/`-separated relative path, bytes), sorted; dot-files
/// at the top (the site's marker) are left out.
pub fn files_under(dir: &Path) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let files = sglci_core::backend::files_under(dir)
        .map_err(|(path, e)| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    Ok(files
        .into_iter()
        .filter(|(p, _)| !p.starts_with('.'))
        .collect())
}
