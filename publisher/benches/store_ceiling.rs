//! What the emulator alone allows a first whole site: the same number of PUTs as the first site
//! at 10x (11,681 objects, each of the fixture site's mean file size), through the S3 store's
//! `put_many` and the latency proxy the Lambda bench uses, with nothing rendered. Measured at
//! several numbers of requests in flight, with the machine's CPU over the batch split into this
//! process (the S3 client and the proxy's threads) and the rest (the emulator: nothing else
//! runs). Writes its method and
//! figures to the `store-ceiling` section of BENCHMARKS.md. `SGLCI_BENCH_OBJECTS`,
//! `SGLCI_BENCH_LATENCY_MS` (default 30), `SGLCI_BENCH_IN_FLIGHT` (default `32,128`) and
//! `SGLCI_BENCH_ROUNDS` (default 3) tune it.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark reports on the terminal"
)]

#[path = "support/latency_proxy.rs"]
mod latency_proxy;

use std::path::Path;
use std::time::{Duration, Instant};

use sglci_core::backend::aws::Aws;
use sglci_core::backend::moto::Moto;
use sglci_core::backend::s3::S3Store;
use sglci_core::store::{Key, ObjectStore};

/// The first whole site at 10x of the fixture history writes this many files.
const SITE_FILES_10X: usize = 11_681;
/// The fixture site's mean file size (8,265,413 bytes in 916 files of the mi30x model folders'
/// site; the median is 3,285).
const MEAN_FILE_BYTES: usize = 9_024;

fn env_list(name: &str, default: &str) -> Vec<u64> {
    std::env::var(name)
        .unwrap_or_else(|_| default.to_owned())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

/// The whole machine's busy jiffies (all but idle and iowait), from `/proc/stat`.
fn machine_busy_jiffies() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let cpu: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = cpu.iter().sum();
    // idle and iowait are the 4th and 5th fields.
    let idle = cpu.get(3).copied().unwrap_or(0) + cpu.get(4).copied().unwrap_or(0);
    total - idle
}

/// This process's CPU time (user + system), from `/proc/self/stat`, in jiffies.
fn own_jiffies() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command's closing parenthesis; utime and stime are the 12th and 13th.
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    let field = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    field(11) + field(12)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let Some(moto) = Moto::start() else {
        eprintln!("SKIPPED: moto_server is not installed");
        return;
    };
    let objects = env_list("SGLCI_BENCH_OBJECTS", &SITE_FILES_10X.to_string())
        .first()
        .map_or(SITE_FILES_10X, |n| *n as usize);
    let latency = env_list("SGLCI_BENCH_LATENCY_MS", "30")
        .first()
        .copied()
        .unwrap_or(30);
    let in_flight = env_list("SGLCI_BENCH_IN_FLIGHT", "32,128");
    let rounds = env_list("SGLCI_BENCH_ROUNDS", "3")
        .first()
        .map_or(3, |n| *n as usize);
    let upstream = moto.url().trim_start_matches("http://").to_owned();
    let proxy = latency_proxy::LatencyProxy::start(&upstream, Duration::from_millis(latency));
    let aws = Aws::with_endpoint(&proxy.url, "us-east-1").expect("aws");
    let hz = 100.0; // USER_HZ on Linux
    let mut rows = String::new();
    let mut emulator_cpu = f64::INFINITY;
    for &n in &in_flight {
        let (mut wall, mut client, mut emulator) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..rounds {
            let bucket = format!("ceiling-{n}-{round}");
            let s3 = S3Store::new(&aws, &bucket, "").with_concurrency(n as usize);
            s3.ensure_bucket().expect("bucket");
            // Distinct bytes per object, as pages are (no cache anywhere can help).
            let items: Vec<(Key, Vec<u8>)> = (0..objects)
                .map(|i| {
                    let mut body = format!("<!-- {i} -->").into_bytes();
                    body.resize(MEAN_FILE_BYTES, b'x');
                    (
                        Key::new(format!("site/{:02}/{i}.html", i % 97)).expect("key"),
                        body,
                    )
                })
                .collect();
            let busy0 = machine_busy_jiffies();
            let own0 = own_jiffies();
            let t = Instant::now();
            s3.put_many(&items).expect("put_many");
            let secs = t.elapsed().as_secs_f64();
            let busy1 = machine_busy_jiffies();
            let own = (own_jiffies() - own0) as f64 / hz;
            let busy = (busy1 - busy0) as f64 / hz;
            wall.push(secs);
            client.push(own);
            emulator.push((busy - own).max(0.0));
            eprintln!(
                "{n} in flight, round {round}: {secs:.2} s, client CPU {own:.2} s, the rest {:.2} s",
                busy - own
            );
        }
        let w = median(&mut wall);
        let e = median(&mut emulator);
        emulator_cpu = emulator_cpu.min(e);
        rows.push_str(&format!(
            "| {n} | {w:.2} | {:.0} | {:.2} | {:.2} |\n",
            objects as f64 / w,
            median(&mut client),
            e,
        ));
    }
    // Every PUT crossed the proxy, so every one waited the latency.
    let crossed = proxy.requests.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        crossed >= objects * rounds * in_flight.len(),
        "only {crossed} requests crossed the proxy"
    );
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let floor = objects as f64 / in_flight.iter().copied().max().unwrap_or(1) as f64
        * latency as f64
        / 1000.0;
    let report = format!(
        "## The emulator's ceiling for a first whole site\n\n\
Method: `cargo bench -p sglci-publisher --bench store_ceiling`. The same {objects} PUTs as the\n\
first whole site at 10x, each of the fixture site's mean file size ({MEAN_FILE_BYTES} bytes), through\n\
`S3Store::put_many` to a `moto_server` behind the Lambda bench's latency proxy at {latency} ms per\n\
request, with nothing rendered. CPU is the machine's busy time over the batch, split into this\n\
process (the S3 client and the proxy's threads) and the rest (the emulator; nothing else runs). {rounds}\n\
rounds, medians. Machine: {cores} cores.\n\n\
| in flight | time (s) | objects/s | client and proxy CPU (s) | emulator CPU (s) |\n\
|---:|---:|---:|---:|---:|\n{rows}\n\
Latency alone at {} in flight would take {floor:.1} s. The emulator spends {:.2} ms of CPU per PUT:\n\
on {cores} cores, {objects} PUTs to it cannot take less than {:.1} s, whatever the client does and\n\
however many are in flight. The first site's target (issue 18) is 15 s.\n",
        in_flight.iter().copied().max().unwrap_or(1),
        emulator_cpu / objects as f64 * 1000.0,
        emulator_cpu / cores as f64,
    );
    print!("{report}");
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../BENCHMARKS.md");
    let doc = std::fs::read_to_string(&out).unwrap_or_default();
    let doc = sglci_publisher::benchmarks::replace_section(&doc, "store-ceiling", &report);
    std::fs::write(&out, doc).expect("write BENCHMARKS.md");
    eprintln!("wrote {}", out.display());
}
