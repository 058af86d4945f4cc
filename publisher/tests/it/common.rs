//! Helpers shared by the bundle tests: sample runs as bundles, synthetic nights, the
//! exactly-once check, and a `moto_server` on loopback for the S3/SQS tests.
#![allow(dead_code, unused_imports)]

use std::path::Path;

use sglci_core::bundle::{manifest_for, upload};
use sglci_core::store::{Key, ObjectStore};
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

pub use sglci_core::backend::moto::Moto;

/// Uploads a sample run as a bundle (manifest last); with `tamper`, one byte of its first file
/// is then changed in the store (same size: only the checksum can tell). Returns the manifest key.
pub fn ship_sample(store: &dyn ObjectStore, run_id: &str, name: &str, tamper: bool) -> Key {
    let files = sample_run(name);
    let tag = name.split('_').next().expect("tag");
    let date = &tag[tag.len() - 8..];
    let m = manifest_for(run_id, "mi30x", date, tag, "grok-online", &files);
    let key = upload(store, &m, &files).expect("upload");
    if tamper {
        let (path, bytes) = &files[0];
        let mut bad = bytes.clone();
        bad[0] ^= 0x20;
        let k = Key::new(format!("runs/mi30x/{date}/{run_id}/files/{path}")).expect("key");
        store.put(&k, &bad).expect("tamper");
    }
    key
}

/// Every regular file under `dir`, relative, with its bytes.
pub fn files_in(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).expect("list") {
            let p = e.expect("entry").path();
            let meta = std::fs::symlink_metadata(&p).expect("meta");
            if meta.is_dir() {
                todo.push(p);
            } else {
                assert!(meta.is_file(), "{} is not a regular file", p.display());
                let rel = p
                    .strip_prefix(dir)
                    .expect("under")
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, std::fs::read(&p).expect("read"));
            }
        }
    }
    out
}
