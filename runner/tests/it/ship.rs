//! Shipping bundles, and nothing lost when the store goes away: S3 (a real `moto_server` on
//! loopback) is stopped in the middle of an upload, the runner spools the bundle, and after the
//! service is back `sglci-runner flush` delivers it byte for byte.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use sglci_core::backend::aws::Aws;
use sglci_core::backend::moto::Moto;
use sglci_core::backend::s3::S3Store;
use sglci_core::backend::sqs::SqsQueue;
use sglci_core::backend::{DirStore, SpoolQueue};
use sglci_core::bundle::{fetch, Files};
use sglci_core::queue::{interpret, Delivery, Queue};
use sglci_core::store::{Key, ObjectStore, StoreError, Version};
use sglci_runner::ship::{collect, ship, RunInfo, Shipped};

const RUN: &str = "v0.5.6.post1-rocm700-mi30x-20251210_GROK1_MOE-I4F8_online";

/// The sample run laid out as a runner leaves it: `<dir>/online_benchmark_log/mi30x/GROK1/<run>/`.
fn run_dir(tmp: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../samples/legacy/online_benchmark_log/mi30x/GROK1")
        .join(RUN);
    let dest = tmp.join("out/online_benchmark_log/mi30x/GROK1").join(RUN);
    std::fs::create_dir_all(&dest).expect("mkdir");
    for e in std::fs::read_dir(&src).expect("sample") {
        let p = e.expect("entry").path();
        std::fs::copy(&p, dest.join(p.file_name().expect("name"))).expect("copy");
    }
    tmp.join("out")
}

fn info() -> RunInfo {
    RunInfo {
        run_id: "grok1-20251210-1".into(),
        hardware: "mi30x".into(),
        date: "20251210".into(),
        image: "v0.5.6.post1-rocm700-mi30x-20251210".into(),
        suite: "grok-online".into(),
        record: None,
    }
}

/// S3 behind a switch: after `after` puts the emulator is stopped, so the rest of the upload
/// meets a real refused connection.
struct OutageAfter<'a> {
    inner: S3Store,
    puts: AtomicUsize,
    after: usize,
    moto: Mutex<&'a mut Moto>,
}

impl ObjectStore for OutageAfter<'_> {
    fn get_versioned(&self, key: &Key) -> Result<(Vec<u8>, Version), StoreError> {
        self.inner.get_versioned(key)
    }
    fn put(&self, key: &Key, bytes: &[u8]) -> Result<(), StoreError> {
        if self.puts.fetch_add(1, Ordering::SeqCst) == self.after {
            self.moto.lock().expect("lock").stop();
        }
        self.inner.put(key, bytes)
    }
    fn put_if_absent(&self, key: &Key, bytes: &[u8]) -> Result<(), StoreError> {
        self.inner.put_if_absent(key, bytes)
    }
    fn put_if_match(&self, key: &Key, bytes: &[u8], v: &Version) -> Result<(), StoreError> {
        self.inner.put_if_match(key, bytes, v)
    }
    fn delete(&self, key: &Key) -> Result<(), StoreError> {
        self.inner.delete(key)
    }
    fn list(&self, prefix: &str) -> Result<Vec<Key>, StoreError> {
        self.inner.list(prefix)
    }
    fn children(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.inner.children(prefix)
    }
}

#[test]
fn s3_stopped_mid_upload_then_flush_delivers_everything() {
    let Some(mut moto) = Moto::start() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let files: Files = collect(&run_dir(tmp.path())).expect("collect");
    assert!(files.len() >= 4, "{} files", files.len());
    let spool = tmp.path().join("spool");
    let aws = Aws::with_endpoint(&moto.url(), "us-east-1").expect("aws");
    let s3 = S3Store::new(&aws, "sglci", "");
    s3.ensure_bucket().expect("bucket");
    let (queue, _) = SqsQueue::create(&aws, "runs", 30, None).expect("queue");
    let url = queue.url().to_owned();
    let outage = OutageAfter {
        inner: s3,
        puts: AtomicUsize::new(0),
        after: 2,
        moto: Mutex::new(&mut moto),
    };
    let shipped = ship(&outage, &queue, &spool, &info(), &files).expect("ship");
    let Shipped::Spooled { manifest, reason } = shipped else {
        panic!("the upload met the outage: {shipped:?}")
    };
    assert!(reason.starts_with("upload:"), "{reason}");
    drop(outage);
    // The spooled bundle is whole and verified by its own manifest.
    let (m, spooled) = fetch(&DirStore::new(&spool.join("store")), &manifest).expect("spooled");
    assert_eq!(spooled, files);
    assert_eq!(m.run_id, "grok1-20251210-1");

    // The service comes back (empty, as a fresh emulator: the template recreates the bucket and
    // queue), and the runner's flush delivers.
    moto.restart();
    let aws = Aws::with_endpoint(&moto.url(), "us-east-1").expect("aws");
    let s3 = S3Store::new(&aws, "sglci", "");
    s3.ensure_bucket().expect("bucket");
    let (queue, _) = SqsQueue::create(&aws, "runs", 30, None).expect("queue");
    assert_eq!(queue.url(), url);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sglci-runner"))
        .args(["flush", "--store", "s3://sglci", "--queue", &url, "--spool"])
        .arg(&spool)
        .envs(moto.env())
        .env("RUNNER_LOG", "warn")
        .output()
        .expect("flush runs");
    assert!(
        out.status.success(),
        "flush: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Byte for byte in S3, announced once, and gone from the spool.
    let (_, stored) = fetch(&s3, &manifest).expect("delivered bundle verifies");
    assert_eq!(stored, files);
    let msgs = queue.receive(10).expect("receive");
    assert_eq!(msgs.len(), 1);
    assert_eq!(
        interpret(&msgs[0].body),
        [Delivery::Bundle(manifest.to_string())]
    );
    assert!(DirStore::new(&spool.join("store"))
        .list("runs")
        .expect("list")
        .is_empty());
    assert!(SpoolQueue::new(&spool.join("queue"))
        .receive(10)
        .expect("spool")
        .is_empty());
}

fn runner(args: &[&str], env: &[(&str, String)]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_sglci-runner"))
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("RUNNER_LOG", "warn")
        .output()
        .expect("runs")
}

/// The CLI on the local defaults, and on an S3 endpoint where nothing listens: the bundle is
/// spooled and the exit code says infrastructure (3).
#[test]
fn ship_cli_delivers_locally_and_spools_when_s3_is_down() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = run_dir(tmp.path());
    let d = dir.to_str().expect("utf8");
    let store = tmp.path().join("store");
    let spool = tmp.path().join("spool");
    let base = [
        "ship",
        d,
        "--run-id",
        "grok1-20251210-1",
        "--image",
        "rocm/sgl-dev:v0.5.6.post1-rocm700-mi30x-20251210",
        "--suite",
        "grok-online",
        "--spool",
        spool.to_str().expect("utf8"),
    ];
    let mut local = base.to_vec();
    local.extend(["--store", store.to_str().expect("utf8")]);
    let out = runner(&local, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("runs/mi30x/20251210/grok1-20251210-1/manifest.json"),
        "{text}"
    );
    assert_eq!(
        SpoolQueue::new(&store.join("queue"))
            .receive(10)
            .expect("q")
            .len(),
        1
    );
    // Nothing listens on this port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let mut remote = base.to_vec();
    remote.extend([
        "--store",
        "s3://sglci",
        "--queue",
        "http://127.0.0.1:9/000000000000/runs",
    ]);
    let env = [
        ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{closed}")),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "x".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "x".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ];
    let out = runner(&remote, &env);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sglci-runner flush"), "{err}");
    assert_eq!(
        SpoolQueue::new(&spool.join("queue"))
            .receive(10)
            .expect("spool")
            .len(),
        1
    );
    // Bad configuration is a usage error.
    let mut bad = base.to_vec();
    bad.extend(["--store", "gs://x"]);
    assert_eq!(runner(&bad, &[]).status.code(), Some(2));
}
