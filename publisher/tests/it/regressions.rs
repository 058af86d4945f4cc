//! Regression detection: the maths on named tables of cases, replays of a step injected into a
//! stable series (and the same series untouched), and the fixture history, where the GROK1 step
//! of December 2025 that the predecessor never reported must be found with its first bad image.

use sglci_core::date::date_of_day;
use sglci_core::records::{AccuracyRow, ServingRow};
use sglci_publisher::regress::series::Direction;
use sglci_publisher::regress::{detect, report, screen, DetectConfig, Screen, State};
use sglci_publisher::rows::Rows;

/// The shipped defaults: the tests check the detector as it runs in production.
fn cfg() -> DetectConfig {
    DetectConfig::default()
}

/// Deterministic noise in [-1, 1] (a linear congruential generator).
fn noise(seed: &mut u64) -> f64 {
    *seed = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    ((*seed >> 33) as f64 / (1u64 << 31) as f64) * 2.0 - 1.0
}

fn kind(s: &Screen) -> &'static str {
    match s {
        Screen::TooFew { .. } => "too few",
        Screen::Inside { .. } => "inside",
        Screen::Worse { .. } => "worse",
        Screen::Better { .. } => "better",
    }
}

#[test]
fn screening_table() {
    let flat = [
        100.0, 101.0, 99.0, 100.5, 99.5, 100.0, 100.2, 99.8, 100.0, 100.0,
    ];
    let noisy = [
        100.0, 112.0, 90.0, 105.0, 95.0, 110.0, 88.0, 103.0, 97.0, 100.0,
    ];
    let cases: &[(&str, &[f64], f64, Direction, &str)] = &[
        ("no data", &[], 100.0, Direction::LowerIsBetter, "too few"),
        (
            "too few points",
            &[100.0, 101.0, 99.0, 100.0, 100.0],
            150.0,
            Direction::LowerIsBetter,
            "too few",
        ),
        (
            "inside the band",
            &flat,
            101.5,
            Direction::LowerIsBetter,
            "inside",
        ),
        (
            "above: latency worse",
            &flat,
            110.0,
            Direction::LowerIsBetter,
            "worse",
        ),
        (
            "below: latency better",
            &flat,
            90.0,
            Direction::LowerIsBetter,
            "better",
        ),
        (
            "below: throughput worse",
            &flat,
            90.0,
            Direction::HigherIsBetter,
            "worse",
        ),
        (
            "above: throughput better",
            &flat,
            110.0,
            Direction::HigherIsBetter,
            "better",
        ),
        (
            "noisy series: +10 % is noise",
            &noisy,
            110.0,
            Direction::LowerIsBetter,
            "inside",
        ),
        (
            "floor: +2 % on a flat series is inside",
            &[100.0; 10],
            102.0,
            Direction::LowerIsBetter,
            "inside",
        ),
        (
            "floor: +4 % on a flat series is worse",
            &[100.0; 10],
            104.0,
            Direction::LowerIsBetter,
            "worse",
        ),
    ];
    for (name, earlier, value, dir, want) in cases {
        let got = screen(earlier, *value, *dir, &cfg());
        assert_eq!(kind(&got), *want, "{name}: {got:?}");
    }
    // A single outlier in the baseline does not move it (median and MAD).
    let mut with_outlier = flat.to_vec();
    with_outlier[3] = 300.0;
    assert_eq!(
        kind(&screen(
            &with_outlier,
            101.5,
            Direction::LowerIsBetter,
            &cfg()
        )),
        "inside"
    );
    // The newest `skip_recent` nights are not in the baseline: a fresh step does not hide itself.
    let mut fresh = flat.to_vec();
    fresh.extend([112.0, 111.0]);
    assert_eq!(
        kind(&screen(&fresh, 112.0, Direction::LowerIsBetter, &cfg())),
        "worse"
    );
}

/// Serving rows of one configuration: `loads` × `nights`, value(load, night).
fn sweep(nights: usize, loads: &[i64], value: impl Fn(i64, usize) -> f64) -> Rows {
    let mut rows = Rows::default();
    for n in 0..nights {
        let date = date_of_day(20_000 + n as i64);
        let tag = format!("v0.5.6-rocm700-mi30x-{date}");
        let run_dir = format!("online_benchmark_log/mi30x/GROK1/{tag}_GROK1_MOE-I4F8_online");
        for &load in loads {
            rows.serving
                .push(serving(&date, &tag, &run_dir, load, value(load, n)));
        }
        rows.accuracy.push(AccuracyRow {
            hardware: "mi30x".into(),
            model: "GROK1".into(),
            run_dir: run_dir.clone(),
            docker_tag: tag.clone(),
            date: date.clone(),
            variant: String::new(),
            accuracy: Some(0.81),
            source: Some("gsm8k_log".into()),
            final_kind: None,
            runs: "0.81".into(),
            valid_runs: 1,
            total_runs: 1,
            sessions: 1,
            threshold: 0.8,
            passed: Some(true),
        });
    }
    rows
}

fn serving(date: &str, tag: &str, run_dir: &str, load: i64, e2e: f64) -> ServingRow {
    ServingRow {
        e2e_ms: Some(e2e),
        gsm8k_accuracy: Some(0.81),
        runs: 3,
        runs_with_result: 3,
        ..ServingRow::blank(
            "mi30x",
            "GROK1",
            run_dir,
            tag,
            date,
            sglci_core::records::LoadKind::RequestRate,
            load,
        )
    }
}

const LOADS: [i64; 5] = [1, 2, 4, 8, 16];

fn stable(seed: u64, sigma: f64) -> impl Fn(i64, usize) -> f64 {
    move |load, n| {
        let mut s = seed ^ (load as u64 * 7919) ^ (n as u64 * 104_729);
        noise(&mut s);
        1000.0 * load as f64 * (1.0 + sigma * noise(&mut s))
    }
}

#[test]
fn replay_synthetic_step_is_alerted_within_three_nights() {
    for seed in 1..=20u64 {
        let base = stable(seed, 0.02);
        let quiet = detect(&sweep(40, &LOADS, &base), &cfg());
        assert!(quiet.is_empty(), "seed {seed}: false alarm {quiet:?}");
        let step_at = 30;
        let stepped = detect(
            &sweep(40, &LOADS, |l, n| {
                base(l, n) * if n >= step_at { 1.10 } else { 1.0 }
            }),
            &cfg(),
        );
        assert_eq!(stepped.len(), 1, "seed {seed}: {stepped:?}");
        let f = &stepped[0];
        let alerted = f.alerted.clone();
        assert!(
            alerted <= date_of_day(20_000 + step_at as i64 + 2),
            "seed {seed}: alerted {alerted}, more than 3 nights after the step"
        );
        assert_eq!(
            f.first_bad_date,
            date_of_day(20_000 + step_at as i64),
            "seed {seed}"
        );
        assert_eq!(
            f.last_good_date.as_deref(),
            Some(date_of_day(20_000 + step_at as i64 - 1).as_str())
        );
        assert!((f.change - 0.10).abs() < 0.04, "seed {seed}: {}", f.change);
        assert_eq!(f.state, State::Open);
    }
}

#[test]
fn improvements_are_found_by_the_same_rules_in_the_other_direction() {
    for seed in 1..=10u64 {
        let base = stable(seed, 0.02);
        let step_at = 30;
        // Latency down by a tenth from night 30: an improvement, never a regression.
        let faster = sweep(40, &LOADS, |l, n| {
            base(l, n) * if n >= step_at { 0.90 } else { 1.0 }
        });
        assert!(detect(&faster, &cfg()).is_empty(), "seed {seed}");
        let found = sglci_publisher::regress::detect_improvements(&faster, &cfg());
        assert_eq!(found.len(), 1, "seed {seed}: {found:?}");
        let f = &found[0];
        assert!(f.id.starts_with("improvement:mi30x/GROK1/"), "{}", f.id);
        assert_eq!(
            f.first_bad_date,
            date_of_day(20_000 + step_at as i64),
            "seed {seed}"
        );
        assert!((f.change + 0.10).abs() < 0.04, "seed {seed}: {}", f.change);
        assert_eq!(
            f.direction,
            Direction::LowerIsBetter,
            "the metric's own direction"
        );
        // The quiet history and a slowdown have no improvement.
        assert!(
            sglci_publisher::regress::detect_improvements(&sweep(40, &LOADS, &base), &cfg())
                .is_empty()
        );
        let slower = sweep(40, &LOADS, |l, n| {
            base(l, n) * if n >= step_at { 1.10 } else { 1.0 }
        });
        assert!(sglci_publisher::regress::detect_improvements(&slower, &cfg()).is_empty());
    }
}

#[test]
fn one_load_alone_recovery_drift_and_exclusions() {
    let base = stable(7, 0.02);
    // A step at one load only is not a regression of the configuration (F66).
    let one = detect(
        &sweep(40, &LOADS, |l, n| {
            base(l, n) * if l == 8 && n >= 30 { 1.2 } else { 1.0 }
        }),
        &cfg(),
    );
    assert!(one.is_empty(), "{one:?}");
    // A step that goes away recovers.
    let back = detect(
        &sweep(45, &LOADS, |l, n| {
            base(l, n) * if (30..35).contains(&n) { 1.15 } else { 1.0 }
        }),
        &cfg(),
    );
    assert_eq!(back.len(), 1, "{back:?}");
    assert_eq!(back[0].state, State::Recovered);
    // A slow drift of +1 % a night ends up flagged.
    let drift = detect(
        &sweep(60, &LOADS, |l, n| {
            base(l, n) * (1.0 + 0.01 * n.saturating_sub(20) as f64)
        }),
        &cfg(),
    );
    assert!(
        !drift.is_empty(),
        "a drift of +40 % over 40 nights is found"
    );
    // Nights with failed accuracy are excluded: a step on those nights alone never alerts (F67).
    let mut rows = sweep(40, &LOADS, |l, n| {
        base(l, n) * if n >= 36 { 1.3 } else { 1.0 }
    });
    for a in rows.accuracy.iter_mut().skip(36) {
        a.passed = Some(false);
        a.accuracy = Some(0.2);
    }
    let found = detect(&rows, &cfg());
    assert!(
        found.iter().all(|f| f.metric.as_str() == "gsm8k_accuracy"),
        "{found:?}"
    );
    assert_eq!(found.len(), 1, "the accuracy gate itself is a finding");
    // A single outlier night is not a regression.
    let spike = detect(
        &sweep(40, &LOADS, |l, n| {
            base(l, n) * if n == 30 { 1.5 } else { 1.0 }
        }),
        &cfg(),
    );
    assert!(spike.is_empty(), "{spike:?}");
}

fn corpus() -> Option<std::path::PathBuf> {
    let dir = std::env::var_os("SGLCI_CORPUS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/fixtures/sglang-ci-log")
        });
    dir.is_dir().then_some(dir)
}

/// Reads the full corpus (`../shared/fixtures/sglang-ci-log`); says so when it is absent.
#[test]
fn fixture_history_grok1_december_step() {
    let Some(dir) = corpus() else {
        #[allow(clippy::print_stderr, reason = "a skipped test says so")]
        {
            eprintln!("SKIPPED: no corpus");
        }
        return;
    };
    let b = sglci_publisher::legacy::build(&sglci_publisher::legacy::scan(&dir).expect("scan"));
    let all = detect(&b.rows, &DetectConfig::default());
    // The step W-01 says went unreported: E2E at request rate 8 for GROK1 on mi30x, around
    // 2025-12-09. It is a step of an open GROK1 E2E finding, with its first bad image.
    let grok_e2e: Vec<_> = all
        .iter()
        .filter(|f| f.model == "GROK1" && f.metric.as_str() == "e2e_ms" && f.config.is_empty())
        .collect();
    let step = grok_e2e
        .iter()
        .flat_map(|f| f.steps.iter().map(move |s| (f, s)))
        .find(|(_, s)| s.load == 8 && s.first_bad_date.as_str() > "20251206")
        .expect("the December GROK1 RR=8 step");
    assert_eq!(
        step.1.first_bad_image,
        "v0.5.6.post1-rocm700-mi30x-20251210"
    );
    assert_eq!(
        step.1.last_good_image.as_deref(),
        Some("v0.5.6-rocm700-mi30x-20251206")
    );
    assert!(step.1.change > 0.25, "{}", step.1.change);
    assert_eq!(step.0.state, State::Open);
    assert!(step.0.current_change > 0.3, "{}", step.0.current_change);
    // The whole list, for the record (snapshot), and the alert rate.
    let series = sglci_publisher::regress::series::build_series(&b.rows);
    let series_nights: usize = series.iter().map(|s| s.points.len()).sum();
    let perf = all
        .iter()
        .filter(|f| f.metric.as_str() != "gsm8k_accuracy")
        .count();
    let rate = perf as f64 * 100.0 / series_nights as f64;
    #[allow(clippy::print_stderr, reason = "the closing note quotes it")]
    {
        eprintln!(
            "{} findings ({perf} performance) over {} series and {series_nights} series-nights: {rate:.2} per 100 series-nights",
            all.len(),
            series.len()
        );
    }
    assert!(rate < 1.0, "alert rate {rate:.2} per 100 series-nights");
    insta::assert_snapshot!("fixture_findings", report::to_markdown(&all));
}

/// Replay on a real series: GROK2 standard E2E on mi30x before December 2025 (no finding), and
/// the same with +10 % injected at every load from its third-last night on.
#[test]
fn fixture_replay_injected_step() {
    let Some(dir) = corpus() else {
        #[allow(clippy::print_stderr, reason = "a skipped test says so")]
        {
            eprintln!("SKIPPED: no corpus");
        }
        return;
    };
    let mut rows =
        sglci_publisher::legacy::build(&sglci_publisher::legacy::scan(&dir).expect("scan")).rows;
    rows.serving
        .retain(|s| s.model == "GROK2" && s.variant.is_empty() && s.date.as_str() < "20251201");
    let grok2_e2e = |rows: &Rows| {
        detect(rows, &DetectConfig::default())
            .into_iter()
            .filter(|f| f.model == "GROK2" && f.metric.as_str() == "e2e_ms")
            .collect::<Vec<_>>()
    };
    assert!(
        grok2_e2e(&rows).is_empty(),
        "the untouched series raises no alert"
    );
    let mut nights: Vec<String> = rows.serving.iter().map(|s| s.date.clone()).collect();
    nights.sort();
    nights.dedup();
    assert!(nights.len() > 20, "{} nights", nights.len());
    let from = nights[nights.len() - 3].clone();
    for s in rows.serving.iter_mut().filter(|s| s.date >= from) {
        s.e2e_ms = s.e2e_ms.map(|v| v * 1.10);
    }
    let found = grok2_e2e(&rows);
    assert_eq!(found.len(), 1, "{found:?}");
    let f = &found[0];
    assert_eq!(f.first_bad_date, from);
    let within: Vec<&String> = nights.iter().filter(|d| **d >= from).take(3).collect();
    assert!(
        within.contains(&&f.alerted),
        "alerted {} later than 3 nights after {from}",
        f.alerted
    );
}

/// Removes the newest night of one model (`hardware/model`) from `rows`: the history before
/// that night was published.
fn without_newest_night(rows: &Rows, key: &str) -> Rows {
    let is = |hw: &str, m: &str| format!("{hw}/{m}") == key;
    let newest = rows
        .serving
        .iter()
        .filter(|r| is(&r.hardware, &r.model))
        .map(|r| r.date.clone())
        .chain(
            rows.offline
                .iter()
                .filter(|r| is(&r.hardware, &r.model))
                .map(|r| r.date.clone()),
        )
        .chain(
            rows.accuracy
                .iter()
                .filter(|r| is(&r.hardware, &r.model))
                .map(|r| r.date.clone()),
        )
        .max()
        .expect("the model has rows");
    let mut out = rows.clone();
    out.serving
        .retain(|r| !(is(&r.hardware, &r.model) && r.date == newest));
    out.offline
        .retain(|r| !(is(&r.hardware, &r.model) && r.date == newest));
    out.accuracy
        .retain(|r| !(is(&r.hardware, &r.model) && r.date == newest));
    out
}

/// Refreshing stored findings after one model's new night equals detecting over the whole
/// history, and runs detection on that model alone; a model whose rows are gone loses its
/// findings without any detection. Checked for every model of the bundled sample history and,
/// when it is there, of the full corpus.
#[test]
fn a_refresh_recomputes_only_the_touched_model_and_equals_a_full_detection() {
    use sglci_publisher::regress::refresh::{detect_rows, refresh, Stored};
    let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/legacy");
    // The sample history has no finding (it checks which models are detected again); the
    // corpus has many (it checks the findings themselves).
    let mut histories = vec![(samples, false)];
    histories.extend(corpus().map(|c| (c, true)));
    for (dir, has_findings) in histories {
        let b = sglci_publisher::legacy::build(&sglci_publisher::legacy::scan(&dir).expect("scan"));
        let rows = b.rows;
        let full = detect_rows(&rows, &cfg());
        assert_eq!(!full.is_empty(), has_findings, "{}", dir.display());
        let whole = refresh(&rows, &cfg(), None);
        assert_eq!(whole.findings, full);
        let models: Vec<String> = whole.inputs.keys().cloned().collect();
        assert!(models.len() >= 3, "{models:?}");
        for key in &models {
            let before = refresh(&without_newest_night(&rows, key), &cfg(), None);
            let after = refresh(
                &rows,
                &cfg(),
                Some(Stored {
                    findings: &before.findings,
                    inputs: &before.inputs,
                }),
            );
            assert_eq!(
                after.findings,
                full,
                "{}: after {key}'s night",
                dir.display()
            );
            assert_eq!(after.inputs, whole.inputs);
            assert_eq!(
                after.recomputed.iter().collect::<Vec<_>>(),
                vec![key],
                "{}: only {key} is detected again",
                dir.display()
            );
        }
        // A model whose rows left the window: its findings go, nothing is detected.
        let gone = &models[0];
        let mut rest = rows.clone();
        rest.serving
            .retain(|r| &format!("{}/{}", r.hardware, r.model) != gone);
        rest.offline
            .retain(|r| &format!("{}/{}", r.hardware, r.model) != gone);
        rest.accuracy
            .retain(|r| &format!("{}/{}", r.hardware, r.model) != gone);
        let after = refresh(
            &rest,
            &cfg(),
            Some(Stored {
                findings: &full,
                inputs: &whole.inputs,
            }),
        );
        assert_eq!(after.findings, detect_rows(&rest, &cfg()));
        assert!(after.recomputed.is_empty(), "{:?}", after.recomputed);
    }
}
