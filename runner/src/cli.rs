//! Command-line types (clap derive only; no logic here).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Runs SGLang benchmark suites on a GPU host and ships run bundles.
///
/// `run --suite NAME` runs a suite (online and offline sweeps, sanity, PD, unit test, image
/// check; `smoke` on any machine's CPU), writes the run folders in the predecessor's log layout,
/// redacts and ships them to the store. `plan` shows what a suite would run; `resolve` finds
/// tonight's image; `exec` runs one command in a labelled container. Exit codes: 0 ok, 1 the
/// task failed, 2 usage or configuration, 3 the machine or the network failed.
#[derive(Debug, Parser)]
#[command(name = "sglci-runner", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: CliCommand,
}

#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Validate an image tag (or `repo:tag` image) and print its fields as JSON.
    /// What an image reference implies (pure: nothing is pulled or asked): its kind, the fields
    /// its tag spells, and the run label that would name its run folders. A nightly tag is its
    /// own label; other images need the hardware from the tag or `--hardware`, and `run` learns
    /// the rest (digest, labels, versions inside the image, the host's GPUs).
    Tag {
        /// Any `repo:tag` or `repo@sha256:…`, or a nightly tag alone
        /// (`v0.5.6.post2-rocm700-mi30x-20251216`).
        image: String,
        /// The hardware the image will run on; must agree with the tag's.
        #[arg(long)]
        hardware: Option<String>,
        /// The run day (`YYYYMMDD`) for images whose tag has no date; default: today
        /// (Pacific time).
        #[arg(long)]
        date: Option<String>,
    },
    /// Find tonight's image on Docker Hub and print it as JSON: the newest tag for the
    /// hardware and ROCm version dated today in Pacific time, else yesterday's (marked stale).
    /// Exit 1 when there is none.
    Resolve {
        #[arg(long)]
        hardware: String,
        #[arg(long, default_value = "rocm700")]
        rocm: String,
        /// The image date (`YYYYMMDD`); default: today in Pacific time.
        #[arg(long)]
        date: Option<String>,
        /// Days before the date to fall back to.
        #[arg(long, default_value_t = 1)]
        fallback_days: u32,
        #[arg(long, default_value = "rocm/sgl-dev")]
        repo: String,
        /// Docker Hub's API root (a mirror, or a recorded server in tests).
        #[arg(
            long,
            env = "SGLCI_DOCKER_HUB_URL",
            default_value = "https://hub.docker.com"
        )]
        hub_url: String,
        #[arg(long, default_value_t = 20)]
        max_pages: usize,
    },
    /// Run a command in a fresh sglci container of IMAGE (devices, groups, host network and IPC,
    /// labels), streaming its output to stdout and --log; the container is removed afterwards,
    /// also on SIGTERM or Ctrl-C. Exit 1 when the command fails.
    Exec(CliExec),
    /// Remove the containers sglci started (for one run, or all); others are never touched.
    Cleanup {
        #[arg(long)]
        run_id: Option<String>,
    },
    /// Print a suite's resolved plan on one hardware as JSON: every job with its command lines,
    /// environment, gates and sweep points.
    Plan {
        /// A bundled suite (grok-online, deepseek-online, grok-offline, deepseek-offline, sanity,
        /// pd, unit, image-check, upstream) or a path to a suite file.
        #[arg(long)]
        suite: String,
        /// The hardware to resolve for (mi30x, mi35x, ...).
        #[arg(long)]
        hardware: String,
        /// The image to test (any reference; its run label names the run folders).
        #[arg(long)]
        image: Option<String>,
        #[command(flatten)]
        tailor: CliTailor,
    },
    /// Ship a run directory as a bundle: upload its files to the store (manifest last) and
    /// announce it on the queue. When the store or the queue is unreachable the bundle is kept in
    /// the spool (exit 3); `flush` delivers it later.
    Ship(CliShip),
    /// Deliver every spooled bundle (exit 3 if some still cannot be delivered).
    Flush(CliBackends),
    /// Run a suite's jobs on this host (server, GSM8K gate, serving sweep; resumable), into a
    /// run folder in the log layout; then redact secrets and ship it as a bundle. Prints
    /// each job's results as JSON. Exit 1 when a job failed (class and evidence in its
    /// `results.json`), 2 on a configuration error, 3 when the machine or the engine failed or
    /// the bundle was spooled.
    Run(CliRun),
    /// Interleaved A/B on this host: every job of the suite on the baseline and each candidate,
    /// round by round in alternating order (A B, B A, …; A B C, C B A), each image's server
    /// restarted per round. Prints the paired comparison as markdown (the PR comment) or JSON,
    /// writes it beside the rounds' run folders and ships it with one bundle per image and
    /// round. Exit 1 when a round failed, 2 on a configuration error, 3 when the machine failed.
    Ab(CliAb),
    /// Few-shot GSM8K against an OpenAI-compatible server (`/v1/completions`); prints
    /// `Accuracy:`, `Invalid:`, `Latency:` and `Output throughput:` like bench_sglang.py.
    Gsm8k(CliGsm8k),
    /// Parse one result file and print the typed value as JSON.
    Parse {
        /// What the file is.
        #[arg(long, value_enum)]
        kind: CliKind,
        /// The file to parse.
        file: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CliKind {
    /// bench_serving client log (text).
    ClientLog,
    /// bench_serving --output-file JSONL.
    BenchJsonl,
    /// GSM8K wrapper log.
    Gsm8k,
    /// Raw bench_sglang output (sanity trial).
    BenchSglang,
    /// SGLang server log.
    ServerLog,
    /// Online timing summary.
    Timing,
    /// Sanity timing summary.
    SanityTiming,
    /// Online benchmark CSV (tab-separated sections).
    OnlineCsv,
    /// Offline CSV.
    OfflineCsv,
    /// bench_one_batch stdout.
    OneBatch,
    /// PD test_summary.txt.
    PdSummary,
    /// PD test_gsm8k.log.
    PdGsm8k,
    /// Unit-test log.
    UnitTest,
    /// Cron job log.
    Cron,
    /// Upstream CI coverage CSV.
    Upstream,
    /// Teams Adaptive Card JSON.
    Alert,
}

/// Where bundles go.
#[derive(Debug, Clone, clap::Args)]
pub struct CliBackends {
    /// The object store: a directory, a file:// URL, or s3://BUCKET[/PREFIX] (with the
    /// standard AWS environment; AWS_ENDPOINT_URL for an emulator).
    #[arg(long, env = "SGLCI_STORE", default_value = "./sglci-data")]
    pub store: String,
    /// The queue: a spool directory (default `<store>/queue` for a directory store) or an SQS
    /// queue URL.
    #[arg(long, env = "SGLCI_QUEUE")]
    pub queue: Option<String>,
    /// Where undeliverable bundles wait for `flush`.
    #[arg(long, env = "SGLCI_SPOOL", default_value = "./sglci-spool")]
    pub spool: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct CliShip {
    /// The run directory; file paths below it follow the log layout
    /// (`online_benchmark_log/<hw>/<model>/<run folder>/...`).
    pub dir: PathBuf,
    /// The run's id (unique per run; letters, digits, `-`, `_`, `.`).
    #[arg(long)]
    pub run_id: String,
    /// The image tested (`v0.5.6.post2-rocm700-mi30x-20251216` or `repo:tag`): gives the
    /// hardware and the image date.
    #[arg(long)]
    pub image: String,
    /// The suite that produced the run.
    #[arg(long)]
    pub suite: String,
    #[command(flatten)]
    pub backends: CliBackends,
}

#[derive(Debug, clap::Args)]
pub struct CliExec {
    #[arg(long)]
    pub image: String,
    #[arg(long)]
    pub run_id: String,
    /// Hardware label: AMD (`mi*`) maps /dev/kfd and /dev/dri unless --device is given.
    #[arg(long)]
    pub hardware: String,
    /// `HOST[:CONTAINER]` device (repeatable); replaces the hardware's defaults.
    #[arg(long = "device")]
    pub devices: Vec<String>,
    /// The GPUs the container gets: `all`, or indexes `0,1,2,3` (NVIDIA: a device request;
    /// AMD: `HIP_VISIBLE_DEVICES`).
    #[arg(long, default_value = "all")]
    pub gpus: String,
    /// `/HOST:/CONTAINER[:ro]` bind mount (repeatable).
    #[arg(long = "mount")]
    pub mounts: Vec<String>,
    /// `KEY=VALUE` environment for the command (repeatable).
    #[arg(long = "env")]
    pub env: Vec<String>,
    /// Where the command's output is appended.
    #[arg(long, default_value = "sglci-exec.log")]
    pub log: PathBuf,
    /// The command.
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct CliRun {
    /// A bundled suite (smoke, grok-online, deepseek-online, ...) or a suite file.
    #[arg(long)]
    pub suite: String,
    /// The hardware (default: the suite's only one).
    #[arg(long)]
    pub hardware: Option<String>,
    /// The image under test (`repo:tag` or a tag). Default for the CPU smoke suite:
    /// `v<installed sglang>-cpu-cpu-<today, Pacific time>`.
    #[arg(long)]
    pub image: Option<String>,
    /// The run's id (default `<suite>-<hardware>-<UTC time>`).
    #[arg(long)]
    pub run_id: Option<String>,
    /// The log tree run folders are written into (default `./sglci-runs`); a folder that
    /// exists is kept as `<folder>.backup_<time>` unless --resume.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Only jobs whose id contains this.
    #[arg(long)]
    pub job: Option<String>,
    #[command(flatten)]
    pub tailor: CliTailor,
    #[command(flatten)]
    pub nodes: CliNodes,
    /// Keep an existing run folder's complete loads and passed gate; run only what is missing.
    #[arg(long)]
    pub resume: bool,
    /// Leave the run folder where it is; do not ship it.
    #[arg(long)]
    pub no_ship: bool,
    /// Where the job's processes run: `docker` (a labelled container of --image per job,
    /// removed afterwards; the default on GPU hardware) or `local` (this machine's processes;
    /// the default for `cpu`).
    #[arg(long, value_enum)]
    pub engine: Option<CliEngine>,
    /// `HOST[:CONTAINER]` device for the container (repeatable); replaces the hardware's defaults.
    #[arg(long = "device")]
    pub devices: Vec<String>,
    /// The GPUs each job's container gets: `all`, or indexes `0,1,2,3` (NVIDIA: a device
    /// request, renumbered from 0 inside; AMD: `HIP_VISIBLE_DEVICES`). PD suites split what
    /// the container gets between prefill and decode.
    #[arg(long, default_value = "all")]
    pub gpus: String,
    /// `/HOST:/CONTAINER[:ro]` bind mount for the container (repeatable), e.g. the model store.
    #[arg(long = "mount")]
    pub mounts: Vec<String>,
    /// The image date to check (image-check suite; default today in Pacific time).
    #[arg(long)]
    pub date: Option<String>,
    /// Docker Hub's API root for the image check.
    #[arg(
        long,
        env = "SGLCI_DOCKER_HUB_URL",
        default_value = "https://hub.docker.com"
    )]
    pub hub_url: String,
    /// How long to wait for busy GPUs to become idle before giving up (exit 3, `gpu_busy`).
    /// Other jobs' containers are never stopped.
    #[arg(long, default_value_t = 900)]
    pub gpu_wait: u64,
    /// With `--engine docker`: pulls of an image that is not on the host before giving up
    /// (exit 3, `pull_failed`).
    #[arg(long, default_value_t = 3)]
    pub pull_attempts: u32,
    /// Seconds between pulls, times the attempt number.
    #[arg(long, default_value_t = 30)]
    pub pull_backoff: u64,
    #[command(flatten)]
    pub backends: CliBackends,
}

/// What a run changes about a suite's jobs, in layer order (docs/latency-pipeline.md): a base
/// layer, the grid, the deployment, the model's layers, profiling.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CliTailor {
    /// A layer merged over the suite's `[base]` (the same keys: env, server.args, offline.args,
    /// timeout_minutes, ...); the suite's hardware, model and variant layers still win.
    #[arg(long)]
    pub base: Option<PathBuf>,
    /// Offline suites: the grid to run instead of the suite's (`{1,2,4};{1024,2048}` per
    /// line, or TOML `batch_sizes`/`input_lens` lists).
    #[arg(long)]
    pub grid: Option<PathBuf>,
    /// The parallelism every job runs with: a deploy of the library (tp1, tp8, tp8ep8,
    /// tp8ep8dp8, tp16ep16) or a deploy file. It replaces every parallelism flag of the suite.
    #[arg(long)]
    pub deploy: Option<String>,
    /// `full`, or `<N>l`: the model's config.json with N layers and SGLang's dummy weights
    /// (`--load-format dummy`), in a directory under `<out>/mconf/`; the model is named
    /// `<model>-<N>l` so its history is its own. The GSM8K gate is skipped (random weights).
    #[arg(long, default_value = "full")]
    pub mconf: crate::mconf::Mconf,
    /// Offline suites: trace each bench_one_batch cell's prefill, decode or both with the torch
    /// profiler; the traces go to `<run folder>/profile/` and ship with the bundle.
    #[arg(long, value_enum)]
    pub profile: Option<crate::profile::Stage>,
    /// Online suites: trace the sweep point at this load (bench_serving `--profile`, the
    /// server's /start_profile and /stop_profile) into `<run folder>/profile/`.
    #[arg(long)]
    pub profile_load: Option<f64>,
    /// The model's config.json, when the model directory is not readable from the runner
    /// (`--mconf`, and the efficiency figures: tokens/s per GPU and MFU).
    #[arg(long)]
    pub model_config: Option<PathBuf>,
}

/// Multi-node runs (F19): every node runs the same `run` with its own `--node-rank`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CliNodes {
    /// Nodes the run spans (2 or more; a deploy such as tp16ep16 says how many it needs).
    #[arg(long)]
    pub nnodes: Option<u32>,
    /// This node's rank: 0 runs the gate and the sweep (and ships the bundle); the others run
    /// their part of each job in lockstep with it.
    #[arg(long)]
    pub node_rank: Option<u32>,
    /// Rank 0's HOST:PORT, the torch rendezvous (SGLang's `--dist-init-addr`); the runners
    /// talk on PORT + 1.
    #[arg(long)]
    pub master: Option<String>,
    /// Seconds rank 0 waits for the other ranks to connect (and they for it).
    #[arg(long, default_value_t = 900)]
    pub node_wait: u64,
}

#[derive(Debug, clap::Args)]
pub struct CliAb {
    /// The baseline image (A): any reference, or a nightly tag.
    #[arg(long)]
    pub baseline: String,
    /// A candidate image (B, C, …; repeatable for an N-way comparison against the baseline).
    #[arg(long = "candidate", required = true)]
    pub candidates: Vec<String>,
    /// The suite every image runs (bundled name or file).
    #[arg(long)]
    pub suite: String,
    /// The suite the candidates run instead (one for all, or one per candidate, in order): an
    /// A/B of a configuration on one image.
    #[arg(long = "candidate-suite")]
    pub candidate_suites: Vec<String>,
    #[command(flatten)]
    pub tailor: CliTailor,
    /// Rounds (each runs every image once). Three by default: with two (A B, B A) a burst of
    /// load on the host during the middle two runs looks exactly like a change (docs/ab.md).
    #[arg(long, default_value_t = 3)]
    pub rounds: u32,
    /// The smallest change a verdict names, in percent (3 by default). Raise it on a host
    /// whose runs drift between themselves more than a few rounds can show, such as a shared
    /// VM (docs/ab.md).
    #[arg(long, default_value_t = 3.0)]
    pub min_change: f64,
    /// Only jobs whose id contains this.
    #[arg(long)]
    pub job: Option<String>,
    #[arg(long)]
    pub hardware: Option<String>,
    /// The comparison's id (default `ab-<suite>-<UTC time>-<pid>`); rounds are `<id>-r<N>-<letter>`.
    #[arg(long)]
    pub ab_id: Option<String>,
    /// Where the rounds' run folders and the record go (default `./sglci-ab`), under `<id>/`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Keep everything local; ship nothing.
    #[arg(long)]
    pub no_ship: bool,
    #[arg(long, value_enum)]
    pub engine: Option<CliEngine>,
    #[arg(long = "device")]
    pub devices: Vec<String>,
    #[arg(long, default_value = "all")]
    pub gpus: String,
    #[arg(long = "mount")]
    pub mounts: Vec<String>,
    #[arg(long, default_value_t = 900)]
    pub gpu_wait: u64,
    #[arg(long, default_value_t = 3)]
    pub pull_attempts: u32,
    #[arg(long, default_value_t = 30)]
    pub pull_backoff: u64,
    /// What to print: the PR comment (markdown) or the record (json).
    #[arg(long, value_enum, default_value_t = CliReportFormat::Markdown)]
    pub format: CliReportFormat,
    #[command(flatten)]
    pub backends: CliBackends,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CliReportFormat {
    Markdown,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CliEngine {
    Local,
    Docker,
}

#[derive(Debug, clap::Args)]
pub struct CliGsm8k {
    #[arg(long, default_value = "http://127.0.0.1")]
    pub host: String,
    #[arg(long, default_value_t = 30000)]
    pub port: u16,
    /// GSM8K JSONL (`question`, `answer` ending in `#### N`), a file or an http(s) URL;
    /// default: the questions shipped with sglci (suites/smoke/gsm8k.jsonl).
    #[arg(long)]
    pub data: Option<String>,
    #[arg(long, default_value_t = 200)]
    pub num_questions: usize,
    #[arg(long, default_value_t = 5)]
    pub num_shots: usize,
    #[arg(long, default_value_t = 1)]
    pub parallel: usize,
    #[arg(long, default_value_t = 256)]
    pub max_tokens: u32,
    /// The requests' `model` (routers require one).
    #[arg(long)]
    pub model: Option<String>,
    /// What to print: bench_sglang.py's last lines, or the PD test's report (`test_gsm8k.log`).
    #[arg(long, value_enum, default_value_t = CliGsm8kReport::BenchSglang)]
    pub report: CliGsm8kReport,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CliGsm8kReport {
    BenchSglang,
    Pd,
}
