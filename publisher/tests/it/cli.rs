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
        vec!["site", "--help"],
        vec!["serve", "--help"],
        vec!["summary", "--help"],
        vec!["regressions", "--help"],
        vec!["compare", "--help"],
        vec!["notify", "--help"],
        vec!["notify", "summary", "--help"],
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
    let parquet_first = crate::common::files_in(&store.path().join("history/v1/serving"));
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
        crate::common::files_in(&store.path().join("history/v1/serving"))
    );
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
    let header = lines.next().expect("header");
    assert!(header.starts_with("hardware,model,run_dir,docker_tag,date,variant,load_kind,load,e2e_ms,ttft_ms,itl_ms,gsm8k_accuracy"));
    // F70's columns follow the pinned ones (empty for the predecessor's runs).
    assert!(
        header.ends_with(",kv_cache_tokens,kv_cache_gb,tokens_per_s_per_gpu,mfu"),
        "{header}"
    );
    let offline = String::from_utf8(ok(store.path(), &["export", "offline", "--format", "csv"]))
        .expect("utf8");
    assert!(
        offline
            .lines()
            .next()
            .expect("header")
            .ends_with(",e2e_throughput,tokens_per_s_per_gpu,mfu,prefill_mfu,decode_mfu"),
        "{offline}"
    );
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

/// `export serving --format pytorch`: the PyTorch OSS benchmark database's records, schema v3
/// (pytorch/test-infra `clickhouse_db_schema/oss_ci_benchmark_v3/schema.sql`): every field of
/// the table, one record per run, load and metric, the values where the history has them.
#[test]
fn export_as_pytorch_benchmark_records() {
    let store = tempfile::tempdir().expect("tempdir");
    ok(
        store.path(),
        &["ingest", "--legacy", samples().to_str().expect("utf8")],
    );
    let raw = ok(store.path(), &["export", "serving", "--format", "pytorch"]);
    let records: Vec<serde_json::Value> = serde_json::from_slice(&raw).expect("a JSON array");
    let keys = |v: &serde_json::Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
        k.sort();
        k
    };
    let sorted = |k: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = k.iter().map(|s| (*s).to_owned()).collect();
        v.sort();
        v
    };
    for r in &records {
        assert_eq!(
            keys(r),
            sorted(&[
                "timestamp",
                "schema_version",
                "name",
                "repo",
                "head_branch",
                "head_sha",
                "workflow_id",
                "run_attempt",
                "job_id",
                "runners",
                "benchmark",
                "model",
                "inputs",
                "dependencies",
                "metric",
            ])
        );
        assert_eq!(r["schema_version"], "v3");
        assert_eq!(
            keys(&r["runners"][0]),
            sorted(&[
                "name",
                "type",
                "cpu_info",
                "cpu_count",
                "mem_info",
                "avail_mem_in_gb",
                "gpu_info",
                "gpu_count",
                "gpu_mem_info",
                "avail_gpu_mem_in_gb",
                "extra_info",
            ])
        );
        assert_eq!(
            keys(&r["benchmark"]),
            sorted(&["name", "mode", "dtype", "extra_info"])
        );
        assert_eq!(
            keys(&r["model"]),
            sorted(&["name", "type", "backend", "origins", "extra_info"])
        );
        assert_eq!(
            keys(&r["metric"]),
            sorted(&["name", "benchmark_values", "target_value", "extra_info"])
        );
        assert_eq!(
            keys(&r["dependencies"]["sglang"]),
            sorted(&["repo", "branch", "sha", "version", "extra_info"])
        );
        assert!(r["timestamp"].as_i64().is_some_and(|t| t > 1_600_000_000));
    }
    // GROK1 on 2025-12-10 at request rate 8: the median E2E, as the client log says.
    let e2e = records
        .iter()
        .find(|r| {
            r["metric"]["name"] == "median_e2el_ms"
                && r["benchmark"]["extra_info"]["load"] == "8"
                && r["benchmark"]["extra_info"]["run_dir"]
                    .as_str()
                    .is_some_and(|d| d.contains("20251210_GROK1"))
        })
        .expect("the rate-8 E2E record");
    assert_eq!(
        e2e["metric"]["benchmark_values"],
        serde_json::json!([36489.7])
    );
    assert_eq!(e2e["model"]["name"], "GROK1");
    assert_eq!(e2e["runners"][0]["name"], "mi30x");
    assert_eq!(e2e["benchmark"]["extra_info"]["load_kind"], "request_rate");
    assert_eq!(e2e["dependencies"]["sglang"]["version"], "0.5.6.post1");
    // Every record is one measured value of the serving table.
    let csv = String::from_utf8(ok(store.path(), &["export", "serving", "--format", "json"]))
        .expect("utf8");
    let serving: Vec<serde_json::Value> = serde_json::from_str(&csv).expect("json");
    let values: usize = serving
        .iter()
        .map(|s| {
            [
                "e2e_ms",
                "ttft_ms",
                "itl_ms",
                "tpot_ms",
                "p99_ttft_ms",
                "p99_itl_ms",
                "output_throughput",
                "request_throughput",
            ]
            .iter()
            .filter(|k| s[**k].is_number())
            .count()
        })
        .sum();
    assert_eq!(records.len(), values);
    let out = run(store.path(), &["export", "tasks", "--format", "pytorch"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`serving` or `offline`"));

    // Failure classes per hardware and ISO week, from the tasks.
    let stats = String::from_utf8(ok(store.path(), &["export", "failure-stats"])).expect("utf8");
    let mut lines = stats.lines();
    assert_eq!(
        lines.next(),
        Some("hardware,week,week_start,class,failures,ran,rate")
    );
    let tasks: Vec<serde_json::Value> =
        serde_json::from_slice(&ok(store.path(), &["export", "tasks", "--format", "json"]))
            .expect("tasks");
    let failed = tasks.iter().filter(|t| t["status"] == "fail").count();
    let counted: i64 = lines
        .map(|l| {
            l.split(',')
                .nth(4)
                .and_then(|n| n.parse::<i64>().ok())
                .expect("failures")
        })
        .sum();
    assert_eq!(
        counted as usize, failed,
        "every failed task in one class of one week"
    );
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

#[test]
fn site_summary_and_serve() {
    let store = tempfile::tempdir().expect("tmp");
    ok(
        store.path(),
        &["ingest", "--legacy", samples().to_str().expect("utf8")],
    );
    let out = store.path().join("site");
    let printed = ok(
        store.path(),
        &["site", "--out", out.to_str().expect("utf8"), "--no-png"],
    );
    assert!(String::from_utf8_lossy(&printed)
        .trim_end()
        .ends_with("index.html"));
    assert!(out.join("index.html").is_file() && out.join(".sglci-site").is_file());
    assert!(out.join("static/chart.js").is_file());
    // Rendering again replaces the earlier site.
    std::fs::write(out.join("stale.html"), "old").expect("write");
    ok(
        store.path(),
        &["site", "--out", out.to_str().expect("utf8")],
    );
    assert!(!out.join("stale.html").exists());
    // A directory that is not an sglci site is never overwritten.
    let foreign = store.path().join("foreign");
    std::fs::create_dir_all(&foreign).expect("mkdir");
    std::fs::write(foreign.join("keep.txt"), "mine").expect("write");
    let res = run(
        store.path(),
        &["site", "--out", foreign.to_str().expect("utf8")],
    );
    assert_eq!(res.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&res.stderr).contains("not made by sglci"));
    assert!(foreign.join("keep.txt").is_file());

    let md = ok(store.path(), &["summary", "--hardware", "mi30x"]);
    let md = String::from_utf8_lossy(&md);
    assert!(
        md.starts_with("## 2025-12-19 Daily CI Summary Report · mi30x"),
        "{md}"
    );
    let res = run(store.path(), &["summary", "--hardware", "mi99x"]);
    assert_eq!(res.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&res.stderr).contains("hint: one of mi30x"));

    // serve: prints its URL, answers GET, refuses to leave the directory.
    let mut child = bin()
        .args(["--store", store.path().to_str().expect("utf8")])
        .args(["serve", "--port", "0", "--dir", out.to_str().expect("utf8")])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("serve starts");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().expect("stdout")),
        &mut line,
    )
    .expect("url line");
    let addr = line
        .trim()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let get = |path: &str| -> String {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(&addr).expect("connect");
        write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").expect("send");
        let mut resp = String::new();
        s.read_to_string(&mut resp).expect("read");
        resp
    };
    let index = get("/");
    child.kill().ok();
    child.wait().ok();
    assert!(index.starts_with("HTTP/1.1 200 OK"), "{index}");
    assert!(index.contains("text/html") && index.contains("Nightly SGLang benchmarks"));
}

#[test]
fn regressions_in_every_format() {
    let store = tempfile::tempdir().expect("tmp");
    ok(
        store.path(),
        &["ingest", "--legacy", samples().to_str().expect("utf8")],
    );
    let csv = String::from_utf8(ok(
        store.path(),
        &["regressions", "--all", "--format", "csv"],
    ))
    .expect("utf8");
    assert!(csv.starts_with("id,state,hardware,model,config,load_kind,loads,metric,change_pct"));
    let json = ok(store.path(), &["regressions", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&json).expect("json");
    assert!(v.is_array());
    let md = String::from_utf8(ok(store.path(), &["regressions"])).expect("utf8");
    assert!(
        md.starts_with("| State |") || md == "No open regressions.\n",
        "{md}"
    );
}

#[test]
fn notify_targets_and_configuration_errors() {
    let store = tempfile::tempdir().expect("tmp");
    ok(
        store.path(),
        &["ingest", "--legacy", samples().to_str().expect("utf8")],
    );
    let md = String::from_utf8(ok(
        store.path(),
        &[
            "notify",
            "summary",
            "--hardware",
            "mi30x",
            "--date",
            "20251210",
        ],
    ))
    .expect("utf8");
    assert!(
        md.starts_with("## 2025-12-10 Daily CI Summary Report · mi30x"),
        "{md}"
    );
    let dir = store.path().join("alerts");
    let receipt = ok(
        store.path(),
        &[
            "notify",
            "summary",
            "--hardware",
            "mi30x",
            "--to",
            &format!("dir:{}", dir.display()),
        ],
    );
    assert!(String::from_utf8_lossy(&receipt).contains("daily_mi30x_"));
    assert_eq!(std::fs::read_dir(&dir).expect("dir").count(), 1);
    for (args, hint) in [
        (
            vec!["notify", "regressions", "--to", "pager"],
            "unknown --to",
        ),
        (
            vec!["notify", "regressions", "--to", "teams"],
            "SGLCI_TEAMS_WEBHOOK_URL",
        ),
        (
            vec![
                "notify",
                "summary",
                "--hardware",
                "mi30x",
                "--to",
                "github-issues",
            ],
            "github-issues is for",
        ),
    ] {
        let res = bin()
            .arg("--store")
            .arg(store.path())
            .args(&args)
            .env_remove("SGLCI_TEAMS_WEBHOOK_URL")
            .env("PUBLISHER_LOG", "warn")
            .output()
            .expect("runs");
        assert_eq!(res.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&res.stderr).contains(hint),
            "{args:?}: {}",
            String::from_utf8_lossy(&res.stderr)
        );
    }
}

fn copy_tree(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).expect("readable") {
        let e = e.expect("entry");
        let dest = to.join(e.file_name());
        if e.path().is_dir() {
            std::fs::create_dir_all(&dest).expect("dir");
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).expect("copy");
        }
    }
}

/// Issue 21: the bundle a real H200 run shipped to a directory store on the device
/// (samples/h200-proof/store: the bundle and its announcement) is ingested like any other: its
/// rows are `h200` with positive throughput, tokens/s per GPU and MFU, and its run page links
/// every raw file of the bundle.
#[test]
fn the_h200_proof_bundle_is_ingested_with_its_numbers() {
    let store = tempfile::tempdir().expect("tempdir");
    let proof = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/h200-proof/store");
    copy_tree(&proof, store.path());
    let site = store.path().join("site");
    ok(
        store.path(),
        &[
            "ingest",
            "--pending",
            "--site",
            site.to_str().expect("utf8"),
        ],
    );
    let csv = String::from_utf8(ok(store.path(), &["export", "serving", "--format", "json"]))
        .expect("utf8");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&csv).expect("json rows");
    let h200: Vec<&serde_json::Value> = rows.iter().filter(|r| r["hardware"] == "h200").collect();
    assert_eq!(h200.len(), 3, "{csv}");
    for r in &h200 {
        for k in ["output_throughput", "tokens_per_s_per_gpu", "mfu", "e2e_ms"] {
            assert!(r[k].as_f64().is_some_and(|v| v > 0.0), "{k}: {r}");
        }
        // A 1.2 B-parameter model on one H200 behind `transformers serve`: far below the peak.
        assert!(r["mfu"].as_f64().unwrap_or(1.0) < 0.01, "{r}");
    }
    let manifest_path = proof.join("runs/h200/20261202/h200-proof-20261203/manifest.json");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(manifest_path).expect("manifest"))
            .expect("json");
    assert_eq!(manifest["run"]["image"]["gpu"], "NVIDIA H200");
    let run_dir = h200[0]["run_dir"].as_str().expect("run dir");
    let page = std::fs::read_to_string(site.join(sglci_publisher::site::paths::run_page(run_dir)))
        .expect("the run page");
    for f in manifest["files"].as_array().expect("files") {
        let name = f["path"]
            .as_str()
            .and_then(|p| p.rsplit('/').next())
            .expect("name");
        assert!(
            page.contains(name),
            "{name} is not linked from the run page"
        );
    }
    assert!(page.contains("MFU"), "the efficiency columns");
}
