//! Benchmark of the publisher Lambda's handler on S3 (a `moto_server` on loopback): cold and warm
//! invocation time for one run, peak memory, and the cost of one publish (S3 requests, Lambda
//! time) at history sizes 1x, 10x and 100x of the fixture history. Each measurement runs in a
//! fresh child process (this same executable), so the first invocation is a real cold start:
//! the AWS clients and the templates are built, then the handler runs. Writes its method and
//! figures to the `lambda` section of BENCHMARKS.md. `SGLCI_BENCH_ROUNDS` (default 3) and
//! `SGLCI_BENCH_SCALES` (default `1,10,100`) tune it.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark reports on the terminal"
)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use sglci_core::backend::aws::Aws;
use sglci_core::backend::moto::Moto;
use sglci_core::backend::s3::S3Store;
use sglci_core::bundle::{manifest_for, upload, Announcement, BUNDLE_SCHEMA};
use sglci_core::date::{date_of_day, day_number};
use sglci_core::records::ALL_SCHEMAS;
use sglci_core::store::{Key, ObjectStore, StoreError, Version};
use sglci_publisher::app::{self, SiteJob, SiteTarget};
use sglci_publisher::history::History;
use sglci_publisher::site::templates::Templates;
use sglci_publisher::site::{SiteOptions, Touched};
use sglci_publisher::synth;

/// S3 with request counters (what a publish costs).
struct Counting<S> {
    inner: S,
    get: AtomicUsize,
    put: AtomicUsize,
    list: AtomicUsize,
    delete: AtomicUsize,
    /// Microseconds spent in LIST calls (an emulator's listing cost grows with the bucket).
    list_us: AtomicUsize,
}

impl<S: ObjectStore> ObjectStore for Counting<S> {
    fn get_versioned(&self, key: &Key) -> Result<(Vec<u8>, Version), StoreError> {
        self.get.fetch_add(1, Ordering::Relaxed);
        self.inner.get_versioned(key)
    }
    fn put(&self, key: &Key, bytes: &[u8]) -> Result<(), StoreError> {
        self.put.fetch_add(1, Ordering::Relaxed);
        self.inner.put(key, bytes)
    }
    fn put_if_absent(&self, key: &Key, bytes: &[u8]) -> Result<(), StoreError> {
        self.put.fetch_add(1, Ordering::Relaxed);
        self.inner.put_if_absent(key, bytes)
    }
    fn put_if_match(&self, key: &Key, bytes: &[u8], v: &Version) -> Result<(), StoreError> {
        self.put.fetch_add(1, Ordering::Relaxed);
        self.inner.put_if_match(key, bytes, v)
    }
    fn delete(&self, key: &Key) -> Result<(), StoreError> {
        self.delete.fetch_add(1, Ordering::Relaxed);
        self.inner.delete(key)
    }
    fn list(&self, prefix: &str) -> Result<Vec<Key>, StoreError> {
        self.list.fetch_add(1, Ordering::Relaxed);
        let t = Instant::now();
        let r = self.inner.list(prefix);
        self.list_us
            .fetch_add(t.elapsed().as_micros() as usize, Ordering::Relaxed);
        r
    }
    fn children(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.list.fetch_add(1, Ordering::Relaxed);
        let t = Instant::now();
        let r = self.inner.children(prefix);
        self.list_us
            .fetch_add(t.elapsed().as_micros() as usize, Ordering::Relaxed);
        r
    }
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

fn site_opts() -> SiteOptions {
    SiteOptions {
        generated_at: "benchmark".to_owned(),
        ..SiteOptions::default()
    }
}

/// Peak resident memory of this process (VmHWM), in MB.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The child: a cold start, then two invocations (cold, warm). Prints one JSON line.
fn child(endpoint: &str, bucket: &str, events: &[PathBuf]) {
    let t0 = Instant::now();
    let aws = Aws::with_endpoint(endpoint, "us-east-1").expect("aws");
    let store = Counting {
        inner: S3Store::new(&aws, bucket, ""),
        get: AtomicUsize::new(0),
        put: AtomicUsize::new(0),
        list: AtomicUsize::new(0),
        delete: AtomicUsize::new(0),
        list_us: AtomicUsize::new(0),
    };
    let templates = Templates::embedded().expect("templates");
    let init = t0.elapsed().as_secs_f64();
    let job = SiteJob {
        target: SiteTarget::Store(Key::new("site").expect("key")),
        templates: &templates,
        opts: site_opts(),
    };
    let mut times = Vec::new();
    let mut requests = Vec::new();
    for e in events {
        let event: aws_lambda_events::event::sqs::SqsEvent =
            serde_json::from_slice(&std::fs::read(e).expect("event")).expect("event json");
        for c in [
            &store.get,
            &store.put,
            &store.list,
            &store.delete,
            &store.list_us,
        ] {
            c.store(0, Ordering::Relaxed);
        }
        let t = Instant::now();
        let r = sglci_publisher::lambda::handle(&store, &event, Some(&job), "2026-01-01T00:00:00Z")
            .expect("handle");
        assert!(r.batch_item_failures.is_empty());
        times.push(t.elapsed().as_secs_f64());
        requests.push([
            store.get.load(Ordering::Relaxed),
            store.put.load(Ordering::Relaxed),
            store.list.load(Ordering::Relaxed),
            store.delete.load(Ordering::Relaxed),
            store.list_us.load(Ordering::Relaxed),
        ]);
    }
    let line = serde_json::json!({
        "init": init, "times": times, "requests": requests, "peak_mb": peak_rss_mb()
    });
    println!("{line}");
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    if let Ok(spec) = std::env::var("SGLCI_BENCH_CHILD") {
        let mut parts = spec.split('|');
        let endpoint = parts.next().expect("endpoint").to_owned();
        let bucket = parts.next().expect("bucket").to_owned();
        let events: Vec<PathBuf> = parts.map(PathBuf::from).collect();
        child(&endpoint, &bucket, &events);
        return;
    }
    let corpus = std::env::var_os("SGLCI_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/sglang-ci-log")
        });
    if !corpus.is_dir() {
        eprintln!("SKIPPED: no corpus at {}", corpus.display());
        return;
    }
    let Some(moto) = Moto::start() else {
        eprintln!("SKIPPED: moto_server is not installed");
        return;
    };
    let rounds: usize = std::env::var("SGLCI_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let scales: Vec<usize> = std::env::var("SGLCI_BENCH_SCALES")
        .unwrap_or_else(|_| "1,10,100".to_owned())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let work = tempfile::tempdir().expect("tmp");
    let aws = Aws::with_endpoint(&moto.url(), "us-east-1").expect("aws");
    let templates = Templates::embedded().expect("templates");
    let sample_root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/legacy");
    let sample_dir = sample_root
        .join("online_benchmark_log/mi30x/GROK1/v0.5.6.post1-rocm700-mi30x-20251210_GROK1_MOE-I4F8_online");
    let sample: Vec<(String, Vec<u8>)> = {
        let mut v: Vec<_> = std::fs::read_dir(&sample_dir)
            .expect("sample")
            .filter_map(Result::ok)
            .map(|e| {
                let p = e.path();
                let rel = p
                    .strip_prefix(&sample_root)
                    .expect("rel")
                    .to_string_lossy()
                    .into_owned();
                (rel, std::fs::read(&p).expect("read"))
            })
            .collect();
        v.sort();
        v
    };
    let mut table_rows = String::new();
    let mut summary = Vec::new();
    for &k in &scales {
        let t0 = Instant::now();
        let bucket = format!("history-x{k}");
        let s3 = S3Store::new(&aws, &bucket, "");
        s3.ensure_bucket().expect("bucket");
        let (_, _) = app::ingest_legacy(&s3, &corpus).expect("ingest corpus");
        let hist = History::new(&s3);
        let tables: Vec<_> = ALL_SCHEMAS
            .iter()
            .filter(|s| s.name != sglci_core::records::REGRESSIONS.name)
            .map(|s| hist.read(*s).expect("read"))
            .collect();
        let rows: usize = tables.iter().map(|t| t.rows.len()).sum();
        let (first, last) = synth::day_span(&tables).expect("span");
        let span = last - first + 1;
        for i in 1..k {
            let copy: Vec<_> = tables
                .iter()
                .map(|t| synth::shifted(t, -(span * i as i64)))
                .collect();
            hist.commit(&copy, &format!("synth-{i:03}"), &app::rows_digest(&copy))
                .expect("commit copy");
        }
        // The site exists before the measured publishes (they update it).
        let job = SiteJob {
            target: SiteTarget::Store(Key::new("site").expect("key")),
            templates: &templates,
            opts: site_opts(),
        };
        app::derive(&hist, Some(&job), &Touched::default()).expect("first site");
        let objects = s3.list("").expect("list").len();
        eprintln!(
            "history {k}x: {} rows, {objects} objects, set up in {:.0} s",
            rows * k,
            t0.elapsed().as_secs_f64()
        );
        // New nights after the newest: the GROK1 sample moved past it.
        let base = day_number("20251210").expect("day");
        let mut cold = Vec::new();
        let mut warm = Vec::new();
        let mut init = Vec::new();
        let mut peak = Vec::new();
        let mut req = [0usize; 4];
        let mut list_s = Vec::new();
        for r in 0..rounds {
            let mut events = Vec::new();
            for j in 0..2 {
                let d = last - base + 1 + (r * 2 + j) as i64;
                let files: Vec<(String, Vec<u8>)> = sample
                    .iter()
                    .map(|(p, b)| {
                        (
                            synth::shift_dates(p, d),
                            synth::shift_dates(&String::from_utf8_lossy(b), d).into_bytes(),
                        )
                    })
                    .collect();
                let date = date_of_day(base + d);
                let tag = format!("v0.5.6.post1-rocm700-mi30x-{date}");
                let m = manifest_for(
                    &format!("bench-{k}-{r}-{j}"),
                    "mi30x",
                    &date,
                    &tag,
                    "grok-online",
                    &files,
                );
                let key = upload(&s3, &m, &files).expect("upload");
                let body = serde_json::to_string(&Announcement {
                    schema: BUNDLE_SCHEMA,
                    manifest: key.to_string(),
                })
                .expect("json");
                let event = serde_json::json!({"Records": [{
                    "messageId": format!("m-{k}-{r}-{j}"), "receiptHandle": "r", "body": body,
                    "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
                    "eventSource": "aws:sqs", "awsRegion": "us-east-1"}]});
                let path = work.path().join(format!("event-{k}-{r}-{j}.json"));
                std::fs::write(&path, event.to_string()).expect("event");
                events.push(path);
            }
            let spec = format!(
                "{}|{bucket}|{}|{}",
                moto.url(),
                events[0].display(),
                events[1].display()
            );
            let out = std::process::Command::new(std::env::current_exe().expect("exe"))
                .env("SGLCI_BENCH_CHILD", spec)
                .output()
                .expect("child");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("child json");
            let i = v["init"].as_f64().unwrap_or(0.0);
            let t0 = v["times"][0].as_f64().unwrap_or(0.0);
            let t1 = v["times"][1].as_f64().unwrap_or(0.0);
            init.push(i);
            cold.push(i + t0);
            warm.push(t1);
            peak.push(v["peak_mb"].as_f64().unwrap_or(0.0));
            for (n, slot) in req.iter_mut().enumerate() {
                *slot = v["requests"][1][n].as_u64().unwrap_or(0) as usize;
            }
            list_s.push(v["requests"][1][4].as_f64().unwrap_or(0.0) / 1e6);
        }
        let [g, p, l, del] = req;
        // us-east-1 list prices: S3 PUT/LIST $0.005 per 1,000, GET $0.0004 per 1,000 (DELETE
        // free); Lambda arm64 $0.0000133334 per GB-second at 512 MB, $0.20 per million requests.
        let s3_cost = (p + l) as f64 * 0.005 / 1000.0 + g as f64 * 0.0004 / 1000.0;
        let lambda_cost = median(&warm) * 0.5 * 0.000_013_333_4 + 0.2 / 1e6;
        table_rows.push_str(&format!(
            "| {k}x | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.0} | {g} / {p} / {l} / {del} | ${:.5} |\n",
            rows * k,
            median(&init),
            median(&cold),
            median(&warm),
            median(&list_s),
            peak.iter().copied().fold(0.0, f64::max),
            s3_cost + lambda_cost,
        ));
        summary.push((k, median(&warm)));
    }
    let ratio = summary.last().map_or(0.0, |l| l.1) / summary.first().map_or(1.0, |f| f.1);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let report = format!(
        "## Publisher Lambda: cold and warm invocation, memory, cost of one publish\n\n\
Method: `cargo bench -p sglci-publisher --bench lambda`. S3 is a `moto_server` on loopback\n\
(request latency well under AWS's, so times here are CPU and emulator time). Per history size the\n\
bench ingests the fixture corpus into a bucket, commits 9 or 99 copies moved back in time\n\
(10x, 100x), and renders the whole site into the bucket. Then, {rounds} times, a fresh child\n\
process does what a Lambda cold start does (build the S3 client, load the templates: *init*)\n\
and handles two SQS events, each announcing one new night (the GROK1 sample moved past the\n\
newest night): fetch and verify the bundle, commit it, refresh the regressions, update the\n\
touched pages of the site in the bucket, record the generation. *Cold* = init + first\n\
invocation; *warm* = the second invocation in the same process. Peak memory = the child's VmHWM\n\
(the largest over the rounds). Requests are those of one warm publish (GET / PUT / LIST /\n\
DELETE); cost = S3 requests at us-east-1 list prices plus Lambda arm64 time at 512 MB.\n\
Medians. Machine: {cores} cores.\n\n\
| history | rows | init (s) | cold (s) | warm (s) | of which LIST (s) | peak MB | requests G/P/L/D | cost per publish |\n\
|---|---:|---:|---:|---:|---:|---:|---|---:|\n{table_rows}\n\
*Of which LIST*: time of the warm publish spent in LIST calls (the regressions table is found\n\
by listing; moto scans the whole bucket per LIST, real S3 does not).\n\n\
Warm publish at the largest history costs {ratio:.2}x the publish at 1x. Target: peak memory\n\
under 256 MB.\n"
    );
    print!("{report}");
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../BENCHMARKS.md");
    let doc = std::fs::read_to_string(&out).unwrap_or_default();
    let doc = sglci_publisher::benchmarks::replace_section(&doc, "lambda", &report);
    std::fs::write(&out, doc).expect("write BENCHMARKS.md");
    eprintln!("wrote {}", out.display());
}
