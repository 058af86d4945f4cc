//! Pure backfill scenarios built in memory: run grouping, best of runs, CSV fallback, hardware
//! from the tag, accuracy sources, offline cells and task status.

use sglci_core::records::TaskState;
use sglci_publisher::legacy::{build, parse_file, Backfill};

fn client_log(rate: u32, run: u32, e2e: f64, ttft: f64, itl: f64) -> String {
    format!(
        "Running benchmark with request rate: {rate} (Run {run}) for mode aiter\n\
Run started at: 2025-10-14 06:05:35 PDT\n\
Executing: python3 -m sglang.bench_serving --backend sglang --dataset-name random --num-prompts {n} --request-rate {rate}\n\
 10%|#  | 30/300 [00:10<01:30,  3.00it/s]\r 100%|###| 300/300 [01:40<00:00,  3.00it/s]\n\
============ Serving Benchmark Result ============\n\
Backend:                                 sglang    \n\
Successful requests:                     {n}       \n\
Output token throughput (tok/s):         1000.00   \n\
----------------End-to-End Latency----------------\n\
Median E2E Latency (ms):                 {e2e:.2}  \n\
---------------Time to First Token----------------\n\
Median TTFT (ms):                        {ttft:.2}  \n\
---------------Inter-Token Latency----------------\n\
Median ITL (ms):                         {itl:.2}  \n\
==================================================\n\
Run completed at: 2025-10-14 06:10:35 PDT\n",
        n = 300 * rate
    )
}

const GROK_DIR: &str =
    "online_benchmark_log/unknown/GROK1/v0.5.5-rocm700-mi35x-20251110_GROK1_MOE-I4F8_online";

fn run(files: &[(String, Vec<u8>)]) -> Backfill {
    let parsed: Vec<_> = files.iter().map(|(p, b)| parse_file(p, b)).collect();
    build(&parsed)
}

fn timing(accuracy: &str) -> Vec<u8> {
    format!(
        "TIMING SUMMARY LOG\n==================\nScript started at: 2025-11-11 06:00:00 PST\nHostname: smci355-ccs-aus-m12-33\n\
GSM8K Test Results:\n  GSM8K accuracy: {accuracy}\n\nServer Error Check:\n  RuntimeError count: 0\n  Server error status: PASS\n\
========================================\nOVERALL SCRIPT SUMMARY\n========================================\nScript ended at: 2025-11-11 07:00:00 PST\nTotal execution time: 3600 seconds (60 minutes)\n"
    )
    .into_bytes()
}

#[test]
fn best_of_runs_takes_every_metric_from_the_same_log() {
    let files = vec![
        (format!("{GROK_DIR}/sglang_client_log_GROK1_aiter_1_run1_20251111_060000.log"), client_log(1, 1, 9900.0, 80.0, 40.0).into_bytes()),
        (format!("{GROK_DIR}/sglang_client_log_GROK1_aiter_1_run2_20251111_060000.log"), client_log(1, 2, 9815.01, 93.86, 41.5).into_bytes()),
        (format!("{GROK_DIR}/sglang_client_log_GROK1_aiter_1_run3_20251111_060000.log"), b"Run started at: x\n 10%|# | 3/300\r".to_vec()),
        (format!("{GROK_DIR}/sglang_client_log_GROK1_gsm8k_aiter.log"), b"Starting GSM8K accuracy test at: x\nRun 1: Accuracy: 0.812\nAverage Accuracy over 1 runs for mode aiter: 0.812\n".to_vec()),
        (format!("{GROK_DIR}/timing_summary_20251111_060000.log"), timing("0.812")),
        // The CSV holds rate 2, for which no client log exists: the fallback.
        (
            format!("{GROK_DIR}/v0.5.5-rocm700-mi35x-20251110_GROK1_MOE-I4F8_online.csv"),
            b"Online mode - GROK1 (v0.5.5-rocm700-mi35x-20251110)\n\nMedian E2E Latency (ms, lower better)\nrequest rate\t1\t2\t4\t8\t16\nMI300x-aiter, smci355-ccs-aus-m12-33\t9815.01\t12000.00\t\t\t\n".to_vec(),
        ),
    ];
    let b = run(&files);
    assert!(b.rows.quarantine.is_empty(), "{:?}", b.rows.quarantine);
    let rows: Vec<_> = b
        .rows
        .serving
        .iter()
        .map(|r| {
            (
                r.load,
                r.e2e_ms,
                r.ttft_ms,
                r.itl_ms,
                r.source.as_str(),
                r.runs,
                r.runs_with_result,
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (
                1,
                Some(9815.01),
                Some(93.86),
                Some(41.5),
                "client_log",
                3,
                2
            ),
            (2, Some(12000.0), None, None, "csv", 0, 0)
        ]
    );
    let r = &b.rows.serving[0];
    assert_eq!(
        (
            r.hardware.as_str(),
            r.date.as_str(),
            r.variant.as_str(),
            r.load_kind.as_str()
        ),
        ("mi35x", "20251110", "", "request_rate")
    );
    assert_eq!(r.gsm8k_accuracy, Some(0.812));
    assert_eq!(
        (r.completed, r.requested, r.partial),
        (Some(300), Some(300), false)
    );
    assert_eq!(r.host.as_deref(), Some("smci355-ccs-aus-m12-33"));
    let task = b
        .rows
        .tasks
        .iter()
        .find(|t| t.task == "grok_online")
        .expect("task");
    assert_eq!(
        (task.hardware.as_str(), task.date.as_str(), task.status),
        ("mi35x", "20251110", TaskState::Pass)
    );
}

#[test]
fn accuracy_below_the_gate_fails_the_task_and_empty_logs_fall_back_to_the_timing_summary() {
    let dir = "online_benchmark_log/mi30x/DeepSeek-V3-0324/v0.5.6-rocm700-mi30x-20251204_DeepSeek-V3-0324_FP8_online_torch_compile";
    let files = vec![
        (
            format!("{dir}/sglang_client_log_DeepSeek-V3-0324_gsm8k.log"),
            Vec::new(),
        ),
        (
            format!("{dir}/timing_summary_20251204_100000.log"),
            timing("0.912"),
        ),
    ];
    let b = run(&files);
    assert_eq!(b.rows.quarantine.len(), 1, "the empty GSM8K log is listed");
    let acc = &b.rows.accuracy[0];
    assert_eq!(
        (
            acc.accuracy,
            acc.source.as_deref(),
            acc.threshold,
            acc.passed
        ),
        (Some(0.912), Some("timing_summary"), 0.93, Some(false))
    );
    let task = b
        .rows
        .tasks
        .iter()
        .find(|t| t.task == "deepseek_torch_compile")
        .expect("task");
    assert_eq!(task.status, TaskState::Fail);
    assert_eq!(
        task.failure_class.map(|c| c.as_str()),
        Some("accuracy_below_threshold")
    );
    // Other tasks of that night are reported too: nothing was published for them.
    let grok = b
        .rows
        .tasks
        .iter()
        .find(|t| t.task == "grok_online" && t.date == "20251204")
        .expect("row");
    assert_eq!(grok.status, TaskState::Unknown);
}

#[test]
fn offline_cells() {
    let dir =
        "offline_benchmark_log/mi30x/GROK1/v0.5.6-rocm700-mi30x-20251204_GROK1_MOE-I4F8_offline";
    let csv = "TP,batch_size,IL,OL,Backend,Prefill_latency(s),Median_decode_latency(s),E2E_Latency(s),Prefill_Throughput(token/s),Median_Decode_Throughput(token/s),E2E_Throughput(token/s)\n8,1,1024,128,aiter,0.0912,0.0101,1.3792,11228.07,99.01,835.36\n8,256,1024,128,aiter,NA,NA,NA,NA,NA,NA\n";
    let b = run(&[(
        format!("{dir}/v0.5.6-rocm700-mi30x-20251204_GROK1_MOE-I4F8_offline.csv"),
        csv.as_bytes().to_vec(),
    )]);
    assert_eq!(b.rows.offline.len(), 2);
    assert_eq!(
        (
            b.rows.offline[0].mode.as_str(),
            b.rows.offline[0].e2e_throughput
        ),
        ("normal", Some(835.36))
    );
    assert_eq!(
        b.rows.offline[1].e2e_latency_s, None,
        "NA is missing, not zero"
    );
}

#[test]
fn unrecognised_paths_are_quarantined_with_a_reason() {
    let b = run(&[
        (
            "online_benchmark_log/mi30x/GROK1/bench_results/notes.txt".to_owned(),
            b"x".to_vec(),
        ),
        ("somewhere/else.bin".to_owned(), b"x".to_vec()),
        (
            "test/unit-test-backend-8-gpu-CAR-amd/mi30x/latest.log".to_owned(),
            b"SGL Unit Test Log\n".to_vec(),
        ),
    ]);
    assert_eq!(b.rows.quarantine.len(), 3);
    assert!(b.rows.quarantine.iter().all(|q| !q.reason.is_empty()));
    assert!(
        b.rows.quarantine[0].reason.contains("not a run folder"),
        "{:?}",
        b.rows.quarantine[0]
    );
}

/// F70: a run folder's `efficiency.json` (written by sglci-runner) gives its serving and offline
/// rows tokens/s per GPU and MFU; folders without one (every legacy folder) leave them empty.
#[test]
fn efficiency_columns_come_from_the_run_folders_record() {
    use sglci_core::efficiency::{Dtype, EfficiencyInput, ModelShape};
    let config = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../runner/tests/data/models/llama-3-8b/config.json"
    ))
    .expect("config");
    let input = |dtype| EfficiencyInput {
        schema: 1,
        gpus: 8,
        dtype,
        model: ModelShape::parse(&config, "llama").expect("shape"),
    };
    let record = |dtype| serde_json::to_vec(&input(dtype)).expect("json");
    let offline_dir =
        "offline_benchmark_log/mi30x/GROK1/v0.5.6-rocm700-mi30x-20251204_GROK1_MOE-I4F8_offline";
    let csv = "TP,batch_size,IL,OL,Backend,Prefill_latency(s),Median_decode_latency(s),E2E_Latency(s),Prefill_Throughput(token/s),Median_Decode_Throughput(token/s),E2E_Throughput(token/s)\n8,1,1024,128,aiter,0.0912,0.0101,1.3792,11228.07,99.01,835.36\n";
    let b = run(&[
        (
            format!("{GROK_DIR}/sglang_client_log_GROK1_aiter_1_run1_20251111_060000.log"),
            client_log(1, 1, 9900.0, 80.0, 40.0).into_bytes(),
        ),
        (format!("{GROK_DIR}/efficiency.json"), record(Dtype::Bf16)),
        (
            format!("{offline_dir}/v0.5.6-rocm700-mi30x-20251204_GROK1_MOE-I4F8_offline.csv"),
            csv.as_bytes().to_vec(),
        ),
        (format!("{offline_dir}/efficiency.json"), record(Dtype::Fp8)),
    ]);
    let s = &b.rows.serving[0];
    // 1,000 output tok/s on 8 GPUs; no request rate in this log, so F only, against MI355X BF16.
    assert_eq!(s.tokens_per_s_per_gpu, Some(125.0));
    let want = 1000.0 * 15_009_316_864.0 / (8.0 * 2516.6e12);
    assert!((s.mfu.expect("mfu") - want).abs() < 1e-12, "{:?}", s.mfu);
    let o = &b.rows.offline[0];
    let e = input(Dtype::Fp8).offline(
        "mi30x",
        &sglci_core::efficiency::OfflineCell {
            batch: 1,
            input: 1024,
            output: 128,
            prefill_latency_s: Some(0.0912),
            decode_latency_s: Some(0.0101),
            e2e_latency_s: Some(1.3792),
        },
    );
    assert_eq!(o.prefill_mfu, e.prefill_mfu);
    assert_eq!(o.decode_mfu, e.decode_mfu);
    assert_eq!(o.mfu, e.e2e.mfu);
    assert!((o.tokens_per_s_per_gpu.expect("per gpu") - 1152.0 / 1.3792 / 8.0).abs() < 1e-9);
    assert!(o.prefill_mfu.expect("prefill") > 0.0 && o.decode_mfu.expect("decode") > 0.0);

    // A folder without the record, and a record that is not one (quarantined, named).
    let b = run(&[
        (
            format!("{GROK_DIR}/sglang_client_log_GROK1_aiter_1_run1_20251111_060000.log"),
            client_log(1, 1, 9900.0, 80.0, 40.0).into_bytes(),
        ),
        (
            format!("{GROK_DIR}/efficiency.json"),
            b"{\"schema\":1,\"gpus\":0}".to_vec(),
        ),
    ]);
    assert_eq!(b.rows.serving[0].mfu, None);
    assert!(
        b.rows
            .quarantine
            .iter()
            .any(|q| q.file.ends_with("efficiency.json")),
        "{:?}",
        b.rows.quarantine
    );
}

/// F22: real H200 profiler traces under two offline runs' `profile/` folders become kernel
/// rows, and `compare` puts both runs' kernels side by side.
#[test]
fn traces_give_kernel_tables_and_compare_shows_both() {
    use sglci_publisher::compare::{compare, find_run, to_markdown, CompareOptions};
    let trace = |name: &str| {
        std::fs::read(format!(
            "{}/../core/tests/data/trace/{name}.gz",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("trace")
    };
    let csv = "TP,batch_size,IL,OL,Backend,Prefill_latency(s),Median_decode_latency(s),E2E_Latency(s),Prefill_Throughput(token/s),Median_Decode_Throughput(token/s),E2E_Throughput(token/s)\n8,1,1024,128,aiter,0.0912,0.0101,1.3792,11228.07,99.01,835.36\n";
    let mut files = Vec::new();
    for tag in [
        "v0.5.6-rocm700-mi30x-20251204",
        "v0.5.6-rocm700-mi30x-20251205",
    ] {
        let dir = format!("offline_benchmark_log/mi30x/GROK1/{tag}_GROK1_MOE-I4F8_offline");
        files.push((
            format!("{dir}/{tag}_GROK1_MOE-I4F8_offline.csv"),
            csv.as_bytes().to_vec(),
        ));
        files.push((
            format!("{dir}/profile/profile_batch1_input1024_output128_prefill.trace.json.gz"),
            trace("h200_llama_prefill"),
        ));
        files.push((
            format!("{dir}/profile/notes.txt"),
            b"kept, not parsed".to_vec(),
        ));
    }
    let b = run(&files);
    let kernels: Vec<_> = b
        .rows
        .kernels
        .iter()
        .filter(|k| k.kind == "kernel")
        .collect();
    assert_eq!(kernels.len(), 2 * 25, "top 25 kernels of each trace");
    let first = kernels[0];
    assert_eq!(
        (first.stage.as_str(), first.position, first.trace.as_str()),
        (
            "prefill",
            1,
            "profile/profile_batch1_input1024_output128_prefill.trace.json.gz"
        )
    );
    assert!(first.short.starts_with("nvjet_sm90"), "{}", first.short);
    assert!(b.rows.kernels.iter().any(|k| k.kind == "operator"));
    // Only the notes are set aside, as not data, with the reason.
    assert!(
        b.rows
            .quarantine
            .iter()
            .all(|q| q.kind == "not_data" && q.file.ends_with("notes.txt")),
        "{:?}",
        b.rows.quarantine
    );

    let a = find_run(
        &b.rows,
        "v0.5.6-rocm700-mi30x-20251204_GROK1_MOE-I4F8_offline",
    )
    .expect("a");
    let bb = find_run(
        &b.rows,
        "v0.5.6-rocm700-mi30x-20251205_GROK1_MOE-I4F8_offline",
    )
    .expect("b");
    let c = compare(
        &b.rows,
        a,
        bb,
        &sglci_publisher::regress::DetectConfig::default(),
        &CompareOptions::default(),
    )
    .expect("compares");
    assert_eq!(c.kernels.len(), 12);
    assert_eq!(c.kernels[0].a_us, c.kernels[0].b_us);
    let md = to_markdown(&c);
    assert!(
        md.contains("### GPU kernels · prefill (profiler traces)"),
        "{md}"
    );
    // The trace's own share: 98.753 µs of 482.085 µs of GPU time.
    assert!(
        md.contains("| `nvjet_sm90_tst_256x128_64x4_1x2_h_bz_coopA_TNT` | 98.8 | 20.5 % | 98.8 | 20.5 % | +0.0 % |"),
        "{md}"
    );
}
