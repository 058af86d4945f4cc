//! [`SpoolQueue`]: a queue of JSON files in a directory: `pending/`, then `done/` or `failed/`
//! (with the reason beside it). The local default, and the runner's holding area when the
//! network or the store is down.

use std::path::{Path, PathBuf};

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
        std::fs::rename(&from, &dest).map_err(self.err("settle"))?;
        super::dir::sync_dir(&dest).map_err(self.err("settle"))?;
        super::dir::sync_dir(&from).map_err(self.err("settle"))
    }

    /// Moves a pending entry that can never be a message into `failed/` under a safe name
    /// derived from its raw name, with the reason beside it.
    fn set_aside(&self, path: &Path, reason: &str) -> Result<(), QueueError> {
        use std::os::unix::ffi::OsStrExt;
        let raw = path.file_name().map(|n| n.as_bytes()).unwrap_or_default();
        let lossy: String = String::from_utf8_lossy(raw)
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .take(60)
            .collect();
        let id = format!("poisoned-{lossy}-{}", &crate::bundle::sha256_hex(raw)[..12]);
        let dir = self.sub("failed");
        std::fs::create_dir_all(&dir).map_err(self.err("set aside"))?;
        std::fs::write(dir.join(format!("{id}.reason.txt")), reason)
            .map_err(self.err("set aside"))?;
        std::fs::rename(path, dir.join(format!("{id}.json"))).map_err(self.err("set aside"))
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
        // Durable before the runner reports it queued: a power loss must not lose a run.
        super::dir::write_durably(&path, body.as_bytes()).map_err(self.err("send"))?;
        Ok(id)
    }

    /// Pending messages in name order. An entry that cannot be a message (a name that is not
    /// UTF-8, a directory or other non-file named `*.json`) is set aside in `failed/` with its
    /// reason, so one poisoned entry never stops a drain.
    fn receive(&self, max: usize) -> Result<Vec<Message>, QueueError> {
        let pending = self.sub("pending");
        let entries: Vec<std::fs::DirEntry> = match std::fs::read_dir(&pending) {
            Ok(e) => e.filter_map(Result::ok).collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(self.err("receive")(e)),
        };
        let mut names = Vec::new();
        for e in entries {
            let path = e.path();
            let Some(name) = e.file_name().to_str().map(str::to_owned) else {
                self.set_aside(
                    &path,
                    "the entry's name is not UTF-8 (hint: only sglci writes to pending/)",
                )?;
                continue;
            };
            if name.starts_with('.') || !name.ends_with(".json") {
                continue; // a temporary file being written, or not a message
            }
            if !e.file_type().is_ok_and(|t| t.is_file()) {
                self.set_aside(
                    &path,
                    "the entry is not a regular file (hint: only sglci writes to pending/)",
                )?;
                continue;
            }
            names.push((name, path));
        }
        names.sort();
        names.truncate(max);
        let mut out = Vec::new();
        for (name, path) in names {
            let id = name.trim_end_matches(".json").to_owned();
            let bytes = match std::fs::read(&path) {
                Ok(b) => b,
                // Settled by a concurrent drain between the listing and the read.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(self.err("receive")(e)),
            };
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A pending entry with a non-UTF-8 name, or a directory named `*.json`, is set aside with
    /// its reason; the good message behind it is still delivered.
    #[test]
    fn poisoned_spool_entries_are_set_aside_and_the_drain_goes_on() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let q = SpoolQueue::new(dir.path());
        let good = q.send("{\"n\":1}").expect("send");
        let pending = dir.path().join("pending");
        std::fs::write(
            pending.join(std::ffi::OsStr::from_bytes(b"0bad\xff\xfe.json")),
            "{}",
        )
        .expect("write");
        std::fs::create_dir(pending.join("00dir.json")).expect("mkdir");
        let got = q.receive(10).expect("receive");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].id, good);
        q.ack(&got[0]).expect("ack");
        let failed = q.failed().expect("failed");
        assert_eq!(failed.len(), 2, "{failed:?}");
        assert!(
            failed.iter().any(|(_, r)| r.contains("not UTF-8")),
            "{failed:?}"
        );
        assert!(
            failed.iter().any(|(_, r)| r.contains("not a regular file")),
            "{failed:?}"
        );
        assert!(q.receive(10).expect("receive again").is_empty());
    }
}
