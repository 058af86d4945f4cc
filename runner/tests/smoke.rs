//! The CPU smoke suite end to end (F18) on the real components: a llama.cpp server with
//! gemma-3-270m, the real `sglang.bench_serving`, sglci's GSM8K gate, shipped as a bundle,
//! ingested by the publisher and shown on the site; a server that dies in the middle of the
//! sweep (classified, shipped, exit 1) and the resumed run that completes it (F17); a planted
//! secret that never reaches the bundle (F15).
//!
//! Needs `SGLCI_SMOKE_DIR` prepared by `scripts/smoke-setup.sh`; says it skipped otherwise
//! (`SGLCI_REQUIRE_SMOKE=1`, set by `.ci/run`, makes that a failure).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sglci_core::ab::{AbRecord, AbVerdict, Better};
use sglci_core::backend::{DirStore, SpoolQueue};
use sglci_core::store::ObjectStore;
use sglci_publisher::app::{self, SiteJob, SiteTarget};
use sglci_publisher::site::templates::Templates;
use sglci_publisher::site::SiteOptions;

#[path = "it/common.rs"]
mod common;

/// One llama.cpp server at a time: two would halve each other's CPU.
static SERIAL: Mutex<()> = Mutex::new(());

/// A token-shaped value for the planted secret, made at run time so that no token-shaped
/// literal is ever committed (secret scanners would rightly flag one).
fn planted() -> String {
    format!(
        "{}_{}{}",
        "hf",
        "PlantedSmokeSecret",
        std::process::id() as u64 * 1_000_003
    )
}

/// Whether `program args…` runs and exits 0 (quietly).
fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `ready`, or a skip that says why; a failure instead when `required_by` is set to 1 (CI).
fn ready_or_skip(ready: bool, required_by: &str, missing: &str) -> bool {
    if !ready {
        assert!(
            !std::env::var(required_by).is_ok_and(|v| v == "1"),
            "{required_by}=1 but {missing}"
        );
        #[expect(clippy::print_stderr, reason = "a skipped test says so")]
        {
            eprintln!("skipped: {missing}");
        }
    }
    ready
}

fn smoke_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("SGLCI_SMOKE_DIR").map(PathBuf::from);
    let ready = dir.as_ref().is_some_and(|d| {
        d.join("gemma-3-270m-q4_k_m.gguf").is_file()
            && d.join("tokenizer/tokenizer.json").is_file()
            && d.join("bin/llama-server").is_file()
    }) && succeeds("python3", &["-c", "import sglang.bench_serving"]);
    ready_or_skip(
        ready,
        "SGLCI_REQUIRE_SMOKE",
        "the CPU smoke suite is not set up (run scripts/smoke-setup.sh and export SGLCI_SMOKE_DIR)",
    )
    .then_some(dir)
    .flatten()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The bundled smoke suite on a free port, with the planted secret passed to the server the
/// way a real suite passes `HF_TOKEN`.
fn suite_file(dir: &Path, port: u16) -> PathBuf {
    let text = sglci_runner::suites::BUNDLED
        .iter()
        .find(|(n, _)| *n == "smoke")
        .expect("bundled smoke suite")
        .1
        .replace("port = 30000", &format!("port = {port}"))
        .replace(
            "[base.server]\n",
            "[base.env]\nHF_TOKEN = \"${HF_TOKEN}\"\n\n[base.server]\n",
        );
    let path = dir.join("smoke-test.toml");
    std::fs::write(&path, text).expect("suite file");
    path
}

const TAG: &str = "v0.4.9.post2-cpu-cpu-20261124";

fn runner(dir: &Path, suite: &Path, run_id: &str, extra: &[&str]) -> Command {
    runner_on(dir, suite, run_id, TAG, extra)
}

fn runner_on(dir: &Path, suite: &Path, run_id: &str, image: &str, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sglci-runner"));
    c.args(["run", "--suite"])
        .arg(suite)
        .args(["--image", image, "--run-id", run_id, "--out"])
        .arg(dir.join("runs"))
        .arg("--store")
        .arg(dir.join("store"))
        .arg("--spool")
        .arg(dir.join("spool"))
        .args(extra)
        .env("HF_TOKEN", planted())
        .env_remove("GITHUB_ACTIONS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn run_folder(dir: &Path) -> PathBuf {
    dir.join("runs/online_benchmark_log/cpu/GEMMA3-270M/v0.4.9.post2-cpu-cpu-20261124_GEMMA3-270M_Q4_K_M_online")
}

/// Every file of every bundle in the store, as text.
fn bundle_texts(store: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![store.join("runs")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((
                    p.clone(),
                    String::from_utf8_lossy(&std::fs::read(&p).expect("read")).into_owned(),
                ));
            }
        }
    }
    out
}

fn results(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(run_folder(dir).join("results.json")).expect("results.json");
    serde_json::from_str(&text).expect("results json")
}

/// Ingests the store's pending bundles and renders the site; returns the task rows as CSV.
fn publish(dir: &Path) -> String {
    let store = DirStore::new(&dir.join("store"));
    let queue = SpoolQueue::new(&dir.join("store/queue"));
    let templates = Templates::embedded().expect("templates");
    let job = SiteJob {
        target: SiteTarget::Dir(dir.join("site")),
        templates: &templates,
        opts: SiteOptions {
            png: false,
            ..SiteOptions::default()
        },
    };
    let report =
        app::ingest_pending(&store, &queue, Some(&job), "2026-11-25T06:00:00Z").expect("ingest");
    assert!(report.quarantined.is_empty(), "{report:?}");
    let hist = sglci_publisher::history::History::new(&store as &dyn ObjectStore);
    let tasks = hist.read(sglci_core::records::TASKS).expect("tasks");
    serde_json::to_string(&tasks.rows).expect("rows")
}

#[test]
fn smoke_suite_end_to_end_to_the_site() {
    // First: another test's checks must not share the cores with this one's servers.
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(_) = smoke_dir() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let suite = suite_file(dir, free_port());
    let out = runner(dir, &suite, "smoke-e2e", &[])
        .output()
        .expect("runner");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {:?}\n{stderr}",
        out.status.code()
    );
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert!(
        printed["shipped"]
            .as_str()
            .is_some_and(|m| m.ends_with("manifest.json")),
        "{printed}"
    );

    // F16: the manifest records the run: the image's identity (probed: the real sglang in
    // this Python), the config hash, the times and the status.
    let manifest_key = printed["shipped"].as_str().expect("key");
    let m: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("store").join(manifest_key)).expect("manifest"),
    )
    .expect("manifest json");
    let run = &m["run"];
    assert_eq!(run["status"], "pass", "{m:#}");
    assert_eq!(run["image"]["kind"], "nightly", "{run:#}");
    assert_eq!(run["image"]["label"], m["image"], "{run:#}");
    assert!(
        run["image"]["sglang_version"]
            .as_str()
            .is_some_and(|v| !v.is_empty()),
        "{run:#}"
    );
    assert_eq!(
        run["config_hash"].as_str().map(str::len),
        Some(64),
        "{run:#}"
    );
    assert!(run["started"].as_str() <= run["ended"].as_str(), "{run:#}");

    // The run folder in the log layout, every load with a result.
    let r = results(dir);
    assert_eq!(r["status"], "pass", "{r:#}");
    assert!(
        r["gsm8k"]["accuracy"].as_f64().is_some_and(|a| a >= 0.4),
        "{r:#}"
    );
    let loads = r["loads"].as_array().expect("loads");
    assert_eq!(loads.len(), 3);
    for l in loads {
        assert!(l["median_e2e_ms"].as_f64().is_some_and(|v| v > 0.0), "{l}");
        assert_eq!(l["completed"], l["requested"], "{l}");
    }
    let folder = run_folder(dir);
    for f in [
        "sglang_server.log",
        "sglang_client_log_GEMMA3-270M_gsm8k_llamacpp.log",
    ] {
        assert!(folder.join(f).is_file(), "{f}");
    }
    let timing = std::fs::read_dir(&folder)
        .expect("folder")
        .flatten()
        .find(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("timing_summary_")
        })
        .expect("timing summary");
    let t = sglci_core::parse::timing::parse(&std::fs::read(timing.path()).expect("read"))
        .expect("parse");
    assert!(t.completed());
    assert!(
        t.model_path
            .as_deref()
            .is_some_and(|m| m.ends_with("gemma-3-270m-q4_k_m.gguf")),
        "{:?}",
        t.model_path
    );
    let jsonl = std::fs::read_dir(&folder)
        .expect("folder")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".jsonl"))
        .count();
    assert_eq!(jsonl, 3, "bench_serving's JSONL stays in the run folder");

    // F15: the run folder on this machine holds the secret (the server's environment line);
    // nothing shipped does.
    let local = std::fs::read_to_string(folder.join("sglang_server.log")).expect("server log");
    assert!(
        local.contains(&planted()),
        "the planted secret should be in the local log"
    );
    let shipped = bundle_texts(&dir.join("store"));
    assert!(shipped.len() >= 8, "{}", shipped.len());
    for (p, text) in &shipped {
        assert!(
            !text.contains(&planted()) && !text.contains("PlantedSmokeSecret"),
            "{} leaks the secret",
            p.display()
        );
    }

    // The publisher ingests it; the task passes and the numbers are on the site.
    let tasks = publish(dir);
    assert!(
        tasks.contains("\"smoke_online\"") && tasks.contains("\"pass\""),
        "{tasks}"
    );
    let e2e = loads[0]["median_e2e_ms"].as_f64().expect("e2e");
    let page = dir
        .join("site")
        .join(sglci_publisher::site::paths::model_page(
            "cpu",
            "GEMMA3-270M",
        ));
    let html = std::fs::read_to_string(&page).unwrap_or_else(|e| panic!("{}: {e}", page.display()));
    assert!(
        html.contains(&format!("{e2e:.0}")) || html.contains(&format!("{e2e}")),
        "E2E {e2e} not on {}",
        page.display()
    );
    let home = std::fs::read_to_string(dir.join("site/index.html")).expect("home");
    assert!(
        home.contains("CPU Smoke Benchmark"),
        "the smoke task is on the home page"
    );
}

/// The llama.cpp server serving `port`, found in /proc.
fn server_pid(port: u16) -> Option<u32> {
    for e in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if cmd.contains("llama-server") && cmd.contains(&format!("--port {port} ")) {
            return Some(pid);
        }
    }
    None
}

#[test]
fn a_server_that_dies_mid_sweep_is_classified_shipped_and_resumed() {
    // First: another test's checks must not share the cores with this one's servers.
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(_) = smoke_dir() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let port = free_port();
    let suite = suite_file(dir, port);
    let mut child = runner(dir, &suite, "smoke-fault", &[])
        .spawn()
        .expect("runner");
    // Wait until the sweep reaches its second load, then kill the server (SIGKILL: no last
    // words in its log).
    let folder = run_folder(dir);
    let start = Instant::now();
    loop {
        let second = std::fs::read_dir(&folder)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("sglang_client_log_GEMMA3-270M_llamacpp_2_")
            });
        if second {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "the sweep never reached load 2"
        );
        assert!(
            child.try_wait().expect("wait").is_none(),
            "the runner ended early"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let pid = server_pid(port).expect("the server's pid");
    let killed = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let out = child.wait_with_output().expect("runner");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");

    let r = results(dir);
    assert_eq!(r["status"], "fail");
    assert_eq!(r["failure"]["class"], "server_exited", "{r:#}");
    let line = r["failure"]["line"].as_str().expect("evidence");
    assert!(
        line.contains("signal 9") && line.contains("request rate 2"),
        "{line}"
    );
    assert!(
        r["loads"][0]["median_e2e_ms"].as_f64().is_some(),
        "load 1 was measured: {r:#}"
    );
    assert!(server_pid(port).is_none(), "nothing left running");

    // What it had was shipped; the publisher shows the failure with its class.
    let tasks = publish(dir);
    assert!(
        tasks.contains("\"server_exited\"") && tasks.contains("\"fail\""),
        "{tasks}"
    );

    // F17: --resume keeps load 1 (the same log file), runs loads 2 and 4, and passes.
    let load1 = |f: &Path| {
        std::fs::read_dir(f)
            .expect("folder")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| {
                n.starts_with("sglang_client_log_GEMMA3-270M_llamacpp_1_") && n.ends_with(".log")
            })
            .collect::<Vec<_>>()
    };
    let before = load1(&folder);
    assert_eq!(before.len(), 1);
    // No --run-id: the resumed run continues the interrupted one's.
    let resume = runner(dir, &suite, "unused", &["--resume"]);
    let args: Vec<std::ffi::OsString> = resume.get_args().map(ToOwned::to_owned).collect();
    let at = args.iter().position(|a| a == "--run-id").expect("--run-id");
    let out = Command::new(resume.get_program())
        .args(args[..at].iter().chain(&args[at + 2..]))
        .env("HF_TOKEN", planted())
        .env_remove("GITHUB_ACTIONS")
        .output()
        .expect("runner");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(load1(&folder), before, "load 1 was not run again");
    let r = results(dir);
    assert_eq!(r["status"], "pass", "{r:#}");
    assert_eq!(r["resumed"], true);
    assert!(
        r["loads"]
            .as_array()
            .expect("loads")
            .iter()
            .all(|l| l["median_e2e_ms"].as_f64().is_some()),
        "{r:#}"
    );
    let timing: Vec<_> = std::fs::read_dir(&folder)
        .expect("folder")
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("timing_summary_")
        })
        .collect();
    assert_eq!(
        timing.len(),
        2,
        "each session writes its own timing summary"
    );
    assert_eq!(r["run_id"], "smoke-fault");

    // Its bundle replaces the partial one: one run, now passing.
    let tasks = publish(dir);
    assert!(
        tasks.contains("\"pass\"") && !tasks.contains("\"server_exited\""),
        "{tasks}"
    );
    let store = DirStore::new(&dir.join("store"));
    let hist = sglci_publisher::history::History::new(&store as &dyn ObjectStore);
    let serving = hist.read(sglci_core::records::SERVING).expect("serving");
    assert_eq!(
        serving.rows.len(),
        3,
        "one row per load, not two copies of load 1"
    );
}

/// `sglci-smoke/runtime:<tag>`: the static busybox test image, to which the job adds this
/// machine's Python runtime and the model as read-only bind mounts.
fn runtime_image(tag: &str) -> Option<String> {
    if !ready_or_skip(
        succeeds("docker", &["info"]),
        "SGLCI_REQUIRE_DOCKER",
        "no Docker daemon answers",
    ) {
        return None;
    }
    let image = format!("sglci-smoke/runtime:{tag}");
    common::busybox_image(&image);
    Some(image)
}

/// This machine's Python prefix, and the `run` arguments that lend the busybox job container
/// this machine's runtime (`/usr`, the Python prefix, the libraries) and the smoke directory,
/// all read-only.
fn docker_runtime(smoke: &Path) -> (String, Vec<String>) {
    let prefix = String::from_utf8(
        Command::new("python3")
            .args(["-c", "import sys; print(sys.prefix)"])
            .output()
            .expect("python3")
            .stdout,
    )
    .expect("utf8")
    .trim()
    .to_owned();
    let mut mounts = vec![
        "/usr:/usr:ro".to_owned(),
        format!("{prefix}:{prefix}:ro"),
        format!("{}:{}:ro", smoke.display(), smoke.display()),
    ];
    for (link, target) in [("/lib", "/usr/lib"), ("/lib64", "/usr/lib64")] {
        if Path::new(target).is_dir() {
            mounts.push(format!("{target}:{link}:ro"));
        }
    }
    let mut args: Vec<String> = vec!["--engine".into(), "docker".into(), "--no-ship".into()];
    for m in &mounts {
        args.extend(["--mount".to_owned(), m.clone()]);
    }
    (prefix, args)
}

#[test]
fn smoke_suite_through_the_docker_engine() {
    // First: another test's checks must not share the cores with this one's servers.
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(smoke) = smoke_dir() else { return };
    let Some(image) = runtime_image(TAG) else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let (prefix, args) = docker_runtime(&smoke);
    // The job's PATH finds this machine's Python (mounted below) inside the container.
    let suite = suite_file(dir, free_port());
    let text = std::fs::read_to_string(&suite).expect("suite").replace(
        "[base.env]\n",
        &format!("[base.env]\nPATH = \"{prefix}/bin:/usr/bin:/bin\"\nHOME = \"/tmp\"\n"),
    );
    std::fs::write(&suite, text).expect("suite");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut c = runner_on(dir, &suite, "smoke-docker", &image, &args);
    let out = c.output().expect("runner");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {:?}\n{stderr}",
        out.status.code()
    );
    assert!(stderr.contains("job container started"), "{stderr}");
    let r = results(dir);
    assert_eq!(r["status"], "pass", "{r:#}");
    assert!(r["loads"]
        .as_array()
        .expect("loads")
        .iter()
        .all(|l| l["median_e2e_ms"].as_f64().is_some()));
    let left = Command::new("docker")
        .args(["ps", "-aq", "--filter", "label=sglci.run=smoke-docker"])
        .output()
        .expect("docker ps");
    assert!(left.stdout.is_empty(), "the job's container is removed");
}

/// F9 on CPU: the sanity sweep over two "models" on the real llama.cpp server; one passes
/// early, one fails both trials; the predecessor's sanity layout reaches the publisher's tables.
#[test]
fn sanity_sweep_passes_one_model_and_fails_another() {
    // First: another test's checks must not share the cores with this one's servers.
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(_) = smoke_dir() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let text = sglci_runner::suites::BUNDLED
        .iter()
        .find(|(n, _)| *n == "smoke-sanity")
        .expect("bundled")
        .1
        .replace("port = 30000", &format!("port = {}", free_port()));
    let suite = dir.join("sanity.toml");
    std::fs::write(&suite, text).expect("suite");
    let out = runner(dir, &suite, "sanity-cpu", &[])
        .output()
        .expect("runner");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["jobs"][0]["status"], "pass", "{v:#}");
    assert_eq!(
        v["jobs"][1]["failure"]["class"], "accuracy_below_threshold",
        "{v:#}"
    );
    let folder = dir.join(format!("runs/test/sanity_check_log/cpu/{TAG}"));
    assert!(folder.join("GEMMA3-270M_cpu_client_try1.log").is_file());
    assert!(
        !folder.join("GEMMA3-270M_cpu_client_try2.log").exists(),
        "early exit"
    );
    assert!(folder
        .join("GEMMA3-270M-TERSE_cpu_client_try2.log")
        .is_file());

    publish(dir);
    let store = DirStore::new(&dir.join("store"));
    let hist = sglci_publisher::history::History::new(&store as &dyn ObjectStore);
    let models = hist
        .read(sglci_core::records::SANITY_MODELS)
        .expect("sanity_models");
    let text = serde_json::to_string(&models.rows).expect("json");
    assert_eq!(models.rows.len(), 2, "{text}");
    assert!(text.contains("GEMMA3-270M-TERSE"), "{text}");
}

/// The PD suite's extra pieces: llama.cpp's llama-server and the SGLang router.
fn pd_ready(dir: &Path) -> bool {
    ready_or_skip(
        dir.join("bin/llama-server").is_file() && succeeds("python3", &["-c", "import sglang_router"]),
        "SGLCI_REQUIRE_SMOKE",
        "the PD pieces are missing (scripts/smoke-setup.sh builds llama-server and installs sglang-router)",
    )
}

/// The bundled PD suite on free ports.
fn pd_suite(dir: &Path, ports: [u16; 3]) -> PathBuf {
    let text = sglci_runner::suites::BUNDLED
        .iter()
        .find(|(n, _)| *n == "smoke-pd")
        .expect("bundled smoke-pd suite")
        .1
        .replace(
            "prefill_port = 30025",
            &format!("prefill_port = {}", ports[0]),
        )
        .replace(
            "decode_port = 30026",
            &format!("decode_port = {}", ports[1]),
        )
        .replace(
            "router_port = 30028",
            &format!("router_port = {}", ports[2]),
        );
    let path = dir.join("smoke-pd.toml");
    std::fs::write(&path, text).expect("suite file");
    path
}

/// A process whose command line has `program` and `--port <port>`.
fn pid_of(program: &str, port: u16) -> Option<u32> {
    for e in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if cmd.contains(program) && cmd.contains(&format!("--port {port} ")) {
            return Some(pid);
        }
    }
    None
}

fn free_ports() -> [u16; 3] {
    let ls: Vec<_> = (0..3)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("port"))
        .collect();
    let p: Vec<u16> = ls
        .iter()
        .map(|l| l.local_addr().expect("addr").port())
        .collect();
    [p[0], p[1], p[2]]
}

/// F10 on CPU: the real SGLang router in PD mode over two llama.cpp workers. Every request of
/// the tests and of GSM8K goes through the router to both workers; the summary, the GSM8K log
/// and the publisher's PD row say it passed. Then the decode worker is killed during GSM8K:
/// the run fails with `server_exited` naming it, nothing is left running, and the publisher
/// shows the failure with that class.
#[test]
fn pd_suite_through_the_router_and_a_decode_worker_that_dies() {
    // First: another test's checks must not share the cores with this one's servers.
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(smoke) = smoke_dir() else { return };
    if !pd_ready(&smoke) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let ports = free_ports();
    let suite = pd_suite(dir, ports);
    let out = runner(dir, &suite, "pd-cpu", &[]).output().expect("runner");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {:?}\n{stderr}",
        out.status.code()
    );
    let folder = dir.join(format!("runs/test/pd/pd_log/cpu/{TAG}"));
    let summary = sglci_core::parse::pd::parse_summary(
        &std::fs::read(folder.join("test_summary.txt")).expect("summary"),
    )
    .expect("parse");
    assert!(summary.passed() && summary.completed, "{summary:?}");
    assert_eq!(summary.tests.len(), 5);
    let g = sglci_core::parse::pd::parse_gsm8k(
        &std::fs::read(folder.join("test_gsm8k.log")).expect("gsm8k log"),
    )
    .expect("parse");
    assert_eq!(g.total_questions, Some(21));
    assert!(g.accuracy.is_some_and(|a| a >= 0.25), "{g:?}");
    // The router sent every request to both workers: each processed the probe, the two
    // completions and the 21 questions.
    for log in ["prefill.log", "decode.log"] {
        let text = std::fs::read_to_string(folder.join(log)).expect("worker log");
        let tasks = text.matches("processing task").count();
        assert!(tasks >= 24, "{log}: {tasks} requests");
    }
    for p in ports {
        assert!(
            pid_of("llama-server", p).is_none() && pid_of("sglang_router", p).is_none(),
            "nothing left running on {p}"
        );
    }
    let tasks = publish(dir);
    assert!(
        tasks.contains("\"pd\"") && tasks.contains("PD Disaggregation Tests"),
        "{tasks}"
    );
    let store = DirStore::new(&dir.join("store"));
    let hist = sglci_publisher::history::History::new(&store as &dyn ObjectStore);
    let pd = hist.read(sglci_core::records::PD).expect("pd");
    let rows = serde_json::to_string(&pd.rows).expect("json");
    assert_eq!(pd.rows.len(), 1, "{rows}");
    assert!(rows.contains("\"pass\""), "{rows}");

    // The fault: the decode worker dies (SIGKILL) once GSM8K has started.
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let ports = free_ports();
    let suite = pd_suite(dir, ports);
    let mut child = runner(dir, &suite, "pd-fault", &[])
        .spawn()
        .expect("runner");
    let folder = dir.join(format!("runs/test/pd/pd_log/cpu/{TAG}"));
    let start = Instant::now();
    while !std::fs::read_to_string(folder.join("test_summary.txt"))
        .is_ok_and(|s| s.contains("Test 4 - Code Generation: PASS"))
    {
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "the PD test never reached GSM8K"
        );
        assert!(
            child.try_wait().expect("wait").is_none(),
            "the runner ended early"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(2));
    let pid = pid_of("llama-server", ports[1]).expect("the decode worker's pid");
    let killed = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let out = child.wait_with_output().expect("runner");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let r: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(folder.join("results.json")).expect("results.json"),
    )
    .expect("json");
    assert_eq!(r["status"], "fail", "{r:#}");
    assert_eq!(r["failure"]["class"], "server_exited", "{r:#}");
    let line = r["failure"]["line"].as_str().expect("evidence");
    assert!(
        line.contains("decode server") && line.contains("signal 9") && line.contains("GSM8K"),
        "{line}"
    );
    let text = std::fs::read_to_string(folder.join("test_summary.txt")).expect("summary");
    assert!(text.contains("[FAIL]"), "{text}");
    for p in ports {
        assert!(
            pid_of("llama-server", p).is_none() && pid_of("sglang_router", p).is_none(),
            "nothing left running on {p}"
        );
    }
    let tasks = publish(dir);
    assert!(
        tasks.contains("\"server_exited\"") && tasks.contains("\"fail\""),
        "{tasks}"
    );
}

/// F10 through `--engine docker`: the workers and the router run as processes of one labelled
/// job container (host network, so the router and the runner's tests reach them on loopback);
/// the container is gone afterwards.
#[test]
fn pd_suite_through_the_docker_engine() {
    // First: another test's checks must not share the cores with this one's servers.
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(smoke) = smoke_dir() else { return };
    if !pd_ready(&smoke) {
        return;
    }
    let Some(image) = runtime_image(TAG) else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let (prefix, args) = docker_runtime(&smoke);
    let suite = pd_suite(dir, free_ports());
    let text = std::fs::read_to_string(&suite).expect("suite").replace(
        "[base.pd]\n",
        &format!(
            "[base.env]\nPATH = \"{prefix}/bin:/usr/bin:/bin\"\nHOME = \"/tmp\"\n\n[base.pd]\n"
        ),
    );
    std::fs::write(&suite, text).expect("suite");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = runner_on(dir, &suite, "pd-docker", &image, &args)
        .output()
        .expect("runner");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {:?}\n{stderr}",
        out.status.code()
    );
    let folder = dir.join(format!("runs/test/pd/pd_log/cpu/{TAG}"));
    let text = std::fs::read_to_string(folder.join("test_summary.txt")).expect("summary");
    let summary = sglci_core::parse::pd::parse_summary(text.as_bytes()).expect("parse");
    assert!(summary.passed(), "{text}");
    assert!(text.contains("- Execution: docker"), "{text}");
    let left = Command::new("docker")
        .args(["ps", "-aq", "--filter", "label=sglci.run=pd-docker"])
        .output()
        .expect("docker ps");
    assert!(left.stdout.is_empty(), "the job's container is removed");
}

/// An A/B record's series, a line each: load, metric, the baseline's and the candidate's values
/// by round, the paired changes, the floor and the verdict (a whole record is too long for CI's
/// log to keep).
fn series_table(record: &AbRecord) -> String {
    let nums = |v: &mut dyn Iterator<Item = Option<f64>>| -> String {
        v.map(|x| x.map_or_else(|| "-".to_owned(), |x| format!("{x:.1}")))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut out =
        String::from("load metric | baseline | candidate | changes % | floor % | verdict\n");
    for s in &record.series {
        for c in &s.candidates {
            out.push_str(&format!(
                "{} {} | {} | {} | {} | {:.1} | {}\n",
                s.load,
                s.metric,
                nums(&mut s.baseline.iter().copied()),
                nums(&mut c.values.iter().copied()),
                nums(&mut c.diffs.iter().map(|d| Some(d * 100.0))),
                c.floor * 100.0,
                c.verdict.as_str(),
            ));
        }
    }
    out
}

/// `ab` on the CPU suite (F20), rounds interleaved, every round a whole run shipped as its own
/// bundle, the comparison shipped beside them:
/// - the same image against itself (an A/A test): no significant difference;
/// - a candidate slowed on purpose (the server limited to one thread by its own suite): worse,
///   in the right direction, at every load.
///
/// Both over the default 3 rounds (A B, B A, A B): CI's first 2-round A/A met a burst of load
/// during its middle two runs (both B's), which 2 rounds cannot tell from a change (docs/ab.md).
/// Both with `--min-change 20`: on CI's shared 2-core VM one A/A measured the same image's ITL
/// 6-8 % slower as B in all three rounds, and a later one its TTFT at load 4 (the saturated
/// load, where queueing amplifies any drift) 11.6 % faster as B in all three: drifts that no
/// number of rounds tells from a change (docs/ab.md); the slowed candidate moves every series
/// by 38 % or more. A failure prints every series in one table, not the record.
/// Then the publisher ingests the 12 round bundles and the 2 records, and the site has a
/// compare page for each and an index of both.
#[test]
fn ab_on_the_cpu_suite_finds_nothing_in_an_a_over_a_and_a_slowed_candidate() {
    // First: another test's checks must not share the cores with this one's servers.
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(_) = smoke_dir() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let suite = suite_file(dir, free_port());
    let text = std::fs::read_to_string(&suite).expect("suite");
    assert!(
        text.contains("\"--threads\" = 2"),
        "the smoke suite's server uses 2 threads"
    );
    let slow = dir.join("smoke-one-thread.toml");
    std::fs::write(
        &slow,
        text.replace("\"--threads\" = 2", "\"--threads\" = 1"),
    )
    .expect("slow");
    let ab = |id: &str, extra: &[&str]| -> AbRecord {
        let out = Command::new(env!("CARGO_BIN_EXE_sglci-runner"))
            .args(["ab", "--baseline", TAG, "--candidate", TAG, "--suite"])
            .arg(&suite)
            .args([
                "--ab-id",
                id,
                "--min-change",
                "20",
                "--format",
                "json",
                "--out",
            ])
            .arg(dir.join("ab"))
            .arg("--store")
            .arg(dir.join("store"))
            .arg("--spool")
            .arg(dir.join("spool"))
            .args(extra)
            .env("HF_TOKEN", planted())
            .env_remove("GITHUB_ACTIONS")
            .output()
            .expect("runner");
        assert!(
            out.status.success(),
            "{id}: exit {:?}\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("the record on stdout")
    };
    let order = ["AB", "BA", "AB"].map(String::from).to_vec();
    let verdict_of = |r: &AbRecord| r.verdicts.first().map(|v| v.1.clone()).unwrap_or_default();

    let aa = ab("aa-smoke", &[]);
    assert_eq!(aa.order, order);
    assert_eq!(
        aa.series.len(),
        12,
        "3 loads × 4 metrics:\n{}",
        series_table(&aa)
    );
    for s in &aa.series {
        assert!(
            s.candidates.len() == 1
                && s.candidates[0].verdict == AbVerdict::NoSignificantDifference,
            "A/A {} at {}:\n{}",
            s.metric,
            s.load,
            series_table(&aa)
        );
    }
    assert!(verdict_of(&aa).contains("no significant difference"));

    let slowed = ab(
        "ab-smoke-one-thread",
        &[
            "--rounds",
            "3",
            "--candidate-suite",
            slow.to_str().expect("utf8"),
        ],
    );
    assert_eq!(slowed.order, order);
    for load in [1, 2, 4] {
        let at: Vec<_> = slowed.series.iter().filter(|s| s.load == load).collect();
        assert!(
            at.iter()
                .any(|s| s.candidates[0].verdict == AbVerdict::Worse),
            "a regression at load {load}:\n{}",
            series_table(&slowed)
        );
        for s in &at {
            let c = &s.candidates[0];
            let change = c.median_change.unwrap_or(f64::NAN);
            let right = match s.better {
                Better::Higher => change < 0.0,
                Better::Lower => change > 0.0,
            };
            assert!(
                right && c.verdict != AbVerdict::Better,
                "{} at load {load}:\n{}",
                s.metric,
                series_table(&slowed)
            );
        }
    }
    assert!(verdict_of(&slowed).starts_with("B: 🔴 worse"));

    // The publisher: every round and both records, and a compare page for each.
    publish(dir);
    let site = dir.join("site");
    for id in ["aa-smoke", "ab-smoke-one-thread"] {
        let page = std::fs::read_to_string(site.join(format!("ab/{id}.html"))).expect("page");
        assert!(page.contains(&format!("A/B {id}")), "{id}");
    }
    let aa_page = std::fs::read_to_string(site.join("ab/aa-smoke.html")).expect("page");
    assert!(aa_page.contains("no significant difference"));
    let index = std::fs::read_to_string(site.join("ab/index.html")).expect("index");
    assert!(index.contains("aa-smoke") && index.contains("ab-smoke-one-thread"));
    let rounds = std::fs::read_dir(dir.join("store/runs/cpu"))
        .expect("bundles")
        .flatten()
        .flat_map(|d| std::fs::read_dir(d.path()).into_iter().flatten().flatten())
        .count();
    assert_eq!(rounds, 14, "12 round bundles and 2 records");
}
