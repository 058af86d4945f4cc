//! Hostile input against the publisher (issue "Hardening"): each test is named for the behaviour
//! it pins, on the real backends that run here (the directory store, a real bare git repository,
//! a real `serve` on loopback).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use sglci_publisher::serve::{serve, ServeConfig, MAX_CONNECTIONS};

/// A `serve` on a free loopback port over a site and a log tree; returns its address and root.
fn start_serve() -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tmp");
    let site = dir.path().join("site");
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(site.join("hw")).expect("mkdir");
    std::fs::create_dir_all(logs.join(".git")).expect("mkdir");
    std::fs::write(site.join("index.html"), "<h1>site</h1>").expect("write");
    std::fs::write(logs.join(".git/config"), "[remote]").expect("write");
    std::fs::write(dir.path().join("host-secret.txt"), "host file").expect("write");
    std::os::unix::fs::symlink(
        dir.path().join("host-secret.txt"),
        site.join("hw/link.html"),
    )
    .expect("symlink");
    std::os::unix::fs::symlink(dir.path(), logs.join("up")).expect("symlink");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let cfg = ServeConfig {
        site,
        logs: vec![logs],
    };
    std::thread::spawn(move || serve(listener, cfg));
    (addr, dir)
}

fn send(addr: &str, raw: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let _ = s.write_all(raw);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn get(addr: &str, path: &str, host: &str) -> String {
    send(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes(),
    )
}

#[test]
fn serve_refuses_symlinks_out_of_its_roots_dotfiles_and_foreign_hosts() {
    let (addr, _dir) = start_serve();
    assert!(
        get(&addr, "/", &addr).starts_with("HTTP/1.1 200"),
        "the site is served"
    );
    for path in [
        "/hw/link.html",
        "/logs/up/host-secret.txt",
        "/logs/.git/config",
        "/logs/%2egit/config",
    ] {
        let r = get(&addr, path, &addr);
        assert!(r.starts_with("HTTP/1.1 404"), "{path}: {r}");
        assert!(
            !r.contains("host file") && !r.contains("[remote]"),
            "{path}: {r}"
        );
    }
    for host in [
        "evil.example",
        "evil.example:80",
        "127.0.0.1.evil.example",
        "[::2]:80",
    ] {
        let r = get(&addr, "/", host);
        assert!(r.starts_with("HTTP/1.1 421"), "Host {host}: {r}");
    }
    for host in ["localhost", "127.0.0.1", "[::1]:8080", &addr] {
        assert!(
            get(&addr, "/", host).starts_with("HTTP/1.1 200"),
            "Host {host}"
        );
    }
    let no_host = send(&addr, b"GET / HTTP/1.1\r\n\r\n");
    assert!(no_host.starts_with("HTTP/1.1 421"), "{no_host}");
}

#[test]
fn serve_caps_the_request_line_and_the_headers() {
    let (addr, _dir) = start_serve();
    let long = format!(
        "GET /{} HTTP/1.1\r\nHost: {addr}\r\n\r\n",
        "a".repeat(20_000)
    );
    assert!(send(&addr, long.as_bytes()).starts_with("HTTP/1.1 414"));
    let mut many = format!("GET / HTTP/1.1\r\nHost: {addr}\r\n");
    for i in 0..500 {
        many.push_str(&format!("X-{i}: y\r\n"));
    }
    many.push_str("\r\n");
    assert!(send(&addr, many.as_bytes()).starts_with("HTTP/1.1 431"));
}

#[test]
fn serve_caps_connections_and_times_out_idle_ones() {
    let (addr, _dir) = start_serve();
    // Idle connections up to the cap, then one more: it is answered at once, 503.
    let idle: Vec<TcpStream> = (0..MAX_CONNECTIONS + 28)
        .map(|_| TcpStream::connect(&addr).expect("connect"))
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let busy = get(&addr, "/", &addr);
    assert!(busy.starts_with("HTTP/1.1 503"), "{busy}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // The idle ones time out and are closed; then requests are served again.
    let deadline = Instant::now() + Duration::from_secs(30);
    let served = loop {
        let r = get(&addr, "/", &addr);
        if r.starts_with("HTTP/1.1 200") || Instant::now() > deadline {
            break r;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(
        served.starts_with("HTTP/1.1 200"),
        "after the idle timeout: {served}"
    );
    drop(idle);
}

// ---------------------------------------------------------------- bundles are untrusted input

use sglci_core::backend::{DirStore, SpoolQueue};
use sglci_core::bundle::{manifest_for, upload, Announcement};
use sglci_core::queue::{Message, Queue};
use sglci_core::store::{Key, ObjectStore, StoreError, Version};
use sglci_publisher::app;

use crate::common::{self, GROK1_1206, GROK1_1210, NOW};

/// Sends an announcement of `manifest` and drains the queue; returns the report.
fn announce_and_drain(store_dir: &std::path::Path, manifests: &[&str]) -> app::PendingReport {
    let queue = SpoolQueue::new(&store_dir.join("queue"));
    for m in manifests {
        queue
            .send(&format!(r#"{{"schema":1,"manifest":"{m}"}}"#))
            .expect("send");
    }
    app::ingest_pending(&DirStore::new(store_dir), &queue, None, NOW).expect("drain")
}

fn reason_of<'a>(r: &'a app::PendingReport, needle: &str) -> &'a str {
    r.quarantined
        .iter()
        .map(|(_, reason)| reason.as_str())
        .find(|reason| reason.contains(needle))
        .unwrap_or_else(|| panic!("no quarantine reason with {needle:?}: {r:?}"))
}

#[test]
fn a_bundle_must_be_stored_under_its_own_identity() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = DirStore::new(tmp.path());
    // A valid bundle, then its manifest copied outside runs/ and under another run's key.
    let good = common::ship_sample(&store, "grok1-1210", GROK1_1210, false);
    let manifest = store.get(&good).expect("manifest");
    let elsewhere = Key::new("uploads/grok1-1210/manifest.json").expect("key");
    store.put(&elsewhere, &manifest).expect("put");
    let stolen = Key::new("runs/mi30x/20251210/victim-run/manifest.json").expect("key");
    store.put(&stolen, &manifest).expect("put");
    let r = announce_and_drain(tmp.path(), &[elsewhere.as_str(), stolen.as_str()]);
    assert!(r.ingested.is_empty(), "{r:?}");
    assert_eq!(r.quarantined.len(), 2, "{r:?}");
    for (_, reason) in &r.quarantined {
        assert!(reason.contains("stored under the wrong key"), "{reason}");
    }
}

#[test]
fn a_manifest_listing_a_file_twice_is_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = DirStore::new(tmp.path());
    let mut files = common::sample_run(GROK1_1210);
    files.push(files[0].clone());
    let m = manifest_for("dup", "mi30x", "20251210", "img", "s", &files);
    let key = upload(&store, &m, &files).expect("upload");
    let r = announce_and_drain(tmp.path(), &[key.as_str()]);
    assert!(reason_of(&r, "is listed twice").contains(&files[0].0));
    assert!(r.ingested.is_empty());
}

#[test]
fn bundle_sizes_are_checked_before_any_byte_is_read() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = DirStore::new(tmp.path());
    let files = common::sample_run(GROK1_1210);
    let m = manifest_for("sparse", "mi30x", "20251210", "img", "s", &files);
    let key = upload(&store, &m, &files).expect("upload");
    // The stored file becomes a sparse 1.5 GiB file: refused by its size, unread.
    let path = tmp
        .path()
        .join("runs/mi30x/20251210/sparse/files")
        .join(&files[0].0);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .expect("open")
        .set_len(3 << 29)
        .expect("sparse");
    let started = Instant::now();
    let e = sglci_core::bundle::fetch(&store, &key).expect_err("refused");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "read without reading"
    );
    assert!(e.to_string().contains("1610612736 bytes stored"), "{e}");
    // A manifest that declares a file over the configured limit is refused before any file.
    let limits = sglci_publisher::config::parse_limits(Some("1"), None).expect("limits");
    let mut big = files.clone();
    big.push((
        "online_benchmark_log/mi30x/GROK1/x/huge.log".into(),
        vec![b'x'; (1 << 20) + 1],
    ));
    let m = manifest_for("big", "mi30x", "20251210", "img", "s", &big);
    let key = upload(&store, &m, &big).expect("upload");
    let e = sglci_core::bundle::fetch_within(&store, &key, &limits).expect_err("refused");
    assert!(
        e.to_string()
            .contains("huge.log: 1048577 bytes (limit 1048576"),
        "{e}"
    );
    assert!(sglci_publisher::config::parse_limits(Some("lots"), None).is_err());
}

#[test]
fn a_bundle_file_that_is_a_symlink_is_refused_not_published() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store_dir = tmp.path().join("store");
    let store = DirStore::new(&store_dir);
    let host_file = tmp.path().join("host-secret.txt");
    std::fs::write(&host_file, "host secret").expect("write");
    let files = vec![(
        format!("online_benchmark_log/mi30x/GROK1/{GROK1_1210}/leak.log"),
        b"host secret".to_vec(),
    )];
    let m = manifest_for("link", "mi30x", "20251210", "img", "s", &files);
    let key = upload(&store, &m, &files).expect("upload");
    let stored = store_dir
        .join("runs/mi30x/20251210/link/files")
        .join(&files[0].0);
    std::fs::remove_file(&stored).expect("rm");
    std::os::unix::fs::symlink(&host_file, &stored).expect("symlink");
    let e = sglci_core::bundle::fetch(&store, &key).expect_err("refused");
    assert!(e.to_string().contains("symbolic link"), "{e}");
    // A linked folder on the way is refused too.
    std::fs::remove_file(&stored).expect("rm");
    let run_files = store_dir.join("runs/mi30x/20251210/link/files");
    std::fs::remove_dir_all(&run_files).expect("rm");
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(outside.join(std::path::Path::new(&files[0].0).parent().expect("dir")))
        .expect("mkdir");
    std::fs::write(outside.join(&files[0].0), "host secret").expect("write");
    std::os::unix::fs::symlink(&outside, &run_files).expect("symlink");
    let e = sglci_core::bundle::fetch(&store, &key).expect_err("refused");
    assert!(e.to_string().contains("outside the store's root"), "{e}");
    let logs = app::log_files(&store, &Default::default()).expect("log files");
    assert!(logs.files.is_empty() && logs.skipped.len() == 1, "{logs:?}");
}

/// A store that panics when one key is read (a parser or backend bug meeting hostile input).
struct PanicsOn<'a>(&'a DirStore, String);

impl ObjectStore for PanicsOn<'_> {
    fn get_versioned(&self, key: &Key) -> Result<(Vec<u8>, Version), StoreError> {
        if key.as_str() == self.1 {
            panic!("planted panic reading {key}");
        }
        self.0.get_versioned(key)
    }
    fn get_at_most(&self, key: &Key, max: u64) -> Result<Vec<u8>, StoreError> {
        if key.as_str() == self.1 {
            panic!("planted panic reading {key}");
        }
        self.0.get_at_most(key, max)
    }
    fn put(&self, key: &Key, bytes: &[u8]) -> Result<(), StoreError> {
        self.0.put(key, bytes)
    }
    fn put_if_absent(&self, key: &Key, bytes: &[u8]) -> Result<(), StoreError> {
        self.0.put_if_absent(key, bytes)
    }
    fn put_if_match(&self, key: &Key, bytes: &[u8], v: &Version) -> Result<(), StoreError> {
        self.0.put_if_match(key, bytes, v)
    }
    fn delete(&self, key: &Key) -> Result<(), StoreError> {
        self.0.delete(key)
    }
    fn list(&self, prefix: &str) -> Result<Vec<Key>, StoreError> {
        self.0.list(prefix)
    }
    fn children(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.0.children(prefix)
    }
}

#[test]
fn a_panic_in_one_message_fails_that_message_only() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = DirStore::new(tmp.path());
    let bad = common::ship_sample(&dir, "grok1-1206", GROK1_1206, false);
    let good = common::ship_sample(&dir, "grok1-1210", GROK1_1210, false);
    let store = PanicsOn(&dir, bad.to_string());
    let msg = |id: &str, key: &Key| Message {
        id: id.into(),
        receipt: id.into(),
        body: Announcement::body(key),
        receive_count: 1,
    };
    let hostile = Message {
        body: r#"{"Records":[{"s3":{"object":{"key":"runs/%é/%E2%82/manifest.json%"}}}]}"#.into(),
        ..msg("m0", &good)
    };
    let (report, outcomes) = app::handle_batch(
        &store,
        &[hostile, msg("m1", &bad), msg("m2", &good)],
        None,
        NOW,
    )
    .expect("the batch is handled");
    assert!(
        matches!(&outcomes[0], app::MessageOutcome::Failed(r) if r.contains("not UTF-8")),
        "{outcomes:?}"
    );
    assert!(
        matches!(&outcomes[1], app::MessageOutcome::Failed(r) if r.contains("panicked")),
        "{outcomes:?}"
    );
    assert_eq!(outcomes[2], app::MessageOutcome::Done);
    assert_eq!(report.ingested.len(), 1);
    assert!(
        tmp.path().join("quarantine/m1.json").is_file(),
        "the reason is kept"
    );
}

// ---------------------------------------------------------------- publish

fn publisher(store_dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_sglci-publisher"))
        .arg("--store")
        .arg(store_dir)
        .args(args)
        .output()
        .expect("publisher")
}

/// The tree at the head of the `log` branch.
fn log_tree(repo: &git2::Repository) -> git2::Tree<'_> {
    repo.find_reference("refs/heads/log")
        .expect("branch")
        .peel_to_tree()
        .expect("tree")
}

#[test]
fn publish_writes_each_bundle_only_below_its_run_folder_and_never_overwrites() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store_dir = tmp.path().join("store");
    let store = DirStore::new(&store_dir);
    common::ship_sample(&store, "grok1-1210", GROK1_1210, false);
    let good_files = common::sample_run(GROK1_1210);
    // Hostile bundles: a workflow, the README, a `.git` path, another run's raw log.
    let hostile: [(&str, String); 4] = [
        ("wf", ".github/workflows/pwn.yml".into()),
        ("readme", "README.md".into()),
        (
            "dotgit",
            "online_benchmark_log/mi30x/.git/hooks/post-update".into(),
        ),
        ("theirs", good_files[0].0.clone()),
    ];
    for (run, path) in &hostile {
        let files = vec![(path.clone(), format!("planted by {run}\n").into_bytes())];
        let m = manifest_for(run, "mi30x", "20251210", "img", "s", &files);
        upload(&store, &m, &files).expect("upload");
    }
    // The log repository already holds one of the good run's files with other content.
    let remote = tmp.path().join("logs.git");
    git2::Repository::init_bare(&remote).expect("bare");
    let remote_s = remote.display().to_string();
    let earlier = vec![(good_files[1].0.clone(), b"published earlier\n".to_vec())];
    sglci_publisher::gitpub::push(
        sglci_publisher::gitpub::Dest::new(&remote_s, "log", None),
        &earlier,
        sglci_publisher::gitpub::Mode::Append,
        "earlier",
    )
    .expect("push");
    let out = publisher(&store_dir, &["publish", "--log-repo", &remote_s]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    let skipped = v["log_repo"]["skipped"].as_array().expect("skipped");
    assert_eq!(skipped.len(), 4, "{v:#}");
    assert_eq!(
        v["log_repo"]["refused"],
        serde_json::json!([good_files[1].0]),
        "{v:#}"
    );
    // What the branch holds: the good run (its earlier file unchanged), nothing planted.
    let repo = git2::Repository::open_bare(&remote).expect("open");
    let tree = log_tree(&repo);
    let mut paths = Vec::new();
    tree.walk(git2::TreeWalkMode::PreOrder, |dir, e| {
        if e.kind() == Some(git2::ObjectType::Blob) {
            let blob = repo.find_blob(e.id()).expect("blob");
            assert!(!String::from_utf8_lossy(blob.content()).contains("planted by"));
            paths.push(format!("{dir}{}", e.name().unwrap_or("")));
        }
        git2::TreeWalkResult::Ok
    })
    .expect("walk");
    assert_eq!(paths.len(), good_files.len(), "{paths:?}");
    let kept = tree
        .get_path(std::path::Path::new(&good_files[1].0))
        .expect("earlier file");
    assert_eq!(
        repo.find_blob(kept.id()).expect("blob").content(),
        b"published earlier\n"
    );
}

#[test]
fn git_errors_never_print_a_token_in_a_remote() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store_dir = tmp.path().join("store");
    common::ship_sample(&DirStore::new(&store_dir), "grok1-1210", GROK1_1210, false);
    // Built at run time: no token-shaped literal in the repository.
    let token: String = ["gh", "p_", &"Zq7".repeat(12)].concat();
    // A port nothing listens on, on loopback: the push fails with libgit2's error.
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    for remote in [
        format!("http://x-access-token:{token}@127.0.0.1:{port}/o/logs.git"),
        format!("http://{token}@127.0.0.1:{port}/o/logs.git"),
        format!("http://127.0.0.1:{port}/o/logs.git?access_token={token}"),
    ] {
        for extra in [&[][..], &["--dry-run"][..]] {
            let mut args = vec!["publish", "--log-repo", remote.as_str()];
            args.extend_from_slice(extra);
            let out = publisher(&store_dir, &args);
            let all = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(!out.status.success(), "{all}");
            assert!(
                all.contains("127.0.0.1"),
                "the error names the remote: {all}"
            );
            assert!(!all.contains(&token), "the token leaked: {all}");
            assert!(!all.contains("Zq7Zq7"), "part of the token leaked: {all}");
        }
    }
}

// ---------------------------------------------------------------- the legacy backfill

#[test]
fn odd_entries_of_a_legacy_tree_are_quarantined_and_the_backfill_goes_on() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path().join("tree");
    let good = root
        .join("online_benchmark_log/mi30x/GROK1")
        .join(GROK1_1210);
    std::fs::create_dir_all(&good).expect("mkdir");
    for (rel, bytes) in common::sample_run(GROK1_1210) {
        std::fs::write(root.join(&rel), bytes).expect("write");
    }
    let cron = root.join("cron_log/mi30x/20251210");
    std::fs::create_dir_all(&cron).expect("mkdir");
    std::fs::write(tmp.path().join("host.txt"), "host file").expect("write");
    std::os::unix::fs::symlink(tmp.path().join("host.txt"), cron.join("link.log"))
        .expect("symlink");
    let fifo = cron.join("pipe.log");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    std::fs::write(
        cron.join(std::ffi::OsStr::from_bytes(b"bad\xffname.log")),
        "x",
    )
    .expect("write");
    // One folder nested far deeper than PATH_MAX (built with relative steps).
    let deep_root = root.join("deep");
    std::fs::create_dir_all(&deep_root).expect("mkdir");
    let segment = "d".repeat(200);
    let script = format!(
        "cd '{}' && for i in $(seq 1 30); do mkdir {segment} && cd -P {segment} || exit 1; done && echo x > f.log",
        deep_root.display()
    );
    assert!(std::process::Command::new("sh")
        .arg("-c")
        .arg(&script)
        .status()
        .expect("sh")
        .success());

    let store = tempfile::tempdir().expect("store");
    let started = Instant::now();
    let (backfill, report) =
        app::ingest_legacy(&DirStore::new(store.path()), &root).expect("the backfill completes");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "no FIFO blocked it"
    );
    assert!(
        !backfill.rows.serving.is_empty(),
        "the good run is ingested"
    );
    let reasons: Vec<(&str, &str)> = backfill
        .rows
        .quarantine
        .iter()
        .map(|q| (q.file.as_str(), q.reason.as_str()))
        .collect();
    let has = |file: &str, why: &str| {
        reasons
            .iter()
            .any(|(f, r)| f.contains(file) && r.contains(why))
    };
    assert!(has("link.log", "symbolic link"), "{reasons:?}");
    assert!(has("pipe.log", "FIFO"), "{reasons:?}");
    assert!(has("name.log", "not UTF-8"), "{reasons:?}");
    assert!(
        has("deep/", "nested deeper") || has("deep/", "cannot be read"),
        "{reasons:?}"
    );
    assert!(report.quarantined >= 4);
    assert!(!reasons.iter().any(|(_, r)| r.contains("host file")));
}

// ---------------------------------------------------------------- durability under kill -9

/// A small deterministic generator (the trial's seed is printed, so a failure can be replayed).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n.max(1)
    }
}

/// Starts the publisher with `args`, kills it (SIGKILL) after `delay_ms` unless it finished.
fn run_and_kill(store: &std::path::Path, args: &[&str], delay_ms: u64) -> bool {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sglci-publisher"))
        .arg("--store")
        .arg(store)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("publisher");
    std::thread::sleep(Duration::from_millis(delay_ms));
    let finished = child.try_wait().expect("wait").is_some();
    let _ = child.kill();
    let _ = child.wait();
    !finished
}

/// Every history table exports (exit 0); returns the exports.
fn export_all(store: &std::path::Path) -> Vec<String> {
    sglci_core::records::ALL_SCHEMAS
        .iter()
        .map(|s| {
            let out = publisher(store, &["export", s.name, "--format", "csv"]);
            assert!(
                out.status.success(),
                "export {} after a kill: {}",
                s.name,
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        })
        .collect()
}

fn complete(store: &std::path::Path, args: &[&str]) -> String {
    let out = publisher(store, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Copies the sample tree, optionally with one more night's file (which changes the legacy
/// partition's digest, so the next backfill rewrites it).
fn legacy_tree(dir: &std::path::Path, extra: bool) -> std::path::PathBuf {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/legacy");
    let dst = dir.join(if extra { "tree-b" } else { "tree-a" });
    for (rel, bytes) in sglci_core::backend::files_under(&src).expect("samples") {
        let p = dst.join(&rel);
        std::fs::create_dir_all(p.parent().expect("dir")).expect("mkdir");
        std::fs::write(p, bytes).expect("write");
    }
    if extra {
        let run = dst
            .join("online_benchmark_log/mi30x/GROK1")
            .join(GROK1_1210.replace("20251210", "20251211"));
        std::fs::create_dir_all(&run).expect("mkdir");
        for (rel, bytes) in common::sample_run(GROK1_1210) {
            let name = std::path::Path::new(&rel)
                .file_name()
                .expect("name")
                .to_owned();
            std::fs::write(run.join(name), bytes).expect("write");
        }
    }
    dst
}

#[test]
fn kill_9_at_random_moments_leaves_a_readable_history_that_the_next_run_repairs() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (tree_a, tree_b) = (
        legacy_tree(tmp.path(), false),
        legacy_tree(tmp.path(), true),
    );
    let (a, b) = (
        tree_a.to_str().expect("utf8"),
        tree_b.to_str().expect("utf8"),
    );
    // References: each tree backfilled without interruption.
    let reference = |tree: &str| {
        let s = tempfile::tempdir().expect("tmp");
        complete(s.path(), &["ingest", "--legacy", tree]);
        export_all(s.path())
    };
    let (ref_a, ref_b) = (reference(a), reference(b));
    assert_ne!(ref_a, ref_b);
    let store = tmp.path().join("store");
    complete(&store, &["ingest", "--legacy", a]);
    let mut rng = Lcg(0x5eed);
    let mut killed = 0;
    // Each kill lands at a random moment inside the command's run time, as the previous
    // uninterrupted run measured it.
    let timed = |args: &[&str]| {
        let t = Instant::now();
        let out = complete(&store, args);
        (out, (t.elapsed().as_millis() as u64).max(5))
    };
    let mut took = 100;
    // 1. `ingest --legacy`, alternating trees so each run rewrites the partition.
    for trial in 0..10 {
        let (tree, want) = if trial % 2 == 0 {
            (b, &ref_b)
        } else {
            (a, &ref_a)
        };
        killed += usize::from(run_and_kill(
            &store,
            &["ingest", "--legacy", tree],
            rng.below(took),
        ));
        export_all(&store);
        took = timed(&["ingest", "--legacy", tree]).1;
        assert_eq!(
            &export_all(&store),
            want,
            "trial {trial}: the next run repaired the history"
        );
    }
    // 2. `ingest --pending --site`: bundles announced, the drain and the site render killed.
    let site = tmp.path().join("site");
    let site_s = site.to_str().expect("utf8");
    let dir = DirStore::new(&store);
    for trial in 0..8 {
        let run = format!("grok1-{trial}");
        let key = common::ship_sample(&dir, &run, GROK1_1210, false);
        SpoolQueue::new(&store.join("queue"))
            .send(&Announcement::body(&key))
            .expect("send");
        let upper = if trial == 0 { 1000 } else { took };
        killed += usize::from(run_and_kill(
            &store,
            &["ingest", "--pending", "--site", site_s],
            rng.below(upper),
        ));
        export_all(&store);
        // The repair run also delivers one more bundle, so its time is a full drain's.
        let key = common::ship_sample(&dir, &format!("{run}-b"), GROK1_1210, false);
        SpoolQueue::new(&store.join("queue"))
            .send(&Announcement::body(&key))
            .expect("send");
        took = timed(&["ingest", "--pending", "--site", site_s]).1;
        assert!(
            site.join(app::SITE_MARKER).is_file(),
            "trial {trial}: the site is whole"
        );
        assert!(
            !site.join(app::SITE_PARTIAL).exists(),
            "trial {trial}: no half-written site"
        );
        assert!(site.join("index.html").is_file());
        let index = sglci_publisher::history::History::new(&dir)
            .index()
            .expect("index");
        assert!(
            index.partitions.contains_key(&format!("run-{run}")),
            "trial {trial}: the bundle was ingested"
        );
    }
    // 3. `publish` to a bare repository.
    let remote = tmp.path().join("logs.git");
    git2::Repository::init_bare(&remote).expect("bare");
    let remote_s = remote.to_str().expect("utf8");
    let mut expected = None;
    took = 300;
    for trial in 0..6 {
        killed += usize::from(run_and_kill(
            &store,
            &["publish", "--log-repo", remote_s],
            rng.below(took),
        ));
        let (out, t) = timed(&["publish", "--log-repo", remote_s]);
        // A publish with nothing new is quicker than one that pushes: keep the longer.
        took = took.max(t);
        let v: serde_json::Value = serde_json::from_str(&out).expect("json");
        assert_eq!(
            v["log_repo"]["skipped"],
            serde_json::json!([]),
            "trial {trial}"
        );
        let repo = git2::Repository::open_bare(&remote).expect("open");
        let tree = log_tree(&repo);
        let id = tree.id();
        assert_eq!(
            *expected.get_or_insert(id),
            id,
            "trial {trial}: the same logs"
        );
    }
    assert!(
        killed >= 10,
        "only {killed} of 24 runs were killed before they finished"
    );
}

// ---------------------------------------------------------------- free text on the way in

#[test]
fn free_text_from_a_legacy_tree_is_redacted_and_bounded_everywhere() {
    let forms = sglci_core::redact::planted_forms(0xf4ee_7e47);
    let values: Vec<&String> = forms.iter().flat_map(|(_, _, v)| v).collect();
    let tmp = tempfile::tempdir().expect("tmp");
    let root = legacy_tree(tmp.path(), false);
    let run = root
        .join("online_benchmark_log/mi30x/GROK1")
        .join(GROK1_1210);
    // A host name, a failure line, CSV cells, a folder and a file name, long free text.
    let timing = run.join("timing_summary_20251210_114533.log");
    let t = std::fs::read_to_string(&timing).expect("timing");
    std::fs::write(
        &timing,
        t.replace(
            "Hostname: dell300x-pla-t12-38",
            &format!("Hostname: {}", forms[0].1),
        ),
    )
    .expect("write");
    let cron = root.join("cron_log/mi30x/20251219/test_nightly.log");
    let mut c = std::fs::read_to_string(&cron).expect("cron");
    for (_, line, _) in &forms[1..10] {
        c.push_str(&format!("[test] Run failed: {line}\n"));
    }
    c.push_str(&format!("[test] Run failed: {}\n", "x".repeat(5000)));
    std::fs::write(&cron, c).expect("write");
    let csv = run.join(format!("{GROK1_1210}.csv"));
    let bad_cells: String = forms[10..20]
        .iter()
        .map(|(_, l, _)| format!("{}\t{l}\n", "1"))
        .collect();
    std::fs::write(&csv, bad_cells).expect("write");
    let (_, named, _) = forms
        .iter()
        .find(|(f, _, _)| f == "github-classic")
        .expect("form");
    let token = named.split_whitespace().nth(1).expect("token");
    let odd_dir = root
        .join("cron_log/mi30x/20251220")
        .join(format!("dir_{token}"));
    std::fs::create_dir_all(&odd_dir).expect("mkdir");
    std::fs::write(
        odd_dir.join(format!("x_{token}.log")),
        forms[20].1.as_bytes(),
    )
    .expect("write");

    let store = tmp.path().join("store");
    let ingest = publisher(
        &store,
        &["ingest", "--legacy", root.to_str().expect("utf8")],
    );
    assert!(
        ingest.status.success(),
        "{}",
        String::from_utf8_lossy(&ingest.stderr)
    );
    let site = tmp.path().join("site");
    let notes = tmp.path().join("notes");
    let mut outputs = vec![ingest.stdout, ingest.stderr];
    for args in [
        vec!["site", "--out", site.to_str().expect("utf8"), "--no-png"],
        vec!["summary", "--hardware", "mi30x"],
        vec!["regressions", "--all"],
        vec![
            "notify",
            "cards",
            "--hardware",
            "mi30x",
            "--date",
            "20251219",
            "--to",
            &format!("dir:{}", notes.display()),
        ],
    ] {
        let out = publisher(&store, &args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        outputs.push(out.stdout);
        outputs.push(out.stderr);
    }
    for schema in sglci_core::records::ALL_SCHEMAS {
        let out = publisher(&store, &["export", schema.name, "--format", "json"]);
        assert!(out.status.success());
        // Free text is bounded: no field of any table is longer than the limit (plus "…").
        let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        for row in rows.as_array().expect("rows") {
            for (k, v) in row.as_object().expect("row") {
                if let Some(s) = v.as_str() {
                    assert!(
                        s.chars().count() <= 1000,
                        "{}.{k}: {} characters",
                        schema.name,
                        s.len()
                    );
                }
            }
        }
        outputs.push(out.stdout);
    }
    for dir in [&store, &site, &notes] {
        for (path, bytes) in sglci_core::backend::files_under(dir).expect("outputs") {
            outputs.push(path.into_bytes());
            outputs.push(bytes);
        }
    }
    let leaks: Vec<&&String> = values
        .iter()
        .filter(|v| {
            outputs
                .iter()
                .any(|o| o.windows(v.len()).any(|w| w == v.as_bytes()))
        })
        .collect();
    assert!(leaks.is_empty(), "{} planted values leaked", leaks.len());
}

// ---------------------------------------------------------------- durable writes

/// The system call of one strace line (`PID  call(…) = 0`: strace pads the PID).
fn call_of(line: &str) -> &str {
    line.trim_start()
        .split_once(char::is_whitespace)
        .map_or("", |(_, rest)| rest.trim_start())
}

/// Every object the directory store writes is synced before its rename and its folder after
/// it (so a power loss leaves the old bytes or the new, never an empty file): checked on the
/// system calls of a real backfill, traced with strace (`-y` prints each descriptor's path).
#[test]
fn store_writes_sync_the_data_before_the_rename_and_the_folder_after() {
    if std::process::Command::new("strace")
        .arg("-V")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("CI").is_none(),
            "strace is missing (apt-get install strace)"
        );
        #[allow(clippy::print_stderr, reason = "a skipped test says so")]
        {
            eprintln!("skipped: strace is not installed");
        }
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let store = tmp.path().join("store");
    let trace = tmp.path().join("trace.txt");
    let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/legacy");
    let out = std::process::Command::new("strace")
        .args([
            "-f",
            "-y",
            "-e",
            "trace=fdatasync,fsync,rename,renameat,renameat2",
        ])
        .arg("-o")
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_sglci-publisher"))
        .arg("--store")
        .arg(&store)
        .args(["ingest", "--legacy"])
        .arg(&samples)
        .output()
        .expect("strace");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let calls: Vec<String> = std::fs::read_to_string(&trace)
        .expect("trace")
        .lines()
        .map(str::to_owned)
        .collect();
    let renames: Vec<usize> = calls
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains("rename") && l.contains("_index.json") && l.ends_with("= 0"))
        .map(|(i, _)| i)
        .collect();
    assert!(!renames.is_empty(), "the index was written by rename");
    let store_s = store.display().to_string();
    for &i in &renames {
        let pid = calls[i].split_whitespace().next().unwrap_or_default();
        let same = |l: &&String| l.split_whitespace().next() == Some(pid);
        let before = calls[..i].iter().rev().find(same);
        assert!(
            before.is_some_and(|l| call_of(l).starts_with("fdatasync(") && l.contains(".tmp>")),
            "the temporary file is synced right before the rename: {before:?} / {}",
            calls[i]
        );
        let after = calls[i + 1..].iter().find(same);
        assert!(
            after.is_some_and(|l| call_of(l).starts_with("fsync(")
                && l.contains(&format!("{store_s}/history/v1>"))),
            "the folder is synced right after the rename: {after:?}"
        );
    }
}
