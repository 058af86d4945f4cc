//! Benchmark of `ingest --legacy` over the whole predecessor slice, beside the time to merely
//! read the same bytes. Writes its method and figures to `BENCHMARKS.md` at the workspace root.
//!
//! Run: `cargo bench -p sglci-publisher --bench ingest` (set `SGLCI_CORPUS` to use another
//! tree, `SGLCI_BENCH_ROUNDS` for the number of rounds; default 7).
//!
//! Each measurement runs in a fresh child process (this binary re-executed), so peak memory
//! (`VmHWM` from `/proc/self/status`) is that of one operation. Rounds interleave the two
//! operations so that machine noise hits both alike; medians are reported.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark reports on the terminal"
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use rayon::prelude::*;

fn corpus() -> PathBuf {
    std::env::var_os("SGLCI_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/sglang-ci-log")
        })
}

fn vm_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Child mode: perform one operation, print `seconds bytes peak_kb`.
fn child(op: &str, dir: &Path) {
    let started = Instant::now();
    let bytes: u64 = match op {
        "read" => {
            let files = sglci_publisher::legacy::list_files(dir)
                .expect("list")
                .files;
            files
                .par_iter()
                .map(|f| std::fs::read(dir.join(f)).map_or(0, |b| b.len() as u64))
                .sum()
        }
        "ingest" => {
            let store = tempfile::tempdir().expect("tempdir");
            let (_, report) = sglci_publisher::app::ingest_legacy(
                &sglci_core::backend::DirStore::new(store.path()),
                dir,
            )
            .expect("ingest");
            report.bytes
        }
        other => panic!("unknown op {other}"),
    };
    println!(
        "{} {} {}",
        started.elapsed().as_secs_f64(),
        bytes,
        vm_hwm_kb()
    );
}

fn measure(op: &str, dir: &Path) -> (f64, u64, u64, f64) {
    let started = Instant::now();
    let (op, threads) = op.split_once('@').map_or((op, None), |(o, t)| (o, Some(t)));
    let mut cmd = Command::new(std::env::current_exe().expect("exe"));
    if let Some(t) = threads {
        cmd.env("RAYON_NUM_THREADS", t);
    }
    let out = cmd
        .env("SGLCI_BENCH_CHILD", op)
        .env("SGLCI_CORPUS", dir)
        .output()
        .expect("child runs");
    let wall = started.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{op}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut it = text.split_whitespace();
    let secs: f64 = it.next().and_then(|v| v.parse().ok()).expect("seconds");
    let bytes: u64 = it.next().and_then(|v| v.parse().ok()).expect("bytes");
    let peak: u64 = it.next().and_then(|v| v.parse().ok()).expect("peak");
    (secs, bytes, peak, wall)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let dir = corpus();
    if let Ok(op) = std::env::var("SGLCI_BENCH_CHILD") {
        child(&op, &dir);
        return;
    }
    if !dir.is_dir() {
        println!(
            "SKIPPED: corpus {} is absent; nothing measured",
            dir.display()
        );
        return;
    }
    let rounds: usize = std::env::var("SGLCI_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    // Warm the page cache once so both operations read from memory.
    let _ = measure("read", &dir);
    let (mut read_s, mut ingest_s, mut ingest_wall, mut single_s) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut read_peak, mut ingest_peak, mut bytes) = (0, 0, 0);
    for _ in 0..rounds {
        let (s, b, p, _) = measure("read", &dir);
        read_s.push(s);
        read_peak = read_peak.max(p);
        bytes = b;
        let (s, _, p, w) = measure("ingest", &dir);
        ingest_s.push(s);
        ingest_wall.push(w);
        ingest_peak = ingest_peak.max(p);
        single_s.push(measure("ingest@1", &dir).0);
    }
    let (r, i, w) = (
        median(read_s.clone()),
        median(ingest_s.clone()),
        median(ingest_wall),
    );
    let one = median(single_s.clone());
    let mb = bytes as f64 / 1e6;
    let files = sglci_publisher::legacy::list_files(&dir)
        .map(|f| f.files.len())
        .unwrap_or(0);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let fmt = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.3}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let report = format!(
        "## `ingest --legacy` over the whole predecessor slice\n\n\
Method: `cargo bench -p sglci-publisher --bench ingest`. The corpus is `{corpus}` ({files} files,\n\
{mb:.1} MB). Each round runs two fresh child processes: *read* lists the tree and reads every\n\
file's bytes with the same parallel walk the backfill uses; *ingest* does the whole backfill\n\
(list, read, classify, parse, group into runs, best-of-runs, task status, write 12 Parquet\n\
tables to a temporary store). The page cache is warmed once before the {rounds} rounds. Time is\n\
measured inside the child (wall time of the child process, including start-up, in brackets);\n\
peak memory is the child's `VmHWM`. Machine: {cores} cores.\n\n\
| operation | median time (s) | MB/s | peak memory (MB) | rounds (s) |\n\
|---|---:|---:|---:|---|\n\
| read bytes only | {r:.3} | {rmbs:.0} | {rp:.1} | {rr} |\n\
| ingest --legacy | {i:.3} ({w:.3}) | {imbs:.0} | {ip:.1} | {ir} |\n\
| ingest --legacy, 1 thread | {one:.3} | {ombs:.0} | | {or} |\n\n\
Ingest costs {ratio:.1}x the time of merely reading the bytes; {cores} threads are {speedup:.2}x faster\n\
than one. Target: under 2 s on 2 cores.\n",
        corpus = dir.canonicalize().unwrap_or(dir.clone()).display(),
        rmbs = mb / r,
        imbs = mb / i,
        rp = read_peak as f64 / 1024.0,
        ip = ingest_peak as f64 / 1024.0,
        rr = fmt(&read_s),
        ir = fmt(&ingest_s),
        ratio = i / r,
        ombs = mb / one,
        or = fmt(&single_s),
        speedup = one / i,
    );
    print!("{report}");
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../BENCHMARKS.md");
    let doc = std::fs::read_to_string(&out).unwrap_or_default();
    let doc = sglci_publisher::benchmarks::replace_section(&doc, "ingest", &report);
    std::fs::write(&out, doc).expect("write BENCHMARKS.md");
    eprintln!("wrote {}", out.display());
}
