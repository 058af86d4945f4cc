//! F2 GPU idle check: what the vendor tools say about each GPU's load and memory, parsed from
//! their machine-readable output, and the verdict against thresholds. Pure; the shell runs the
//! tool, waits and retries with a timeout, and never stops a container it did not start.
//!
//! Inputs: `rocm-smi --showuse --showmemuse --json`, the plain `rocm-smi` table (what the
//! predecessor parsed), `amd-smi metric --usage --mem-usage --json`, and
//! `nvidia-smi --query-gpu=index,utilization.gpu,memory.used,memory.total
//! --format=csv,noheader,nounits`.

use serde::Serialize;

/// One GPU's load.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GpuLoad {
    pub index: u32,
    /// Compute utilisation, percent.
    pub busy_pct: f64,
    /// Memory in use, percent of the total.
    pub mem_pct: f64,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{tool} output: {reason}")]
pub struct GpuParseError {
    pub tool: &'static str,
    pub reason: String,
}

fn err(tool: &'static str, reason: impl Into<String>) -> GpuParseError {
    GpuParseError {
        tool,
        reason: reason.into(),
    }
}

/// A number that may come as a string, with a `%` or a unit, or as `{"value": n}`.
fn number(v: &serde_json::Value) -> Option<f64> {
    match v {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s
            .trim()
            .trim_end_matches('%')
            .split_whitespace()
            .next()
            .and_then(|t| t.parse().ok()),
        serde_json::Value::Object(o) => o.get("value").and_then(number),
        _ => None,
    }
}

/// `rocm-smi --showuse --showmemuse --json`: `{"card0": {"GPU use (%)": "0",
/// "GPU Memory Allocated (VRAM%)": "0"}, …}` (a `system` entry is ignored).
pub fn parse_rocm_smi_json(text: &str) -> Result<Vec<GpuLoad>, GpuParseError> {
    const TOOL: &str = "rocm-smi --json";
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| err(TOOL, format!("not JSON: {e}")))?;
    let obj = v.as_object().ok_or_else(|| err(TOOL, "not an object"))?;
    let mut out = Vec::new();
    for (card, m) in obj {
        let Some(index) = card.strip_prefix("card").and_then(|n| n.parse().ok()) else {
            continue;
        };
        let busy = m
            .get("GPU use (%)")
            .and_then(number)
            .ok_or_else(|| err(TOOL, format!("{card}: no `GPU use (%)`")))?;
        let mem = m
            .get("GPU Memory Allocated (VRAM%)")
            .or_else(|| m.get("GPU memory use (%)"))
            .and_then(number)
            .ok_or_else(|| err(TOOL, format!("{card}: no `GPU Memory Allocated (VRAM%)`")))?;
        out.push(GpuLoad {
            index,
            busy_pct: busy,
            mem_pct: mem,
        });
    }
    finish(TOOL, out)
}

/// The plain `rocm-smi` table: device rows start with the GPU index and end with `VRAM% GPU%`.
pub fn parse_rocm_smi_table(text: &str) -> Result<Vec<GpuLoad>, GpuParseError> {
    const TOOL: &str = "rocm-smi";
    let mut out = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(first), [.., vram, gpu]) = (fields.first(), fields.as_slice()) else {
            continue;
        };
        let Ok(index) = first.parse::<u32>() else {
            continue;
        };
        if !(vram.ends_with('%') && gpu.ends_with('%')) {
            continue;
        }
        let pct = |s: &str| s.trim_end_matches('%').parse::<f64>().ok();
        match (pct(vram), pct(gpu)) {
            (Some(m), Some(b)) => out.push(GpuLoad {
                index,
                busy_pct: b,
                mem_pct: m,
            }),
            _ => {
                return Err(err(
                    TOOL,
                    format!("row `{line}`: VRAM% or GPU% is not a number"),
                ))
            }
        }
    }
    finish(TOOL, out)
}

/// `amd-smi metric --usage --mem-usage --json`: a list (or `{"gpu_data": [...]}`) of
/// `{"gpu": 0, "usage": {"gfx_activity": …}, "mem_usage": {"total_vram": …, "used_vram": …}}`,
/// values as numbers or `{"value": n, "unit": "…"}`.
pub fn parse_amd_smi_json(text: &str) -> Result<Vec<GpuLoad>, GpuParseError> {
    const TOOL: &str = "amd-smi --json";
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| err(TOOL, format!("not JSON: {e}")))?;
    let list = v
        .as_array()
        .or_else(|| v.get("gpu_data").and_then(|g| g.as_array()))
        .ok_or_else(|| err(TOOL, "expected a list of GPUs"))?;
    let mut out = Vec::new();
    for g in list {
        let index = g
            .get("gpu")
            .and_then(number)
            .ok_or_else(|| err(TOOL, "an entry without `gpu`"))? as u32;
        let busy = g
            .pointer("/usage/gfx_activity")
            .and_then(number)
            .ok_or_else(|| err(TOOL, format!("gpu {index}: no usage.gfx_activity")))?;
        let total = g.pointer("/mem_usage/total_vram").and_then(number);
        let used = g.pointer("/mem_usage/used_vram").and_then(number);
        let mem = match (used, total) {
            (Some(u), Some(t)) if t > 0.0 => 100.0 * u / t,
            _ => {
                return Err(err(
                    TOOL,
                    format!("gpu {index}: no mem_usage.total_vram/used_vram"),
                ))
            }
        };
        out.push(GpuLoad {
            index,
            busy_pct: busy,
            mem_pct: mem,
        });
    }
    finish(TOOL, out)
}

/// `nvidia-smi --query-gpu=index,utilization.gpu,memory.used,memory.total
/// --format=csv,noheader,nounits`: `0, 3, 512, 81559` per line.
pub fn parse_nvidia_smi_csv(text: &str) -> Result<Vec<GpuLoad>, GpuParseError> {
    const TOOL: &str = "nvidia-smi";
    let mut out = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        let nums: Option<Vec<f64>> = f.iter().map(|x| x.parse::<f64>().ok()).collect();
        match nums.as_deref() {
            Some([i, util, used, total]) if *total > 0.0 => out.push(GpuLoad {
                index: *i as u32,
                busy_pct: *util,
                mem_pct: 100.0 * used / total,
            }),
            _ => {
                return Err(err(
                    TOOL,
                    format!("line {}: expected `index, utilization, used MiB, total MiB` (hint: --format=csv,noheader,nounits): `{line}`", n + 1),
                ))
            }
        }
    }
    finish(TOOL, out)
}

fn finish(tool: &'static str, mut out: Vec<GpuLoad>) -> Result<Vec<GpuLoad>, GpuParseError> {
    if out.is_empty() {
        return Err(err(tool, "no GPU found in the output"));
    }
    out.sort_by_key(|g| g.index);
    Ok(out)
}

/// The GPUs above either threshold (percent). Empty = idle.
pub fn busy(gpus: &[GpuLoad], max_busy_pct: f64, max_mem_pct: f64) -> Vec<&GpuLoad> {
    gpus.iter()
        .filter(|g| g.busy_pct > max_busy_pct || g.mem_pct > max_mem_pct)
        .collect()
}

/// The predecessor's idle thresholds (percent), `GPU_USAGE_THRESHOLD` and `VRAM_USAGE_THRESHOLD`.
pub const MAX_BUSY_PCT: f64 = 15.0;
pub const MAX_MEM_PCT: f64 = 15.0;

/// A vendor tool invocation and the parser of its output.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    pub tool: &'static str,
    pub args: &'static [&'static str],
    pub parse: fn(&str) -> Result<Vec<GpuLoad>, GpuParseError>,
}

/// The tools to ask on `hardware`, in order of preference (none for `cpu`).
pub fn probes(hardware: &str) -> Vec<Probe> {
    if hardware.starts_with("mi") {
        vec![
            Probe {
                tool: "rocm-smi",
                args: &["--showuse", "--showmemuse", "--json"],
                parse: parse_rocm_smi_json,
            },
            Probe {
                tool: "amd-smi",
                args: &["metric", "--usage", "--mem-usage", "--json"],
                parse: parse_amd_smi_json,
            },
        ]
    } else if hardware == "cpu" {
        Vec::new()
    } else {
        vec![Probe {
            tool: "nvidia-smi",
            args: &[
                "--query-gpu=index,utilization.gpu,memory.used,memory.total",
                "--format=csv,noheader,nounits",
            ],
            parse: parse_nvidia_smi_csv,
        }]
    }
}

/// The evidence line for GPUs that stayed busy (the F14 marker `GPU still busy after`).
pub fn busy_line(busy: &[&GpuLoad], waited_s: u64) -> String {
    let list: Vec<String> = busy
        .iter()
        .map(|g| {
            format!(
                "GPU {} at {:.0}% use, {:.0}% memory",
                g.index, g.busy_pct, g.mem_pct
            )
        })
        .collect();
    format!(
        "GPU still busy after {waited_s} s: {} (thresholds {MAX_BUSY_PCT}% / {MAX_MEM_PCT}%)",
        list.join("; ")
    )
}
