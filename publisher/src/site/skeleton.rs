//! What the pages of a site need to know of the whole history besides the rows they show: each
//! hardware's nights (a night page links its neighbours and its hardware's years), the newest
//! night (the trend window ends there), the run folders that have pages (task rows link them),
//! the models that have pages, and whether there is upstream coverage (the home page links it).
//!
//! A render of the whole history in memory takes it from its rows ([`Skeleton::of`]). A whole
//! site rendered a year at a time ([`Scope::Part`](super::Scope::Part)) gathers it first from
//! the history read in batches ([`Skeleton::add`]), so that each year's pages are what a render
//! of everything would make of them while only that year's rows are held.

use std::collections::{BTreeMap, BTreeSet};

use sglci_core::date::day_number;

use crate::rows::Rows;

/// See the module documentation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Skeleton {
    /// Hardware → the dates of its tasks and runs.
    nights: BTreeMap<String, BTreeSet<String>>,
    /// The newest day of a task, run or coverage row.
    newest: Option<i64>,
    pub(super) run_dirs: BTreeSet<String>,
    /// (hardware, model) of every benchmark, accuracy and offline row.
    pub(super) models: BTreeSet<(String, String)>,
    pub(super) upstream: bool,
}

impl Skeleton {
    /// The skeleton of these rows.
    pub fn of(data: &Rows) -> Self {
        let mut s = Self::default();
        s.add(data);
        s
    }

    /// Adds what these rows (a batch of the history) contribute.
    pub fn add(&mut self, data: &Rows) {
        let dated = data
            .tasks
            .iter()
            .map(|t| (&t.hardware, &t.date))
            .chain(data.runs.iter().map(|r| (&r.hardware, &r.date)));
        for (hw, date) in dated {
            if !self.nights.get(hw).is_some_and(|n| n.contains(date)) {
                self.nights
                    .entry(hw.clone())
                    .or_default()
                    .insert(date.clone());
            }
        }
        let newest = data
            .tasks
            .iter()
            .map(|t| t.date.as_str())
            .chain(data.runs.iter().map(|r| r.date.as_str()))
            .chain(data.upstream_coverage.iter().map(|r| r.date.as_str()))
            .filter_map(day_number)
            .max();
        self.newest = self.newest.max(newest);
        self.run_dirs
            .extend(data.runs.iter().map(|r| r.run_dir.clone()));
        let models = (data.serving.iter().map(|s| (&s.hardware, &s.model)))
            .chain(data.accuracy.iter().map(|s| (&s.hardware, &s.model)))
            .chain(data.offline.iter().map(|s| (&s.hardware, &s.model)));
        for (hw, model) in models {
            if !self.models.contains(&(hw.clone(), model.clone())) {
                self.models.insert((hw.clone(), model.clone()));
            }
        }
        self.upstream |= !data.upstream_coverage.is_empty();
    }

    /// The first day of the trend window of `window_days` ending at the newest night (of a
    /// task, run or coverage row; the one definition of the window's start).
    pub fn from_day(&self, window_days: i64) -> i64 {
        self.newest.unwrap_or(0) - window_days + 1
    }

    /// Each hardware's nights, sorted, for the hardware whose newest night is in the window
    /// (hardware that stopped running has no pages).
    pub fn active_nights(&self, window_days: i64) -> BTreeMap<String, Vec<String>> {
        let from = self.from_day(window_days);
        self.nights
            .iter()
            .filter(|(_, n)| {
                n.last()
                    .and_then(|d| day_number(d))
                    .is_some_and(|d| d >= from)
            })
            .map(|(hw, n)| (hw.clone(), n.iter().cloned().collect()))
            .collect()
    }
}
