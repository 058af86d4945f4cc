//! [`SpoolQueue`]: a queue of JSON files in a directory: `pending/`, then `done/` or `failed/`
//! (with the reason beside it). The local default, and the runner's holding area when the
//! network or the store is down.

use std::path::{Path, PathBuf};

use super::dir::temp_beside;
use crate::queue::{Message, Queue, QueueError};

#[derive(Debug, Clone)]
pub struct SpoolQueue {
    dir: PathBuf,
}

impl SpoolQueue {
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_owned(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn sub(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn err(&self, op: &'static str) -> impl Fn(std::io::Error) -> QueueError + '_ {
        move |e| QueueError::Backend {
            queue: self.dir.display().to_string(),
            op,
            reason: e.to_string(),
        }
    }

    fn settle(&self, id: &str, to: &str, reason: Option<&str>) -> Result<(), QueueError> {
        let dir = self.sub(to);
        std::fs::create_dir_all(&dir).map_err(self.err("settle"))?;
        let from = self.sub("pending").join(format!("{id}.json"));
        let dest = dir.join(format!("{id}.json"));
        if let Some(r) = reason {
            std::fs::write(dir.join(format!("{id}.reason.txt")), r).map_err(self.err("settle"))?;
        }
        std::fs::rename(&from, &dest).map_err(self.err("settle"))
    }

    /// Messages set aside, with their reasons.
    pub fn failed(&self) -> Result<Vec<(String, String)>, QueueError> {
        let dir = self.sub("failed");
        let mut out = Vec::new();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(self.err("list")(e)),
        };
        for e in entries.filter_map(Result::ok) {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "json") {
                let id = p.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
                let reason = std::fs::read_to_string(dir.join(format!("{id}.reason.txt")))
                    .unwrap_or_default();
                out.push((id.to_owned(), reason));
            }
        }
        out.sort();
        Ok(out)
    }
}

impl Queue for SpoolQueue {
    /// The message id derives from the body, so sending the same announcement twice queues it
    /// once.
    fn send(&self, body: &str) -> Result<String, QueueError> {
        let pending = self.sub("pending");
        std::fs::create_dir_all(&pending).map_err(self.err("send"))?;
        let id = crate::bundle::sha256_hex(body.as_bytes())[..24].to_owned();
        let path = pending.join(format!("{id}.json"));
        let tmp = temp_beside(&path);
        std::fs::write(&tmp, body).map_err(self.err("send"))?;
        std::fs::rename(&tmp, &path).map_err(self.err("send"))?;
        Ok(id)
    }

    /// Pending messages in name order.
    fn receive(&self, max: usize) -> Result<Vec<Message>, QueueError> {
        let pending = self.sub("pending");
        let mut names: Vec<PathBuf> = match std::fs::read_dir(&pending) {
            Ok(e) => e
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(self.err("receive")(e)),
        };
        names.sort();
        names.truncate(max);
        let mut out = Vec::new();
        for path in names {
            let id = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_owned();
            let bytes = std::fs::read(&path).map_err(self.err("receive"))?;
            out.push(Message {
                receipt: id.clone(),
                id,
                body: String::from_utf8_lossy(&bytes).into_owned(),
                receive_count: 1,
            });
        }
        Ok(out)
    }

    fn ack(&self, m: &Message) -> Result<(), QueueError> {
        self.settle(&m.receipt, "done", None)
    }

    /// Kept in `failed/` with the reason, never dropped.
    fn fail(&self, m: &Message, reason: &str) -> Result<(), QueueError> {
        self.settle(&m.receipt, "failed", Some(reason))
    }
}
