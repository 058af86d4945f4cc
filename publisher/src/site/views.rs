//! View models: what each page shows, computed from [`Rows`] (pure, serializable; the
//! templates only lay them out).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use sglci_core::records::*;
use sglci_core::status::{task_group, TASK_GROUPS};

use super::paths;
use crate::rows::Rows;
use sglci_core::date::iso;

/// A percentage with one decimal, from a 0..1 fraction.
pub fn pct(v: Option<f64>) -> String {
    v.map_or_else(String::new, |v| format!("{:.1}%", v * 100.0))
}

/// `93.7` minutes → `1h 34m`.
pub fn runtime(minutes: Option<f64>) -> String {
    match minutes {
        Some(m) if m.is_finite() && m >= 0.0 => {
            let total = m.round() as i64;
            if total >= 60 {
                format!("{}h {}m", total / 60, total % 60)
            } else {
                format!("{total}m")
            }
        }
        _ => String::new(),
    }
}

/// A number as bench_serving printed it, shortened for tables.
pub fn num(v: Option<f64>) -> String {
    match v {
        Some(v) if v.abs() >= 100.0 => format!("{v:.0}"),
        Some(v) if v.abs() >= 10.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.2}"),
        None => String::new(),
    }
}

pub fn state_icon(status: TaskState) -> &'static str {
    match status {
        TaskState::Pass => "✅",
        TaskState::Fail => "❌",
        TaskState::NotRun => "⏭️",
        TaskState::Unknown => "❓",
    }
}

/// A link to a page of the site or to a raw log, relative to the page it appears on.
#[derive(Debug, Clone, Serialize)]
pub struct Link {
    pub text: String,
    pub href: String,
}

/// Resolves links from one page.
#[derive(Debug, Clone)]
pub struct Linker<'a> {
    /// `../` back to the site root.
    pub root: String,
    /// Prefix of raw log files: absolute (`https://…/blob/log/`) or site-root-relative (`logs/`).
    pub logs_base: &'a str,
}

impl Linker<'_> {
    pub fn page(&self, path: &str) -> String {
        format!("{}{path}", self.root)
    }

    pub fn log(&self, file: &str) -> String {
        if self.logs_base.contains("://") {
            format!("{}{file}", self.logs_base)
        } else {
            format!("{}{}{file}", self.root, self.logs_base)
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TaskView {
    pub task: String,
    pub name: String,
    pub group: String,
    pub status: String,
    pub icon: String,
    pub reason: String,
    pub failure_class: String,
    pub evidence: String,
    pub image: String,
    pub gsm8k: String,
    pub runtime: String,
    /// The run page, or the raw log the status was read from.
    pub href: Option<String>,
}

pub fn task_view(t: &TaskRow, run_dirs: &BTreeSet<&str>, link: &Linker<'_>) -> TaskView {
    let href = t.source.as_deref().map(|s| {
        if run_dirs.contains(s) {
            link.page(&paths::run_page(s))
        } else {
            link.log(s)
        }
    });
    TaskView {
        task: t.task.clone(),
        name: t.task_name.clone(),
        group: task_group(&t.task).to_owned(),
        status: t.status.as_str().to_owned(),
        icon: state_icon(t.status).to_owned(),
        reason: t.reason.clone(),
        failure_class: t.failure_class.map(|c| c.to_string()).unwrap_or_default(),
        evidence: t.evidence.clone().unwrap_or_default(),
        image: t.docker_tag.clone().unwrap_or_default(),
        gsm8k: pct(t.gsm8k_accuracy),
        runtime: runtime(t.runtime_minutes),
        href,
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Counts {
    pub pass: usize,
    pub fail: usize,
    pub not_run: usize,
    pub unknown: usize,
}

pub fn counts(states: impl Iterator<Item = TaskState>) -> Counts {
    let mut c = Counts {
        pass: 0,
        fail: 0,
        not_run: 0,
        unknown: 0,
    };
    for s in states {
        match s {
            TaskState::Pass => c.pass += 1,
            TaskState::Fail => c.fail += 1,
            TaskState::NotRun => c.not_run += 1,
            TaskState::Unknown => c.unknown += 1,
        }
    }
    c
}

#[derive(Debug, Clone, Serialize)]
pub struct TaskGroup {
    pub name: String,
    pub tasks: Vec<TaskView>,
}

pub fn grouped(tasks: Vec<TaskView>) -> Vec<TaskGroup> {
    TASK_GROUPS
        .iter()
        .map(|g| TaskGroup {
            name: (*g).to_owned(),
            tasks: tasks.iter().filter(|t| t.group == *g).cloned().collect(),
        })
        .filter(|g| !g.tasks.is_empty())
        .collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub name: String,
    pub from: String,
    pub to: String,
    pub to_icon: String,
}

/// The sanity result of one model on one night.
#[derive(Debug, Clone, Serialize)]
pub struct SanityView {
    pub model: String,
    pub status: String,
    pub icon: String,
    pub accuracy: String,
    pub required: String,
    pub trials: String,
    pub failure_class: String,
    pub error: String,
    pub href: Option<String>,
}

pub fn sanity_view(s: &SanityModelRow, link: &Linker<'_>) -> SanityView {
    let state = match s.status.as_str() {
        "pass" => TaskState::Pass,
        "fail" => TaskState::Fail,
        "not run" => TaskState::NotRun,
        _ => TaskState::Unknown,
    };
    SanityView {
        model: s.model.clone(),
        status: s.status.to_string(),
        icon: state_icon(state).to_owned(),
        accuracy: pct(s.accuracy),
        required: pct(s.required),
        trials: s.trials.clone(),
        failure_class: s.failure_class.map(|c| c.to_string()).unwrap_or_default(),
        error: s.error.clone().unwrap_or_default(),
        href: Some(link.page(&paths::run_page(&s.run_dir))),
    }
}

/// The latest night with task rows per hardware, and the night before it.
pub fn nights_by_hardware(data: &Rows) -> BTreeMap<String, Vec<String>> {
    let mut nights: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for t in &data.tasks {
        nights
            .entry(t.hardware.clone())
            .or_default()
            .insert(t.date.clone());
    }
    for r in &data.runs {
        nights
            .entry(r.hardware.clone())
            .or_default()
            .insert(r.date.clone());
    }
    nights
        .into_iter()
        .map(|(hw, set)| (hw, set.into_iter().collect()))
        .collect()
}

/// Status changes between two nights of the same hardware.
pub fn changes(before: &[&TaskRow], after: &[&TaskRow]) -> Vec<Change> {
    let prev: BTreeMap<&str, TaskState> =
        before.iter().map(|t| (t.task.as_str(), t.status)).collect();
    after
        .iter()
        .filter_map(|t| {
            let from = prev.get(t.task.as_str()).copied();
            (from != Some(t.status)).then(|| Change {
                name: t.task_name.clone(),
                from: from.map_or("no record", TaskState::as_str).to_owned(),
                to: t.status.as_str().to_owned(),
                to_icon: state_icon(t.status).to_owned(),
            })
        })
        .collect()
}

/// One night's image: the tag most tasks of the night ran on.
pub fn night_image(tasks: &[&TaskRow]) -> String {
    let mut n: BTreeMap<&str, usize> = BTreeMap::new();
    for t in tasks {
        if let Some(tag) = t.docker_tag.as_deref() {
            *n.entry(tag).or_default() += 1;
        }
    }
    n.into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
        .map(|(t, _)| t.to_owned())
        .unwrap_or_default()
}

/// A file linked from a page.
#[derive(Debug, Clone, Serialize)]
pub struct FileView {
    pub name: String,
    pub kind: String,
    pub size: String,
    pub quarantined: bool,
    pub href: String,
}

pub fn file_view(f: &FileRow, base: &str, link: &Linker<'_>) -> FileView {
    let name = f
        .file
        .strip_prefix(base)
        .map(|s| s.trim_start_matches('/'))
        .filter(|s| !s.is_empty())
        .unwrap_or(&f.file)
        .to_owned();
    let size = if f.bytes >= 1_000_000 {
        format!("{:.1} MB", f.bytes as f64 / 1e6)
    } else if f.bytes >= 1000 {
        format!("{:.1} kB", f.bytes as f64 / 1e3)
    } else {
        format!("{} B", f.bytes)
    };
    FileView {
        name,
        kind: f.kind.clone(),
        size,
        quarantined: f.quarantined,
        href: link.log(&f.file),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct NightLink {
    pub date: String,
    pub label: String,
    pub href: String,
}

pub fn night_link(hw: &str, date: &str, link: &Linker<'_>) -> NightLink {
    NightLink {
        date: date.to_owned(),
        label: iso(date),
        href: link.page(&paths::night_page(hw, date)),
    }
}
