//! `compare A B` (F36, F65, F20): two runs side by side, for a PR comment. Pure: rows in, a
//! comparison (serializable) and its GitHub-flavoured markdown out.
//!
//! Like for like only: a load is compared when both runs measured it, and anything present on
//! one side is shown as missing on the other. A change is marked when it leaves the series' own
//! noise band (robust baseline of its history, as the regression screen uses), not a fixed
//! percentage.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use sglci_core::records::{AccuracyRow, RunRow};

use crate::markdown::escape as md;
use crate::regress::series::{build_series, Direction, Series};
use crate::regress::{baseline, DetectConfig};
use crate::rows::Rows;
use sglci_core::date::{day_number, iso};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CompareError {
    #[error("no run `{0}` in the history (hint: give a run folder or run id, as `sglci-publisher export runs` lists them)")]
    NotFound(String),
    #[error("`{0}` names {1} runs: {2} (hint: give the run folder instead)")]
    Ambiguous(String, usize, String),
    #[error("run `{0}` has no serving or offline results to compare")]
    NoResults(String),
    #[error("the runs are not alike: {0} (hint: compare runs of one model and load kind; --force compares them anyway and marks the report)")]
    Unlike(String),
}

/// How to compare.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CompareOptions {
    /// Compare unlike runs (another model, kind or load kind) anyway; the report says so.
    pub force: bool,
    /// A fixed relative threshold (0.05 = 5 %) instead of each series' noise band.
    pub threshold: Option<f64>,
}

/// What makes two runs unlike, if anything: another kind of run (online against offline),
/// another model, or another load kind (concurrency against request rate), where "load 4" on
/// one side is not "load 4" on the other.
fn unlike(a: &RunRow, b: &RunRow, load_a: Option<&str>, load_b: Option<&str>) -> Vec<String> {
    let mut why = Vec::new();
    if a.kind != b.kind {
        why.push(format!("A is an {} run, B an {} run", a.kind, b.kind));
    }
    if a.model != b.model {
        why.push(format!(
            "A ran {}, B ran {}",
            a.model.as_deref().unwrap_or("no model"),
            b.model.as_deref().unwrap_or("no model")
        ));
    }
    if let (Some(x), Some(y)) = (load_a, load_b) {
        if x != y {
            why.push(format!("A's loads are {x}, B's are {y}"));
        }
    }
    why
}

/// Finds a run by folder or id.
pub fn find_run<'a>(rows: &'a Rows, name: &str) -> Result<&'a RunRow, CompareError> {
    let name = name.trim_end_matches('/');
    if let Some(r) = rows.runs.iter().find(|r| r.run_dir == name) {
        return Ok(r);
    }
    let by_id: Vec<&RunRow> = rows.runs.iter().filter(|r| r.run_id == name).collect();
    match by_id.as_slice() {
        [one] => Ok(one),
        [] => Err(CompareError::NotFound(name.to_owned())),
        many => Err(CompareError::Ambiguous(
            name.to_owned(),
            many.len(),
            many.iter()
                .map(|r| r.run_dir.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        )),
    }
}

/// One metric at one load on both sides.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cell {
    pub a: Option<f64>,
    pub b: Option<f64>,
    /// Relative change B against A.
    pub change: Option<f64>,
    /// The series' noise band (relative), and whether it came from history or the floor.
    pub band: f64,
    pub band_from_history: bool,
    /// `worse`, `better` or `same` (within the band); `missing` when a side lacks it.
    pub verdict: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub load: i64,
    pub cells: BTreeMap<String, Cell>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Side {
    pub run_dir: String,
    pub image: String,
    pub date: String,
    pub gsm8k: Option<f64>,
    pub gsm8k_passed: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub hardware: String,
    pub model: String,
    pub variant: String,
    pub load_kind: String,
    pub a: Side,
    pub b: Side,
    pub gsm8k_threshold: Option<f64>,
    /// Metric names in column order.
    pub metrics: Vec<String>,
    pub rows: Vec<Row>,
    pub verdict: String,
    /// Why the runs are unlike, when `--force` compared them anyway.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forced: Option<String>,
    /// The fixed threshold used instead of the noise bands (`--threshold`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// F22: the GPU kernels of both runs' profiler traces side by side, per stage, when both
    /// runs have traces (empty otherwise).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kernels: Vec<KernelDiff>,
}

/// One kernel's time in both runs' traces of one stage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KernelDiff {
    pub stage: String,
    pub kernel: String,
    pub a_us: Option<f64>,
    pub a_share: Option<f64>,
    pub b_us: Option<f64>,
    pub b_share: Option<f64>,
}

/// Kernels shown per stage in a comparison.
const KERNELS_PER_STAGE: usize = 12;

/// Per stage and kernel's short name: total µs over the run's traces of that stage, and the
/// mean share of the traces' GPU time (ranks trace separately).
type StageKernels = BTreeMap<String, BTreeMap<String, (f64, f64)>>;

fn kernel_totals(rows: &Rows, run_dir: &str) -> StageKernels {
    let mine = || {
        rows.kernels
            .iter()
            .filter(move |k| k.run_dir == run_dir && k.kind == "kernel")
    };
    let mut traces: BTreeMap<&str, std::collections::BTreeSet<&str>> = BTreeMap::new();
    for k in mine() {
        traces.entry(&k.stage).or_default().insert(&k.trace);
    }
    let mut out = StageKernels::new();
    for k in mine() {
        let n = traces.get(k.stage.as_str()).map_or(1, |t| t.len()) as f64;
        let slot = out
            .entry(k.stage.clone())
            .or_default()
            .entry(k.short.clone())
            .or_default();
        slot.0 += k.total_us;
        slot.1 += k.share / n;
    }
    out
}

/// The kernels of the stages both runs traced, the largest (in either run) first.
pub fn kernel_diffs(rows: &Rows, a: &str, b: &str) -> Vec<KernelDiff> {
    let (ka, kb) = (kernel_totals(rows, a), kernel_totals(rows, b));
    let mut out = Vec::new();
    for (stage, ta) in &ka {
        let Some(tb) = kb.get(stage) else {
            continue;
        };
        let mut names: Vec<&String> = ta.keys().chain(tb.keys()).collect();
        names.sort();
        names.dedup();
        let us = |t: &BTreeMap<String, (f64, f64)>, n: &String| t.get(n).map_or(0.0, |v| v.0);
        names.sort_by(|x, y| {
            us(ta, y)
                .max(us(tb, y))
                .total_cmp(&us(ta, x).max(us(tb, x)))
                .then_with(|| x.cmp(y))
        });
        for n in names.into_iter().take(KERNELS_PER_STAGE) {
            let (x, y) = (ta.get(n), tb.get(n));
            out.push(KernelDiff {
                stage: stage.clone(),
                kernel: n.clone(),
                a_us: x.map(|v| v.0),
                a_share: x.map(|v| v.1),
                b_us: y.map(|v| v.0),
                b_share: y.map(|v| v.1),
            });
        }
    }
    out
}

struct MetricCol {
    name: &'static str,
    label: &'static str,
}

const ONLINE: &[MetricCol] = &[
    MetricCol {
        name: "e2e_ms",
        label: "E2E (ms)",
    },
    MetricCol {
        name: "ttft_ms",
        label: "TTFT (ms)",
    },
    MetricCol {
        name: "itl_ms",
        label: "ITL (ms)",
    },
    MetricCol {
        name: "output_throughput",
        label: "Output (tok/s)",
    },
];
const OFFLINE: &[MetricCol] = &[
    MetricCol {
        name: "offline_e2e_latency_s",
        label: "E2E latency (s)",
    },
    MetricCol {
        name: "offline_e2e_throughput",
        label: "E2E throughput (tok/s)",
    },
];

fn label(metric: &str) -> &'static str {
    ONLINE
        .iter()
        .chain(OFFLINE)
        .find(|m| m.name == metric)
        .map_or("", |m| m.label)
}

fn side(rows: &Rows, run: &RunRow) -> Side {
    let acc: Option<&AccuracyRow> = rows.accuracy.iter().find(|a| a.run_dir == run.run_dir);
    Side {
        run_dir: run.run_dir.clone(),
        image: run.docker_tag.clone(),
        date: run.date.clone(),
        gsm8k: acc.and_then(|a| a.accuracy),
        gsm8k_passed: acc.and_then(|a| a.passed),
    }
}

/// Compares run B against run A.
pub fn compare(
    rows: &Rows,
    a: &RunRow,
    b: &RunRow,
    cfg: &DetectConfig,
    opts: &CompareOptions,
) -> Result<Comparison, CompareError> {
    let series = build_series(rows);
    let pick = |run: &RunRow| -> BTreeMap<(String, i64), (f64, &Series)> {
        let mut m = BTreeMap::new();
        for s in &series {
            for p in &s.points {
                if p.run_dir == run.run_dir {
                    m.insert((s.key.metric.as_str().to_owned(), s.load), (p.value, s));
                }
            }
        }
        m
    };
    let (va, vb) = (pick(a), pick(b));
    if va.is_empty() {
        return Err(CompareError::NoResults(a.run_dir.clone()));
    }
    if vb.is_empty() {
        return Err(CompareError::NoResults(b.run_dir.clone()));
    }
    let kind_of = |v: &BTreeMap<(String, i64), (f64, &Series)>| {
        v.values().next().map(|(_, s)| s.key.load_kind.to_string())
    };
    let why = unlike(a, b, kind_of(&va).as_deref(), kind_of(&vb).as_deref());
    if !why.is_empty() && !opts.force {
        return Err(CompareError::Unlike(why.join("; ")));
    }
    let offline = va
        .keys()
        .chain(vb.keys())
        .any(|(m, _)| m.starts_with("offline_"));
    let cols = if offline { OFFLINE } else { ONLINE };
    let later = day_number(&a.date)
        .max(day_number(&b.date))
        .unwrap_or(i64::MAX);
    let loads: BTreeSet<i64> = va.keys().chain(vb.keys()).map(|(_, l)| *l).collect();
    let mut out_rows = Vec::new();
    let (mut worse, mut better, mut compared) = (Vec::new(), Vec::new(), 0usize);
    for load in loads {
        let mut cells = BTreeMap::new();
        for c in cols {
            let key = (c.name.to_owned(), load);
            let (x, y) = (va.get(&key), vb.get(&key));
            let s = x.or(y).map(|(_, s)| *s);
            // The series' noise band from its valid history before the later of the two runs.
            let history: Vec<f64> = s
                .map(|s| {
                    s.points
                        .iter()
                        .filter(|p| p.excluded.is_none() && p.day < later)
                        .map(|p| p.value)
                        .collect()
                })
                .unwrap_or_default();
            let no_skip = DetectConfig {
                skip_recent: 0,
                ..*cfg
            };
            let (band, from_history) = match (opts.threshold, baseline(&history, &no_skip)) {
                (Some(t), _) => (t, false),
                (None, Some((_, band))) => (band, true),
                (None, None) => (cfg.floor, false),
            };
            let direction = s.map_or(Direction::LowerIsBetter, |s| s.direction);
            let (change, verdict) = match (x, y) {
                (Some((x, _)), Some((y, _))) if *x != 0.0 => {
                    compared += 1;
                    let ch = (y - x) / x.abs();
                    let bad = match direction {
                        Direction::LowerIsBetter => ch,
                        Direction::HigherIsBetter => -ch,
                    };
                    let v = if bad > band {
                        worse.push((c.name, load, ch));
                        "worse"
                    } else if bad < -band {
                        better.push((c.name, load, ch));
                        "better"
                    } else {
                        "same"
                    };
                    (Some(ch), v)
                }
                (None, None) => continue,
                _ => (None, "missing"),
            };
            cells.insert(
                c.name.to_owned(),
                Cell {
                    a: x.map(|v| v.0),
                    b: y.map(|v| v.0),
                    change,
                    band,
                    band_from_history: from_history,
                    verdict,
                },
            );
        }
        if !cells.is_empty() {
            out_rows.push(Row { load, cells });
        }
    }
    let (sa, sb) = (side(rows, a), side(rows, b));
    let threshold = rows
        .accuracy
        .iter()
        .find(|x| x.run_dir == b.run_dir || x.run_dir == a.run_dir)
        .map(|x| x.threshold);
    let key = va.values().chain(vb.values()).next().map(|(_, s)| &s.key);
    let load_kind = key.map_or("load", |k| k.load_kind.as_str());
    let verdict = verdict_of(&sb, threshold, &worse, &better, compared, load_kind);
    Ok(Comparison {
        hardware: a.hardware.clone(),
        model: a.model.clone().unwrap_or_default(),
        variant: a.variant.clone().unwrap_or_default(),
        load_kind: key.map_or(String::new(), |k| k.load_kind.to_string()),
        a: sa,
        b: sb,
        gsm8k_threshold: threshold,
        metrics: cols.iter().map(|c| c.name.to_owned()).collect(),
        rows: out_rows,
        verdict,
        forced: (!why.is_empty()).then(|| why.join("; ")),
        threshold: opts.threshold,
        kernels: kernel_diffs(rows, &a.run_dir, &b.run_dir),
    })
}

/// The one-line verdict: the gate first (B's numbers are not trusted when it fails), then the
/// largest change beyond noise.
fn verdict_of(
    sb: &Side,
    threshold: Option<f64>,
    worse: &[(&str, i64, f64)],
    better: &[(&str, i64, f64)],
    compared: usize,
    load_kind: &str,
) -> String {
    if sb.gsm8k_passed == Some(false) {
        format!(
            "❌ B fails the GSM8K gate ({} < {}): its performance numbers are not trusted.",
            pct(sb.gsm8k),
            pct(threshold)
        )
    } else if !worse.is_empty() {
        let (m, l, ch) = worse
            .iter()
            .max_by(|x, y| x.2.abs().total_cmp(&y.2.abs()))
            .copied()
            .unwrap_or(("", 0, 0.0));
        format!(
            "🔴 B is worse beyond noise in {} of {compared} comparisons (largest: {} {:+.1} % at {load_kind} {l}){}.",
            worse.len(),
            label(m),
            ch * 100.0,
            if better.is_empty() { String::new() } else { format!("; better in {}", better.len()) },
        )
    } else if !better.is_empty() {
        format!(
            "🟢 B is better beyond noise in {} of {compared} comparisons and worse in none.",
            better.len()
        )
    } else {
        format!("⚪ No change beyond noise in {compared} comparisons.")
    }
}

fn pct(v: Option<f64>) -> String {
    v.map_or("missing".to_owned(), |v| format!("{:.1} %", v * 100.0))
}

fn num(v: Option<f64>) -> String {
    match v {
        Some(v) if v.abs() >= 100.0 => format!("{v:.0}"),
        Some(v) if v.abs() >= 10.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.2}"),
        None => "missing".to_owned(),
    }
}

/// Both runs' top GPU kernels per traced stage, so a regression can be pinned to a kernel.
fn kernels_markdown(kernels: &[KernelDiff], out: &mut String) {
    let mut stage = None;
    for k in kernels {
        if stage != Some(&k.stage) {
            stage = Some(&k.stage);
            out.push_str(&format!(
                "\n### GPU kernels · {} (profiler traces)\n\n| Kernel | A µs | A share | B µs | B share | Δ |\n|---|---:|---:|---:|---:|---:|\n",
                md(&k.stage)
            ));
        }
        let delta = match (k.a_us, k.b_us) {
            (Some(a), Some(b)) if a > 0.0 => format!("{:+.1} %", (b / a - 1.0) * 100.0),
            (None, Some(_)) => "new".to_owned(),
            (Some(_), None) => "gone".to_owned(),
            _ => String::new(),
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} |\n",
            k.kernel.replace('`', "'").replace('|', "\\|"),
            num(k.a_us),
            pct(k.a_share),
            num(k.b_us),
            pct(k.b_share),
            delta
        ));
    }
}

/// The comparison as GitHub-flavoured markdown for a PR comment.
pub fn to_markdown(c: &Comparison) -> String {
    let mut out = format!(
        "## {} {} on {}: `{}` → `{}`\n\n**{}**\n\n",
        md(&c.model),
        md(crate::regress::report::config_label(&c.variant)),
        c.hardware,
        c.a.image,
        c.b.image,
        c.verdict
    );
    if let Some(why) = &c.forced {
        out.push_str(&format!(
            "> ⚠️ **Forced comparison of unlike runs** ({}): the verdict compares what does not correspond.\n\n",
            md(why)
        ));
    }
    if let Some(t) = c.threshold {
        out.push_str(&format!(
            "Threshold: a fixed ±{:.1} % instead of each series' noise band.\n\n",
            t * 100.0
        ));
    }
    out.push_str(&format!(
        "GSM8K: A {} → B {}{}{}\n\n",
        pct(c.a.gsm8k),
        pct(c.b.gsm8k),
        match (c.a.gsm8k, c.b.gsm8k) {
            (Some(x), Some(y)) => format!(" ({:+.1} pts)", (y - x) * 100.0),
            _ => String::new(),
        },
        c.gsm8k_threshold
            .map_or(String::new(), |t| format!(", gate {}", pct(Some(t))))
    ));
    let load = match c.load_kind.as_str() {
        "request_rate" => "Request rate",
        "concurrency" => "Concurrency",
        "batch_size" => "Batch size",
        _ => "Load",
    };
    out.push_str(&format!("| {load} |"));
    for m in &c.metrics {
        out.push_str(&format!(" {} A | B | Δ |", label(m)));
    }
    out.push_str("\n|---:|");
    for _ in &c.metrics {
        out.push_str("---:|---:|---:|");
    }
    out.push('\n');
    for r in &c.rows {
        out.push_str(&format!("| {} |", r.load));
        for m in &c.metrics {
            match r.cells.get(m) {
                Some(cell) => {
                    let mark = match cell.verdict {
                        "worse" => "🔴 ",
                        "better" => "🟢 ",
                        _ => "",
                    };
                    let delta = match (cell.change, cell.verdict) {
                        (Some(ch), _) => format!("{mark}{:+.1} %", ch * 100.0),
                        (None, _) => "missing".to_owned(),
                    };
                    out.push_str(&format!(" {} | {} | {} |", num(cell.a), num(cell.b), delta));
                }
                None => out.push_str(" missing | missing | |"),
            }
        }
        out.push('\n');
    }
    out.push_str(
        "\n🔴/🟢: worse/better beyond the series' noise band (robust spread of its recent valid nights; 3 % when it has too little history). Loads measured on one side only show as missing.\n",
    );
    kernels_markdown(&c.kernels, &mut out);
    out.push_str(&format!(
        "\nA: `{}` ({})  \nB: `{}` ({})\n",
        c.a.run_dir,
        iso(&c.a.date),
        c.b.run_dir,
        iso(&c.b.date)
    ));
    out
}
