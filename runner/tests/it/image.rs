//! F1 against a Docker Hub stand-in on loopback serving recorded tag listings
//! (`tests/data/dockerhub/`): paging, the `-srt` and other-ROCm tags skipped, the digest kept,
//! the stale fallback, errors and exit codes.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;

/// Serves page N for `?page=N` (page 1 without it); `fail` answers 503 to everything.
fn hub(fail: bool) -> (String, std::thread::JoinHandle<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let b = base.clone();
    let handle = std::thread::spawn(move || {
        let mut served = 0;
        listener.set_nonblocking(false).ok();
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { break };
            let mut line = String::new();
            let mut r = BufReader::new(s.try_clone().expect("clone"));
            if r.read_line(&mut line).is_err() {
                continue;
            }
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).map_or(true, |n| n == 0) || h == "\r\n" {
                    break;
                }
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
            if path == "/stop" {
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
                break;
            }
            served += 1;
            let page = path
                .split(['?', '&'])
                .find_map(|p| p.strip_prefix("page="))
                .unwrap_or("1")
                .to_owned();
            let file = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(format!("tests/data/dockerhub/page{page}.json"));
            let (status, body) = match std::fs::read_to_string(file) {
                _ if fail => ("503 Service Unavailable", String::from("{}")),
                Ok(t) => ("200 OK", t.replace("{base}", &b)),
                Err(_) => ("404 Not Found", String::from("{\"message\":\"not found\"}")),
            };
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
        served
    });
    (base, handle)
}

fn stop(base: &str, h: std::thread::JoinHandle<usize>) -> usize {
    let _ = ureq::get(&format!("{base}/stop")).call();
    h.join().expect("server")
}

fn runner(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_sglci-runner"))
        .args(args)
        .env("RUNNER_LOG", "warn")
        .output()
        .expect("runs")
}

#[test]
fn tonight_found_across_pages_with_digest() {
    let (base, h) = hub(false);
    let out = runner(&[
        "resolve",
        "--hardware",
        "mi30x",
        "--date",
        "20251216",
        "--hub-url",
        &base,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    // Page 1 has the -srt build and the rocm630 image: both skipped.
    assert_eq!(
        v["image"],
        "rocm/sgl-dev:v0.5.6.post2-rocm700-mi30x-20251216"
    );
    assert_eq!(
        v["digest"],
        "sha256:30c0ffee30c0ffee30c0ffee30c0ffee30c0ffee30c0ffee30c0ffee30c0ffee"
    );
    assert_eq!(v["stale"], false);
    assert_eq!(v["pages"], 2, "paging stops once tonight's image is found");
    assert_eq!(stop(&base, h), 2);
}

#[test]
fn yesterday_is_used_and_marked_stale_then_nothing_is_an_error() {
    let (base, h) = hub(false);
    let out = runner(&[
        "resolve",
        "--hardware",
        "mi30x",
        "--date",
        "20251217",
        "--hub-url",
        &base,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["tag"], "v0.5.6.post2-rocm700-mi30x-20251216");
    assert_eq!(v["stale"], true);
    assert_eq!(v["pages"], 3, "all pages read looking for tonight's");
    let none = runner(&[
        "resolve",
        "--hardware",
        "mi30x",
        "--date",
        "20251230",
        "--hub-url",
        &base,
    ]);
    assert_eq!(none.status.code(), Some(1), "no image is a failed task");
    let err = String::from_utf8_lossy(&none.stderr);
    assert!(
        err.contains("20251230 or 20251229") && err.contains("--image"),
        "{err}"
    );
    stop(&base, h);
}

#[test]
fn network_and_usage_errors() {
    let (base, h) = hub(true);
    let out = runner(&[
        "resolve",
        "--hardware",
        "mi30x",
        "--date",
        "20251216",
        "--hub-url",
        &base,
    ]);
    assert_eq!(out.status.code(), Some(3), "infrastructure");
    assert!(String::from_utf8_lossy(&out.stderr).contains("HTTP 503"));
    stop(&base, h);
    let out = runner(&["resolve", "--hardware", "mi30x", "--date", "2025-12-16"]);
    assert_eq!(out.status.code(), Some(2));
}

/// F13 through `sglci-runner run --suite image-check`: the predecessor's check log, the task's
/// verdict and exit code, and the publisher's image-check row from the shipped bundle.
#[test]
fn image_check_task_reports_missing_images() {
    let run = |date: &str, fail: bool| {
        let (base, h) = hub(fail);
        let dir = tempfile::tempdir().expect("tmp");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sglci-runner"))
            .args([
                "run",
                "--suite",
                "image-check",
                "--hardware",
                "mi30x",
                "--date",
                date,
                "--hub-url",
                &base,
            ])
            .arg("--out")
            .arg(dir.path().join("runs"))
            .arg("--store")
            .arg(dir.path().join("store"))
            .arg("--spool")
            .arg(dir.path().join("spool"))
            .output()
            .expect("runner");
        stop(&base, h);
        let log = std::fs::read_to_string(
            dir.path()
                .join(format!("runs/cron_log/mi30x/{date}/docker_image_check.log")),
        )
        .unwrap_or_default();
        (out, log, dir)
    };

    let (out, log, dir) = run("20251216", false);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        log.contains("Available images: 3") && log.contains("All expected images are available"),
        "{log}"
    );
    assert!(
        log.contains("Image: rocm/sgl-dev:v0.5.6.post2-rocm700-mi30x-20251216"),
        "{log}"
    );
    // The publisher reads the shipped log like the predecessor's.
    let store = sglci_core::backend::DirStore::new(&dir.path().join("store"));
    let queue = sglci_core::backend::SpoolQueue::new(&dir.path().join("store/queue"));
    let report = sglci_publisher::app::ingest_pending(&store, &queue, None, "2025-12-16T18:00:00Z")
        .expect("ingest");
    assert_eq!(report.ingested.len(), 1, "{report:?}");
    let hist =
        sglci_publisher::history::History::new(&store as &dyn sglci_core::store::ObjectStore);
    let rows = hist
        .read(sglci_core::records::IMAGE_CHECK)
        .expect("image_check");
    assert_eq!(rows.rows.len(), 1, "{:?}", rows.rows);
    let row = serde_json::to_string(&rows.rows[0]).expect("json");
    assert!(row.contains("20251216"), "{row}");

    // The 14th: mi35x's image is missing (a required one): the task fails, exit 1.
    let (out, log, _dir) = run("20251214", false);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        log.contains("mi35x image (rocm700)... ✗ NOT FOUND"),
        "{log}"
    );
    assert!(log.contains("Missing required images: 1"), "{log}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["jobs"][0]["failure"]["class"], "image_missing", "{v:#}");

    // Docker Hub down: an infrastructure failure, exit 3, not a missing image.
    let (out, _log, _dir) = run("20251216", true);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["jobs"][0]["failure"]["class"], "infrastructure", "{v:#}");
}
