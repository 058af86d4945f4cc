//! Carrying one effect out: the shell that pushes to git and posts to Teams and GitHub. The
//! clients are built once ([`Sinks::new`], per process or Lambda cold start) from the
//! configuration and the secrets.

use std::io::Write;

use sglci_core::bundle::{fetch_within, BundleLimits};
use sglci_core::store::{Key, ObjectStore, StoreError};

use super::{Effect, EffectError};
use crate::app::{
    assemble, bundle_may_write, site_packs, SiteManifest, SiteTarget, StoredRoot, SITE_MANIFEST,
    SITE_MARKER, SITE_PACKS, SITE_PARTIAL,
};
use crate::config::{CardSink, EffectsConfig, GitTarget};
use crate::gitpub::{self, Mode};
use crate::notify::github::GitHub;
use crate::notify::http::{host_of, Http, Retry};
use crate::notify::{FileNotifier, Notification, Notifier, TeamsNotifier};

/// The secrets effects may need, read once: from the environment for the CLI, from SSM for the
/// Lambda. Never logged (the `Debug` form says only which are present).
#[derive(Clone, Default)]
pub struct Secrets {
    pub teams_webhook: Option<String>,
    /// For git over https and the GitHub API.
    pub github_token: Option<String>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("teams_webhook", &self.teams_webhook.as_ref().map(|_| "***"))
            .field("github_token", &self.github_token.as_ref().map(|_| "***"))
            .finish()
    }
}

/// The GitHub repository issues go to, and the API's base URL.
#[derive(Debug, Clone, Default)]
pub struct GitHubRepo {
    /// `owner/name` (`GITHUB_REPOSITORY`).
    pub repository: Option<String>,
    /// `https://api.github.com` unless set (`GITHUB_API_URL`).
    pub api: Option<String>,
}

impl Secrets {
    /// The CLI's secrets: `SGLCI_TEAMS_WEBHOOK_URL`, and `SGLCI_GIT_TOKEN` or `GITHUB_TOKEN`
    /// (`env` holds the process environment's SGLCI_* and GITHUB_* variables).
    pub fn from_env(env: &std::collections::BTreeMap<String, String>) -> Self {
        let get = |k: &str| env.get(k).filter(|v| !v.trim().is_empty()).cloned();
        Self {
            teams_webhook: get("SGLCI_TEAMS_WEBHOOK_URL"),
            github_token: get("SGLCI_GIT_TOKEN").or_else(|| get("GITHUB_TOKEN")),
        }
    }
}

impl GitHubRepo {
    /// `SGLCI_GITHUB_REPOSITORY` (else `GITHUB_REPOSITORY`, the workflow's own) and
    /// `GITHUB_API_URL`.
    pub fn from_env(env: &std::collections::BTreeMap<String, String>) -> Self {
        let get = |k: &str| env.get(k).filter(|v| !v.trim().is_empty()).cloned();
        Self {
            repository: get("SGLCI_GITHUB_REPOSITORY").or_else(|| get("GITHUB_REPOSITORY")),
            api: get("GITHUB_API_URL"),
        }
    }
}

/// The targets of effects, built once.
pub struct Sinks {
    pub config: EffectsConfig,
    teams: Option<TeamsNotifier>,
    github: Option<GitHub>,
    git_token: Option<String>,
}

impl std::fmt::Debug for Sinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sinks")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Sinks {
    /// Where a push to `target` goes, with the token, the git cache and the branch's seed.
    fn dest<'a>(
        &'a self,
        target: &'a crate::config::GitTarget,
        seed: &'a StoreSeed<'a>,
    ) -> gitpub::Dest<'a> {
        gitpub::Dest::new(&target.remote, &target.branch, self.git_token.as_deref())
            .cached(self.config.git_cache.as_ref())
            .seeded(Some(seed))
    }

    /// Checks that every configured effect has what it needs; an error names the missing piece
    /// and where to set it.
    pub fn new(
        config: EffectsConfig,
        secrets: Secrets,
        github: &GitHubRepo,
        site: Option<&SiteTarget>,
    ) -> Result<Self, EffectError> {
        let http = Http::new(Retry::default());
        let teams = if config.cards.contains(&CardSink::Teams) {
            let url = secrets.teams_webhook.clone().ok_or_else(|| {
                EffectError::Config(
                    "--notify teams needs the webhook URL (hint: SGLCI_TEAMS_WEBHOOK_URL, or for the Lambda the SSM parameter SGLCI_TEAMS_WEBHOOK_PARAMETER names)".to_owned(),
                )
            })?;
            Some(TeamsNotifier::new(url, http.clone()))
        } else {
            None
        };
        let gh = if config.github_issues {
            let missing = |what: &str| {
                EffectError::Config(format!(
                    "--notify github-issues needs {what} (hint: GITHUB_REPOSITORY=owner/name and GITHUB_TOKEN, or for the Lambda the SSM parameter SGLCI_GITHUB_TOKEN_PARAMETER names)"
                ))
            };
            let repo = github
                .repository
                .clone()
                .ok_or_else(|| missing("the repository"))?;
            let token = secrets
                .github_token
                .clone()
                .ok_or_else(|| missing("a token"))?;
            let api = github
                .api
                .clone()
                .unwrap_or_else(|| "https://api.github.com".to_owned());
            Some(
                GitHub::new(&api, &repo, token, http.clone())
                    .map_err(|e| EffectError::Config(e.to_string()))?,
            )
        } else {
            None
        };
        if config.pages.is_some() && site.is_none() {
            return Err(EffectError::Config(
                "--pages needs the site it publishes (hint: --site DIR or --site store:site; the Lambda's SGLCI_SITE)".to_owned(),
            ));
        }
        Ok(Self {
            config,
            teams,
            github: gh,
            git_token: secrets.github_token,
        })
    }

    /// Where an effect goes, for log lines: a host or a path, never a credential.
    pub fn target_of(&self, effect: &Effect) -> String {
        let remote = |t: &Option<GitTarget>| {
            t.as_ref()
                .map(|t| remote_host(&t.remote))
                .unwrap_or_default()
        };
        match effect {
            Effect::Logs { .. } => remote(&self.config.log_repo),
            Effect::Pages { .. } => remote(&self.config.pages),
            Effect::Card { sink, .. } => match sink {
                CardSink::Teams => self.teams.as_ref().map(|t| t.host()).unwrap_or_default(),
                CardSink::Dir(p) => p.clone(),
                CardSink::Stdout => "stdout".to_owned(),
            },
            Effect::Issues { .. } => self.github.as_ref().map(GitHub::host).unwrap_or_default(),
        }
    }
}

/// A remote's host (`file` for a repository on this machine).
fn remote_host(remote: &str) -> String {
    if remote.contains("://") && !remote.starts_with("file://") {
        host_of(remote)
    } else {
        "file".to_owned()
    }
}

/// What one effect needs besides its sink.
pub struct Context<'a> {
    pub store: &'a dyn ObjectStore,
    pub site: Option<&'a SiteTarget>,
    pub limits: &'a BundleLimits,
    pub triage: &'a crate::triage::Triage,
}

impl std::fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("site", &self.site)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// Carries one effect out; returns a receipt (redacted) or the reason it failed.
pub fn perform(sinks: &Sinks, cx: &Context<'_>, effect: &Effect) -> Result<String, String> {
    match effect {
        Effect::Logs { run_id, manifest } => push_logs(sinks, cx, run_id, manifest),
        Effect::Pages { .. } => push_pages(sinks, cx),
        Effect::Card { sink, card } => send_card(sinks, sink, card),
        Effect::Issues { .. } => sync_issues(sinks, cx),
    }
    .map(|r| sglci_core::redact::redact(&r))
    .map_err(|e| sglci_core::redact::redact(&e))
}

/// Where the seeds of pushed branches are kept in the store (one object per remote and branch,
/// named by [`gitpub::Dest::cache_name`]; outside any site prefix, which a whole site's write
/// empties of what it did not render).
pub const GIT_SEEDS: &str = "git-seed";

/// A branch's seed in the publisher's store ([`gitpub::seed`]): a fresh container's first push
/// starts from it instead of fetching the whole branch.
struct StoreSeed<'a> {
    store: &'a dyn ObjectStore,
    key: Key,
}

impl<'a> StoreSeed<'a> {
    fn of(store: &'a dyn ObjectStore, target: &GitTarget) -> Result<Self, String> {
        let name = gitpub::Dest::new(&target.remote, &target.branch, None).cache_name();
        let key = Key::new(format!("{GIT_SEEDS}/{name}.seed")).map_err(|e| e.to_string())?;
        Ok(Self { store, key })
    }
}

impl gitpub::SeedStore for StoreSeed<'_> {
    fn read(&self) -> Result<Option<Vec<u8>>, String> {
        match self.store.get(&self.key) {
            Ok(b) => Ok(Some(b)),
            Err(StoreError::NotFound { .. }) => Ok(None),
            Err(e) => Err(format!("{}: {e}", self.key)),
        }
    }

    fn write(&self, bytes: &[u8]) -> Result<(), String> {
        self.store
            .put(&self.key, bytes)
            .map_err(|e| format!("{}: {e}", self.key))
    }
}

fn push_logs(
    sinks: &Sinks,
    cx: &Context<'_>,
    run_id: &str,
    manifest: &str,
) -> Result<String, String> {
    let target = sinks
        .config
        .log_repo
        .as_ref()
        .ok_or("no log repository is configured any more (hint: --log-repo)")?;
    let key = Key::new(manifest).map_err(|e| e.to_string())?;
    let (m, files) = fetch_within(cx.store, &key, cx.limits).map_err(|e| e.to_string())?;
    for (path, _) in &files {
        bundle_may_write(&m, path).map_err(|e| format!("{manifest}: {e}"))?;
    }
    let seed = StoreSeed::of(cx.store, target)?;
    let r = gitpub::push(
        sinks.dest(target, &seed),
        &files,
        Mode::Append,
        &format!("sglci: raw logs of {run_id}"),
    )
    .map_err(|e| e.to_string())?;
    if !r.refused.is_empty() {
        // Published logs are a record: a path the branch holds with other content stays.
        tracing::warn!(run = %run_id, refused = r.refused.len(), "files the log branch holds with other content were left as they are");
    }
    Ok(format!(
        "{} files, {} new, commit {}",
        r.files,
        r.changed,
        r.commit.as_deref().unwrap_or("(unchanged)")
    ))
}

/// The generation stamp a published site carries.
pub const SITE_STAMP: &str = "sglci.json";

/// A site as the Pages push takes it.
enum SiteFiles {
    /// Every file's bytes (a directory, or a store site without a manifest).
    Bytes(Vec<(String, Vec<u8>)>),
    /// A store site's manifest: blob ids, and the stamp's bytes; files are read when the branch
    /// lacks them.
    Known {
        ids: Vec<(String, git2::Oid)>,
        stamp: Option<Vec<u8>>,
        prefix: Key,
        /// The files whose bytes are in packs (the others are objects of their own).
        packed: std::collections::BTreeMap<String, crate::app::PackedAt>,
    },
}

/// The site's files as they are now (in the directory or the store prefix). A store site with
/// a manifest costs one batch of three reads here; its files are read only when the branch
/// lacks them.
fn site_files(store: &dyn ObjectStore, site: &SiteTarget) -> Result<SiteFiles, String> {
    let files = match site {
        SiteTarget::Dir(dir) => {
            if dir.join(SITE_PARTIAL).exists() {
                return Err(format!(
                    "{}: the site is being written (hint: retried later)",
                    dir.display()
                ));
            }
            gitpub::files_under(dir).map_err(|e| format!("{}: {e}", dir.display()))?
        }
        SiteTarget::Store(prefix) => {
            let keys = [SITE_MANIFEST, SITE_STAMP, SITE_PARTIAL]
                .iter()
                .map(|rel| prefix.join(rel))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| e.to_string())?;
            let mut got = store.get_many(&keys).into_iter();
            let mut next = || match got.next() {
                Some(Ok(b)) => Ok(Some(b)),
                Some(Err(StoreError::NotFound { .. })) | None => Ok(None),
                Some(Err(e)) => Err(e.to_string()),
            };
            let (manifest, stamp, partial) = (next()?, next()?, next()?);
            if partial.is_some() {
                return Err(format!(
                    "{prefix}: the site is being written (hint: retried later)"
                ));
            }
            let whole = match manifest.as_deref().and_then(StoredRoot::parse) {
                Some(root) => {
                    let keys = root.shard_keys(prefix).map_err(|e| e.to_string())?;
                    assemble(root, store.get_many(&keys)).map_err(|e| e.to_string())?
                }
                None => None,
            };
            match whole {
                Some(m) => return known_files(m, stamp, prefix),
                // No manifest, or one that lost a shard: every file is read.
                None => listed_files(store, prefix)?,
            }
        }
    };
    if !files.iter().any(|(p, _)| p == "index.html") {
        return Err(NO_INDEX.to_owned());
    }
    Ok(SiteFiles::Bytes(files))
}

const NO_INDEX: &str =
    "the site has no index.html yet (hint: it is rendered after the first ingest)";

/// A store site's files from its manifest.
fn known_files(m: SiteManifest, stamp: Option<Vec<u8>>, prefix: &Key) -> Result<SiteFiles, String> {
    if !m.files.contains_key("index.html") {
        return Err(NO_INDEX.to_owned());
    }
    // The entries are moved, not copied: at 100x the fixture history there are 111,000.
    let ids = m
        .files
        .into_iter()
        .filter(|(rel, _)| !rel.starts_with('.'))
        .map(|(rel, id)| {
            git2::Oid::from_str(&id)
                .map(|oid| (rel.clone(), oid))
                .map_err(|e| format!("{prefix}/{SITE_MANIFEST}: {rel}: {e} (hint: the site is rendered whole again on the next publish if the manifest is removed)"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SiteFiles::Known {
        ids,
        stamp,
        prefix: prefix.clone(),
        packed: m.packed,
    })
}

/// After a push that found a pack the manifest names gone: the manifest is removed, as one
/// that lost a shard is no manifest, so the next publish renders the site whole (and until
/// then the push fails, never pushing a part of the site). Returns the push's error, extended.
fn forget_manifest(store: &dyn ObjectStore, prefix: &Key, e: impl std::fmt::Display) -> String {
    let removed = prefix
        .join(SITE_MANIFEST)
        .map_err(|e| e.to_string())
        .and_then(|k| store.delete(&k).map_err(|e| e.to_string()));
    match removed {
        Ok(()) => format!("{e}; the manifest is removed: the next publish renders the site whole"),
        Err(why) => format!("{e}; removing the manifest failed too: {why}"),
    }
}

/// A store site's files by listing its prefix (a site written before manifests).
fn listed_files(store: &dyn ObjectStore, prefix: &Key) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut wanted = Vec::new();
    for k in store.list(prefix.as_str()).map_err(|e| e.to_string())? {
        let Some(rel) = k
            .as_str()
            .strip_prefix(prefix.as_str())
            .and_then(|r| r.strip_prefix('/'))
        else {
            continue;
        };
        if rel.starts_with(SITE_PACKS) {
            // Packed files are found only through the manifest, which is gone: pushing what
            // the listing shows would take most of the site off Pages.
            return Err(format!(
                "{prefix}: the site's files are packed and its manifest is gone or damaged (hint: the next publish renders the site whole, then it is pushed)"
            ));
        }
        if rel.starts_with('.') || rel == SITE_MARKER {
            continue;
        }
        wanted.push((rel.to_owned(), k.clone()));
    }
    // Fetched together: concurrently on S3.
    let keys: Vec<Key> = wanted.iter().map(|(_, k)| k.clone()).collect();
    let mut out = Vec::with_capacity(keys.len());
    for ((rel, _), bytes) in wanted.into_iter().zip(store.get_many(&keys)) {
        out.push((rel, bytes.map_err(|e| e.to_string())?));
    }
    Ok(out)
}

/// The generation a site's stamp names.
pub fn stamp_generation(bytes: &[u8]) -> Option<u64> {
    #[derive(serde::Deserialize)]
    struct Stamp {
        generation: u64,
    }
    serde_json::from_slice::<Stamp>(bytes)
        .ok()
        .map(|s| s.generation)
}

fn push_pages(sinks: &Sinks, cx: &Context<'_>) -> Result<String, String> {
    let target = sinks
        .config
        .pages
        .as_ref()
        .ok_or("no Pages repository is configured any more (hint: --pages)")?;
    let site = cx.site.ok_or("no site to publish (hint: --site)")?;
    let files = site_files(cx.store, site)?;
    let stamp = match &files {
        SiteFiles::Bytes(f) => f
            .iter()
            .find(|(p, _)| p == SITE_STAMP)
            .map(|(_, b)| b.as_slice()),
        SiteFiles::Known { stamp, .. } => stamp.as_deref(),
    };
    let generation = stamp.and_then(stamp_generation).unwrap_or(0);
    let pack_gone = std::cell::Cell::new(false);
    let load = |paths: &[String],
                each: &mut dyn FnMut(usize, Vec<u8>) -> Result<(), String>|
     -> Result<(), String> {
        let SiteFiles::Known { prefix, packed, .. } = &files else {
            return Err("no store site to read from".to_owned());
        };
        site_packs::read_files_each(cx.store, prefix, packed, paths, each).map_err(|e| {
            pack_gone.set(matches!(e, site_packs::SiteReadError::PackGone { .. }));
            format!("{prefix}: {e}")
        })
    };
    let to_push = match &files {
        SiteFiles::Bytes(f) => gitpub::Files::Bytes(f),
        SiteFiles::Known { ids, .. } => gitpub::Files::Known { ids, load: &load },
    };
    let seed = StoreSeed::of(cx.store, target)?;
    let r = gitpub::push_unless_newer(
        sinks.dest(target, &seed),
        to_push,
        sinks.config.pages_keep,
        &format!("sglci: site of generation {generation}"),
        (SITE_STAMP, &|head: Option<&[u8]>| {
            head.and_then(stamp_generation)
                .is_some_and(|g| g > generation)
        }),
    )
    .map_err(|e| match site {
        SiteTarget::Store(prefix) if pack_gone.get() => forget_manifest(cx.store, prefix, e),
        _ => e.to_string(),
    })?;
    Ok(match r {
        None => {
            format!("the branch holds a newer site than generation {generation}: left as it is")
        }
        Some(r) => format!(
            "generation {generation}: {} files, {} changed, commit {}{}",
            r.files,
            r.changed,
            r.commit.as_deref().unwrap_or("(unchanged)"),
            if r.squashed {
                " (history squashed)"
            } else {
                ""
            }
        ),
    })
}

fn send_card(sinks: &Sinks, sink: &CardSink, card: &Notification) -> Result<String, String> {
    match sink {
        CardSink::Teams => sinks
            .teams
            .as_ref()
            .ok_or("no Teams webhook is configured any more (hint: SGLCI_TEAMS_WEBHOOK_URL)")?
            .notify(card)
            .map_err(|e| e.to_string()),
        CardSink::Dir(dir) => FileNotifier { dir: dir.into() }
            .notify(card)
            .map_err(|e| e.to_string()),
        CardSink::Stdout => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", card.markdown)
                .and_then(|()| out.flush())
                .map_err(|e| format!("stdout: {e}"))?;
            Ok("stdout".to_owned())
        }
    }
}

fn sync_issues(sinks: &Sinks, cx: &Context<'_>) -> Result<String, String> {
    let gh = sinks
        .github
        .as_ref()
        .ok_or("no GitHub repository is configured any more (hint: GITHUB_REPOSITORY)")?;
    let (open, muted) =
        super::open_regressions(cx.store, cx.triage, sinks.config.dashboard.as_deref())
            .map_err(|e| e.to_string())?;
    let notes: Vec<Notification> = open.into_iter().map(|(_, n)| n).collect();
    let sync = gh
        .sync_regression_issues(&notes, &muted)
        .map_err(|e| e.to_string())?;
    Ok(format!(
        "issues opened {:?}, updated {:?}, closed {:?}",
        sync.opened, sync.updated, sync.closed
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::{site_packs, SiteManifest};
    use crate::site::RenderedSite;
    use sglci_core::store::MemoryStore;

    /// A store site of packed files with its manifest.
    fn packed_site(store: &MemoryStore, prefix: &Key) -> RenderedSite {
        let site: RenderedSite = [("index.html", "home"), ("hw/mi30x/20251019.html", "night")]
            .map(|(r, b)| (r.to_owned(), b.as_bytes().to_vec()))
            .into_iter()
            .collect();
        let pack = site_packs::pack(site.clone()).expect("pack");
        store
            .put(
                &crate::app::pack_key(prefix, &pack.name).expect("key"),
                &pack.bytes,
            )
            .expect("pack");
        let mut m = SiteManifest::default();
        for (rel, id, at) in pack.entries {
            m.files.insert(rel.clone(), id);
            m.packed.insert(rel, at);
        }
        let stored = m.objects(prefix).expect("objects");
        store.put_many(&stored.shards).expect("shards");
        let (k, b) = stored.root.expect("root");
        store.put(&k, &b).expect("root");
        site
    }

    #[test]
    fn a_packed_store_site_is_pushed_from_its_manifest_and_never_from_a_listing() {
        let store = MemoryStore::default();
        let prefix = Key::new("site").expect("key");
        let site = packed_site(&store, &prefix);
        let target = SiteTarget::Store(prefix.clone());
        let Ok(SiteFiles::Known { ids, packed, .. }) = site_files(&store, &target) else {
            panic!("a manifest's files");
        };
        let rels: Vec<String> = ids.iter().map(|(r, _)| r.clone()).collect();
        let mut got = RenderedSite::new();
        site_packs::read_files_each(&store, &prefix, &packed, &rels, &mut |i, b| {
            got.insert(rels[i].clone(), b);
            Ok(())
        })
        .expect("read");
        assert_eq!(got, site);
        // The manifest gone: a listing sees only the packs, and refuses to push.
        store
            .delete(&prefix.join(SITE_MANIFEST).expect("key"))
            .expect("delete");
        let Err(e) = site_files(&store, &target) else {
            panic!("a listing of a packed site is refused");
        };
        assert!(e.contains("packed") && e.contains("hint"), "{e}");
    }

    #[test]
    fn a_pack_found_gone_removes_the_manifest_so_the_next_publish_renders_whole() {
        let store = MemoryStore::default();
        let prefix = Key::new("site").expect("key");
        packed_site(&store, &prefix);
        let root = prefix.join(SITE_MANIFEST).expect("key");
        assert!(store.get(&root).is_ok());
        let e = forget_manifest(&store, &prefix, "push failed");
        assert!(e.starts_with("push failed") && e.contains("whole"), "{e}");
        assert!(matches!(store.get(&root), Err(StoreError::NotFound { .. })));
        assert!(
            crate::app::read_site_manifest(&store, &prefix)
                .expect("read")
                .is_none(),
            "no manifest: the next publish renders whole"
        );
    }
}
