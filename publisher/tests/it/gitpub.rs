//! F38 against real git: bare repositories on local paths stand in for the Pages branch and the
//! log repository (libgit2 on both sides, and the git binary to read them back where present).

use std::path::Path;

use sglci_publisher::gitpub::{self, Dest, GitCache, Mode};

pub(crate) fn bare(dir: &Path, name: &str) -> String {
    let p = dir.join(name);
    git2::Repository::init_bare(&p).expect("bare repository");
    p.display().to_string()
}

/// The files on `branch` of a repository, as (path, bytes).
pub(crate) fn tree_of(repo: &str, branch: &str) -> Vec<(String, Vec<u8>)> {
    let r = git2::Repository::open_bare(repo).expect("open");
    let head = r
        .find_reference(&format!("refs/heads/{branch}"))
        .expect("branch")
        .peel_to_commit()
        .expect("commit");
    let tree = head.tree().expect("tree");
    let mut out = Vec::new();
    tree.walk(git2::TreeWalkMode::PreOrder, |dir, e| {
        if e.kind() == Some(git2::ObjectType::Blob) {
            let blob = r.find_blob(e.id()).expect("blob");
            out.push((
                format!("{dir}{}", e.name().unwrap_or("")),
                blob.content().to_vec(),
            ));
        }
        git2::TreeWalkResult::Ok
    })
    .expect("walk");
    out.sort();
    out
}

pub(crate) fn history_len(repo: &str, branch: &str) -> usize {
    let r = git2::Repository::open_bare(repo).expect("open");
    let mut walk = r.revwalk().expect("walk");
    walk.push_ref(&format!("refs/heads/{branch}"))
        .expect("push");
    walk.count()
}

fn files(prefix: &str, n: usize) -> Vec<(String, Vec<u8>)> {
    (0..n)
        .map(|i| {
            (
                format!("{prefix}/file-{i}.log"),
                format!("{prefix} line {i}\n").into_bytes(),
            )
        })
        .collect()
}

#[test]
fn log_repository_is_append_only_and_concurrent_pushes_both_land() {
    let tmp = tempfile::tempdir().expect("tmp");
    let remote = bare(tmp.path(), "logs.git");
    let first = files("online_benchmark_log/mi30x/GROK1/run-a", 3);
    let log = Dest::new(&remote, "log", None);
    let r = gitpub::push(log, &first, Mode::Append, "run a").expect("push");
    assert_eq!((r.changed, r.retries), (3, 0));
    // The same files again: nothing to commit.
    let again = gitpub::push(log, &first, Mode::Append, "run a").expect("push");
    assert_eq!(again.commit, None);
    assert_eq!(
        gitpub::plan(log, &first).expect("plan"),
        Vec::<String>::new()
    );

    // Eight publishers at once, each with its own run, half of them sharing one git cache (one
    // holds it at a time, the others work in scratch repositories): every one lands, nothing
    // is lost.
    let cache = GitCache {
        dir: tmp.path().join("cache"),
        max_bytes: 1 << 30,
    };
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let (remote, cache) = (remote.clone(), cache.clone());
            std::thread::spawn(move || {
                let f = files(&format!("test/sanity_check_log/mi35x/run-{i}"), 2);
                let dest = Dest::new(&remote, "log", None).cached((i % 2 == 0).then_some(&cache));
                gitpub::push(dest, &f, Mode::Append, &format!("run {i}"))
            })
        })
        .collect();
    let reports: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().expect("thread").expect("push"))
        .collect();
    let tree = tree_of(&remote, "log");
    assert_eq!(
        tree.len(),
        3 + 8 * 2,
        "{:?}",
        tree.iter().map(|t| &t.0).collect::<Vec<_>>()
    );
    assert!(
        tree.contains(&first[0]),
        "earlier files are kept (append-only)"
    );
    let retried: usize = reports.iter().map(|r| r.retries).sum();
    assert_eq!(
        history_len(&remote, "log"),
        1 + 8,
        "one commit per publisher ({retried} retries)"
    );
}

#[test]
fn pages_history_stays_bounded_over_fifty_publishes() {
    let tmp = tempfile::tempdir().expect("tmp");
    let remote = bare(tmp.path(), "site.git");
    for night in 0..50 {
        let site = vec![
            (
                "index.html".to_owned(),
                format!("<p>night {night}</p>").into_bytes(),
            ),
            (format!("hw/mi30x/night-{night}.html"), b"<p>x</p>".to_vec()),
        ];
        let r = gitpub::push(
            Dest::new(&remote, "gh-pages", None),
            &site,
            Mode::Replace { keep: 5 },
            "site",
        )
        .expect("push");
        assert!(r.commit.is_some());
        assert!(history_len(&remote, "gh-pages") <= 5);
    }
    // Exactly the last site: earlier nights' pages are gone from the tree.
    let tree = tree_of(&remote, "gh-pages");
    assert_eq!(tree.len(), 2);
    assert_eq!(tree[0].1, b"<p>x</p>".to_vec());
    assert!(tree
        .iter()
        .any(|(p, b)| p == "index.html" && b == b"<p>night 49</p>"));
    // The repository's objects stay bounded too once unreachable history is collected: the
    // branch never references more than `keep` commits.
    assert!(history_len(&remote, "gh-pages") <= 5);
}

/// The bytes of the cache's files (its repositories' objects, loose and packed).
fn cache_bytes(cache: &GitCache) -> u64 {
    fn walk(d: &Path) -> u64 {
        std::fs::read_dir(d).map_or(0, |rd| {
            rd.flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => walk(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
    }
    walk(&cache.dir)
}

/// `n` pages of 2 KiB that do not compress (so that fetching them again would show).
fn pages(n: usize) -> Vec<(String, Vec<u8>)> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|i| {
            let bytes = (0..2048)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x >> 24) as u8
                })
                .collect();
            (format!("hw/page-{i}.html"), bytes)
        })
        .collect()
}

/// A cached push equals an uncached one whatever happened to the branch meanwhile: another
/// publisher pushed, the branch was deleted and made again with other content, or the cache
/// was damaged or outgrew its bound. And the cache does its job: a push of one changed file
/// to a large site writes a handful of objects into it, not the site again.
#[test]
fn a_cached_push_fetches_only_what_is_new_and_survives_whatever_the_branch_went_through() {
    let tmp = tempfile::tempdir().expect("tmp");
    let remote = bare(tmp.path(), "site.git");
    let cache = GitCache {
        dir: tmp.path().join("cache"),
        max_bytes: 1 << 30,
    };
    let cached = Dest::new(&remote, "gh-pages", None).cached(Some(&cache));
    let plain = Dest::new(&remote, "gh-pages", None);
    let mut site = pages(400);
    let push = |dest, site: &[(String, Vec<u8>)], msg: &str| {
        gitpub::push(dest, site, Mode::Replace { keep: 10 }, msg).expect(msg)
    };
    push(cached, &site, "first");
    let after_first = cache_bytes(&cache);
    assert!(after_first > 400 * 2048, "{after_first}");
    // One page changes: the cached repository gains the new blob, its trees and the commit,
    // not the branch's 800 KiB again.
    site[7].1 = b"changed\n".to_vec();
    let r = push(cached, &site, "one page");
    assert_eq!(r.changed, 1);
    let grown = cache_bytes(&cache) - after_first;
    assert!(grown < 16 << 10, "{grown} bytes for one changed page");
    assert_eq!(tree_of(&remote, "gh-pages"), {
        let mut s = site.clone();
        s.sort();
        s
    });

    // Another publisher (no cache) pushes; the cached one builds on its commit.
    site[8].1 = b"theirs\n".to_vec();
    push(plain, &site, "another publisher");
    site[9].1 = b"ours\n".to_vec();
    let before = cache_bytes(&cache);
    let r = push(cached, &site, "after theirs");
    assert_eq!(r.changed, 1, "only our page differs from their commit");
    // Their commit came with what it added, not with the whole branch.
    let grown = cache_bytes(&cache) - before;
    assert!(grown < 32 << 10, "{grown} bytes for their page and ours");
    assert_eq!(history_len(&remote, "gh-pages"), 4);

    // The branch deleted and made again with other content: the cache's memory of it is stale.
    {
        let repo = git2::Repository::open_bare(&remote).expect("open");
        repo.find_reference("refs/heads/gh-pages")
            .expect("ref")
            .delete()
            .expect("delete");
    }
    push(plain, &files("other", 3), "a new branch");
    let r = push(cached, &site, "over the new branch");
    assert_eq!(r.changed, site.len());
    assert_eq!(history_len(&remote, "gh-pages"), 2);

    // A damaged cache is started afresh; so is one past its bound.
    for entry in std::fs::read_dir(&cache.dir).expect("cache") {
        let p = entry.expect("entry").path();
        if p.is_dir() {
            std::fs::remove_dir_all(p.join("objects")).expect("damage");
            std::fs::write(p.join("HEAD"), b"garbage").expect("damage");
        }
    }
    site[10].1 = b"after the damage\n".to_vec();
    assert_eq!(push(cached, &site, "damaged cache").changed, 1);
    let small = GitCache {
        max_bytes: 1,
        ..cache.clone()
    };
    site[11].1 = b"past the bound\n".to_vec();
    let r = push(
        Dest::new(&remote, "gh-pages", None).cached(Some(&small)),
        &site,
        "bounded",
    );
    assert_eq!(r.changed, 1);
    let mut want = site.clone();
    want.sort();
    assert_eq!(tree_of(&remote, "gh-pages"), want);
}

#[test]
fn bad_paths_are_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let remote = bare(tmp.path(), "r.git");
    for p in ["../escape", "/abs", "a//b", ".git/config"] {
        let e = gitpub::push(
            Dest::new(&remote, "log", None),
            &[(p.to_owned(), vec![1])],
            Mode::Append,
            "m",
        )
        .expect_err(p);
        assert!(e.to_string().contains(p), "{e}");
    }
}

use crate::common;

/// `sglci-publisher publish`: a stored bundle's raw files go to the log repository at their
/// log-layout paths, the site to Pages; every raw-log link on the site resolves to a file in the
/// log repository; `--dry-run` pushes nothing.
#[test]
fn publish_pushes_logs_and_site_and_links_resolve() {
    use sglci_core::store::ObjectStore as _;
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let store_dir = dir.join("store");
    let store = sglci_core::backend::DirStore::new(&store_dir);
    let manifest = common::ship_sample(&store, "grok1-1210", common::GROK1_1210, false);
    let queue = sglci_core::backend::SpoolQueue::new(&store_dir.join("queue"));
    sglci_core::queue::Queue::send(&queue, &sglci_core::bundle::Announcement::body(&manifest))
        .expect("announce");
    assert!(store.get(&manifest).is_ok());
    let logs = bare(dir, "logs.git");
    let pages = bare(dir, "pages.git");
    let bin = env!("CARGO_BIN_EXE_sglci-publisher");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(bin)
            .arg("--store")
            .arg(&store_dir)
            .args(args)
            .output()
            .expect("publisher");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run(&["ingest", "--pending"]);
    let site = dir.join("site");
    let site_s = site.display().to_string();
    let prefix = "https://github.com/example/logs/blob/log/";
    run(&["site", "--out", &site_s, "--logs-url", prefix, "--no-png"]);

    let dry = run(&[
        "publish",
        "--log-repo",
        &logs,
        "--site",
        &site_s,
        "--pages",
        &pages,
        "--dry-run",
    ]);
    let v: serde_json::Value = serde_json::from_str(&dry).expect("json");
    assert_eq!(
        v["log_repo"]["would_push"].as_array().map(Vec::len),
        Some(8),
        "{v:#}"
    );
    assert!(
        git2::Repository::open_bare(&logs)
            .expect("open")
            .find_reference("refs/heads/log")
            .is_err(),
        "dry run pushed nothing"
    );

    let done = run(&[
        "publish",
        "--log-repo",
        &logs,
        "--site",
        &site_s,
        "--pages",
        &pages,
    ]);
    let v: serde_json::Value = serde_json::from_str(&done).expect("json");
    assert!(
        v["log_repo"]["commit"].is_string() && v["pages"]["commit"].is_string(),
        "{v:#}"
    );

    // Every raw-log link of the run page names a file on the log branch.
    let log_tree: std::collections::BTreeSet<String> =
        tree_of(&logs, "log").into_iter().map(|(p, _)| p).collect();
    let page = std::fs::read_to_string(site.join(sglci_publisher::site::paths::run_page(
        &format!("online_benchmark_log/mi30x/GROK1/{}", common::GROK1_1210),
    )))
    .expect("run page");
    let page = page.replace("&#x2F;", "/");
    let links: Vec<&str> = page
        .split("href=\"")
        .skip(1)
        .filter_map(|h| h.split('"').next())
        .filter_map(|h| h.strip_prefix(prefix))
        .collect();
    assert!(links.len() >= 7, "{links:?}");
    for l in &links {
        assert!(log_tree.contains(*l), "{l} is not in the log repository");
    }
    let pages_tree = tree_of(&pages, "gh-pages");
    assert!(pages_tree.iter().any(|(p, _)| p == "index.html"));
    assert!(
        !pages_tree.iter().any(|(p, _)| p.starts_with(".sglci")),
        "the site marker stays local"
    );
}

#[path = "../../benches/support/git_daemon.rs"]
mod git_daemon;

/// A branch's seed kept in memory (the store behind it is the publisher's object store, whose
/// own contract is checked by the store conformance suite); counts its writes.
#[derive(Default)]
struct Seeds {
    bytes: std::sync::Mutex<Option<Vec<u8>>>,
    writes: std::sync::atomic::AtomicUsize,
}

impl gitpub::SeedStore for Seeds {
    fn read(&self) -> Result<Option<Vec<u8>>, String> {
        Ok(self.bytes.lock().expect("lock").clone())
    }
    fn write(&self, bytes: &[u8]) -> Result<(), String> {
        self.writes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        *self.bytes.lock().expect("lock") = Some(bytes.to_vec());
        Ok(())
    }
}

fn blob_id(bytes: &[u8]) -> git2::Oid {
    git2::Oid::hash_object(git2::ObjectType::Blob, bytes).expect("hash")
}

fn stamp(generation: u64) -> (String, Vec<u8>) {
    (
        "sglci.json".to_owned(),
        format!("{{\"generation\":{generation}}}").into_bytes(),
    )
}

fn generation_of(bytes: Option<&[u8]>) -> Option<u64> {
    let text = std::str::from_utf8(bytes?).ok()?;
    text.trim_start_matches("{\"generation\":")
        .trim_end_matches('}')
        .parse()
        .ok()
}

/// Pushes `site` as the Pages push does (blob ids, a loader, the stamp guard) from a fresh
/// cache folder, as a cold container; returns the report (`None`: left out) and the paths read.
fn push_fresh(
    remote: &str,
    cache_dir: &Path,
    seeds: &Seeds,
    site: &[(String, Vec<u8>)],
    generation: u64,
) -> (Option<gitpub::PushReport>, Vec<String>) {
    let cache = GitCache {
        dir: cache_dir.to_path_buf(),
        max_bytes: 1 << 30,
    };
    let ids: Vec<(String, git2::Oid)> = site.iter().map(|(p, b)| (p.clone(), blob_id(b))).collect();
    let read = std::sync::Mutex::new(Vec::new());
    let load = |paths: &[String],
                each: &mut dyn FnMut(usize, Vec<u8>) -> Result<(), String>|
     -> Result<(), String> {
        read.lock().expect("lock").extend(paths.iter().cloned());
        // Handed over last to first: the receiver places each by its index.
        for (i, p) in paths.iter().enumerate().rev() {
            let bytes = site
                .iter()
                .find(|(q, _)| q == p)
                .expect("asked for a file of the site")
                .1
                .clone();
            each(i, bytes)?;
        }
        Ok(())
    };
    let dest = Dest::new(remote, "gh-pages", None)
        .cached(Some(&cache))
        .seeded(Some(seeds));
    let r = gitpub::push_unless_newer(
        dest,
        gitpub::Files::Known {
            ids: &ids,
            load: &load,
        },
        3,
        &format!("site of generation {generation}"),
        ("sglci.json", &|head: Option<&[u8]>| {
            generation_of(head).is_some_and(|g| g > generation)
        }),
    )
    .expect("push");
    let mut read = read.into_inner().expect("lock");
    read.sort();
    (r, read)
}

/// The head the cached repository under `cache_dir` last pushed or fetched (`None`: no cached
/// repository, as after a push that failed in it and was made again in a scratch one).
fn cached_head(cache_dir: &Path) -> Option<git2::Oid> {
    let dir = std::fs::read_dir(cache_dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.is_dir())?;
    let repo = git2::Repository::open_bare(dir).ok()?;
    let head = repo
        .find_reference("refs/remotes/origin/gh-pages")
        .ok()?
        .target();
    head
}

fn remote_head(remote_dir: &str) -> Option<git2::Oid> {
    let repo = git2::Repository::open_bare(remote_dir).ok()?;
    let head = repo.find_reference("refs/heads/gh-pages").ok()?.target();
    head
}

/// What a seeded push must do, on one transport.
fn check_seeded_pushes(remote: &str, remote_dir: &str, tmp: &Path) {
    let seeds = Seeds::default();
    let mut site = pages(400);
    site.push(stamp(1));
    let sorted = |s: &[(String, Vec<u8>)]| {
        let mut s = s.to_vec();
        s.sort();
        s
    };
    // No seed yet: the whole branch is fetched (here, there is none) and the push leaves one,
    // far smaller than the site (commits and trees, no pages).
    let (r, read) = push_fresh(remote, &tmp.join("c1"), &seeds, &site, 1);
    assert_eq!(r.expect("pushed").changed, site.len());
    assert_eq!(read.len(), site.len());
    let seed_len = seeds
        .bytes
        .lock()
        .expect("lock")
        .as_ref()
        .map_or(0, Vec::len);
    assert!(
        seed_len > 0 && seed_len < 16 << 10,
        "seed of {seed_len} bytes"
    );

    // A cold container: one page and the stamp change. It starts from the seed, reads only the
    // two files, fetches nothing, and its cache stays small.
    site[7].1 = b"changed\n".to_vec();
    *site.last_mut().expect("stamp") = stamp(2);
    let (r, read) = push_fresh(remote, &tmp.join("c2"), &seeds, &site, 2);
    assert_eq!(r.expect("pushed").changed, 2);
    assert_eq!(
        read,
        vec!["hw/page-7.html".to_owned(), "sglci.json".to_owned()]
    );
    let cache = GitCache {
        dir: tmp.join("c2"),
        max_bytes: 0,
    };
    assert!(
        cache_bytes(&cache) < 64 << 10,
        "{} bytes cached",
        cache_bytes(&cache)
    );
    assert_eq!(tree_of(remote_dir, "gh-pages"), sorted(&site));
    assert_eq!(
        cached_head(&tmp.join("c2")),
        remote_head(remote_dir),
        "the push was made in the seeded repository, not again in a scratch one"
    );

    // A lagging publisher, from the seed: the stamp it guards on comes with the seed, so it
    // sees the newer site and leaves it.
    let (r, read) = push_fresh(remote, &tmp.join("c3"), &seeds, &pages(3), 1);
    assert!(r.is_none(), "a newer site was replaced: {r:?}");
    assert!(read.is_empty());

    // The branch moved past the seed (a publisher without one changed many pages): a seeded
    // push still lands exactly its site.
    let mut theirs = site.clone();
    for (_, b) in theirs.iter_mut().take(50) {
        b.extend_from_slice(b" theirs");
    }
    *theirs.last_mut().expect("stamp") = stamp(3);
    gitpub::push(
        Dest::new(remote, "gh-pages", None),
        &theirs,
        Mode::Replace { keep: 3 },
        "theirs",
    )
    .expect("theirs");
    site[9].1 = b"ours\n".to_vec();
    *site.last_mut().expect("stamp") = stamp(4);
    let (r, read) = push_fresh(remote, &tmp.join("c4"), &seeds, &site, 4);
    assert!(r.expect("pushed").commit.is_some());
    assert_eq!(tree_of(remote_dir, "gh-pages"), sorted(&site));
    // Read: at most what differs from their head (their 50 pages, ours, the stamp). Over the
    // git protocol the remote sends their pages as deltas against blobs the seed left out, so
    // the push is made again in a scratch repository that fetched the branch (reading 2).
    assert!(read.len() <= 51, "{} files read", read.len());
    let seed_tip = || {
        let bytes = seeds.bytes.lock().expect("lock").clone().expect("seed");
        gitpub::seed::decode(&bytes).expect("seed").0
    };
    assert_eq!(
        Some(seed_tip()),
        remote_head(remote_dir),
        "a seed of the new head, however the push went"
    );

    // Seeds that cannot be used cost a whole fetch, never the push: garbage, a pack cut short,
    // a tip that is not in the pack. Each push leaves a good seed again.
    let good = seeds.bytes.lock().expect("lock").clone().expect("seed");
    let tip_elsewhere = {
        let mut b = good.clone();
        let at = "sglci-git-seed 1 ".len();
        b[at..at + 40].copy_from_slice(&[b'a'; 40]);
        b
    };
    for (i, bad) in [
        b"garbage".to_vec(),
        good[..good.len() / 2].to_vec(),
        tip_elsewhere,
    ]
    .into_iter()
    .enumerate()
    {
        *seeds.bytes.lock().expect("lock") = Some(bad);
        site[20 + i].1 = format!("after bad seed {i}\n").into_bytes();
        *site.last_mut().expect("stamp") = stamp(5 + i as u64);
        let (r, _) = push_fresh(
            remote,
            &tmp.join(format!("bad-{i}")),
            &seeds,
            &site,
            5 + i as u64,
        );
        assert!(r.expect("pushed").commit.is_some());
        assert_eq!(tree_of(remote_dir, "gh-pages"), sorted(&site));
        assert_eq!(
            Some(seed_tip()),
            remote_head(remote_dir),
            "a good seed again"
        );
    }
    // The history's bound holds when every push starts from a seed (its commits are in it).
    assert!(history_len(remote_dir, "gh-pages") <= 3);
    assert!(seeds.writes.load(std::sync::atomic::Ordering::Relaxed) >= 6);

    // The log repository (append) from a seed: earlier files stay, other content is refused.
    let logs_seed = Seeds::default();
    let logs = remote.replace("site.git", "logs.git");
    let logs_dir = remote_dir.replace("site.git", "logs.git");
    let first = files("online_benchmark_log/mi30x/run-a", 300);
    let log_dest = |dir: &str, cache: &GitCache| {
        let _ = dir;
        gitpub::push(
            Dest::new(&logs, "log", None)
                .cached(Some(cache))
                .seeded(Some(&logs_seed)),
            &first,
            Mode::Append,
            "run a",
        )
        .expect("push")
    };
    let c = |n: &str| GitCache {
        dir: tmp.join(n),
        max_bytes: 1 << 30,
    };
    assert_eq!(log_dest("l1", &c("l1")).changed, 300);
    let mut second = files("online_benchmark_log/mi30x/run-b", 2);
    second.push((first[0].0.clone(), b"other content\n".to_vec()));
    let r = gitpub::push(
        Dest::new(&logs, "log", None)
            .cached(Some(&c("l2")))
            .seeded(Some(&logs_seed)),
        &second,
        Mode::Append,
        "run b",
    )
    .expect("push");
    assert_eq!(
        (r.changed, r.refused.clone()),
        (2, vec![first[0].0.clone()])
    );
    let tree = tree_of(&logs_dir, "log");
    assert_eq!(tree.len(), 302);
    assert!(tree.contains(&first[0]));
    assert!(
        cache_bytes(&c("l2")) < 64 << 10,
        "the log push fetched the branch again"
    );
}

/// A cold container's push starts from the seed the last push left (commits and trees, not
/// files): it reads only the files that changed and fetches nothing when the branch has not
/// moved; a branch that moved, a lagging publisher, a bad seed and the history's bound all
/// behave as without a seed. On a path remote and over the git protocol (`git daemon`: thin
/// packs and a real push).
#[test]
fn a_fresh_repository_starts_from_the_seed_and_pushes_what_an_unseeded_one_would() {
    let tmp = tempfile::tempdir().expect("tmp");
    let served = tmp.path().join("served");
    std::fs::create_dir_all(&served).expect("dir");
    for name in ["site.git", "logs.git"] {
        let dir = bare(&served, name);
        let repo = git2::Repository::open_bare(&dir).expect("open");
        let mut config = repo.config().expect("config");
        config.set_bool("receive.autogc", false).expect("config");
        config.set_i32("gc.auto", 0).expect("config");
    }
    let site_dir = served.join("site.git").display().to_string();
    let work = tmp.path().join("path");
    check_seeded_pushes(&site_dir, &site_dir, &work);

    for name in ["site.git", "logs.git"] {
        std::fs::remove_dir_all(served.join(name)).expect("clean");
        let dir = bare(&served, name);
        let repo = git2::Repository::open_bare(&dir).expect("open");
        let mut config = repo.config().expect("config");
        config.set_bool("receive.autogc", false).expect("config");
        config.set_i32("gc.auto", 0).expect("config");
    }
    let daemon =
        git_daemon::GitDaemon::start(&served).expect("git daemon (git is installed by .ci/run)");
    check_seeded_pushes(
        &daemon.url("site.git"),
        &site_dir,
        &tmp.path().join("daemon"),
    );
}
