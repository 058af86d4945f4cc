//! Notifiers over real HTTP against a local receiver that records every request (method, path,
//! headers, body) and answers from a script or a small fake of the GitHub API.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use sglci_publisher::notify::github::{GitHub, PrComment, REGRESSION_LABEL};
use sglci_publisher::notify::http::{Http, Retry};
use sglci_publisher::notify::{build, FileNotifier, Notification, Notifier, Status, TeamsNotifier};

#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) headers: BTreeMap<String, String>,
    pub(crate) body: String,
}

pub(crate) type Handler = dyn Fn(&Request) -> (u16, Vec<(String, String)>, String) + Send + Sync;

/// A loopback HTTP server: records requests, answers with `handler`.
pub(crate) fn receiver(handler: Arc<Handler>) -> (String, Arc<Mutex<Vec<Request>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let log = Arc::new(Mutex::new(Vec::new()));
    let seen = log.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let mut parts = line.split_whitespace();
            let (method, path) = (
                parts.next().unwrap_or("").to_owned(),
                parts.next().unwrap_or("").to_owned(),
            );
            let mut headers = BTreeMap::new();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                if let Some((k, v)) = h.split_once(':') {
                    headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
                }
            }
            let len: usize = headers
                .get("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; len];
            reader.read_exact(&mut body).ok();
            let req = Request {
                method,
                path,
                headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            };
            let (status, extra, resp) = handler(&req);
            seen.lock().expect("lock").push(req);
            let mut head = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
                resp.len()
            );
            for (k, v) in extra {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            stream.write_all(head.as_bytes()).ok();
            stream.write_all(resp.as_bytes()).ok();
        }
    });
    (format!("http://{addr}"), log)
}

fn fast() -> Http {
    Http::new(Retry {
        attempts: 4,
        backoff: Duration::from_millis(1),
        max_wait: Duration::from_millis(20),
    })
}

fn note(key: &str) -> Notification {
    Notification {
        kind: "test".into(),
        key: key.into(),
        title: "2025-12-10 Daily CI Summary Report · mi30x".into(),
        status: Status::Error,
        facts: vec![(
            "Docker image".into(),
            "v0.5.6.post1-rocm700-mi30x-20251210".into(),
        )],
        lines: vec!["❌ **Grok Online Benchmark**: fail".into()],
        links: vec![("📋 Job logs".into(), "https://example.org/logs".into())],
        markdown: "## report\n".into(),
    }
}

#[test]
fn teams_card_is_posted_with_retries_on_5xx_and_429() {
    let count = Arc::new(Mutex::new(0));
    let c = count.clone();
    let (base, log) = receiver(Arc::new(move |_r: &Request| {
        let mut n = c.lock().expect("lock");
        *n += 1;
        match *n {
            1 => (503, vec![], "busy".into()),
            2 => (
                429,
                vec![("Retry-After".into(), "0".into())],
                "slow down".into(),
            ),
            _ => (200, vec![], "1".into()),
        }
    }));
    // A webhook URL's path is a secret; only the host may ever appear in messages.
    let secret_path = format!("/webhookb2/{}/IncomingWebhook/{}", "a1b2c3", "d4e5f6");
    let teams = TeamsNotifier::new(format!("{base}{secret_path}"), fast());
    let receipt = teams
        .notify(&note("daily:mi30x:20251210"))
        .expect("delivered");
    assert!(!receipt.contains("webhookb2"), "{receipt}");
    let reqs = log.lock().expect("lock").clone();
    assert_eq!(reqs.len(), 3, "two retries then success");
    let r = &reqs[2];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", secret_path.as_str())
    );
    assert_eq!(r.headers["content-type"], "application/json");
    let card: Value = serde_json::from_str(&r.body).expect("json");
    let content = &card["attachments"][0]["content"];
    assert_eq!(
        card["attachments"][0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(content["type"], "AdaptiveCard");
    assert_eq!(content["version"], "1.4");
    assert_eq!(
        content["body"][0]["text"],
        "2025-12-10 Daily CI Summary Report · mi30x"
    );
    assert_eq!(content["body"][1]["type"], "FactSet");
    assert_eq!(content["actions"][0]["url"], "https://example.org/logs");
}

#[test]
fn teams_failure_names_the_host_only() {
    let (base, log) = receiver(Arc::new(|_r: &Request| (500, vec![], "boom".into())));
    let teams = TeamsNotifier::new(format!("{base}/workflows/secret-sig?sig=topsecret"), fast());
    let err = teams.notify(&note("k")).expect_err("fails").to_string();
    assert_eq!(log.lock().expect("lock").len(), 4, "every attempt used");
    assert!(
        err.contains("HTTP 500") && err.contains("127.0.0.1"),
        "{err}"
    );
    assert!(!err.contains("secret") && !err.contains("sig="), "{err}");
    // 4xx other than 429 is not retried.
    let (base, log) = receiver(Arc::new(|_r: &Request| (400, vec![], "bad card".into())));
    let err = TeamsNotifier::new(format!("{base}/x"), fast())
        .notify(&note("k"))
        .expect_err("rejected")
        .to_string();
    assert_eq!(log.lock().expect("lock").len(), 1);
    assert!(err.contains("HTTP 400"), "{err}");
}

/// A fake of the GitHub REST API: issue comments and issues, in memory.
pub(crate) type Recorded = Arc<Mutex<Vec<Request>>>;

pub(crate) fn fake_github() -> (String, Recorded, Arc<Mutex<Value>>) {
    let state = Arc::new(Mutex::new(json!({"comments": [
        {"id": 7, "body": "LGTM from a human"}
    ], "issues": [], "next": 100})));
    let s = state.clone();
    let (base, log) = receiver(Arc::new(move |r: &Request| {
        let mut st = s.lock().expect("lock");
        let path = r.path.split('?').next().unwrap_or("").to_owned();
        let body: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
        let next = |st: &mut Value| {
            let n = st["next"].as_u64().unwrap_or(100);
            st["next"] = json!(n + 1);
            n
        };
        match (r.method.as_str(), path.as_str()) {
            ("GET", "/repos/amd/sglci-log/issues/42/comments") => {
                (200, vec![], st["comments"].to_string())
            }
            ("POST", "/repos/amd/sglci-log/issues/42/comments") => {
                let id = next(&mut st);
                let c = json!({"id": id, "body": body["body"]});
                if let Some(a) = st["comments"].as_array_mut() {
                    a.push(c.clone());
                }
                (201, vec![], c.to_string())
            }
            ("PATCH", p) if p.starts_with("/repos/amd/sglci-log/issues/comments/") => {
                let id: u64 = p
                    .rsplit('/')
                    .next()
                    .and_then(|x| x.parse().ok())
                    .unwrap_or(0);
                for c in st["comments"].as_array_mut().into_iter().flatten() {
                    if c["id"] == json!(id) {
                        c["body"] = body["body"].clone();
                    }
                }
                (200, vec![], json!({"id": id}).to_string())
            }
            ("GET", "/repos/amd/sglci-log/issues") => {
                let open: Vec<Value> = st["issues"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|i| i["state"] == "open")
                    .cloned()
                    .collect();
                (200, vec![], Value::Array(open).to_string())
            }
            ("POST", "/repos/amd/sglci-log/issues") => {
                let number = next(&mut st);
                let i = json!({"number": number, "title": body["title"], "body": body["body"],
                               "labels": body["labels"], "state": "open"});
                if let Some(a) = st["issues"].as_array_mut() {
                    a.push(i.clone());
                }
                (201, vec![], i.to_string())
            }
            ("PATCH", p) if p.starts_with("/repos/amd/sglci-log/issues/") => {
                let number: u64 = p
                    .rsplit('/')
                    .next()
                    .and_then(|x| x.parse().ok())
                    .unwrap_or(0);
                for i in st["issues"].as_array_mut().into_iter().flatten() {
                    if i["number"] == json!(number) {
                        for (k, v) in body.as_object().into_iter().flatten() {
                            i[k] = v.clone();
                        }
                    }
                }
                (200, vec![], json!({"number": number}).to_string())
            }
            ("POST", p) if p.ends_with("/comments") => (201, vec![], json!({"id": 1}).to_string()),
            _ => (404, vec![], json!({"message": "Not Found"}).to_string()),
        }
    }));
    (base, log, state)
}

pub(crate) fn token() -> String {
    // Assembled at run time: no token-shaped literal in the repository.
    ["ghp", "_", "testtokenvalue"].concat()
}

#[test]
fn pr_comment_is_updated_in_place() {
    let (base, log, state) = fake_github();
    let gh = GitHub::new(&base, "amd/sglci-log", token(), fast()).expect("repo");
    let target = PrComment { github: gh, pr: 42 };
    let mut n = note("compare:mi30x:GROK1:");
    n.markdown = "first version".into();
    target.notify(&n).expect("created");
    n.markdown = "second version".into();
    target.notify(&n).expect("updated");
    let comments = state.lock().expect("lock")["comments"].clone();
    let ours: Vec<&Value> = comments
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| {
            c["body"]
                .as_str()
                .is_some_and(|b| b.contains("<!-- sglci:compare:mi30x:GROK1: -->"))
        })
        .collect();
    assert_eq!(ours.len(), 1, "one comment, edited");
    assert!(ours[0]["body"]
        .as_str()
        .is_some_and(|b| b.ends_with("second version")));
    assert_eq!(
        comments[0]["body"], "LGTM from a human",
        "other comments untouched"
    );
    let reqs = log.lock().expect("lock").clone();
    let methods: Vec<&str> = reqs.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(methods, ["GET", "POST", "GET", "PATCH"]);
    assert!(reqs
        .iter()
        .all(|r| r.headers["authorization"] == format!("Bearer {}", token())));
    assert!(reqs
        .iter()
        .all(|r| r.headers.contains_key("x-github-api-version")));
}

#[test]
fn regression_issues_open_update_and_close() {
    let (base, _log, state) = fake_github();
    let gh = GitHub::new(&base, "amd/sglci-log", token(), fast()).expect("repo");
    let a = note("regression:mi30x/GROK1/standard/request_rate/e2e_ms@20251210");
    let b = note("regression:mi30x/GROK2/standard/request_rate/ttft_ms@20251209");
    let first = gh
        .sync_regression_issues(&[a.clone(), b.clone()], &[])
        .expect("sync");
    assert_eq!(
        (first.opened.len(), first.updated.len(), first.closed.len()),
        (2, 0, 0)
    );
    let c = note("regression:mi30x/GROK1/standard/request_rate/ttft_ms@20251202");
    let again = gh
        .sync_regression_issues(&[a.clone(), b.clone(), c.clone()], &[])
        .expect("sync");
    assert_eq!(
        (again.opened.len(), again.updated.len(), again.closed.len()),
        (1, 2, 0)
    );
    // Next morning: GROK1 E2E still open (updated), GROK2 recovered (closed), and the TTFT
    // finding muted: its issue is left alone, neither updated nor closed.
    let second = gh
        .sync_regression_issues(&[a], std::slice::from_ref(&c.key))
        .expect("sync");
    assert_eq!(second.updated, vec![first.opened[0]]);
    assert_eq!(second.closed, vec![first.opened[1]]);
    assert!(second.opened.is_empty());
    let issues = state.lock().expect("lock")["issues"].clone();
    let states: Vec<(&str, &str)> = issues
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            (
                i["state"].as_str().unwrap_or(""),
                i["labels"][0].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("open", REGRESSION_LABEL),
            ("closed", REGRESSION_LABEL),
            ("open", REGRESSION_LABEL)
        ]
    );
    assert!(GitHub::new(&base, "not-a-repo", token(), fast()).is_err());
}

#[test]
fn file_notifier_and_daily_summary_builder() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/legacy");
    let rows =
        sglci_publisher::legacy::build(&sglci_publisher::legacy::scan(&dir).expect("scan")).rows;
    let t = sglci_publisher::site::templates::Templates::embedded().expect("templates");
    // A night whose image is that night's: not stale.
    let n = build::daily_summary(
        &rows,
        &t,
        "mi30x",
        "20251210",
        "logs/",
        Some("https://dash.example"),
    )
    .expect("built");
    assert!(!n.title.contains("stale"), "{}", n.title);
    assert!(n.markdown.contains("Daily CI Summary Report"));
    assert!(n
        .links
        .iter()
        .any(|(_, u)| u == "https://dash.example/hw/mi30x/20251210.html"));
    // A night with no image at all is still reported, and says so.
    let none = build::daily_summary(&rows, &t, "mi30x", "20990101", "logs/", None).expect("built");
    assert!(none.lines[0].contains("No task of this night names its image"));
    // A stale image marks the report; it is never dropped (W-13).
    let mut stale = note("daily:mi30x:20251210");
    stale.status = Status::Good;
    sglci_publisher::notify::mark_stale(&mut stale, Some("20251209"), "20251210");
    assert!(
        stale.title.starts_with("⚠️ stale image (20251209)"),
        "{}",
        stale.title
    );
    assert_eq!(stale.status, Status::Warning);
    let out = tempfile::tempdir().expect("tmp");
    let receipt = FileNotifier {
        dir: out.path().to_owned(),
    }
    .notify(&n)
    .expect("written");
    let doc: Value = serde_json::from_slice(&std::fs::read(&receipt).expect("file")).expect("json");
    assert_eq!(doc["teams"]["attachments"][0]["content"]["version"], "1.4");
    assert_eq!(doc["notification"]["key"], "daily:mi30x:20251210");
}

#[test]
fn night_cards_for_every_task_kind() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/legacy");
    let rows =
        sglci_publisher::legacy::build(&sglci_publisher::legacy::scan(&dir).expect("scan")).rows;
    let kinds = |date: &str| -> Vec<String> {
        build::night_cards(&rows, "mi30x", date, Some("https://dash.example"))
            .iter()
            .map(|n| n.kind.clone())
            .collect()
    };
    assert_eq!(kinds("20251210"), ["benchmark"]);
    assert_eq!(kinds("20251218"), ["sanity", "unit_pd"]);
    assert_eq!(kinds("20251219"), ["image_check"]);
    let cards = build::night_cards(&rows, "mi30x", "20251210", Some("https://dash.example"));
    let bench = &cards[0];
    assert!(
        bench
            .title
            .starts_with("2025-12-10 GROK1 Benchmark Results"),
        "{}",
        bench.title
    );
    assert!(
        bench
            .lines
            .iter()
            .any(|l| l.starts_with("RR=8: E2E 36489.7 ms")),
        "{:?}",
        bench.lines
    );
    insta::assert_json_snapshot!(
        "teams_benchmark_card",
        sglci_publisher::notify::teams_message(bench)
    );
    let sanity = &build::night_cards(&rows, "mi30x", "20251218", None)[0];
    assert!(
        sanity.lines[0].starts_with("**Models: "),
        "{:?}",
        sanity.lines
    );
    assert!(
        sanity
            .lines
            .iter()
            .skip(1)
            .all(|l| l.contains("(threshold ≥ ")),
        "{:?}",
        sanity.lines
    );
}

/// `notify ab FILE --to github-pr:N`: a recorded A/B (the sample `sglci-runner ab` wrote on CPU)
/// becomes one PR comment, edited in place when the comparison runs again; a file that is not a
/// record is refused with exit 2, naming it.
#[test]
fn an_ab_record_becomes_the_pr_comment_edited_in_place() {
    let (base, _log, state) = fake_github();
    let record = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../samples/legacy/ab_log/cpu/ab-smoke-one-thread-20261202/comparison.json");
    let store = tempfile::tempdir().expect("tmp");
    let notify = |file: &Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_sglci-publisher"))
            .arg("--store")
            .arg(store.path())
            .args(["notify", "ab"])
            .arg(file)
            .args(["--to", "github-pr:42"])
            .env("GITHUB_API_URL", &base)
            .env("GITHUB_TOKEN", token())
            .env("GITHUB_REPOSITORY", "amd/sglci-log")
            .env("PUBLISHER_LOG", "warn")
            .output()
            .expect("runs")
    };
    for _ in 0..2 {
        let out = notify(&record);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let comments = state.lock().expect("lock")["comments"].clone();
    let ours: Vec<&Value> = comments
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| {
            c["body"]
                .as_str()
                .is_some_and(|b| b.contains("<!-- sglci:ab:cpu:smoke -->"))
        })
        .collect();
    assert_eq!(ours.len(), 1, "one comment, edited");
    let body = ours[0]["body"].as_str().expect("body");
    assert!(body.contains("## A/B on cpu: suite `smoke`"), "{body}");
    assert!(body.contains("B: 🔴 worse"), "{body}");
    let not_a_record = store.path().join("x.json");
    std::fs::write(&not_a_record, "{\"schema\": 1}").expect("write");
    let out = notify(&not_a_record);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("x.json"));
}
