//! Typed history records: one struct per table row, and the column schema of every table.
//!
//! The serialized field order of each row type is its column order; the pinned leading columns of
//! `../shared/spec/README.md` section 3 come first. `tests::schemas_match_rows` keeps the schema
//! constants and the structs in step.

use serde::{Deserialize, Serialize};

use crate::failure::FailureClass;

/// How a serving sweep is loaded: GROK by request rate, DeepSeek by concurrency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadKind {
    RequestRate,
    Concurrency,
}

impl LoadKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RequestRate => "request_rate",
            Self::Concurrency => "concurrency",
        }
    }
}

/// The three per-load latencies the predecessor published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    E2e,
    Ttft,
    Itl,
}

/// The state of a task on a night (F32).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TaskState {
    #[serde(rename = "pass")]
    Pass,
    #[serde(rename = "fail")]
    Fail,
    #[serde(rename = "not run")]
    NotRun,
    #[serde(rename = "unknown")]
    Unknown,
}

impl TaskState {
    /// How good a state is, when several records of one task disagree (best of runs): a pass,
    /// then a failure, then not run, then unknown.
    pub fn rank(self) -> u8 {
        match self {
            Self::Pass => 3,
            Self::Fail => 2,
            Self::NotRun => 1,
            Self::Unknown => 0,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::NotRun => "not run",
            Self::Unknown => "unknown",
        }
    }
}

/// A closed set of values stored as strings in a table column: the enum, its serde names,
/// `as_str` and `Display` come from one list, so the column's strings and the code's cannot
/// drift apart. Values are ordered by name, as the column's strings are, so sorted reports keep
/// the order they had when these fields were strings.
macro_rules! string_enum {
    ($(#[$m:meta])* pub enum $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal,)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vm])* #[serde(rename = $s)] $v,)+
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$v => $s,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl PartialOrd for $name {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl Ord for $name {
            fn cmp(&self, other: &Self) -> std::cmp::Ordering {
                self.as_str().cmp(other.as_str())
            }
        }
    };
}

string_enum! {
    /// A sanity model's verdict in its run (the timing summary's final section or OVERALL
    /// SUMMARY).
    pub enum ModelStatus {
        Pass = "pass",
        Fail = "fail",
        Skipped = "skipped",
    }
}

impl std::fmt::Display for TaskState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for LoadKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

string_enum! {
    /// What a regression series is indexed by: a serving sweep's load kind, an offline grid's
    /// batch size, or a model's GSM8K accuracy (one point per night).
    pub enum SeriesLoad {
        RequestRate = "request_rate",
        Concurrency = "concurrency",
        BatchSize = "batch_size",
        Gsm8k = "gsm8k",
    }
}

impl From<LoadKind> for SeriesLoad {
    fn from(k: LoadKind) -> Self {
        match k {
            LoadKind::RequestRate => Self::RequestRate,
            LoadKind::Concurrency => Self::Concurrency,
        }
    }
}

string_enum! {
    /// Whether larger values are better (throughputs) or worse (latencies).
    pub enum Direction {
        LowerIsBetter = "lower_is_better",
        HigherIsBetter = "higher_is_better",
    }
}

string_enum! {
    /// The quantity a regression series follows.
    pub enum SeriesMetric {
        E2eMs = "e2e_ms",
        TtftMs = "ttft_ms",
        ItlMs = "itl_ms",
        TpotMs = "tpot_ms",
        OutputThroughput = "output_throughput",
        OfflineE2eLatencyS = "offline_e2e_latency_s",
        OfflineE2eThroughput = "offline_e2e_throughput",
        Gsm8kAccuracy = "gsm8k_accuracy",
    }
}

string_enum! {
    /// A regression finding's state.
    pub enum FindingState {
        Open = "open",
        Recovered = "recovered",
    }
}

/// One step (change point) of a regression series: where it happened and what changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressionStep {
    pub load: i64,
    pub first_bad_date: String,
    pub first_bad_image: String,
    pub last_good_date: Option<String>,
    pub last_good_image: Option<String>,
    pub versions: String,
    /// Relative change of the level (medians after against before).
    pub change: f64,
    pub p_value: f64,
}

/// A list stored as one JSON string column (the regressions table's `steps`): typed in memory,
/// the same Parquet and CSV column as before.
mod json_column {
    use serde::de::DeserializeOwned;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        let text = serde_json::to_string(v).map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }

    pub fn deserialize<'de, T: DeserializeOwned + Default, D: Deserializer<'de>>(
        d: D,
    ) -> Result<T, D::Error> {
        let text = Option::<String>::deserialize(d)?.unwrap_or_default();
        if text.trim().is_empty() {
            return Ok(T::default());
        }
        serde_json::from_str(&text).map_err(serde::de::Error::custom)
    }
}

/// A column's storage type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Str,
    Int,
    Float,
    Bool,
}

/// A table's name and columns, in order.
#[derive(Debug, Clone, Copy)]
pub struct Schema {
    pub name: &'static str,
    pub columns: &'static [(&'static str, ColumnType)],
    /// Columns added after the table's first release: data written before them reads them as
    /// null, and any other missing column is an error.
    pub added: &'static [&'static str],
}

use ColumnType::{Bool, Float, Int, Str};

/// One run of anything (online, sanity, PD, unit test), keyed by its folder or file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    pub run_id: String,
    pub run_dir: String,
    pub kind: String,
    pub hardware: String,
    pub docker_tag: String,
    pub date: String,
    pub model: Option<String>,
    pub variant: Option<String>,
    pub host: Option<String>,
    pub started_at: Option<String>,
    pub files: i64,
    pub note: Option<String>,
    /// The image reference as given, when the run's bundle recorded it (F16).
    #[serde(default)]
    pub image_ref: Option<String>,
    /// `repo@sha256:…`.
    #[serde(default)]
    pub image_digest: Option<String>,
    #[serde(default)]
    pub sglang_version: Option<String>,
    #[serde(default)]
    pub sglang_commit: Option<String>,
    #[serde(default)]
    pub torch: Option<String>,
    /// The host's GPU product name.
    #[serde(default)]
    pub gpu: Option<String>,
    /// SHA-256 of the run's resolved plan.
    #[serde(default)]
    pub config_hash: Option<String>,
}

pub const RUNS: Schema = Schema {
    name: "runs",
    columns: &[
        ("run_id", Str),
        ("run_dir", Str),
        ("kind", Str),
        ("hardware", Str),
        ("docker_tag", Str),
        ("date", Str),
        ("model", Str),
        ("variant", Str),
        ("host", Str),
        ("started_at", Str),
        ("files", Int),
        ("note", Str),
        ("image_ref", Str),
        ("image_digest", Str),
        ("sglang_version", Str),
        ("sglang_commit", Str),
        ("torch", Str),
        ("gpu", Str),
        ("config_hash", Str),
    ],
    added: &[
        "image_ref",
        "image_digest",
        "sglang_version",
        "sglang_commit",
        "torch",
        "gpu",
        "config_hash",
    ],
};

/// One load of one online run: the best-of-runs client log's numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServingRow {
    pub hardware: String,
    pub model: String,
    pub run_dir: String,
    pub docker_tag: String,
    pub date: String,
    pub variant: String,
    pub load_kind: LoadKind,
    pub load: i64,
    pub e2e_ms: Option<f64>,
    pub ttft_ms: Option<f64>,
    pub itl_ms: Option<f64>,
    pub gsm8k_accuracy: Option<f64>,
    pub tpot_ms: Option<f64>,
    pub output_throughput: Option<f64>,
    pub request_throughput: Option<f64>,
    pub input_throughput: Option<f64>,
    pub total_throughput: Option<f64>,
    pub mean_e2e_ms: Option<f64>,
    pub p99_ttft_ms: Option<f64>,
    pub p99_itl_ms: Option<f64>,
    pub completed: Option<i64>,
    pub requested: Option<i64>,
    pub partial: bool,
    /// Client logs seen for this load, and how many held a result block.
    pub runs: i64,
    pub runs_with_result: i64,
    /// `client_log` (best of runs) or `csv` (no client log held a result).
    pub source: String,
    pub best_log: Option<String>,
    pub host: Option<String>,
    pub sglang_version: String,
    pub rocm: String,
    pub kv_cache_tokens: Option<i64>,
    pub kv_cache_gb: Option<f64>,
    /// F70: total tokens/s (input + output) per GPU, when the run recorded its model's shape.
    #[serde(default)]
    pub tokens_per_s_per_gpu: Option<f64>,
    /// F70: model FLOPs utilisation against the hardware's peak (0–1).
    #[serde(default)]
    pub mfu: Option<f64>,
}

impl ServingRow {
    /// A row with its keys set and every measurement missing (builders and tests fill in what
    /// they have).
    pub fn blank(
        hardware: &str,
        model: &str,
        run_dir: &str,
        docker_tag: &str,
        date: &str,
        load_kind: LoadKind,
        load: i64,
    ) -> Self {
        Self {
            hardware: hardware.to_owned(),
            model: model.to_owned(),
            run_dir: run_dir.to_owned(),
            docker_tag: docker_tag.to_owned(),
            date: date.to_owned(),
            variant: String::new(),
            load_kind,
            load,
            e2e_ms: None,
            ttft_ms: None,
            itl_ms: None,
            gsm8k_accuracy: None,
            tpot_ms: None,
            output_throughput: None,
            request_throughput: None,
            input_throughput: None,
            total_throughput: None,
            mean_e2e_ms: None,
            p99_ttft_ms: None,
            p99_itl_ms: None,
            completed: None,
            requested: None,
            partial: false,
            runs: 1,
            runs_with_result: 1,
            source: "client_log".to_owned(),
            best_log: None,
            host: None,
            sglang_version: String::new(),
            rocm: String::new(),
            kv_cache_tokens: None,
            kv_cache_gb: None,
            tokens_per_s_per_gpu: None,
            mfu: None,
        }
    }
}

pub const SERVING: Schema = Schema {
    name: "serving",
    columns: &[
        ("hardware", Str),
        ("model", Str),
        ("run_dir", Str),
        ("docker_tag", Str),
        ("date", Str),
        ("variant", Str),
        ("load_kind", Str),
        ("load", Int),
        ("e2e_ms", Float),
        ("ttft_ms", Float),
        ("itl_ms", Float),
        ("gsm8k_accuracy", Float),
        ("tpot_ms", Float),
        ("output_throughput", Float),
        ("request_throughput", Float),
        ("input_throughput", Float),
        ("total_throughput", Float),
        ("mean_e2e_ms", Float),
        ("p99_ttft_ms", Float),
        ("p99_itl_ms", Float),
        ("completed", Int),
        ("requested", Int),
        ("partial", Bool),
        ("runs", Int),
        ("runs_with_result", Int),
        ("source", Str),
        ("best_log", Str),
        ("host", Str),
        ("sglang_version", Str),
        ("rocm", Str),
        ("kv_cache_tokens", Int),
        ("kv_cache_gb", Float),
        ("tokens_per_s_per_gpu", Float),
        ("mfu", Float),
    ],
    added: &["tokens_per_s_per_gpu", "mfu"],
};

/// GSM8K accuracy of one online run, with its individual runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccuracyRow {
    pub hardware: String,
    pub model: String,
    pub run_dir: String,
    pub docker_tag: String,
    pub date: String,
    pub variant: String,
    pub accuracy: Option<f64>,
    /// `gsm8k_log` (its last final line) or `timing_summary` (`GSM8K accuracy:`).
    pub source: Option<String>,
    /// `average` or `early_exit`.
    pub final_kind: Option<String>,
    /// Individual runs, `;`-separated, `x` marking an excluded run (e.g. `0.813;0.000x`).
    pub runs: String,
    pub valid_runs: i64,
    pub total_runs: i64,
    pub sessions: i64,
    pub threshold: f64,
    pub passed: Option<bool>,
}

pub const ACCURACY: Schema = Schema {
    name: "accuracy",
    columns: &[
        ("hardware", Str),
        ("model", Str),
        ("run_dir", Str),
        ("docker_tag", Str),
        ("date", Str),
        ("variant", Str),
        ("accuracy", Float),
        ("source", Str),
        ("final_kind", Str),
        ("runs", Str),
        ("valid_runs", Int),
        ("total_runs", Int),
        ("sessions", Int),
        ("threshold", Float),
        ("passed", Bool),
    ],
    added: &[],
};

/// One offline (`bench_one_batch`) cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfflineResultRow {
    pub hardware: String,
    pub model: String,
    pub run_dir: String,
    pub docker_tag: String,
    pub date: String,
    pub mode: String,
    pub tp: i64,
    pub batch_size: i64,
    pub input_len: i64,
    pub output_len: i64,
    pub backend: Option<String>,
    pub prefill_latency_s: Option<f64>,
    pub decode_median_latency_s: Option<f64>,
    pub e2e_latency_s: Option<f64>,
    pub prefill_throughput: Option<f64>,
    pub decode_median_throughput: Option<f64>,
    pub e2e_throughput: Option<f64>,
    /// F70: the batch's tokens (input + output) per second end to end, per GPU.
    #[serde(default)]
    pub tokens_per_s_per_gpu: Option<f64>,
    /// F70: end-to-end model FLOPs utilisation (0–1).
    #[serde(default)]
    pub mfu: Option<f64>,
    /// F70: MFU of the prefill forward, and of the median decode step.
    #[serde(default)]
    pub prefill_mfu: Option<f64>,
    #[serde(default)]
    pub decode_mfu: Option<f64>,
}

pub const OFFLINE: Schema = Schema {
    name: "offline",
    columns: &[
        ("hardware", Str),
        ("model", Str),
        ("run_dir", Str),
        ("docker_tag", Str),
        ("date", Str),
        ("mode", Str),
        ("tp", Int),
        ("batch_size", Int),
        ("input_len", Int),
        ("output_len", Int),
        ("backend", Str),
        ("prefill_latency_s", Float),
        ("decode_median_latency_s", Float),
        ("e2e_latency_s", Float),
        ("prefill_throughput", Float),
        ("decode_median_throughput", Float),
        ("e2e_throughput", Float),
        ("tokens_per_s_per_gpu", Float),
        ("mfu", Float),
        ("prefill_mfu", Float),
        ("decode_mfu", Float),
    ],
    added: &["tokens_per_s_per_gpu", "mfu", "prefill_mfu", "decode_mfu"],
};

/// One sanity client or warm-up log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SanityTrialRow {
    pub hardware: String,
    pub docker_tag: String,
    pub model: String,
    /// `1`, `2`, `3`, … or `warmup`.
    pub trial: String,
    pub accuracy: Option<f64>,
    pub date: String,
    pub run_dir: String,
    pub file: String,
    pub error: Option<String>,
}

pub const SANITY: Schema = Schema {
    name: "sanity",
    columns: &[
        ("hardware", Str),
        ("docker_tag", Str),
        ("model", Str),
        ("trial", Str),
        ("accuracy", Float),
        ("date", Str),
        ("run_dir", Str),
        ("file", Str),
        ("error", Str),
    ],
    added: &[],
};

/// One model's verdict in a sanity run (the last attempt in the newest timing summary).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SanityModelRow {
    pub hardware: String,
    pub docker_tag: String,
    pub model: String,
    pub date: String,
    pub run_dir: String,
    pub status: ModelStatus,
    /// The published headline: highest, average, or the early-exit trial.
    pub accuracy: Option<f64>,
    pub accuracy_kind: Option<String>,
    pub required: Option<f64>,
    pub trials: String,
    pub attempts: i64,
    pub startup_failed: bool,
    pub failure_class: Option<FailureClass>,
    pub error: Option<String>,
    pub timing_file: String,
}

pub const SANITY_MODELS: Schema = Schema {
    name: "sanity_models",
    columns: &[
        ("hardware", Str),
        ("docker_tag", Str),
        ("model", Str),
        ("date", Str),
        ("run_dir", Str),
        ("status", Str),
        ("accuracy", Float),
        ("accuracy_kind", Str),
        ("required", Float),
        ("trials", Str),
        ("attempts", Int),
        ("startup_failed", Bool),
        ("failure_class", Str),
        ("error", Str),
        ("timing_file", Str),
    ],
    added: &[],
};

/// One PD disaggregation run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PdRow {
    pub hardware: String,
    pub docker_tag: String,
    pub date: String,
    pub model: Option<String>,
    pub run_dir: String,
    pub status: TaskState,
    pub gsm8k_accuracy: Option<f64>,
    pub gsm8k_verdict: Option<String>,
    pub tests_passed: i64,
    pub tests_total: i64,
    pub tests_pending: i64,
    pub health_wait_s: Option<i64>,
    pub total_s: Option<i64>,
    pub gsm8k_questions: Option<i64>,
    pub gsm8k_correct: Option<i64>,
    pub failure_class: Option<FailureClass>,
    pub evidence: Option<String>,
}

pub const PD: Schema = Schema {
    name: "pd",
    columns: &[
        ("hardware", Str),
        ("docker_tag", Str),
        ("date", Str),
        ("model", Str),
        ("run_dir", Str),
        ("status", Str),
        ("gsm8k_accuracy", Float),
        ("gsm8k_verdict", Str),
        ("tests_passed", Int),
        ("tests_total", Int),
        ("tests_pending", Int),
        ("health_wait_s", Int),
        ("total_s", Int),
        ("gsm8k_questions", Int),
        ("gsm8k_correct", Int),
        ("failure_class", Str),
        ("evidence", Str),
    ],
    added: &[],
};

/// One unit-test log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitRow {
    pub hardware: String,
    pub docker_tag: String,
    pub date: String,
    pub test: Option<String>,
    pub status: TaskState,
    pub exit_code: Option<i64>,
    pub tests_ran: Option<i64>,
    pub duration_s: Option<f64>,
    pub machine: Option<String>,
    pub failure_class: Option<FailureClass>,
    pub evidence: Option<String>,
    pub file: String,
}

pub const UNIT: Schema = Schema {
    name: "unit",
    columns: &[
        ("hardware", Str),
        ("docker_tag", Str),
        ("date", Str),
        ("test", Str),
        ("status", Str),
        ("exit_code", Int),
        ("tests_ran", Int),
        ("duration_s", Float),
        ("machine", Str),
        ("failure_class", Str),
        ("evidence", Str),
        ("file", Str),
    ],
    added: &[],
};

/// One nightly image-availability check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageCheckRow {
    pub date: String,
    pub hardware: String,
    pub status: TaskState,
    pub missing_required: Option<i64>,
    pub missing_optional: Option<i64>,
    pub images: String,
    pub file: String,
}

pub const IMAGE_CHECK: Schema = Schema {
    name: "image_check",
    columns: &[
        ("date", Str),
        ("hardware", Str),
        ("status", Str),
        ("missing_required", Int),
        ("missing_optional", Int),
        ("images", Str),
        ("file", Str),
    ],
    added: &[],
};

/// One row of an upstream CI coverage report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoverageRowRecord {
    pub date: String,
    pub section: Option<String>,
    pub category: String,
    pub amd: i64,
    pub nvidia: i64,
    pub coverage_pct: Option<f64>,
    pub file: String,
}

pub const UPSTREAM_COVERAGE: Schema = Schema {
    name: "upstream_coverage",
    columns: &[
        ("date", Str),
        ("section", Str),
        ("category", Str),
        ("amd", Int),
        ("nvidia", Int),
        ("coverage_pct", Float),
        ("file", Str),
    ],
    added: &[],
};

/// The status of one task on one night on one hardware (F32).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRow {
    pub date: String,
    pub hardware: String,
    pub task: String,
    pub task_name: String,
    pub status: TaskState,
    pub reason: String,
    pub failure_class: Option<FailureClass>,
    pub evidence: Option<String>,
    pub docker_tag: Option<String>,
    pub gsm8k_accuracy: Option<f64>,
    pub runtime_minutes: Option<f64>,
    pub source: Option<String>,
}

pub const TASKS: Schema = Schema {
    name: "tasks",
    columns: &[
        ("date", Str),
        ("hardware", Str),
        ("task", Str),
        ("task_name", Str),
        ("status", Str),
        ("reason", Str),
        ("failure_class", Str),
        ("evidence", Str),
        ("docker_tag", Str),
        ("gsm8k_accuracy", Float),
        ("runtime_minutes", Float),
        ("source", Str),
    ],
    added: &[],
};

/// A file that could not be interpreted, and why. Never dropped silently.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuarantineRow {
    pub file: String,
    pub kind: String,
    pub reason: String,
    pub bytes: i64,
}

pub const QUARANTINE: Schema = Schema {
    name: "quarantine",
    columns: &[
        ("file", Str),
        ("kind", Str),
        ("reason", Str),
        ("bytes", Int),
    ],
    added: &[],
};

/// One source file of the history (a raw log, CSV or report), so that every page can link to the
/// files it was computed from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileRow {
    pub file: String,
    pub kind: String,
    pub run_dir: Option<String>,
    pub hardware: Option<String>,
    pub date: Option<String>,
    pub bytes: i64,
    pub quarantined: bool,
}

pub const FILES: Schema = Schema {
    name: "files",
    columns: &[
        ("file", Str),
        ("kind", Str),
        ("run_dir", Str),
        ("hardware", Str),
        ("date", Str),
        ("bytes", Int),
        ("quarantined", Bool),
    ],
    added: &[],
};

/// A regression finding (F33), as the detector last saw it. `date` is the latest night of its
/// series, so open findings live in recent months.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressionRow {
    pub date: String,
    pub id: String,
    pub hardware: String,
    pub model: String,
    pub config: String,
    pub load_kind: SeriesLoad,
    pub metric: SeriesMetric,
    pub unit: String,
    pub direction: Direction,
    pub loads: String,
    pub alerted: String,
    pub first_bad_date: String,
    pub first_bad_image: String,
    pub last_good_date: Option<String>,
    pub last_good_image: Option<String>,
    pub versions: String,
    pub change: f64,
    pub current_change: f64,
    pub band: f64,
    pub confidence: f64,
    pub confirmed: bool,
    pub state: FindingState,
    pub recovered: Option<String>,
    /// The steps (change points), stored as one JSON array column.
    #[serde(with = "json_column")]
    pub steps: Vec<RegressionStep>,
}

pub const REGRESSIONS: Schema = Schema {
    name: "regressions",
    columns: &[
        ("date", Str),
        ("id", Str),
        ("hardware", Str),
        ("model", Str),
        ("config", Str),
        ("load_kind", Str),
        ("metric", Str),
        ("unit", Str),
        ("direction", Str),
        ("loads", Str),
        ("alerted", Str),
        ("first_bad_date", Str),
        ("first_bad_image", Str),
        ("last_good_date", Str),
        ("last_good_image", Str),
        ("versions", Str),
        ("change", Float),
        ("current_change", Float),
        ("band", Float),
        ("confidence", Float),
        ("confirmed", Bool),
        ("state", Str),
        ("recovered", Str),
        ("steps", Str),
    ],
    added: &[],
};

/// Every history table, in export order.
/// One candidate on one series of a recorded A/B comparison (`sglci-runner ab`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AbRow {
    pub ab_id: String,
    pub hardware: String,
    /// The day the comparison ran (`YYYYMMDD`).
    pub date: String,
    pub suite: String,
    pub rounds: i64,
    /// The record's folder (`ab_log/<hw>/<ab id>`), for its raw files.
    pub folder: String,
    pub baseline: String,
    pub letter: String,
    pub candidate: String,
    /// The candidate's one-line verdict over all series.
    pub summary: String,
    pub job: String,
    pub load: i64,
    pub metric: String,
    /// `lower` or `higher` is better.
    pub better: String,
    pub baseline_median: Option<f64>,
    pub candidate_median: Option<f64>,
    pub median_change: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub floor: f64,
    /// `worse`, `better`, `no_significant_difference` or `missing`.
    pub verdict: String,
}

pub const AB: Schema = Schema {
    name: "ab",
    columns: &[
        ("ab_id", Str),
        ("hardware", Str),
        ("date", Str),
        ("suite", Str),
        ("rounds", Int),
        ("folder", Str),
        ("baseline", Str),
        ("letter", Str),
        ("candidate", Str),
        ("summary", Str),
        ("job", Str),
        ("load", Int),
        ("metric", Str),
        ("better", Str),
        ("baseline_median", Float),
        ("candidate_median", Float),
        ("median_change", Float),
        ("low", Float),
        ("high", Float),
        ("floor", Float),
        ("verdict", Str),
    ],
    added: &[],
};

/// One kernel or operator of a run's torch profiler trace (F22): the top entries by total time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KernelRow {
    pub hardware: String,
    pub model: String,
    pub run_dir: String,
    pub docker_tag: String,
    pub date: String,
    /// The trace's path inside the run folder (`profile/….trace.json.gz`).
    pub trace: String,
    /// `prefill`, `decode` or `all`, from the trace's name.
    pub stage: String,
    /// `kernel` (GPU) or `operator` (CPU, inclusive time).
    pub kind: String,
    /// 1 for the largest total time.
    pub position: i64,
    pub name: String,
    pub short: String,
    pub calls: i64,
    pub total_us: f64,
    /// Of the trace's GPU time (kernels) or CPU span (operators), 0–1.
    pub share: f64,
}

pub const KERNELS: Schema = Schema {
    name: "kernels",
    columns: &[
        ("hardware", Str),
        ("model", Str),
        ("run_dir", Str),
        ("docker_tag", Str),
        ("date", Str),
        ("trace", Str),
        ("stage", Str),
        ("kind", Str),
        ("position", Int),
        ("name", Str),
        ("short", Str),
        ("calls", Int),
        ("total_us", Float),
        ("share", Float),
    ],
    added: &[],
};

/// Failure-class statistics, derived from the task table (never stored): per hardware, ISO week
/// and class, how many tasks failed with it and the rate among the tasks that ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailureStatRow {
    pub hardware: String,
    /// ISO week, `2025-W50`.
    pub week: String,
    /// Its Monday, `YYYYMMDD`.
    pub week_start: String,
    pub class: String,
    pub failures: i64,
    /// Tasks that ran that week on that hardware (passed or failed).
    pub ran: i64,
    pub rate: f64,
}

pub const FAILURE_STATS: Schema = Schema {
    name: "failure_stats",
    columns: &[
        ("hardware", Str),
        ("week", Str),
        ("week_start", Str),
        ("class", Str),
        ("failures", Int),
        ("ran", Int),
        ("rate", Float),
    ],
    added: &[],
};

pub const ALL_SCHEMAS: &[Schema] = &[
    SERVING,
    ACCURACY,
    OFFLINE,
    SANITY,
    SANITY_MODELS,
    PD,
    UNIT,
    IMAGE_CHECK,
    UPSTREAM_COVERAGE,
    TASKS,
    RUNS,
    QUARANTINE,
    FILES,
    REGRESSIONS,
    AB,
    KERNELS,
];

/// Looks a table up by name, accepting the short aliases of the CLI (`pd`, `unit`, `tasks`).
pub fn schema(name: &str) -> Option<Schema> {
    ALL_SCHEMAS.iter().copied().find(|s| s.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys<T: Serialize>(row: &T) -> Vec<String> {
        match serde_json::to_value(row).expect("serializable") {
            serde_json::Value::Object(m) => m.keys().cloned().collect(),
            other => panic!("not an object: {other}"),
        }
    }

    fn names(s: Schema) -> Vec<String> {
        let mut v: Vec<String> = s.columns.iter().map(|(n, _)| (*n).to_owned()).collect();
        v.sort();
        v
    }

    /// `steps` is typed in memory and one JSON string in the table (the same Parquet and CSV
    /// column as before); the enums are the strings the tables always held.
    #[test]
    fn regression_rows_keep_their_columns() {
        let step = RegressionStep {
            load: 4,
            first_bad_date: "20251210".into(),
            first_bad_image: "v0.5.6-rocm700-mi30x-20251210".into(),
            last_good_date: None,
            last_good_image: None,
            versions: "v0.5.6".into(),
            change: 0.12,
            p_value: 0.01,
        };
        let v = serde_json::json!({
            "load_kind": SeriesLoad::Gsm8k, "direction": Direction::HigherIsBetter,
            "state": FindingState::Recovered, "status": ModelStatus::Skipped,
        });
        assert_eq!(
            v.to_string(),
            r#"{"direction":"higher_is_better","load_kind":"gsm8k","state":"recovered","status":"skipped"}"#
        );
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct Row {
            #[serde(with = "json_column")]
            steps: Vec<RegressionStep>,
        }
        let row = Row { steps: vec![step] };
        let cell = serde_json::to_value(&row).expect("serializes");
        assert!(cell["steps"].is_string(), "{cell}");
        assert_eq!(
            serde_json::from_value::<Row>(cell).expect("reads back"),
            row
        );
        // A stored null or empty cell is no steps, not an error.
        let empty: Row = serde_json::from_value(serde_json::json!({"steps": null})).expect("null");
        assert!(empty.steps.is_empty());
    }

    #[test]
    fn schemas_match_rows() {
        let serving = ServingRow::blank("", "", "", "", "", LoadKind::RequestRate, 0);
        // serde_json's map is sorted; compare as sets of names.
        assert_eq!(keys(&serving), names(SERVING));
        let task = TaskRow {
            date: String::new(),
            hardware: String::new(),
            task: String::new(),
            task_name: String::new(),
            status: TaskState::Unknown,
            reason: String::new(),
            failure_class: None,
            evidence: None,
            docker_tag: None,
            gsm8k_accuracy: None,
            runtime_minutes: None,
            source: None,
        };
        assert_eq!(keys(&task), names(TASKS));
        let trial = SanityTrialRow {
            hardware: String::new(),
            docker_tag: String::new(),
            model: String::new(),
            trial: String::new(),
            accuracy: None,
            date: String::new(),
            run_dir: String::new(),
            file: String::new(),
            error: None,
        };
        assert_eq!(keys(&trial), names(SANITY));
    }

    #[test]
    fn pinned_leading_columns() {
        let lead: Vec<&str> = SERVING.columns.iter().take(12).map(|(n, _)| *n).collect();
        assert_eq!(lead.join(","), "hardware,model,run_dir,docker_tag,date,variant,load_kind,load,e2e_ms,ttft_ms,itl_ms,gsm8k_accuracy");
        let lead: Vec<&str> = SANITY.columns.iter().take(5).map(|(n, _)| *n).collect();
        assert_eq!(lead.join(","), "hardware,docker_tag,model,trial,accuracy");
    }
}
