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

/// F7 through `run` on the local engine. `sglang.bench_one_batch` needs a GPU build of SGLang,
/// so the suite names a replay module instead: it prints the output a real run printed
/// (`core/tests/data/one_batch/result_synthetic.log`) and, at batch size 256, the out-of-memory
/// error a real run dies with. The grid, the logs, the CSV and the classification are the
/// runner's own.
#[test]
fn offline_grid_writes_the_csv_with_na_for_failed_cells() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let captured = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../core/tests/data/one_batch/result_synthetic.log");
    std::fs::write(
        dir.join("replay_one_batch.py"),
        format!(
            r#"import sys
args = sys.argv[1:]
bs = int(args[args.index("--batch-size") + 1])
if bs >= 256:
    print("torch.OutOfMemoryError: HIP out of memory. Tried to allocate 20.00 GiB", file=sys.stderr)
    sys.exit(1)
print(open({:?}).read())
"#,
            captured.display().to_string()
        ),
    )
    .expect("replay module");
    let suite = dir.join("offline.toml");
    std::fs::write(
        &suite,
        format!(
            r#"name = "offline-cpu"
kind = "offline"
description = "the offline grid, replayed"
hardware = ["cpu"]

[base]
timeout_minutes = 5

[base.env]
PYTHONPATH = "{}"

[base.offline]
module = "replay_one_batch"
batch_sizes = [1, 256]
input_lens = [1024]
output_lens = [128]

[base.offline.args]
"--model-path" = "{{model}}"
"--tp" = 8
"--attention-backend" = "aiter"

[models.GROK1]
label = "MOE-I4F8"
model = "/models/grok-1"
"#,
            dir.display()
        ),
    )
    .expect("suite");
    let out = run(dir, &suite);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let folder = dir.join(
        "runs/offline_benchmark_log/cpu/GROK1/v0.4.9.post2-cpu-cpu-20261124_GROK1_MOE-I4F8_offline",
    );
    let csv = std::fs::read_to_string(
        folder.join("v0.4.9.post2-cpu-cpu-20261124_GROK1_MOE-I4F8_offline.csv"),
    )
    .expect("csv");
    let rows = sglci_core::parse::offline::parse_csv(&csv).expect("parse");
    assert_eq!(rows.len(), 2, "{csv}");
    assert_eq!(rows[0].tp, 8);
    assert_eq!(rows[0].e2e_throughput, Some(835.36));
    assert_eq!(
        rows[1].e2e_latency_s, None,
        "NA for the cell that ran out of memory"
    );
    assert!(
        std::fs::read_to_string(folder.join("bench_one_batch_bs256_il1024_ol128.log"))
            .expect("log")
            .contains("HIP out of memory")
    );

    // The publisher's offline table from the bundle.
    let store = sglci_core::backend::DirStore::new(&dir.join("store"));
    let queue = sglci_core::backend::SpoolQueue::new(&dir.join("store/queue"));
    let report = sglci_publisher::app::ingest_pending(&store, &queue, None, "2026-11-25T06:00:00Z")
        .expect("ingest");
    assert_eq!(report.ingested.len(), 1, "{report:?}");
    let hist =
        sglci_publisher::history::History::new(&store as &dyn sglci_core::store::ObjectStore);
    assert_eq!(
        hist.read(sglci_core::records::OFFLINE)
            .expect("offline")
            .rows
            .len(),
        2
    );
}
