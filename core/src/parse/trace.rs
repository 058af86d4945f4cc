//! Torch profiler traces (F22): the Chrome-trace JSON `torch.profiler` exports (and SGLang's
//! profiler writes as `*.trace.json.gz`), summarised as the top GPU kernels and CPU operators
//! by total time with their share.
//!
//! - **Kernels** are the `"ph": "X"` events of category `kernel` (and `gpu_memcpy`,
//!   `gpu_memset`): a kernel's share is its total time over all GPU time in the trace.
//! - **Operators** are `cpu_op` events (`aten::mm`, `aten::linear`): their times are inclusive
//!   (an operator contains the ones it calls), so a share is of the span from the first
//!   operator's start to the last one's end.
//!
//! A gzipped trace is recognised by its magic bytes and inflated up to [`MAX_INFLATED`] bytes
//! (a larger one is refused, not truncated). Names are kept whole up to 512 characters, and each
//! entry has a short form for tables (`at::native::vectorized_gather_kernel` for
//! `void at::native::vectorized_gather_kernel<16, long>(char*, …)`).

use std::collections::BTreeMap;
use std::io::Read;

use serde::{Deserialize, Serialize};

use crate::ParseError;

/// The largest trace, inflated, that is read (a bigger one is refused).
pub const MAX_INFLATED: u64 = 1 << 30;
/// Entries kept per table.
pub const TOP: usize = 25;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceSummary {
    /// The GPU the trace names (`deviceProperties[0].name`), when it does.
    pub device: Option<String>,
    /// Total GPU time of every kernel, memcpy and memset, µs.
    pub gpu_time_us: f64,
    /// From the first to the last CPU operator, µs.
    pub cpu_span_us: f64,
    pub kernel_count: u64,
    pub kernels: Vec<Entry>,
    pub operators: Vec<Entry>,
}

/// One kernel or operator, over all its calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub name: String,
    pub short: String,
    pub calls: u64,
    pub total_us: f64,
    /// Of the GPU time (kernels) or the CPU span (operators), 0–1.
    pub share: f64,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Doc {
    Object {
        #[serde(rename = "traceEvents")]
        trace_events: Vec<Event>,
        #[serde(default, rename = "deviceProperties")]
        device_properties: Vec<Device>,
    },
    Array(Vec<Event>),
}

#[derive(Deserialize)]
struct Device {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct Event {
    #[serde(default)]
    ph: Option<String>,
    #[serde(default)]
    cat: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    ts: Option<f64>,
    #[serde(default)]
    dur: Option<f64>,
}

/// The trace's JSON bytes, inflated when gzipped.
pub fn inflate(bytes: &[u8]) -> Result<Vec<u8>, ParseError> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(bytes.to_vec());
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .take(MAX_INFLATED + 1)
        .read_to_end(&mut out)
        .map_err(|e| ParseError::invalid(0, format!("not a gzip stream: {e}")))?;
    if out.len() as u64 > MAX_INFLATED {
        return Err(ParseError::invalid(
            0,
            format!("the trace inflates past {MAX_INFLATED} bytes"),
        ));
    }
    Ok(out)
}

/// Summarises a Chrome-trace JSON (gzipped or not).
pub fn parse(bytes: &[u8]) -> Result<TraceSummary, ParseError> {
    if bytes.is_empty() {
        return Err(ParseError::Empty);
    }
    let json = inflate(bytes)?;
    let doc: Doc = serde_json::from_slice(&json).map_err(|e| {
        ParseError::invalid(e.line(), format!("not a Chrome trace (`traceEvents`): {e}"))
    })?;
    let (events, device) = match doc {
        Doc::Object {
            trace_events,
            device_properties,
        } => (
            trace_events,
            device_properties.into_iter().find_map(|d| d.name),
        ),
        Doc::Array(events) => (events, None),
    };
    let mut kernels: BTreeMap<String, (u64, f64)> = BTreeMap::new();
    let mut operators: BTreeMap<String, (u64, f64)> = BTreeMap::new();
    let (mut first, mut last) = (f64::INFINITY, f64::NEG_INFINITY);
    let mut kernel_count = 0;
    for e in events {
        let (Some("X"), Some(cat), Some(name), Some(dur)) =
            (e.ph.as_deref(), e.cat.as_deref(), e.name, e.dur)
        else {
            continue;
        };
        if !(dur.is_finite() && dur >= 0.0) {
            continue;
        }
        let table = match cat {
            "kernel" | "gpu_memcpy" | "gpu_memset" => {
                kernel_count += 1;
                &mut kernels
            }
            "cpu_op" => {
                if let Some(ts) = e.ts.filter(|t| t.is_finite()) {
                    first = first.min(ts);
                    last = last.max(ts + dur);
                }
                &mut operators
            }
            _ => continue,
        };
        let slot = table.entry(name).or_insert((0, 0.0));
        slot.0 += 1;
        slot.1 += dur;
    }
    if kernels.is_empty() && operators.is_empty() {
        return Err(ParseError::missing(
            "kernel or cpu_op events (hint: a torch.profiler trace, activities CPU and CUDA)",
        ));
    }
    let gpu_time_us: f64 = kernels.values().map(|v| v.1).sum();
    let cpu_span_us = if last > first { last - first } else { 0.0 };
    Ok(TraceSummary {
        device,
        gpu_time_us: round(gpu_time_us, 1e3),
        cpu_span_us: round(cpu_span_us, 1e3),
        kernel_count,
        kernels: top(kernels, gpu_time_us),
        operators: top(operators, cpu_span_us),
    })
}

fn top(table: BTreeMap<String, (u64, f64)>, whole: f64) -> Vec<Entry> {
    let mut v: Vec<Entry> = table
        .into_iter()
        .map(|(name, (calls, total_us))| Entry {
            short: short_name(&name),
            name: name.chars().take(512).collect(),
            calls,
            total_us: round(total_us, 1e3),
            share: if whole > 0.0 {
                round(total_us / whole, 1e6)
            } else {
                0.0
            },
        })
        .collect();
    v.sort_by(|a, b| {
        b.total_us
            .total_cmp(&a.total_us)
            .then_with(|| a.name.cmp(&b.name))
    });
    v.truncate(TOP);
    v
}

/// `v` to `1/scale` (the profiler's nanosecond resolution for µs; shares to a millionth).
fn round(v: f64, scale: f64) -> f64 {
    (v * scale).round() / scale
}

/// A kernel's name without its return type, template arguments and parameters.
pub fn short_name(name: &str) -> String {
    let s = name.trim();
    let s = s.strip_prefix("void ").unwrap_or(s);
    // Cut at the first `<` or `(` that is not inside a leading `(anonymous namespace)`.
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(['<', '(']) {
        out.push_str(&rest[..i]);
        if rest[i..].starts_with("(anonymous namespace)") {
            out.push_str("(anonymous namespace)");
            rest = &rest[i + "(anonymous namespace)".len()..];
            continue;
        }
        rest = "";
        break;
    }
    out.push_str(rest);
    let out = out.trim();
    let out = if out.is_empty() { s } else { out };
    out.chars().take(120).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names() {
        assert_eq!(
            short_name("void at::native::vectorized_gather_kernel<16, long>(char*, char*, long*)"),
            "at::native::vectorized_gather_kernel"
        );
        assert_eq!(
            short_name("void (anonymous namespace)::elementwise_kernel_with_index<int, x>(int)"),
            "(anonymous namespace)::elementwise_kernel_with_index"
        );
        assert_eq!(short_name("aten::mm"), "aten::mm");
        assert_eq!(short_name("Memset (Device)"), "Memset");
        assert_eq!(short_name("<lambda>"), "<lambda>");
    }

    #[test]
    fn hostile_traces_are_errors() {
        assert_eq!(parse(b""), Err(ParseError::Empty));
        assert!(parse(b"{}").is_err());
        assert!(parse(b"{\"traceEvents\": []}").is_err());
        assert!(parse(&[0x1f, 0x8b, 0, 1, 2]).is_err());
        let one = br#"[{"ph":"X","cat":"kernel","name":"k","ts":1,"dur":-5},
                      {"ph":"X","cat":"kernel","name":"k","ts":1,"dur":2}]"#;
        let t = parse(one).expect("array form");
        assert_eq!((t.kernel_count, t.gpu_time_us), (1, 2.0));
    }
}
