//! A follower's run (`--node-rank` 1 and up): its part of each job, in lockstep with rank 0.
//! An online job's part is its server (started on `start`, watched, stopped on `stop`); an
//! offline job's part is each cell in turn (the distributed rendezvous keeps the nodes' cells
//! together). A process that fails is reported to rank 0 (`exited`), which fails the job.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::coord::Link;
use super::{Msg, Nodes};
use crate::engine::{Engine, ProcId};
use crate::error::RunnerError;
use crate::host::say;
use crate::plan::{JobSpec, PlannedJob};

/// What this rank did for one job.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Part {
    pub job: String,
    /// Where its logs are.
    pub folder: String,
    /// Why its part failed, if it did.
    pub failed: Option<String>,
}

struct Active<'j> {
    job: &'j PlannedJob,
    engine: Box<dyn Engine>,
    proc: Option<ProcId>,
    next_cell: usize,
    folder: PathBuf,
    failed: Option<String>,
}

impl Active<'_> {
    /// Starts the next piece: the server, or the next offline cell; `false` when none is left.
    fn spawn_next(&mut self, rank: u32) -> Result<bool, RunnerError> {
        let (argv, log) = match &self.job.spec {
            JobSpec::Online { server, .. } if self.next_cell == 0 => {
                (&server.argv, format!("node{rank}_server.log"))
            }
            JobSpec::Offline { cells } => match cells.get(self.next_cell) {
                Some(c) => (
                    &c.argv,
                    format!(
                        "node{rank}_bench_one_batch_bs{}_il{}_ol{}.log",
                        c.batch_size, c.input_len, c.output_len
                    ),
                ),
                None => return Ok(false),
            },
            _ => return Ok(false),
        };
        self.next_cell += 1;
        self.proc = Some(
            self.engine
                .spawn(argv, &self.job.env, &self.folder.join(log))?,
        );
        Ok(true)
    }

    /// Checks the running piece; returns why it failed when it just did.
    fn poll(&mut self, rank: u32) -> Result<Option<String>, RunnerError> {
        let Some(id) = self.proc else { return Ok(None) };
        let Some(exit) = self.engine.status(id)? else {
            return Ok(None);
        };
        self.proc = None;
        let online = matches!(self.job.spec, JobSpec::Online { .. });
        if online || !exit.success() {
            let why = format!(
                "its {} ended ({exit})",
                if online { "server" } else { "offline cell" }
            );
            self.failed = Some(why.clone());
            return Ok(Some(why));
        }
        self.spawn_next(rank)?;
        Ok(None)
    }

    fn end(mut self) -> Part {
        if let Some(id) = self.proc.take() {
            self.engine.stop(id);
        }
        self.engine.teardown();
        Part {
            job: self.job.id.clone(),
            folder: self.folder.display().to_string(),
            failed: self.failed,
        }
    }
}

/// Starts a job's engine (a fresh container, or local processes).
pub type MakeEngine<'a> = dyn FnMut(&PlannedJob) -> Result<Box<dyn Engine>, RunnerError> + 'a;

/// Follows rank 0 until it says `done` (every part returned) or goes away (an error, after
/// stopping what runs).
pub fn follow(
    mut link: Link,
    nodes: &Nodes,
    jobs: &[&PlannedJob],
    root: &Path,
    make_engine: &mut MakeEngine<'_>,
) -> Result<Vec<Part>, RunnerError> {
    let rank = nodes.rank;
    let _ = link
        .reader
        .get_ref()
        .set_read_timeout(Some(Duration::from_millis(300)));
    let mut parts = Vec::new();
    let mut active: Option<Active<'_>> = None;
    let mut line = String::new();
    loop {
        let msg = match link.reader.read_line(&mut line) {
            Ok(0) => {
                if let Some(a) = active.take() {
                    parts.push(a.end());
                }
                return Err(RunnerError::Failed(format!(
                    "node-rank 0 went away (its connection closed) after {} job(s); this rank's logs are under {}",
                    parts.len(),
                    root.display()
                )));
            }
            Ok(_) if line.ends_with('\n') => {
                let m = Msg::decode(&line);
                line.clear();
                m
            }
            _ => None,
        };
        let mut tell = |m: Msg| {
            if let Err(e) = link.writer.write_all(m.encode().as_bytes()) {
                tracing::warn!("telling rank 0: {e}");
            }
        };
        match msg {
            Some(Msg::Start { job }) => {
                if let Some(a) = active.take() {
                    parts.push(a.end());
                }
                let Some(j) = jobs.iter().find(|j| j.id == job) else {
                    tell(Msg::Exited {
                        rank,
                        job: job.clone(),
                        why: "the job is not in this rank's plan (hint: the same suite and flags on every node)".to_owned(),
                    });
                    continue;
                };
                let folder = root.join(j.run_folder.as_deref().unwrap_or("node-logs"));
                std::fs::create_dir_all(&folder)
                    .map_err(|e| RunnerError::Machine(format!("{}: {e}", folder.display())))?;
                say(&format!("node-rank {rank}: starting its part of {job}"));
                let mut a = Active {
                    job: j,
                    engine: make_engine(j)?,
                    proc: None,
                    next_cell: 0,
                    folder,
                    failed: None,
                };
                a.spawn_next(rank)?;
                active = Some(a);
            }
            Some(Msg::Stop { job }) if active.as_ref().is_some_and(|a| a.job.id == job) => {
                if let Some(a) = active.take() {
                    say(&format!("node-rank {rank}: stopping its part of {job}"));
                    parts.push(a.end());
                }
            }
            Some(Msg::Done) => {
                if let Some(a) = active.take() {
                    parts.push(a.end());
                }
                return Ok(parts);
            }
            _ => {}
        }
        if let Some(a) = active.as_mut() {
            if let Some(why) = a.poll(rank)? {
                say(&format!("node-rank {rank}: {why}"));
                tell(Msg::Exited {
                    rank,
                    job: a.job.id.clone(),
                    why,
                });
            }
        }
    }
}
