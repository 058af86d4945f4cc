//! Flakiness per task (F64): the current pass/fail streak and when it started, the last good
//! night, and how often the task flipped between pass and fail recently. Nights where a task
//! did not run or its state is unknown do not count either way.

use std::collections::BTreeMap;

use serde::Serialize;
use sglci_core::records::{TaskRow, TaskState};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flakiness {
    pub task: String,
    pub task_name: String,
    /// `pass` or `fail`: the latest night the task passed or failed.
    pub current: &'static str,
    /// First night of the current streak.
    pub since: String,
    /// Nights in the current streak.
    pub streak: usize,
    /// Latest passing night, when the task is failing now.
    pub last_good: Option<String>,
    /// Pass↔fail changes over the last `window` decided nights, and how many nights that is.
    pub flips: usize,
    pub decided: usize,
    pub flip_rate: f64,
}

/// Flakiness of every task of one hardware (rows of any nights, any order).
pub fn flakiness(tasks: &[&TaskRow], window: usize) -> Vec<Flakiness> {
    let mut by: BTreeMap<&str, Vec<&TaskRow>> = BTreeMap::new();
    for t in tasks {
        if matches!(t.status, TaskState::Pass | TaskState::Fail) {
            by.entry(t.task.as_str()).or_default().push(t);
        }
    }
    let mut out = Vec::new();
    for (task, mut rows) in by {
        rows.sort_by(|a, b| a.date.cmp(&b.date));
        let Some(last) = rows.last() else { continue };
        let streak = rows
            .iter()
            .rev()
            .take_while(|r| r.status == last.status)
            .count();
        let since = rows[rows.len() - streak].date.clone();
        let last_good = (last.status == TaskState::Fail)
            .then(|| {
                rows.iter()
                    .rev()
                    .find(|r| r.status == TaskState::Pass)
                    .map(|r| r.date.clone())
            })
            .flatten();
        let recent = &rows[rows.len().saturating_sub(window)..];
        let flips = recent
            .windows(2)
            .filter(|w| w[0].status != w[1].status)
            .count();
        let transitions = recent.len().saturating_sub(1);
        out.push(Flakiness {
            task: task.to_owned(),
            task_name: last.task_name.clone(),
            current: last.status.as_str(),
            since,
            streak,
            last_good,
            flips,
            decided: recent.len(),
            flip_rate: if transitions == 0 {
                0.0
            } else {
                flips as f64 / transitions as f64
            },
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(task: &str, date: &str, status: TaskState) -> TaskRow {
        TaskRow {
            date: date.into(),
            hardware: "mi30x".into(),
            task: task.into(),
            task_name: task.into(),
            status,
            reason: String::new(),
            failure_class: None,
            evidence: None,
            docker_tag: None,
            gsm8k_accuracy: None,
            runtime_minutes: None,
            source: None,
        }
    }

    #[test]
    fn streaks_last_good_and_flip_rate() {
        use TaskState::*;
        let rows = [
            row("pd", "20251201", Pass),
            row("pd", "20251202", Fail),
            row("pd", "20251203", Pass),
            row("pd", "20251204", Unknown),
            row("pd", "20251205", Fail),
            row("pd", "20251206", NotRun),
            row("pd", "20251207", Fail),
            row("unit", "20251201", Pass),
            row("unit", "20251202", Pass),
        ];
        let refs: Vec<&TaskRow> = rows.iter().collect();
        let f = flakiness(&refs, 30);
        assert_eq!(f.len(), 2);
        let pd = &f[0];
        assert_eq!(
            (pd.current, pd.since.as_str(), pd.streak),
            ("fail", "20251205", 2)
        );
        assert_eq!(pd.last_good.as_deref(), Some("20251203"));
        assert_eq!((pd.flips, pd.decided), (3, 5));
        assert!((pd.flip_rate - 0.75).abs() < 1e-9);
        let unit = &f[1];
        assert_eq!(
            (unit.current, unit.flips, unit.last_good.clone()),
            ("pass", 0, None)
        );
    }
}
