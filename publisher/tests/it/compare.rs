//! `compare A B`: golden markdown on the sample history, like-for-like rules, noise bands taken
//! from each series' history, concurrency and offline sweeps, and the run lookup errors.

use std::path::Path;

use sglci_core::date::date_of_day;
use sglci_core::records::{OfflineResultRow, RunRow, ServingRow};
use sglci_publisher::compare::{compare, find_run, to_markdown, CompareError};
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
    let c = compare(&rows, a, b, &DetectConfig::default()).expect("compare");
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
    let c = compare(rows, a, b, &DetectConfig::default()).expect("compare");
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
            });
        }
        rows.runs.push(r);
    }
    let c = compare(
        &rows,
        find_run(&rows, "A").expect("A"),
        find_run(&rows, "B").expect("B"),
        &DetectConfig::default(),
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
        compare(&r, &a, &empty, &DetectConfig::default()),
        Err(CompareError::NoResults(_))
    ));
}
