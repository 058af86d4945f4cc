//! The static site rendered in memory from the bundled sample history with a fixed clock:
//! golden pages (the sorted file list and each page's main region), markdown, plot structure,
//! and the incremental update after one new night against a full rebuild.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use sglci_core::backend::DirStore;
use sglci_publisher::app;
use sglci_publisher::history::History;
use sglci_publisher::legacy::{self, Backfill};
use sglci_publisher::site::templates::Templates;
use sglci_publisher::site::{render_site, RenderedSite, Scope, SiteOptions, Touched};

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/legacy")
}

fn backfill() -> Backfill {
    legacy::build(&legacy::scan(&samples()).expect("samples scan"))
}

fn opts() -> SiteOptions {
    SiteOptions {
        generated_at: "2026-01-01 00:00 UTC".to_owned(),
        ..SiteOptions::default()
    }
}

fn sample_site() -> RenderedSite {
    let data = backfill().rows;
    let t = Templates::embedded().expect("templates");
    render_site(&data, &t, &opts(), &Scope::All).expect("site renders")
}

fn text(site: &RenderedSite, path: &str) -> String {
    String::from_utf8(
        site.get(path)
            .unwrap_or_else(|| panic!("{path} missing"))
            .clone(),
    )
    .expect("utf8")
}

/// The `<main>` region of a page, with chart data (checked by the plot tests) summarised.
fn main_region(html: &str) -> String {
    let start = html.find("<main").expect("<main>");
    let end = html.find("</main>").expect("</main>") + "</main>".len();
    let mut out = String::new();
    let mut rest = &html[start..end];
    const OPEN: &str = r#"<script type="application/json" class="chart-data">"#;
    while let Some(i) = rest.find(OPEN) {
        out.push_str(&rest[..i + OPEN.len()]);
        let after = &rest[i + OPEN.len()..];
        let j = after.find("</script>").expect("closed script");
        let v: serde_json::Value = serde_json::from_str(&after[..j]).expect("chart JSON");
        let series = v["series"].as_array().map_or(0, Vec::len);
        let points: usize = v["series"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| s["points"].as_array().map_or(0, Vec::len))
            .sum();
        out.push_str(&format!("[{series} series, {points} points]"));
        rest = &after[j..];
    }
    out.push_str(rest);
    // One element per line keeps snapshot diffs readable.
    out.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn golden_pages() {
    let site = sample_site();
    let files: Vec<&String> = site.keys().collect();
    insta::assert_yaml_snapshot!("site_files", files);
    // One snapshot per page kind, on representative pages.
    let pick = |prefix: &str| -> String {
        site.keys()
            .filter(|k| k.starts_with(prefix) && k.ends_with(".html"))
            .max_by_key(|k| site[*k].len())
            .unwrap_or_else(|| panic!("no page under {prefix}"))
            .clone()
    };
    let pages = [
        ("index", "index.html".to_owned()),
        ("hardware_index", "hw/mi30x/index.html".to_owned()),
        ("night", pick("hw/mi30x/2025")),
        ("year", pick("hw/mi30x/year-")),
        ("model", pick("models/")),
        ("run_online", pick("runs/online_benchmark_log")),
        ("run_sanity", pick("runs/test--sanity")),
        ("run_pd", pick("runs/test--pd")),
        ("sanity", "sanity/mi30x.html".to_owned()),
        ("upstream", "upstream.html".to_owned()),
        ("downloads", "downloads.html".to_owned()),
        ("ab", "ab/ab-smoke-one-thread-20261202.html".to_owned()),
        ("ab_index", "ab/index.html".to_owned()),
        ("failures", "failures.html".to_owned()),
    ];
    for (name, path) in pages {
        let html = text(&site, &path);
        insta::assert_snapshot!(format!("page_{name}"), main_region(&html), &path);
    }
}

#[test]
fn every_page_is_whole_and_escaped() {
    let site = sample_site();
    for (path, bytes) in &site {
        if !path.ends_with(".html") {
            continue;
        }
        let html = String::from_utf8(bytes.clone()).expect("utf8");
        assert!(html.starts_with("<!doctype html>"), "{path}");
        assert!(html.trim_end().ends_with("</html>"), "{path}");
        // No external fetches: every src/href is relative or an in-page anchor.
        for attr in ["src=\"", "href=\""] {
            for (i, _) in html.match_indices(attr) {
                let v = &html[i + attr.len()..];
                let v = &v[..v.find('"').unwrap_or(0)];
                let v = &v
                    .replace("&#x2F;", "/")
                    .replace("&#x27;", "'")
                    .replace("&quot;", "\"")
                    .replace("&amp;", "&");
                assert!(
                    !v.starts_with("http") && !v.starts_with("//"),
                    "{path}: external {attr}{v}"
                );
                // Every relative link resolves to a file of the site (raw logs excepted).
                if attr == "href=\"" && !v.starts_with('#') && !v.starts_with("data:") {
                    let target = resolve(path, v);
                    assert!(
                        target.starts_with("logs/") || site.contains_key(&target),
                        "{path}: broken link {v} → {target}"
                    );
                }
            }
        }
    }
}

/// Resolves a relative link from a page to a site path.
fn resolve(page: &str, href: &str) -> String {
    let href = href.split(['#', '?']).next().unwrap_or("");
    let mut parts: Vec<&str> = page.split('/').collect();
    parts.pop();
    for seg in href.split('/') {
        match seg {
            ".." => {
                parts.pop();
            }
            "." | "" => {}
            s => parts.push(s),
        }
    }
    parts.join("/")
}

#[test]
fn hostile_strings_are_escaped() {
    let mut b = backfill();
    let evil = "<script>alert(1)</script> | *x* [y](javascript:z)";
    for t in &mut b.rows.tasks {
        t.reason = evil.to_owned();
        t.evidence = Some(evil.to_owned());
    }
    for r in &mut b.rows.runs {
        r.host = Some(evil.to_owned());
    }
    let data = b.rows;
    let t = Templates::embedded().expect("templates");
    let site = render_site(&data, &t, &opts(), &Scope::All).expect("renders");
    for (path, bytes) in &site {
        let s = String::from_utf8_lossy(bytes);
        if path.ends_with(".html") {
            assert!(!s.contains("<script>alert"), "{path} has unescaped HTML");
        }
        if path.ends_with(".md") {
            assert!(!s.contains("<script>"), "{path} has raw HTML");
            assert!(!s.contains("[y](javascript"), "{path} has a live link");
        }
    }
}

#[test]
fn daily_summary_and_run_report() {
    let site = sample_site();
    let summaries: Vec<&String> = site.keys().filter(|k| k.ends_with("-summary.md")).collect();
    assert!(!summaries.is_empty());
    // A night with a failure shows the error line; every summary has its header and counts.
    for s in &summaries {
        let md = text(&site, s);
        assert!(md.starts_with("## "), "{s}");
        assert!(md.contains("Daily CI Summary Report"), "{s}");
        assert!(md.contains("**Overall status:** Tasks run: "), "{s}");
    }
    let failing = summaries
        .iter()
        .find(|s| text(&site, s).contains("- Error: "))
        .expect("a night with a failed task in the samples");
    insta::assert_snapshot!("daily_summary", text(&site, failing), failing);
    let report = site
        .keys()
        .filter(|k| k.starts_with("runs/online") && k.ends_with(".md"))
        .max_by_key(|k| site[*k].len())
        .expect("an online run report");
    insta::assert_snapshot!("run_report", text(&site, report), report);
}

/// Splits the sample history into everything before the newest night and that night, stores both
/// as partitions, then checks that the incremental update renders exactly what a full rebuild
/// renders for the pages it touches.
#[test]
fn update_after_one_night_matches_full_rebuild() {
    let b = backfill();
    let newest = newest_night(&b);
    let (old, new) = split_night(&b, &newest);
    let store = tempfile::tempdir().expect("tmp");
    let objects = DirStore::new(store.path());
    let hist = History::new(&objects);
    for t in old.rows.to_tables().expect("tables") {
        hist.write_partition(&t, "legacy").expect("write");
    }
    let t = Templates::embedded().expect("templates");
    let before = app::render_full(&objects, &t, &opts()).expect("full");
    for tb in new.rows.to_tables().expect("tables") {
        hist.write_partition(&tb, &format!("night-{newest}"))
            .expect("write");
    }
    let touched = Touched::from_rows(&new.rows);
    let update = app::render_update(&objects, &t, &opts(), &touched).expect("update");
    let full = app::render_full(&objects, &t, &opts()).expect("full");
    assert!(
        update.len() < full.len() / 2,
        "an update renders a small part of the site"
    );
    for (path, bytes) in &update {
        assert_eq!(
            Some(bytes),
            full.get(path),
            "{path} differs between the update and a full rebuild"
        );
    }
    let night = format!("hw/mi30x/{newest}.html");
    for must in ["index.html", "hw/mi30x/index.html", night.as_str()] {
        assert!(update.contains_key(must), "update misses {must}");
    }
    for r in &new.rows.runs {
        let page = sglci_publisher::site::paths::run_page(&r.run_dir);
        assert!(update.contains_key(&page), "update misses {page}");
        assert!(
            !before.contains_key(&page),
            "{page} existed before the night"
        );
    }
    // Applying the update over the earlier site gives the full rebuild's version of every file
    // the night changed (other pages may only differ in their trend window).
    let mut merged = before.clone();
    merged.extend(update);
    let changed: BTreeSet<&String> = full
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(*v))
        .map(|(k, _)| k)
        .collect();
    let stale: Vec<&&String> = changed
        .iter()
        .filter(|k| merged.get(**k) != full.get(**k))
        .collect();
    assert!(
        stale.iter().all(|k| k.starts_with("plots/")
            || k.starts_with("models/")
            || k.starts_with("sanity/")),
        "pages left stale by the update: {stale:?}"
    );
}

/// The date of the newest run of a backfill.
fn newest_night(b: &Backfill) -> String {
    b.rows
        .runs
        .iter()
        .map(|r| r.date.clone())
        .max()
        .expect("runs")
}

fn split_night(b: &Backfill, date: &str) -> (Backfill, Backfill) {
    fn part<T: Clone>(rows: &[T], keep: impl Fn(&T) -> bool) -> (Vec<T>, Vec<T>) {
        rows.iter().cloned().partition(|r| !keep(r))
    }
    let d = |x: &str| x == date;
    let mut old = Backfill::default();
    let mut new = Backfill::default();
    (old.rows.runs, new.rows.runs) = part(&b.rows.runs, |r| d(&r.date));
    (old.rows.serving, new.rows.serving) = part(&b.rows.serving, |r| d(&r.date));
    (old.rows.accuracy, new.rows.accuracy) = part(&b.rows.accuracy, |r| d(&r.date));
    (old.rows.offline, new.rows.offline) = part(&b.rows.offline, |r| d(&r.date));
    (old.rows.sanity, new.rows.sanity) = part(&b.rows.sanity, |r| d(&r.date));
    (old.rows.sanity_models, new.rows.sanity_models) = part(&b.rows.sanity_models, |r| d(&r.date));
    (old.rows.pd, new.rows.pd) = part(&b.rows.pd, |r| d(&r.date));
    (old.rows.unit, new.rows.unit) = part(&b.rows.unit, |r| d(&r.date));
    (old.rows.image_check, new.rows.image_check) = part(&b.rows.image_check, |r| d(&r.date));
    (old.rows.upstream_coverage, new.rows.upstream_coverage) =
        part(&b.rows.upstream_coverage, |r| d(&r.date));
    (old.rows.tasks, new.rows.tasks) = part(&b.rows.tasks, |r| d(&r.date));
    (old.rows.files, new.rows.files) = part(&b.rows.files, |r| r.date.as_deref().is_some_and(d));
    old.rows.quarantine = b.rows.quarantine.clone();
    (old, new)
}

#[test]
fn site_tree_counts() {
    let site = sample_site();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for k in site.keys() {
        let top = k.split('/').next().unwrap_or("").to_owned();
        *kinds.entry(top).or_default() += 1;
    }
    insta::assert_yaml_snapshot!("site_kinds", kinds);
}

#[test]
fn regressions_show_on_home_page_list_and_charts() {
    let mut b = backfill();
    let run = b
        .rows
        .runs
        .iter()
        .find(|r| r.model.as_deref() == Some("GROK1"))
        .expect("a GROK1 run in the samples")
        .clone();
    b.rows.regressions.push(sglci_core::records::RegressionRow {
        date: run.date.clone(),
        id: "mi30x/GROK1/standard/request_rate/e2e_ms@x".into(),
        hardware: run.hardware.clone(),
        model: "GROK1".into(),
        config: String::new(),
        load_kind: sglci_core::records::SeriesLoad::RequestRate,
        metric: sglci_core::records::SeriesMetric::E2eMs,
        unit: "ms".into(),
        direction: sglci_core::records::Direction::LowerIsBetter,
        loads: "4 8".into(),
        alerted: run.date.clone(),
        first_bad_date: run.date.clone(),
        first_bad_image: run.docker_tag.clone(),
        last_good_date: None,
        last_good_image: None,
        versions: "0.5.6".into(),
        change: 0.34,
        current_change: 0.40,
        band: 0.05,
        confidence: 0.999,
        confirmed: true,
        state: sglci_core::records::FindingState::Open,
        recovered: None,
        steps: Vec::new(),
    });
    let t = Templates::embedded().expect("templates");
    let triage = sglci_publisher::triage::parse(
        &format!(
            "[[mute]]\nfinding = \"mi30x/GROK1/*\"\nwho = \"alice\"\nwhen = \"2025-12-11\"\nwhy = \"known aiter change\"\n\n\
             [[note]]\nseries = \"mi30x/GROK1/standard\"\ndate = \"{}\"\nkind = \"expected\"\ntext = \"new attention backend\"\nwho = \"carol\"\nwhen = \"2025-12-11\"\n",
            run.date
        ),
        "triage.toml",
    )
    .expect("triage");
    let options = SiteOptions { triage, ..opts() };
    let site = render_site(&b.rows, &t, &options, &Scope::All).expect("renders");
    let list = text(&site, "regressions.html");
    assert!(
        list.contains("muted by alice (2025-12-11): known aiter change"),
        "{}",
        main_region(&list)
    );
    assert!(
        list.contains("+34.0 % (now +40.0 %)"),
        "{}",
        main_region(&list)
    );
    assert!(list.contains(&run.docker_tag));
    // The first bad image links to its run page.
    assert!(
        list.contains(&sglci_publisher::site::paths::run_page(&run.run_dir).replace('/', "&#x2F;"))
    );
    assert!(text(&site, "index.html").contains("Open regressions (1)"));
    let model = text(&site, "models/mi30x/GROK1.html");
    assert!(
        model.contains("\"markers\":[{\"day\""),
        "the E2E chart carries the marker"
    );
}

/// The publish path on a store: the history committed as a partition per night (so that busy
/// months are packed), the site rendered whole by `derive`, then one more night derived as an
/// update. Every page the update renders is stored as a full rebuild renders it, the site's
/// manifest names every stored file by its bytes, and the packed history reads exactly as the
/// partitions' own objects do.
#[test]
fn a_derive_into_the_store_writes_what_a_full_rebuild_renders() {
    use sglci_core::store::Key;
    let mut rest = backfill();
    let mut nights = Vec::new();
    for _ in 0..6 {
        let newest = newest_night(&rest);
        let (old, night) = split_night(&rest, &newest);
        nights.push((newest, night));
        rest = old;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let objects = DirStore::new(dir.path());
    let hist = History::new(&objects);
    let commit = |b: &Backfill, name: &str| {
        let tables = b.rows.to_tables().expect("tables");
        hist.commit(&tables, name, &app::rows_digest(&tables))
            .expect("commit");
    };
    commit(&rest, "legacy");
    let (last_date, last) = nights.remove(0);
    for (date, night) in nights.iter().rev() {
        commit(night, &format!("run-{date}"));
    }
    let t = Templates::embedded().expect("templates");
    let job = app::SiteJob {
        target: app::SiteTarget::Store(Key::new("site").expect("key")),
        templates: &t,
        opts: opts(),
    };
    let first = app::derive(&hist, Some(&job), &Touched::default()).expect("first derive");
    commit(&last, &format!("run-{last_date}"));
    let touched = Touched::from_rows(&last.rows);
    let d = app::derive(&hist, Some(&job), &touched).expect("update");
    let idx = hist.index().expect("index");
    assert_eq!(idx.derived, idx.generation);
    // Regressions: detection ran again on the night's models only (none when the night has no
    // benchmark rows), and the stored findings are
    // those of a detection over the whole window.
    let night_models: BTreeSet<(String, String)> = last
        .rows
        .serving
        .iter()
        .map(|r| (r.hardware.clone(), r.model.clone()))
        .chain(
            last.rows
                .offline
                .iter()
                .map(|r| (r.hardware.clone(), r.model.clone())),
        )
        .chain(
            last.rows
                .accuracy
                .iter()
                .map(|r| (r.hardware.clone(), r.model.clone())),
        )
        .collect();
    assert!(first.models_detected >= 3, "{}", first.models_detected);
    assert_eq!(d.models_detected, night_models.len());
    let stored = hist
        .read(sglci_core::records::REGRESSIONS)
        .expect("findings");
    let stored = sglci_publisher::rows::Rows::from_tables(&[stored]).expect("rows");
    let window = app::detection_data(&hist).expect("window");
    assert_eq!(stored.regressions, app::findings_of(&window));
    let at = SiteOptions {
        generation: Some(idx.generation),
        ..opts()
    };
    let update = app::render_update(&objects, &t, &at, &touched).expect("update");
    let full = app::render_full(&objects, &t, &at).expect("full");
    assert!(
        d.site_files <= update.len() + 1,
        "{} files written",
        d.site_files
    );
    let site = Key::new("site").expect("key");
    for page in update.keys() {
        let stored = app::site_packs::read_site_file(&objects, &site, page).expect("stored");
        assert_eq!(Some(&stored), full.get(page), "{page}");
    }
    check_manifest_names_every_file(&objects);
    // Packed months read as their partitions' own objects.
    assert!(
        !idx.packs.is_empty(),
        "months with several nights are packed"
    );
    let mut plain = idx.clone();
    plain.packs.clear();
    for schema in sglci_core::records::ALL_SCHEMAS {
        assert_eq!(
            hist.snapshot_of(idx.clone())
                .read(*schema)
                .expect("packed")
                .rows,
            hist.snapshot_of(plain.clone())
                .read(*schema)
                .expect("own")
                .rows,
            "{}",
            schema.name
        );
    }
}

/// F22 and F70 on a run page: an offline run with a real H200 profiler trace and an
/// `efficiency.json` shows its MFU columns and, per trace, a linked kernel and operator table;
/// a legacy run shows neither.
#[test]
fn run_pages_show_efficiency_and_kernel_tables() {
    use sglci_core::efficiency::{Dtype, EfficiencyInput, ModelShape};
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let config =
        std::fs::read_to_string(root.join("runner/tests/data/models/llama-3-8b/config.json"))
            .expect("config");
    let efficiency = serde_json::to_vec(&EfficiencyInput {
        schema: 1,
        gpus: 8,
        dtype: Dtype::Bf16,
        model: ModelShape::parse(&config, "llama").expect("shape"),
    })
    .expect("json");
    let trace =
        std::fs::read(root.join("core/tests/data/trace/h200_llama_prefill.gz")).expect("trace");
    let dir =
        "offline_benchmark_log/mi30x/GROK1/v0.5.6-rocm700-mi30x-20251204_GROK1_MOE-I4F8_offline";
    let csv = "TP,batch_size,IL,OL,Backend,Prefill_latency(s),Median_decode_latency(s),E2E_Latency(s),Prefill_Throughput(token/s),Median_Decode_Throughput(token/s),E2E_Throughput(token/s)\n8,1,1024,128,aiter,0.0912,0.0101,1.3792,11228.07,99.01,835.36\n";
    let files = [
        (
            format!("{dir}/v0.5.6-rocm700-mi30x-20251204_GROK1_MOE-I4F8_offline.csv"),
            csv.as_bytes().to_vec(),
        ),
        (format!("{dir}/efficiency.json"), efficiency),
        (
            format!("{dir}/profile/profile_batch1_input1024_output128_prefill.trace.json.gz"),
            trace,
        ),
    ];
    let mut parsed = legacy::scan(&samples()).expect("samples scan");
    parsed.extend(files.iter().map(|(p, b)| legacy::parse_file(p, b)));
    let data = legacy::build(&parsed).rows;
    let t = Templates::embedded().expect("templates");
    let site = render_site(&data, &t, &opts(), &Scope::All).expect("renders");
    let page = text(&site, &sglci_publisher::site::paths::run_page(dir));
    for want in [
        "<th>Prefill MFU</th>",
        "Profile · prefill · <a href=",
        "profile_batch1_input1024_output128_prefill.trace.json.gz",
        "nvjet_sm90_tst_256x128_64x4_1x2_h_bz_coopA_TNT",
        "<th>CPU operator (inclusive)</th>",
        "20.5%",
    ] {
        assert!(
            page.contains(want),
            "{want} not on the run page:\n{}",
            main_region(&page)
        );
    }
    let model = text(
        &site,
        &sglci_publisher::site::paths::model_page("mi30x", "GROK1"),
    );
    assert!(
        model.contains("Decode MFU, GROK1 offline normal on mi30x"),
        "no decode MFU chart"
    );
    assert!(model.contains("Prefill MFU, GROK1 offline normal on mi30x"));
    let legacy_run = site
        .keys()
        .find(|p| {
            p.starts_with("runs/") && p.contains("GROK1_MOE-I4F8_online") && p.ends_with(".html")
        })
        .expect("a legacy GROK1 run page");
    let legacy_page = text(&site, legacy_run);
    assert!(!legacy_page.contains("MFU") && !legacy_page.contains("Profile ·"));
}

/// A full build written over an earlier site brings the directory to exactly the new site: it
/// leaves files with the same bytes alone, rewrites changed ones, removes what the new site
/// lacks (and the folders that become empty), and never writes through a planted link.
#[test]
fn a_site_is_written_in_place_over_an_earlier_one() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("site");
    let first = sample_site();
    let w = app::write_site(&out, &first, true).expect("first write");
    assert_eq!((w.written, w.unchanged, w.removed), (first.len(), 0, 0));

    // The same site again: nothing is written.
    let w = app::write_site(&out, &first, true).expect("same site");
    assert_eq!((w.written, w.unchanged, w.removed), (0, first.len(), 0));

    // A changed page, a page that disappears with its folder, a new page, and a link planted
    // where a page will be written, pointing outside the site.
    let outside = tmp.path().join("outside.txt");
    std::fs::write(&outside, b"not the site's").expect("outside");
    std::fs::create_dir_all(out.join("old/deep")).expect("old dir");
    std::fs::write(out.join("old/deep/gone.html"), b"stale").expect("stale page");
    let mut second = first.clone();
    second.insert("index.html".to_owned(), b"<p>changed</p>".to_vec());
    second.insert("new/page.html".to_owned(), b"<p>new</p>".to_vec());
    std::fs::remove_file(out.join("index.html")).expect("index");
    std::os::unix::fs::symlink(&outside, out.join("index.html")).expect("plant link");
    let w = app::write_site(&out, &second, true).expect("second write");
    assert_eq!(
        (w.written, w.removed),
        (2, 1),
        "index and the new page; the stale page"
    );
    assert_eq!(std::fs::read(&outside).expect("outside"), b"not the site's");
    assert!(!out.join("old").exists(), "the emptied folders are removed");
    let mut want = second.clone();
    want.insert(
        app::SITE_MARKER.to_owned(),
        b"rendered by sglci-publisher site\n".to_vec(),
    );
    assert_eq!(crate::common::files_in(&out), want);

    // A directory that holds something else is refused, and left as it was.
    let other = tmp.path().join("other");
    std::fs::create_dir_all(&other).expect("other");
    std::fs::write(other.join("notes.txt"), b"mine").expect("notes");
    let err = app::write_site(&other, &second, true).expect_err("refused");
    assert!(err.to_string().contains("other"), "{err}");
    assert_eq!(crate::common::files_in(&other).len(), 1);
}

/// A site rendered a part at a time (as a whole site is written) holds every file of the site
/// rendered whole, each in one part; each table's rows are filed under the month their
/// serialized date names, which the downloads split by.
#[test]
fn a_site_rendered_in_parts_is_the_site_rendered_whole() {
    let data = backfill().rows;
    let t = Templates::embedded().expect("templates");
    let whole = render_site(&data, &t, &opts(), &Scope::All).expect("whole");
    let mut parts = 0;
    let mut joined = RenderedSite::new();
    sglci_publisher::site::render_site_to(&data, &t, &opts(), &Scope::All, 64 << 10, &mut |p| {
        parts += 1;
        for (path, bytes) in p {
            assert!(joined.insert(path.clone(), bytes).is_none(), "{path} twice");
        }
        Ok(())
    })
    .expect("parts");
    assert!(
        parts > 5,
        "{parts} parts of a {} kB site",
        whole.values().map(Vec::len).sum::<usize>() / 1000
    );
    assert_eq!(
        joined.keys().collect::<Vec<_>>(),
        whole.keys().collect::<Vec<_>>()
    );
    assert!(joined == whole, "the same bytes");

    for rows in data.table_rows() {
        let table = rows.table().expect("table");
        let serialized: Vec<String> = table
            .rows
            .iter()
            .map(|r| sglci_publisher::history::month_of(r.get("date").and_then(|v| v.as_str())))
            .collect();
        assert_eq!(rows.months(), serialized, "{}", rows.schema().name);
    }
}

/// A render that fails part-way (its output refuses the first part, or a page's template
/// fails) returns that error and stops the threads that encode the downloads and draw the
/// figures beside the pages; it never waits on them forever.
#[test]
fn a_render_that_fails_part_way_returns_its_error_and_stops_its_helpers() {
    use sglci_publisher::site::SiteError;
    let within = |what: &'static str, f: Box<dyn FnOnce() -> String + Send>| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(f()));
        rx.recv_timeout(std::time::Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("{what}: the render did not return"))
    };
    let refused = within(
        "an output that refuses",
        Box::new(|| {
            let data = backfill().rows;
            let t = Templates::embedded().expect("templates");
            let r = sglci_publisher::site::render_site_to(
                &data,
                &t,
                &opts(),
                &Scope::All,
                1,
                &mut |_| Err(SiteError::OutputStopped),
            );
            format!("{r:?}")
        }),
    );
    assert!(refused.contains("OutputStopped"), "{refused}");
    let broken = within(
        "a template that fails",
        Box::new(|| {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../site-templates");
            let files = Templates::file_names().map(|n| {
                let mut text = std::fs::read_to_string(dir.join(n)).expect("template");
                if n == "run.html" {
                    text = text.replacen(
                        "{% block main %}",
                        "{% block main %}{{ no_such_value.anywhere }}",
                        1,
                    );
                }
                (n.to_owned(), text)
            });
            let t = Templates::from_files(files).expect("templates parse");
            let data = backfill().rows;
            format!(
                "{:?}",
                render_site(&data, &t, &opts(), &Scope::All).map(|s| s.len())
            )
        }),
    );
    assert!(
        broken.contains("Render") && broken.contains("runs/"),
        "{broken}"
    );
}

/// A whole site written a part at a time: to a store prefix that held an earlier site, every
/// file is there with its bytes, the manifest names them all, the earlier site's other objects
/// are gone, the site is marked finished; into a directory, likewise. A prefix holding
/// something else is refused before anything is written, and an output that fails stops the
/// render with its own error.
#[test]
fn a_whole_site_written_in_parts_is_exactly_the_site() {
    use sglci_core::store::{Key, MemoryStore, ObjectStore};
    let data = backfill().rows;
    let t = Templates::embedded().expect("templates");
    let whole = render_site(&data, &t, &opts(), &Scope::All).expect("whole");
    let key = |k: &str| Key::new(k).expect("key");
    let store = MemoryStore::default();
    store
        .put(&key("site/old/gone.html"), b"stale")
        .expect("stale");
    store
        .put(&key(&format!("site/{}", app::SITE_MARKER)), b"x")
        .expect("marker");
    let target = app::SiteTarget::Store(key("site"));
    let also = vec![(key("history/derived.parquet"), b"derived".to_vec())];
    let mut w = app::SiteWriter::begin(&store, &target, app::SiteState::Absent, also, true)
        .expect("begin")
        .with_part_bytes(64 << 10);
    app::render_into(&data, &t, &opts(), &Scope::All, &mut w).expect("render");
    assert_eq!(w.finish().expect("finish"), whole.len());
    let manifest = app::read_site_manifest(&store, &key("site"))
        .expect("read")
        .expect("a manifest");
    assert_eq!(manifest.files, app::SiteManifest::of(&whole).files);
    assert_eq!(manifest.packed.len(), whole.len(), "every file is packed");
    let stored = app::site_packs::read_site(&store, &key("site")).expect("read the site");
    assert!(stored == whole, "exactly the site: {} files", stored.len());
    // The objects: the packs (about one per 64 KiB part), the manifest, the marker; the stale
    // page is gone.
    let mut objects: BTreeMap<String, usize> = BTreeMap::new();
    for k in store.list("site").expect("list") {
        let rel = &k.as_str()["site/".len()..];
        let kind = match rel.split_once('/') {
            Some((dir, _)) if dir.starts_with('.') => dir.to_owned(),
            _ => rel.to_owned(),
        };
        *objects.entry(kind).or_default() += 1;
    }
    let bytes: usize = whole.values().map(Vec::len).sum();
    let packs = objects.remove(app::SITE_PACKS).unwrap_or(0);
    assert_eq!(packs, manifest.pack_keys(&key("site")).expect("keys").len());
    assert!(
        packs >= bytes / (64 << 10) && packs <= 2 * (bytes / (64 << 10)) + 2,
        "{packs} packs for {bytes} bytes in parts of 64 KiB, {} files",
        whole.len()
    );
    assert!(
        objects.remove(app::SITE_MANIFEST).is_some(),
        "the manifest's root"
    );
    assert!(objects.remove(app::MANIFEST_SHARDS).is_some(), "its shards");
    assert!(
        objects.remove(app::SITE_MARKER).is_some(),
        "marked finished"
    );
    assert!(objects.is_empty(), "nothing else: {objects:?}");
    assert_eq!(
        store.get(&key("history/derived.parquet")).expect("also"),
        b"derived"
    );

    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("site");
    let state = app::dir_site_state(&out);
    let target = app::SiteTarget::Dir(out.clone());
    let mut w = app::SiteWriter::begin(&store, &target, state, Vec::new(), true)
        .expect("begin")
        .with_part_bytes(64 << 10);
    app::render_into(&data, &t, &opts(), &Scope::All, &mut w).expect("render");
    assert_eq!(w.finish().expect("finish"), whole.len());
    let mut files = crate::common::files_in(&out);
    assert!(files.remove(app::SITE_MARKER).is_some());
    assert!(files == whole, "the directory holds exactly the site");

    let other = MemoryStore::default();
    other.put(&key("pages/notes.txt"), b"mine").expect("notes");
    let target = app::SiteTarget::Store(key("pages"));
    let err = app::SiteWriter::begin(&other, &target, app::SiteState::Absent, Vec::new(), true)
        .expect_err("refused");
    assert!(err.to_string().contains("pages"), "{err}");
    assert_eq!(other.list("").expect("list").len(), 1);

    // A directory where a file should go stops the render with the writer's error, naming it.
    let blocked = tmp.path().join("blocked");
    std::fs::create_dir_all(&blocked).expect("dir");
    std::fs::write(blocked.join("models"), b"a file where a folder goes").expect("file");
    std::fs::write(blocked.join(app::SITE_MARKER), b"x").expect("marker");
    let target = app::SiteTarget::Dir(blocked.clone());
    let mut w = app::SiteWriter::begin(&store, &target, app::SiteState::Dir, Vec::new(), true)
        .expect("begin")
        .with_part_bytes(64 << 10);
    let err = app::render_into(&data, &t, &opts(), &Scope::All, &mut w).expect_err("stopped");
    assert!(err.to_string().contains("blocked"), "{err}");
    assert!(
        blocked.join(app::SITE_PARTIAL).exists(),
        "left marked unfinished"
    );
}

/// A whole history read a few table-months at a time (as a first site reads it, so that a long
/// history is never held as JSON at once) gives the rows one read of it all gives, in the same
/// order, tasks merged the same; the batches cover every table-month once, in order.
#[test]
fn a_whole_history_read_in_batches_is_the_history_read_at_once() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = DirStore::new(tmp.path());
    app::ingest_legacy(&store, &samples()).expect("ingest");
    let snap = History::new(&store).snapshot().expect("snapshot");
    let wanted: Vec<_> = sglci_core::records::ALL_SCHEMAS
        .iter()
        .map(|s| {
            (
                *s,
                snap.months(*s)
                    .expect("months")
                    .into_iter()
                    .collect::<BTreeSet<_>>(),
            )
        })
        .collect();
    let table_months: usize = wanted.iter().map(|(_, m)| m.len()).sum();
    assert!(table_months > 10, "{table_months} table-months");
    let at_once =
        sglci_publisher::rows::Rows::from_owned_tables(snap.read_tables(&wanted).expect("read"))
            .expect("rows");
    let tables = |r: &sglci_publisher::rows::Rows| {
        r.to_tables()
            .expect("tables")
            .into_iter()
            .map(|t| (t.schema.name, t.rows))
            .collect::<Vec<_>>()
    };
    assert!(tables(&at_once).iter().map(|t| t.1.len()).sum::<usize>() > 100);
    for per_batch in [1, 3, 7, table_months] {
        let batches = app::month_batches(&wanted, per_batch);
        assert_eq!(batches.len(), table_months.div_ceil(per_batch));
        let flat: Vec<(&str, &String)> = batches
            .iter()
            .flatten()
            .flat_map(|(s, m)| m.iter().map(move |m| (s.name, m)))
            .collect();
        let want: Vec<(&str, &String)> = wanted
            .iter()
            .flat_map(|(s, m)| m.iter().map(move |m| (s.name, m)))
            .collect();
        assert_eq!(flat, want, "every table-month once, in order");
        let batched = app::read_rows_batched(&snap, &wanted, per_batch).expect("batched");
        assert!(
            tables(&batched) == tables(&at_once),
            "batches of {per_batch}"
        );
    }
}

/// A store that records the keys read and written through it.
struct Recording<'a> {
    inner: &'a dyn sglci_core::store::ObjectStore,
    log: std::sync::Mutex<Vec<(char, String)>>,
}

impl<'a> Recording<'a> {
    fn new(inner: &'a dyn sglci_core::store::ObjectStore) -> Self {
        Self {
            inner,
            log: Default::default(),
        }
    }
    /// The keys under `prefix` with the operation `op` ('G', 'P' or 'D'), sorted.
    fn keys(&self, op: char, prefix: &str) -> Vec<String> {
        let mut out: Vec<String> = (self.log.lock().expect("log").iter())
            .filter(|(o, k)| *o == op && k.starts_with(prefix))
            .map(|(_, k)| k.clone())
            .collect();
        out.sort();
        out
    }
    fn note(&self, op: char, key: &sglci_core::store::Key) {
        self.log.lock().expect("log").push((op, key.to_string()));
    }
}

impl sglci_core::store::ObjectStore for Recording<'_> {
    fn get_versioned(
        &self,
        key: &sglci_core::store::Key,
    ) -> Result<(Vec<u8>, sglci_core::store::Version), sglci_core::store::StoreError> {
        self.note('G', key);
        self.inner.get_versioned(key)
    }
    fn put(
        &self,
        key: &sglci_core::store::Key,
        bytes: &[u8],
    ) -> Result<(), sglci_core::store::StoreError> {
        self.note('P', key);
        self.inner.put(key, bytes)
    }
    fn put_if_absent(
        &self,
        key: &sglci_core::store::Key,
        bytes: &[u8],
    ) -> Result<(), sglci_core::store::StoreError> {
        self.note('P', key);
        self.inner.put_if_absent(key, bytes)
    }
    fn put_if_match(
        &self,
        key: &sglci_core::store::Key,
        bytes: &[u8],
        v: &sglci_core::store::Version,
    ) -> Result<(), sglci_core::store::StoreError> {
        self.note('P', key);
        self.inner.put_if_match(key, bytes, v)
    }
    fn delete(&self, key: &sglci_core::store::Key) -> Result<(), sglci_core::store::StoreError> {
        self.note('D', key);
        self.inner.delete(key)
    }
    fn list(
        &self,
        prefix: &str,
    ) -> Result<Vec<sglci_core::store::Key>, sglci_core::store::StoreError> {
        self.inner.list(prefix)
    }
    fn children(&self, prefix: &str) -> Result<Vec<String>, sglci_core::store::StoreError> {
        self.inner.children(prefix)
    }
}

/// The stored manifest names exactly the site's files, each with the blob id of its bytes.
fn check_manifest_names_every_file(store: &dyn sglci_core::store::ObjectStore) {
    use sglci_core::store::Key;
    let prefix = Key::new("site").expect("key");
    let manifest = app::read_site_manifest(store, &prefix)
        .expect("read")
        .expect("a manifest");
    // Every file reads back (packed ones are checked against their ids as they are read)...
    let site = app::site_packs::read_site(store, &prefix).expect("every file reads");
    assert_eq!(site.len(), manifest.files.len(), "every entry is stored");
    for (rel, bytes) in &site {
        assert_eq!(manifest.files.get(rel), Some(&app::blob_id(bytes)), "{rel}");
    }
    // ...and every object of its own is a file the manifest does not say is packed.
    for k in store.list("site").expect("list") {
        let rel = &k.as_str()["site/".len()..];
        if rel.starts_with('.') {
            continue;
        }
        assert!(
            manifest.files.contains_key(rel) && !manifest.packed.contains_key(rel),
            "{rel}: an object the manifest does not name as loose"
        );
    }
}

/// A store site's manifest is split by year: an update reads and writes only the shards of the
/// pages it touches (`rest` and the night's year), never the root unless a shard is new; a
/// shard that is gone makes the next publish render the site whole and the manifest whole
/// again; a shard the probe did not read is read when a page needs it, and one found gone then
/// removes the root, so the publish after renders whole.
#[test]
fn an_update_reads_and_writes_only_the_manifest_shards_it_touches() {
    use sglci_core::store::{Key, MemoryStore, ObjectStore};
    let all = backfill();
    let newest = newest_night(&all);
    let (rest, night) = split_night(&all, &newest);
    let store = MemoryStore::default();
    let commit = |b: &Backfill, name: &str| {
        let tables = b.rows.to_tables().expect("tables");
        History::new(&store)
            .commit(&tables, name, &app::rows_digest(&tables))
            .expect("commit");
    };
    commit(&rest, "legacy");
    let t = Templates::embedded().expect("templates");
    let job = app::SiteJob {
        target: app::SiteTarget::Store(Key::new("site").expect("key")),
        templates: &t,
        opts: opts(),
    };
    app::derive(&History::new(&store), Some(&job), &Touched::default()).expect("first");
    check_manifest_names_every_file(&store);
    let shards = store.list("site/.sglci-manifest").expect("list");
    let year = &newest[..4];
    assert!(shards.len() >= 2, "{shards:?}");
    commit(&night, &format!("run-{newest}"));
    let rec = Recording::new(&store);
    let touched = Touched::from_rows(&night.rows);
    app::derive(&History::new(&rec), Some(&job), &touched).expect("update");
    let expected = vec![
        format!("site/.sglci-manifest/{year}.json"),
        "site/.sglci-manifest/rest.json".to_owned(),
    ];
    // The night is in December: the probe also asks for the next year's shard (its neighbour
    // night may be there), which is not there.
    assert_eq!(&newest[4..6], "12", "{newest}");
    let next_year = format!(
        "site/.sglci-manifest/{}.json",
        year.parse::<u16>().expect("year") + 1
    );
    let mut probed = expected.clone();
    probed.insert(1, next_year);
    assert_eq!(rec.keys('G', "site/.sglci-manifest/"), probed);
    assert_eq!(rec.keys('P', "site/.sglci-manifest/"), expected);
    assert_eq!(
        rec.keys('P', "site/.sglci-manifest.json"),
        Vec::<String>::new()
    );
    check_manifest_names_every_file(&store);

    // A shard gone: the next publish renders the whole site and writes the manifest whole.
    let (_, last) = split_night(&rest, &newest_night(&rest));
    store
        .delete(&Key::new(format!("site/.sglci-manifest/{year}.json")).expect("key"))
        .expect("delete");
    commit(&last, "run-again");
    let d = app::derive(
        &History::new(&store),
        Some(&job),
        &Touched::from_rows(&last.rows),
    )
    .expect("whole again");
    assert!(d.site_files > 100, "rendered whole: {}", d.site_files);
    check_manifest_names_every_file(&store);

    // A shard the probe did not read (no year touched): read when a page needs it.
    let target = app::SiteTarget::Store(Key::new("site").expect("key"));
    let prefix = Key::new("site").expect("key");
    let manifest = app::read_site_manifest(&store, &prefix)
        .expect("read")
        .expect("manifest");
    let rel = manifest
        .files
        .keys()
        .find(|rel| rel.starts_with("hw/") && app::shard_of(rel) == year)
        .expect("a night page")
        .clone();
    assert!(manifest.packed.contains_key(&rel), "rendered whole: packed");
    let bytes = app::site_packs::read_site_file(&store, &prefix, &rel).expect("page");
    let state = app::site_state(&store, &target, &Touched::default()).expect("state");
    let mut w = app::SiteWriter::begin(&store, &target, state, Vec::new(), true).expect("begin");
    w.part(RenderedSite::from([(rel.clone(), bytes.clone())]))
        .expect("part");
    assert_eq!(w.finish().expect("finish"), 0, "the page is unchanged");
    // ... and found gone then: the page is written, the root removed, the next state absent.
    store
        .delete(&Key::new(format!("site/.sglci-manifest/{year}.json")).expect("key"))
        .expect("delete");
    let state = app::site_state(&store, &target, &Touched::default()).expect("state");
    assert!(state.exists());
    let mut w = app::SiteWriter::begin(&store, &target, state, Vec::new(), true).expect("begin");
    w.part(RenderedSite::from([(rel, bytes)])).expect("part");
    assert_eq!(
        w.finish().expect("finish"),
        1,
        "written: no manifest to trust"
    );
    assert_eq!(
        app::read_site_manifest(&store, &Key::new("site").expect("key")).expect("read"),
        None
    );
    let state = app::site_state(&store, &target, &Touched::default()).expect("state");
    assert_eq!(state, app::SiteState::Absent);
}

/// A whole site rendered a year of the history at a time (`app::render_whole_in_parts`: the
/// skeleton first, then each year's pages from its months, then the pages about no one night
/// from the window) is exactly the site rendered from the whole history at once, every file
/// in exactly one part. The history spans three years: the samples and copies of them moved
/// back 250, 500 and 750 days.
#[test]
fn a_whole_site_rendered_a_year_at_a_time_is_the_site_rendered_at_once() {
    use sglci_core::store::MemoryStore;
    use sglci_publisher::synth;
    let store = MemoryStore::default();
    let hist = History::new(&store);
    let tables = backfill().rows.to_tables().expect("tables");
    hist.commit(&tables, "legacy", &app::rows_digest(&tables))
        .expect("commit");
    for i in 1..=3 {
        let copy: Vec<_> = tables.iter().map(|t| synth::shifted(t, -250 * i)).collect();
        hist.commit(&copy, &format!("copy-{i}"), &app::rows_digest(&copy))
            .expect("commit copy");
    }
    let data = app::load_site_data(&hist, None).expect("load");
    let years: BTreeSet<&str> = data.runs.iter().map(|r| &r.date[..4]).collect();
    assert!(years.len() >= 3, "{years:?}");
    let t = Templates::embedded().expect("templates");
    let whole = render_site(&data, &t, &opts(), &Scope::All).expect("whole");
    let snap = hist.snapshot().expect("snapshot");
    let mut all = BTreeSet::new();
    for schema in sglci_core::records::ALL_SCHEMAS {
        all.extend(snap.months(*schema).expect("months"));
    }
    // More than a year of months: rendered a year at a time, not at once.
    assert!(
        all.iter().filter(|m| *m != "undated").count() > 12,
        "{all:?}"
    );
    let mut parts = RenderedSite::new();
    let mut count = 0;
    app::render_whole_in_parts(
        &snap,
        &data.regressions,
        &all,
        &t,
        &opts(),
        256 << 10,
        &mut |part| {
            count += 1;
            for (path, bytes) in part {
                assert!(parts.insert(path.clone(), bytes).is_none(), "{path} twice");
            }
            Ok(())
        },
    )
    .expect("in parts");
    assert!(count > 4, "{count} parts");
    let missing: Vec<&String> = whole.keys().filter(|p| !parts.contains_key(*p)).collect();
    let extra: Vec<&String> = parts.keys().filter(|p| !whole.contains_key(*p)).collect();
    let differ: Vec<&String> = whole
        .iter()
        .filter(|(p, b)| parts.get(*p).is_some_and(|x| x != *b))
        .map(|(p, _)| p)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty() && differ.is_empty(),
        "missing {missing:?}\nextra {extra:?}\ndiffer {differ:?}"
    );
}

/// A whole render removes the packs its manifest does not name, unless another whole render was
/// under way when it started (the partial marker was there): those packs may be that render's,
/// and its manifest may land last.
#[test]
fn a_whole_render_leaves_the_packs_of_one_under_way_and_removes_other_stale_packs() {
    use sglci_core::store::{Key, MemoryStore, ObjectStore};
    let key = |k: &str| Key::new(k).expect("key");
    let target = app::SiteTarget::Store(key("site"));
    let site = |body: &str| -> RenderedSite {
        RenderedSite::from([
            ("index.html".to_owned(), body.as_bytes().to_vec()),
            ("hw/mi30x/20251019.html".to_owned(), b"night".to_vec()),
        ])
    };
    let whole = |store: &MemoryStore, body: &str| {
        let mut w =
            app::SiteWriter::begin(store, &target, app::SiteState::Absent, Vec::new(), true)
                .expect("begin");
        w.part(site(body)).expect("part");
        w.finish().expect("finish");
    };
    let packs = |store: &MemoryStore| -> Vec<Key> {
        store
            .list(&format!("site/{}", app::SITE_PACKS))
            .expect("list")
    };
    let store = MemoryStore::default();
    whole(&store, "one");
    let first = packs(&store);
    assert_eq!(first.len(), 1);
    // A second whole render, nothing under way: the first one's pack is removed.
    whole(&store, "two");
    let second = packs(&store);
    assert_eq!(second.len(), 1);
    assert_ne!(first, second);
    // Another render under way (its partial marker and a pack of its own): left alone.
    let theirs = key(&format!(
        "site/{}/{}.pack",
        app::SITE_PACKS,
        "ab".repeat(20)
    ));
    store.put(&theirs, b"their files").expect("pack");
    store
        .put(&key(&format!("site/{}", app::SITE_PARTIAL)), b"x")
        .expect("partial");
    whole(&store, "three");
    let third = packs(&store);
    assert!(
        third.contains(&theirs) && third.contains(&second[0]) && third.len() == 3,
        "every pack listed at the start is left: {third:?}"
    );
    assert_eq!(
        app::site_packs::read_site_file(&store, &key("site"), "index.html").expect("home"),
        b"three"
    );
    // The next whole render, nothing under way: only its own pack is left.
    whole(&store, "four");
    let fourth = packs(&store);
    assert_eq!(fourth.len(), 1, "{fourth:?}");
    assert!(!fourth.contains(&theirs));
    assert_eq!(
        app::site_packs::read_site_file(&store, &key("site"), "index.html").expect("home"),
        b"four"
    );
}
