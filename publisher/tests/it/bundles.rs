//! Bundles on the local backends: the directory store passes the store conformance checks, a
//! bundle goes through upload (manifest last), announcement and `ingest --pending` into the
//! history, a tampered bundle is quarantined without failing the rest of the batch, and the same
//! bundle delivered twice changes nothing.

use crate::common;

use std::path::Path;

use common::{check_all_runs_once, sample_run, ship_sample, synthetic_nights, NOW};

use sglci_core::backend::{DirStore, SpoolQueue};
use sglci_core::bundle::{manifest_for, upload, Announcement};
use sglci_core::queue::Queue;
use sglci_core::store::{check_store, Key};
use sglci_publisher::app;
use sglci_publisher::history::History;

fn ship(store: &Path, run_id: &str, name: &str, tamper: bool) -> String {
    let key = ship_sample(&DirStore::new(store), run_id, name, tamper);
    SpoolQueue::new(&store.join("queue"))
        .send(&Announcement::body(&key))
        .expect("announce")
}

fn history_bytes(store: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![store.join("history")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
        {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.display().to_string(), std::fs::read(&p).expect("read")));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn dir_store_conforms() {
    let dir = tempfile::tempdir().expect("tmp");
    check_store(&DirStore::new(dir.path())).expect("conforms");
    // Keys never leave the root.
    assert!(Key::new("../outside").is_err());
}

/// Two publisher processes drain one spool queue's worth of runs each, at once, into one
/// directory store: every run is committed exactly once and the derived regressions reflect the
/// whole history.
#[test]
fn two_publishers_at_once_lose_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path();
    let runs = synthetic_nights(20);
    for (i, (run_id, tag, files)) in runs.iter().enumerate() {
        let date = &tag[tag.len() - 8..];
        let m = manifest_for(run_id, "mi30x", date, tag, "grok-online", files);
        let key = upload(&DirStore::new(store), &m, files).expect("upload");
        let q = SpoolQueue::new(&store.join(format!("queue-{}", i % 2)));
        q.send(&Announcement::body(&key)).expect("announce");
    }
    let s = store.to_str().expect("utf8").to_owned();
    let children: Vec<_> = (0..2)
        .map(|i| {
            std::process::Command::new(env!("CARGO_BIN_EXE_sglci-publisher"))
                .args(["--store", &s, "ingest", "--pending", "--queue"])
                .arg(store.join(format!("queue-{i}")))
                .env("PUBLISHER_LOG", "warn")
                .spawn()
                .expect("spawn")
        })
        .collect();
    for mut c in children {
        assert!(c.wait().expect("wait").success());
    }
    check_all_runs_once(&DirStore::new(store), &runs);
}

#[test]
fn bundles_round_trip_quarantine_and_idempotence() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path();
    let queue = store.join("queue");
    ship(
        store,
        "grok1-20251210",
        "v0.5.6.post1-rocm700-mi30x-20251210_GROK1_MOE-I4F8_online",
        false,
    );
    let bad = ship(
        store,
        "grok1-20251206",
        "v0.5.6-rocm700-mi30x-20251206_GROK1_MOE-I4F8_online",
        true,
    );
    let report = app::ingest_pending(&DirStore::new(store), &SpoolQueue::new(&queue), None, NOW)
        .expect("batch");
    assert_eq!(report.ingested.len(), 1, "{report:?}");
    assert_eq!(report.ingested[0].0, "grok1-20251210");
    assert_eq!(report.quarantined.len(), 1);
    assert_eq!(report.quarantined[0].0, bad);
    assert!(
        report.quarantined[0].1.contains("checksum mismatch"),
        "{}",
        report.quarantined[0].1
    );
    // The failed message is kept with its reason, in the queue and in the store; nothing is
    // pending.
    let record =
        std::fs::read_to_string(store.join(format!("quarantine/{bad}.json"))).expect("record");
    assert!(
        record.contains("checksum mismatch") && record.contains(NOW),
        "{record}"
    );
    let reason =
        std::fs::read_to_string(queue.join(format!("failed/{bad}.reason.txt"))).expect("reason");
    assert!(reason.contains("checksum mismatch"));
    assert_eq!(
        std::fs::read_dir(queue.join("pending"))
            .expect("pending")
            .count(),
        0
    );
    // The run is in the history.
    let objects = DirStore::new(store);
    let serving = History::new(&objects)
        .read(sglci_core::records::SERVING)
        .expect("read");
    let rows: Vec<_> = serving
        .rows
        .iter()
        .filter(|r| {
            r.get("docker_tag").and_then(|v| v.as_str())
                == Some("v0.5.6.post1-rocm700-mi30x-20251210")
        })
        .collect();
    assert_eq!(rows.len(), 5, "one row per load");
    // The same bundle delivered again changes nothing.
    let before = history_bytes(store);
    ship(
        store,
        "grok1-20251210",
        "v0.5.6.post1-rocm700-mi30x-20251210_GROK1_MOE-I4F8_online",
        false,
    );
    let again = app::ingest_pending(&DirStore::new(store), &SpoolQueue::new(&queue), None, NOW)
        .expect("batch");
    assert_eq!(again.ingested.len(), 1);
    assert_eq!(
        history_bytes(store),
        before,
        "a duplicate delivery changes nothing"
    );
}

fn publisher(store: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_sglci-publisher"))
        .arg("--store")
        .arg(store)
        .args(args)
        .env("PUBLISHER_LOG", "warn")
        .output()
        .expect("runs")
}

#[test]
fn cli_ingest_pending_reports_and_exits() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path();
    ship(
        store,
        "grok1-20251210",
        "v0.5.6.post1-rocm700-mi30x-20251210_GROK1_MOE-I4F8_online",
        false,
    );
    let out = publisher(store, &["ingest", "--pending"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("ingested: 1, quarantined: 0"), "{text}");
    ship(
        store,
        "grok1-20251206",
        "v0.5.6-rocm700-mi30x-20251206_GROK1_MOE-I4F8_online",
        true,
    );
    let out = publisher(store, &["ingest", "--pending"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a quarantined bundle: the batch ran, an input failed"
    );
    let none = publisher(store, &["ingest"]);
    assert_eq!(
        none.status.code(),
        Some(2),
        "ingest needs --legacy or --pending"
    );
}

/// A new night arrives as a bundle and the site catches up: only the pages it touches are
/// written (the rest of the directory stays as it was).
#[test]
fn ingest_pending_updates_the_site() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path();
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/legacy");
    let ok = |args: &[&str]| {
        let out = publisher(store, args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ok(&["ingest", "--legacy", samples.to_str().expect("utf8")]);
    let site = store.join("site");
    ok(&["site", "--out", site.to_str().expect("utf8"), "--no-png"]);
    std::fs::write(site.join("kept.txt"), "untouched").expect("write");
    // The GROK1 run of 2025-12-10 moved 30 days on: a night the history has not seen.
    let files = sample_run("v0.5.6.post1-rocm700-mi30x-20251210_GROK1_MOE-I4F8_online");
    let moved: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(p, b)| {
            (
                sglci_publisher::synth::shift_dates(p, 30),
                sglci_publisher::synth::shift_dates(&String::from_utf8_lossy(b), 30).into_bytes(),
            )
        })
        .collect();
    let tag = "v0.5.6.post1-rocm700-mi30x-20260109";
    let m = manifest_for(
        "grok1-20260109",
        "mi30x",
        "20260109",
        tag,
        "grok-online",
        &moved,
    );
    let key = upload(&DirStore::new(store), &m, &moved).expect("upload");
    SpoolQueue::new(&store.join("queue"))
        .send(&Announcement::body(&key))
        .expect("announce");
    ok(&[
        "ingest",
        "--pending",
        "--site",
        site.to_str().expect("utf8"),
    ]);
    let run_page = site.join(sglci_publisher::site::paths::run_page(&format!(
        "online_benchmark_log/mi30x/GROK1/{tag}_GROK1_MOE-I4F8_online"
    )));
    assert!(run_page.is_file(), "{} missing", run_page.display());
    assert!(site.join("hw/mi30x/20260109.html").is_file());
    let home = std::fs::read_to_string(site.join("index.html")).expect("home");
    assert!(
        home.contains("2026-01-09"),
        "the home page shows the new night"
    );
    assert!(
        site.join("kept.txt").is_file(),
        "an update writes pages, it does not rebuild the directory"
    );
}

/// A release image's bundle (F16 run record in its manifest): its rows are dated and named by
/// the image, not by the label its folders carry, and its run page shows what the runner learnt
/// (reference, digest, SGLang commit, GPUs, config hash).
#[test]
fn a_release_image_is_known_by_its_reference_and_its_identity_is_shown() {
    use sglci_core::bundle::{RunMeta, RunStatus};
    use sglci_core::{DateSource, ImageIdentity, ImageKind};
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path();
    let label = "v0.5.5.post3-rocm700-mi30x-20251122-g3f2a9c1d7e";
    let reference = "lmsysorg/sglang:v0.5.5.post3-rocm700-mi30x";
    let digest = format!("lmsysorg/sglang@sha256:{}", "5d".repeat(32));
    let files: Vec<(String, Vec<u8>)> = sample_run(common::GROK1_1210)
        .into_iter()
        .map(|(p, b)| (p.replace("v0.5.6.post1-rocm700-mi30x-20251210", label), b))
        .collect();
    let mut m = manifest_for(
        "release-1",
        "mi30x",
        "20251122",
        label,
        "grok-online",
        &files,
    );
    m.run = Some(RunMeta {
        host: "gpu-7".into(),
        image: ImageIdentity {
            reference: reference.into(),
            kind: ImageKind::Release,
            label: label.into(),
            date_source: DateSource::Created,
            digest: Some(digest.clone()),
            image_id: None,
            revision: None,
            version: None,
            created: Some("2025-11-22T23:30:00Z".into()),
            sglang_version: Some("0.5.5.post3".into()),
            sglang_commit: Some("3f2a9c1d7e5b4a3928170615243342516071829a".into()),
            torch: Some("2.9.0+rocm7.0".into()),
            rocm: Some("7.0.51831".into()),
            cuda: None,
            gpu: Some("AMD Instinct MI300X".into()),
            gpu_count: Some(8),
        },
        config_hash: "c0".repeat(32),
        started: "2026-12-02T01:00:00Z".into(),
        ended: "2026-12-02T02:00:00Z".into(),
        status: RunStatus::Pass,
        failures: vec![],
        mconf: None,
        deploy: None,
        nodes: None,
    });
    let key = upload(&DirStore::new(store), &m, &files).expect("upload");
    SpoolQueue::new(&store.join("queue"))
        .send(&Announcement::body(&key))
        .expect("announce");
    let out = publisher(
        store,
        &[
            "ingest",
            "--pending",
            "--site",
            store.join("site").to_str().expect("utf8"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let objects = DirStore::new(store);
    let hist = History::new(&objects);
    let serving = hist.read(sglci_core::records::SERVING).expect("serving");
    assert_eq!(serving.rows.len(), 5);
    for r in &serving.rows {
        assert_eq!(r["docker_tag"], reference);
        assert_eq!(r["date"], "20251122");
    }
    let runs = hist.read(sglci_core::records::RUNS).expect("runs");
    assert_eq!(
        runs.rows[0]["sglang_commit"],
        "3f2a9c1d7e5b4a3928170615243342516071829a"
    );
    assert_eq!(runs.rows[0]["image_digest"], digest.as_str());
    let page = std::fs::read_to_string(store.join("site").join(
        sglci_publisher::site::paths::run_page(&format!(
            "online_benchmark_log/mi30x/GROK1/{label}_GROK1_MOE-I4F8_online"
        )),
    ))
    .expect("run page");
    // Tera escapes `/` in text.
    let page = page.replace("&#x2F;", "/");
    for shown in [
        reference,
        digest.as_str(),
        "3f2a9c1d7e5b",
        "AMD Instinct MI300X",
        "c0c0c0c0c0c0c0c0",
    ] {
        assert!(page.contains(shown), "the run page shows {shown}");
    }
}
