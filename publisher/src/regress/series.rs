//! Series of one metric at one load of one configuration, built from the history's rows, with
//! each point marked valid or excluded (and why): failed accuracy, an image already measured
//! (a stale fallback), an infrastructure failure, a partial run.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use sglci_core::failure::FailureClass;
use sglci_core::records::{OfflineResultRow, SeriesLoad, SeriesMetric, ServingRow};

use crate::rows::Rows;
use sglci_core::date::day_number;

/// Whether larger values are better (throughputs) or worse (latencies).
pub use sglci_core::records::Direction;

/// A metric the detector watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct MetricDef {
    pub name: SeriesMetric,
    pub unit: &'static str,
    pub direction: Direction,
}

/// How a metric is read from a row.
pub type Getter<R> = fn(&R) -> Option<f64>;

pub const SERVING_METRICS: &[(MetricDef, Getter<ServingRow>)] = &[
    (
        MetricDef {
            name: SeriesMetric::E2eMs,
            unit: "ms",
            direction: Direction::LowerIsBetter,
        },
        |r| r.e2e_ms,
    ),
    (
        MetricDef {
            name: SeriesMetric::TtftMs,
            unit: "ms",
            direction: Direction::LowerIsBetter,
        },
        |r| r.ttft_ms,
    ),
    (
        MetricDef {
            name: SeriesMetric::ItlMs,
            unit: "ms",
            direction: Direction::LowerIsBetter,
        },
        |r| r.itl_ms,
    ),
    (
        MetricDef {
            name: SeriesMetric::TpotMs,
            unit: "ms",
            direction: Direction::LowerIsBetter,
        },
        |r| r.tpot_ms,
    ),
    (
        MetricDef {
            name: SeriesMetric::OutputThroughput,
            unit: "tok/s",
            direction: Direction::HigherIsBetter,
        },
        |r| r.output_throughput,
    ),
];

pub const OFFLINE_METRICS: &[(MetricDef, Getter<OfflineResultRow>)] = &[
    (
        MetricDef {
            name: SeriesMetric::OfflineE2eLatencyS,
            unit: "s",
            direction: Direction::LowerIsBetter,
        },
        |r| r.e2e_latency_s,
    ),
    (
        MetricDef {
            name: SeriesMetric::OfflineE2eThroughput,
            unit: "tok/s",
            direction: Direction::HigherIsBetter,
        },
        |r| r.e2e_throughput,
    ),
];

/// A configuration: what stays the same across the loads of one sweep.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ConfigKey {
    pub hardware: String,
    pub model: String,
    /// Online variant (empty for the standard run) or `offline <mode> tp<N> il<N> ol<N>`.
    pub config: String,
    pub load_kind: SeriesLoad,
    pub metric: SeriesMetric,
}

/// Why a point is not used for baselines or alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exclusion {
    AccuracyFailed,
    StaleImage,
    Infrastructure,
    Partial,
    /// Not a nightly image (a release, a PR or commit build, an A/B candidate): shown, but it
    /// neither sets a baseline nor alerts.
    NotNightly,
}

/// Whether a history image name is a nightly tag (a run label with a commit, or a reference
/// as given, is another kind of image).
fn nightly(tag: &str) -> bool {
    tag.parse::<sglci_core::ImageTag>()
        .is_ok_and(|t| t.commit().is_none())
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesPoint {
    pub day: i64,
    pub date: String,
    pub tag: String,
    pub run_dir: String,
    pub value: f64,
    pub excluded: Option<Exclusion>,
}

/// One series: a configuration at one load, points in night order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    pub key: ConfigKey,
    pub load: i64,
    pub unit: &'static str,
    pub direction: Direction,
    pub points: Vec<SeriesPoint>,
}

/// Run-level facts the exclusions need.
struct RunFacts<'a> {
    accuracy_failed: BTreeSet<&'a str>,
    infrastructure: BTreeSet<&'a str>,
}

fn run_facts(rows: &Rows) -> RunFacts<'_> {
    let accuracy_failed = rows
        .accuracy
        .iter()
        .filter(|a| a.passed == Some(false))
        .map(|a| a.run_dir.as_str())
        .collect();
    let infrastructure = rows
        .tasks
        .iter()
        .filter(|t| t.failure_class.is_some_and(FailureClass::is_infrastructure))
        .filter_map(|t| t.source.as_deref())
        .collect();
    RunFacts {
        accuracy_failed,
        infrastructure,
    }
}

/// Marks repeated images: a point measured on an image the series already has is a stale
/// fallback run, not a new point (F61).
fn mark_stale(points: &mut [SeriesPoint]) {
    let mut seen = BTreeSet::new();
    for p in points.iter_mut() {
        if !seen.insert(p.tag.clone()) && p.excluded.is_none() {
            p.excluded = Some(Exclusion::StaleImage);
        }
    }
}

/// Every series of the history.
pub fn build_series(rows: &Rows) -> Vec<Series> {
    let facts = run_facts(rows);
    let mut map: BTreeMap<(ConfigKey, i64), Series> = BTreeMap::new();
    for r in &rows.serving {
        let Some(day) = day_number(&r.date) else {
            continue;
        };
        let excluded = if facts.accuracy_failed.contains(r.run_dir.as_str()) {
            Some(Exclusion::AccuracyFailed)
        } else if facts.infrastructure.contains(r.run_dir.as_str()) {
            Some(Exclusion::Infrastructure)
        } else if r.partial {
            Some(Exclusion::Partial)
        } else if !nightly(&r.docker_tag) {
            Some(Exclusion::NotNightly)
        } else {
            None
        };
        for (def, get) in SERVING_METRICS {
            let Some(value) = get(r).filter(|v| v.is_finite()) else {
                continue;
            };
            let key = ConfigKey {
                hardware: r.hardware.clone(),
                model: r.model.clone(),
                config: r.variant.clone(),
                load_kind: r.load_kind.into(),
                metric: def.name,
            };
            push(&mut map, key, r.load, def, day, r, value, excluded);
        }
    }
    for r in &rows.offline {
        let Some(day) = day_number(&r.date) else {
            continue;
        };
        for (def, get) in OFFLINE_METRICS {
            let Some(value) = get(r).filter(|v| v.is_finite()) else {
                continue;
            };
            let key = ConfigKey {
                hardware: r.hardware.clone(),
                model: r.model.clone(),
                config: format!(
                    "offline {} tp{} il{} ol{}",
                    r.mode, r.tp, r.input_len, r.output_len
                ),
                load_kind: SeriesLoad::BatchSize,
                metric: def.name,
            };
            let point = SeriesPoint {
                day,
                date: r.date.clone(),
                tag: r.docker_tag.clone(),
                run_dir: r.run_dir.clone(),
                value,
                excluded: if facts.accuracy_failed.contains(r.run_dir.as_str()) {
                    Some(Exclusion::AccuracyFailed)
                } else if !nightly(&r.docker_tag) {
                    Some(Exclusion::NotNightly)
                } else {
                    None
                },
            };
            map.entry((key.clone(), r.batch_size))
                .or_insert_with(|| Series {
                    key,
                    load: r.batch_size,
                    unit: def.unit,
                    direction: def.direction,
                    points: Vec::new(),
                })
                .points
                .push(point);
        }
    }
    let mut out: Vec<Series> = map.into_values().collect();
    for s in &mut out {
        s.points
            .sort_by(|a, b| a.day.cmp(&b.day).then(a.run_dir.cmp(&b.run_dir)));
        mark_stale(&mut s.points);
    }
    out
}

#[allow(
    clippy::too_many_arguments,
    reason = "one call site, all fields of one point"
)]
fn push(
    map: &mut BTreeMap<(ConfigKey, i64), Series>,
    key: ConfigKey,
    load: i64,
    def: &MetricDef,
    day: i64,
    r: &ServingRow,
    value: f64,
    excluded: Option<Exclusion>,
) {
    map.entry((key.clone(), load))
        .or_insert_with(|| Series {
            key,
            load,
            unit: def.unit,
            direction: def.direction,
            points: Vec::new(),
        })
        .points
        .push(SeriesPoint {
            day,
            date: r.date.clone(),
            tag: r.docker_tag.clone(),
            run_dir: r.run_dir.clone(),
            value,
            excluded,
        });
}
