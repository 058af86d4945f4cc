//! F3 against a real Docker Engine (`.ci/run` installs docker.io and starts dockerd). The test
//! image is made with `docker import` from a static busybox, since no registry is reachable.
//! Without a daemon the tests say they skipped, unless `SGLCI_REQUIRE_DOCKER=1` (CI).

#![allow(clippy::print_stderr, reason = "a skipped test says so")]

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use sglci_runner::container::{spec, Gpus, Mount, Placement, MANAGED_LABEL, RUN_LABEL};
use sglci_runner::docker::DockerEngine;

use crate::common;

const IMAGE: &str = "sglci-test/busybox:3";

/// One test at a time: `cleanup` removes every sglci container, other tests' included.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The engine and the test image (and the turn to use them), or `None` (skipped) where Docker is
/// unavailable.
fn engine() -> Option<(DockerEngine, std::sync::MutexGuard<'static, ()>)> {
    let turn = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let e = match DockerEngine::connect() {
        Ok(e) => e,
        Err(err) => {
            assert!(
                std::env::var_os("SGLCI_REQUIRE_DOCKER").is_none(),
                "Docker is required (SGLCI_REQUIRE_DOCKER) but unreachable: {err}"
            );
            eprintln!("skipped: no Docker daemon ({err})");
            return None;
        }
    };
    common::busybox_image(IMAGE);
    Some((e, turn))
}

fn runner(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sglci-runner"));
    c.args(args).env("RUNNER_LOG", "warn");
    c
}

#[test]
fn the_container_has_the_devices_labels_and_mounts_and_exec_streams() {
    let Some((e, _turn)) = engine() else {
        return;
    };
    let data = tempfile::tempdir().expect("tmp");
    std::fs::write(data.path().join("model.txt"), "weights").expect("write");
    let mut env = BTreeMap::new();
    env.insert("SGLANG_USE_AITER".to_owned(), "1".to_owned());
    let s = spec(&Placement {
        run_id: "inspect-1",
        job: "grok/GROK1",
        image: IMAGE,
        hardware: "mi30x",
        env: &env,
        devices: &["/dev/null:/dev/kfd".to_owned()],
        gpus: &Gpus::All,
        mounts: &[Mount {
            host: data.path().display().to_string(),
            container: "/data".to_owned(),
            read_only: true,
        }],
    });
    let id = e.start(&s).expect("start");
    let v = e.inspect(&id).expect("inspect");
    let host = &v["HostConfig"];
    assert_eq!(host["Devices"][0]["PathInContainer"], "/dev/kfd");
    assert_eq!(host["NetworkMode"], "host");
    assert_eq!(host["IpcMode"], "host");
    assert!(host["GroupAdd"]
        .as_array()
        .is_some_and(|g| g.iter().any(|x| x == "video")));
    assert_eq!(v["Config"]["Labels"][MANAGED_LABEL], "true");
    assert_eq!(v["Config"]["Labels"][RUN_LABEL], "inspect-1");
    assert!(v["Config"]["Env"]
        .as_array()
        .is_some_and(|e| e.iter().any(|x| x == "SGLANG_USE_AITER=1")));
    let m = &v["Mounts"][0];
    assert_eq!(
        (m["Destination"].as_str(), m["RW"].as_bool()),
        (Some("/data"), Some(false))
    );
    // exec: output streamed line by line and into the log; the exit code comes back.
    let log = data.path().join("step.log");
    let mut lines = Vec::new();
    let code = e
        .exec(
            &id,
            &[
                "sh".into(),
                "-c".into(),
                "cat /data/model.txt; echo; echo $STEP; ls /dev/kfd; exit 3".into(),
            ],
            &[("STEP".to_owned(), "gsm8k".to_owned())],
            &log,
            &mut |l| lines.push(l.to_owned()),
        )
        .expect("exec");
    assert_eq!(code, 3);
    assert_eq!(lines, ["weights", "gsm8k", "/dev/kfd"]);
    assert!(std::fs::read_to_string(&log)
        .expect("log")
        .contains("gsm8k"));
    e.remove(&id).expect("remove");
    assert!(e.managed(Some("inspect-1")).expect("list").is_empty());
}

#[test]
fn exec_cli_exit_codes_and_nothing_left_behind() {
    let Some((e, _turn)) = engine() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let log = tmp.path().join("exec.log");
    let log_s = log.to_str().expect("utf8");
    let base = [
        "exec",
        "--image",
        IMAGE,
        "--run-id",
        "cli-1",
        "--hardware",
        "cpu",
        "--log",
        log_s,
    ];
    let ok = runner(
        &[
            &base[..],
            &["--env", "X=1", "--", "sh", "-c", "echo out-$X"],
        ]
        .concat(),
    )
    .output()
    .expect("runs");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("out-1"));
    let failed = runner(&[&base[..], &["--", "sh", "-c", "exit 7"]].concat())
        .output()
        .expect("runs");
    assert_eq!(
        failed.status.code(),
        Some(1),
        "the command failed: the task failed"
    );
    assert!(String::from_utf8_lossy(&failed.stderr).contains("exited with 7"));
    assert!(e.managed(Some("cli-1")).expect("list").is_empty());
    let bad = runner(&[
        "exec",
        "--image",
        IMAGE,
        "--run-id",
        "x",
        "--hardware",
        "cpu",
        "--mount",
        "rel:/x",
        "--",
        "true",
    ])
    .output()
    .expect("runs");
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn sigterm_mid_run_removes_the_container_and_leaves_others_alone() {
    let Some((e, _turn)) = engine() else {
        return;
    };
    // A container sglci did not start.
    let _ = Command::new("docker")
        .args(["rm", "-f", "not-sglci"])
        .output();
    let foreign = Command::new("docker")
        .args([
            "run",
            "-d",
            "--name",
            "not-sglci",
            "--network",
            "host",
            IMAGE,
            "sleep",
            "300",
        ])
        .output()
        .expect("docker run");
    assert!(
        foreign.status.success(),
        "{}",
        String::from_utf8_lossy(&foreign.stderr)
    );
    let tmp = tempfile::tempdir().expect("tmp");
    let log = tmp.path().join("exec.log");
    let mut child = runner(&[
        "exec",
        "--image",
        IMAGE,
        "--run-id",
        "sigterm-1",
        "--hardware",
        "cpu",
        "--log",
        log.to_str().expect("utf8"),
        "--",
        "sleep",
        "300",
    ])
    .spawn()
    .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(30);
    while e.managed(Some("sigterm-1")).expect("list").is_empty() {
        assert!(Instant::now() < deadline, "the container never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(143));
    assert!(
        e.managed(Some("sigterm-1")).expect("list").is_empty(),
        "nothing left behind"
    );
    // `cleanup` removes only sglci's containers.
    let out = runner(&["cleanup"]).output().expect("cleanup");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let still = Command::new("docker")
        .args(["inspect", "-f", "{{.State.Running}}", "not-sglci"])
        .output()
        .expect("inspect");
    assert_eq!(
        String::from_utf8_lossy(&still.stdout).trim(),
        "true",
        "a foreign container is never touched"
    );
    let _ = Command::new("docker")
        .args(["rm", "-f", "not-sglci"])
        .output();
}

/// The job engine `sglci-runner run --engine docker` uses: processes are execs in the job's
/// container, their output lands in the bind-mounted run folder, they can be stopped, and the
/// container goes away with the job.
#[test]
fn job_engine_runs_processes_in_the_container() {
    use sglci_runner::engine::{run_to_end, Engine, RunEnd};
    let Some((engine, _turn)) = engine() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let folder = dir.path().canonicalize().expect("abs");
    let mount = Mount {
        host: folder.display().to_string(),
        container: folder.display().to_string(),
        read_only: false,
    };
    let s = spec(&Placement {
        run_id: "job-engine",
        job: "smoke/M/standard/cpu",
        image: IMAGE,
        hardware: "cpu",
        env: &BTreeMap::new(),
        devices: &[],
        gpus: &Gpus::All,
        mounts: &[mount],
    });
    let mut job = sglci_runner::docker::DockerJob::start(engine, &s).expect("container");
    let id = job.container_id().to_owned();
    let log = folder.join("run/server.log");
    let sh = |script: &str| vec!["sh".to_owned(), "-c".to_owned(), script.to_owned()];

    // A background process: running, then stopped by SIGTERM (exit 143 through the exec).
    let server = job
        .spawn(&sh("echo up; exec sleep 60"), &BTreeMap::new(), &log)
        .expect("spawn");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(job.status(server).expect("status"), None);
    job.stop(server);
    let exit = job.status(server).expect("status").expect("stopped");
    assert_eq!(exit.signal, Some(15), "{exit}");

    // A foreground process with its environment, to completion, its output in the log file on
    // the host.
    let mut env = BTreeMap::new();
    env.insert("GREETING".to_owned(), "hello from the container".to_owned());
    let end = run_to_end(
        &mut job,
        &sh("echo $GREETING; exit 4"),
        &env,
        &log,
        Duration::from_secs(30),
        &mut |_| None,
    )
    .expect("run");
    match end {
        RunEnd::Exited(x) => assert_eq!(x.code, Some(4)),
        other => panic!("{other:?}"),
    }
    let text = std::fs::read_to_string(&log).expect("log");
    assert_eq!(text, "up\nhello from the container\n");

    job.teardown();
    let gone = Command::new("docker")
        .args(["inspect", &id])
        .output()
        .expect("docker inspect");
    assert!(!gone.status.success(), "the job's container is removed");
}

/// A Docker registry (Debian's `docker-registry`, the distribution registry) on loopback,
/// storing its blobs in `storage`; Docker treats 127.0.0.0/8 registries as plain HTTP.
struct Registry {
    child: std::process::Child,
}

impl Registry {
    fn start(port: u16, storage: &std::path::Path) -> Option<Self> {
        let config = storage.join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
                storage.join("blobs").display()
            ),
        )
        .expect("config");
        let child = match Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                assert!(
                    std::env::var_os("SGLCI_REQUIRE_DOCKER").is_none(),
                    "docker-registry is required (SGLCI_REQUIRE_DOCKER) but cannot start: {e}"
                );
                eprintln!("skipped: no docker-registry ({e})");
                return None;
            }
        };
        let until = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < until, "the registry did not listen");
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(Self { child })
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port")
}

fn docker(args: &[&str]) {
    let out = Command::new("docker").args(args).output().expect("docker");
    assert!(
        out.status.success(),
        "docker {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// F3: an image missing on the host is pulled; a registry that is down at the first attempt
/// and back for the second costs one retry; a tag the registry does not have fails after every
/// attempt with `pull_failed`, and `run` exits 3 before starting anything.
#[test]
fn missing_images_are_pulled_with_retries_from_a_loopback_registry() {
    let Some((e, _turn)) = engine() else {
        return;
    };
    let storage = tempfile::tempdir().expect("tmp");
    let port = free_port();
    let Some(registry) = Registry::start(port, storage.path()) else {
        return;
    };
    let tag = "v0.4.9.post2-cpu-cpu-20261125";
    let image = format!("127.0.0.1:{port}/sglci-test/pull:{tag}");
    docker(&["tag", IMAGE, &image]);
    docker(&["push", &image]);
    docker(&["rmi", &image]);
    assert_eq!(
        e.ensure_image(&image, 3, Duration::ZERO, &mut |_, _| {})
            .expect("pull"),
        1,
        "pulled at the first attempt"
    );
    assert_eq!(
        e.ensure_image(&image, 3, Duration::ZERO, &mut |_, _| {})
            .expect("present"),
        0,
        "already on the host: no pull"
    );

    // Down for the first attempt, back (same storage, same port) for the second.
    docker(&["rmi", &image]);
    drop(registry);
    let mut restarted = None;
    let mut retries = Vec::new();
    let n = e
        .ensure_image(
            &image,
            3,
            Duration::from_millis(100),
            &mut |attempt, why| {
                retries.push((attempt, why.to_owned()));
                restarted = Registry::start(port, storage.path());
            },
        )
        .expect("pulled after a retry");
    assert_eq!(n, 2);
    assert_eq!(retries.len(), 1);
    assert!(restarted.is_some());
    docker(&["rmi", &image]);

    // A tag the registry does not have.
    let missing = format!("127.0.0.1:{port}/sglci-test/pull:v0.4.9.post2-cpu-cpu-20261124");
    let err = e
        .ensure_image(&missing, 2, Duration::ZERO, &mut |_, _| {})
        .expect_err("no such tag");
    let text = err.to_string();
    assert!(text.starts_with("pull_failed: "), "{text}");
    assert!(text.contains("after 2 attempt(s)"), "{text}");

    // Through `run`: exit 3, the class on stderr, nothing started.
    let out_dir = tempfile::tempdir().expect("tmp");
    let out = runner(&[
        "run",
        "--suite",
        "smoke",
        "--hardware",
        "cpu",
        "--engine",
        "docker",
        "--image",
        &missing,
        "--pull-attempts",
        "2",
        "--pull-backoff",
        "0",
        "--no-ship",
        "--gpu-wait",
        "0",
        "--out",
    ])
    .arg(out_dir.path())
    .env("SGLCI_SMOKE_DIR", storage.path())
    .output()
    .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("pull_failed"), "{stderr}");
    assert_eq!(
        sglci_core::failure::classify(stderr.lines()).map(|e| e.class),
        Some(sglci_core::failure::FailureClass::PullFailed),
        "{stderr}"
    );
    assert!(stderr.contains("attempt 1 of 2 failed"), "{stderr}");
    assert!(
        e.managed(None).expect("list").is_empty(),
        "no container was started"
    );
}

/// NVIDIA GPUs go to a container as a device request (what `docker run --gpus` sends): all of
/// them, or a list renumbered from 0 inside. This host has no NVIDIA runtime, so the container
/// is created, not started, and the request is read back from the engine.
#[test]
fn nvidia_containers_request_their_gpus() {
    let Some((e, _turn)) = engine() else {
        return;
    };
    let none = BTreeMap::new();
    for (gpus, count, ids, visible) in [
        (
            Gpus::All,
            serde_json::json!(-1),
            serde_json::Value::Null,
            None,
        ),
        (
            Gpus::Devices(vec![4, 5]),
            serde_json::Value::Null,
            serde_json::json!(["4", "5"]),
            Some("CUDA_VISIBLE_DEVICES=0,1"),
        ),
    ] {
        let s = spec(&Placement {
            run_id: "nvidia-1",
            job: "h200",
            image: IMAGE,
            hardware: "h200",
            env: &none,
            devices: &[],
            gpus: &gpus,
            mounts: &[],
        });
        let id = e.create(&s).expect("create");
        let v = e.inspect(&id).expect("inspect");
        e.remove(&id).expect("remove");
        let req = &v["HostConfig"]["DeviceRequests"][0];
        assert_eq!(req["Driver"], "nvidia");
        assert_eq!(req["Capabilities"], serde_json::json!([["gpu"]]));
        assert_eq!(
            req["Count"].as_i64().unwrap_or(0),
            count.as_i64().unwrap_or(0)
        );
        assert_eq!(req["DeviceIDs"], ids);
        let env: Vec<&str> = v["Config"]["Env"]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x.as_str()).collect())
            .unwrap_or_default();
        assert_eq!(
            env.iter()
                .find(|x| x.starts_with("CUDA_VISIBLE_DEVICES="))
                .copied(),
            visible
        );
        assert!(v["HostConfig"]["Devices"]
            .as_array()
            .is_none_or(Vec::is_empty));
    }
}

/// Identity from the image, not the tag's spelling: an image with OCI labels, pushed to the
/// loopback registry so that it has a digest, is known by its digest, its revision (which names
/// the run label's commit) and its creation day, on the hardware the host flag gives.
#[test]
fn identity_comes_from_a_labelled_image_with_a_digest() {
    let Some((e, _turn)) = engine() else {
        return;
    };
    let storage = tempfile::tempdir().expect("tmp");
    let port = free_port();
    let Some(_registry) = Registry::start(port, storage.path()) else {
        return;
    };
    let local = "sglci-test/labelled:pr-1234";
    let revision = "3f2a9c1d7e5b4a3928170615243342516071829a";
    common::busybox_image_with(
        local,
        &[
            &format!("LABEL org.opencontainers.image.revision={revision}"),
            "LABEL org.opencontainers.image.version=v0.5.6.post2",
            "LABEL org.opencontainers.image.created=2025-11-22T23:30:00Z",
        ],
    );
    let image = format!("127.0.0.1:{port}/sglci-test/labelled:pr-1234");
    docker(&["tag", local, &image]);
    docker(&["push", &image]);
    let facts = e.image_facts(&image).expect("inspect");
    let inputs = sglci_runner::identity::IdentityInputs {
        hardware: Some("h200".parse().expect("hw")),
        facts: Some(facts),
        run_date: "20261202".to_owned(),
        ..Default::default()
    };
    let (id, label) = sglci_runner::identity::identify(&image, &inputs).expect("identity");
    assert_eq!(label.as_str(), "v0.5.6.post2-cu-h200-20251122-g3f2a9c1d7e");
    assert_eq!(id.revision.as_deref(), Some(revision));
    assert_eq!(id.sglang_commit.as_deref(), Some(revision));
    assert_eq!(id.date_source, sglci_core::DateSource::Created);
    let digest = id.digest.expect("a pushed image has a registry digest");
    assert!(
        digest.starts_with(&format!("127.0.0.1:{port}/sglci-test/labelled@sha256:")),
        "{digest}"
    );
    assert!(id.image_id.is_some_and(|i| i.starts_with("sha256:")));
    // The digest pins the same image: the same identity, by digest.
    let (by_digest, _) = sglci_runner::identity::identify(&digest, &inputs).expect("by digest");
    assert_eq!(by_digest.digest.as_deref(), Some(digest.as_str()));
    docker(&["rmi", &image]);
}
