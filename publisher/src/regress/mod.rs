//! Regression detection (F33, F60–F62, F66, F67), following `anchors.md` section 3. Pure: rows
//! in, findings out.
//!
//! 1. **Screen** every valid point of every series against a robust baseline: the median of the
//!    last `window` valid nights before it, skipping the `skip_recent` newest (so a fresh step
//!    does not hide itself), with noise 1.4826·MAD. A point is *worse* beyond
//!    max(k·noise, floor) in the metric's bad direction.
//! 2. **Alert** when, on one night, at least `min_cells` loads of one configuration (neighbours
//!    in its sweep) are worse on their last `consecutive` valid nights.
//! 3. **Confirm and attribute** with E-divisive means ([`stats::change_points`]) over each
//!    affected load: the first point of the new level names the first bad image, the point
//!    before it the last good one, and the sglang version range between them.
//! 4. A finding stays open until the affected loads are back inside the band of the baseline
//!    they had before it opened (a new level never becomes "normal" by itself).
//!
//! Excluded points (failed accuracy, stale image, infrastructure failure, partial run) never
//! enter a baseline and never alert. GSM8K accuracy is a gate per model, reported as its own
//! finding while the latest run fails it.

pub mod flaky;
pub mod refresh;
pub mod report;
pub mod series;
pub mod stats;

use std::collections::BTreeMap;

use serde::Serialize;
use sglci_core::records::{SeriesLoad, SeriesMetric};
use sglci_core::ImageTag;

use crate::rows::Rows;
use series::{build_series, ConfigKey, Direction, Series};

/// Detection parameters (defaults from the simulation in `anchors.md` 3.4).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DetectConfig {
    pub window: usize,
    pub skip_recent: usize,
    pub min_baseline: usize,
    pub k: f64,
    pub floor: f64,
    pub consecutive: usize,
    pub min_cells: usize,
    pub cp_max_p: f64,
    pub cp_min_size: usize,
    pub cp_window: usize,
}

impl Default for DetectConfig {
    fn default() -> Self {
        Self {
            window: 14,
            skip_recent: 2,
            min_baseline: 5,
            k: 2.5,
            floor: 0.03,
            consecutive: 2,
            min_cells: 2,
            cp_max_p: 0.001,
            cp_min_size: 3,
            cp_window: 60,
        }
    }
}

/// The verdict on one point against its baseline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Screen {
    /// The series has too few valid earlier nights for a baseline.
    TooFew { have: usize },
    /// Within the noise band. `change` is relative to the baseline median, signed.
    Inside {
        change: f64,
        band: f64,
        baseline: f64,
    },
    Worse {
        change: f64,
        band: f64,
        baseline: f64,
    },
    Better {
        change: f64,
        band: f64,
        baseline: f64,
    },
}

impl Screen {
    pub fn is_worse(&self) -> bool {
        matches!(self, Screen::Worse { .. })
    }
}

/// Baseline median and relative noise band from the valid values before a point.
pub fn baseline(earlier: &[f64], cfg: &DetectConfig) -> Option<(f64, f64)> {
    let usable = earlier.len().checked_sub(cfg.skip_recent)?;
    let from = usable.saturating_sub(cfg.window);
    let win = &earlier[from..usable];
    if win.len() < cfg.min_baseline {
        return None;
    }
    let m = stats::median(win)?;
    if m == 0.0 || !m.is_finite() {
        return None;
    }
    let sigma = stats::mad_sigma(win)?;
    Some((m, (cfg.k * sigma / m.abs()).max(cfg.floor)))
}

/// Screens `value` against the valid values before it.
pub fn screen(earlier: &[f64], value: f64, direction: Direction, cfg: &DetectConfig) -> Screen {
    let Some((m, band)) = baseline(earlier, cfg) else {
        return Screen::TooFew {
            have: earlier.len().saturating_sub(cfg.skip_recent),
        };
    };
    let change = (value - m) / m.abs();
    let worse = match direction {
        Direction::LowerIsBetter => change,
        Direction::HigherIsBetter => -change,
    };
    if worse > band {
        Screen::Worse {
            change,
            band,
            baseline: m,
        }
    } else if worse < -band {
        Screen::Better {
            change,
            band,
            baseline: m,
        }
    } else {
        Screen::Inside {
            change,
            band,
            baseline: m,
        }
    }
}

/// The screen of every valid point of a series (excluded points get `None`).
pub fn screen_series(s: &Series, cfg: &DetectConfig) -> Vec<Option<Screen>> {
    let mut earlier = Vec::new();
    s.points
        .iter()
        .map(|p| {
            if p.excluded.is_some() {
                return None;
            }
            let v = screen(&earlier, p.value, s.direction, cfg);
            earlier.push(p.value);
            Some(v)
        })
        .collect()
}

/// Whether a finding is still open (re-exported from the records, which store it).
pub use sglci_core::records::FindingState as State;

/// One regression: a configuration and metric that got worse at several loads.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub id: String,
    pub hardware: String,
    pub model: String,
    pub config: String,
    pub load_kind: SeriesLoad,
    pub metric: SeriesMetric,
    pub unit: String,
    pub direction: Direction,
    pub loads: Vec<i64>,
    /// The night the alert rule fired.
    pub alerted: String,
    pub first_bad_date: String,
    pub first_bad_image: String,
    pub last_good_date: Option<String>,
    pub last_good_image: Option<String>,
    /// sglang versions between the last good and the first bad image.
    pub versions: String,
    /// Median relative change over the affected loads at the alert (0.34 = +34 %).
    pub change: f64,
    /// The same on the latest night: how bad it is now, steps included.
    pub current_change: f64,
    /// Baseline median per load before the regression.
    pub baselines: BTreeMap<i64, f64>,
    pub band: f64,
    /// 1 − p of the change-point test (0 when only the screen saw it).
    pub confidence: f64,
    pub confirmed: bool,
    pub state: State,
    pub recovered: Option<String>,
    pub latest: String,
    /// Confirmed level shifts in the bad direction over the finding's span, oldest first: a
    /// regression often arrives in more than one step.
    pub steps: Vec<Step>,
}

/// One change point of a finding (the record the regressions table stores).
pub use sglci_core::records::RegressionStep as Step;

fn version_range(good: Option<&str>, bad: &str) -> String {
    let v = |t: &str| {
        t.parse::<ImageTag>()
            .map(|t| t.version().to_owned())
            .unwrap_or_else(|_| t.to_owned())
    };
    match good {
        Some(g) if v(g) == v(bad) => {
            format!("{} (same sglang version; a ROCm or image change)", v(bad))
        }
        Some(g) => format!("{} → {}", v(g), v(bad)),
        None => v(bad),
    }
}

/// The positions of loads in a sweep that are next to each other.
fn neighbouring(loads: &[i64], all: &[i64]) -> bool {
    let idx: Vec<usize> = loads
        .iter()
        .filter_map(|l| all.iter().position(|a| a == l))
        .collect();
    idx.windows(2).any(|w| w[1] == w[0] + 1)
}

/// Detects regressions over the whole history.
pub fn detect(rows: &Rows, cfg: &DetectConfig) -> Vec<Finding> {
    let all = build_series(rows);
    let mut groups: BTreeMap<&ConfigKey, Vec<&Series>> = BTreeMap::new();
    for s in &all {
        groups.entry(&s.key).or_default().push(s);
    }
    let mut findings = Vec::new();
    for (key, series) in groups {
        findings.extend(detect_group(key, &series, cfg));
    }
    findings.extend(accuracy_gate(rows));
    findings
}

/// Improvements beyond the noise band: the same detector, with the same rules and parameters,
/// on every series with its direction turned round, so a fix that lands is found the way a
/// regression is (several neighbouring loads, consecutive nights, attributed to the first good
/// image). Findings keep the metric's real direction; their ids start with `improvement:`.
/// The accuracy gate has no counterpart (passing is not news).
pub fn detect_improvements(rows: &Rows, cfg: &DetectConfig) -> Vec<Finding> {
    let flip = |d: Direction| match d {
        Direction::LowerIsBetter => Direction::HigherIsBetter,
        Direction::HigherIsBetter => Direction::LowerIsBetter,
    };
    let mut all = build_series(rows);
    for s in &mut all {
        s.direction = flip(s.direction);
    }
    let mut groups: BTreeMap<&ConfigKey, Vec<&Series>> = BTreeMap::new();
    for s in &all {
        groups.entry(&s.key).or_default().push(s);
    }
    let mut out = Vec::new();
    for (key, series) in groups {
        for mut f in detect_group(key, &series, cfg) {
            f.direction = flip(f.direction);
            f.id = format!("improvement:{}", f.id);
            out.push(f);
        }
    }
    out
}

fn detect_group(key: &ConfigKey, series: &[&Series], cfg: &DetectConfig) -> Vec<Finding> {
    let loads: Vec<i64> = series.iter().map(|s| s.load).collect();
    let screens: Vec<Vec<Option<Screen>>> = series.iter().map(|s| screen_series(s, cfg)).collect();
    let mut days: Vec<i64> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.day))
        .collect();
    days.sort_unstable();
    days.dedup();
    let need = cfg.min_cells.min(series.len()).max(1);
    let mut out: Vec<Finding> = Vec::new();
    for &day in &days {
        // Close the open finding when every affected load is back inside its old band.
        if let Some(f) = out.last_mut().filter(|f| f.state == State::Open) {
            update_recovery(f, series, day, cfg);
        }
        let open = out.last().is_some_and(|f| f.state == State::Open);
        // Cells worse on their last `consecutive` valid nights up to `day`.
        let mut hit = Vec::new();
        for (i, s) in series.iter().enumerate() {
            let recent: Vec<(usize, &Screen)> = s
                .points
                .iter()
                .enumerate()
                .filter(|(j, p)| p.day <= day && screens[i][*j].is_some())
                .filter_map(|(j, _)| screens[i][j].as_ref().map(|sc| (j, sc)))
                .collect();
            let at_day = recent.last().is_some_and(|(j, _)| s.points[*j].day == day);
            let tail = recent.iter().rev().take(cfg.consecutive);
            if at_day
                && recent.len() >= cfg.consecutive
                && tail.clone().all(|(_, sc)| sc.is_worse())
            {
                let first = recent[recent.len() - cfg.consecutive].0;
                hit.push((i, first));
            }
        }
        let hit_loads: Vec<i64> = hit.iter().map(|(i, _)| loads[*i]).collect();
        let grouped = hit.len() >= need && (need < 2 || neighbouring(&hit_loads, &loads));
        if !grouped {
            continue;
        }
        // While a finding is open, the same shift keeps firing; a new finding needs the
        // baseline to have moved (the screen adapted to a new level and then saw another step).
        if open {
            let Some(f) = out.last() else { continue };
            let moved = hit.iter().all(|(i, first)| match screens[*i][*first] {
                Some(Screen::Worse { baseline, .. }) => f
                    .baselines
                    .get(&loads[*i])
                    .is_none_or(|b| ((baseline - b) / b.abs()).abs() > f.band),
                _ => false,
            });
            if !moved {
                continue;
            }
        }
        out.push(open_finding(key, series, &screens, &hit, day, cfg));
    }
    let last = days.last().copied().unwrap_or(0);
    let ends: Vec<i64> = out
        .iter()
        .skip(1)
        .filter_map(|f| sglci_core::date::day_number(&f.first_bad_date))
        .chain(std::iter::once(last + 1))
        .collect();
    for (f, end) in out.iter_mut().zip(ends) {
        f.latest = sglci_core::date::date_of_day(last);
        attribute(f, series, &screens, end, cfg);
        // How bad it is now: the latest valid value of each affected load against its baseline.
        let now: Vec<f64> = f
            .loads
            .iter()
            .filter_map(|load| {
                let s = series.iter().find(|s| s.load == *load)?;
                let v = s.points.iter().rev().find(|p| p.excluded.is_none())?.value;
                let b = f.baselines.get(load)?;
                Some((v - b) / b.abs())
            })
            .collect();
        if let (Some(m), State::Open) = (stats::median(&now), &f.state) {
            f.current_change = m;
        }
    }
    out
}

/// Finds the steps of a finding: change points in the bad direction at its loads, from its last
/// good night up to (not including) the next finding of the same series group, over all the
/// data seen so far. The earliest step names the first bad image.
fn attribute(
    f: &mut Finding,
    series: &[&Series],
    screens: &[Vec<Option<Screen>>],
    end: i64,
    cfg: &DetectConfig,
) {
    let day = sglci_core::date::day_number;
    let start = f
        .last_good_date
        .as_deref()
        .and_then(day)
        .or_else(|| day(&f.first_bad_date))
        .unwrap_or(i64::MIN);
    let mut steps: Vec<Step> = Vec::new();
    for load in &f.loads {
        let Some(i) = series.iter().position(|s| s.load == *load) else {
            continue;
        };
        let s = series[i];
        let valid: Vec<usize> = (0..s.points.len())
            .filter(|j| screens[i][*j].is_some() && s.points[*j].day < end)
            .collect();
        let window = &valid[valid.len().saturating_sub(cfg.cp_window)..];
        let values: Vec<f64> = window.iter().map(|j| s.points[*j].value).collect();
        for c in stats::change_points(&values, cfg.cp_min_size, cfg.cp_max_p) {
            let worse = match s.direction {
                Direction::LowerIsBetter => c.after > c.before,
                Direction::HigherIsBetter => c.after < c.before,
            };
            let bad = &s.points[window[c.index]];
            if !worse || bad.day <= start {
                continue;
            }
            let good = c.index.checked_sub(1).map(|g| &s.points[window[g]]);
            steps.push(Step {
                load: *load,
                first_bad_date: bad.date.clone(),
                first_bad_image: bad.tag.clone(),
                last_good_date: good.map(|g| g.date.clone()),
                last_good_image: good.map(|g| g.tag.clone()),
                versions: version_range(good.map(|g| g.tag.as_str()), &bad.tag),
                change: (c.after - c.before) / c.before.abs(),
                p_value: c.p_value,
            });
        }
    }
    steps.sort_by(|a, b| (&a.first_bad_date, a.load).cmp(&(&b.first_bad_date, b.load)));
    if let Some(first) = steps.first() {
        f.first_bad_date = first.first_bad_date.clone();
        f.first_bad_image = first.first_bad_image.clone();
        f.last_good_date = first.last_good_date.clone();
        f.last_good_image = first.last_good_image.clone();
        f.versions = first.versions.clone();
        f.confirmed = true;
        let p = steps.iter().map(|s| s.p_value).fold(1.0, f64::min);
        f.confidence = f.confidence.max(1.0 - p);
    }
    f.steps = steps;
}

fn open_finding(
    key: &ConfigKey,
    series: &[&Series],
    screens: &[Vec<Option<Screen>>],
    hit: &[(usize, usize)],
    day: i64,
    cfg: &DetectConfig,
) -> Finding {
    let mut baselines = BTreeMap::new();
    let mut changes = Vec::new();
    let mut band = 0.0f64;
    // Attribution: per affected load, the change point before the alert, else the first
    // flagged night.
    // (day, image, (date, image) of the last good point).
    type Attribution = (i64, String, Option<(String, String)>);
    let mut first_bad: Option<Attribution> = None;
    let mut best_p: f64 = 1.0;
    let mut confirmed = false;
    for &(i, first_flag) in hit {
        let s = series[i];
        if let Some(Screen::Worse {
            change,
            band: b,
            baseline,
        }) = screens[i][first_flag]
        {
            baselines.insert(s.load, baseline);
            band = band.max(b);
            if let Some(Some(Screen::Worse { change: c, .. })) = s
                .points
                .iter()
                .rposition(|p| p.day == day)
                .map(|j| screens[i][j])
            {
                changes.push(c);
            } else {
                changes.push(change);
            }
        }
        let valid: Vec<usize> = (0..s.points.len())
            .filter(|j| screens[i][*j].is_some() && s.points[*j].day <= day)
            .collect();
        let from = valid.len().saturating_sub(cfg.cp_window);
        let window = &valid[from..];
        let values: Vec<f64> = window.iter().map(|j| s.points[*j].value).collect();
        let cps = stats::change_points(&values, cfg.cp_min_size, cfg.cp_max_p);
        let worse_cp = cps.iter().rev().find(|c| match s.direction {
            Direction::LowerIsBetter => c.after > c.before,
            Direction::HigherIsBetter => c.after < c.before,
        });
        let (bad_idx, good_idx) = match worse_cp {
            Some(c) => {
                confirmed = true;
                best_p = best_p.min(c.p_value);
                (
                    window[c.index],
                    window.get(c.index.wrapping_sub(1)).copied(),
                )
            }
            None => {
                let pos = valid.iter().position(|j| *j == first_flag).unwrap_or(0);
                (first_flag, pos.checked_sub(1).map(|p| valid[p]))
            }
        };
        let bad = &s.points[bad_idx];
        if first_bad.as_ref().is_none_or(|(d, _, _)| bad.day < *d) {
            let good = good_idx.map(|g| (s.points[g].date.clone(), s.points[g].tag.clone()));
            first_bad = Some((bad.day, bad.tag.clone(), good));
        }
    }
    let (bad_day, bad_tag, good) = first_bad.unwrap_or((day, String::new(), None));
    let date = sglci_core::date::date_of_day;
    let mut affected: Vec<i64> = hit.iter().map(|(i, _)| series[*i].load).collect();
    affected.sort_unstable();
    Finding {
        id: format!(
            "{}/{}/{}/{}/{}@{}",
            key.hardware,
            key.model,
            report::config_label(&key.config),
            key.load_kind,
            key.metric,
            date(bad_day)
        ),
        hardware: key.hardware.clone(),
        model: key.model.clone(),
        config: key.config.clone(),
        load_kind: key.load_kind,
        metric: key.metric,
        unit: series[0].unit.to_owned(),
        direction: series[0].direction,
        loads: affected,
        alerted: date(day),
        first_bad_date: date(bad_day),
        versions: version_range(good.as_ref().map(|g| g.1.as_str()), &bad_tag),
        first_bad_image: bad_tag,
        last_good_date: good.as_ref().map(|g| g.0.clone()),
        last_good_image: good.map(|g| g.1),
        change: stats::median(&changes).unwrap_or(0.0),
        current_change: stats::median(&changes).unwrap_or(0.0),
        baselines,
        band,
        confidence: if confirmed { 1.0 - best_p } else { 0.0 },
        confirmed,
        state: State::Open,
        recovered: None,
        latest: date(day),
        steps: Vec::new(),
    }
}

/// A finding recovers when the last `consecutive` valid points of every affected load are back
/// inside the band around the baseline they had before the finding opened.
fn update_recovery(f: &mut Finding, series: &[&Series], day: i64, cfg: &DetectConfig) {
    let back = f.loads.iter().all(|load| {
        let Some(s) = series.iter().find(|s| s.load == *load) else {
            return false;
        };
        let Some(base) = f.baselines.get(load) else {
            return false;
        };
        let recent: Vec<f64> = s
            .points
            .iter()
            .filter(|p| p.excluded.is_none() && p.day <= day)
            .map(|p| p.value)
            .collect();
        let tail = &recent[recent.len().saturating_sub(cfg.consecutive)..];
        recent.len() >= cfg.consecutive
            && s.points
                .iter()
                .any(|p| p.day == day && p.excluded.is_none())
            && tail.iter().all(|v| {
                let worse = match s.direction {
                    Direction::LowerIsBetter => (v - base) / base.abs(),
                    Direction::HigherIsBetter => (base - v) / base.abs(),
                };
                worse <= f.band
            })
    });
    if back {
        f.state = State::Recovered;
        f.recovered = Some(sglci_core::date::date_of_day(day));
    }
}

/// The GSM8K gate: one finding per (hardware, model, variant) whose latest run fails it, from
/// the first failing run of the current streak.
fn accuracy_gate(rows: &Rows) -> Vec<Finding> {
    let mut by: BTreeMap<(&str, &str, &str), Vec<&sglci_core::records::AccuracyRow>> =
        BTreeMap::new();
    for a in &rows.accuracy {
        by.entry((&a.hardware, &a.model, &a.variant))
            .or_default()
            .push(a);
    }
    let mut out = Vec::new();
    for ((hw, model, variant), mut runs) in by {
        runs.sort_by(|a, b| (&a.date, &a.run_dir).cmp(&(&b.date, &b.run_dir)));
        let Some(latest) = runs.last() else { continue };
        if latest.passed != Some(false) {
            continue;
        }
        let streak_start = runs
            .iter()
            .rposition(|a| a.passed != Some(false))
            .map_or(0, |i| i + 1);
        let first = runs[streak_start];
        let good = streak_start.checked_sub(1).map(|i| runs[i]);
        out.push(Finding {
            id: format!(
                "{hw}/{model}/{}/gsm8k/accuracy@{}",
                report::config_label(variant),
                first.date
            ),
            hardware: hw.to_owned(),
            model: model.to_owned(),
            config: variant.to_owned(),
            load_kind: SeriesLoad::Gsm8k,
            metric: SeriesMetric::Gsm8kAccuracy,
            unit: "%".to_owned(),
            direction: Direction::HigherIsBetter,
            loads: Vec::new(),
            alerted: latest.date.clone(),
            first_bad_date: first.date.clone(),
            first_bad_image: first.docker_tag.clone(),
            last_good_date: good.map(|g| g.date.clone()),
            last_good_image: good.map(|g| g.docker_tag.clone()),
            versions: version_range(good.map(|g| g.docker_tag.as_str()), &first.docker_tag),
            change: latest.accuracy.unwrap_or(0.0) - latest.threshold,
            current_change: latest.accuracy.unwrap_or(0.0) - latest.threshold,
            baselines: BTreeMap::new(),
            band: 0.0,
            confidence: 1.0,
            confirmed: true,
            state: State::Open,
            recovered: None,
            latest: latest.date.clone(),
            steps: Vec::new(),
        });
    }
    out
}

impl Finding {
    /// The finding as a history row.
    pub fn to_row(&self) -> sglci_core::records::RegressionRow {
        sglci_core::records::RegressionRow {
            date: self.latest.clone(),
            id: self.id.clone(),
            hardware: self.hardware.clone(),
            model: self.model.clone(),
            config: self.config.clone(),
            load_kind: self.load_kind,
            metric: self.metric,
            unit: self.unit.clone(),
            direction: self.direction,
            loads: self
                .loads
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(" "),
            alerted: self.alerted.clone(),
            first_bad_date: self.first_bad_date.clone(),
            first_bad_image: self.first_bad_image.clone(),
            last_good_date: self.last_good_date.clone(),
            last_good_image: self.last_good_image.clone(),
            versions: self.versions.clone(),
            change: self.change,
            current_change: self.current_change,
            band: self.band,
            confidence: self.confidence,
            confirmed: self.confirmed,
            state: self.state,
            recovered: self.recovered.clone(),
            steps: self.steps.clone(),
        }
    }
}
