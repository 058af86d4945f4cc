//! The history in the PyTorch OSS benchmark database format (`oss_ci_benchmark_v3`, the schema
//! in pytorch/test-infra's `clickhouse_db_schema/oss_ci_benchmark_v3/schema.sql`; vLLM's
//! `convert_to_pytorch_benchmark_format` writes the same records). Pure: rows in, records out.
//!
//! One record per run, load and metric. `benchmark.extra_info` carries what identifies the
//! series (hardware, variant, load kind and load, image, run folder), `dependencies.sglang` the
//! SGLang version and commit when the run's bundle recorded them, `runners` the hardware and the
//! host's GPU product. Metric names follow vLLM's (`median_ttft_ms`, `median_itl_ms`,
//! `median_e2el_ms`, `output_throughput`, `request_throughput`; offline grids:
//! `e2e_latency_s`, `e2e_throughput`, `prefill_latency_s`, `decode_median_latency_s`).

use std::collections::BTreeMap;

use serde::Serialize;
use sglci_core::records::{OfflineResultRow, RunRow, ServingRow};

use crate::rows::Rows;

/// The schema version the records declare.
pub const SCHEMA_VERSION: &str = "v3";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    /// Unix seconds: the run's start when known, else its image date at midnight UTC.
    pub timestamp: i64,
    pub schema_version: &'static str,
    pub name: &'static str,
    pub repo: &'static str,
    pub head_branch: String,
    pub head_sha: String,
    pub workflow_id: u64,
    pub run_attempt: u32,
    pub job_id: u64,
    pub runners: Vec<Runner>,
    pub benchmark: Benchmark,
    pub model: Model,
    pub inputs: BTreeMap<String, Input>,
    pub dependencies: BTreeMap<String, Dependency>,
    pub metric: Metric,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Runner {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub cpu_info: String,
    pub cpu_count: u32,
    pub mem_info: String,
    pub avail_mem_in_gb: u32,
    pub gpu_info: String,
    pub gpu_count: u32,
    pub gpu_mem_info: String,
    pub avail_gpu_mem_in_gb: u32,
    pub extra_info: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Benchmark {
    pub name: String,
    pub mode: &'static str,
    pub dtype: String,
    pub extra_info: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Model {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub backend: &'static str,
    pub origins: Vec<&'static str>,
    pub extra_info: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Input {
    pub dtype: String,
    pub extra_info: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dependency {
    pub repo: &'static str,
    pub branch: String,
    pub sha: String,
    pub version: String,
    pub extra_info: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metric {
    pub name: &'static str,
    pub benchmark_values: Vec<f64>,
    pub target_value: f64,
    pub extra_info: BTreeMap<String, String>,
}

/// What a record takes from its run row and its series.
struct Context<'a> {
    run: Option<&'a RunRow>,
    hardware: &'a str,
    model: &'a str,
    date: &'a str,
    image: &'a str,
    run_dir: &'a str,
    version: Option<&'a str>,
}

fn extra(pairs: &[(&str, String)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn timestamp(c: &Context<'_>) -> i64 {
    c.run
        .and_then(|r| r.started_at.as_deref())
        .and_then(sglci_core::date::parse_rfc3339)
        .or_else(|| sglci_core::date::day_number(c.date).map(|d| d * 86_400))
        .unwrap_or(0)
}

fn record(
    c: &Context<'_>,
    benchmark: Benchmark,
    metric: &'static str,
    value: f64,
    metric_extra: BTreeMap<String, String>,
) -> Record {
    let run = c.run;
    let commit = run
        .and_then(|r| r.sglang_commit.clone())
        .unwrap_or_default();
    let version = run
        .and_then(|r| r.sglang_version.clone())
        .or_else(|| c.version.map(str::to_owned))
        .unwrap_or_default();
    let gpu = run.and_then(|r| r.gpu.clone()).unwrap_or_default();
    Record {
        timestamp: timestamp(c),
        schema_version: SCHEMA_VERSION,
        name: "sglci",
        repo: "sgl-project/sglang",
        head_branch: String::new(),
        head_sha: commit.clone(),
        workflow_id: 0,
        run_attempt: 0,
        job_id: 0,
        runners: vec![Runner {
            name: c.hardware.to_owned(),
            kind: c.hardware.to_owned(),
            cpu_info: String::new(),
            cpu_count: 0,
            mem_info: String::new(),
            avail_mem_in_gb: 0,
            gpu_info: if gpu.is_empty() {
                c.hardware.to_owned()
            } else {
                gpu
            },
            gpu_count: 0,
            gpu_mem_info: String::new(),
            avail_gpu_mem_in_gb: 0,
            extra_info: extra(&[("host", run.and_then(|r| r.host.clone()).unwrap_or_default())]),
        }],
        benchmark,
        model: Model {
            name: c.model.to_owned(),
            kind: "llm",
            backend: "sglang",
            origins: vec!["sglci"],
            extra_info: BTreeMap::new(),
        },
        inputs: BTreeMap::new(),
        dependencies: BTreeMap::from([(
            "sglang".to_owned(),
            Dependency {
                repo: "sgl-project/sglang",
                branch: String::new(),
                sha: commit,
                version,
                extra_info: extra(&[
                    ("image", c.image.to_owned()),
                    (
                        "digest",
                        run.and_then(|r| r.image_digest.clone()).unwrap_or_default(),
                    ),
                ]),
            },
        )]),
        metric: Metric {
            name: metric,
            benchmark_values: vec![value],
            target_value: 0.0,
            extra_info: metric_extra,
        },
    }
}

fn serving_records(s: &ServingRow, run: Option<&RunRow>, out: &mut Vec<Record>) {
    let c = Context {
        run,
        hardware: &s.hardware,
        model: &s.model,
        date: &s.date,
        image: &s.docker_tag,
        run_dir: &s.run_dir,
        version: Some(s.sglang_version.as_str()).filter(|v| !v.is_empty()),
    };
    let benchmark = Benchmark {
        name: "sglci online serving".to_owned(),
        mode: "inference",
        dtype: String::new(),
        extra_info: extra(&[
            ("device", s.hardware.clone()),
            ("variant", s.variant.clone()),
            ("load_kind", s.load_kind.as_str().to_owned()),
            ("load", s.load.to_string()),
            ("date", s.date.clone()),
            ("run_dir", c.run_dir.to_owned()),
            ("partial", s.partial.to_string()),
        ]),
    };
    let metrics = [
        ("median_e2el_ms", s.e2e_ms),
        ("median_ttft_ms", s.ttft_ms),
        ("median_itl_ms", s.itl_ms),
        ("median_tpot_ms", s.tpot_ms),
        ("p99_ttft_ms", s.p99_ttft_ms),
        ("p99_itl_ms", s.p99_itl_ms),
        ("output_throughput", s.output_throughput),
        ("request_throughput", s.request_throughput),
    ];
    for (name, v) in metrics {
        if let Some(v) = v.filter(|v| v.is_finite()) {
            let m = extra(&[("unit", unit(name).to_owned())]);
            out.push(record(&c, benchmark.clone(), name, v, m));
        }
    }
}

fn unit(metric: &str) -> &'static str {
    if metric.ends_with("_ms") {
        "ms"
    } else if metric.ends_with("_s") {
        "s"
    } else if metric == "request_throughput" {
        "req/s"
    } else {
        "tok/s"
    }
}

fn offline_records(o: &OfflineResultRow, run: Option<&RunRow>, out: &mut Vec<Record>) {
    let c = Context {
        run,
        hardware: &o.hardware,
        model: &o.model,
        date: &o.date,
        image: &o.docker_tag,
        run_dir: &o.run_dir,
        version: None,
    };
    let benchmark = Benchmark {
        name: "sglci offline".to_owned(),
        mode: "inference",
        dtype: String::new(),
        extra_info: extra(&[
            ("device", o.hardware.clone()),
            ("mode", o.mode.clone()),
            ("tensor_parallel_size", o.tp.to_string()),
            ("batch_size", o.batch_size.to_string()),
            ("input_len", o.input_len.to_string()),
            ("output_len", o.output_len.to_string()),
            ("date", o.date.clone()),
            ("run_dir", c.run_dir.to_owned()),
        ]),
    };
    for (name, v) in [
        ("e2e_latency_s", o.e2e_latency_s),
        ("e2e_throughput", o.e2e_throughput),
        ("prefill_latency_s", o.prefill_latency_s),
        ("decode_median_latency_s", o.decode_median_latency_s),
    ] {
        if let Some(v) = v.filter(|v| v.is_finite()) {
            let m = extra(&[("unit", unit(name).to_owned())]);
            out.push(record(&c, benchmark.clone(), name, v, m));
        }
    }
}

/// Every serving and offline measurement of the rows as records.
pub fn records(rows: &Rows) -> Vec<Record> {
    let runs: BTreeMap<&str, &RunRow> = rows.runs.iter().map(|r| (r.run_dir.as_str(), r)).collect();
    let mut out = Vec::new();
    for s in &rows.serving {
        serving_records(s, runs.get(s.run_dir.as_str()).copied(), &mut out);
    }
    for o in &rows.offline {
        offline_records(o, runs.get(o.run_dir.as_str()).copied(), &mut out);
    }
    out
}
