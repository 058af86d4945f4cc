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

#[path = "support/git_daemon.rs"]
mod git_daemon;
#[path = "support/latency_proxy.rs"]
mod latency_proxy;
#[path = "support/peak_rss.rs"]
mod peak_rss;
use peak_rss::peak_rss_mb;

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
    /// With `SGLCI_BENCH_TRACE`: every call on stderr (start, duration, operation, key or batch
    /// size), to see which requests run in sequence.
    trace: Option<Instant>,
}

impl<S> Counting<S> {
    fn traced<T>(&self, op: &str, what: &str, f: impl FnOnce() -> T) -> T {
        let Some(t0) = self.trace else { return f() };
        let start = t0.elapsed();
        let r = f();
        eprintln!(
            "trace {:>8.1} ms {:>7.1} ms {op:<18} {what}",
            start.as_secs_f64() * 1e3,
            (t0.elapsed() - start).as_secs_f64() * 1e3
        );
        r
    }
}

impl<S: ObjectStore> ObjectStore for Counting<S> {
    fn get_versioned(&self, key: &Key) -> Result<(Vec<u8>, Version), StoreError> {
        self.get.fetch_add(1, Ordering::Relaxed);
        self.traced("get", key.as_str(), || self.inner.get_versioned(key))
    }
    fn put(&self, key: &Key, bytes: &[u8]) -> Result<(), StoreError> {
        self.put.fetch_add(1, Ordering::Relaxed);
        self.traced("put", key.as_str(), || self.inner.put(key, bytes))
    }
    fn put_if_absent(&self, key: &Key, bytes: &[u8]) -> Result<(), StoreError> {
        self.put.fetch_add(1, Ordering::Relaxed);
        self.traced("put_if_absent", key.as_str(), || {
            self.inner.put_if_absent(key, bytes)
        })
    }
    fn put_if_match(&self, key: &Key, bytes: &[u8], v: &Version) -> Result<(), StoreError> {
        self.put.fetch_add(1, Ordering::Relaxed);
        self.traced("put_if_match", key.as_str(), || {
            self.inner.put_if_match(key, bytes, v)
        })
    }
    fn delete(&self, key: &Key) -> Result<(), StoreError> {
        self.delete.fetch_add(1, Ordering::Relaxed);
        self.traced("delete", key.as_str(), || self.inner.delete(key))
    }
    fn list(&self, prefix: &str) -> Result<Vec<Key>, StoreError> {
        self.list.fetch_add(1, Ordering::Relaxed);
        let t = Instant::now();
        let r = self.traced("list", prefix, || self.inner.list(prefix));
        self.list_us
            .fetch_add(t.elapsed().as_micros() as usize, Ordering::Relaxed);
        r
    }
    fn get_many(&self, keys: &[Key]) -> Vec<Result<Vec<u8>, StoreError>> {
        self.get.fetch_add(keys.len(), Ordering::Relaxed);
        let what = if std::env::var("SGLCI_BENCH_TRACE").as_deref() == Ok("keys") {
            let all: Vec<&str> = keys.iter().map(Key::as_str).collect();
            format!("{} keys: {}", keys.len(), all.join(" "))
        } else {
            format!(
                "{} keys, first {}",
                keys.len(),
                keys.first().map_or("", |k| k.as_str())
            )
        };
        self.traced("get_many", &what, || self.inner.get_many(keys))
    }
    fn get_many_at_most(&self, keys: &[(Key, u64)]) -> Vec<Result<Vec<u8>, StoreError>> {
        self.get.fetch_add(keys.len(), Ordering::Relaxed);
        let what = format!(
            "{} keys, first {}",
            keys.len(),
            keys.first().map_or("", |k| k.0.as_str())
        );
        self.traced("get_many_at_most", &what, || {
            self.inner.get_many_at_most(keys)
        })
    }
    fn put_many(&self, items: &[(Key, Vec<u8>)]) -> Result<(), StoreError> {
        self.put.fetch_add(items.len(), Ordering::Relaxed);
        let what = format!(
            "{} keys, first {}",
            items.len(),
            items.first().map_or("", |k| k.0.as_str())
        );
        self.traced("put_many", &what, || self.inner.put_many(items))
    }
    fn delete_many(&self, keys: &[Key]) -> Result<(), StoreError> {
        self.delete.fetch_add(keys.len(), Ordering::Relaxed);
        let what = format!(
            "{} keys, first {}",
            keys.len(),
            keys.first().map_or("", |k| k.as_str())
        );
        self.traced("delete_many", &what, || self.inner.delete_many(keys))
    }
    fn children(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.list.fetch_add(1, Ordering::Relaxed);
        let t = Instant::now();
        let r = self.traced("children", prefix, || self.inner.children(prefix));
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

/// The child: a cold start, then two invocations (cold, warm), a third and a fourth with the
/// effects on (the run's files to a log repository and the site to Pages, two bare
/// repositories; the git cache empty for the third, as in a fresh container, and kept for the
/// fourth, as in a warm one), and the first publish of a whole site into an empty prefix.
/// Prints one JSON line.
fn child(endpoint: &str, bucket: &str, events: &[PathBuf], repos: Option<(String, String)>) {
    if std::env::var_os("SGLCI_BENCH_TRACE").is_some() {
        // The publisher's own log lines (a derive's phases) beside the request trace.
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .init();
    }
    let t0 = Instant::now();
    let aws = Aws::with_endpoint(endpoint, "us-east-1").expect("aws");
    let store = Counting {
        inner: S3Store::new(&aws, bucket, ""),
        get: AtomicUsize::new(0),
        put: AtomicUsize::new(0),
        list: AtomicUsize::new(0),
        delete: AtomicUsize::new(0),
        list_us: AtomicUsize::new(0),
        trace: std::env::var_os("SGLCI_BENCH_TRACE").map(|_| t0),
    };
    let templates = Templates::embedded().expect("templates");
    let init = t0.elapsed().as_secs_f64();
    let job = SiteJob {
        target: SiteTarget::Store(Key::new("site").expect("key")),
        templates: &templates,
        opts: site_opts(),
    };
    let sinks = repos.map(|(log, pages)| {
        let mut config =
            sglci_publisher::config::parse_effects(Some(&log), Some(&pages), &[], None, [None; 3])
                .expect("effects");
        // The parent gives each child an empty cache folder of its own.
        config.git_cache = sglci_publisher::config::parse_git_cache(
            std::env::var("SGLCI_GIT_CACHE").ok().as_deref(),
            None,
            &std::env::temp_dir(),
        )
        .expect("git cache");
        app::effects::Sinks::new(
            config,
            app::effects::Secrets::default(),
            &app::effects::GitHubRepo::default(),
            Some(&job.target),
        )
        .expect("sinks")
    });
    let triage = sglci_publisher::triage::Triage::default();
    let mut times = Vec::new();
    let mut requests = Vec::new();
    // VmHWM after the two publishes without effects.
    let mut peak_plain = 0.0;
    for (i, e) in events.iter().enumerate() {
        if i == 2 {
            peak_plain = peak_rss_mb();
        }
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
        // The third and fourth events run with the effects, which start from the generation
        // before the third, in a container without a git seed (one left by an earlier round
        // is removed); a child for the seeded cold container runs its one event with them.
        let effects_only = std::env::var_os("SGLCI_BENCH_EFFECTS_ONLY").is_some();
        let with_effects = (i >= 2 || effects_only) && sinks.is_some();
        if i == 2 && with_effects && !effects_only {
            store
                .delete(&Key::new("outbox/cursor.json").expect("key"))
                .expect("cursor");
            for seed in store.list(app::effects::GIT_SEEDS).expect("list seeds") {
                store.delete(&seed).expect("seed");
            }
        }
        let h = app::Handler {
            site: Some(&job),
            limits: Default::default(),
            effects: sinks
                .as_ref()
                .filter(|_| with_effects)
                .map(|sinks| app::EffectsRun {
                    sinks,
                    triage: &triage,
                    holder: "bench",
                    fault: None,
                }),
        };
        if let Some(t0) = store.trace {
            eprintln!(
                "trace invocation {i} at {:.1} ms",
                t0.elapsed().as_secs_f64() * 1e3
            );
        }
        let t = Instant::now();
        let r = sglci_publisher::lambda::handle_with(&store, &event, &h, "2026-01-01T00:00:00Z")
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
    let peak_publish = peak_rss_mb();
    if std::env::var_os("SGLCI_BENCH_SKIP_FIRST_SITE").is_some() {
        let line = serde_json::json!({
            "init": init, "times": times, "requests": requests, "peak_mb": peak_rss_mb(),
            "peak_publish_mb": peak_publish, "peak_plain_mb": peak_plain, "first_site": null, "first_site_files": 0,
        });
        println!("{line}");
        return;
    }
    // The first publish of a whole site into an empty prefix.
    let fresh = SiteJob {
        target: SiteTarget::Store(
            Key::new(format!("site-first-{}", std::process::id())).expect("key"),
        ),
        templates: &templates,
        opts: site_opts(),
    };
    let t = Instant::now();
    let files = app::update_site(&store, &fresh, &Touched::default()).expect("first site");
    let first_site = t.elapsed().as_secs_f64();
    let line = serde_json::json!({
        "init": init, "times": times, "requests": requests, "peak_mb": peak_rss_mb(),
        "peak_publish_mb": peak_publish, "peak_plain_mb": peak_plain,
        "first_site": first_site, "first_site_files": files,
    });
    println!("{line}");
}

/// The medians' inputs over a latency's rounds.
#[derive(Default)]
struct Measured {
    init: Vec<f64>,
    cold: Vec<f64>,
    warm: Vec<f64>,
    effects: Vec<f64>,
    /// The fourth event: effects again, the git cache kept from the third.
    effects_cached: Vec<f64>,
    /// A second child: a cold start whose first invocation runs the effects with an empty git
    /// cache and the seed the fourth left (init included), and its peak.
    effects_seeded: Vec<f64>,
    peak_seeded: Vec<f64>,
    first_site: Vec<f64>,
    peak: Vec<f64>,
    peak_publish: Vec<f64>,
    /// Without the effects.
    peak_plain: Vec<f64>,
    /// Requests of one warm publish (G/P/L/D).
    req: [usize; 4],
}

impl Measured {
    fn add(&mut self, v: &serde_json::Value) {
        let i = v["init"].as_f64().unwrap_or(0.0);
        self.init.push(i);
        self.cold.push(i + v["times"][0].as_f64().unwrap_or(0.0));
        self.warm.push(v["times"][1].as_f64().unwrap_or(0.0));
        self.effects.push(v["times"][2].as_f64().unwrap_or(0.0));
        self.effects_cached
            .push(v["times"][3].as_f64().unwrap_or(0.0));
        if let Some(s) = v["first_site"].as_f64() {
            self.first_site.push(s);
        }
        self.peak.push(v["peak_mb"].as_f64().unwrap_or(0.0));
        self.peak_publish
            .push(v["peak_publish_mb"].as_f64().unwrap_or(0.0));
        self.peak_plain
            .push(v["peak_plain_mb"].as_f64().unwrap_or(0.0));
        for (n, slot) in self.req.iter_mut().enumerate() {
            *slot = v["requests"][1][n].as_u64().unwrap_or(0) as usize;
        }
    }
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
        let repos = std::env::var("SGLCI_BENCH_REPOS")
            .ok()
            .and_then(|r| r.split_once('|').map(|(a, b)| (a.to_owned(), b.to_owned())));
        child(&endpoint, &bucket, &events, repos);
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
    // The first whole site of a larger history is bound by how fast the emulator takes PUTs
    // (one object per page: 11,000 at 10x), so it is measured up to this size only.
    let first_site_max: usize = std::env::var("SGLCI_BENCH_FIRST_SITE_MAX_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let latencies: Vec<u64> = std::env::var("SGLCI_BENCH_LATENCY_MS")
        .unwrap_or_else(|_| "0,30,80".to_owned())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let work = tempfile::tempdir().expect("tmp");
    let log_repo = work.path().join("log.git");
    let pages_repo = work.path().join("pages.git");
    for r in [&log_repo, &pages_repo] {
        let repo = git2::Repository::init_bare(r).expect("bare repository");
        // The server's housekeeping is not the publisher's time (GitHub does its own): a
        // `git gc --auto` that receive-pack leaves running in the background would share the
        // cores with the next round's measured publishes.
        let mut config = repo.config().expect("config");
        config.set_i32("gc.auto", 0).expect("gc.auto");
        config
            .set_bool("receive.autogc", false)
            .expect("receive.autogc");
    }
    let pages_repo = pages_repo.display().to_string();
    // The measured publishes reach the repositories through `git daemon` (see its module);
    // the set-up writes them by path.
    let Some(daemon) = git_daemon::GitDaemon::start(work.path()) else {
        eprintln!("SKIPPED: `git daemon` does not start");
        return;
    };
    let remotes = format!("{}|{}", daemon.url("log.git"), daemon.url("pages.git"));
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
        // Pages holds that site already: the measured pushes are those of a running
        // installation (the files a night changed), not the first push of a whole site.
        let site_files: Vec<(String, Vec<u8>)> =
            app::site_packs::read_site(&s3, &Key::new("site").expect("key"))
                .expect("the site in the bucket")
                .into_iter()
                .collect();
        sglci_publisher::gitpub::push(
            sglci_publisher::gitpub::Dest::new(&pages_repo, "gh-pages", None),
            &site_files,
            sglci_publisher::gitpub::Mode::Replace { keep: 30 },
            "the site before the measured publishes",
        )
        .expect("pages");
        let objects = s3.list("").expect("list").len();
        eprintln!(
            "history {k}x: {} rows, {objects} objects, set up in {:.0} s",
            rows * k,
            t0.elapsed().as_secs_f64()
        );
        // New nights after the newest: the GROK1 sample moved past it.
        let base = day_number("20251210").expect("day");
        let mut next_night = last - base + 1;
        for &ms in &latencies {
            let proxy = latency_proxy::LatencyProxy::start(
                moto.url().trim_start_matches("http://"),
                std::time::Duration::from_millis(ms),
            );
            let mut m = Measured::default();
            for r in 0..rounds {
                let mut events = Vec::new();
                for j in 0..5 {
                    let d = next_night;
                    next_night += 1;
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
                    let run = format!("bench-{k}-{ms}-{r}-{j}");
                    let man = manifest_for(&run, "mi30x", &date, &tag, "grok-online", &files);
                    let key = upload(&s3, &man, &files).expect("upload");
                    let body = serde_json::to_string(&Announcement {
                        schema: BUNDLE_SCHEMA,
                        manifest: key.to_string(),
                    })
                    .expect("json");
                    let event = serde_json::json!({"Records": [{
                        "messageId": format!("m-{run}"), "receiptHandle": "r", "body": body,
                        "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
                        "eventSource": "aws:sqs", "awsRegion": "us-east-1"}]});
                    let path = work.path().join(format!("event-{run}.json"));
                    std::fs::write(&path, event.to_string()).expect("event");
                    events.push(path);
                }
                let seeded_event = events.pop().expect("the fifth event");
                let spec = std::iter::once(format!("{}|{bucket}", proxy.url))
                    .chain(events.iter().map(|e| e.display().to_string()))
                    .collect::<Vec<_>>()
                    .join("|");
                let cache = work.path().join(format!("git-cache-{k}-{ms}-{r}"));
                let mut child = std::process::Command::new(std::env::current_exe().expect("exe"));
                if k > first_site_max {
                    child.env("SGLCI_BENCH_SKIP_FIRST_SITE", "1");
                }
                let out = child
                    .env("SGLCI_BENCH_CHILD", spec)
                    .env("SGLCI_BENCH_REPOS", &remotes)
                    .env("SGLCI_GIT_CACHE", &cache)
                    // As infra/template.yaml configures the function (read by glibc at start).
                    .env("MALLOC_ARENA_MAX", "2")
                    .output()
                    .expect("child");
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                if std::env::var_os("SGLCI_BENCH_TRACE").is_some() {
                    eprint!("{}", String::from_utf8_lossy(&out.stderr));
                }
                let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("child json");
                m.add(&v);
                // The cold container with the seed: the fifth event, alone, effects on.
                let spec = format!("{}|{bucket}|{}", proxy.url, seeded_event.display());
                let out = std::process::Command::new(std::env::current_exe().expect("exe"))
                    .env("SGLCI_BENCH_CHILD", spec)
                    .env("SGLCI_BENCH_REPOS", &remotes)
                    .env(
                        "SGLCI_GIT_CACHE",
                        work.path().join(format!("git-cache-{k}-{ms}-{r}-seeded")),
                    )
                    .env("SGLCI_BENCH_EFFECTS_ONLY", "1")
                    .env("SGLCI_BENCH_SKIP_FIRST_SITE", "1")
                    .env("MALLOC_ARENA_MAX", "2")
                    .output()
                    .expect("child");
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("child json");
                m.effects_seeded.push(
                    v["init"].as_f64().unwrap_or(0.0) + v["times"][0].as_f64().unwrap_or(0.0),
                );
                m.peak_seeded.push(v["peak_mb"].as_f64().unwrap_or(0.0));
            }
            let [g, p, l, del] = m.req;
            // us-east-1 list prices: S3 PUT/LIST $0.005 per 1,000, GET $0.0004 per 1,000 (DELETE
            // free); Lambda arm64 $0.0000133334 per GB-second at 512 MB, $0.20 per million
            // requests.
            let s3_cost = (p + l) as f64 * 0.005 / 1000.0 + g as f64 * 0.0004 / 1000.0;
            let lambda_cost = median(&m.warm) * 0.5 * 0.000_013_333_4 + 0.2 / 1e6;
            table_rows.push_str(&format!(
                "| {k}x | {ms} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {} | {:.0} / {:.0} / {:.0} / {:.0} | {g} / {p} / {l} / {del} | ${:.5} |\n",
                median(&m.init),
                median(&m.cold),
                median(&m.warm),
                median(&m.effects),
                median(&m.effects_cached),
                median(&m.effects_seeded),
                if m.first_site.is_empty() {
                    "–".to_owned()
                } else {
                    format!("{:.2}", median(&m.first_site))
                },
                m.peak_plain.iter().copied().fold(0.0, f64::max),
                m.peak_publish.iter().copied().fold(0.0, f64::max),
                m.peak_seeded.iter().copied().fold(0.0, f64::max),
                m.peak.iter().copied().fold(0.0, f64::max),
                s3_cost + lambda_cost,
            ));
            eprintln!(
                "{k}x at {ms} ms: warm {:.3} s, {g}/{p}/{l}/{del} requests; {} requests crossed the proxy",
                median(&m.warm),
                proxy.requests.load(Ordering::Relaxed)
            );
            // The seeds the last pushes left (Pages and log repository).
            for key in s3.list(app::effects::GIT_SEEDS).expect("list seeds") {
                let len = s3.get(&key).map_or(0, |b| b.len());
                eprintln!("{k}x: git seed {key}: {len} bytes");
            }
            if ms == latencies[0] {
                summary.push((k, median(&m.warm)));
            }
        }
    }
    let ratio = summary.last().map_or(0.0, |l| l.1) / summary.first().map_or(1.0, |f| f.1);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let first_ms = latencies.first().copied().unwrap_or(0);
    let report = format!(
        "## Publisher Lambda: cold and warm invocation, memory, cost of one publish, on cloud latency\n\n\
Method: `cargo bench -p sglci-publisher --bench lambda`. S3 is a `moto_server` on loopback behind a\n\
latency-injecting TCP proxy (`benches/support/latency_proxy.rs`: the first bytes of every request\n\
wait the given milliseconds, as a round trip to S3 does; 0 = loopback). Per history size the\n\
bench ingests the fixture corpus into a bucket, commits 9 or 99 copies moved back in time\n\
(10x, 100x), and renders the whole site into the bucket. Then, {rounds} times per latency, a\n\
fresh child process does what a Lambda cold start does (build the S3 client, load the\n\
templates: *init*) and handles four SQS events, each announcing one new night (the GROK1\n\
sample moved past the newest night): fetch and verify the bundle, commit it, refresh the\n\
regressions, update the touched pages of the site in the bucket, record the generation.\n\
*Cold* = init + first invocation; *warm* = the second; *+effects* = the third, with the\n\
effects on: the run's raw files pushed to a log repository and the site to a Pages branch\n\
(bare repositories on this machine served by `git daemon` over the git protocol, a server\n\
process of its own as GitHub is, so git costs CPU only; the site is read back from the\n\
bucket), with an empty git cache and no git seed, as in a fresh container before any seed;\n\
*+effects, cached* = the fourth, the same with the git cache the third left, as in a warm\n\
container; *+effects, cold seeded* = a second child's cold start and first invocation (init\n\
included) with the effects, an empty git cache and the git seed the fourth left in the bucket,\n\
as in a fresh container of a running installation. *First site* = rendering\n\
the whole site into an empty prefix. Peak memory = the child's VmHWM (the largest over the\n\
rounds) after the two publishes without effects, after those with effects, of the seeded cold\n\
container, and after the first site; the children run with `MALLOC_ARENA_MAX=2`, as the function is configured\n\
(infra/template.yaml). Requests are those of one warm publish\n\
(GET / PUT / LIST / DELETE); S3 batches keep 32 requests in flight. Cost = S3 requests at\n\
us-east-1 list prices plus Lambda arm64 time at 512 MB. Medians. Machine: {cores} cores.\n\n\
| history | latency (ms) | init (s) | cold (s) | warm (s) | +effects (s) | +effects, cached (s) | +effects, cold seeded (s) | first site (s) | peak MB (publish / +effects / cold seeded / +first site) | requests G/P/L/D | cost per publish |\n\
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|\n{table_rows}\n\
Warm publish at {first_ms} ms at the largest history costs {ratio:.2}x the publish at the\n\
smallest. Targets (issue 18, at 30 ms): warm publish at most 1.0 s at 1x and 1.5 s at 100x\n\
with the same request count at every size; cold start at most 1.5 s; first whole site at\n\
most 15 s; peak memory under 256 MB.\n"
    );
    print!("{report}");
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../BENCHMARKS.md");
    let doc = std::fs::read_to_string(&out).unwrap_or_default();
    let doc = sglci_publisher::benchmarks::replace_section(&doc, "lambda", &report);
    std::fs::write(&out, doc).expect("write BENCHMARKS.md");
    eprintln!("wrote {}", out.display());
}
