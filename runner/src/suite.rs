//! Suites (F6–F11): declarative TOML files with layered configuration, resolved into jobs.
//!
//! A suite names its `kind`, the `hardware` it runs on, a `base` layer, and `models` (and
//! optionally `variants`). A job is one (model, variant, hardware); its configuration is the
//! deep merge, later layers winning, of:
//!
//! 1. `base`
//! 2. `on.<hardware>`
//! 3. `models.<model>`
//! 4. `models.<model>.on.<hardware>`
//! 5. `variants.<variant>`
//! 6. `variants.<variant>.on.<hardware>`
//!
//! On the command line, `--base FILE` adds a layer right after `base` (1b: what every job starts
//! from, under the suite's hardware, model and variant layers), and `--deploy NAME` applies the
//! deploy library's parallelism last (7: see [`crate::deploy`]), so it wins over every layer.
//!
//! Tables merge key by key; any other value replaces. In `server.args` and `client.args` a flag
//! maps to its value (`true` for a bare flag); `false` removes a flag an earlier layer set, and
//! `false` for a whole section (`sweep = false`) removes the section. `only_on = [...]` limits a
//! model or a variant to some hardware. Argument values may use `{model}`, `{tokenizer}`,
//! `{port}`, and in the client `{value}` (the sweep point) and `{prompts}`.
//!
//! A `server` is a Python module (`module = "sglang.launch_server"`, started with `python3 -m`)
//! or a program (`command = ["/path/llama-server"]`), then its `args`.
//!
//! Per job, besides the sections: `cron_job` (the predecessor's cron job it replaces, under
//! which a run that cannot start is reported), `folder_variant` (the variant's suffix in the run
//! folder, where the predecessor's differs from the variant's name) and `manual = true` (run
//! only when `--job` names it). PD jobs take `[pd]` with `worker`/`router` programs,
//! `prefill_args`, `decode_args`, `router_args` and `{port}` for each service's own port.
//!
//! Parsing is pure (`parse(text, name)`); errors name the file, the layer and the key.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use toml::Value;

/// What a suite does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Server + GSM8K gate + bench_serving sweep (F4–F6, F8).
    Online,
    /// bench_one_batch grids (F7).
    Offline,
    /// GSM8K over many models, each with its threshold (F9).
    Sanity,
    /// Prefill/decode disaggregation (F10).
    Pd,
    /// The unit test (F11).
    Unit,
    /// Whether the nightly images exist (F13).
    ImageCheck,
    /// Upstream CI coverage report.
    Upstream,
    /// The CPU smoke suite (F18).
    Smoke,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SuiteError {
    #[error("{file}: not TOML: {reason}")]
    Toml { file: String, reason: String },
    #[error("{file}: {at}: {reason}")]
    Invalid {
        file: String,
        at: String,
        reason: String,
    },
}

/// A parsed suite: its header and the raw layers, validated.
#[derive(Debug, Clone)]
pub struct Suite {
    pub file: String,
    pub name: String,
    pub kind: Kind,
    pub description: String,
    pub hardware: Vec<String>,
    base: Value,
    on: BTreeMap<String, Value>,
    models: BTreeMap<String, Layered>,
    variants: BTreeMap<String, Layered>,
    /// `--grid FILE`: the cells every offline job runs instead of its lists' product.
    grid: Option<crate::grid::Grid>,
    /// `--base FILE`: a layer merged over `base`, before the hardware layer.
    extra_base: Option<(String, Value)>,
    /// `--deploy NAME`: the parallelism every job runs with, applied last.
    deploy: Option<std::sync::Arc<dyn JobLayer>>,
    /// `--mconf <N>l`: every job's model reduced to N layers, in directories under this root.
    reduced: Option<(u32, String)>,
}

/// A layer applied to every resolved job after the suite's own (the deploy library's
/// parallelism): typed, so it can remove and replace flags rather than only merge.
pub trait JobLayer: std::fmt::Debug + Send + Sync {
    /// Its name (`tp8ep8`), recorded with the run.
    fn name(&self) -> &str;
    /// The file it came from, for errors.
    fn file(&self) -> &str;
    /// The nodes the layer spans (1: one host).
    fn nnodes(&self) -> u32 {
        1
    }
    /// Changes one job's configuration; `at` names the job in errors.
    fn apply(&self, kind: Kind, config: &mut JobConfig, at: &str) -> Result<(), SuiteError>;
}

/// A model's or a variant's layer, with its per-hardware layers and its hardware limit.
#[derive(Debug, Clone)]
struct Layered {
    layer: Value,
    on: BTreeMap<String, Value>,
    only_on: Option<Vec<String>>,
}

/// The hardware labels sglci knows (others are refused, so a typo does not silently match
/// nothing).
pub const HARDWARE: &[&str] = &["mi30x", "mi35x", "mi325x", "h100", "h200", "b200", "cpu"];

/// The keys of one layer (what `[base]`, a model, a variant or `--base FILE` may set).
const LAYER_KEYS: &[&str] = &[
    "label",
    "model",
    "tokenizer",
    "timeout_minutes",
    "cron_job",
    "folder_variant",
    "manual",
    "skip_gate",
    "env",
    "server",
    "gsm8k",
    "sweep",
    "client",
    "offline",
    "sanity",
    "pd",
    "unit",
    "image_check",
    "upstream",
];

const TOP_KEYS: &[&str] = &[
    "name",
    "kind",
    "description",
    "hardware",
    "base",
    "on",
    "models",
    "variants",
];

/// A configuration error naming the file, where in it, and why.
pub(crate) fn invalid(file: &str, at: &str, reason: impl Into<String>) -> SuiteError {
    SuiteError::Invalid {
        file: file.to_owned(),
        at: at.to_owned(),
        reason: reason.into(),
    }
}

fn table<'a>(
    v: &'a Value,
    file: &str,
    at: &str,
) -> Result<&'a toml::map::Map<String, Value>, SuiteError> {
    v.as_table().ok_or_else(|| {
        invalid(
            file,
            at,
            format!("expected a table, found {}", v.type_str()),
        )
    })
}

fn hardware_list(v: &Value, file: &str, at: &str) -> Result<Vec<String>, SuiteError> {
    let arr = v
        .as_array()
        .ok_or_else(|| invalid(file, at, "expected a list of hardware labels"))?;
    arr.iter()
        .map(|h| {
            let h = h
                .as_str()
                .ok_or_else(|| invalid(file, at, "hardware labels are strings"))?;
            if HARDWARE.contains(&h) {
                Ok(h.to_owned())
            } else {
                Err(invalid(
                    file,
                    at,
                    format!(
                        "unknown hardware `{h}` (hint: one of {})",
                        HARDWARE.join(", ")
                    ),
                ))
            }
        })
        .collect()
}

/// `on.<hw>` tables of a layer, removed from it.
fn split_on(
    layer: &mut toml::map::Map<String, Value>,
    file: &str,
    at: &str,
) -> Result<BTreeMap<String, Value>, SuiteError> {
    let mut out = BTreeMap::new();
    if let Some(on) = layer.remove("on") {
        for (hw, v) in table(&on, file, &format!("{at}.on"))? {
            if !HARDWARE.contains(&hw.as_str()) {
                return Err(invalid(
                    file,
                    &format!("{at}.on.{hw}"),
                    format!("unknown hardware (hint: one of {})", HARDWARE.join(", ")),
                ));
            }
            table(v, file, &format!("{at}.on.{hw}"))?;
            out.insert(hw.clone(), v.clone());
        }
    }
    Ok(out)
}

fn layered(v: &Value, file: &str, at: &str) -> Result<Layered, SuiteError> {
    let mut t = table(v, file, at)?.clone();
    let on = split_on(&mut t, file, at)?;
    let only_on = match t.remove("only_on") {
        Some(list) => Some(hardware_list(&list, file, &format!("{at}.only_on"))?),
        None => None,
    };
    Ok(Layered {
        layer: Value::Table(t),
        on,
        only_on,
    })
}

/// A bundled file by name (`<dir>/<name>.toml` in errors), or a file by path (anything with a
/// `/` or a `.toml` suffix), parsed by `parse`; an unknown name lists the bundled ones. Suites
/// and deploys share it.
pub fn load_named<T>(
    name_or_file: &str,
    bundled: &[(&str, &str)],
    dir: &str,
    flag: &str,
    what: &str,
    parse: fn(&str, &str) -> Result<T, SuiteError>,
) -> Result<T, SuiteError> {
    if let Some((n, text)) = bundled.iter().find(|(n, _)| *n == name_or_file) {
        return parse(text, &format!("{dir}/{n}.toml"));
    }
    if name_or_file.contains('/') || name_or_file.ends_with(".toml") {
        let text = std::fs::read_to_string(name_or_file).map_err(|e| SuiteError::Toml {
            file: name_or_file.to_owned(),
            reason: e.to_string(),
        })?;
        return parse(&text, name_or_file);
    }
    let names: Vec<&str> = bundled.iter().map(|(n, _)| *n).collect();
    Err(invalid(
        name_or_file,
        flag,
        format!(
            "no such {what} (hint: one of {}, or a path to a .toml file)",
            names.join(", ")
        ),
    ))
}

/// Parses a suite file. `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<Suite, SuiteError> {
    let doc: Value =
        text.parse::<toml::Table>()
            .map(Value::Table)
            .map_err(|e| SuiteError::Toml {
                file: file.to_owned(),
                reason: e.to_string(),
            })?;
    let top = table(&doc, file, "(top level)")?;
    for k in top.keys() {
        if !TOP_KEYS.contains(&k.as_str()) {
            return Err(invalid(
                file,
                k,
                format!("unknown key (hint: one of {})", TOP_KEYS.join(", ")),
            ));
        }
    }
    let name = top
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(file, "name", "required, a string"))?
        .to_owned();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(invalid(file, "name", "letters, digits, `-` and `_` only"));
    }
    let kind: Kind = top
        .get("kind")
        .cloned()
        .ok_or_else(|| invalid(file, "kind", "required"))?
        .try_into()
        .map_err(|e: toml::de::Error| {
            invalid(
                file,
                "kind",
                format!(
                    "{} (hint: online, offline, sanity, pd, unit, image-check, upstream, smoke)",
                    e.message()
                ),
            )
        })?;
    let description = top
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let hardware = hardware_list(
        top.get("hardware")
            .ok_or_else(|| invalid(file, "hardware", "required, e.g. [\"mi30x\", \"mi35x\"]"))?,
        file,
        "hardware",
    )?;
    let base = top
        .get("base")
        .cloned()
        .unwrap_or_else(|| Value::Table(toml::map::Map::new()));
    table(&base, file, "base")?;
    let on = match top.get("on") {
        Some(v) => {
            let mut wrapper = toml::map::Map::new();
            wrapper.insert("on".to_owned(), v.clone());
            split_on(&mut wrapper, file, "")?
        }
        None => BTreeMap::new(),
    };
    let mut models = BTreeMap::new();
    for (m, v) in table(
        top.get("models")
            .ok_or_else(|| invalid(file, "models", "required: at least one model"))?,
        file,
        "models",
    )? {
        models.insert(m.clone(), layered(v, file, &format!("models.{m}"))?);
    }
    if models.is_empty() {
        return Err(invalid(file, "models", "at least one model"));
    }
    let mut variants = BTreeMap::new();
    if let Some(v) = top.get("variants") {
        for (name, layer) in table(v, file, "variants")? {
            variants.insert(
                name.clone(),
                layered(layer, file, &format!("variants.{name}"))?,
            );
        }
    }
    let suite = Suite {
        file: file.to_owned(),
        name,
        kind,
        description,
        hardware,
        base,
        on,
        models,
        variants,
        grid: None,
        extra_base: None,
        deploy: None,
        reduced: None,
    };
    // Every job must resolve: errors surface when the file is read, not at 3 a.m.
    for hw in suite.hardware.clone() {
        suite.jobs(&hw)?;
    }
    Ok(suite)
}

/// Deep merge: tables key by key, anything else replaced; `false` deletes a table entry.
fn merge(into: &mut Value, layer: &Value) {
    match (into, layer) {
        (Value::Table(a), Value::Table(b)) => {
            for (k, v) in b {
                match (a.get_mut(k), v) {
                    (_, Value::Boolean(false)) => {
                        a.remove(k);
                    }
                    (Some(existing @ Value::Table(_)), Value::Table(_)) => merge(existing, v),
                    _ => {
                        a.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

/// One resolved job's configuration (after merging its layers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobConfig {
    /// The model's label in folder names (`MOE-I4F8`, `FP8`).
    #[serde(default)]
    pub label: Option<String>,
    /// The model path (inside the container).
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub tokenizer: Option<String>,
    #[serde(default = "default_timeout")]
    pub timeout_minutes: u32,
    /// The predecessor's cron job this job replaces (`grok_nightly`, `test_nightly_pd`): when
    /// the run cannot start (busy GPUs, no image), the failure is logged as that job's cron log
    /// so the night's status board shows it with its class.
    #[serde(default)]
    pub cron_job: Option<String>,
    /// The variant's suffix in the run folder name, where the predecessor's differs from the
    /// variant's name (its DP test shared `_dp_attention`); default: the variant's name.
    #[serde(default)]
    pub folder_variant: Option<String>,
    /// Planned, but run only when `--job` names it, never in a whole-suite run (the
    /// predecessor's DP + torch-compile job, disabled after GPU memory faults). `true` only:
    /// `false` in a layer removes the key, as everywhere.
    #[serde(default)]
    pub manual: bool,
    /// Why the GSM8K gate is not run (dummy weights): the gate is dropped and every result of
    /// the job says why, instead of a gate that could only fail.
    #[serde(default)]
    pub skip_gate: Option<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub server: Option<ServerConfig>,
    #[serde(default)]
    pub gsm8k: Option<Gsm8kConfig>,
    #[serde(default)]
    pub sweep: Option<SweepConfig>,
    #[serde(default)]
    pub client: Option<ClientConfig>,
    #[serde(default)]
    pub offline: Option<OfflineConfig>,
    #[serde(default)]
    pub sanity: Option<SanityConfig>,
    #[serde(default)]
    pub pd: Option<PdConfig>,
    #[serde(default)]
    pub unit: Option<UnitConfig>,
    #[serde(default)]
    pub image_check: Option<ImageCheckConfig>,
    #[serde(default)]
    pub upstream: Option<UpstreamConfig>,
}

fn default_timeout() -> u32 {
    240
}

/// A flag → value table (`true` = bare flag).
pub type Args = BTreeMap<String, Value>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Python module started with `python3 -m` (SGLang's `sglang.launch_server`); or `command`.
    #[serde(default)]
    pub module: Option<String>,
    /// The server program and its leading arguments, instead of a Python module (llama.cpp's
    /// `llama-server` in the CPU suites).
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// Log line that means ready.
    pub ready: String,
    pub ready_timeout_s: u32,
    #[serde(default = "default_port")]
    pub port: u16,
    /// The backend's name in log file names (`sglang_client_log_<MODEL>_<backend>_…`); defaults
    /// to the `--attention-backend` argument.
    #[serde(default)]
    pub backend: Option<String>,
    #[serde(default)]
    pub args: Args,
}

fn default_port() -> u16 {
    30000
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gsm8kConfig {
    pub threshold: f64,
    pub runs: u32,
    /// Runs below this are excluded from the mean (a broken run, not a low score).
    #[serde(default)]
    pub exclude_below: f64,
    pub questions: u32,
    pub parallel: u32,
    pub shots: u32,
    /// Which GSM8K client asks the questions.
    #[serde(default)]
    pub client: Gsm8kClient,
}

/// The GSM8K client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Gsm8kClient {
    /// SGLang's `benchmark/gsm8k/bench_sglang.py` inside the image (SGLang's native API).
    #[default]
    BenchSglang,
    /// `sglci-runner gsm8k`: few-shot over an OpenAI-compatible `/v1/completions` with the
    /// questions shipped with sglci (servers without SGLang's API, such as llama.cpp).
    Builtin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SweepBy {
    RequestRate,
    Concurrency,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepConfig {
    pub by: SweepBy,
    pub values: Vec<f64>,
    /// Prompts per point, parallel to `values`.
    pub prompts: Vec<u32>,
    #[serde(default = "one")]
    pub runs: u32,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    #[serde(default = "default_client")]
    pub module: String,
    #[serde(default)]
    pub args: Args,
}

fn default_client() -> String {
    "sglang.bench_serving".to_owned()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfflineConfig {
    pub batch_sizes: Vec<u32>,
    pub input_lens: Vec<u32>,
    pub output_lens: Vec<u32>,
    #[serde(default)]
    pub args: Args,
    /// Extra arguments at given batch sizes (`"128" = { "--mem-fraction-static" = 0.85 }`).
    #[serde(default)]
    pub at_batch_size: BTreeMap<String, Args>,
    /// The benchmark module started with `python3 -m`.
    #[serde(default = "default_one_batch")]
    pub module: String,
    /// (batch size, input, output) cells from `--grid`, instead of the lists' product.
    #[serde(skip)]
    pub cells: Option<Vec<(u32, u32, u32)>>,
}

fn default_one_batch() -> String {
    "sglang.bench_one_batch".to_owned()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SanityConfig {
    pub threshold: f64,
    pub trials: u32,
    pub questions: u32,
    pub parallel: u32,
    /// Image tags containing one of these skip the model (GROK2.5 on rocm630).
    #[serde(default)]
    pub skip_tags_containing: Vec<String>,
    /// Which GSM8K client asks the questions.
    #[serde(default)]
    pub client: Gsm8kClient,
    /// Few-shot examples for the builtin client (bench_sglang.py uses its own default).
    #[serde(default)]
    pub shots: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PdConfig {
    pub prefill_gpus: String,
    pub decode_gpus: String,
    pub prefill_port: u16,
    pub decode_port: u16,
    pub router_port: u16,
    /// The worker program (prefill and decode), before its arguments.
    #[serde(default = "default_pd_worker")]
    pub worker: Vec<String>,
    /// The router program, before its arguments.
    #[serde(default = "default_pd_router")]
    pub router: Vec<String>,
    #[serde(default)]
    pub prefill_args: Args,
    #[serde(default)]
    pub decode_args: Args,
    /// Added to the router's own `--pd-disaggregation --prefill … --decode … --host --port`.
    #[serde(default)]
    pub router_args: Args,
    #[serde(default)]
    pub prefill_env: BTreeMap<String, String>,
    #[serde(default)]
    pub decode_env: BTreeMap<String, String>,
    /// Seconds each of the three services gets to answer its health check.
    #[serde(default = "default_pd_ready")]
    pub ready_timeout_s: u32,
    pub threshold: f64,
    pub questions: u32,
    pub parallel: u32,
    pub shots: u32,
    /// GSM8K questions (JSONL) for sglci's client; default: the ones shipped with sglci.
    #[serde(default)]
    pub data: Option<String>,
    #[serde(default = "default_pd_max_tokens")]
    pub max_tokens: u32,
}

fn default_pd_worker() -> Vec<String> {
    ["python3", "-m", "sglang.launch_server"]
        .map(str::to_owned)
        .to_vec()
}

fn default_pd_router() -> Vec<String> {
    ["python3", "-m", "sglang_router.launch_router"]
        .map(str::to_owned)
        .to_vec()
}

fn default_pd_ready() -> u32 {
    1800
}

fn default_pd_max_tokens() -> u32 {
    512
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitConfig {
    /// `python3 -m unittest` target.
    pub test: String,
    pub gpus: u32,
    pub workdir: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageCheckConfig {
    pub repo: String,
    /// Tag shapes `v{version}-{rocm}-{hardware}-{date}` that must exist (the `{date}` is the
    /// Pacific-time image date).
    pub required: Vec<ImageSpec>,
    #[serde(default)]
    pub optional: Vec<ImageSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageSpec {
    pub hardware: String,
    pub rocm: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    pub gpus: u32,
    pub timeout_s: u32,
    pub tests: Vec<String>,
}

/// One job of a suite.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    pub suite: String,
    pub kind: Kind,
    /// The model's name (`<name>-<N>l` for a reduced model, so its history is its own).
    pub model: String,
    /// `--mconf <N>l`: the reduced model this job runs.
    pub reduced: Option<ReducedModel>,
    /// `--deploy`: the deployment's name.
    pub deploy: Option<String>,
    pub variant: String,
    pub hardware: String,
    pub config: JobConfig,
}

impl Suite {
    /// The suite with `grid` as every offline job's cells (`--grid FILE`). Only offline suites
    /// have grids.
    pub fn with_grid(mut self, grid: crate::grid::Grid) -> Result<Self, SuiteError> {
        if self.kind != Kind::Offline {
            return Err(invalid(
                &self.file,
                "--grid",
                format!(
                    "`{}` is a {:?} suite; a grid applies to offline suites (e.g. grok-offline)",
                    self.name, self.kind
                ),
            ));
        }
        self.grid = Some(grid);
        Ok(self)
    }

    /// The suite with `layer` (a `--base FILE`, one layer of the same keys as `[base]`) merged
    /// over its `base`. Every job must still resolve; errors name `file`.
    pub fn with_base(mut self, text: &str, file: &str) -> Result<Self, SuiteError> {
        let layer: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| SuiteError::Toml {
                file: file.to_owned(),
                reason: e.to_string(),
            })?;
        for k in layer.keys() {
            if !LAYER_KEYS.contains(&k.as_str()) {
                return Err(invalid(
                    file,
                    k,
                    format!(
                        "not a layer key (hint: a base file holds what a suite's [base] holds: {})",
                        LAYER_KEYS.join(", ")
                    ),
                ));
            }
        }
        self.extra_base = Some((file.to_owned(), Value::Table(layer)));
        self.check_all(file)?;
        Ok(self)
    }

    /// The suite with every job on `deploy`'s parallelism (`--deploy NAME`, a
    /// [`crate::deploy::Deploy`]).
    pub fn with_deploy(mut self, deploy: impl JobLayer + 'static) -> Result<Self, SuiteError> {
        let file = deploy.file().to_owned();
        self.deploy = Some(std::sync::Arc::new(deploy));
        self.check_all(&file)?;
        Ok(self)
    }

    /// The suite with every job's model reduced to `layers` layers with dummy weights
    /// (`--mconf <N>l`), its reduced directories under `root` (absolute: the same path on the
    /// host and in the job's container). Only online and offline (SGLang) suites take one.
    pub fn with_mconf(mut self, layers: u32, root: &str) -> Result<Self, SuiteError> {
        if !matches!(self.kind, Kind::Online | Kind::Offline) {
            return Err(invalid(
                &self.file,
                "--mconf",
                format!(
                    "`{}` is a {:?} suite: a reduced model with SGLang's dummy weights is for online and offline suites",
                    self.name, self.kind
                ),
            ));
        }
        self.reduced = Some((layers, root.trim_end_matches('/').to_owned()));
        self.check_all("--mconf")?;
        Ok(self)
    }

    /// The deploy chosen with `--deploy`.
    pub fn deploy(&self) -> Option<&dyn JobLayer> {
        self.deploy.as_deref()
    }

    /// Every job on every hardware resolves; an error is reported against `file` as well.
    fn check_all(&self, file: &str) -> Result<(), SuiteError> {
        for hw in &self.hardware {
            self.jobs(hw).map_err(|e| match e {
                SuiteError::Invalid { at, reason, .. } => SuiteError::Invalid {
                    file: format!("{} with {file}", self.file),
                    at,
                    reason,
                },
                other => other,
            })?;
        }
        Ok(())
    }

    /// The jobs on `hardware`, in (model, variant) order.
    pub fn jobs(&self, hardware: &str) -> Result<Vec<Job>, SuiteError> {
        let file = self.file.as_str();
        if !self.hardware.iter().any(|h| h == hardware) {
            return Err(invalid(
                file,
                "hardware",
                format!(
                    "the suite does not run on `{hardware}` (hint: one of {})",
                    self.hardware.join(", ")
                ),
            ));
        }
        let allowed = |l: &Layered| {
            l.only_on
                .as_ref()
                .is_none_or(|o| o.iter().any(|h| h == hardware))
        };
        let standard = Layered {
            layer: Value::Table(toml::map::Map::new()),
            on: BTreeMap::new(),
            only_on: None,
        };
        let variants: Vec<(&str, &Layered)> = if self.variants.is_empty() {
            vec![("standard", &standard)]
        } else {
            self.variants
                .iter()
                .filter(|(_, v)| allowed(v))
                .map(|(n, v)| (n.as_str(), v))
                .collect()
        };
        let mut out = Vec::new();
        for (model, m) in self.models.iter().filter(|(_, m)| allowed(m)) {
            for (variant, v) in &variants {
                let mut merged = self.base.clone();
                let layers = [
                    self.extra_base.as_ref().map(|(_, l)| l),
                    self.on.get(hardware),
                    Some(&m.layer),
                    m.on.get(hardware),
                    Some(&v.layer),
                    v.on.get(hardware),
                ];
                for l in layers.into_iter().flatten() {
                    merge(&mut merged, l);
                }
                let at = format!("models.{model} × variants.{variant} on {hardware}");
                let mut config: JobConfig = merged
                    .try_into()
                    .map_err(|e: toml::de::Error| invalid(file, &at, e.message().to_owned()))?;
                if let Some(d) = &self.deploy {
                    d.apply(self.kind, &mut config, &at)?;
                }
                let reduced = self
                    .reduced
                    .as_ref()
                    .map(|(n, root)| reduce_model(&mut config, model, *n, root));
                validate(&config, self.kind, file, &at)?;
                if let (Some(g), Some(o)) = (&self.grid, config.offline.as_mut()) {
                    o.cells = Some(g.cells(&o.output_lens));
                }
                out.push(Job {
                    suite: self.name.clone(),
                    kind: self.kind,
                    model: reduced
                        .as_ref()
                        .map_or_else(|| model.clone(), |r| r.model.clone()),
                    reduced,
                    deploy: self.deploy.as_ref().map(|d| d.name().to_owned()),
                    variant: (*variant).to_owned(),
                    hardware: hardware.to_owned(),
                    config,
                });
            }
        }
        Ok(out)
    }
}

/// A job's model reduced to fewer layers (`--mconf <N>l`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReducedModel {
    pub layers: u32,
    /// The model's name in the suite.
    pub of: String,
    /// The reduced model's name (`<name>-<N>l`).
    pub model: String,
    /// The full model's directory (its `config.json` and tokenizer files).
    pub source: String,
    /// The reduced model's directory (a `config.json` with N layers, the rest linked).
    pub dir: String,
    /// The suite's GSM8K gate was dropped (dummy weights have no accuracy).
    #[serde(skip)]
    pub gate_dropped: bool,
}

/// Points `c` at the reduced model's directory with dummy weights: the tokenizer stays the full
/// model's, `--load-format dummy` replaces any load format, and the GSM8K gate is dropped (random
/// weights have no accuracy; the plan says so).
fn reduce_model(c: &mut JobConfig, model: &str, n: u32, root: &str) -> ReducedModel {
    let source = c.model.clone().unwrap_or_default();
    let name = format!("{model}-{n}l");
    let dir = format!("{root}/{name}");
    c.tokenizer.get_or_insert_with(|| source.clone());
    c.model = Some(dir.clone());
    let tokenizer = c.tokenizer.clone().unwrap_or_default();
    let dummy = |args: &mut Args| {
        args.insert(
            "--load-format".to_owned(),
            Value::String("dummy".to_owned()),
        );
        // The tokenizer is read from the full model, whether or not its files could be linked.
        if !args.contains_key("--tokenizer-path") {
            args.insert(
                "--tokenizer-path".to_owned(),
                Value::String(tokenizer.clone()),
            );
        }
    };
    c.server.iter_mut().for_each(|s| dummy(&mut s.args));
    c.offline.iter_mut().for_each(|o| dummy(&mut o.args));
    let gate_dropped = c.gsm8k.take().is_some();
    ReducedModel {
        layers: n,
        of: model.to_owned(),
        model: name,
        source,
        dir,
        gate_dropped,
    }
}

/// A server is started either as a Python module or as a program, never both.
fn server_program(c: &JobConfig, file: &str, at: &str) -> Result<(), SuiteError> {
    let Some(s) = &c.server else { return Ok(()) };
    match (&s.module, &s.command) {
        (Some(_), None) => Ok(()),
        (None, Some(cmd)) if !cmd.is_empty() => Ok(()),
        (Some(_), Some(_)) => Err(invalid(
            file,
            &format!("{at}: server"),
            "give `module` or `command`, not both (hint: `command = false` in a layer removes an inherited one)",
        )),
        _ => Err(invalid(
            file,
            &format!("{at}: server"),
            "needs `module` (a Python module for `python3 -m`) or `command` (a program and its first arguments)",
        )),
    }
}

/// What each kind needs, and consistency of what is given.
fn validate(c: &JobConfig, kind: Kind, file: &str, at: &str) -> Result<(), SuiteError> {
    let need = |present: bool, what: &str| {
        if present {
            Ok(())
        } else {
            Err(invalid(file, at, format!("a {kind:?} job needs `{what}`")))
        }
    };
    match kind {
        Kind::Online | Kind::Smoke => {
            need(c.server.is_some(), "server")?;
            server_program(c, file, at)?;
            need(c.model.is_some(), "model")?;
            need(c.gsm8k.is_some() || c.sweep.is_some(), "gsm8k or sweep")?;
            if c.skip_gate.is_some() {
                need(c.sweep.is_some(), "sweep (its gate is skipped)")?;
            }
            if c.sweep.is_some() {
                need(c.client.is_some(), "client")?;
            }
        }
        Kind::Offline => {
            need(c.offline.is_some(), "offline")?;
            need(c.model.is_some(), "model")?;
        }
        Kind::Sanity => {
            need(c.server.is_some(), "server")?;
            server_program(c, file, at)?;
            need(c.sanity.is_some(), "sanity")?;
            need(c.model.is_some(), "model")?;
        }
        Kind::Pd => {
            need(c.pd.is_some(), "pd")?;
            need(c.model.is_some(), "model")?;
        }
        Kind::Unit => need(c.unit.is_some(), "unit")?,
        Kind::ImageCheck => need(c.image_check.is_some(), "image_check")?,
        Kind::Upstream => need(c.upstream.is_some(), "upstream")?,
    }
    if let Some(s) = &c.sweep {
        if s.values.is_empty() || s.values.len() != s.prompts.len() {
            return Err(invalid(
                file,
                &format!("{at}: sweep"),
                format!(
                    "`prompts` gives one count per value: {} values, {} prompt counts",
                    s.values.len(),
                    s.prompts.len()
                ),
            ));
        }
        if s.values.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
            return Err(invalid(
                file,
                &format!("{at}: sweep.values"),
                "positive numbers",
            ));
        }
    }
    for (name, th) in [
        ("gsm8k.threshold", c.gsm8k.as_ref().map(|g| g.threshold)),
        ("sanity.threshold", c.sanity.as_ref().map(|s| s.threshold)),
        ("pd.threshold", c.pd.as_ref().map(|p| p.threshold)),
    ] {
        if let Some(t) = th {
            if !(0.0..=1.0).contains(&t) {
                return Err(invalid(
                    file,
                    &format!("{at}: {name}"),
                    "an accuracy between 0 and 1",
                ));
            }
        }
    }
    for (k, v) in c.server.iter().flat_map(|s| s.args.iter()) {
        check_arg(k, v, file, at)?;
    }
    for (k, v) in c.client.iter().flat_map(|s| s.args.iter()) {
        check_arg(k, v, file, at)?;
    }
    if let Some(pd) = &c.pd {
        for (k, v) in pd
            .prefill_args
            .iter()
            .chain(&pd.decode_args)
            .chain(&pd.router_args)
        {
            check_arg(k, v, file, at)?;
        }
        for (name, program) in [("pd.worker", &pd.worker), ("pd.router", &pd.router)] {
            if program.is_empty() {
                return Err(invalid(
                    file,
                    &format!("{at}: {name}"),
                    "a program and its leading arguments, e.g. [\"python3\", \"-m\", \"sglang.launch_server\"]",
                ));
            }
        }
        let ports = [pd.prefill_port, pd.decode_port, pd.router_port];
        if ports[0] == ports[1] || ports[0] == ports[2] || ports[1] == ports[2] {
            return Err(invalid(
                file,
                &format!("{at}: pd"),
                "prefill_port, decode_port and router_port must differ",
            ));
        }
    }
    Ok(())
}

fn check_arg(k: &str, v: &Value, file: &str, at: &str) -> Result<(), SuiteError> {
    if !k.starts_with("--") {
        return Err(invalid(
            file,
            &format!("{at}: args.{k}"),
            "flags start with `--`",
        ));
    }
    match v {
        Value::String(_) | Value::Integer(_) | Value::Float(_) | Value::Boolean(true) => Ok(()),
        other => Err(invalid(
            file,
            &format!("{at}: args.{k}"),
            format!(
                "a flag's value is a string, a number or true, not {}",
                other.type_str()
            ),
        )),
    }
}

/// Renders an argument table as argv, in flag order, with placeholders replaced.
pub fn argv(args: &Args, vars: &BTreeMap<&str, String>) -> Vec<String> {
    let mut out = Vec::new();
    for (flag, v) in args {
        out.push(flag.clone());
        let value = match v {
            Value::Boolean(true) => continue,
            Value::String(s) => s.clone(),
            Value::Integer(i) => i.to_string(),
            Value::Float(f) => format!("{f}"),
            _ => continue,
        };
        let mut value = value;
        for (name, val) in vars {
            value = value.replace(&format!("{{{name}}}"), val);
        }
        out.push(value);
    }
    out
}
