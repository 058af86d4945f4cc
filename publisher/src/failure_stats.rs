//! Failure-class statistics, pure: per hardware and ISO week, how many tasks failed with each
//! class (F14's taxonomy) and the rate among the tasks that ran that week. Infrastructure classes
//! and product failures side by side show whether a bad week was the machines or SGLang.

use std::collections::BTreeMap;

use sglci_core::date::{date_of_day, day_number, days_from_civil};
use sglci_core::records::{FailureStatRow, TaskRow, TaskState};

/// The ISO week of a `YYYYMMDD` date: (`2025-W50`, its Monday).
pub fn week_of(date: &str) -> Option<(String, String)> {
    let day = day_number(date)?;
    // 1970-01-01 was a Thursday: Monday is 0.
    let weekday = (day + 3).rem_euclid(7);
    let monday = day - weekday;
    let thursday = monday + 3;
    let year: i64 = date_of_day(thursday).get(..4)?.parse().ok()?;
    let week = (thursday - days_from_civil(year, 1, 1)) / 7 + 1;
    Some((format!("{year}-W{week:02}"), date_of_day(monday)))
}

/// The statistics of the tasks, newest week first, then by hardware and class.
pub fn failure_stats(tasks: &[TaskRow]) -> Vec<FailureStatRow> {
    // (hardware, week, monday) → (ran, failures per class)
    type Week = (i64, BTreeMap<String, i64>);
    let mut weeks: BTreeMap<(String, String, String), Week> = BTreeMap::new();
    for t in tasks {
        if !matches!(t.status, TaskState::Pass | TaskState::Fail) {
            continue;
        }
        let Some((week, monday)) = week_of(&t.date) else {
            continue;
        };
        let w = weeks.entry((t.hardware.clone(), week, monday)).or_default();
        w.0 += 1;
        if t.status == TaskState::Fail {
            let class = t
                .failure_class
                .map_or_else(|| "unclassified".to_owned(), |c| c.as_str().to_owned());
            *w.1.entry(class).or_default() += 1;
        }
    }
    let mut out: Vec<FailureStatRow> = weeks
        .into_iter()
        .flat_map(|((hardware, week, week_start), (ran, classes))| {
            classes
                .into_iter()
                .map(move |(class, failures)| FailureStatRow {
                    hardware: hardware.clone(),
                    week: week.clone(),
                    week_start: week_start.clone(),
                    class,
                    failures,
                    ran,
                    rate: failures as f64 / ran as f64,
                })
        })
        .collect();
    out.sort_by(|a, b| {
        (&b.week_start, &a.hardware, &a.class).cmp(&(&a.week_start, &b.hardware, &b.class))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sglci_core::failure::FailureClass;

    #[test]
    fn iso_weeks_cross_years_as_iso_8601_says() {
        assert_eq!(
            week_of("20251216"),
            Some(("2025-W51".into(), "20251215".into()))
        );
        // 2026-01-01 is a Thursday: week 1 of 2026 starts on 2025-12-29.
        assert_eq!(
            week_of("20251229"),
            Some(("2026-W01".into(), "20251229".into()))
        );
        // 2021-01-03 is a Sunday in week 53 of 2020.
        assert_eq!(
            week_of("20210103"),
            Some(("2020-W53".into(), "20201228".into()))
        );
        assert_eq!(week_of("nope"), None);
    }

    fn task(date: &str, status: TaskState, class: Option<FailureClass>) -> TaskRow {
        TaskRow {
            date: date.into(),
            hardware: "mi30x".into(),
            task: "grok_online".into(),
            task_name: "Grok".into(),
            status,
            reason: String::new(),
            failure_class: class,
            evidence: None,
            docker_tag: None,
            gsm8k_accuracy: None,
            runtime_minutes: None,
            source: None,
        }
    }

    #[test]
    fn counts_and_rates_per_week_and_class() {
        let rows = failure_stats(&[
            task("20251215", TaskState::Pass, None),
            task("20251216", TaskState::Fail, Some(FailureClass::Timeout)),
            task("20251217", TaskState::Fail, Some(FailureClass::Timeout)),
            task("20251218", TaskState::Fail, None),
            task("20251218", TaskState::NotRun, None),
            task("20251222", TaskState::Fail, Some(FailureClass::Timeout)),
        ]);
        let got: Vec<_> = rows
            .iter()
            .map(|r| (r.week.as_str(), r.class.as_str(), r.failures, r.ran))
            .collect();
        assert_eq!(
            got,
            [
                ("2025-W52", "timeout", 1, 1),
                ("2025-W51", "timeout", 2, 4),
                ("2025-W51", "unclassified", 1, 4),
            ]
        );
        assert!((rows[1].rate - 0.5).abs() < 1e-9);
    }
}
