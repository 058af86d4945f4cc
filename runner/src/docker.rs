//! F3 the Docker engine through its API (bollard): create and start a container from a
//! [`ContainerSpec`], run steps in it with `exec` while streaming their output to a log file,
//! and remove it. Cleanup only lists containers carrying sglci's label, so a container sglci did
//! not start is never touched.
//!
//! The engine is blocking (it owns a small runtime), like the store backends.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{ContainerCreateBody, DeviceMapping, DeviceRequest, HostConfig, MountType};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptions, ListContainersOptionsBuilder,
    RemoveContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;

use crate::container::{ContainerSpec, MANAGED_LABEL, RUN_LABEL};

#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    #[error(
        "Docker: {op}: {reason} (hint: is the Docker daemon running and is its socket readable?)"
    )]
    Api { op: String, reason: String },
    /// F3: the image is not on this host and could not be pulled (class `pull_failed`).
    #[error("pull_failed: Failed to pull {image} after {attempts} attempt(s), the last with: {reason} (hint: is the registry reachable from this host, and is the tag right?)")]
    Pull {
        image: String,
        attempts: u32,
        reason: String,
    },
    #[error("writing {path}: {source}")]
    Log {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

fn api(op: impl Into<String>) -> impl Fn(bollard::errors::Error) -> DockerError {
    let op = op.into();
    move |e| DockerError::Api {
        op: op.clone(),
        reason: e.to_string(),
    }
}

#[derive(Debug)]
pub struct DockerEngine {
    docker: Docker,
    rt: tokio::runtime::Runtime,
}

impl DockerEngine {
    /// Connects as the docker CLI does (`DOCKER_HOST`, else the local socket).
    pub fn connect() -> Result<Self, DockerError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| DockerError::Api {
                op: "runtime".into(),
                reason: e.to_string(),
            })?;
        let docker = Docker::connect_with_local_defaults().map_err(api("connect"))?;
        rt.block_on(docker.ping()).map_err(api("ping"))?;
        Ok(Self { docker, rt })
    }

    /// F3: makes sure `image` is on this host: nothing to do when it is, otherwise up to
    /// `attempts` pulls, waiting `backoff × attempt` between them (registries fail
    /// transiently). Returns how many pulls it took (0 = already present).
    pub fn ensure_image(
        &self,
        image: &str,
        attempts: u32,
        backoff: std::time::Duration,
        on_retry: &mut dyn FnMut(u32, &str),
    ) -> Result<u32, DockerError> {
        if self.rt.block_on(self.docker.inspect_image(image)).is_ok() {
            return Ok(0);
        }
        // `repo:tag` (a registry host may carry a port: the tag is after the last `/`).
        let (repo, tag) = match image.rsplit_once(':') {
            Some((r, t)) if !t.contains('/') => (r.to_owned(), t.to_owned()),
            _ => (image.to_owned(), "latest".to_owned()),
        };
        let mut last = String::new();
        for attempt in 1..=attempts.max(1) {
            let opts = CreateImageOptions {
                from_image: Some(repo.clone()),
                tag: Some(tag.clone()),
                ..Default::default()
            };
            let result: Result<(), String> = self.rt.block_on(async {
                let mut stream = self.docker.create_image(Some(opts), None, None);
                while let Some(item) = stream.next().await {
                    match item {
                        Ok(info) => {
                            if let Some(e) = info.error_detail.and_then(|d| d.message) {
                                return Err(e);
                            }
                        }
                        Err(e) => return Err(e.to_string()),
                    }
                }
                Ok(())
            });
            match result {
                Ok(()) if self.rt.block_on(self.docker.inspect_image(image)).is_ok() => {
                    return Ok(attempt)
                }
                Ok(()) => last = "the pull ended but the image is not on the host".to_owned(),
                Err(e) => last = e,
            }
            if attempt < attempts {
                on_retry(attempt, &last);
                std::thread::sleep(backoff * attempt);
            }
        }
        Err(DockerError::Pull {
            image: image.to_owned(),
            attempts: attempts.max(1),
            reason: last,
        })
    }

    /// What the image on this host says about itself: its id, registry digests, labels and
    /// creation time.
    pub fn image_facts(&self, image: &str) -> Result<crate::identity::ImageFacts, DockerError> {
        let i = self
            .rt
            .block_on(self.docker.inspect_image(image))
            .map_err(api(format!("inspect {image}")))?;
        Ok(crate::identity::ImageFacts {
            id: i.id,
            repo_digests: i.repo_digests.unwrap_or_default(),
            labels: i
                .config
                .and_then(|c| c.labels)
                .unwrap_or_default()
                .into_iter()
                .collect(),
            created: i.created,
        })
    }

    /// Creates and starts the container; returns its id.
    pub fn start(&self, spec: &ContainerSpec) -> Result<String, DockerError> {
        let id = self.create(spec)?;
        if let Err(e) = self.rt.block_on(self.docker.start_container(&id, None)) {
            // Never leave a created-but-not-started container behind.
            let _ = self.remove(&id);
            return Err(api(format!("start {}", spec.name))(e));
        }
        Ok(id)
    }

    /// Creates the container without starting it; returns its id.
    pub fn create(&self, spec: &ContainerSpec) -> Result<String, DockerError> {
        let host = HostConfig {
            devices: Some(
                spec.devices
                    .iter()
                    .map(|(h, c)| DeviceMapping {
                        path_on_host: Some(h.clone()),
                        path_in_container: Some(c.clone()),
                        cgroup_permissions: Some("rwm".to_owned()),
                    })
                    .collect(),
            ),
            device_requests: spec.gpu_request.as_ref().map(|r| {
                vec![DeviceRequest {
                    driver: Some("nvidia".to_owned()),
                    count: r.device_ids.is_none().then_some(-1),
                    device_ids: r.device_ids.clone(),
                    capabilities: Some(vec![vec!["gpu".to_owned()]]),
                    options: None,
                }]
            }),
            group_add: Some(spec.groups.clone()),
            mounts: Some(
                spec.mounts
                    .iter()
                    .map(|m| bollard::models::Mount {
                        target: Some(m.container.clone()),
                        source: Some(m.host.clone()),
                        typ: Some(MountType::BIND),
                        read_only: Some(m.read_only),
                        ..Default::default()
                    })
                    .collect(),
            ),
            network_mode: spec.network_host.then(|| "host".to_owned()),
            ipc_mode: spec.ipc_host.then(|| "host".to_owned()),
            shm_size: (!spec.ipc_host).then_some(spec.shm_size_bytes),
            cap_add: Some(spec.cap_add.clone()),
            security_opt: Some(spec.security_opt.clone()),
            init: Some(true),
            ..Default::default()
        };
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            cmd: Some(spec.cmd.clone()),
            env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            labels: Some(spec.labels.clone().into_iter().collect::<HashMap<_, _>>()),
            host_config: Some(host),
            ..Default::default()
        };
        let opts = CreateContainerOptionsBuilder::default()
            .name(&spec.name)
            .build();
        let created = self
            .rt
            .block_on(self.docker.create_container(Some(opts), body))
            .map_err(api(format!("create {}", spec.name)))?;
        Ok(created.id)
    }

    /// Runs `argv` in the container, appending its output to `log` and handing each line to
    /// `on_line`; returns the exit code.
    pub fn exec(
        &self,
        id: &str,
        argv: &[String],
        env: &[(String, String)],
        log: &Path,
        on_line: &mut dyn FnMut(&str),
    ) -> Result<i64, DockerError> {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|source| DockerError::Log {
                path: log.to_owned(),
                source,
            })?;
        self.rt.block_on(async {
            let exec = self
                .docker
                .create_exec(
                    id,
                    CreateExecOptions::<String> {
                        cmd: Some(argv.to_vec()),
                        env: Some(env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
                        attach_stdout: Some(true),
                        attach_stderr: Some(true),
                        ..Default::default()
                    },
                )
                .await
                .map_err(api("exec create"))?;
            if let StartExecResults::Attached { mut output, .. } = self
                .docker
                .start_exec(&exec.id, None)
                .await
                .map_err(api("exec start"))?
            {
                let mut pending = String::new();
                while let Some(chunk) = output.next().await {
                    let bytes = chunk.map_err(api("exec output"))?.into_bytes();
                    file.write_all(&bytes).map_err(|source| DockerError::Log {
                        path: log.to_owned(),
                        source,
                    })?;
                    pending.push_str(&String::from_utf8_lossy(&bytes));
                    while let Some(n) = pending.find(['\n', '\r']) {
                        let line: String = pending.drain(..=n).collect();
                        let line = line.trim_end_matches(['\n', '\r']);
                        if !line.is_empty() {
                            on_line(line);
                        }
                    }
                }
                if !pending.is_empty() {
                    on_line(&pending);
                }
            }
            let done = self
                .docker
                .inspect_exec(&exec.id)
                .await
                .map_err(api("exec inspect"))?;
            Ok(done.exit_code.unwrap_or(-1))
        })
    }

    /// Removes a container (stopping it first). Already gone, or already being removed (by a
    /// signal handler, by a concurrent cleanup), counts as removed.
    pub fn remove(&self, id: &str) -> Result<(), DockerError> {
        match self.rt.block_on(self.docker.remove_container(
            id,
            Some(RemoveContainerOptionsBuilder::default().force(true).build()),
        )) {
            Ok(()) => Ok(()),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404 | 409,
                ..
            }) => Ok(()),
            Err(e) => Err(api(format!("remove {id}"))(e)),
        }
    }

    /// Containers sglci started (for one run, or all), as (id, name).
    pub fn managed(&self, run_id: Option<&str>) -> Result<Vec<(String, String)>, DockerError> {
        let mut labels = vec![format!("{MANAGED_LABEL}=true")];
        if let Some(r) = run_id {
            labels.push(format!("{RUN_LABEL}={r}"));
        }
        let mut filters = HashMap::new();
        filters.insert("label".to_owned(), labels);
        let opts = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        let list = self
            .rt
            .block_on(self.docker.list_containers(Some(opts)))
            .map_err(api("list"))?;
        Ok(list
            .into_iter()
            .filter(|c| {
                c.labels
                    .as_ref()
                    .and_then(|l| l.get(MANAGED_LABEL))
                    .is_some_and(|v| v == "true")
            })
            .map(|c| {
                (
                    c.id.unwrap_or_default(),
                    c.names
                        .and_then(|n| n.first().cloned())
                        .unwrap_or_default()
                        .trim_start_matches('/')
                        .to_owned(),
                )
            })
            .collect())
    }

    /// Removes every container sglci started for `run_id` (or for any run). Returns their names.
    pub fn cleanup(&self, run_id: Option<&str>) -> Result<Vec<String>, DockerError> {
        let mut removed = Vec::new();
        for (id, name) in self.managed(run_id)? {
            self.remove(&id)?;
            removed.push(name);
        }
        Ok(removed)
    }

    /// The raw inspect document of a container (for checks and the run record).
    pub fn inspect(&self, id: &str) -> Result<serde_json::Value, DockerError> {
        let v = self
            .rt
            .block_on(self.docker.inspect_container(id, None))
            .map_err(api(format!("inspect {id}")))?;
        serde_json::to_value(v).map_err(|e| DockerError::Api {
            op: "inspect".into(),
            reason: e.to_string(),
        })
    }
}

impl DockerEngine {
    /// Starts `argv` in the container without waiting: its output is appended to `log` (a path
    /// that is the same inside the container: the run folder is bind-mounted at its own path),
    /// its pid written to `pid_file` inside the container. Returns the exec id.
    pub fn exec_detached(
        &self,
        id: &str,
        argv: &[String],
        env: &[(String, String)],
        log: &Path,
        pid_file: &str,
    ) -> Result<String, DockerError> {
        let mut cmd = vec![
            "sh".to_owned(),
            "-c".to_owned(),
            r#"echo $$ > "$0"; log="$1"; shift; exec "$@" >> "$log" 2>&1"#.to_owned(),
            pid_file.to_owned(),
            log.display().to_string(),
        ];
        cmd.extend(argv.iter().cloned());
        self.rt.block_on(async {
            let exec = self
                .docker
                .create_exec(
                    id,
                    CreateExecOptions::<String> {
                        cmd: Some(cmd),
                        env: Some(env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
                        attach_stdout: Some(false),
                        attach_stderr: Some(false),
                        ..Default::default()
                    },
                )
                .await
                .map_err(api("exec create"))?;
            self.docker
                .start_exec(
                    &exec.id,
                    Some(bollard::exec::StartExecOptions {
                        detach: true,
                        ..Default::default()
                    }),
                )
                .await
                .map_err(api("exec start"))?;
            Ok(exec.id)
        })
    }

    /// `None` while the exec runs, else its exit code.
    pub fn exec_exit(&self, exec_id: &str) -> Result<Option<i64>, DockerError> {
        let s = self
            .rt
            .block_on(self.docker.inspect_exec(exec_id))
            .map_err(api("exec inspect"))?;
        Ok(if s.running.unwrap_or(false) {
            None
        } else {
            Some(s.exit_code.unwrap_or(-1))
        })
    }
}

/// The Docker side of [`crate::engine::Engine`]: one container per job (created by the caller
/// from a [`ContainerSpec`]), every process an `exec` in it, removed on teardown.
#[derive(Debug)]
pub struct DockerJob {
    engine: DockerEngine,
    container: String,
    /// (exec id, pid file) per process.
    procs: Vec<(String, String)>,
    exits: std::collections::BTreeMap<usize, crate::engine::Exit>,
}

impl DockerJob {
    /// Creates and starts the job's container.
    pub fn start(engine: DockerEngine, spec: &ContainerSpec) -> Result<Self, DockerError> {
        let container = engine.start(spec)?;
        Ok(Self {
            engine,
            container,
            procs: Vec::new(),
            exits: std::collections::BTreeMap::new(),
        })
    }

    pub fn container_id(&self) -> &str {
        &self.container
    }

    fn signal(&self, pid_file: &str, signal: &str) {
        let script = format!(r#"kill -{signal} "$(cat {pid_file})" 2>/dev/null"#);
        let argv = ["sh".to_owned(), "-c".to_owned(), script];
        let _ = self.engine.exec(
            &self.container,
            &argv,
            &[],
            Path::new("/dev/null"),
            &mut |_| {},
        );
    }
}

fn docker_exit(code: i64) -> crate::engine::Exit {
    // A process killed by signal N exits 128 + N as seen through the exec.
    crate::engine::Exit {
        code: Some(code),
        signal: (129..=192).contains(&code).then(|| (code - 128) as i32),
    }
}

impl crate::engine::Engine for DockerJob {
    fn describe(&self) -> String {
        format!("docker {}", &self.container[..self.container.len().min(12)])
    }

    fn spawn(
        &mut self,
        argv: &[String],
        env: &std::collections::BTreeMap<String, String>,
        log: &Path,
    ) -> Result<crate::engine::ProcId, crate::engine::EngineError> {
        if argv.is_empty() {
            return Err(crate::engine::EngineError::EmptyCommand);
        }
        if let Some(dir) = log.parent() {
            std::fs::create_dir_all(dir).map_err(|source| crate::engine::EngineError::Log {
                path: log.to_owned(),
                source,
            })?;
        }
        let pid_file = format!("/tmp/sglci-proc-{}.pid", self.procs.len());
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let exec = self
            .engine
            .exec_detached(&self.container, argv, &env, log, &pid_file)
            .map_err(|e| crate::engine::EngineError::Docker(e.to_string()))?;
        self.procs.push((exec, pid_file));
        Ok(crate::engine::ProcId(self.procs.len() - 1))
    }

    fn status(
        &mut self,
        id: crate::engine::ProcId,
    ) -> Result<Option<crate::engine::Exit>, crate::engine::EngineError> {
        if let Some(e) = self.exits.get(&id.0) {
            return Ok(Some(*e));
        }
        let Some((exec, _)) = self.procs.get(id.0) else {
            return Ok(None);
        };
        match self
            .engine
            .exec_exit(exec)
            .map_err(|e| crate::engine::EngineError::Docker(e.to_string()))?
        {
            Some(code) => {
                let e = docker_exit(code);
                self.exits.insert(id.0, e);
                Ok(Some(e))
            }
            None => Ok(None),
        }
    }

    fn stop(&mut self, id: crate::engine::ProcId) {
        let Some((_, pid_file)) = self.procs.get(id.0).cloned() else {
            return;
        };
        for (signal, grace) in [("TERM", 10), ("KILL", 5)] {
            if matches!(self.status(id), Ok(Some(_))) {
                return;
            }
            self.signal(&pid_file, signal);
            let until = std::time::Instant::now() + std::time::Duration::from_secs(grace);
            while std::time::Instant::now() < until {
                if matches!(self.status(id), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
        }
    }

    fn teardown(&mut self) {
        let _ = self.engine.remove(&self.container);
    }
}

impl Drop for DockerJob {
    fn drop(&mut self) {
        crate::engine::Engine::teardown(self);
    }
}
