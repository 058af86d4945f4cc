//! `compare A B`: golden markdown on the sample history, like-for-like rules, noise bands taken
//! from each series' history, concurrency and offline sweeps, the run lookup errors, unlike runs
//! refused (or forced and marked), a fixed threshold, and two offline bundles end to end.

use std::path::Path;

use sglci_core::date::date_of_day;
use sglci_core::records::{OfflineResultRow, RunRow, ServingRow};
use sglci_publisher::compare::{compare, find_run, to_markdown, CompareError, CompareOptions};
use sglci_publisher::regress::DetectConfig;
use sglci_publisher::rows::Rows;

fn samples() -> Rows {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/legacy");
    sglci_publisher::legacy::build(&sglci_publisher::legacy::scan(&dir).expect("scan")).rows
}

#[test]
fn golden_request_rate_comparison() {
    let rows = samples();
    // The GROK1 step of December 2025 (W-01): the night before and the night of it.
    let a = find_run(&rows, "v0.5.6-rocm700-mi30x-20251206_GROK1_MOE-I4F8_online")
        .expect("A by run id");
    let b = find_run(
        &rows,
        "online_benchmark_log/mi30x/GROK1/v0.5.6.post1-rocm700-mi30x-20251210_GROK1_MOE-I4F8_online/",
    )
    .expect("B by folder, trailing slash allowed");
    let c = compare(
        &rows,
        a,
        b,
        &DetectConfig::default(),
        &CompareOptions::default(),
    )
    .expect("compare");
    insta::assert_snapshot!("compare_grok1_step_markdown", to_markdown(&c));
    insta::assert_json_snapshot!("compare_grok1_step_json", c);
}

fn run(dir: &str, date: &str) -> RunRow {
    RunRow {
        run_id: dir.rsplit('/').next().unwrap_or(dir).to_owned(),
        run_dir: dir.to_owned(),
        kind: "online".into(),
        hardware: "mi30x".into(),
        docker_tag: format!("v0.5.6-rocm700-mi30x-{date}"),
        date: date.into(),
        model: Some("DeepSeek-V3-0324".into()),
        variant: Some(String::new()),
        host: None,
        started_at: None,
        files: 1,
        note: None,
        ..RunRow::default()
    }
}

fn serving(r: &RunRow, load: i64, e2e: f64) -> ServingRow {
    ServingRow {
        e2e_ms: Some(e2e),
        sglang_version: "0.5.6".into(),
        ..ServingRow::blank(
            &r.hardware,
            "DeepSeek-V3-0324",
            &r.run_dir,
            &r.docker_tag,
            &r.date,
            sglci_core::records::LoadKind::Concurrency,
            load,
        )
    }
}

/// A concurrency history: 12 nights of each load with the given relative noise (alternating
/// sign), then runs A and B.
fn history(noise: f64, a: &[(i64, f64)], b: &[(i64, f64)]) -> Rows {
    let mut rows = Rows::default();
    for n in 0..12 {
        let date = date_of_day(20_400 + n);
        let r = run(&format!("online/DeepSeek-V3-0324/h{n}"), &date);
        for load in [1, 4, 16, 64] {
            let sign = if n % 2 == 0 { 1.0 } else { -1.0 };
            rows.serving
                .push(serving(&r, load, 1000.0 * (1.0 + sign * noise)));
        }
        rows.runs.push(r);
    }
    for (name, day, cells) in [("A", 20_412, a), ("B", 20_413, b)] {
        let r = run(
            &format!("online/DeepSeek-V3-0324/{name}"),
            &date_of_day(day),
        );
        for (load, v) in cells {
            rows.serving.push(serving(&r, *load, *v));
        }
        rows.runs.push(r);
    }
    rows
}

fn verdicts(rows: &Rows) -> Vec<(i64, &'static str)> {
    let a = find_run(rows, "A").expect("A");
    let b = find_run(rows, "B").expect("B");
    let c = compare(
        rows,
        a,
        b,
        &DetectConfig::default(),
        &CompareOptions::default(),
    )
    .expect("compare");
    c.rows
        .iter()
        .map(|r| (r.load, r.cells["e2e_ms"].verdict))
        .collect()
}

#[test]
fn like_for_like_with_each_series_noise_band() {
    let a = [(1, 1000.0), (4, 1000.0), (16, 1000.0)];
    let b = [(4, 1080.0), (16, 1040.0), (64, 1000.0)];
    // Quiet series (1 % spread): +4 % is beyond the band (the 3 % floor), +8 % too.
    assert_eq!(
        verdicts(&history(0.01, &a, &b)),
        [(1, "missing"), (4, "worse"), (16, "worse"), (64, "missing")]
    );
    // Noisy series (10 % spread): the same changes are noise. A fixed 5 % rule would flag +8 %.
    assert_eq!(
        verdicts(&history(0.10, &a, &b)),
        [(1, "missing"), (4, "same"), (16, "same"), (64, "missing")]
    );
    let rows = history(0.01, &a, &b);
    let c = compare(
        &rows,
        find_run(&rows, "A").expect("A"),
        find_run(&rows, "B").expect("B"),
        &DetectConfig::default(),
        &CompareOptions::default(),
    )
    .expect("compare");
    let md = to_markdown(&c);
    assert!(md.contains("| Concurrency |"), "{md}");
    assert!(md.contains("| 1 | 1000 | missing | missing |"), "{md}");
    assert!(
        c.verdict
            .starts_with("🔴 B is worse beyond noise in 2 of 2"),
        "{}",
        c.verdict
    );
}

#[test]
fn offline_sweeps_compare_by_batch_size() {
    let mut rows = Rows::default();
    for (name, date, lat) in [("A", "20251201", 2.0), ("B", "20251202", 2.5)] {
        let mut r = run(&format!("offline/GROK1/{name}"), date);
        r.kind = "offline".into();
        r.model = Some("GROK1".into());
        for bs in [1, 32] {
            rows.offline.push(OfflineResultRow {
                hardware: "mi30x".into(),
                model: "GROK1".into(),
                run_dir: r.run_dir.clone(),
                docker_tag: r.docker_tag.clone(),
                date: date.into(),
                mode: "normal".into(),
                tp: 8,
                batch_size: bs,
                input_len: 1024,
                output_len: 128,
                backend: None,
                prefill_latency_s: None,
                decode_median_latency_s: None,
                e2e_latency_s: Some(lat * bs as f64),
                prefill_throughput: None,
                decode_median_throughput: None,
                e2e_throughput: Some(1000.0 / lat),
                tokens_per_s_per_gpu: None,
                mfu: None,
                prefill_mfu: None,
                decode_mfu: None,
            });
        }
        rows.runs.push(r);
    }
    let c = compare(
        &rows,
        find_run(&rows, "A").expect("A"),
        find_run(&rows, "B").expect("B"),
        &DetectConfig::default(),
        &CompareOptions::default(),
    )
    .expect("compare");
    assert_eq!(c.load_kind, "batch_size");
    assert_eq!(c.rows.len(), 2);
    let cell = &c.rows[0].cells["offline_e2e_throughput"];
    assert_eq!(cell.verdict, "worse", "throughput fell 20 %");
    assert!(to_markdown(&c).contains("| Batch size |"));
}

#[test]
fn run_lookup_errors() {
    let rows = history(0.01, &[(1, 1.0)], &[(1, 1.0)]);
    assert!(matches!(
        find_run(&rows, "nope"),
        Err(CompareError::NotFound(_))
    ));
    let mut twice = rows.clone();
    let mut dup = twice.runs[0].clone();
    dup.run_dir = "elsewhere/h0".into();
    twice.runs.push(dup);
    assert!(matches!(
        find_run(&twice, "h0"),
        Err(CompareError::Ambiguous(_, 2, _))
    ));
    let empty = run("online/x/empty", "20251201");
    let mut r = rows.clone();
    r.runs.push(empty.clone());
    let a = find_run(&r, "A").expect("A").clone();
    assert!(matches!(
        compare(
            &r,
            &a,
            &empty,
            &DetectConfig::default(),
            &CompareOptions::default()
        ),
        Err(CompareError::NoResults(_))
    ));
}

#[test]
fn unlike_runs_are_refused_unless_forced() {
    let rows = samples();
    let grok =
        find_run(&rows, "v0.5.6-rocm700-mi30x-20251206_GROK1_MOE-I4F8_online").expect("grok");
    let deepseek = find_run(
        &rows,
        "v0.5.6.post2-rocm700-mi30x-20251216_DeepSeek-V3-0324_FP8_online",
    )
    .expect("deepseek");
    let err = compare(
        &rows,
        grok,
        deepseek,
        &DetectConfig::default(),
        &CompareOptions::default(),
    )
    .expect_err("unlike");
    let text = err.to_string();
    // Another model, and request rates against concurrencies: "load 4" is not "load 4".
    assert!(
        text.contains("A ran GROK1, B ran DeepSeek-V3-0324"),
        "{text}"
    );
    assert!(
        text.contains("A's loads are request_rate, B's are concurrency"),
        "{text}"
    );
    let forced = CompareOptions {
        force: true,
        ..CompareOptions::default()
    };
    let c = compare(&rows, grok, deepseek, &DetectConfig::default(), &forced).expect("forced");
    assert!(c.forced.as_deref().is_some_and(|f| f.contains("GROK1")));
    assert!(to_markdown(&c).contains("Forced comparison of unlike runs"));
}

#[test]
fn a_fixed_threshold_replaces_the_noise_bands() {
    let a = [(4, 1000.0), (16, 1000.0)];
    let b = [(4, 1080.0), (16, 1040.0)];
    let rows = history(0.10, &a, &b);
    let (ra, rb) = (
        find_run(&rows, "A").expect("A"),
        find_run(&rows, "B").expect("B"),
    );
    let five = CompareOptions {
        threshold: Some(0.05),
        ..CompareOptions::default()
    };
    let c = compare(&rows, ra, rb, &DetectConfig::default(), &five).expect("compare");
    let v: Vec<_> = c.rows.iter().map(|r| r.cells["e2e_ms"].verdict).collect();
    // Noise in a 10 % band; beyond a fixed 5 % at +8 %, within it at +4 %.
    assert_eq!(v, ["worse", "same"]);
    assert!(to_markdown(&c).contains("a fixed ±5.0 %"));
}

/// Two offline bundles (the predecessor's offline CSV) through ingest: each gets a run row, and
/// they compare by batch size; the CLI refuses an online run against one with exit 2.
#[test]
fn two_offline_bundles_compare_and_the_cli_refuses_unlike_runs() {
    use sglci_core::backend::{DirStore, SpoolQueue};
    use sglci_core::bundle::{manifest_for, upload, Announcement};
    use sglci_core::queue::Queue;
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path();
    let csv = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../core/tests/data/offline_csv/grok_with_na_synthetic.csv"),
    )
    .expect("csv");
    let slower = csv.replace("835.36", "701.12").replace("1.3792", "1.6431");
    let mut dirs = Vec::new();
    for (date, text) in [("20251201", &csv), ("20251202", &slower)] {
        let folder = format!(
            "offline_benchmark_log/mi30x/GROK1/v0.5.6-rocm700-mi30x-{date}_GROK1_MOE-I4F8_offline"
        );
        let files = vec![(
            format!("{folder}/GROK1_MOE-I4F8_offline.csv"),
            text.as_bytes().to_vec(),
        )];
        let tag = format!("v0.5.6-rocm700-mi30x-{date}");
        let m = manifest_for(
            &format!("off-{date}"),
            "mi30x",
            date,
            &tag,
            "grok-offline",
            &files,
        );
        let key = upload(&DirStore::new(store), &m, &files).expect("upload");
        SpoolQueue::new(&store.join("queue"))
            .send(&Announcement::body(&key))
            .expect("announce");
        dirs.push(folder);
    }
    let objects = DirStore::new(store);
    let report = sglci_publisher::app::ingest_pending(
        &objects,
        &SpoolQueue::new(&store.join("queue")),
        None,
        "2025-12-03T06:00:00Z",
    )
    .expect("ingest");
    assert_eq!(report.ingested.len(), 2, "{report:?}");
    // Each offline grid is a run and a task of its night (on demand: never "missing" elsewhere).
    let rows = sglci_publisher::rows::Rows::from_tables(&[sglci_publisher::history::History::new(
        &objects as &dyn sglci_core::store::ObjectStore,
    )
    .read(sglci_core::records::TASKS)
    .expect("tasks")])
    .expect("rows");
    let offline: Vec<_> = rows
        .tasks
        .iter()
        .filter(|t| t.task == "grok_offline")
        .collect();
    assert_eq!(offline.len(), 2, "{:?}", rows.tasks);
    assert!(offline
        .iter()
        .all(|t| t.status == sglci_core::records::TaskState::Pass
            && t.reason.contains("grid cells measured")));
    let c = sglci_publisher::app::compare(&objects, &dirs[0], &dirs[1], &CompareOptions::default())
        .expect("offline runs compare");
    assert_eq!(c.load_kind, "batch_size");
    let bs1 = c.rows.iter().find(|r| r.load == 1).expect("batch size 1");
    assert_eq!(bs1.cells["offline_e2e_throughput"].verdict, "worse");

    // An online run against an offline one, through the CLI: exit 2 and why.
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/legacy");
    let publisher = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_sglci-publisher"))
            .arg("--store")
            .arg(store)
            .args(args)
            .env("PUBLISHER_LOG", "warn")
            .output()
            .expect("runs")
    };
    assert!(
        publisher(&["ingest", "--legacy", samples.to_str().expect("utf8")])
            .status
            .success()
    );
    let out = publisher(&[
        "compare",
        "v0.5.6-rocm700-mi30x-20251206_GROK1_MOE-I4F8_online",
        &dirs[1],
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("A is an online run, B an offline run"),
        "{err}"
    );
    let out = publisher(&[
        "compare",
        "--force",
        "v0.5.6-rocm700-mi30x-20251206_GROK1_MOE-I4F8_online",
        &dirs[1],
    ]);
    // Forced, an online and an offline run share no load: nothing to compare, but no refusal.
    assert!(
        out.status.success() || String::from_utf8_lossy(&out.stderr).contains("no serving"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
