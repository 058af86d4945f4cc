//! Suites: every bundled suite resolves on every hardware it names, the resolved plans match the
//! predecessor's matrix (predecessor.md section 2), and configuration errors name the file, the
//! layer and the key.

use std::collections::BTreeSet;
use std::path::Path;

use sglci_runner::plan::{plan, PlannedJob};
use sglci_runner::suite::{parse, SuiteError};
use sglci_runner::suites::{load, BUNDLED};

fn job<'a>(jobs: &'a [PlannedJob], id: &str) -> &'a PlannedJob {
    jobs.iter().find(|j| j.id == id).unwrap_or_else(|| {
        panic!(
            "no job {id}: {:?}",
            jobs.iter().map(|j| &j.id).collect::<Vec<_>>()
        )
    })
}

fn has(argv: &[String], flag: &str, value: Option<&str>) -> bool {
    argv.iter().enumerate().any(|(i, a)| {
        a == flag && value.is_none_or(|v| argv.get(i + 1).map(String::as_str) == Some(v))
    })
}

#[test]
fn bundled_suites_are_the_files_and_all_resolve() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../suites");
    let files: BTreeSet<String> = std::fs::read_dir(&dir)
        .expect("suites/")
        .filter_map(Result::ok)
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".toml"))
                .map(str::to_owned)
        })
        .collect();
    let bundled: BTreeSet<String> = BUNDLED.iter().map(|(n, _)| (*n).to_owned()).collect();
    assert_eq!(
        files, bundled,
        "every file in suites/ is bundled, and nothing else"
    );
    for (name, _) in BUNDLED {
        let s = load(name).expect("parses");
        assert_eq!(s.name, *name, "a suite's name is its file name");
        for hw in &s.hardware {
            let p = plan(&s, hw, Some("v0.5.6.post2-rocm700-mi30x-20251216")).expect("resolves");
            assert!(!p.jobs.is_empty(), "{name} on {hw}");
        }
    }
}

/// Every job of the nightly GPU suites that replaces a predecessor's cron job names it, and the
/// name is one the publisher maps to a task (a typo would leave a failed night "missing").
#[test]
fn cron_jobs_name_the_publishers_tasks() {
    let mut named = BTreeSet::new();
    for (name, _) in BUNDLED {
        let s = load(name).expect("parses");
        for hw in &s.hardware {
            let p = plan(&s, hw, None).expect("resolves");
            for j in &p.jobs {
                if let Some(c) = &j.cron_job {
                    let task = sglci_core::status::TASKS
                        .iter()
                        .find(|t| t.cron_jobs.contains(&c.as_str()))
                        .unwrap_or_else(|| panic!("{}: cron_job `{c}` is no task's", j.id));
                    named.insert(task.id);
                } else {
                    assert!(
                        [
                            "grok-offline",
                            "deepseek-offline",
                            "latency",
                            "h200-proof",
                            "image-check",
                            "upstream"
                        ]
                        .contains(name)
                            || hw == "cpu",
                        "{}: no cron_job",
                        j.id
                    );
                }
            }
        }
    }
    for task in [
        "grok_online",
        "grok2_online",
        "deepseek_online",
        "deepseek_dp_attention",
        "deepseek_torch_compile",
        "deepseek_mtp",
        "sanity",
        "unit_test",
        "pd",
    ] {
        assert!(named.contains(task), "no job reports as {task}");
    }
}

/// The whole matrix as job ids per suite and hardware (a renamed model or variant shows here).
#[test]
fn the_matrix() {
    let mut out = String::new();
    for (name, _) in BUNDLED {
        let s = load(name).expect("parses");
        for hw in &s.hardware {
            let p = plan(&s, hw, None).expect("resolves");
            for j in &p.jobs {
                out.push_str(&format!(
                    "{}  sweep={} offline={} gsm8k={} folder={}\n",
                    j.id,
                    j.sweep().len(),
                    j.offline().len(),
                    j.gsm8k()
                        .map_or("-".to_owned(), |g| g.threshold.to_string()),
                    j.run_folder.as_deref().unwrap_or("-")
                ));
            }
        }
    }
    insta::assert_snapshot!(out);
}

#[test]
fn grok_online_matches_the_predecessor() {
    let s = load("grok-online").expect("suite");
    let p30 = plan(
        &s,
        "mi30x",
        Some("rocm/sgl-dev:v0.5.6.post1-rocm700-mi30x-20251210"),
    )
    .expect("plan");
    let g1 = job(&p30.jobs, "grok-online/GROK1/standard/mi30x");
    assert_eq!(
        g1.run_folder.as_deref(),
        Some("online_benchmark_log/mi30x/GROK1/v0.5.6.post1-rocm700-mi30x-20251210_GROK1_MOE-I4F8_online")
    );
    let rates: Vec<f64> = g1.sweep().iter().map(|p| p.value).collect();
    assert_eq!(rates, [1.0, 2.0, 4.0, 8.0, 16.0]);
    let prompts: Vec<u32> = g1.sweep().iter().map(|p| p.prompts).collect();
    assert_eq!(
        prompts,
        [300, 600, 1200, 2400, 2400],
        "min(300 x rate, 2400)"
    );
    assert!(has(&g1.sweep()[3].argv, "--request-rate", Some("8")));
    assert!(has(&g1.sweep()[3].argv, "--num-prompts", Some("2400")));
    let server = &g1.server().expect("server").argv;
    assert!(has(
        server,
        "--model",
        Some("/mnt/raid/models/amd--grok-1-W4A8KV8")
    ));
    assert!(has(server, "--tp", Some("8")) && has(server, "--trust-remote-code", None));
    assert_eq!(
        g1.env.get("SGLANG_INT4_WEIGHT").map(String::as_str),
        Some("1")
    );
    assert_eq!(
        g1.gsm8k().map(|g| (g.threshold, g.attempts)),
        Some((0.8, 5))
    );
    let g2 = job(&p30.jobs, "grok-online/GROK2/standard/mi30x");
    assert_eq!(
        g2.env.get("RCCL_MSCCL_ENABLE").map(String::as_str),
        Some("0")
    );
    assert_eq!(
        g2.env.get("SGLANG_INT4_WEIGHT").map(String::as_str),
        Some("0")
    );
    // mi35x has no rate 16.
    let p35 = plan(&s, "mi35x", None).expect("plan");
    let rates: Vec<f64> = job(&p35.jobs, "grok-online/GROK1/standard/mi35x")
        .sweep()
        .iter()
        .map(|p| p.value)
        .collect();
    assert_eq!(rates, [1.0, 2.0, 4.0, 8.0]);
}

#[test]
fn deepseek_variants_per_hardware() {
    let s = load("deepseek-online").expect("suite");
    let p30 = plan(&s, "mi30x", None).expect("plan");
    let ids: Vec<&str> = p30.jobs.iter().map(|j| j.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "deepseek-online/DeepSeek-V3-0324/dp_attention/mi30x",
            "deepseek-online/DeepSeek-V3-0324/dp_attention_torch_compile/mi30x",
            "deepseek-online/DeepSeek-V3-0324/standard/mi30x",
            "deepseek-online/DeepSeek-V3-0324/torch_compile/mi30x",
        ]
    );
    // DP + torch compile: planned, but only run when named (the predecessor disabled it).
    let dptc = job(
        &p30.jobs,
        "deepseek-online/DeepSeek-V3-0324/dp_attention_torch_compile/mi30x",
    );
    assert!(dptc.manual);
    assert!(p30
        .jobs
        .iter()
        .filter(|j| j.id != dptc.id)
        .all(|j| !j.manual));
    let server = dptc.server().expect("server");
    assert!(has(&server.argv, "--mem-fraction-static", Some("0.6")));
    assert!(has(&server.argv, "--cuda-graph-max-bs", Some("8")));
    assert!(has(&server.argv, "--enable-torch-compile", None));
    assert!(has(&server.argv, "--enable-dp-attention", None));
    assert_eq!(server.ready_timeout_s, 2700);
    assert!(dptc.sweep().is_empty());
    let dp = job(
        &p30.jobs,
        "deepseek-online/DeepSeek-V3-0324/dp_attention/mi30x",
    );
    let argv = &dp.server().expect("server").argv;
    assert!(has(argv, "--dp-size", Some("8")) && has(argv, "--enable-dp-attention", None));
    assert!(
        !has(argv, "--tp-size", None),
        "a removed flag is gone: {argv:?}"
    );
    assert!(!has(argv, "--max-running-requests", None));
    assert!(has(argv, "--mem-fraction-static", Some("0.8")));
    assert_eq!(
        dp.env.get("SGLANG_USE_ROCM700A").map(String::as_str),
        Some("1")
    );
    // Plain DP attention and torch compile are GSM8K only (predecessor.md 1.4).
    assert!(dp.sweep().is_empty());
    assert!(job(
        &p30.jobs,
        "deepseek-online/DeepSeek-V3-0324/torch_compile/mi30x"
    )
    .sweep()
    .is_empty());
    let p35 = plan(&s, "mi35x", None).expect("plan");
    // The DP test serves too, in the predecessor's `_dp_attention` folder.
    let dp_test = job(
        &p35.jobs,
        "deepseek-online/DeepSeek-R1-MXFP4-Preview/dp_test/mi35x",
    );
    assert!(dp_test
        .run_folder
        .as_deref()
        .is_some_and(|f| f.ends_with("_FP8_online_dp_attention")));
    let conc: Vec<(f64, u32)> = dp_test
        .sweep()
        .iter()
        .map(|p| (p.value, p.prompts))
        .collect();
    assert_eq!(
        conc,
        [
            (128.0, 500),
            (64.0, 500),
            (16.0, 128),
            (4.0, 128),
            (1.0, 128)
        ]
    );
    let p35 = plan(&s, "mi35x", None).expect("plan");
    let ids: BTreeSet<&str> = p35.jobs.iter().map(|j| j.variant.as_str()).collect();
    assert_eq!(
        ids,
        BTreeSet::from(["dp_test", "mtp_test", "standard", "torch_compile"])
    );
    let mtp = job(
        &p35.jobs,
        "deepseek-online/DeepSeek-R1-MXFP4-Preview/mtp_test/mi35x",
    );
    assert!(mtp.sweep().is_empty(), "MTP is GSM8K only");
    assert!(has(
        &mtp.server().expect("server").argv,
        "--speculative-algorithm",
        Some("EAGLE")
    ));
    assert_eq!(mtp.gsm8k().map(|g| g.threshold), Some(0.93));
}

#[test]
fn sanity_offline_pd_and_the_rest() {
    let sanity = load("sanity").expect("suite");
    let p35 = plan(&sanity, "mi35x", None).expect("plan");
    let oss = job(&p35.jobs, "sanity/GPT-OSS-120B/standard/mi35x");
    assert_eq!(
        oss.sanity().map(|g| (g.threshold, g.attempts)),
        Some((0.82, 3))
    );
    assert_eq!(
        oss.env.get("SGLANG_USE_AITER").map(String::as_str),
        Some("1")
    );
    let argv = &oss.server().expect("server").argv;
    assert!(has(argv, "--model-path", Some("/data/openai/gpt-oss-120b")));
    assert!(has(argv, "--mem-fraction-static", Some("0.9")));
    assert!(
        has(argv, "--chunked-prefill-size", Some("130172")),
        "W-25 kept as the predecessor ran it"
    );
    let p30 = plan(&sanity, "mi30x", None).expect("plan");
    assert_eq!(p30.jobs.len(), 7);
    assert_eq!(
        job(&p30.jobs, "sanity/GROK2p5/standard/mi30x")
            .sanity()
            .map(|s| s.threshold),
        Some(0.915)
    );
    assert_eq!(
        job(&p30.jobs, "sanity/GROK1-FP8/standard/mi30x")
            .server()
            .map(|s| s.ready_timeout_s),
        Some(600)
    );
    let offline = plan(&load("grok-offline").expect("suite"), "mi30x", None).expect("plan");
    let normal = job(&offline.jobs, "grok-offline/GROK1/normal/mi30x");
    assert_eq!(normal.offline().len(), 9);
    let bs128 = normal
        .offline()
        .iter()
        .find(|c| c.batch_size == 128)
        .expect("bs 128");
    assert!(has(&bs128.argv, "--mem-fraction-static", Some("0.85")));
    let long = job(&offline.jobs, "grok-offline/GROK1/long_context/mi30x");
    assert_eq!(
        long.offline()
            .iter()
            .map(|c| c.input_len)
            .collect::<Vec<_>>(),
        [8192, 16384, 32768]
    );
    assert!(!has(&long.offline()[0].argv, "--sampling-backend", None));
    let dummy = job(&offline.jobs, "grok-offline/GROK1/dummy/mi30x");
    assert_eq!(
        dummy.env.get("SGLANG_INT4_WEIGHT").map(String::as_str),
        Some("0")
    );
    let pd = plan(&load("pd").expect("suite"), "mi35x", None).expect("plan");
    assert_eq!(pd.jobs.len(), 1);
    assert_eq!(pd.jobs[0].model, "DeepSeek-R1-MXFP4-Preview");
}

fn err(text: &str) -> String {
    match parse(text, "suites/broken.toml") {
        Ok(_) => panic!("accepted: {text}"),
        Err(e) => e.to_string(),
    }
}

const MINIMAL: &str = r#"
name = "x"
kind = "online"
hardware = ["mi30x"]
[base.server]
module = "sglang.launch_server"
ready = "ready"
ready_timeout_s = 60
[base.gsm8k]
threshold = 0.8
runs = 1
questions = 10
parallel = 10
shots = 5
[models.M]
model = "/m"
"#;

#[test]
fn configuration_errors_name_the_file_and_the_key() {
    assert!(parse(MINIMAL, "suites/ok.toml").is_ok());
    let e = err(&format!("bogus = 1\n{MINIMAL}"));
    assert!(
        e.contains("suites/broken.toml") && e.contains("bogus") && e.contains("unknown key"),
        "{e}"
    );
    let e = err(&format!("{MINIMAL}\n[models.M.gsm8kk]\nthreshold = 1\n"));
    assert!(
        e.contains("models.M") && e.contains("gsm8kk") && e.contains("expected one of"),
        "{e}"
    );
    let e = err(&MINIMAL.replace("threshold = 0.8", "threshold = 80"));
    assert!(
        e.contains("gsm8k.threshold") && e.contains("between 0 and 1"),
        "{e}"
    );
    let e = err(&MINIMAL.replace("[\"mi30x\"]", "[\"mi300\"]"));
    assert!(
        e.contains("hardware") && e.contains("unknown hardware `mi300`"),
        "{e}"
    );
    let e = err(&format!(
        "{MINIMAL}\n[base.sweep]\nby = \"request-rate\"\nvalues = [1, 2]\nprompts = [10]\n[base.client]\n"
    ));
    assert!(
        e.contains("sweep") && e.contains("2 values, 1 prompt counts"),
        "{e}"
    );
    let e = err(&format!("{MINIMAL}\n[base.server.args]\n\"tp\" = 8\n"));
    assert!(
        e.contains("args.tp") && e.contains("start with `--`"),
        "{e}"
    );
    let e = err(&MINIMAL.replace("kind = \"online\"", "kind = \"onlin\""));
    assert!(e.contains("kind") && e.contains("hint"), "{e}");
    let e = err(&MINIMAL.replace("[base.gsm8k]", "[base.gsmk]"));
    assert!(e.contains("gsmk"), "{e}");
    assert!(matches!(
        parse("name = ", "f.toml"),
        Err(SuiteError::Toml { .. })
    ));
    let e = load("no-such-suite").map(|_| ()).expect_err("unknown");
    assert!(e.to_string().contains("grok-online"), "{e}");
}

#[test]
fn plan_cli_prints_json_and_exits_2_on_bad_input() {
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_sglci-runner"))
            .args(args)
            .env("RUNNER_LOG", "warn")
            .output()
            .expect("runs")
    };
    let out = run(&["plan", "--suite", "grok-online", "--hardware", "mi35x"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["jobs"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        run(&["plan", "--suite", "grok-online", "--hardware", "b200"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        run(&["plan", "--suite", "nope", "--hardware", "mi30x"])
            .status
            .code(),
        Some(2)
    );
}

/// The publisher judges the predecessor's runs by its per-model table and sglci's own runs by
/// the threshold their suite gave the gate; the bundled suites and the table agree, so a night
/// reads the same whichever produced it.
#[test]
fn suite_gsm8k_thresholds_match_the_publishers_table() {
    let mut checked = 0;
    for (name, _) in BUNDLED {
        let s = load(name).expect("suite");
        for hw in &s.hardware {
            for j in plan(&s, hw, None).expect("plan").jobs {
                if let Some(g) = j.gsm8k() {
                    assert_eq!(
                        g.threshold,
                        sglci_core::status::gsm8k_threshold(&j.model),
                        "{}: the suite's gate and core::status::gsm8k_threshold disagree",
                        j.id
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 5, "{checked} gates checked");
}

/// `--grid FILE` (the latency pipeline's `{batch sizes};{sequence lengths}` lines) replaces an
/// offline suite's grid in `plan`; a bad line is an error naming the line and column (exit 2),
/// and a grid on an online suite is refused.
#[test]
fn plan_takes_a_grid_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let grid = dir.path().join("bsz_seq.csv");
    std::fs::write(&grid, "# two grids\n{1,8};{512}\n{8,64};{512,4096}\n").expect("grid");
    let plan = |suite: &str, file: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_sglci-runner"))
            .args(["plan", "--suite", suite, "--hardware", "mi30x", "--grid"])
            .arg(file)
            .env("RUNNER_LOG", "warn")
            .output()
            .expect("runs")
    };
    let out = plan("grok-offline", &grid);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let job = v["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .find(|j| j["id"] == "grok-offline/GROK1/normal/mi30x")
        .expect("the normal grid");
    let text = job.to_string();
    let cells: Vec<(u64, u64, u64)> = serde_json::from_str::<serde_json::Value>(&text)
        .expect("job")
        .pointer("/offline/cells")
        .and_then(|c| c.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|c| {
            (
                c["batch_size"].as_u64().unwrap_or(0),
                c["input_len"].as_u64().unwrap_or(0),
                c["output_len"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    // The union of the two products, each cell once; outputs from the suite's grid (128).
    assert_eq!(
        cells,
        [
            (1, 512, 128),
            (8, 512, 128),
            (8, 4096, 128),
            (64, 512, 128),
            (64, 4096, 128)
        ],
        "{text}"
    );
    std::fs::write(&grid, "{1,8};{512}\n{8;{512}\n").expect("grid");
    let out = plan("grok-offline", &grid);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bsz_seq.csv:2:3: expected `}` to close the batch sizes"),
        "{err}"
    );
    std::fs::write(&grid, "{1};{512}\n").expect("grid");
    let out = plan("grok-online", &grid);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("applies to offline suites"));
}

fn plan_in(dir: &Path, args: &[&str]) -> (Option<i32>, serde_json::Value, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sglci-runner"))
        .arg("plan")
        .args(args)
        .current_dir(dir)
        .env("RUNNER_LOG", "warn")
        .output()
        .expect("runs");
    (
        out.status.code(),
        serde_json::from_slice(&out.stdout).unwrap_or_default(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn argv_of(job: &serde_json::Value, pointer: &str) -> Vec<String> {
    serde_json::from_value(job.pointer(pointer).cloned().unwrap_or_default()).unwrap_or_default()
}

fn data(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
        .display()
        .to_string()
}

/// The issue's check: `plan --deploy tp8ep8 --mconf 2l` shows `--tp 8 --ep 8`, the reduced
/// config's path and `--load-format dummy`, and the written config has 2 layers.
#[test]
fn plan_takes_a_deploy_and_a_reduced_model() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = data("models/deepseek-v3/config.json");
    let (code, v, err) = plan_in(
        dir.path(),
        &[
            "--suite",
            "deepseek-offline",
            "--hardware",
            "mi30x",
            "--deploy",
            "tp8ep8",
            "--mconf",
            "2l",
            "--model-config",
            &config,
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(v["deploy"], "tp8ep8");
    let job = &v["jobs"][0];
    assert_eq!(
        job["id"],
        "deepseek-offline/DeepSeek-V3-0324-2l/standard/mi30x"
    );
    let argv = argv_of(job, "/offline/cells/0/argv");
    let reduced = dir.path().join("sglci-runs/mconf/DeepSeek-V3-0324-2l");
    let reduced_s = reduced.display().to_string();
    assert!(
        has(&argv, "--tp", Some("8")) && has(&argv, "--ep", Some("8")),
        "{argv:?}"
    );
    assert_eq!(argv.iter().filter(|a| a.starts_with("--tp")).count(), 1);
    assert!(has(&argv, "--load-format", Some("dummy")), "{argv:?}");
    assert!(has(&argv, "--model", Some(&reduced_s)), "{argv:?}");
    assert!(
        has(
            &argv,
            "--tokenizer-path",
            Some("/mnt/raid/models/deepseek-ai/DeepSeek-V3-0324")
        ),
        "{argv:?}"
    );
    assert_eq!(
        job["run_folder"],
        "offline_benchmark_log/mi30x/DeepSeek-V3-0324-2l/{tag}_DeepSeek-V3-0324-2l_FP8_offline"
    );
    let written: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(reduced.join("config.json")).expect("the reduced config"),
    )
    .expect("json");
    assert_eq!(written["num_hidden_layers"], 2);
    assert_eq!(written["first_k_dense_replace"], 1);
    assert_eq!(written["n_routed_experts"], 256);

    // DP attention: the DP ranks are the TP ranks; the suite's own --tp is replaced, not doubled.
    let (code, v, err) = plan_in(
        dir.path(),
        &[
            "--suite",
            "grok-online",
            "--hardware",
            "mi30x",
            "--deploy",
            "tp8ep8dp8",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    let argv = argv_of(&v["jobs"][0], "/online/server/argv");
    assert!(has(&argv, "--dp", Some("8")) && has(&argv, "--enable-dp-attention", None));
    assert_eq!(argv.iter().filter(|a| *a == "--tp").count(), 1, "{argv:?}");

    // Errors: an unknown deploy lists the library; --mconf refuses suites that measure accuracy
    // and a count above the model's; a model config that cannot be read names the flag.
    let (code, _, err) = plan_in(
        dir.path(),
        &[
            "--suite",
            "grok-online",
            "--hardware",
            "mi30x",
            "--deploy",
            "tp4",
        ],
    );
    assert_eq!(code, Some(2));
    assert!(
        err.contains("tp1, tp8, tp8ep8, tp8ep8dp8, tp16ep16"),
        "{err}"
    );
    let (code, _, err) = plan_in(
        dir.path(),
        &["--suite", "sanity", "--hardware", "mi30x", "--mconf", "2l"],
    );
    assert_eq!(code, Some(2));
    assert!(err.contains("for online and offline suites"), "{err}");
    let (code, _, err) = plan_in(
        dir.path(),
        &[
            "--suite",
            "grok-online",
            "--hardware",
            "mi30x",
            "--mconf",
            "two",
        ],
    );
    assert_eq!(code, Some(2));
    assert!(
        err.contains("`full` or a layer count such as `2l`"),
        "{err}"
    );
}

/// A model directory readable from the runner: its config is read there, and its tokenizer
/// and code files are linked into the reduced directory, never its weights.
#[test]
fn a_reduced_model_links_everything_but_the_weights() {
    let dir = tempfile::tempdir().expect("tmp");
    let model = data("models/deepseek-v3");
    let suite = dir.path().join("tiny.toml");
    std::fs::write(
        &suite,
        format!(
            r#"name = "tiny"
kind = "offline"
hardware = ["h200"]
[base.offline]
batch_sizes = [1]
input_lens = [128]
output_lens = [8]
[base.offline.args]
"--model" = "{{model}}"
[models.DSV3]
label = "FP8"
model = "{model}"
"#
        ),
    )
    .expect("suite");
    let suite = suite.display().to_string();
    let (code, _, err) = plan_in(
        dir.path(),
        &["--suite", &suite, "--hardware", "h200", "--mconf", "4l"],
    );
    assert_eq!(code, Some(0), "{err}");
    let reduced = dir.path().join("sglci-runs/mconf/DSV3-4l");
    let link = std::fs::read_link(reduced.join("tokenizer_config.json")).expect("linked");
    assert_eq!(link, Path::new(&model).join("tokenizer_config.json"));
    assert!(!reduced.join("model-00001-of-000163.safetensors").exists());
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(reduced.join("sglci-mconf.json")).expect("record"),
    )
    .expect("json");
    assert_eq!(record["layers_before"], 61);
    assert_eq!(record["changes"][0]["to"], 4);
}

/// `--base FILE` is a layer over the suite's base: the suite's own layers still win, and a key
/// that is not a layer key names the file.
#[test]
fn a_base_file_is_a_layer_under_the_suites_own() {
    let dir = tempfile::tempdir().expect("tmp");
    let base = dir.path().join("base.toml");
    std::fs::write(
        &base,
        "timeout_minutes = 30\n[env]\nNCCL_DEBUG = \"INFO\"\nSGLANG_USE_AITER = \"0\"\n[offline.args]\n\"--cuda-graph-max-bs\" = 256\n",
    )
    .expect("base");
    let base_s = base.display().to_string();
    let (code, v, err) = plan_in(
        dir.path(),
        &[
            "--suite",
            "grok-offline",
            "--hardware",
            "mi30x",
            "--base",
            &base_s,
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    let job = &v["jobs"][0];
    assert_eq!(job["timeout_minutes"], 30);
    assert_eq!(job["env"]["NCCL_DEBUG"], "INFO");
    // The suite's [base.env] sets SGLANG_USE_AITER too, but the base file comes after it.
    assert_eq!(job["env"]["SGLANG_USE_AITER"], "0");
    assert!(has(
        &argv_of(job, "/offline/cells/0/argv"),
        "--cuda-graph-max-bs",
        Some("256")
    ));
    std::fs::write(&base, "[servr.args]\n\"--tp\" = 8\n").expect("base");
    let (code, _, err) = plan_in(
        dir.path(),
        &[
            "--suite",
            "grok-offline",
            "--hardware",
            "mi30x",
            "--base",
            &base_s,
        ],
    );
    assert_eq!(code, Some(2));
    assert!(err.contains("base.toml: servr: not a layer key"), "{err}");
}

/// The deploy library over the GROK1 online job: every deploy's parallelism flags, replacing
/// the suite's `--tp 8`.
#[test]
fn the_deploy_library() {
    let mut out = String::new();
    for (name, _) in sglci_runner::deploy::BUNDLED {
        let d = sglci_runner::deploy::load(name).expect("bundled");
        let s = load("grok-online")
            .expect("parses")
            .with_deploy(d.clone())
            .expect("applies");
        let p = plan(&s, "mi30x", None).expect("resolves");
        let j = job(&p.jobs, "grok-online/GROK1/standard/mi30x");
        let argv = &j.server().expect("server").argv;
        let flags: Vec<String> = argv
            .iter()
            .enumerate()
            .filter(|(_, a)| {
                ["--tp", "--ep", "--dp", "--enable-dp-attention", "--tp-size"].contains(&a.as_str())
            })
            .map(|(i, a)| match argv.get(i + 1) {
                Some(v) if !v.starts_with("--") => format!("{a} {v}"),
                _ => a.clone(),
            })
            .collect();
        out.push_str(&format!(
            "{name}: {} node(s) × {} GPU(s): {}\n",
            d.nnodes,
            d.gpus_per_node,
            flags.join(" ")
        ));
    }
    insta::assert_snapshot!(out);
}

/// F22 on the command line: `--profile` traces offline cells, `--profile-load` one online load,
/// each into `<run folder>/profile/` through `SGLANG_TORCH_PROFILER_DIR`.
#[test]
fn plan_turns_profiling_on_for_what_it_names() {
    let dir = tempfile::tempdir().expect("tmp");
    let (code, v, err) = plan_in(
        dir.path(),
        &[
            "--suite",
            "grok-offline",
            "--hardware",
            "mi30x",
            "--profile",
            "decode",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    let job = &v["jobs"][0];
    let argv = argv_of(job, "/offline/cells/0/argv");
    assert!(has(&argv, "--profile", None) && has(&argv, "--profile-stage", Some("decode")));
    let env_dir = job["env"]["SGLANG_TORCH_PROFILER_DIR"]
        .as_str()
        .expect("dir");
    let folder = job["run_folder"].as_str().expect("folder");
    assert!(
        env_dir.ends_with(&format!("sglci-runs/{folder}/profile")),
        "{env_dir}"
    );

    let (code, v, err) = plan_in(
        dir.path(),
        &[
            "--suite",
            "grok-online",
            "--hardware",
            "mi30x",
            "--profile-load",
            "4",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    let sweep = v["jobs"][0]["online"]["sweep"].as_array().expect("sweep");
    let profiled: Vec<f64> = sweep
        .iter()
        .filter(|p| argv_of(p, "/argv").iter().any(|a| a == "--profile"))
        .map(|p| p["value"].as_f64().unwrap_or(0.0))
        .collect();
    assert_eq!(profiled, [4.0]);
    assert!(v["jobs"][0]["env"]["SGLANG_TORCH_PROFILER_DIR"].is_string());

    for (args, want) in [
        (
            vec![
                "--suite",
                "grok-online",
                "--hardware",
                "mi30x",
                "--profile-load",
                "3",
            ],
            "has no such load (hint: one of 1, 2, 4, 8, 16)",
        ),
        (
            vec![
                "--suite",
                "grok-online",
                "--hardware",
                "mi30x",
                "--profile",
                "both",
            ],
            "is online (hint: --profile-load L",
        ),
        (
            vec![
                "--suite",
                "grok-offline",
                "--hardware",
                "mi30x",
                "--profile-load",
                "1",
            ],
            "is offline (hint: --profile prefill|decode|both)",
        ),
    ] {
        let (code, _, err) = plan_in(dir.path(), &args);
        assert_eq!(code, Some(2), "{args:?}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
}
