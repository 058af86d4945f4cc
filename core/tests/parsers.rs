//! Data-driven parser tests: every file under `tests/data/<kind>/<scenario>.*` is parsed by the
//! parser for `<kind>` and snapshotted (`tests/snapshots/parsers__<kind>__<scenario>.snap`).
//! Real files were copied from the predecessor's corpus and named by scenario; files named
//! `*_synthetic` reproduce documented shapes the corpus slice does not contain; `*_excerpt`
//! files keep the lines of a multi-megabyte server log that matter. `trace/h200_llama_*` are real
//! torch profiler traces (torch 2.11+cu130 on an NVIDIA H200, `scripts/device/torch-traces.py`):
//! one prefill and four decode steps of a 2-layer Llama with random bf16 weights.

use std::path::{Path, PathBuf};

use serde::Serialize;
use sglci_core::parse::{
    alert, bench_serving, cron, gsm8k, offline, online_csv, pd, sanity, server_log, timing, trace,
    unit_test, upstream,
};
use sglci_core::{text, ParseError};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn read(kind: &str, case: &str) -> Vec<u8> {
    let dir = data_dir().join(kind);
    let entry = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .find(|e| e.path().file_stem().is_some_and(|s| s == case))
        .unwrap_or_else(|| panic!("no scenario {kind}/{case}"));
    std::fs::read(entry.path()).expect("readable")
}

/// Parses `bytes` as `kind` into a serializable value, or the parse error's message.
fn parse_any(kind: &str, bytes: &[u8]) -> Result<serde_json::Value, String> {
    fn v<T: Serialize>(r: Result<T, ParseError>) -> Result<serde_json::Value, String> {
        r.map(|x| serde_json::to_value(x).expect("serializable"))
            .map_err(|e| e.to_string())
    }
    let t = || text::clean(bytes).into_owned();
    match kind {
        "online_csv" => v(online_csv::parse(&t())),
        "client_log" => v(bench_serving::parse_client_log(bytes)),
        "bench_jsonl" => v(bench_serving::parse_jsonl(&t())),
        "gsm8k" => v(gsm8k::parse_log(bytes)),
        "bench_sglang" => v(gsm8k::parse_bench_sglang(bytes)),
        "server_log" => v(Ok(server_log::parse(bytes))),
        "timing" => v(timing::parse(bytes)),
        "sanity_timing" => v(sanity::parse(bytes)),
        "pd_summary" => v(pd::parse_summary(bytes)),
        "pd_gsm8k" => v(pd::parse_gsm8k(bytes)),
        "unit_test" => v(unit_test::parse(bytes)),
        "cron" => v(Ok(cron::parse(bytes))),
        "upstream" => v(upstream::parse(&t())),
        "alert" => v(alert::parse(&t())),
        "offline_csv" => v(offline::parse_csv(&t())),
        "one_batch" => v(offline::parse_one_batch(bytes)),
        "trace" => v(trace::parse(bytes)),
        other => panic!("no parser for kind {other}"),
    }
}

/// The one check helper: parse a scenario and compare with its snapshot.
fn check(kind: &str, case: &str) -> Result<serde_json::Value, String> {
    let parsed = parse_any(kind, &read(kind, case));
    insta::assert_yaml_snapshot!(format!("{kind}__{case}"), parsed);
    parsed
}

/// Every scenario file as (kind, scenario, path), sorted: each folder of `tests/data` is a kind.
fn scenarios() -> Vec<(String, String, PathBuf)> {
    let list = |dir: &Path| -> Vec<PathBuf> {
        let mut v: Vec<_> = std::fs::read_dir(dir)
            .expect("readable")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        v.sort();
        v
    };
    let name = |p: &Path, stem: bool| -> String {
        let s = if stem { p.file_stem() } else { p.file_name() };
        s.and_then(|s| s.to_str()).expect("utf-8").to_owned()
    };
    list(&data_dir())
        .into_iter()
        .flat_map(|kind_dir| {
            let kind = name(&kind_dir, false);
            list(&kind_dir)
                .into_iter()
                .map(move |case| (kind.clone(), name(&case, true), case))
        })
        .collect()
}

#[test]
fn every_scenario_matches_its_snapshot() {
    let all = scenarios();
    for (kind, case, _) in &all {
        let _ = check(kind, case);
    }
    assert!(all.len() >= 50, "only {} scenarios found", all.len());
}

#[test]
fn no_parser_panics_on_any_other_kinds_file() {
    let all = scenarios();
    let mut kinds: Vec<&str> = all.iter().map(|(k, _, _)| k.as_str()).collect();
    kinds.dedup();
    for (_, _, path) in &all {
        let bytes = std::fs::read(path).expect("readable");
        for kind in &kinds {
            let _ = parse_any(kind, &bytes);
            // Cut files anywhere: truncation must not panic either.
            let _ = parse_any(kind, &bytes[..bytes.len() / 3]);
        }
    }
    for kind in &kinds {
        let _ = parse_any(kind, b"\0\0\0\r\r\n\x1b[31m\xff\xfe");
    }
}

fn field<'a>(v: &'a serde_json::Value, path: &str) -> &'a serde_json::Value {
    path.split('.').fold(v, |v, k| match k.parse::<usize>() {
        Ok(i) => &v[i],
        Err(_) => &v[k],
    })
}

#[test]
fn key_facts() {
    // CSV: empty trailing cells stay missing; DeepSeek loads descend.
    let grok = check("online_csv", "grok_rate16_empty_cells").expect("csv");
    let csv: online_csv::OnlineCsv = online_csv::parse(
        &String::from_utf8(read("online_csv", "grok_rate16_empty_cells")).expect("utf8"),
    )
    .expect("csv");
    assert_eq!(
        csv.value(sglci_core::records::Metric::E2e, 8),
        Some(36489.70)
    );
    assert_eq!(csv.value(sglci_core::records::Metric::E2e, 16), None);
    assert_eq!(field(&grok, "load_kind"), "request_rate");
    let ds = online_csv::parse(
        &String::from_utf8(read("online_csv", "deepseek_concurrency_descending")).expect("utf8"),
    )
    .expect("csv");
    assert_eq!(ds.loads(), vec![128, 64, 16, 4, 1]);
    let legacy = online_csv::parse(
        &String::from_utf8(read("online_csv", "legacy_labels_synthetic")).expect("utf8"),
    )
    .expect("csv");
    assert_eq!(
        legacy.value(sglci_core::records::Metric::E2e, 1),
        Some(9815.01),
        "aiter row preferred, H100 rows skipped"
    );
    assert!(legacy
        .rows
        .iter()
        .any(|r| r.mode.as_deref() == Some("aiter_decode")));
    assert!(legacy.rows.iter().all(|r| !r.label.contains("H100")));
    assert_eq!(legacy.average_accuracy, Some(0.941));
    assert!(check("online_csv", "bad_cell_synthetic")
        .expect_err("bad")
        .contains("line 3"));

    // Client logs: TPOT and peak metrics, truncated runs have no result, the 76-byte log.
    let c = check("client_log", "grok_tpot_peak_metrics").expect("log");
    assert_eq!(field(&c, "result.median_e2e_ms"), 36489.70);
    assert_eq!(field(&c, "result.median_tpot_ms"), 75.68);
    assert_eq!(field(&c, "result.peak_concurrent_requests"), 352.0);
    assert_eq!(field(&c, "requested_prompts"), 2400);
    assert!(field(
        &check("client_log", "grok_truncated_in_progress_bar").expect("log"),
        "result"
    )
    .is_null());
    assert!(field(
        &check("client_log", "deepseek_started_only").expect("log"),
        "result"
    )
    .is_null());
    let flood = check("client_log", "error_flood_synthetic").expect("log");
    assert_eq!(field(&flood, "request_errors"), 40);
    let flood_log =
        bench_serving::parse_client_log(&read("client_log", "error_flood_synthetic")).expect("log");
    assert!(flood_log.partial(), "3 of 500 prompts completed");

    // JSONL with Infinity and NaN.
    let j = bench_serving::parse_jsonl(
        &String::from_utf8(read("bench_jsonl", "infinity_synthetic")).expect("utf8"),
    )
    .expect("jsonl");
    assert_eq!(j.len(), 2);
    assert_eq!(j[0].metrics.request_rate, Some(f64::INFINITY));
    assert_eq!(j[0].metrics.median_e2e_ms, Some(1500.25));
    assert!(j[1].metrics.median_ttft_ms.is_some_and(f64::is_nan));

    // GSM8K: last final line wins; two sessions; early exit; integer 0; empty file.
    let g = gsm8k::parse_log(&read("gsm8k", "grok_two_sessions")).expect("log");
    assert_eq!(g.sessions, 2);
    let g = gsm8k::parse_log(&read("gsm8k", "deepseek_early_exit")).expect("log");
    assert_eq!(
        (g.final_accuracy, g.final_kind),
        (Some(0.939), Some(gsm8k::FinalKind::EarlyExit))
    );
    let g = gsm8k::parse_log(&read("gsm8k", "deepseek_zero_valid_runs")).expect("log");
    assert_eq!(g.final_accuracy, Some(0.0));
    assert!(g.runs.iter().all(|r| r.excluded));
    assert_eq!(
        gsm8k::parse_log(&read("gsm8k", "empty")),
        Err(ParseError::Empty)
    );

    // Server logs: both KV forms, NUL runs, glued error markers.
    let s = server_log::parse(&read("server_log", "kv_split_form_synthetic"));
    let kv = s.kv_cache.expect("kv");
    assert_eq!((kv.tokens, kv.combined), (7286595, false));
    assert!((kv.size_gb - 222.36).abs() < 1e-9);
    let s = server_log::parse(&read("server_log", "deepseek_kv_combined_ansi_excerpt"));
    assert!(s.kv_cache.expect("kv").combined);
    let s = server_log::parse(&read("server_log", "grok_nul_run_after_killed_synthetic"));
    assert!(s.has_nul);
    let s = server_log::parse(&read("server_log", "memory_access_fault_excerpt"));
    assert_eq!(
        s.failure.expect("failure").class,
        sglci_core::failure::FailureClass::MemoryAccessFault
    );

    // Timing summaries: W-05's broken throughput is not a number; NA blocks; quoted headers.
    let t = timing::parse(&read("timing", "deepseek_early_exit_w05_throughput")).expect("timing");
    assert_eq!(t.gsm8k_accuracy, Some(0.939));
    assert_eq!(t.performance.len(), 5);
    assert!(t.performance.iter().all(|p| p.output_throughput.is_none()));
    let t = timing::parse(&read("timing", "truncated_after_header")).expect("timing");
    assert!(!t.completed());
    let t = timing::parse(&read("timing", "quoted_values")).expect("timing");
    assert_eq!(t.hardware.as_deref(), Some("mi30x"));

    // Sanity: a retried model keeps its last attempt; headline shapes.
    let s = sanity::parse(&read("sanity_timing", "early_exit_startup_failures")).expect("sanity");
    let finals = s.final_sections();
    let qwen = finals.iter().find(|x| x.model == "QWEN-30B").expect("qwen");
    assert!(qwen.disable_cuda_graph && qwen.startup_failed);

    // PD: the predecessor's `0.0000 [PASS]` is not a pass for us.
    let p = pd::parse_summary(&read("pd_summary", "gsm8k_zero_marked_pass")).expect("pd");
    assert_eq!(p.gsm8k_verdict.as_deref(), Some("PASS"));
    assert!(!p.passed());
    assert!(pd::parse_summary(&read("pd_summary", "all_pass"))
        .expect("pd")
        .passed());
    assert!(
        pd::parse_summary(&read("pd_summary", "pending_after_health_wait"))
            .expect("pd")
            .pending()
    );

    // Unit tests and cron.
    let u = unit_test::parse(&read("unit_test", "failed_exit_137")).expect("unit");
    assert_eq!((u.exit_code, u.passed()), (Some(137), Some(false)));
    assert_eq!(
        unit_test::parse(&read("unit_test", "passed"))
            .expect("unit")
            .passed(),
        Some(true)
    );
    let c = cron::parse(&read("cron", "image_check_all_available"));
    assert_eq!(c.missing_required_images, Some(0));
    assert!(c.image_missing.is_none());
    assert!(cron::parse(&read("cron", "image_missing"))
        .image_missing
        .is_some());

    // Upstream coverage: both layouts, N/A and >100 %.
    let up = upstream::parse(&String::from_utf8(read("upstream", "sectioned")).expect("utf8"))
        .expect("report");
    assert!(up.sectioned);
    assert_eq!(up.total().map(|t| (t.amd, t.nvidia)), Some((88, 157)));
    assert!(up.rows.iter().any(|r| r.coverage_pct.is_none()));
    assert!(up
        .rows
        .iter()
        .any(|r| r.coverage_pct.is_some_and(|p| p > 100.0)));
}

#[test]
fn cron_names() {
    let n = cron::parse_name("grok_nightly_rerun2.log").expect("name");
    assert_eq!(
        (n.job.as_str(), n.qualifier.as_deref()),
        ("grok_nightly", Some("rerun2"))
    );
    let n = cron::parse_name("deepseek_dp_attention.log.failed_101500").expect("name");
    assert_eq!(
        (n.job.as_str(), n.qualifier.as_deref()),
        ("deepseek_dp_attention", Some("failed_101500"))
    );
    assert!(cron::parse_name("notes.txt").is_none());
}

/// One GSM8K threshold: a run judged by sglci-runner carries the threshold its suite gave the
/// gate (`GSM8K threshold:`), and the publisher's status uses it; the predecessor's runs, which
/// never wrote one, fall back to the per-model table (whose `Required:` lines were wrong, W-02).
#[test]
fn recorded_gsm8k_threshold_wins_over_the_table() {
    use sglci_core::status::{gsm8k_threshold, run_threshold};
    let runner = b"TIMING SUMMARY LOG\n==================\nGSM8K Test Results:\n  Average accuracy: 0.850\n  GSM8K threshold: 0.85\n  GSM8K accuracy: 0.850\n";
    let t = sglci_core::parse::timing::parse(runner).expect("timing");
    assert_eq!(t.gsm8k_threshold, Some(0.85));
    assert_eq!(run_threshold("DeepSeek-V3-0324", Some(&t)), 0.85);
    let legacy = b"TIMING SUMMARY LOG\n==================\nGSM8K Test Results:\n  Accuracy: 0.931 (Required: 0.8)\n  GSM8K accuracy: 0.931\n";
    let t = sglci_core::parse::timing::parse(legacy).expect("timing");
    assert_eq!(t.gsm8k_threshold, None);
    assert_eq!(
        run_threshold("DeepSeek-V3-0324", Some(&t)),
        gsm8k_threshold("DeepSeek-V3-0324")
    );
    assert_eq!(run_threshold("GROK1", None), 0.8);
}

/// The real H200 traces: GPU kernels found, shares that add up, the GEMMs on top of the prefill.
#[test]
fn real_torch_profiler_traces() {
    let prefill = trace::parse(&read("trace", "h200_llama_prefill")).expect("prefill");
    assert_eq!(prefill.device.as_deref(), Some("NVIDIA H200"));
    assert!(prefill.kernel_count >= 50, "{}", prefill.kernel_count);
    let shares: f64 = prefill.kernels.iter().map(|k| k.share).sum();
    assert!(shares > 0.9 && shares <= 1.0 + 1e-9, "{shares}");
    assert!(
        prefill.kernels[..3].iter().any(|k| k.name.contains("gemm")
            || k.name.contains("Kernel")
            || k.name.contains("sm90")),
        "{:?}",
        prefill.kernels.iter().map(|k| &k.short).collect::<Vec<_>>()
    );
    assert!(prefill
        .operators
        .iter()
        .any(|o| o.name == "aten::linear" || o.name == "aten::mm"));
    let decode = trace::parse(&read("trace", "h200_llama_decode")).expect("decode");
    // Four decode steps launch more kernels than one prefill.
    assert!(decode.kernel_count > prefill.kernel_count);
}
