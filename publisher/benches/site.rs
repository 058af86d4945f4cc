//! Benchmark of the static site: a full build from the whole fixture history, and the update
//! after one new night at history sizes 1x, 10x and 100x of the fixtures (synthetic histories
//! from [`sglci_publisher::synth`]: the fixture history copied back in time). Writes its method
//! and figures to its section of `BENCHMARKS.md`.
//!
//! Run: `cargo bench -p sglci-publisher --bench site` (`SGLCI_CORPUS` for another tree,
//! `SGLCI_BENCH_ROUNDS` for the number of rounds, default 5; `SGLCI_BENCH_SCALES`, default
//! `1,10,100`).

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark reports on the terminal"
)]

#[path = "support/peak_rss.rs"]
mod peak_rss;

use std::path::{Path, PathBuf};
use std::time::Instant;

use sglci_core::backend::DirStore;
use sglci_core::date::date_of_day;
use sglci_core::records::ALL_SCHEMAS;
use sglci_publisher::app;
use sglci_publisher::history::History;
use sglci_publisher::rows::Rows;
use sglci_publisher::site::templates::Templates;
use sglci_publisher::site::{SiteOptions, Touched};
use sglci_publisher::synth;
use sglci_publisher::table::Table;

use peak_rss::peak_rss_mb;

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

fn fmt(v: &[f64]) -> String {
    v.iter()
        .map(|x| format!("{x:.3}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn write_tables(hist: &History<'_>, tables: &[Table], partition: &str) {
    for t in tables {
        hist.write_partition(t, partition).expect("write partition");
    }
}

/// The child: the first whole site of the history in `store` into the empty directory `out`,
/// as the Lambda makes one (`update_site`: the history read, the site rendered and written a
/// part at a time). Prints its time, files and peak memory as one JSON line.
fn first_site_child(spec: &str) {
    let (store, out) = spec.split_once('|').expect("STORE|OUT");
    let templates = Templates::embedded().expect("templates");
    let job = app::SiteJob {
        target: app::SiteTarget::Dir(PathBuf::from(out)),
        templates: &templates,
        opts: SiteOptions {
            generated_at: "benchmark".to_owned(),
            ..SiteOptions::default()
        },
    };
    let t = Instant::now();
    let files = app::update_site(&DirStore::new(Path::new(store)), &job, &Touched::default())
        .expect("first site");
    let line = serde_json::json!({
        "seconds": t.elapsed().as_secs_f64(), "files": files, "peak_mb": peak_rss_mb(),
    });
    println!("{line}");
}

/// The first whole site of each history (up to `SGLCI_BENCH_PEAK_MAX_SCALE`, default 100), each
/// in a fresh child process: its time and peak memory, as table rows.
fn first_site_rows(stores: &[(usize, PathBuf, usize)], work: &Path) -> String {
    let max: usize = std::env::var("SGLCI_BENCH_PEAK_MAX_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let mut rows = String::new();
    for (k, store, _) in stores.iter().filter(|(k, _, _)| *k <= max) {
        let out = work.join(format!("first-site-{k}"));
        let run = std::process::Command::new(std::env::current_exe().expect("exe"))
            .env(
                "SGLCI_BENCH_SITE_CHILD",
                format!("{}|{}", store.display(), out.display()),
            )
            // As infra/template.yaml configures the function (read by glibc at start).
            .env("MALLOC_ARENA_MAX", "2")
            .output()
            .expect("child");
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&run.stdout).expect("child json");
        rows.push_str(&format!(
            "| {k}x | {} | {:.2} | {:.0} |\n",
            v["files"],
            v["seconds"].as_f64().unwrap_or(0.0),
            v["peak_mb"].as_f64().unwrap_or(0.0)
        ));
        let _ = std::fs::remove_dir_all(&out);
    }
    rows
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    if let Ok(spec) = std::env::var("SGLCI_BENCH_SITE_CHILD") {
        first_site_child(&spec);
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
    let rounds: usize = std::env::var("SGLCI_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let scales: Vec<usize> = std::env::var("SGLCI_BENCH_SCALES")
        .unwrap_or_else(|_| "1,10,100".to_owned())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let work = tempfile::tempdir().expect("tmp");
    let templates = Templates::embedded().expect("templates");
    let opts = SiteOptions {
        generated_at: "benchmark".to_owned(),
        ..SiteOptions::default()
    };

    // The fixture history.
    let base = work.path().join("base");
    app::ingest_legacy(&DirStore::new(&base), &corpus).expect("ingest corpus");
    let base_store = DirStore::new(&base);
    let hist = History::new(&base_store);
    let tables: Vec<Table> = ALL_SCHEMAS
        .iter()
        .map(|s| hist.read(*s).expect("read"))
        .collect();
    let rows: usize = tables.iter().map(|t| t.rows.len()).sum();
    let (first, last) = synth::day_span(&tables).expect("dated rows");
    let span = last - first + 1;
    let newest = date_of_day(last);

    // Full build: render, then write over the previous build (what a nightly `site --out` does:
    // the pages that show the build time change, the rest keep their bytes) and into an empty
    // directory (the first build).
    let site_dir = work.path().join("site");
    let mut render_s = Vec::new();
    let mut over_s = Vec::new();
    let mut fresh_s = Vec::new();
    let night_opts = |i: usize| SiteOptions {
        generated_at: format!("benchmark build {i}"),
        ..opts.clone()
    };
    let mut site = app::render_full(&base_store, &templates, &night_opts(0)).expect("render");
    app::write_site(&site_dir, &site, true).expect("write");
    let mut changed = 0;
    for round in 1..=rounds {
        let t0 = Instant::now();
        site = app::render_full(&base_store, &templates, &night_opts(round)).expect("render");
        let render = t0.elapsed().as_secs_f64();
        render_s.push(render);
        let t1 = Instant::now();
        changed = app::write_site(&site_dir, &site, true)
            .expect("write")
            .written;
        over_s.push(render + t1.elapsed().as_secs_f64());
        let fresh = work.path().join(format!("fresh-{round}"));
        let t2 = Instant::now();
        app::write_site(&fresh, &site, true).expect("write");
        fresh_s.push(render + t2.elapsed().as_secs_f64());
    }
    let total: usize = site.values().map(Vec::len).sum();
    let html = site.keys().filter(|k| k.ends_with(".html")).count();
    let (heavy_page, heavy_bytes) = site
        .iter()
        .filter(|(k, _)| k.ends_with(".html"))
        .map(|(k, v)| (k.clone(), v.len()))
        .max_by_key(|(_, n)| *n)
        .unwrap_or_default();
    let (heavy_file, heavy_file_bytes) = site
        .iter()
        .map(|(k, v)| (k.clone(), v.len()))
        .max_by_key(|(_, n)| *n)
        .unwrap_or_default();

    // Histories at each scale, and the new night: the newest fixture night moved one day on.
    let new_night: Vec<Table> = synth::night(&tables, &newest)
        .iter()
        .map(|t| synth::shifted(t, 1))
        .collect();
    let new_rows: usize = new_night.iter().map(|t| t.rows.len()).sum();
    let touched = {
        let data = Rows::from_tables(&new_night).expect("typed rows");
        Touched::from_rows(&data)
    };
    let mut stores = Vec::new();
    for &k in &scales {
        let t0 = Instant::now();
        let store = work.path().join(format!("x{k}"));
        let objects = DirStore::new(&store);
        let h = History::new(&objects);
        write_tables(&h, &tables, "legacy");
        for i in 1..k {
            let copy: Vec<Table> = tables
                .iter()
                .map(|t| synth::shifted(t, -(span * i as i64)))
                .collect();
            write_tables(&h, &copy, &format!("synth-{i:03}"));
        }
        let months = ALL_SCHEMAS
            .iter()
            .map(|s| h.months(*s).expect("months").len())
            .max()
            .unwrap_or(0);
        eprintln!(
            "history {k}x: {} rows, {months} months, generated in {:.1} s",
            rows * k,
            t0.elapsed().as_secs_f64()
        );
        stores.push((k, store, months));
    }
    // Flush the generated histories to disk first, so that background writeback of the large
    // ones does not slow their measurements down.
    let _ = std::process::Command::new("sync").status();
    // The whole site of each larger history, rendered once (the first publish of a site that
    // already has a long history).
    let mut full_at_scale = String::new();
    let full_max: usize = std::env::var("SGLCI_BENCH_FULL_MAX_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    for (k, store, _) in stores.iter().filter(|(k, _, _)| *k > 1 && *k <= full_max) {
        let t0 = Instant::now();
        let site = app::render_full(&DirStore::new(store), &templates, &opts).expect("render");
        full_at_scale.push_str(&format!(
            "| render only, {k}x history | {:.3} | ({} files) |\n",
            t0.elapsed().as_secs_f64(),
            site.len()
        ));
    }
    let mut update_s: Vec<Vec<f64>> = vec![Vec::new(); scales.len()];
    let mut update_files = vec![0usize; scales.len()];
    let mut read_months = vec![0usize; scales.len()];
    for _ in 0..rounds {
        for (i, (_, store, _)) in stores.iter().enumerate() {
            let out = store.join("site");
            let t0 = Instant::now();
            let objects = DirStore::new(store);
            write_tables(&History::new(&objects), &new_night, "bench-new-night");
            let update = app::render_update(&objects, &templates, &opts, &touched).expect("update");
            app::write_site(&out, &update, false).expect("write");
            update_s[i].push(t0.elapsed().as_secs_f64());
            update_files[i] = update.len();
            read_months[i] =
                app::update_months(&History::new(&objects), &touched, opts.window_days)
                    .expect("months")
                    .count();
        }
    }

    let first_rows = first_site_rows(&stores, work.path());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut scale_rows = String::new();
    for (i, (k, _, months)) in stores.iter().enumerate() {
        scale_rows.push_str(&format!(
            "| {k}x | {} | {months} | {} | {} | {:.3} | {} |\n",
            rows * k,
            read_months[i],
            update_files[i],
            median(&update_s[i]),
            fmt(&update_s[i])
        ));
    }
    let m1 = median(&update_s[0]);
    let mlast = median(&update_s[update_s.len() - 1]);
    let report = format!(
        "## Static site: full build and the update after one new night\n\n\
Method: `cargo bench -p sglci-publisher --bench site`, in one process, {rounds} rounds, medians.\n\
The history is the whole fixture slice (`{corpus}`, {rows} rows over {span} days) ingested into\n\
a temporary store. *Full build* = read every table, render every page and plot\n\
(`render_full`), then write it: over the previous build (each build has its own time stamp,
so the pages that show it change) or into an empty directory. *Update* = write the new night's rows\n\
as one partition per table, read the months the touched pages need (`update_months`: the\n\
months overlapping the {window}-day trend window, undated rows, and for the task table the touched\n\
year), render only the touched pages\n\
(`render_update`: home, the hardware's index and sanity pages, the night and its neighbours,\n\
its year page, its run pages, its models' pages, its month's downloads) and write them. The new\n\
night is the newest fixture night ({newest_iso}, {new_rows} rows) moved one day on. Histories of\n\
10x and 100x are the fixture history plus 9 or 99 copies moved back in time by its span\n\
(`synth::shifted`), each copy its own partition, flushed to disk (`sync`) before the rounds.\n\
Rounds interleave the scales. Machine: {cores} cores.\n\n\
| full build | median (s) | rounds (s) |\n|---|---:|---|\n\
| render only | {r:.3} | {rr} |\n\
| render + write over the previous build ({changed} files changed) | {o:.3} | {or} |\n\
| render + write into an empty directory | {f:.3} | {fr} |\n{full_at_scale}\n\
Site: {files} files ({html} pages), {mb:.1} MB in all. Heaviest page: `{heavy_page}`\n\
({hp:.0} kB: interactive chart data for every night of the window). Heaviest file:\n\
`{heavy_file}` ({hf:.0} kB). Target: under 3 s on 2 cores.\n\n\
| history | rows | months | months read | files written | update median (s) | rounds (s) |\n\
|---|---:|---:|---:|---:|---:|---|\n{scale_rows}\n\
The update at the largest history costs {ratio:.2}x the update at 1x. Target: flat, under 1 s.\n\n\
*First whole site* = the first site of each history into an empty directory, as the Lambda\n\
makes one (`update_site`: every table read, the site rendered and written a part at a time),\n\
in a fresh child process with `MALLOC_ARENA_MAX=2`, once; peak = its VmHWM. Target (issue 18):\n\
peak under 256 MB.\n\n\
| history | files | first whole site (s) | peak MB |\n|---|---:|---:|---:|\n{first_rows}",
        corpus = corpus.canonicalize().unwrap_or(corpus.clone()).display(),
        window = opts.window_days,
        newest_iso = sglci_core::date::iso(&newest),
        r = median(&render_s),
        rr = fmt(&render_s),
        o = median(&over_s),
        or = fmt(&over_s),
        f = median(&fresh_s),
        fr = fmt(&fresh_s),
        files = site.len(),
        mb = total as f64 / 1e6,
        hp = heavy_bytes as f64 / 1e3,
        hf = heavy_file_bytes as f64 / 1e3,
        ratio = mlast / m1,
    );
    print!("{report}");
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../BENCHMARKS.md");
    let doc = std::fs::read_to_string(&out).unwrap_or_default();
    let doc = sglci_publisher::benchmarks::replace_section(&doc, "site", &report);
    std::fs::write(&out, doc).expect("write BENCHMARKS.md");
    eprintln!("wrote {}", out.display());
}
