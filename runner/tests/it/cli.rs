//! `sglci-runner` end to end: help on every subcommand, tag validation, parsing a result file.

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sglci-runner"))
}

#[test]
fn help_on_every_subcommand() {
    for args in [
        vec!["--help"],
        vec!["tag", "--help"],
        vec!["parse", "--help"],
    ] {
        let out = bin().args(&args).output().expect("runs");
        assert!(out.status.success(), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("Usage: sglci-runner"));
    }
}

/// `tag ARGS…` → exit code, JSON (on success) and stderr.
fn tag(args: &[&str]) -> (Option<i32>, serde_json::Value, String) {
    let out = bin()
        .arg("tag")
        .args(args)
        .env("RUNNER_LOG", "error")
        .output()
        .expect("runs");
    let v = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (
        out.status.code(),
        v,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn tag_accepts_any_image_with_the_fields_it_implies() {
    let digest = format!("rocm/sgl-dev@sha256:{}", "ab".repeat(32));
    for (args, kind, hardware, date, label) in [
        (
            vec!["rocm/sgl-dev:v0.5.6.post2-rocm700-mi35x-20251219"],
            "nightly",
            "mi35x",
            "20251219",
            "v0.5.6.post2-rocm700-mi35x-20251219",
        ),
        (
            vec![
                "lmsysorg/sglang:v0.5.5.post3-rocm700-mi30x",
                "--date",
                "20261202",
            ],
            "release",
            "mi30x",
            "20261202",
            "v0.5.5.post3-rocm700-mi30x-20261202",
        ),
        (
            vec![
                "ghcr.io/me/sglang:3f2a9c1d7e",
                "--hardware",
                "mi35x",
                "--date",
                "20261202",
            ],
            "commit",
            "mi35x",
            "20261202",
            "v0.0.0-rocm-mi35x-20261202-g3f2a9c1d7e",
        ),
        (
            vec![&digest, "--hardware", "mi30x", "--date", "20261202"],
            "other",
            "mi30x",
            "20261202",
            "v0.0.0-rocm-mi30x-20261202",
        ),
        (
            vec![
                "lmsysorg/sglang:v0.5.6-cu129-amd64",
                "--hardware",
                "h200",
                "--date",
                "20261202",
            ],
            "release",
            "h200",
            "20261202",
            "v0.5.6-cu129-h200-20261202",
        ),
        (
            vec!["rocm/sgl-dev:20250623", "--hardware", "mi30x"],
            "dated",
            "mi30x",
            "20250623",
            "v0.0.0-rocm-mi30x-20250623",
        ),
    ] {
        let (code, v, err) = tag(&args);
        assert_eq!(code, Some(0), "{args:?}: {err}");
        assert_eq!(v["kind"], kind, "{args:?}");
        assert_eq!(v["hardware"], hardware, "{args:?}");
        assert_eq!(v["date"], date, "{args:?}");
        assert_eq!(v["label"], label, "{args:?}");
    }
    assert_eq!(tag(&[&digest, "--hardware", "mi30x"]).1["digest"], digest);

    // The tag and --hardware disagree: an error naming both.
    let (code, _, err) = tag(&[
        "rocm/sgl-dev:v0.5.6.post2-rocm700-mi35x-20251219",
        "--hardware",
        "mi30x",
    ]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("--hardware says mi30x, the image tag says mi35x"),
        "{err}"
    );
    // No hardware anywhere: say how to give it.
    let (code, _, err) = tag(&["lmsysorg/sglang:v0.5.6-cu129-amd64"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("pass --hardware"), "{err}");
    let (code, _, err) = tag(&["latest"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("invalid image reference"), "{err}");
}

#[test]
fn plan_names_run_folders_by_the_run_label() {
    let out = bin()
        .args([
            "plan",
            "--suite",
            "grok-online",
            "--hardware",
            "mi30x",
            "--image",
            "lmsysorg/sglang:v0.5.5.post3-rocm700-mi30x",
        ])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["identity"]["kind"], "release");
    let label = v["identity"]["label"].as_str().expect("label").to_owned();
    assert!(label.starts_with("v0.5.5.post3-rocm700-mi30x-"), "{label}");
    let folder = v["jobs"][0]["run_folder"].as_str().expect("folder");
    assert!(folder.contains(&format!("/{label}_")), "{folder}");
}

#[test]
fn parses_a_client_log() {
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../core/tests/data/client_log/grok_tpot_peak_metrics.log"
    );
    let out = bin()
        .args(["parse", "--kind", "client-log", file])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["result"]["median_e2e_ms"], 36489.7);
    let out = bin()
        .args(["parse", "--kind", "gsm8k", "/nonexistent"])
        .env("RUNNER_LOG", "error")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(3));
}

/// F2 in `run`: busy GPUs (the vendor tool's captured output) stop the run before anything
/// starts, with the `gpu_busy` evidence and exit 3; a broken first tool falls back to the next.
#[test]
fn run_waits_for_idle_gpus_and_gives_up_with_exit_3() {
    let tools = tempfile::tempdir().expect("tmp");
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/gpu");
    let script = |name: &str, body: &str| {
        let p = tools.path().join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).expect("write");
        let mut perm = std::fs::metadata(&p).expect("meta").permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
        std::fs::set_permissions(&p, perm).expect("chmod");
    };
    script("rocm-smi", "echo 'rocm-smi: driver not loaded' >&2; exit 1");
    script(
        "amd-smi",
        &format!(
            "cat '{}'",
            data.join("amd_smi_leftover_memory.json").display()
        ),
    );
    let path = format!(
        "{}:{}",
        tools.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = bin()
        .args([
            "run",
            "--suite",
            "grok-online",
            "--hardware",
            "mi30x",
            "--image",
            "v0.5.6-rocm700-mi30x-20251216",
            "--gpu-wait",
            "0",
            "--out",
        ])
        .arg(tools.path().join("runs"))
        .arg("--store")
        .arg(tools.path().join("store"))
        .arg("--spool")
        .arg(tools.path().join("spool"))
        .env("PATH", path)
        .env_remove("GITHUB_ACTIONS")
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("GPU still busy after 0 s"), "{stderr}");
    assert_eq!(
        sglci_core::failure::classify(stderr.lines()).map(|e| e.class),
        Some(sglci_core::failure::FailureClass::GpuBusy)
    );
    // Nothing started: the run tree holds only the two jobs' cron logs (GROK1 and GROK2 each
    // replace a cron job of the predecessor's), and those were shipped.
    let runs = tools.path().join("runs");
    let top: Vec<String> = std::fs::read_dir(&runs)
        .expect("runs")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(top, ["cron_log"], "nothing started");
    let day = runs.join("cron_log/mi30x/20251216");
    for job in ["grok_nightly", "grok2_nightly_online"] {
        let log = std::fs::read_to_string(day.join(format!("{job}.log"))).expect("cron log");
        assert!(log.contains("GPU still busy after 0 s") && log.contains("Result: FAILED"));
    }
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout JSON");
    assert!(printed["shipped"].as_str().is_some(), "{printed}");

    // The publisher shows both of the night's Grok tasks failed with `gpu_busy`, not missing.
    let store = sglci_core::backend::DirStore::new(&tools.path().join("store"));
    let queue = sglci_core::backend::SpoolQueue::new(&tools.path().join("store/queue"));
    let report = sglci_publisher::app::ingest_pending(&store, &queue, None, "2025-12-17T06:00:00Z")
        .expect("ingest");
    assert!(report.quarantined.is_empty(), "{report:?}");
    let hist =
        sglci_publisher::history::History::new(&store as &dyn sglci_core::store::ObjectStore);
    let tasks = hist.read(sglci_core::records::TASKS).expect("tasks");
    let rows = serde_json::to_value(&tasks.rows).expect("rows");
    for task in ["grok_online", "grok2_online"] {
        let row = rows
            .as_array()
            .expect("rows")
            .iter()
            .find(|r| r["task"] == task && r["date"] == "20251216" && r["hardware"] == "mi30x")
            .unwrap_or_else(|| panic!("no {task} row: {rows:#}"));
        assert_eq!(row["failure_class"], "gpu_busy", "{row:#}");
        assert!(
            row["evidence"]
                .as_str()
                .is_some_and(|e| e.contains("GPU still busy")),
            "{row:#}"
        );
    }
}

/// Serves `body` once per connection on a loopback port, for `count` requests.
fn serve(body: &'static str, count: usize) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(count).flatten() {
            let mut stream = stream;
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

/// `gsm8k --data URL` reads the questions over HTTP (the PD suite on GPU hosts reads the GSM8K
/// test set from where the predecessor's client did), and asking for more questions than the
/// data holds is refused instead of quietly asking fewer.
#[test]
fn gsm8k_reads_data_from_a_url_and_refuses_to_ask_fewer_questions() {
    let data = include_str!("../../../suites/smoke/gsm8k.jsonl");
    let port = serve(data, 1);
    let out = bin()
        .args([
            "gsm8k",
            "--port",
            "9",
            "--num-shots",
            "3",
            "--num-questions",
            "500",
        ])
        .args(["--data", &format!("http://127.0.0.1:{port}/test.jsonl")])
        .env("RUNNER_LOG", "warn")
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let items = data.lines().filter(|l| !l.trim().is_empty()).count();
    assert!(
        stderr.contains(&format!(
            "500 questions asked for, but the data has {} after the 3 shots",
            items - 3
        )),
        "{stderr}"
    );
    // Unreachable data is an infrastructure failure with a hint.
    let out = bin()
        .args(["gsm8k", "--data", "http://127.0.0.1:9/test.jsonl"])
        .env("RUNNER_LOG", "warn")
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("hint: give a local copy"), "{stderr}");
}

/// The runner reads `--store` with the publisher's parser: a `file://` URL is a directory store
/// (its queue is the store's own spool).
#[test]
fn ship_takes_a_file_url_store() {
    let tmp = tempfile::tempdir().expect("tmp");
    let run = tmp.path().join("run/online_benchmark_log/cpu/M");
    std::fs::create_dir_all(&run).expect("mkdir");
    std::fs::write(run.join("a.log"), "hello\n").expect("write");
    let store = tmp.path().join("store");
    let out = bin()
        .args(["ship"])
        .arg(tmp.path().join("run"))
        .args([
            "--run-id",
            "r1",
            "--image",
            "v0.4.9.post2-cpu-cpu-20261124",
            "--suite",
            "smoke",
        ])
        .arg("--store")
        .arg(format!("file://{}", store.display()))
        .arg("--spool")
        .arg(tmp.path().join("spool"))
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        store.join("queue").is_dir(),
        "announced on the store's spool"
    );
    assert!(std::fs::read_dir(store.join("runs/cpu/20261124"))
        .expect("the bundle is in the store")
        .next()
        .is_some());
}

/// `ab`'s own flags are checked before anything runs: exit 2 naming the flag and a hint.
#[test]
fn ab_refuses_bad_rounds_and_minimum_changes_before_running_anything() {
    let tmp = tempfile::tempdir().expect("tmp");
    for (flag, value) in [
        ("--min-change", "100"),
        ("--min-change", "-1"),
        ("--min-change", "NaN"),
        ("--rounds", "0"),
    ] {
        let out = bin()
            .args([
                "ab",
                "--baseline",
                "a:1",
                "--candidate",
                "b:1",
                "--suite",
                "cpu",
            ])
            .arg(format!("{flag}={value}"))
            .args(["--no-ship", "--out"])
            .arg(tmp.path())
            .env("RUNNER_LOG", "error")
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}: {stderr}");
        assert!(stderr.contains(flag), "{flag} {value}: {stderr}");
    }
    assert!(
        std::fs::read_dir(tmp.path()).expect("out").next().is_none(),
        "nothing ran"
    );
}
