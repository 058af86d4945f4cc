//! Chart specifications: what a trend chart shows, independent of how it is drawn. The same
//! [`Chart`] feeds the static plots ([`super::plot`]) and the interactive charts (serialized into
//! the page as JSON for `chart.js`).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use sglci_core::records::{SanityModelRow, ServingRow};

use super::paths;
use crate::rows::Rows;
use sglci_core::date::{day_number, iso};

/// One measured value on one night.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    /// Days since 1970-01-01 (the x axis: real dates, gaps visible).
    pub day: i64,
    /// `YYYY-MM-DD`.
    pub date: String,
    pub value: f64,
    /// The image tag the value was measured on.
    pub tag: String,
    /// Site-root-relative link to the run page.
    pub href: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    pub label: String,
    /// `#rrggbb`, a function of the label only, so a series keeps its colour on every page.
    pub color: String,
    pub points: Vec<Point>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chart {
    /// Unique within a page; also the static plot's file stem.
    pub id: String,
    pub title: String,
    pub y_label: String,
    pub series: Vec<Series>,
    /// Vertical marks: the first bad night of each regression of this metric.
    pub markers: Vec<Marker>,
}

/// A mark on a chart: a regression (or one of its steps) or a triage note.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Marker {
    pub day: i64,
    pub label: String,
    /// `regression` or `note`.
    pub kind: &'static str,
}

impl Chart {
    pub fn point_count(&self) -> usize {
        self.series.iter().map(|s| s.points.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.point_count() == 0
    }

    /// (first, last) day over every series.
    pub fn day_range(&self) -> Option<(i64, i64)> {
        let days = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.day));
        let (lo, hi) = days.fold((i64::MAX, i64::MIN), |(lo, hi), d| (lo.min(d), hi.max(d)));
        (lo <= hi).then_some((lo, hi))
    }
}

/// Strong colours readable on white, distinct from each other (Tableau 10 and darker companions).
const PALETTE: [&str; 16] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd",
];

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Colours for a chart's series: each label's own colour, unless another series of the same
/// chart took it first (labels in sorted order), then the next free one.
fn assign_colors(series: &mut [Series]) {
    let mut order: Vec<usize> = (0..series.len()).collect();
    order.sort_by(|&a, &b| series[a].label.cmp(&series[b].label));
    let mut used = BTreeSet::new();
    for i in order {
        let start = (fnv(&series[i].label) % PALETTE.len() as u64) as usize;
        let slot = (0..PALETTE.len())
            .map(|k| (start + k) % PALETTE.len())
            .find(|s| !used.contains(s))
            .unwrap_or(start);
        used.insert(slot);
        series[i].color = PALETTE[slot].to_owned();
    }
}

/// Collects points into series by label.
#[derive(Debug, Default)]
struct Builder {
    series: BTreeMap<(usize, String), Vec<Point>>,
}

impl Builder {
    fn push(&mut self, order: usize, label: String, point: Point) {
        self.series.entry((order, label)).or_default().push(point);
    }

    fn chart(self, id: String, title: String, y_label: &str) -> Chart {
        let mut series: Vec<Series> = self
            .series
            .into_iter()
            .map(|((_, label), mut points)| {
                points.sort_by(|a, b| a.day.cmp(&b.day).then(a.tag.cmp(&b.tag)));
                Series {
                    label,
                    color: String::new(),
                    points,
                }
            })
            .collect();
        assign_colors(&mut series);
        Chart {
            id,
            title,
            y_label: y_label.to_owned(),
            series,
            markers: Vec::new(),
        }
    }
}

fn point(date: &str, value: f64, tag: &str, run_dir: &str) -> Option<Point> {
    Some(Point {
        day: day_number(date)?,
        date: iso(date),
        value,
        tag: tag.to_owned(),
        href: Some(paths::run_page(run_dir)),
    })
}

/// `RR=4`, `Conc=64`, with the variant first when there is one.
pub fn load_label(variant: &str, load_kind: &str, load: i64) -> String {
    let l = if load_kind == "concurrency" {
        format!("Conc={load}")
    } else {
        format!("RR={load}")
    };
    if variant.is_empty() {
        l
    } else {
        format!("{variant} {l}")
    }
}

fn variant_label(variant: &str) -> &str {
    crate::regress::report::config_label(variant)
}

/// A serving metric plotted per load.
struct ServingMetric {
    id: &'static str,
    /// The regression detector's name for the metric.
    metric: &'static str,
    title: &'static str,
    y_label: &'static str,
    get: fn(&ServingRow) -> Option<f64>,
}

const SERVING_METRICS: &[ServingMetric] = &[
    ServingMetric {
        id: "e2e",
        metric: "e2e_ms",
        title: "Median E2E latency",
        y_label: "ms",
        get: |r| r.e2e_ms,
    },
    ServingMetric {
        id: "ttft",
        metric: "ttft_ms",
        title: "Median TTFT",
        y_label: "ms",
        get: |r| r.ttft_ms,
    },
    ServingMetric {
        id: "itl",
        metric: "itl_ms",
        title: "Median ITL",
        y_label: "ms",
        get: |r| r.itl_ms,
    },
    ServingMetric {
        id: "throughput",
        metric: "output_throughput",
        title: "Output throughput",
        y_label: "tok/s",
        get: |r| r.output_throughput,
    },
    ServingMetric {
        id: "per_gpu",
        metric: "tokens_per_s_per_gpu",
        title: "Tokens/s per GPU",
        y_label: "tok/s/GPU",
        get: |r| r.tokens_per_s_per_gpu,
    },
    ServingMetric {
        id: "mfu",
        metric: "mfu",
        title: "MFU",
        y_label: "%",
        get: |r| r.mfu.map(|m| m * 100.0),
    },
];

/// The online trend charts of one model on one hardware, for one variant (predecessor.md 4.1:
/// GSM8K accuracy, E2E, TTFT, ITL, KV-cache tokens and GB per night; plus output throughput).
/// Only nights from `from_day` on. Empty charts are left out.
pub fn model_charts(
    data: &Rows,
    hardware: &str,
    model: &str,
    variant: &str,
    from_day: i64,
) -> Vec<Chart> {
    let in_scope = |hw: &str, m: &str, v: &str, date: &str| {
        hw == hardware
            && m == model
            && v == variant
            && day_number(date).is_some_and(|d| d >= from_day)
    };
    let stem = paths::slug(&format!("{model}-{}", variant_label(variant)));
    let name = format!("{model} ({}) on {hardware}", variant_label(variant));
    let mut charts = Vec::new();

    let mut acc = Builder::default();
    for a in &data.accuracy {
        if in_scope(&a.hardware, &a.model, &a.variant, &a.date) {
            if let Some(p) = a
                .accuracy
                .and_then(|v| point(&a.date, v * 100.0, &a.docker_tag, &a.run_dir))
            {
                acc.push(0, "GSM8K".to_owned(), p);
            }
        }
    }
    charts.push(acc.chart(
        format!("{stem}-gsm8k"),
        format!("GSM8K accuracy, {name}"),
        "%",
    ));

    let rows: Vec<&ServingRow> = data
        .serving
        .iter()
        .filter(|r| in_scope(&r.hardware, &r.model, &r.variant, &r.date))
        .collect();
    for m in SERVING_METRICS {
        let mut b = Builder::default();
        for r in &rows {
            if let Some(p) = (m.get)(r).and_then(|v| point(&r.date, v, &r.docker_tag, &r.run_dir)) {
                b.push(
                    r.load as usize,
                    load_label("", r.load_kind.as_str(), r.load),
                    p,
                );
            }
        }
        let mut chart = b.chart(
            format!("{stem}-{}", m.id),
            format!("{}, {name}", m.title),
            m.y_label,
        );
        chart.markers = data
            .regressions
            .iter()
            .filter(|f| {
                f.hardware == hardware
                    && f.model == model
                    && f.config == variant
                    && f.metric.as_str() == m.metric
            })
            .flat_map(|f| {
                // The finding's first bad night, and each later step (change point).
                let mut marks = vec![(
                    f.first_bad_date.clone(),
                    format!(
                        "regression ({}) {:+.1} % from {}",
                        f.state,
                        f.change * 100.0,
                        f.first_bad_image
                    ),
                )];
                for st in &f.steps {
                    let date = st.first_bad_date.as_str();
                    if date != f.first_bad_date {
                        marks.push((
                            date.to_owned(),
                            format!(
                                "step {:+.1} % at {} {} from {}",
                                st.change * 100.0,
                                f.load_kind,
                                st.load,
                                st.first_bad_image
                            ),
                        ));
                    }
                }
                marks
            })
            .filter_map(|(date, label)| {
                Some(Marker {
                    day: day_number(&date).filter(|d| *d >= from_day)?,
                    label,
                    kind: "regression",
                })
            })
            .fold(Vec::<Marker>::new(), |mut acc, m| {
                if !acc.iter().any(|x| x.day == m.day) {
                    acc.push(m);
                }
                acc
            });
        charts.push(chart);
    }
    // KV-cache capacity is a property of the run, repeated on each load row: one point per run.
    let mut tokens = Builder::default();
    let mut gb = Builder::default();
    let mut seen = BTreeSet::new();
    for r in &rows {
        if !seen.insert(&r.run_dir) {
            continue;
        }
        if let Some(p) = r
            .kv_cache_tokens
            .and_then(|v| point(&r.date, v as f64, &r.docker_tag, &r.run_dir))
        {
            tokens.push(0, "KV-cache tokens".to_owned(), p);
        }
        if let Some(p) = r
            .kv_cache_gb
            .and_then(|v| point(&r.date, v, &r.docker_tag, &r.run_dir))
        {
            gb.push(0, "KV-cache GB".to_owned(), p);
        }
    }
    charts.push(tokens.chart(
        format!("{stem}-kv-tokens"),
        format!("KV-cache tokens allocated at startup, {name}"),
        "tokens",
    ));
    charts.push(gb.chart(
        format!("{stem}-kv-gb"),
        format!("KV-cache size, {name}"),
        "GB",
    ));
    charts.retain(|c| !c.is_empty());
    charts
}

/// The offline figure (predecessor.md 4.2): E2E latency and throughput per batch size, and
/// (F70) the MFU of the median decode step and of the prefill where runs recorded their model.
pub fn offline_charts(
    data: &Rows,
    hardware: &str,
    model: &str,
    mode: &str,
    from_day: i64,
) -> Vec<Chart> {
    let stem = paths::slug(&format!("{model}-offline-{mode}"));
    let mut lat = Builder::default();
    let mut thr = Builder::default();
    let mut decode_mfu = Builder::default();
    let mut prefill_mfu = Builder::default();
    for r in &data.offline {
        if r.hardware != hardware
            || r.model != model
            || r.mode != mode
            || day_number(&r.date).is_none_or(|d| d < from_day)
        {
            continue;
        }
        let label = format!("BS={} IL={}", r.batch_size, r.input_len);
        let order = r.batch_size as usize * 1_000_000 + r.input_len as usize;
        if let Some(p) = r
            .e2e_latency_s
            .and_then(|v| point(&r.date, v, &r.docker_tag, &r.run_dir))
        {
            lat.push(order, label.clone(), p);
        }
        if let Some(p) = r
            .e2e_throughput
            .and_then(|v| point(&r.date, v, &r.docker_tag, &r.run_dir))
        {
            thr.push(order, label.clone(), p);
        }
        for (b, v) in [
            (&mut decode_mfu, r.decode_mfu),
            (&mut prefill_mfu, r.prefill_mfu),
        ] {
            if let Some(p) = v.and_then(|v| point(&r.date, v * 100.0, &r.docker_tag, &r.run_dir)) {
                b.push(order, label.clone(), p);
            }
        }
    }
    let name = format!("{model} offline {mode} on {hardware}");
    let mut charts = vec![
        lat.chart(
            format!("{stem}-latency"),
            format!("E2E latency, {name}"),
            "s",
        ),
        thr.chart(
            format!("{stem}-throughput"),
            format!("E2E throughput, {name}"),
            "tok/s",
        ),
        decode_mfu.chart(
            format!("{stem}-decode-mfu"),
            format!("Decode MFU, {name}"),
            "%",
        ),
        prefill_mfu.chart(
            format!("{stem}-prefill-mfu"),
            format!("Prefill MFU, {name}"),
            "%",
        ),
    ];
    charts.retain(|c| !c.is_empty());
    charts
}

/// Sanity accuracy per model over time on one hardware (accuracy in %).
pub fn sanity_chart(rows: &[&SanityModelRow], hardware: &str) -> Chart {
    let mut b = Builder::default();
    for r in rows {
        if let Some(p) = r
            .accuracy
            .and_then(|v| point(&r.date, v * 100.0, &r.docker_tag, &r.run_dir))
        {
            b.push(0, r.model.clone(), p);
        }
    }
    b.chart(
        format!("sanity-{hardware}"),
        format!("Sanity GSM8K accuracy per model on {hardware}"),
        "%",
    )
}

/// Upstream CI coverage (AMD against NVIDIA tests) per category over time, the total first.
pub fn coverage_chart(data: &Rows, from_day: i64) -> Chart {
    let mut b = Builder::default();
    for r in &data.upstream_coverage {
        let Some(day) = day_number(&r.date).filter(|d| *d >= from_day) else {
            continue;
        };
        let label = match r.section.as_deref() {
            Some(section) if !section.is_empty() => format!("{section}: {}", r.category),
            _ => r.category.clone(),
        };
        // The total first, then the categories in name order.
        let order = usize::from(!r.category.eq_ignore_ascii_case("total"));
        if let Some(v) = r.coverage_pct {
            b.push(
                order,
                label,
                Point {
                    day,
                    date: iso(&r.date),
                    value: v,
                    tag: String::new(),
                    href: None,
                },
            );
        }
    }
    b.chart(
        "upstream-coverage".to_owned(),
        "Upstream CI coverage: AMD tests against NVIDIA tests".to_owned(),
        "%",
    )
}
