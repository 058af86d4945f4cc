//! The failure-class page: per hardware and ISO week of the window, how many tasks failed with
//! each class and the rate among the tasks that ran (`crate::failure_stats`), so a bad week
//! shows whether it was the machines (infrastructure classes) or SGLang.

use serde::Serialize;
use sglci_core::date::iso;

use super::{Renderer, SiteError};

#[derive(Debug, Serialize)]
struct ClassView {
    class: String,
    infrastructure: bool,
    failures: i64,
    rate: String,
}

#[derive(Debug, Serialize)]
struct WeekView {
    week: String,
    monday: String,
    ran: i64,
    classes: Vec<ClassView>,
}

#[derive(Debug, Serialize)]
struct HardwareView {
    name: String,
    weeks: Vec<WeekView>,
}

/// The page's path.
pub const PAGE: &str = "failures.html";

impl Renderer<'_, '_> {
    /// The weeks that overlap the window (an update reads their months, so it renders what a
    /// rebuild would).
    pub(super) fn failures_page(&mut self) -> Result<(), SiteError> {
        let first_monday = self.from_day - 6;
        let stats: Vec<_> = crate::failure_stats::failure_stats(&self.data.tasks)
            .into_iter()
            .filter(|r| {
                sglci_core::date::day_number(&r.week_start).is_some_and(|d| d >= first_monday)
            })
            .collect();
        let mut hardware: Vec<HardwareView> = Vec::new();
        for r in &stats {
            let hw = match hardware.iter_mut().position(|h| h.name == r.hardware) {
                Some(i) => &mut hardware[i],
                None => {
                    hardware.push(HardwareView {
                        name: r.hardware.clone(),
                        weeks: Vec::new(),
                    });
                    hardware.last_mut().expect("just pushed")
                }
            };
            let week = match hw.weeks.iter().position(|w| w.week == r.week) {
                Some(i) => &mut hw.weeks[i],
                None => {
                    hw.weeks.push(WeekView {
                        week: r.week.clone(),
                        monday: iso(&r.week_start),
                        ran: r.ran,
                        classes: Vec::new(),
                    });
                    hw.weeks.last_mut().expect("just pushed")
                }
            };
            week.classes.push(ClassView {
                class: r.class.clone(),
                infrastructure: r
                    .class
                    .parse::<sglci_core::failure::FailureClass>()
                    .is_ok_and(|c| c.is_infrastructure()),
                failures: r.failures,
                rate: format!("{:.1} %", r.rate * 100.0),
            });
        }
        hardware.sort_by(|a, b| a.name.cmp(&b.name));
        let mut ctx = self.base_context(PAGE, "Failures by class");
        ctx.insert("hardware", &hardware);
        ctx.insert("window_days", &self.opts.window_days);
        self.render("failures.html", PAGE, &ctx)
    }
}
