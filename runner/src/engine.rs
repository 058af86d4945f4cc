//! Where a job's processes run: the engine trait, and its local-process implementation (the
//! Docker one is in [`crate::docker`]). The executor starts the server in the background, runs
//! clients to completion with a timeout and a watchdog, and stops everything at the end; every
//! process's output goes to a log file in the run folder.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A process an engine started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProcId(pub usize);

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit {
    pub code: Option<i64>,
    pub signal: Option<i32>,
}

impl Exit {
    pub fn success(self) -> bool {
        self.code == Some(0)
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.code, self.signal) {
            (_, Some(s)) => write!(f, "signal {s}"),
            (Some(c), None) => write!(f, "exit code {c}"),
            (None, None) => f.write_str("unknown exit"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("starting `{program}`: {source} (hint: is it installed and on PATH?)")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("log file {path}: {source}")]
    Log {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("empty command line")]
    EmptyCommand,
    #[error("{0}")]
    Docker(String),
    /// The run handed a job to another kind's executor (a bug in the runner, not in the suite).
    #[error("{job}: not a {kind} job (hint: this is a bug in sglci-runner; please report it)")]
    NotThisKind { job: String, kind: &'static str },
}

/// Runs a job's processes.
pub trait Engine {
    /// What it is, for logs (`local`, `docker <container>`).
    fn describe(&self) -> String;
    /// Starts `argv` in the background, its stdout and stderr appended to `log`.
    fn spawn(
        &mut self,
        argv: &[String],
        env: &BTreeMap<String, String>,
        log: &Path,
    ) -> Result<ProcId, EngineError>;
    /// `None` while it runs.
    fn status(&mut self, id: ProcId) -> Result<Option<Exit>, EngineError>;
    /// Stops it (SIGTERM, then SIGKILL after a grace period) and reaps it.
    fn stop(&mut self, id: ProcId);
    /// Stops everything this engine started.
    fn teardown(&mut self);
}

/// How a foreground run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunEnd {
    Exited(Exit),
    TimedOut,
    /// The watchdog stopped it (the reason it gave).
    Aborted(String),
}

/// Runs `argv` to its end, polling `watchdog` (a `Some(reason)` stops it: the server died) and
/// stopping it after `timeout`.
pub fn run_to_end(
    engine: &mut dyn Engine,
    argv: &[String],
    env: &BTreeMap<String, String>,
    log: &Path,
    timeout: Duration,
    watchdog: &mut dyn FnMut(&mut dyn Engine) -> Option<String>,
) -> Result<RunEnd, EngineError> {
    let id = engine.spawn(argv, env, log)?;
    let start = Instant::now();
    loop {
        if let Some(exit) = engine.status(id)? {
            return Ok(RunEnd::Exited(exit));
        }
        if start.elapsed() > timeout {
            engine.stop(id);
            return Ok(RunEnd::TimedOut);
        }
        if let Some(reason) = watchdog(engine) {
            engine.stop(id);
            return Ok(RunEnd::Aborted(reason));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Process groups the local engine has running, so that a signal handler can stop them all
/// (they are in their own groups, so a SIGTERM to the runner does not reach them).
static LIVE_GROUPS: std::sync::Mutex<std::collections::BTreeSet<u32>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

fn track(pid: u32, live: bool) {
    if let Ok(mut g) = LIVE_GROUPS.lock() {
        if live {
            g.insert(pid);
        } else {
            g.remove(&pid);
        }
    }
}

/// Stops every process group the local engines of this process started (SIGTERM, then SIGKILL):
/// for the cancellation handler.
pub fn stop_all_local() {
    let groups: Vec<u32> = LIVE_GROUPS
        .lock()
        .map(|g| g.iter().copied().collect())
        .unwrap_or_default();
    for signal in ["-TERM", "-KILL"] {
        for pid in &groups {
            let _ = Command::new("kill")
                .args([signal, "--", &format!("-{pid}")])
                .stderr(Stdio::null())
                .status();
        }
        std::thread::sleep(Duration::from_secs(2));
    }
}

/// Processes on this machine, each in its own process group so that stopping one stops its
/// children too (a server's workers, a client's subprocesses).
#[derive(Debug, Default)]
pub struct LocalEngine {
    children: Vec<Option<Child>>,
    exits: BTreeMap<usize, Exit>,
}

fn open_log(log: &Path) -> Result<std::fs::File, EngineError> {
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir).map_err(|source| EngineError::Log {
            path: log.to_owned(),
            source,
        })?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|source| EngineError::Log {
            path: log.to_owned(),
            source,
        })
}

fn exit_of(s: std::process::ExitStatus) -> Exit {
    use std::os::unix::process::ExitStatusExt;
    Exit {
        code: s.code().map(i64::from),
        signal: s.signal(),
    }
}

impl Engine for LocalEngine {
    fn describe(&self) -> String {
        "local".to_owned()
    }

    fn spawn(
        &mut self,
        argv: &[String],
        env: &BTreeMap<String, String>,
        log: &Path,
    ) -> Result<ProcId, EngineError> {
        use std::os::unix::process::CommandExt;
        let (program, args) = argv.split_first().ok_or(EngineError::EmptyCommand)?;
        let out = open_log(log)?;
        let err = out.try_clone().map_err(|source| EngineError::Log {
            path: log.to_owned(),
            source,
        })?;
        let child = Command::new(program)
            .args(args)
            .envs(env)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .map_err(|source| EngineError::Spawn {
                program: program.clone(),
                source,
            })?;
        track(child.id(), true);
        self.children.push(Some(child));
        Ok(ProcId(self.children.len() - 1))
    }

    fn status(&mut self, id: ProcId) -> Result<Option<Exit>, EngineError> {
        if let Some(e) = self.exits.get(&id.0) {
            return Ok(Some(*e));
        }
        let Some(Some(child)) = self.children.get_mut(id.0) else {
            return Ok(None);
        };
        match child.try_wait() {
            Ok(Some(s)) => {
                let e = exit_of(s);
                track(child.id(), false);
                self.exits.insert(id.0, e);
                self.children[id.0] = None;
                Ok(Some(e))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(EngineError::Docker(format!("waiting for a process: {e}"))),
        }
    }

    fn stop(&mut self, id: ProcId) {
        let Some(Some(child)) = self.children.get_mut(id.0) else {
            return;
        };
        let group = format!("-{}", child.id());
        for (signal, grace) in [("-TERM", 10), ("-KILL", 5)] {
            let _ = Command::new("kill")
                .args([signal, "--", &group])
                .stderr(Stdio::null())
                .status();
            let until = Instant::now() + Duration::from_secs(grace);
            while Instant::now() < until {
                if let Ok(Some(s)) = child.try_wait() {
                    track(child.id(), false);
                    self.exits.insert(id.0, exit_of(s));
                    self.children[id.0] = None;
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    fn teardown(&mut self) {
        for i in 0..self.children.len() {
            self.stop(ProcId(i));
        }
    }
}

impl Drop for LocalEngine {
    fn drop(&mut self) {
        self.teardown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Vec<String> {
        vec!["sh".into(), "-c".into(), script.into()]
    }

    #[test]
    fn local_processes_log_exit_and_stop() {
        let dir = tempfile::tempdir().expect("tmp");
        let log = dir.path().join("sub/a.log");
        let mut e = LocalEngine::default();
        let mut env = BTreeMap::new();
        env.insert("GREETING".to_owned(), "hello".to_owned());
        let end = run_to_end(
            &mut e,
            &sh("echo $GREETING; echo oops >&2; exit 3"),
            &env,
            &log,
            Duration::from_secs(10),
            &mut |_| None,
        )
        .expect("run");
        assert_eq!(
            end,
            RunEnd::Exited(Exit {
                code: Some(3),
                signal: None
            })
        );
        assert_eq!(std::fs::read_to_string(&log).expect("log"), "hello\noops\n");

        // A background process and its child are stopped together.
        let bg = e
            .spawn(&sh("sleep 60 & wait"), &BTreeMap::new(), &log)
            .expect("spawn");
        assert_eq!(e.status(bg).expect("status"), None);
        e.stop(bg);
        let exit = e.status(bg).expect("status").expect("stopped");
        assert_eq!(exit.signal, Some(15), "{exit}");

        // Timeout and watchdog.
        let end = run_to_end(
            &mut e,
            &sh("sleep 30"),
            &BTreeMap::new(),
            &log,
            Duration::from_millis(300),
            &mut |_| None,
        )
        .expect("run");
        assert_eq!(end, RunEnd::TimedOut);
        let mut n = 0;
        let end = run_to_end(
            &mut e,
            &sh("sleep 30"),
            &BTreeMap::new(),
            &log,
            Duration::from_secs(30),
            &mut |_| {
                n += 1;
                (n > 2).then(|| "server died".to_owned())
            },
        )
        .expect("run");
        assert_eq!(end, RunEnd::Aborted("server died".into()));

        let err = e
            .spawn(&["/nonexistent/prog".to_owned()], &BTreeMap::new(), &log)
            .expect_err("missing program");
        assert!(err.to_string().contains("/nonexistent/prog"), "{err}");
    }
}
