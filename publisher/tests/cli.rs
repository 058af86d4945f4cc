//! The `sglci-publisher` binary end to end on the bundled sample history (`samples/legacy`):
//! help texts, ingest idempotency, export formats and error exits.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sglci-publisher"))
}

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/legacy")
}

fn run(store: &Path, args: &[&str]) -> Output {
    let out = bin()
        .arg("--store")
        .arg(store)
        .args(args)
        .env("PUBLISHER_LOG", "warn")
        .output()
        .expect("runs");
    out
}

fn ok(store: &Path, args: &[&str]) -> Vec<u8> {
    let out = run(store, args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn help_on_every_subcommand() {
    for args in [
        vec!["--help"],
        vec!["ingest", "--help"],
        vec!["export", "--help"],
        vec!["tables", "--help"],
    ] {
        let out = bin().args(&args).output().expect("runs");
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Usage: sglci-publisher"), "{args:?}: {text}");
    }
}

#[test]
fn ingest_twice_gives_the_same_history() {
    let store = tempfile::tempdir().expect("tempdir");
    let report = String::from_utf8(ok(
        store.path(),
        &["ingest", "--legacy", samples().to_str().expect("utf8")],
    ))
    .expect("utf8");
    assert!(report.contains("online_csv"), "{report}");
    assert!(
        report.contains("quarantined files:"),
        "empty sample files are listed: {report}"
    );
    let tables = [
        "serving",
        "accuracy",
        "offline",
        "sanity",
        "sanity_models",
        "pd",
        "unit",
        "image_check",
        "upstream_coverage",
        "tasks",
        "runs",
        "quarantine",
        "files",
    ];
    let first: Vec<Vec<u8>> = tables
        .iter()
        .map(|t| ok(store.path(), &["export", t]))
        .collect();
    let parquet_first = parquet_files(&store.path().join("history/v1/serving"));
    assert!(
        parquet_first.len() > 1,
        "serving is partitioned by month: {:?}",
        parquet_first.keys()
    );
    ok(
        store.path(),
        &["ingest", "--legacy", samples().to_str().expect("utf8")],
    );
    let second: Vec<Vec<u8>> = tables
        .iter()
        .map(|t| ok(store.path(), &["export", t]))
        .collect();
    assert_eq!(first, second);
    assert_eq!(
        parquet_first,
        parquet_files(&store.path().join("history/v1/serving"))
    );
}

/// Every Parquet file under `dir` (relative path → bytes).
fn parquet_files(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    for month in std::fs::read_dir(dir).expect("table dir") {
        let month = month.expect("entry").path();
        for f in std::fs::read_dir(&month).expect("month dir") {
            let f = f.expect("entry").path();
            let rel = f
                .strip_prefix(dir)
                .expect("under dir")
                .display()
                .to_string();
            out.insert(rel, std::fs::read(&f).expect("parquet"));
        }
    }
    out
}

#[test]
fn export_formats_and_values() {
    let store = tempfile::tempdir().expect("tempdir");
    ok(
        store.path(),
        &["ingest", "--legacy", samples().to_str().expect("utf8")],
    );
    let csv = String::from_utf8(ok(store.path(), &["export", "serving", "--format", "csv"]))
        .expect("utf8");
    let mut lines = csv.lines();
    assert!(lines.next().expect("header").starts_with("hardware,model,run_dir,docker_tag,date,variant,load_kind,load,e2e_ms,ttft_ms,itl_ms,gsm8k_accuracy"));
    // GROK1 on 2025-12-10, rate 8: the client log's median E2E/TTFT/ITL and the GSM8K average.
    let row = lines
        .find(|l| l.contains("20251210_GROK1") && l.contains(",request_rate,8,"))
        .expect("rate-8 row");
    assert!(row.contains(",36489.7,221.04,33.54,0.813,"), "{row}");
    // Rate 16 was attempted but the log holds no result: the row is there, with empty values.
    let r16 = csv
        .lines()
        .find(|l| l.contains("20251210_GROK1") && l.contains(",request_rate,16,"))
        .expect("rate-16 row");
    assert!(r16.contains(",request_rate,16,,,,0.813,"), "{r16}");

    let raw = ok(store.path(), &["export", "sanity", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&raw).expect("json");
    let rows = json.as_array().expect("array");
    assert!(!rows.is_empty());
    assert_eq!(rows[0]["hardware"], "mi30x");
    // Keys come in column order.
    let text = String::from_utf8(raw).expect("utf8");
    assert!(
        text.contains(r#"{"hardware":"mi30x","docker_tag":"#),
        "{text}"
    );

    let parquet = ok(store.path(), &["export", "tasks", "--format", "parquet"]);
    assert!(parquet.starts_with(b"PAR1") && parquet.ends_with(b"PAR1"));
}

#[test]
fn errors_exit_with_meaningful_codes() {
    let store = tempfile::tempdir().expect("tempdir");
    let out = run(store.path(), &["export", "nonsense"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown table `nonsense`"));
    let out = run(
        store.path(),
        &["ingest", "--legacy", "/definitely/not/here"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a directory"));
    let out = bin()
        .args(["--store", "s3://bucket/prefix", "tables"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    // An empty store exports a header and no rows.
    let csv = String::from_utf8(ok(store.path(), &["export", "pd"])).expect("utf8");
    assert_eq!(csv.lines().count(), 1);
}
