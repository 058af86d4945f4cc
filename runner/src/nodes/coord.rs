//! The runners' sockets: the leader gathers its followers and hears from them on reader
//! threads; a follower connects (retrying while rank 0 starts) and says hello.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Msg;

/// Something a follower reported, or its going away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RankEvent {
    pub rank: u32,
    pub why: String,
}

/// Rank 0's side: a connection per follower.
#[derive(Debug)]
pub struct Leader {
    writers: Vec<(u32, TcpStream)>,
    events: Arc<Mutex<Vec<RankEvent>>>,
    done: Arc<AtomicBool>,
}

fn lock(events: &Mutex<Vec<RankEvent>>) -> std::sync::MutexGuard<'_, Vec<RankEvent>> {
    events
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Leader {
    /// Listens on `addr` until every rank from 1 to `nnodes − 1` has said hello, or `wait` has
    /// passed (an error naming the ranks still missing).
    pub fn gather(addr: &str, nnodes: u32, wait: Duration) -> Result<Self, String> {
        let listener = TcpListener::bind(addr)
            .map_err(|e| format!("listening on {addr} for the other ranks: {e}"))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("{addr}: {e}"))?;
        let deadline = Instant::now() + wait;
        let events = Arc::new(Mutex::new(Vec::new()));
        let done = Arc::new(AtomicBool::new(false));
        let mut writers: Vec<(u32, TcpStream)> = Vec::new();
        while writers.len() + 1 < nnodes as usize {
            if Instant::now() > deadline {
                let missing: Vec<String> = (1..nnodes)
                    .filter(|r| !writers.iter().any(|(w, _)| w == r))
                    .map(|r| r.to_string())
                    .collect();
                return Err(format!(
                    "node-rank {} did not connect to {addr} within {} s (hint: start `sglci-runner run` there with the same --master and its --node-rank)",
                    missing.join(", "),
                    wait.as_secs()
                ));
            }
            let stream = match listener.accept() {
                Ok((s, _)) => s,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
                Err(e) => return Err(format!("{addr}: {e}")),
            };
            let _ = stream.set_nonblocking(false);
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let mut reader = BufReader::new(match stream.try_clone() {
                Ok(s) => s,
                Err(_) => continue,
            });
            let mut line = String::new();
            let rank = match reader
                .read_line(&mut line)
                .ok()
                .and_then(|_| Msg::decode(&line))
            {
                Some(Msg::Hello { rank })
                    if (1..nnodes).contains(&rank) && !writers.iter().any(|(w, _)| *w == rank) =>
                {
                    rank
                }
                // A stranger, a duplicate rank or junk: not one of ours.
                _ => continue,
            };
            let _ = stream.set_read_timeout(None);
            let (events, done) = (Arc::clone(&events), Arc::clone(&done));
            std::thread::spawn(move || listen(rank, reader, &events, &done));
            crate::host::say(&format!("node-rank {rank} connected"));
            writers.push((rank, stream));
        }
        Ok(Self {
            writers,
            events,
            done,
        })
    }

    /// Tells every follower `m`; one that cannot be told has gone away.
    pub fn say(&mut self, m: &Msg) {
        if matches!(m, Msg::Done) {
            self.done.store(true, Ordering::SeqCst);
        }
        let text = m.encode();
        for (rank, w) in &mut self.writers {
            if let Err(e) = w.write_all(text.as_bytes()).and_then(|()| w.flush()) {
                lock(&self.events).push(RankEvent {
                    rank: *rank,
                    why: format!("node-rank {rank} could not be told `{}`: {e}", text.trim()),
                });
            }
        }
    }

    /// Events so far (each once, in order): `events()[n..]` are those after the first `n`.
    pub fn events(&self) -> Vec<RankEvent> {
        lock(&self.events).clone()
    }
}

/// A follower's reports until its connection closes.
fn listen(
    rank: u32,
    mut reader: BufReader<TcpStream>,
    events: &Mutex<Vec<RankEvent>>,
    done: &AtomicBool,
) {
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => {
                if !done.load(Ordering::SeqCst) {
                    lock(events).push(RankEvent {
                        rank,
                        why: format!("node-rank {rank} went away (its runner's connection closed)"),
                    });
                }
                return;
            }
            Ok(_) => {
                if let Some(Msg::Exited { job, why, .. }) = Msg::decode(&line) {
                    lock(events).push(RankEvent {
                        rank,
                        why: format!("node-rank {rank}: {why} (job {job})"),
                    });
                }
            }
        }
    }
}

/// A follower's connection to rank 0.
#[derive(Debug)]
pub struct Link {
    pub reader: BufReader<TcpStream>,
    pub writer: TcpStream,
}

/// Connects to the leader at `addr` (retrying every second until `wait` has passed: rank 0 may
/// start later) and says hello.
pub fn connect(addr: &str, rank: u32, wait: Duration) -> Result<Link, String> {
    let deadline = Instant::now() + wait;
    loop {
        match TcpStream::connect(addr) {
            Ok(mut s) => {
                s.write_all(Msg::Hello { rank }.encode().as_bytes())
                    .map_err(|e| format!("{addr}: {e}"))?;
                let reader = BufReader::new(s.try_clone().map_err(|e| e.to_string())?);
                return Ok(Link { reader, writer: s });
            }
            Err(e) if Instant::now() > deadline => {
                return Err(format!(
                    "node-rank 0 at {addr} did not answer within {} s: {e} (hint: start rank 0 with the same --master)",
                    wait.as_secs()
                ))
            }
            Err(_) => std::thread::sleep(Duration::from_secs(1)),
        }
    }
}
