//! The resolved plan of a suite on one hardware (`sglci-runner plan`): every job with its exact
//! command lines, environment, gates and sweep points, as the runner will execute them. Pure.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::suite::{argv, Gsm8kClient, Job, Kind, Suite, SuiteError, SweepBy};

/// Stands for the running `sglci-runner` binary in planned commands (its builtin GSM8K client).
pub const RUNNER: &str = "{runner}";

/// The GSM8K client inside SGLang images.
pub const GSM8K_SCRIPT: &str = "/sgl-workspace/sglang/benchmark/gsm8k/bench_sglang.py";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub suite: String,
    pub kind: Kind,
    pub hardware: String,
    /// The image tag, when given (`{tag}` in run folders otherwise).
    pub image: Option<String>,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerPlan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gsm8k: Option<GatePlan>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sweep: Vec<SweepPoint>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub offline: Vec<OfflineCell>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sanity: Option<GatePlan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pd: Option<PdPlan>,
    /// Kind-specific settings passed through (PD, unit, image check, upstream).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
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
        .map(|j| planned(j, image))
        .collect();
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
        job.env.values_mut().for_each(&mut fill);
        if let Some(s) = job.server.as_mut() {
            s.argv.iter_mut().for_each(&mut fill);
        }
        for g in [job.gsm8k.as_mut(), job.sanity.as_mut()]
            .into_iter()
            .flatten()
        {
            g.argv.iter_mut().for_each(&mut fill);
        }
        for p in &mut job.sweep {
            p.argv.iter_mut().for_each(&mut fill);
        }
        for c in &mut job.offline {
            c.argv.iter_mut().for_each(&mut fill);
        }
        if let Some(pd) = job.pd.as_mut() {
            for svc in [&mut pd.prefill, &mut pd.decode, &mut pd.router] {
                svc.argv.iter_mut().for_each(&mut fill);
                svc.env.values_mut().for_each(&mut fill);
            }
            pd.gsm8k.argv.iter_mut().for_each(&mut fill);
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
        jobs,
    })
}

fn planned(job: Job, image: Option<&str>) -> PlannedJob {
    let c = &job.config;
    let port = c.server.as_ref().map_or(30000, |s| s.port);
    let mut vars: BTreeMap<&str, String> = BTreeMap::new();
    vars.insert("model", c.model.clone().unwrap_or_default());
    vars.insert(
        "tokenizer",
        c.tokenizer
            .clone()
            .or_else(|| c.model.clone())
            .unwrap_or_default(),
    );
    vars.insert("port", port.to_string());
    let server = c.server.as_ref().map(|s| ServerPlan {
        argv: [python_m(&s.module), argv(&s.args, &vars)].concat(),
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
    });
    let gsm8k_argv = |questions: u32, parallel: u32, shots: Option<u32>| {
        let mut a = vec![
            "python3".to_owned(),
            GSM8K_SCRIPT.to_owned(),
            "--num-questions".to_owned(),
            questions.to_string(),
            "--parallel".to_owned(),
            parallel.to_string(),
        ];
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
    };
    let gsm8k = c.gsm8k.as_ref().map(|g| GatePlan {
        argv: match g.client {
            Gsm8kClient::BenchSglang => gsm8k_argv(g.questions, g.parallel, Some(g.shots)),
            Gsm8kClient::Builtin => {
                let mut a = gsm8k_argv(g.questions, g.parallel, Some(g.shots));
                a.splice(0..2, [RUNNER.to_owned(), "gsm8k".to_owned()]);
                a
            }
        },
        threshold: g.threshold,
        attempts: g.runs,
        exclude_below: g.exclude_below,
    });
    let sanity = c.sanity.as_ref().map(|s| GatePlan {
        argv: match s.client {
            Gsm8kClient::BenchSglang => gsm8k_argv(s.questions, s.parallel, None),
            Gsm8kClient::Builtin => {
                let mut a = gsm8k_argv(s.questions, s.parallel, s.shots);
                a.splice(0..2, [RUNNER.to_owned(), "gsm8k".to_owned()]);
                a
            }
        },
        threshold: s.threshold,
        attempts: s.trials,
        exclude_below: 0.0,
    });
    let sweep = match (&c.sweep, &c.client) {
        (Some(s), Some(client)) => s
            .values
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
            .collect(),
        _ => Vec::new(),
    };
    let offline = c.offline.as_ref().map_or_else(Vec::new, |o| {
        let mut cells = Vec::new();
        for &bs in &o.batch_sizes {
            for &il in &o.input_lens {
                for &ol in &o.output_lens {
                    let mut args = o.args.clone();
                    if let Some(extra) = o.at_batch_size.get(&bs.to_string()) {
                        args.extend(extra.clone());
                    }
                    let mut a = python_m(&o.module);
                    a.extend(argv(&args, &vars));
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
            }
        }
        cells
    });
    let pd = c.pd.as_ref().map(|p| pd_plan(p, &job.model, &vars, &c.env));
    let details = match job.kind {
        Kind::Sanity => c.sanity.as_ref().and_then(|p| serde_json::to_value(p).ok()),
        Kind::Unit => c.unit.as_ref().and_then(|u| serde_json::to_value(u).ok()),
        Kind::ImageCheck => c
            .image_check
            .as_ref()
            .and_then(|i| serde_json::to_value(i).ok()),
        Kind::Upstream => c
            .upstream
            .as_ref()
            .and_then(|u| serde_json::to_value(u).ok()),
        _ => None,
    };
    let run_folder = match (job.kind, &c.label) {
        (Kind::Online | Kind::Offline | Kind::Smoke, Some(label)) => {
            let tag = image
                .map(|i| i.rsplit(':').next().unwrap_or(i).to_owned())
                .unwrap_or_else(|| "{tag}".to_owned());
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
        (Kind::Pd, _) => {
            let tag = image
                .map(|i| i.rsplit(':').next().unwrap_or(i).to_owned())
                .unwrap_or_else(|| "{tag}".to_owned());
            Some(format!("test/pd/pd_log/{}/{tag}", job.hardware))
        }
        _ => None,
    };
    PlannedJob {
        id: format!(
            "{}/{}/{}/{}",
            job.suite, job.model, job.variant, job.hardware
        ),
        model: job.model.clone(),
        model_path: c.model.clone(),
        label: c.label.clone(),
        variant: job.variant.clone(),
        run_folder,
        env: c.env.clone(),
        timeout_minutes: c.timeout_minutes,
        cron_job: c.cron_job.clone(),
        manual: c.manual,
        server,
        gsm8k,
        sweep,
        offline,
        sanity,
        pd,
        details,
    }
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
