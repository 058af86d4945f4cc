//! SGLang server logs (`launch_server` stdout): the KV-cache allocation, readiness and error
//! markers. These are the largest files (up to several MB), so the scan works on bytes with
//! substring search and only decodes the few lines it keeps.

use memchr::memmem;
use serde::Serialize;

use crate::failure::{self, Evidence};
use crate::text;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KvCache {
    pub tokens: u64,
    /// `KV size` (MLA models), or `K size + V size`.
    pub size_gb: f64,
    /// The combined `KV size: X GB` form (as opposed to separate K and V sizes).
    pub combined: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerLog {
    /// First KV-cache allocation line (one per TP rank; they are identical).
    pub kv_cache: Option<KvCache>,
    /// `The server is fired up and ready to roll!` appeared.
    pub ready: bool,
    /// `RuntimeError:` occurrences (what the predecessor counted).
    pub runtime_errors: usize,
    /// The most specific failure marker, with its line.
    pub failure: Option<Evidence>,
    /// The file holds NUL runs (truncated while a writer held an offset).
    pub has_nul: bool,
    pub bytes: usize,
}

fn line_around(bytes: &[u8], at: usize) -> String {
    let start = bytes[..at]
        .iter()
        .rposition(|&b| b == b'\n' || b == b'\r')
        .map_or(0, |i| i + 1);
    let end = bytes[at..]
        .iter()
        .position(|&b| b == b'\n' || b == b'\r')
        .map_or(bytes.len(), |i| at + i);
    text::clean(&bytes[start..end]).into_owned()
}

fn parse_kv(line: &str) -> Option<KvCache> {
    let tokens = text::after_substr(line, "#tokens:")?
        .trim()
        .split(',')
        .next()?
        .trim()
        .parse()
        .ok()?;
    let gb = |label: &str| text::after_substr(line, label).and_then(text::leading_f64);
    if let Some(kv) = gb("KV size:") {
        return Some(KvCache {
            tokens,
            size_gb: kv,
            combined: true,
        });
    }
    let (k, v) = (gb("K size:")?, gb("V size:")?);
    Some(KvCache {
        tokens,
        size_gb: k + v,
        combined: false,
    })
}

const ERROR_MARKERS: &[&str] = &[
    "Memory access fault by GPU",
    "RuntimeError:",
    "OutOfMemoryError",
    "ImportError:",
    "ModuleNotFoundError:",
    "OSError: Can't load",
    "Scheduler hit an exception",
    "HIP error",
    "NCCL error",
    "RCCL error",
    "Killed",
    crate::failure::SERVER_EXITED_MARKER,
];

pub fn parse(bytes: &[u8]) -> ServerLog {
    let kv_cache = memmem::find_iter(bytes, b"KV Cache is allocated.")
        .find_map(|at| parse_kv(&line_around(bytes, at)));
    let ready = memmem::find(bytes, b"The server is fired up and ready to roll!").is_some();
    let runtime_errors = memmem::find_iter(bytes, b"RuntimeError:").count();
    let mut lines = Vec::new();
    for marker in ERROR_MARKERS {
        if let Some(at) = memmem::find(bytes, marker.as_bytes()) {
            lines.push(line_around(bytes, at));
        }
    }
    let failure = failure::classify(lines.iter().map(String::as_str)).or_else(|| {
        // A marker without a class of its own (a bare traceback or `Killed`) still fails the
        // server; keep its evidence.
        lines.first().map(|l| Evidence {
            class: failure::FailureClass::Unclassified,
            line: text::evidence(l, 240),
        })
    });
    ServerLog {
        kv_cache,
        ready,
        runtime_errors,
        failure,
        has_nul: memchr::memchr(0, bytes).is_some(),
        bytes: bytes.len(),
    }
}
