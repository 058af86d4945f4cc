//! Multi-node runs (F19) with two runner processes on loopback: rank 0 runs the job (its
//! server and the sweep), rank 1 starts its own server process on `start`, keeps it while rank
//! 0 works and stops it on `stop`; a rank 1 killed mid-job fails rank 0's job, naming it.
//!
//! SGLang's multi-node server cannot run here (no GPUs, one host), so the server is a stand-in
//! that takes SGLang's multi-node flags and answers `/health` on rank 0, and the client a
//! stand-in that prints bench_serving's result block; everything else (the runner's plan, the
//! lockstep, the engines, the failure) is the real thing.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SERVER: &str = r#"
import http.server, os, sys, threading, time
args = sys.argv[1:]
rank = args[args.index("--node-rank") + 1]
port = int(args[args.index("--port") + 1])
open(os.path.join(os.environ["FAKE_DIR"], "pid-rank" + rank), "w").write(str(os.getpid()))
print("argv:", " ".join(args), flush=True)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a): pass
if rank == "0":
    srv = http.server.HTTPServer(("127.0.0.1", port), H)
    print("fake server ready", flush=True)
    srv.serve_forever()
else:
    print("rank", rank, "joined", flush=True)
    while True: time.sleep(1)
"#;

const CLIENT: &str = r#"
import sys, time
time.sleep(float(__import__("os").environ.get("FAKE_CLIENT_S", "1")))
print("""============ Serving Benchmark Result ============
Backend:                                 sglang
Successful requests:                     4
Output token throughput (tok/s):         100.00
----------------End-to-End Latency----------------
Median E2E Latency (ms):                 250.00
---------------Time to First Token----------------
Median TTFT (ms):                        20.00
---------------Inter-Token Latency----------------
Median ITL (ms):                         10.00
==================================================""")
"#;

/// A rendezvous address whose port and port + 1 (the runners' own) are both free. The ports are
/// below Linux's ephemeral range (32768 and up), so no outgoing connection of a test running
/// beside this one can take port + 1 between this check and rank 0's bind.
fn master_addr() -> String {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let base = 20_000 + (std::process::id() % 5_000) as u16 * 2;
    for _ in 0..1_000 {
        let p = base + NEXT.fetch_add(2, Ordering::SeqCst) % 10_000;
        let both = std::net::TcpListener::bind(("127.0.0.1", p))
            .and_then(|a| std::net::TcpListener::bind(("127.0.0.1", p + 1)).map(|b| (a, b)));
        if both.is_ok() {
            return format!("127.0.0.1:{p}");
        }
    }
    panic!("no two free ports in a row below 32768")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A suite whose server and client are the stand-ins, on `port`.
fn setup(dir: &Path, port: u16) -> String {
    std::fs::write(dir.join("fake_server.py"), SERVER).expect("server");
    std::fs::write(dir.join("fake_bench.py"), CLIENT).expect("client");
    let suite = dir.join("two-node.toml");
    std::fs::write(
        &suite,
        format!(
            r#"name = "two-node"
kind = "online"
hardware = ["cpu"]
[base]
timeout_minutes = 5
[base.server]
command = ["python3", "{server}"]
ready = "fake server ready"
ready_timeout_s = 30
port = {port}
backend = "fake"
[base.server.args]
"--port" = "{{port}}"
"--tp" = 2
[base.sweep]
by = "request-rate"
values = [1]
prompts = [4]
[base.client]
module = "fake_bench"
[base.client.args]
"--request-rate" = "{{value}}"
[models.M]
label = "BF16"
model = "/models/m"
"#,
            server = dir.join("fake_server.py").display()
        ),
    )
    .expect("suite");
    suite.display().to_string()
}

fn rank(dir: &Path, suite: &str, rank: u32, master: &str, client_s: u32) -> Child {
    Command::new(env!("CARGO_BIN_EXE_sglci-runner"))
        .args([
            "run",
            "--suite",
            suite,
            "--hardware",
            "cpu",
            "--engine",
            "local",
        ])
        .args(["--image", "v0.5.6-cpu-cpu-20261203", "--no-ship"])
        .args(["--run-id", &format!("two-node-r{rank}")])
        .args([
            "--nnodes",
            "2",
            "--node-rank",
            &rank.to_string(),
            "--master",
            master,
        ])
        .args(["--node-wait", "60"])
        .arg("--out")
        .arg(dir.join(format!("out{rank}")))
        .env("FAKE_DIR", dir)
        .env("FAKE_CLIENT_S", client_s.to_string())
        .env("PYTHONPATH", dir)
        .env("RUNNER_LOG", "warn")
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runner starts")
}

fn finish(mut c: Child) -> (Option<i32>, serde_json::Value, String) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while c.try_wait().ok().flatten().is_none() {
        assert!(Instant::now() < deadline, "a rank did not finish");
        std::thread::sleep(Duration::from_millis(200));
    }
    let (mut out, mut err) = (String::new(), String::new());
    let _ = c.stdout.take().map(|mut s| s.read_to_string(&mut out));
    let _ = c.stderr.take().map(|mut s| s.read_to_string(&mut err));
    let code = c.wait().ok().and_then(|s| s.code());
    let json = out
        .find('{')
        .and_then(|i| serde_json::from_str(&out[i..]).ok())
        .unwrap_or_default();
    (code, json, err)
}

fn alive(pid: &str) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
fn rank_1_follows_rank_0_and_stops_with_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let suite = setup(dir.path(), free_port());
    let master = master_addr();
    // Rank 1 first: it waits for rank 0.
    let r1 = rank(dir.path(), &suite, 1, &master, 1);
    std::thread::sleep(Duration::from_millis(500));
    let r0 = rank(dir.path(), &suite, 0, &master, 1);
    let (c0, j0, e0) = finish(r0);
    let (c1, j1, e1) = finish(r1);
    assert_eq!(c0, Some(0), "rank 0: {j0}\n{e0}");
    assert_eq!(c1, Some(0), "rank 1: {j1}\n{e1}");
    assert_eq!(j0["jobs"][0]["status"], "pass", "{j0}");
    let part = &j1["node_parts"][0];
    assert_eq!(part["job"], "two-node/M/standard/cpu", "{j1}");
    assert!(part["failed"].is_null(), "{j1}");
    // Rank 1's server got SGLang's multi-node flags, and is gone now.
    let folder = Path::new(part["folder"].as_str().expect("folder"));
    let log = std::fs::read_to_string(folder.join("node1_server.log")).expect("rank 1's log");
    assert!(
        log.contains(&format!(
            "--nnodes 2 --node-rank 1 --dist-init-addr {master}"
        )),
        "{log}"
    );
    let pid = std::fs::read_to_string(dir.path().join("pid-rank1")).expect("pid");
    assert!(!alive(&pid), "rank 1's server {pid} outlived the run");
    let pid0 = std::fs::read_to_string(dir.path().join("pid-rank0")).expect("pid");
    assert!(!alive(&pid0));
}

#[test]
fn a_killed_rank_1_fails_the_run_naming_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let suite = setup(dir.path(), free_port());
    let master = master_addr();
    let mut r1 = rank(dir.path(), &suite, 1, &master, 1);
    // Rank 0's sweep lasts long enough to lose rank 1 during it.
    let r0 = rank(dir.path(), &suite, 0, &master, 4);
    let pid_file = dir.path().join("pid-rank1");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !pid_file.exists() {
        assert!(Instant::now() < deadline, "rank 1 never started its server");
        std::thread::sleep(Duration::from_millis(100));
    }
    r1.kill().expect("kill rank 1's runner");
    let _ = r1.wait();
    // Its server, orphaned by the kill, is stopped by the pid it wrote.
    let pid = std::fs::read_to_string(&pid_file).expect("pid");
    let _ = Command::new("kill").arg(pid.trim()).status();
    let (c0, j0, e0) = finish(r0);
    assert_eq!(c0, Some(1), "rank 0 fails: {j0}\n{e0}");
    let job = &j0["jobs"][0];
    assert_eq!(job["status"], "fail", "{j0}");
    let line = job["failure"]["line"].as_str().unwrap_or_default();
    assert!(line.contains("node-rank 1 went away"), "{j0}");
    assert!(job["reason"]
        .as_str()
        .unwrap_or_default()
        .contains("node-rank 1"));
}

/// A deploy over two nodes needs the multi-node flags, and they must agree with it.
#[test]
fn a_two_node_deploy_needs_the_node_flags() {
    let dir = tempfile::tempdir().expect("tmp");
    let suite = setup(dir.path(), free_port());
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_sglci-runner"))
            .args([
                "run",
                "--suite",
                &suite,
                "--hardware",
                "cpu",
                "--engine",
                "local",
            ])
            .args([
                "--image",
                "v0.5.6-cpu-cpu-20261203",
                "--no-ship",
                "--deploy",
                "tp16ep16",
            ])
            .args(extra)
            .arg("--out")
            .arg(dir.path().join("out"))
            .env("RUNNER_LOG", "warn")
            .output()
            .expect("runs")
    };
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the deploy spans 2 nodes (hint: run on each node with --nnodes 2"),
        "{err}"
    );
    let out = run(&[
        "--nnodes",
        "3",
        "--node-rank",
        "0",
        "--master",
        "127.0.0.1:1",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("the deploy spans 2 node(s) (hint: --nnodes 2)"));
    let out = run(&["--nnodes", "2", "--master", "127.0.0.1:1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("go together"));
}
