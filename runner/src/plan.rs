//! The resolved plan of a suite on one hardware (`sglci-runner plan`): every job with its exact
//! command lines, environment, gates and sweep points, as the runner will execute them. Pure.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::suite::{
    argv, Gsm8kClient, ImageCheckConfig, Job, Kind, SanityConfig, Suite, SuiteError, SweepBy,
    UnitConfig, UpstreamConfig,
};

/// Stands for the running `sglci-runner` binary in planned commands (its builtin GSM8K client).
pub const RUNNER: &str = "{runner}";

/// The GSM8K client inside SGLang images.
pub const GSM8K_SCRIPT: &str = "/sgl-workspace/sglang/benchmark/gsm8k/bench_sglang.py";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub suite: String,
    pub kind: Kind,
    pub hardware: String,
    /// The run label, when the image is given (`{tag}` in run folders otherwise).
    pub image: Option<String>,
    /// The deploy (`--deploy`) every job runs with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deploy: Option<String>,
    /// What the image reference implies (`plan --image`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<sglci_core::ImageIdentity>,
    pub jobs: Vec<PlannedJob>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedJob {
    /// `<suite>/<model>/<variant>/<hardware>`.
    pub id: String,
    pub model: String,
    /// Where the model's weights are (the suite's `model`), for the records.
    pub model_path: Option<String>,
    pub label: Option<String>,
    pub variant: String,
    /// The run folder in the log layout (what the publisher's parsers read).
    pub run_folder: Option<String>,
    pub env: BTreeMap<String, String>,
    pub timeout_minutes: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cron_job: Option<String>,
    /// Run only when `--job` names it, not in a whole-suite run.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub manual: bool,
    /// `--mconf <N>l`: the reduced model this job runs (its directory is written before the
    /// job starts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reduced: Option<crate::suite::ReducedModel>,
    /// `--deploy`: the deployment the job runs with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deploy: Option<String>,
    /// Why the GSM8K gate is not run, when the suite has one (dummy weights).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate_skipped: Option<String>,
    /// What the job runs, typed per kind.
    #[serde(flatten)]
    pub spec: JobSpec,
}

/// What a job runs: one variant per task kind, each with its typed configuration, so an
/// executor never decodes its settings (a missing part is a suite error at plan time).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobSpec {
    /// Online and smoke jobs (F4–F6): the server, the GSM8K gate, the serving sweep.
    Online {
        server: ServerPlan,
        gsm8k: Option<GatePlan>,
        sweep: Vec<SweepPoint>,
    },
    /// A `bench_one_batch` grid (F7).
    Offline { cells: Vec<OfflineCell> },
    /// One model of the sanity sweep (F9): its server and its GSM8K trials.
    Sanity {
        server: ServerPlan,
        gate: GatePlan,
        config: SanityConfig,
    },
    /// Prefill/decode disaggregation (F10).
    Pd(PdPlan),
    /// The unit test (F11).
    Unit(UnitConfig),
    /// The nightly image check (F13).
    ImageCheck(ImageCheckConfig),
    /// The upstream coverage report (planned, not executed by the runner).
    Upstream(UpstreamConfig),
}

impl PlannedJob {
    /// The job's server (online, smoke and sanity jobs).
    pub fn server(&self) -> Option<&ServerPlan> {
        match &self.spec {
            JobSpec::Online { server, .. } | JobSpec::Sanity { server, .. } => Some(server),
            _ => None,
        }
    }

    /// The GSM8K gate of an online job.
    pub fn gsm8k(&self) -> Option<&GatePlan> {
        match &self.spec {
            JobSpec::Online { gsm8k, .. } => gsm8k.as_ref(),
            _ => None,
        }
    }

    /// The sweep points of an online job (empty otherwise).
    pub fn sweep(&self) -> &[SweepPoint] {
        match &self.spec {
            JobSpec::Online { sweep, .. } => sweep,
            _ => &[],
        }
    }

    /// The cells of an offline grid (empty otherwise).
    pub fn offline(&self) -> &[OfflineCell] {
        match &self.spec {
            JobSpec::Offline { cells } => cells,
            _ => &[],
        }
    }

    /// The GSM8K trials of a sanity job.
    pub fn sanity(&self) -> Option<&GatePlan> {
        match &self.spec {
            JobSpec::Sanity { gate, .. } => Some(gate),
            _ => None,
        }
    }

    /// The services of a PD job.
    pub fn pd(&self) -> Option<&PdPlan> {
        match &self.spec {
            JobSpec::Pd(p) => Some(p),
            _ => None,
        }
    }

    /// Every command line of the job, for `${VAR}` expansion.
    fn argvs_mut(&mut self) -> Vec<&mut Vec<String>> {
        match &mut self.spec {
            JobSpec::Online {
                server,
                gsm8k,
                sweep,
            } => std::iter::once(&mut server.argv)
                .chain(gsm8k.iter_mut().map(|g| &mut g.argv))
                .chain(sweep.iter_mut().map(|p| &mut p.argv))
                .collect(),
            JobSpec::Offline { cells } => cells.iter_mut().map(|c| &mut c.argv).collect(),
            JobSpec::Sanity { server, gate, .. } => vec![&mut server.argv, &mut gate.argv],
            JobSpec::Pd(pd) => vec![
                &mut pd.prefill.argv,
                &mut pd.decode.argv,
                &mut pd.router.argv,
                &mut pd.gsm8k.argv,
            ],
            JobSpec::Unit(_) | JobSpec::ImageCheck(_) | JobSpec::Upstream(_) => Vec::new(),
        }
    }
}

/// F10: the three services of a prefill/decode disaggregation test and its GSM8K client.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PdPlan {
    pub prefill: PdService,
    pub decode: PdService,
    pub router: PdService,
    /// sglci's GSM8K client through the router (one run).
    pub gsm8k: GatePlan,
    pub ready_timeout_s: u32,
    /// The `model` of every request (the router requires one).
    pub model: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PdService {
    pub argv: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub port: u16,
    /// `0,1,2,3`; empty for the router.
    pub gpus: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerPlan {
    pub argv: Vec<String>,
    pub ready: String,
    pub ready_timeout_s: u32,
    pub port: u16,
    /// The backend's name in log file names.
    pub backend: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GatePlan {
    pub argv: Vec<String>,
    pub threshold: f64,
    /// Attempts (GSM8K runs, sanity trials); the first pass ends early.
    pub attempts: u32,
    pub exclude_below: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepPoint {
    pub by: SweepBy,
    pub value: f64,
    pub prompts: u32,
    pub runs: u32,
    pub argv: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OfflineCell {
    pub batch_size: u32,
    pub input_len: u32,
    pub output_len: u32,
    pub argv: Vec<String>,
}

fn python_m(module: &str) -> Vec<String> {
    vec!["python3".to_owned(), "-m".to_owned(), module.to_owned()]
}

/// A number as the predecessor wrote it in commands (`8`, not `8.0`).
fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// Replaces `${VAR}`; returns the text and the first unset variable (text unchanged there).
pub fn expand(s: &str, lookup: &dyn Fn(&str) -> Option<String>) -> (String, Option<String>) {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    let mut unset = None;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let Some(j) = rest[i..].find('}') else {
            break;
        };
        let name = &rest[i + 2..i + j];
        match lookup(name) {
            Some(v) => out.push_str(&v),
            None => {
                unset.get_or_insert_with(|| name.to_owned());
                out.push_str(&rest[i..=i + j]);
            }
        }
        rest = &rest[i + j + 1..];
    }
    out.push_str(rest);
    (out, unset)
}

fn folder_suffix(kind: Kind) -> &'static str {
    match kind {
        Kind::Offline => "offline",
        _ => "online",
    }
}

/// Resolves a suite's jobs on one hardware into their commands. `${VAR}` references (model
/// paths on a host) are left as they are; [`plan_with_env`] fills them in.
pub fn plan(suite: &Suite, hardware: &str, image: Option<&str>) -> Result<Plan, SuiteError> {
    plan_with_env(suite, hardware, image, &|_| None, false)
}

/// [`plan`], with `${VAR}` in every command, environment value, model and run folder replaced
/// through `lookup`; with `strict`, an unset variable is an error naming the job and the hint.
pub fn plan_with_env(
    suite: &Suite,
    hardware: &str,
    image: Option<&str>,
    lookup: &dyn Fn(&str) -> Option<String>,
    strict: bool,
) -> Result<Plan, SuiteError> {
    let mut jobs: Vec<PlannedJob> = suite
        .jobs(hardware)?
        .into_iter()
        .map(|j| planned(j, image, &suite.file))
        .collect::<Result<_, _>>()?;
    for job in &mut jobs {
        let id = job.id.clone();
        let mut missing = None;
        let mut fill = |s: &mut String| {
            let (out, unset) = expand(s, lookup);
            if let Some(v) = unset {
                missing.get_or_insert(v);
            } else {
                *s = out;
            }
        };
        fill(&mut job.model);
        if let Some(p) = job.model_path.as_mut() {
            fill(p);
        }
        if let Some(r) = job.reduced.as_mut() {
            fill(&mut r.source);
        }
        job.env.values_mut().for_each(&mut fill);
        if let JobSpec::Pd(pd) = &mut job.spec {
            for svc in [&mut pd.prefill, &mut pd.decode, &mut pd.router] {
                svc.env.values_mut().for_each(&mut fill);
            }
        }
        for argv in job.argvs_mut() {
            argv.iter_mut().for_each(&mut fill);
        }
        if let (true, Some(var)) = (strict, missing) {
            return Err(SuiteError::Invalid {
                file: suite.file.clone(),
                at: id,
                reason: format!(
                    "`${{{var}}}` is not set (hint: export {var}=… on this host before running the suite)"
                ),
            });
        }
    }
    Ok(Plan {
        suite: suite.name.clone(),
        kind: suite.kind,
        hardware: hardware.to_owned(),
        image: image.map(str::to_owned),
        deploy: suite.deploy().map(|d| d.name().to_owned()),
        identity: None,
        jobs,
    })
}

/// The variables a job's argument templates use (`{model}`, `{tokenizer}`, `{port}`).
fn job_vars(c: &crate::suite::JobConfig) -> BTreeMap<&'static str, String> {
    let port = c.server.as_ref().map_or(30000, |s| s.port);
    let mut vars = BTreeMap::new();
    vars.insert("model", c.model.clone().unwrap_or_default());
    vars.insert(
        "tokenizer",
        c.tokenizer
            .clone()
            .or_else(|| c.model.clone())
            .unwrap_or_default(),
    );
    vars.insert("port", port.to_string());
    vars
}

fn server_plan(s: &crate::suite::ServerConfig, vars: &BTreeMap<&str, String>) -> ServerPlan {
    ServerPlan {
        argv: [
            match (&s.command, &s.module) {
                (Some(cmd), _) => cmd.clone(),
                (None, module) => python_m(module.as_deref().unwrap_or_default()),
            },
            argv(&s.args, vars),
        ]
        .concat(),
        ready: s.ready.clone(),
        ready_timeout_s: s.ready_timeout_s,
        port: s.port,
        backend: s
            .backend
            .clone()
            .unwrap_or_else(|| match s.args.get("--attention-backend") {
                Some(toml::Value::String(b)) => b.clone(),
                _ => "default".to_owned(),
            }),
    }
}

/// A GSM8K client's command line against the server on `port`: the image's `bench_sglang.py`,
/// or this binary's builtin client.
fn gsm8k_argv(
    client: Gsm8kClient,
    port: u16,
    questions: u32,
    parallel: u32,
    shots: Option<u32>,
) -> Vec<String> {
    let mut a = match client {
        Gsm8kClient::BenchSglang => vec!["python3".to_owned(), GSM8K_SCRIPT.to_owned()],
        Gsm8kClient::Builtin => vec![RUNNER.to_owned(), "gsm8k".to_owned()],
    };
    a.extend([
        "--num-questions".to_owned(),
        questions.to_string(),
        "--parallel".to_owned(),
        parallel.to_string(),
    ]);
    if let Some(s) = shots {
        a.extend(["--num-shots".to_owned(), s.to_string()]);
    }
    a.extend([
        "--port".to_owned(),
        port.to_string(),
        "--host".to_owned(),
        "http://127.0.0.1".to_owned(),
    ]);
    a
}

fn sweep_points(c: &crate::suite::JobConfig, vars: &BTreeMap<&str, String>) -> Vec<SweepPoint> {
    let (Some(s), Some(client)) = (&c.sweep, &c.client) else {
        return Vec::new();
    };
    s.values
        .iter()
        .zip(&s.prompts)
        .map(|(v, p)| {
            let mut point_vars = vars.clone();
            point_vars.insert("value", num(*v));
            point_vars.insert("prompts", p.to_string());
            SweepPoint {
                by: s.by,
                value: *v,
                prompts: *p,
                runs: s.runs,
                argv: [python_m(&client.module), argv(&client.args, &point_vars)].concat(),
            }
        })
        .collect()
}

fn offline_cells(
    o: &crate::suite::OfflineConfig,
    vars: &BTreeMap<&str, String>,
) -> Vec<OfflineCell> {
    let product: Vec<(u32, u32, u32)> = o
        .batch_sizes
        .iter()
        .flat_map(|&bs| {
            o.input_lens
                .iter()
                .flat_map(move |&il| o.output_lens.iter().map(move |&ol| (bs, il, ol)))
        })
        .collect();
    let mut cells = Vec::new();
    for &(bs, il, ol) in o.cells.as_ref().unwrap_or(&product) {
        let mut args = o.args.clone();
        if let Some(extra) = o.at_batch_size.get(&bs.to_string()) {
            args.extend(extra.clone());
        }
        let mut a = python_m(&o.module);
        a.extend(argv(&args, vars));
        a.extend([
            "--batch-size".to_owned(),
            bs.to_string(),
            "--input".to_owned(),
            il.to_string(),
            "--output".to_owned(),
            ol.to_string(),
        ]);
        cells.push(OfflineCell {
            batch_size: bs,
            input_len: il,
            output_len: ol,
            argv: a,
        });
    }
    cells
}

/// The run folder in the predecessor's log layout, with `{tag}` until the image is known.
fn run_folder(job: &Job, image: Option<&str>) -> Option<String> {
    let tag = image
        .map(|i| i.rsplit(':').next().unwrap_or(i).to_owned())
        .unwrap_or_else(|| "{tag}".to_owned());
    let c = &job.config;
    match (job.kind, &c.label) {
        (Kind::Online | Kind::Offline | Kind::Smoke, Some(label)) => {
            // The predecessor's folder names: no suffix for the standard online job or the normal
            // offline grid.
            let variant = c.folder_variant.as_deref().unwrap_or(&job.variant);
            let variant = if variant == "standard" || variant == "normal" || variant.is_empty() {
                String::new()
            } else {
                format!("_{variant}")
            };
            Some(format!(
                "{}/{}/{}/{tag}_{}_{label}_{}{variant}",
                if job.kind == Kind::Offline {
                    "offline_benchmark_log"
                } else {
                    "online_benchmark_log"
                },
                job.hardware,
                job.model,
                job.model,
                folder_suffix(job.kind)
            ))
        }
        (Kind::Pd, _) => Some(format!("test/pd/pd_log/{}/{tag}", job.hardware)),
        _ => None,
    }
}

/// The job's typed spec; `validate` in `suite.rs` already checked that each kind has its parts,
/// so a missing one here is reported as the suite error it would be.
fn job_spec(job: &Job, vars: &BTreeMap<&str, String>, file: &str) -> Result<JobSpec, SuiteError> {
    let c = &job.config;
    let missing = |what: &str| SuiteError::Invalid {
        file: file.to_owned(),
        at: format!("{}/{}/{}", job.model, job.variant, job.hardware),
        reason: format!("a {:?} job needs `{what}`", job.kind),
    };
    let port = c.server.as_ref().map_or(30000, |s| s.port);
    Ok(match job.kind {
        Kind::Online | Kind::Smoke => JobSpec::Online {
            server: server_plan(c.server.as_ref().ok_or_else(|| missing("server"))?, vars),
            gsm8k: c
                .gsm8k
                .as_ref()
                .filter(|_| c.skip_gate.is_none())
                .map(|g| GatePlan {
                    argv: gsm8k_argv(g.client, port, g.questions, g.parallel, Some(g.shots)),
                    threshold: g.threshold,
                    attempts: g.runs,
                    exclude_below: g.exclude_below,
                }),
            sweep: sweep_points(c, vars),
        },
        Kind::Offline => JobSpec::Offline {
            cells: offline_cells(c.offline.as_ref().ok_or_else(|| missing("offline"))?, vars),
        },
        Kind::Sanity => {
            let s = c.sanity.as_ref().ok_or_else(|| missing("sanity"))?;
            // bench_sglang.py uses its own number of shots.
            let shots = match s.client {
                Gsm8kClient::BenchSglang => None,
                Gsm8kClient::Builtin => s.shots,
            };
            JobSpec::Sanity {
                server: server_plan(c.server.as_ref().ok_or_else(|| missing("server"))?, vars),
                gate: GatePlan {
                    argv: gsm8k_argv(s.client, port, s.questions, s.parallel, shots),
                    threshold: s.threshold,
                    attempts: s.trials,
                    exclude_below: 0.0,
                },
                config: s.clone(),
            }
        }
        Kind::Pd => JobSpec::Pd(pd_plan(
            c.pd.as_ref().ok_or_else(|| missing("pd"))?,
            &job.model,
            vars,
            &c.env,
        )),
        Kind::Unit => JobSpec::Unit(c.unit.clone().ok_or_else(|| missing("unit"))?),
        Kind::ImageCheck => JobSpec::ImageCheck(
            c.image_check
                .clone()
                .ok_or_else(|| missing("image_check"))?,
        ),
        Kind::Upstream => JobSpec::Upstream(c.upstream.clone().ok_or_else(|| missing("upstream"))?),
    })
}

fn planned(job: Job, image: Option<&str>, file: &str) -> Result<PlannedJob, SuiteError> {
    let vars = job_vars(&job.config);
    let spec = job_spec(&job, &vars, file)?;
    let run_folder = run_folder(&job, image);
    let gate_skipped = job
        .reduced
        .as_ref()
        .filter(|r| r.gate_dropped)
        .map(|r| {
            format!(
                "dummy weights (--mconf {}l): GSM8K would score random weights, so the gate is skipped",
                r.layers
            )
        })
        .or_else(|| job.config.skip_gate.clone());
    let c = job.config;
    Ok(PlannedJob {
        id: format!(
            "{}/{}/{}/{}",
            job.suite, job.model, job.variant, job.hardware
        ),
        model: job.model,
        model_path: c.model,
        label: c.label,
        variant: job.variant,
        run_folder,
        env: c.env,
        timeout_minutes: c.timeout_minutes,
        cron_job: c.cron_job,
        manual: c.manual,
        reduced: job.reduced,
        deploy: job.deploy,
        gate_skipped,
        spec,
    })
}

/// The PD services' command lines. Each worker sees only its GPUs; the router is started with
/// the predecessor's flags on loopback, then the suite's extra ones.
fn pd_plan(
    p: &crate::suite::PdConfig,
    model: &str,
    vars: &BTreeMap<&str, String>,
    env: &BTreeMap<String, String>,
) -> PdPlan {
    let worker =
        |args: &crate::suite::Args, port: u16, gpus: &str, own: &BTreeMap<String, String>| {
            let mut vars = vars.clone();
            vars.insert("port", port.to_string());
            let mut env = env.clone();
            env.extend(own.clone());
            for var in ["HIP_VISIBLE_DEVICES", "CUDA_VISIBLE_DEVICES"] {
                env.insert(var.to_owned(), gpus.to_owned());
            }
            PdService {
                argv: [p.worker.clone(), argv(args, &vars)].concat(),
                env,
                port,
                gpus: gpus.to_owned(),
            }
        };
    let prefill = worker(
        &p.prefill_args,
        p.prefill_port,
        &p.prefill_gpus,
        &p.prefill_env,
    );
    let decode = worker(&p.decode_args, p.decode_port, &p.decode_gpus, &p.decode_env);
    let mut router_argv = p.router.clone();
    router_argv.extend([
        "--pd-disaggregation".to_owned(),
        "--prefill".to_owned(),
        format!("http://127.0.0.1:{}", p.prefill_port),
        "--decode".to_owned(),
        format!("http://127.0.0.1:{}", p.decode_port),
        "--host".to_owned(),
        "127.0.0.1".to_owned(),
        "--port".to_owned(),
        p.router_port.to_string(),
    ]);
    let mut router_vars = vars.clone();
    router_vars.insert("port", p.router_port.to_string());
    router_argv.extend(argv(&p.router_args, &router_vars));
    let mut gsm8k = vec![
        RUNNER.to_owned(),
        "gsm8k".to_owned(),
        "--host".to_owned(),
        "http://127.0.0.1".to_owned(),
        "--port".to_owned(),
        p.router_port.to_string(),
        "--num-questions".to_owned(),
        p.questions.to_string(),
        "--parallel".to_owned(),
        p.parallel.to_string(),
        "--num-shots".to_owned(),
        p.shots.to_string(),
        "--max-tokens".to_owned(),
        p.max_tokens.to_string(),
        "--report".to_owned(),
        "pd".to_owned(),
        "--model".to_owned(),
        model.to_owned(),
    ];
    if let Some(d) = &p.data {
        gsm8k.extend(["--data".to_owned(), d.clone()]);
    }
    PdPlan {
        prefill,
        decode,
        router: PdService {
            argv: router_argv,
            env: env.clone(),
            port: p.router_port,
            gpus: String::new(),
        },
        gsm8k: GatePlan {
            argv: gsm8k,
            threshold: p.threshold,
            attempts: 1,
            exclude_below: 0.0,
        },
        ready_timeout_s: p.ready_timeout_s,
        model: model.to_owned(),
    }
}
