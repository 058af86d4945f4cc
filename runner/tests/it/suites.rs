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
