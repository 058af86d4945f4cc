//! F11 through `sglci-runner run` on the local engine: a real `python3 -m unittest` module in
//! its test directory on the first N GPUs; the log in the predecessor's place and format; the
//! result from the exit code; the publisher's unit row from the shipped bundle.

use std::path::Path;
use std::process::Command;

fn suite(dir: &Path, test: &str) -> std::path::PathBuf {
    let text = format!(
        r#"name = "unit-cpu"
kind = "unit"
description = "a unit test on this machine"
hardware = ["cpu"]

[base]
timeout_minutes = 5

[base.unit]
test = "{test}"
gpus = 2
workdir = "{}"

[models.check]
"#,
        dir.join("tests").display()
    );
    let p = dir.join("unit.toml");
    std::fs::write(&p, text).expect("suite");
    p
}

fn run(dir: &Path, suite: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sglci-runner"))
        .args(["run", "--suite"])
        .arg(suite)
        .args(["--image", "v0.4.9.post2-cpu-cpu-20261124", "--out"])
        .arg(dir.join("runs"))
        .arg("--store")
        .arg(dir.join("store"))
        .arg("--spool")
        .arg(dir.join("spool"))
        .env_remove("GITHUB_ACTIONS")
        .output()
        .expect("runner")
}

#[test]
fn unit_test_task_passes_fails_and_is_published() {
    let Ok(py) = Command::new("python3").arg("--version").output() else {
        panic!("python3 is needed for the unit-test task test");
    };
    assert!(py.status.success());
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("tests")).expect("tests");
    std::fs::write(
        dir.join("tests/test_devices.py"),
        r#"import os, unittest

class TestDevices(unittest.TestCase):
    def test_sees_two_gpus(self):
        self.assertEqual(os.environ["CUDA_VISIBLE_DEVICES"], "0,1")

    def test_arithmetic(self):
        self.assertEqual(2 + 2, 4)

class TestBroken(unittest.TestCase):
    def test_fails(self):
        raise RuntimeError("Not enough memory to allocate 2 GiB")
"#,
    )
    .expect("test module");

    let out = run(dir, &suite(dir, "test_devices.TestDevices"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = std::fs::read_to_string(
        dir.join("runs/test/unit-test-backend-8-gpu-CAR-amd/cpu/v0.4.9.post2-cpu-cpu-20261124.log"),
    )
    .expect("log");
    let parsed = sglci_core::parse::unit_test::parse(log.as_bytes()).expect("parse");
    assert_eq!(parsed.passed(), Some(true), "{log}");
    assert_eq!(parsed.tests_ran, Some(2));
    assert_eq!(parsed.test.as_deref(), Some("test_devices.TestDevices"));

    // A failing test: exit 1, the class from its own output; the first log is kept as a backup.
    let out = run(dir, &suite(dir, "test_devices.TestBroken"));
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        v["jobs"][0]["failure"]["class"], "gpu_out_of_memory",
        "{v:#}"
    );
    let logs = std::fs::read_dir(dir.join("runs/test/unit-test-backend-8-gpu-CAR-amd/cpu"))
        .expect("dir")
        .count();
    assert_eq!(logs, 2, "the earlier log is kept as .backup_");

    // Both bundles reach the publisher's unit table; the later one (the failure) is its own run.
    let store = sglci_core::backend::DirStore::new(&dir.join("store"));
    let queue = sglci_core::backend::SpoolQueue::new(&dir.join("store/queue"));
    let report = sglci_publisher::app::ingest_pending(&store, &queue, None, "2026-11-25T06:00:00Z")
        .expect("ingest");
    assert_eq!(report.ingested.len(), 2, "{report:?}");
    let hist =
        sglci_publisher::history::History::new(&store as &dyn sglci_core::store::ObjectStore);
    let rows = hist.read(sglci_core::records::UNIT).expect("unit");
    let text = serde_json::to_string(&rows.rows).expect("json");
    assert!(
        text.contains("\"status\":\"fail\"")
            && text.contains("\"status\":\"pass\"")
            && text.contains("\"failure_class\":\"gpu_out_of_memory\""),
        "{text}"
    );
}
