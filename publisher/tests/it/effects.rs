//! Closing the loop (issue 17) on real protocols over loopback: moto for S3 and SQS, two bare
//! git repositories as the log repository and Pages, a loopback receiver for the Teams webhook
//! and the GitHub API fake. Runs are shipped as the runner ships them, announced on SQS, and
//! handled as the Lambda handles them ([`sglci_publisher::lambda::handle_with`] on an SQS event
//! built from the received messages); the CLI twin (`ingest --pending` with `--log-repo`,
//! `--pages`, `--notify`) runs as real processes for the crash and two-publisher checks.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use sglci_core::backend::aws::Aws;
use sglci_core::backend::s3::S3Store;
use sglci_core::backend::sqs::SqsQueue;
use sglci_core::bundle::{manifest_for, upload, Announcement};
use sglci_core::queue::{Message, Queue};
use sglci_core::store::{Key, ObjectStore};
use sglci_publisher::app::effects::{GitHubRepo, Secrets, Sinks};
use sglci_publisher::app::{EffectsRun, Handler, SiteJob, SiteTarget};
use sglci_publisher::config::parse_effects;
use sglci_publisher::history::History;
use sglci_publisher::site::templates::Templates;
use sglci_publisher::site::SiteOptions;

use crate::common::{synthetic_nights, Files, Moto};
use crate::gitpub::{bare, tree_of};
use crate::notify::{fake_github, receiver, token, Request};

const HW: &str = "mi30x";

/// `files` with every E2E latency multiplied by `factor` (client logs and the CSV's E2E
/// section): a slower night.
fn slowed(files: &Files, factor: f64) -> Files {
    let scale = |line: &str| -> String {
        line.split_inclusive(|c: char| c.is_whitespace())
            .map(|w| match w.trim().parse::<f64>() {
                Ok(v) if w.trim().contains('.') => {
                    w.replace(w.trim(), &format!("{:.2}", v * factor))
                }
                _ => w.to_owned(),
            })
            .collect()
    };
    files
        .iter()
        .map(|(p, b)| {
            let text = String::from_utf8_lossy(b);
            let mut in_e2e = false;
            let out: Vec<String> = text
                .split('\n')
                .map(|line| {
                    if line.starts_with("Median E2E Latency") && p.ends_with(".csv") {
                        in_e2e = true;
                        return line.to_owned();
                    }
                    if line.starts_with("Median ") && p.ends_with(".csv") {
                        in_e2e = false;
                    }
                    let csv_row = in_e2e && line.starts_with("MI300x");
                    if csv_row || line.contains("E2E Latency (ms):") {
                        scale(line)
                    } else {
                        line.to_owned()
                    }
                })
                .collect();
            (p.clone(), out.join("\n").into_bytes())
        })
        .collect()
}

/// Ships one night as the runner does (files, then the manifest) and announces it.
fn ship(store: &dyn ObjectStore, queue: &dyn Queue, run_id: &str, tag: &str, files: &Files) {
    let date = &tag[tag.len() - 8..];
    let m = manifest_for(run_id, HW, date, tag, "grok-online", files);
    let key = upload(store, &m, files).expect("upload");
    queue.send(&Announcement::body(&key)).expect("announce");
}

/// The SQS event the Lambda service would deliver for these messages.
fn sqs_event(msgs: &[Message]) -> aws_lambda_events::event::sqs::SqsEvent {
    let records: Vec<Value> = msgs
        .iter()
        .map(|m| {
            json!({"messageId": m.id, "receiptHandle": m.receipt, "body": m.body,
                   "attributes": {"ApproximateReceiveCount": m.receive_count.to_string()},
                   "messageAttributes": {}, "eventSource": "aws:sqs", "awsRegion": "us-east-1"})
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).expect("event")
}

/// Everything one installation has: the bucket, the queue, the two repositories, the receivers.
struct Rig {
    _moto: Moto,
    _tmp: tempfile::TempDir,
    store: S3Store,
    queue: SqsQueue,
    log_repo: String,
    pages: String,
    teams_url: String,
    teams: Arc<Mutex<Vec<Request>>>,
    github_url: String,
    github: Arc<Mutex<Vec<Request>>>,
    issues: Arc<Mutex<Value>>,
    templates: Templates,
}

impl Rig {
    fn start() -> Option<Self> {
        let moto = Moto::start()?;
        let aws = Aws::with_endpoint(&moto.url(), "us-east-1").expect("aws");
        let store = S3Store::new(&aws, "sglci", "");
        store.ensure_bucket().expect("bucket");
        let (queue, _) = SqsQueue::create(&aws, "runs", 30, None).expect("queue");
        let tmp = tempfile::tempdir().expect("tmp");
        let (teams_url, teams) = receiver(Arc::new(|_: &Request| (200, vec![], "1".to_owned())));
        let (github_url, github, issues) = fake_github();
        Some(Self {
            log_repo: bare(tmp.path(), "log.git"),
            pages: bare(tmp.path(), "pages.git"),
            _moto: moto,
            _tmp: tmp,
            store,
            queue,
            teams_url,
            teams,
            github_url,
            github,
            issues,
            templates: Templates::embedded().expect("templates"),
        })
    }

    fn sinks(&self) -> Sinks {
        let config = parse_effects(
            Some(&format!("file://{}", self.log_repo)),
            Some(&self.pages),
            &["teams".to_owned(), "github-issues".to_owned()],
            Some("https://amd.github.io/sglci"),
            [None; 3],
        )
        .expect("config");
        let env: BTreeMap<String, String> = [
            ("GITHUB_REPOSITORY", "amd/sglci-log".to_owned()),
            ("GITHUB_API_URL", self.github_url.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        Sinks::new(
            config,
            Secrets {
                teams_webhook: Some(format!("{}/webhook", self.teams_url)),
                github_token: Some(token()),
            },
            &GitHubRepo::from_env(&env),
            Some(&SiteTarget::Store(Key::new("site").expect("key"))),
        )
        .expect("sinks")
    }

    /// One Lambda invocation per received batch, until the queue is empty; returns the batch
    /// failures. With `sinks`, the effects run too.
    fn lambda(&self, sinks: Option<&Sinks>, now: &str) -> usize {
        let triage = sglci_publisher::triage::Triage::default();
        let job = SiteJob {
            target: SiteTarget::Store(Key::new("site").expect("key")),
            templates: &self.templates,
            opts: SiteOptions {
                png: false,
                ..SiteOptions::default()
            },
        };
        let h = Handler {
            site: Some(&job),
            limits: Default::default(),
            effects: sinks.map(|sinks| EffectsRun {
                sinks,
                triage: &triage,
                holder: "test-lambda",
                fault: None,
            }),
        };
        let mut failures = 0;
        loop {
            let msgs = self.queue.receive(10).expect("receive");
            if msgs.is_empty() {
                break;
            }
            let resp =
                sglci_publisher::lambda::handle_with(&self.store, &sqs_event(&msgs), &h, now)
                    .expect("invocation");
            let failed: Vec<&str> = resp
                .batch_item_failures
                .iter()
                .map(|f| f.item_identifier.as_str())
                .collect();
            failures += failed.len();
            // The Lambda service deletes what did not fail.
            for m in msgs.iter().filter(|m| !failed.contains(&m.id.as_str())) {
                self.queue.ack(m).expect("ack");
            }
        }
        failures
    }

    fn teams_titles(&self) -> Vec<String> {
        self.teams
            .lock()
            .expect("lock")
            .iter()
            .map(|r| {
                let v: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
                v["attachments"][0]["content"]["body"][0]["text"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned()
            })
            .collect()
    }

    fn open_issues(&self) -> Vec<Value> {
        self.issues.lock().expect("lock")["issues"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|i| i["state"] == "open")
            .cloned()
            .collect()
    }

    fn head(&self, repo: &str, branch: &str) -> Option<String> {
        let r = git2::Repository::open_bare(repo).ok()?;
        let id = r
            .find_reference(&format!("refs/heads/{branch}"))
            .ok()?
            .target()?;
        Some(id.to_string())
    }
}

/// The synthetic nights: 1..=8 stable, 9 and 10 slower by half, 11 and 12 back to normal.
fn nights() -> Vec<(String, String, Files)> {
    synthetic_nights(12)
        .into_iter()
        .enumerate()
        .map(|(i, (id, tag, files))| {
            let files = if i == 8 || i == 9 {
                slowed(&files, 1.5)
            } else {
                files
            };
            (id, tag, files)
        })
        .collect()
}

#[test]
fn every_run_reaches_the_log_repository_pages_teams_and_issues_once() {
    let Some(rig) = Rig::start() else { return };
    let nights = nights();
    // An installation with a history, before effects were turned on: nothing is replayed.
    for (id, tag, files) in &nights[..8] {
        ship(&rig.store, &rig.queue, id, tag, files);
    }
    assert_eq!(rig.lambda(None, "2025-12-19T06:00:00Z"), 0);
    let sinks = rig.sinks();

    // Night 9 (slower; one night is not yet a regression), then night 10 (slower again).
    for (n, (id, tag, files)) in nights[8..10].iter().enumerate() {
        ship(&rig.store, &rig.queue, id, tag, files);
        assert_eq!(
            rig.lambda(Some(&sinks), &format!("2025-12-2{n}T06:00:00Z")),
            0
        );
    }
    let log = tree_of(&rig.log_repo, "log");
    for (_, tag, files) in &nights[8..10] {
        for (path, bytes) in files {
            assert!(
                log.iter().any(|(p, b)| p == path && b == bytes),
                "{tag}: {path} on the log branch"
            );
        }
    }
    for (_, tag, files) in &nights[..8] {
        assert!(
            !log.iter().any(|(p, _)| files.iter().any(|(q, _)| p == q)),
            "{tag}: not replayed"
        );
    }
    let pages = tree_of(&rig.pages, "gh-pages");
    let night_page =
        sglci_publisher::site::paths::night_page(HW, &nights[9].1[nights[9].1.len() - 8..]);
    assert!(
        pages.iter().any(|(p, _)| *p == night_page),
        "{night_page} on Pages"
    );
    let stamp = pages
        .iter()
        .find(|(p, _)| p == "sglci.json")
        .expect("stamp");
    let generation = History::new(&rig.store).index().expect("index").generation;
    assert_eq!(
        sglci_publisher::app::effects::stamp_generation(&stamp.1),
        Some(generation),
        "Pages carries the last generation"
    );
    let titles = rig.teams_titles();
    let benchmark: Vec<&String> = titles
        .iter()
        .filter(|t| !t.starts_with("Regression"))
        .collect();
    let regression: Vec<&String> = titles
        .iter()
        .filter(|t| t.starts_with("Regression"))
        .collect();
    assert_eq!(benchmark.len(), 2, "one card per run: {titles:#?}");
    assert_eq!(
        regression.len(),
        1,
        "one alert for the regression: {titles:#?}"
    );
    assert!(
        regression[0].contains(&nights[8].1),
        "the alert names the first bad image: {}",
        regression[0]
    );
    let open = rig.open_issues();
    assert_eq!(open.len(), 1, "one issue for the regression: {open:#?}");

    // The same announcement delivered again: no branch moves, no message, no row.
    let (log_head, pages_head) = (
        rig.head(&rig.log_repo, "log"),
        rig.head(&rig.pages, "gh-pages"),
    );
    let (teams_before, github_before) = (
        rig.teams.lock().expect("l").len(),
        rig.github.lock().expect("l").len(),
    );
    let (id, tag, files) = &nights[9];
    ship(&rig.store, &rig.queue, id, tag, files);
    assert_eq!(rig.lambda(Some(&sinks), "2025-12-22T06:00:00Z"), 0);
    assert_eq!(
        History::new(&rig.store).index().expect("index").generation,
        generation,
        "no row written"
    );
    assert_eq!(
        rig.head(&rig.log_repo, "log"),
        log_head,
        "log branch unchanged"
    );
    assert_eq!(
        rig.head(&rig.pages, "gh-pages"),
        pages_head,
        "Pages unchanged"
    );
    assert_eq!(
        rig.teams.lock().expect("l").len(),
        teams_before,
        "no card again"
    );
    assert_eq!(
        rig.github.lock().expect("l").len(),
        github_before,
        "no GitHub call again"
    );

    // Nights 11 and 12 recover (the detector's rule: as many nights back inside the band as it
    // took to alert): their cards go out and the issue is closed.
    let (id, tag, files) = &nights[10];
    ship(&rig.store, &rig.queue, id, tag, files);
    assert_eq!(rig.lambda(Some(&sinks), "2025-12-23T06:00:00Z"), 0);
    assert_eq!(
        rig.open_issues().len(),
        1,
        "one night back is not yet a recovery"
    );
    let (id, tag, files) = &nights[11];
    ship(&rig.store, &rig.queue, id, tag, files);
    assert_eq!(rig.lambda(Some(&sinks), "2025-12-24T06:00:00Z"), 0);
    assert!(
        rig.open_issues().is_empty(),
        "closed on recovery: {:#?}",
        rig.issues.lock().expect("l")
    );
    assert_eq!(rig.teams_titles().len(), teams_before + 2);
    // Pages holds the store's site exactly, although each push after the first read only the
    // files the branch lacked (through the site's manifest).
    let site: Vec<(String, Vec<u8>)> =
        sglci_publisher::app::site_packs::read_site(&rig.store, &Key::new("site").expect("key"))
            .expect("the store's site")
            .into_iter()
            .collect();
    let mut pages = tree_of(&rig.pages, "gh-pages");
    pages.sort();
    assert_eq!(
        pages.iter().map(|(p, _)| p).collect::<Vec<_>>(),
        site.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    assert!(pages == site, "Pages holds the site's bytes");
    // The outbox is empty and every effect has its done-marker.
    assert!(rig.store.list("outbox/pending").expect("list").is_empty());
    assert!(rig.store.list("quarantine").expect("list").is_empty());
    assert!(rig.store.list("outbox/done").expect("list").len() >= 9);
}

#[test]
fn a_failing_effect_is_retried_then_given_up_without_blocking_the_others() {
    let Some(rig) = Rig::start() else { return };
    // Teams answers 500 every time; the log repository and Pages work.
    let (bad_url, bad_log) = receiver(Arc::new(|_: &Request| (500, vec![], "down".to_owned())));
    let config = parse_effects(
        Some(&rig.log_repo),
        None,
        &["teams".to_owned()],
        None,
        [Some("2"), Some("0"), None],
    )
    .expect("config");
    let sinks = Sinks::new(
        config,
        Secrets {
            teams_webhook: Some(format!("{bad_url}/webhook")),
            github_token: None,
        },
        &GitHubRepo::default(),
        None,
    )
    .expect("sinks");
    let (id, tag, files) = &synthetic_nights(1)[0];
    rig.store
        .put(
            &Key::new("outbox/cursor.json").expect("k"),
            br#"{"generation": 0}"#,
        )
        .expect("cursor");
    ship(&rig.store, &rig.queue, id, tag, files);
    assert_eq!(rig.lambda(Some(&sinks), "2025-12-12T06:00:00Z"), 0);
    assert!(
        tree_of(&rig.log_repo, "log").len() >= files.len(),
        "the logs went out"
    );
    let pending = rig.store.list("outbox/pending").expect("list");
    assert_eq!(
        pending.len(),
        1,
        "the card waits for its retry: {pending:?}"
    );
    // The next invocation (an empty batch) retries it; at the policy's second attempt it is
    // given up and its reason kept.
    assert_eq!(rig.lambda(Some(&sinks), "2025-12-12T06:05:00Z"), 0);
    let h = Handler {
        site: None,
        limits: Default::default(),
        effects: Some(EffectsRun {
            sinks: &sinks,
            triage: &Default::default(),
            holder: "t",
            fault: None,
        }),
    };
    sglci_publisher::app::handle_batch_with(&rig.store, &[], &h, "2025-12-12T06:10:00Z")
        .expect("retry");
    assert!(rig.store.list("outbox/pending").expect("list").is_empty());
    let q = rig.store.list("quarantine").expect("list");
    assert_eq!(q.len(), 1, "{q:?}");
    let record: Value = serde_json::from_slice(&rig.store.get(&q[0]).expect("get")).expect("json");
    assert!(
        record["reason"]
            .as_str()
            .is_some_and(|r| r.contains("HTTP 500")),
        "{record}"
    );
    assert!(
        !record.to_string().contains("/webhook"),
        "the webhook URL is a secret: {record}"
    );
    // The HTTP client retries within an attempt; each attempt reached the receiver.
    assert!(bad_log.lock().expect("l").len() >= 2);
}

/// The CLI twin as a process: `ingest --pending` on a directory store and spool queue with the
/// effects on, and an environment of its own.
fn publisher_cli(store: &Path, env: &[(&str, String)], extra: &[&str]) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sglci-publisher"));
    cmd.args([
        "--store",
        &store.display().to_string(),
        "ingest",
        "--pending",
        "--json",
    ])
    .args(extra)
    .env_remove("SGLCI_NOTIFY")
    .env_remove("SGLCI_LOG_REPO")
    .env_remove("SGLCI_PAGES")
    .env("PUBLISHER_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("publisher runs")
}

#[test]
fn a_crash_after_the_commit_or_while_sending_is_completed_by_the_next_run() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store_dir = tmp.path().join("data");
    let store = sglci_core::backend::dir::DirStore::new(&store_dir);
    let queue = sglci_core::backend::spool::SpoolQueue::new(&store_dir.join("queue"));
    let log_repo = bare(tmp.path(), "log.git");
    let (teams_url, teams) = receiver(Arc::new(|_: &Request| (200, vec![], "1".to_owned())));
    let cards = tmp.path().join("cards");
    let env = |fault: Option<&str>| {
        let mut e = vec![
            ("SGLCI_TEAMS_WEBHOOK_URL", format!("{teams_url}/webhook")),
            ("SGLCI_EFFECT_LEASE_S", "1".to_owned()),
        ];
        if let Some(f) = fault {
            e.push(("SGLCI_FAULT", f.to_owned()));
        }
        e
    };
    let flags = [
        "--log-repo",
        log_repo.as_str(),
        "--notify",
        "teams",
        "--notify",
        &format!("dir:{}", cards.display()),
    ];
    let flags: Vec<&str> = flags.iter().map(|s| &**s).collect();
    let nights = synthetic_nights(3);
    // Effects on from the start (the cursor at generation 0).
    let out = publisher_cli(&store_dir, &env(None), &flags);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // 1. Killed after the commit, before anything derived or sent.
    let (id, tag, files) = &nights[0];
    ship(&store, &queue, id, tag, files);
    let out = publisher_cli(&store_dir, &env(Some("after-commit")), &flags);
    assert!(!out.status.success(), "the fault stops it");
    assert_eq!(
        History::new(&store).index().expect("index").generation,
        1,
        "committed"
    );
    assert!(teams.lock().expect("l").is_empty() && tree_of_or_empty(&log_repo).is_empty());
    let out = publisher_cli(&store_dir, &env(None), &flags);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(teams.lock().expect("l").len(), 1, "the card went out once");
    assert!(tree_of_or_empty(&log_repo)
        .iter()
        .any(|(p, _)| files.iter().any(|(q, _)| p == q)));
    let idx = History::new(&store).index().expect("index");
    assert_eq!(
        (idx.generation, idx.derived),
        (1, 1),
        "derived after the crash"
    );

    // 2. Killed right after the first effect was carried out, before its done-marker.
    for (id, tag, files) in &nights[1..3] {
        ship(&store, &queue, id, tag, files);
    }
    let out = publisher_cli(&store_dir, &env(Some("after-send")), &flags);
    assert!(!out.status.success(), "the fault stops it");
    let sent_before = teams.lock().expect("l").len() + count_files(&cards);
    std::thread::sleep(std::time::Duration::from_millis(1100)); // the claim's lease runs out
    let out = publisher_cli(&store_dir, &env(None), &flags);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Two new runs: a card each to Teams and to the directory, and the logs of each: 6
    // effects. The one in flight at the crash may go out twice; nothing else does.
    let teams_cards = teams.lock().expect("l").len() - 1;
    let dir_cards = count_files(&cards) - 1;
    assert_eq!(
        dir_cards, 2,
        "one file per card (a repeat rewrites the same file)"
    );
    assert!(
        (2..=3).contains(&teams_cards),
        "{teams_cards} Teams posts for 2 cards"
    );
    assert!(sent_before >= 2, "something was in flight at the crash");
    let titles: Vec<String> = teams
        .lock()
        .expect("l")
        .iter()
        .map(|r| r.body.clone())
        .collect();
    let mut distinct = titles.clone();
    distinct.sort();
    distinct.dedup();
    assert!(
        titles.len() - distinct.len() <= 1,
        "at most the one in flight twice"
    );
    let log = tree_of_or_empty(&log_repo);
    for (_, _, files) in &nights[1..3] {
        for (path, _) in files {
            assert!(log.iter().any(|(p, _)| p == path), "{path}");
        }
    }
    assert!(store.list("outbox/pending").expect("list").is_empty());
}

fn tree_of_or_empty(repo: &str) -> Vec<(String, Vec<u8>)> {
    let r = git2::Repository::open_bare(repo).expect("open");
    if r.find_reference("refs/heads/log").is_err() {
        return Vec::new();
    }
    tree_of(repo, "log")
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.count())
}

#[test]
fn two_publishers_draining_one_queue_send_each_card_once() {
    let Some(moto) = Moto::start() else { return };
    let aws = Aws::with_endpoint(&moto.url(), "us-east-1").expect("aws");
    let store = S3Store::new(&aws, "sglci", "");
    store.ensure_bucket().expect("bucket");
    let (queue, _) = SqsQueue::create(&aws, "runs", 30, None).expect("queue");
    let url = queue.url().to_owned();
    let tmp = tempfile::tempdir().expect("tmp");
    let log_repo = bare(tmp.path(), "log.git");
    let pages = bare(tmp.path(), "pages.git");
    let (teams_url, teams) = receiver(Arc::new(|_: &Request| (200, vec![], "1".to_owned())));
    store
        .put(
            &Key::new("outbox/cursor.json").expect("k"),
            br#"{"generation": 0}"#,
        )
        .expect("cursor");
    let nights = synthetic_nights(10);
    for (id, tag, files) in &nights {
        ship(&store, &queue, id, tag, files);
    }
    let env = [
        ("AWS_ENDPOINT_URL", moto.url()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "sglci-test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "sglci-test".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ("SGLCI_TEAMS_WEBHOOK_URL", format!("{teams_url}/webhook")),
    ];
    let spawn = || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sglci-publisher"));
        cmd.args([
            "--store",
            "s3://sglci",
            "ingest",
            "--pending",
            "--queue",
            &url,
        ])
        .args([
            "--site",
            "store:site",
            "--log-repo",
            &log_repo,
            "--pages",
            &pages,
        ])
        .args(["--notify", "teams"])
        .env_remove("SGLCI_NOTIFY")
        .env("PUBLISHER_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
        for (k, v) in &env {
            cmd.env(k, v);
        }
        cmd.spawn().expect("spawn")
    };
    let (a, b) = (spawn(), spawn());
    let mut reports = Vec::new();
    for p in [a, b] {
        let out = p.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        reports.push(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    // A last run picks up anything a publisher deferred while the other held it.
    let last = spawn().wait_with_output().expect("wait");
    assert!(
        last.status.success(),
        "{}",
        String::from_utf8_lossy(&last.stderr)
    );
    let report = String::from_utf8_lossy(&last.stdout).into_owned();
    let titles: Vec<String> = teams
        .lock()
        .expect("l")
        .iter()
        .map(|r| r.body.clone())
        .collect();
    let mut distinct = titles.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        titles.len(),
        10,
        "one card per run; the runs: {reports:?} {report}"
    );
    assert_eq!(distinct.len(), 10, "each card once");
    let log = tree_of(&log_repo, "log");
    for (_, tag, files) in &nights {
        for (path, _) in files {
            assert!(log.iter().any(|(p, _)| p == path), "{tag}: {path}");
        }
    }
    let idx = History::new(&store).index().expect("index");
    assert_eq!(idx.generation, 10);
    let site = tree_of(&pages, "gh-pages");
    let stamp = site.iter().find(|(p, _)| p == "sglci.json").expect("stamp");
    assert_eq!(
        sglci_publisher::app::effects::stamp_generation(&stamp.1),
        Some(10),
        "Pages ends at the last generation"
    );
    assert!(store.list("outbox/pending").expect("list").is_empty());
}

#[test]
fn the_scheduled_summary_reports_a_missing_night_once() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = sglci_core::backend::dir::DirStore::new(&tmp.path().join("data"));
    let queue = sglci_core::backend::spool::SpoolQueue::new(&tmp.path().join("queue"));
    let cards = tmp.path().join("cards");
    let sinks = Sinks::new(
        parse_effects(
            None,
            None,
            &[format!("dir:{}", cards.display())],
            None,
            [None; 3],
        )
        .expect("config"),
        Secrets::default(),
        &GitHubRepo::default(),
        None,
    )
    .expect("sinks");
    let triage = sglci_publisher::triage::Triage::default();
    let h = Handler {
        site: None,
        limits: Default::default(),
        effects: Some(EffectsRun {
            sinks: &sinks,
            triage: &triage,
            holder: "t",
            fault: None,
        }),
    };
    let nights = synthetic_nights(3);
    for (id, tag, files) in &nights {
        ship(&store, &queue, id, tag, files);
    }
    sglci_publisher::app::ingest_pending_with(&store, &queue, &h, "2025-12-14T06:00:00Z")
        .expect("ingest");
    let run_cards = count_files(&cards);
    assert_eq!(run_cards, 3, "a card per run");
    // The evening after the last night: the next night (20251214) never ran on mi30x, and
    // mi35x has no night at all. Both summaries go out, saying so; firing again sends nothing.
    let scheduled: sglci_publisher::lambda::Scheduled = serde_json::from_str(
        r#"{"daily_summary": {"hardware": ["mi30x", "mi35x"], "night": "today"}}"#,
    )
    .expect("event");
    let templates = Templates::embedded().expect("templates");
    for _ in 0..2 {
        let reply = sglci_publisher::lambda::handle_scheduled(
            &store,
            &scheduled,
            &h,
            &templates,
            "logs/",
            "2025-12-14T23:10:00Z",
        )
        .expect("summary");
        assert_eq!(reply.night, "20251214");
    }
    let summaries: Vec<Value> = std::fs::read_dir(&cards)
        .expect("cards")
        .filter_map(|e| std::fs::read(e.ok()?.path()).ok())
        .filter_map(|b| serde_json::from_slice::<Value>(&b).ok())
        .filter(|v| v["notification"]["kind"] == "daily_summary")
        .collect();
    assert_eq!(summaries.len(), 2, "one per hardware");
    let mi30x = summaries
        .iter()
        .find(|v| v["notification"]["key"] == "daily:mi30x:20251214")
        .expect("mi30x summary");
    let md = mi30x["notification"]["markdown"].as_str().unwrap_or("");
    let title = mi30x["notification"]["title"].as_str().unwrap_or("");
    assert!(title.contains("no run recorded"), "{title}");
    assert!(
        md.contains("### Not run") && md.contains("last ran 2025-12-13"),
        "{md}"
    );
    assert_eq!(mi30x["notification"]["status"], "error");
    let done = store.list("outbox/done").expect("done");
    assert_eq!(
        done.iter()
            .filter(|k| k.as_str().contains("summary"))
            .count(),
        2,
        "{done:?}"
    );
}

/// The files under `samples/legacy/<rel>` (a file or a folder), keyed by their log-layout path.
fn sample_files(rel: &str) -> Files {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/legacy");
    let at = root.join(rel);
    let files = if at.is_file() {
        vec![(String::new(), std::fs::read(&at).expect("sample"))]
    } else {
        sglci_core::backend::files_under(&at).expect("sample folder")
    };
    files
        .into_iter()
        .map(|(p, b)| {
            let path = if p.is_empty() {
                rel.to_owned()
            } else {
                format!("{rel}/{p}")
            };
            (path, b)
        })
        .collect()
}

#[test]
fn sanity_unit_pd_and_image_check_runs_send_their_cards() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = sglci_core::backend::dir::DirStore::new(&tmp.path().join("data"));
    let queue = sglci_core::backend::spool::SpoolQueue::new(&tmp.path().join("queue"));
    let cards = tmp.path().join("cards");
    let sinks = Sinks::new(
        parse_effects(
            None,
            None,
            &[format!("dir:{}", cards.display())],
            None,
            [None; 3],
        )
        .expect("config"),
        Secrets::default(),
        &GitHubRepo::default(),
        None,
    )
    .expect("sinks");
    let triage = sglci_publisher::triage::Triage::default();
    let h = Handler {
        site: None,
        limits: Default::default(),
        effects: Some(EffectsRun {
            sinks: &sinks,
            triage: &triage,
            holder: "t",
            fault: None,
        }),
    };
    sglci_publisher::app::effects::start_cursor(&store, 0).expect("cursor");
    let runs = [
        (
            "sanity-20251218",
            "test/sanity_check_log/mi30x/v0.5.6.post2-rocm700-mi30x-20251218",
            "v0.5.6.post2-rocm700-mi30x-20251218",
        ),
        (
            "unit-20251218",
            "test/unit-test-backend-8-gpu-CAR-amd/mi30x/v0.5.6.post2-rocm700-mi30x-20251218.log",
            "v0.5.6.post2-rocm700-mi30x-20251218",
        ),
        (
            "pd-20251216",
            "test/pd/pd_log/mi30x/v0.5.6.post2-rocm700-mi30x-20251216",
            "v0.5.6.post2-rocm700-mi30x-20251216",
        ),
        (
            "image-check-20251219",
            "cron_log/mi30x/20251219/docker_image_check.log",
            "v0.5.6.post2-rocm700-mi30x-20251219",
        ),
    ];
    for (id, rel, tag) in runs {
        ship(&store, &queue, id, tag, &sample_files(rel));
    }
    let report =
        sglci_publisher::app::ingest_pending_with(&store, &queue, &h, "2025-12-20T06:00:00Z")
            .expect("ingest");
    assert_eq!(report.quarantined, [], "{report:?}");
    let kinds: Vec<String> = std::fs::read_dir(&cards)
        .expect("cards")
        .filter_map(|e| std::fs::read(e.ok()?.path()).ok())
        .filter_map(|b| serde_json::from_slice::<Value>(&b).ok())
        .map(|v| v["notification"]["kind"].as_str().unwrap_or("").to_owned())
        .collect();
    for kind in ["sanity", "unit_pd", "image_check"] {
        assert!(kinds.iter().any(|k| k == kind), "a {kind} card: {kinds:?}");
    }
    // The PD and the unit run of different nights: each its own card.
    assert_eq!(
        kinds.iter().filter(|k| *k == "unit_pd").count(),
        2,
        "{kinds:?}"
    );
}

#[test]
fn cli_summary_once_and_improvements() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("data");
    let store = sglci_core::backend::dir::DirStore::new(&data);
    let queue = sglci_core::backend::spool::SpoolQueue::new(&data.join("queue"));
    for (id, tag, files) in &synthetic_nights(3) {
        ship(&store, &queue, id, tag, files);
    }
    let out = publisher_cli(&data, &[], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cards = tmp.path().join("cards");
    let to = format!("dir:{}", cards.display());
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_sglci-publisher"))
            .args(["--store", &data.display().to_string()])
            .args(args)
            .env("PUBLISHER_LOG", "warn")
            .output()
            .expect("publisher runs")
    };
    // A cron firing twice: one card.
    for _ in 0..2 {
        let out = run(&[
            "notify",
            "summary",
            "--hardware",
            "mi30x",
            "--date",
            "20251214",
            "--once",
            "--to",
            &to,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(count_files(&cards), 1, "one summary card");
    // `--once` takes card targets only.
    let out = run(&[
        "notify",
        "summary",
        "--hardware",
        "mi30x",
        "--once",
        "--to",
        "slack",
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Improvements in the regressions report's formats (none in three equal nights).
    let out = run(&["regressions", "--improvements", "--format", "csv"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 1, "the header only: {text}");
    assert!(text.starts_with("id,"), "{text}");
}
