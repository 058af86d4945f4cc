//! Multi-node runs (F19): one runner per node, `--nnodes N --node-rank R --master HOST:PORT`.
//!
//! Every job's SGLang command gets `--nnodes N --node-rank R --dist-init-addr HOST:PORT` (the
//! torch distributed rendezvous on rank 0). Rank 0 (the **leader**) runs the suite as usual: the
//! server, the GSM8K gate and the sweep, or the offline cells. Every other rank (a
//! **follower**) only runs its part of each job (its server, or each offline cell in turn), in
//! lockstep with the leader over a small line protocol on `HOST:PORT+1` ([`Msg`]):
//!
//! 1. each follower connects and says `hello R`; the leader waits for all of them before its
//!    first job (`--node-wait` seconds, then the run fails naming the missing ranks);
//! 2. around each job the leader says `start JOB` and `stop JOB`; a follower starts its part on
//!    `start` and stops it on `stop`;
//! 3. a follower whose process dies says `exited R JOB: WHY`; a follower whose connection
//!    closes has gone away. Either fails the leader's job with the rank named in its evidence;
//! 4. `done` ends the run; a follower whose leader goes away stops its part and fails.
//!
//! This module is pure (flags, arguments, messages); [`coord`] holds the sockets and
//! [`follower`] the follower's loop.

pub mod coord;
pub mod follower;

use crate::plan::{JobSpec, Plan};

/// `--nnodes`, `--node-rank`, `--master`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nodes {
    pub nnodes: u32,
    pub rank: u32,
    /// The rendezvous host and port (`--dist-init-addr`).
    pub host: String,
    pub port: u16,
}

impl Nodes {
    /// From the flags; `None` for a one-node run. Errors name the flag.
    pub fn from_flags(
        nnodes: Option<u32>,
        rank: Option<u32>,
        master: Option<&str>,
    ) -> Result<Option<Self>, String> {
        let (n, r, m) = match (nnodes, rank, master) {
            (None | Some(1), None, None) => return Ok(None),
            (Some(n), Some(r), Some(m)) if n >= 2 => (n, r, m),
            _ => {
                return Err("--nnodes N (2 or more), --node-rank R and --master HOST:PORT go together (hint: every node runs the same command with its own --node-rank)".to_owned())
            }
        };
        if r >= n {
            return Err(format!(
                "--node-rank {r}: ranks are 0 to {} for --nnodes {n}",
                n - 1
            ));
        }
        let (host, port) = m
            .rsplit_once(':')
            .and_then(|(h, p)| Some((h, p.parse::<u16>().ok()?)))
            .filter(|(h, p)| !h.is_empty() && *p > 0 && *p < u16::MAX)
            .ok_or_else(|| {
                format!("--master `{m}`: HOST:PORT, rank 0's address and a free port (its port + 1 is the runners' own)")
            })?;
        if host.contains(char::is_whitespace) || host.contains('/') {
            return Err(format!("--master `{m}`: not a host name or address"));
        }
        Ok(Some(Self {
            nnodes: n,
            rank: r,
            host: host.to_owned(),
            port,
        }))
    }

    pub fn is_leader(&self) -> bool {
        self.rank == 0
    }

    /// Where the runners talk: the rendezvous port + 1 on rank 0.
    pub fn coord_addr(&self) -> String {
        format!("{}:{}", self.host, self.port + 1)
    }

    /// SGLang's multi-node arguments.
    pub fn args(&self) -> [String; 6] {
        [
            "--nnodes".to_owned(),
            self.nnodes.to_string(),
            "--node-rank".to_owned(),
            self.rank.to_string(),
            "--dist-init-addr".to_owned(),
            format!("{}:{}", self.host, self.port),
        ]
    }

    /// Adds [`Self::args`] to every job's SGLang command (online servers, offline cells); other
    /// kinds cannot span nodes. A deploy that names another node count is an error.
    pub fn apply(&self, plan: &mut Plan, deploy_nodes: Option<u32>) -> Result<(), String> {
        if let Some(d) = deploy_nodes.filter(|d| *d != self.nnodes) {
            return Err(format!(
                "--nnodes {}: the deploy spans {d} node(s) (hint: --nnodes {d})",
                self.nnodes
            ));
        }
        for job in &mut plan.jobs {
            match &mut job.spec {
                JobSpec::Online { server, .. } => server.argv.extend(self.args()),
                JobSpec::Offline { cells } => {
                    for c in cells {
                        c.argv.extend(self.args());
                    }
                }
                _ => {
                    return Err(format!(
                        "{}: only online and offline jobs span nodes",
                        job.id
                    ))
                }
            }
        }
        Ok(())
    }
}

/// A deploy over several nodes needs the multi-node flags.
pub fn check_single_node(deploy_nodes: Option<u32>) -> Result<(), String> {
    match deploy_nodes {
        Some(n) if n > 1 => Err(format!(
            "the deploy spans {n} nodes (hint: run on each node with --nnodes {n} --node-rank R --master HOST:PORT)"
        )),
        _ => Ok(()),
    }
}

/// A line of the runners' protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    Hello { rank: u32 },
    Start { job: String },
    Stop { job: String },
    Exited { rank: u32, job: String, why: String },
    Done,
}

impl Msg {
    pub fn encode(&self) -> String {
        let one_line = |s: &str| s.replace(['\n', '\r'], " ");
        match self {
            Self::Hello { rank } => format!("hello {rank}\n"),
            Self::Start { job } => format!("start {}\n", one_line(job)),
            Self::Stop { job } => format!("stop {}\n", one_line(job)),
            Self::Exited { rank, job, why } => {
                format!("exited {rank} {}: {}\n", one_line(job), one_line(why))
            }
            Self::Done => "done\n".to_owned(),
        }
    }

    /// One line (without its newline); `None` for anything else.
    pub fn decode(line: &str) -> Option<Self> {
        let line = line.trim_end_matches(['\n', '\r']);
        let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
        match verb {
            "hello" => rest.parse().ok().map(|rank| Self::Hello { rank }),
            "start" if !rest.is_empty() => Some(Self::Start {
                job: rest.to_owned(),
            }),
            "stop" if !rest.is_empty() => Some(Self::Stop {
                job: rest.to_owned(),
            }),
            "exited" => {
                let (rank, rest) = rest.split_once(' ')?;
                let (job, why) = rest.split_once(": ")?;
                Some(Self::Exited {
                    rank: rank.parse().ok()?,
                    job: job.to_owned(),
                    why: why.to_owned(),
                })
            }
            "done" if rest.is_empty() => Some(Self::Done),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_go_together_and_name_what_is_wrong() {
        assert_eq!(Nodes::from_flags(None, None, None), Ok(None));
        let n = Nodes::from_flags(Some(2), Some(1), Some("10.0.0.5:5000"))
            .expect("valid")
            .expect("multi-node");
        assert_eq!(n.coord_addr(), "10.0.0.5:5001");
        assert_eq!(
            n.args().join(" "),
            "--nnodes 2 --node-rank 1 --dist-init-addr 10.0.0.5:5000"
        );
        assert!(Nodes::from_flags(Some(2), None, Some("h:1")).is_err());
        assert!(Nodes::from_flags(Some(2), Some(2), Some("h:1"))
            .expect_err("rank")
            .contains("ranks are 0 to 1"));
        assert!(Nodes::from_flags(Some(2), Some(0), Some("h"))
            .expect_err("port")
            .contains("HOST:PORT"));
        assert!(check_single_node(Some(2)).is_err());
        assert!(check_single_node(Some(1)).is_ok());
    }

    #[test]
    fn messages_round_trip_and_junk_is_none() {
        for m in [
            Msg::Hello { rank: 3 },
            Msg::Start {
                job: "grok-online/GROK1/standard/mi30x".to_owned(),
            },
            Msg::Stop {
                job: "j".to_owned(),
            },
            Msg::Exited {
                rank: 1,
                job: "j".to_owned(),
                why: "the server process ended (signal 9): x".to_owned(),
            },
            Msg::Done,
        ] {
            assert_eq!(Msg::decode(&m.encode()), Some(m.clone()), "{m:?}");
        }
        for junk in [
            "", "hello", "hello x", "start", "exited 1", "done now", "rm -rf /",
        ] {
            assert_eq!(Msg::decode(junk), None, "{junk}");
        }
    }
}
