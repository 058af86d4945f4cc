//! Helpers shared by the bundle tests: sample runs as bundles, synthetic nights, the
//! exactly-once check, and a `moto_server` on loopback for the S3/SQS tests.
#![allow(dead_code)]

use std::path::Path;

use sglci_core::store::ObjectStore;
use sglci_publisher::history::History;

pub type Files = Vec<(String, Vec<u8>)>;

pub const NOW: &str = "2025-12-11T06:00:00Z";

/// A GROK1 sample run's files, keyed by their path in the log layout.
pub fn sample_run(name: &str) -> Files {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/legacy");
    let dir = root.join("online_benchmark_log/mi30x/GROK1").join(name);
    let mut files = Vec::new();
    for e in std::fs::read_dir(&dir).expect("sample run") {
        let p = e.expect("entry").path();
        let rel = p
            .strip_prefix(&root)
            .expect("under root")
            .to_string_lossy()
            .into_owned();
        files.push((rel, std::fs::read(&p).expect("read")));
    }
    files.sort();
    files
}

pub const GROK1_1210: &str = "v0.5.6.post1-rocm700-mi30x-20251210_GROK1_MOE-I4F8_online";
pub const GROK1_1206: &str = "v0.5.6-rocm700-mi30x-20251206_GROK1_MOE-I4F8_online";

/// `n` nights of the GROK1 sample, moved 1..=n days past its own date: (run id, tag, files).
pub fn synthetic_nights(n: i64) -> Vec<(String, String, Files)> {
    let files = sample_run(GROK1_1210);
    (1..=n)
        .map(|d| {
            let moved: Files = files
                .iter()
                .map(|(p, b)| {
                    (
                        sglci_publisher::synth::shift_dates(p, d),
                        sglci_publisher::synth::shift_dates(&String::from_utf8_lossy(b), d)
                            .into_bytes(),
                    )
                })
                .collect();
            let tag = sglci_publisher::synth::shift_dates("v0.5.6.post1-rocm700-mi30x-20251210", d);
            (format!("grok1-{}", &tag[tag.len() - 8..]), tag, moved)
        })
        .collect()
}

/// Every run is in the index once and its rows are in the history once; the regressions were
/// derived from the final generation.
pub fn check_all_runs_once(store: &dyn ObjectStore, runs: &[(String, String, Files)]) {
    let hist = History::new(store);
    let idx = hist.index().expect("index");
    assert_eq!(
        idx.partitions.len(),
        runs.len(),
        "{:?}",
        idx.partitions.keys()
    );
    assert_eq!(idx.generation, runs.len() as u64, "one commit per run");
    assert_eq!(idx.derived, idx.generation, "derived state is current");
    let serving = hist.read(sglci_core::records::SERVING).expect("read");
    for (_, tag, _) in runs {
        let n = serving
            .rows
            .iter()
            .filter(|r| r.get("docker_tag").and_then(|v| v.as_str()) == Some(tag.as_str()))
            .count();
        assert_eq!(n, 5, "{tag}: one row per load, exactly once");
    }
}

/// A `moto_server` (S3 and SQS) on 127.0.0.1, stopped on drop.
pub struct Moto {
    child: Option<std::process::Child>,
    pub port: u16,
}

impl Moto {
    /// Starts one, or returns `None` (the test then says it skipped) when `moto_server` is not
    /// installed; with `SGLCI_REQUIRE_MOTO=1` (CI) that is a failure instead.
    pub fn start() -> Option<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = std::process::Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        let child = match child {
            Ok(c) => c,
            Err(e) => {
                assert!(
                    std::env::var_os("SGLCI_REQUIRE_MOTO").is_none(),
                    "moto_server is required (SGLCI_REQUIRE_MOTO) but cannot start: {e}"
                );
                eprintln!("skipped: moto_server is not installed (pip install 'moto[server]')");
                return None;
            }
        };
        let moto = Self {
            child: Some(child),
            port,
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "moto_server did not listen on {port}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Some(moto)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The environment a child process needs to reach this emulator (dummy credentials).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.url()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_ACCESS_KEY_ID", "sglci-test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "sglci-test".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ]
    }

    /// Stops the server (for outage tests); `restart` brings a fresh one up on the same port.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}
