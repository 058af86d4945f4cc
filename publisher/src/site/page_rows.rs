//! The rows of each night and of each run folder, grouped once per render. A night page, its
//! summary and a run page read their own rows from here instead of scanning every table: a
//! whole site of a long history has thousands of nights and runs, and a scan per page made its
//! render grow with the square of the history. Each group keeps its tables' row order, so a page
//! sees exactly the rows (in the order) a scan would give it.

use std::collections::HashMap;

use sglci_core::records::{
    AccuracyRow, FileRow, KernelRow, OfflineResultRow, PdRow, RunRow, SanityModelRow,
    SanityTrialRow, ServingRow, TaskRow, UnitRow,
};

use crate::rows::Rows;

/// One night's rows: one hardware, one date.
#[derive(Debug, Default)]
pub struct NightRows<'a> {
    pub tasks: Vec<&'a TaskRow>,
    pub sanity_models: Vec<&'a SanityModelRow>,
    pub runs: Vec<&'a RunRow>,
    pub unit: Vec<&'a UnitRow>,
    /// Files of kind `cron` of that hardware and date.
    pub cron: Vec<&'a FileRow>,
}

/// One run folder's rows.
#[derive(Debug, Default)]
pub struct RunRows<'a> {
    pub serving: Vec<&'a ServingRow>,
    pub accuracy: Vec<&'a AccuracyRow>,
    pub offline: Vec<&'a OfflineResultRow>,
    pub sanity_models: Vec<&'a SanityModelRow>,
    pub sanity: Vec<&'a SanityTrialRow>,
    pub pd: Vec<&'a PdRow>,
    /// Tasks whose source is the run folder.
    pub tasks: Vec<&'a TaskRow>,
    /// Files of the run folder.
    pub files: Vec<&'a FileRow>,
    /// Top kernels and operators of the run's profiler traces.
    pub kernels: Vec<&'a KernelRow>,
}

/// A night's key: (hardware, date).
pub type NightKey = (String, String);

/// Every night's rows.
pub fn by_night(data: &Rows) -> HashMap<NightKey, NightRows<'_>> {
    let mut out: HashMap<NightKey, NightRows<'_>> = HashMap::new();
    let at = |hw: &str, date: &str| -> NightKey { (hw.to_owned(), date.to_owned()) };
    for t in &data.tasks {
        out.entry(at(&t.hardware, &t.date))
            .or_default()
            .tasks
            .push(t);
    }
    for s in &data.sanity_models {
        out.entry(at(&s.hardware, &s.date))
            .or_default()
            .sanity_models
            .push(s);
    }
    for r in &data.runs {
        out.entry(at(&r.hardware, &r.date))
            .or_default()
            .runs
            .push(r);
    }
    for u in &data.unit {
        out.entry(at(&u.hardware, &u.date))
            .or_default()
            .unit
            .push(u);
    }
    for f in data.files.iter().filter(|f| f.kind == "cron") {
        if let (Some(hw), Some(date)) = (f.hardware.as_deref(), f.date.as_deref()) {
            out.entry(at(hw, date)).or_default().cron.push(f);
        }
    }
    out
}

/// Every run folder's rows.
pub fn by_run(data: &Rows) -> HashMap<String, RunRows<'_>> {
    let mut out: HashMap<String, RunRows<'_>> = HashMap::new();
    for s in &data.serving {
        out.entry(s.run_dir.clone()).or_default().serving.push(s);
    }
    for a in &data.accuracy {
        out.entry(a.run_dir.clone()).or_default().accuracy.push(a);
    }
    for o in &data.offline {
        out.entry(o.run_dir.clone()).or_default().offline.push(o);
    }
    for s in &data.sanity_models {
        out.entry(s.run_dir.clone())
            .or_default()
            .sanity_models
            .push(s);
    }
    for s in &data.sanity {
        out.entry(s.run_dir.clone()).or_default().sanity.push(s);
    }
    for p in &data.pd {
        out.entry(p.run_dir.clone()).or_default().pd.push(p);
    }
    for t in &data.tasks {
        if let Some(dir) = t.source.as_deref() {
            out.entry(dir.to_owned()).or_default().tasks.push(t);
        }
    }
    for f in &data.files {
        if let Some(dir) = f.run_dir.as_deref() {
            out.entry(dir.to_owned()).or_default().files.push(f);
        }
    }
    for k in &data.kernels {
        out.entry(k.run_dir.clone()).or_default().kernels.push(k);
    }
    out
}
