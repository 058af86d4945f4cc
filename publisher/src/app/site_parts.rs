//! A whole site rendered a year of the history at a time, so that a first site's memory does
//! not grow with the history's length (at 100x the fixture history the typed rows alone are
//! hundreds of megabytes). A history of at most a year is read once and rendered at once.
//!
//! 1. The [`Skeleton`] is gathered from the tables that name nights, runs and models, read in
//!    batches and dropped.
//! 2. Each year's nights, runs, year pages and downloads ([`Scope::Part`]) are rendered from that
//!    year's months, the month on either side (a run's rows may cross midnight into the next
//!    month) and the undated rows.
//! 3. The pages about no one night are rendered last from the trend window's months (ending at
//!    the newest night), the undated rows and the A/B table whole, with the undated month's
//!    downloads.
//!
//! The parts together are the site a render of the whole history in memory makes
//! (`a_whole_site_rendered_a_year_at_a_time_is_the_site_rendered_at_once`).

use std::collections::{BTreeMap, BTreeSet};

use sglci_core::records::{self, RegressionRow, Schema};

use super::{month_end_day, read_rows_batched, with_months, AppError, WHOLE_READ_BATCH};
use crate::history::{Snapshot, UNDATED};
use crate::site::templates::Templates;
use crate::site::{self, RenderedSite, Scope, SiteOptions, Skeleton};

/// Histories of at most this many dated months are read once and rendered at once: a year's
/// rows are what a part would hold anyway, and one read is cheaper than three.
const AT_ONCE_MONTHS: usize = 12;

/// The tables whose rows name nights, runs, models and coverage (see [`Skeleton::add`]).
const SKELETON_TABLES: [Schema; 6] = [
    records::TASKS,
    records::RUNS,
    records::UPSTREAM_COVERAGE,
    records::SERVING,
    records::ACCURACY,
    records::OFFLINE,
];

/// Renders the whole site of the history in `snap` into `sink` a year at a time (see the module
/// documentation), in parts of about `part_bytes`. `regressions` are the findings the pages
/// show; `all` every month of the history.
pub fn render_whole_in_parts(
    snap: &Snapshot<'_>,
    regressions: &[RegressionRow],
    all: &BTreeSet<String>,
    templates: &Templates,
    opts: &SiteOptions,
    part_bytes: usize,
    sink: &mut dyn FnMut(RenderedSite) -> Result<(), AppError>,
) -> Result<(), AppError> {
    let mut months_of: Vec<(Schema, BTreeSet<String>)> = Vec::new();
    for schema in records::ALL_SCHEMAS {
        if schema.name != records::REGRESSIONS.name {
            months_of.push((*schema, snap.months(*schema)?.into_iter().collect()));
        }
    }
    if all.iter().filter(|m| *m != UNDATED).count() <= AT_ONCE_MONTHS {
        // A short history: one read, the skeleton of its rows, every page at once.
        let data = read(snap, &months_of, regressions, all)?;
        let skel = Skeleton::of(&data);
        return render_rows(&data, &skel, templates, opts, &Scope::All, part_bytes, sink);
    }
    let skel = skeleton(snap, &months_of)?;
    for (year, months) in years_of(all) {
        let around = with_neighbours(all, &months);
        let wanted = narrowed(&months_of, &|_| around.clone());
        let scope = Scope::Part {
            months,
            globals: false,
        };
        tracing::debug!(year, "rendering a year of the site");
        let data = read(snap, &wanted, regressions, all)?;
        render_rows(&data, &skel, templates, opts, &scope, part_bytes, sink)?;
    }
    // The window as the pages see it: it ends at the newest night (not at the newest month of
    // any table: an A/B comparison may be recorded after the last night); a failure week may
    // start six days before it. The A/B index lists every comparison.
    let from = skel.from_day(opts.window_days) - 7;
    let window: BTreeSet<String> = all
        .iter()
        .filter(|m| *m == UNDATED || month_end_day(m).is_some_and(|d| d >= from))
        .cloned()
        .collect();
    let wanted = narrowed(&months_of, &|s| {
        if s.name == records::AB.name {
            all.clone()
        } else {
            window.clone()
        }
    });
    let scope = Scope::Part {
        months: BTreeSet::from([UNDATED.to_owned()]),
        globals: true,
    };
    let data = read(snap, &wanted, regressions, all)?;
    render_rows(&data, &skel, templates, opts, &scope, part_bytes, sink)
}

/// [`render_whole_in_parts`] of the history in `store` as it is now, with its stored findings:
/// the first site of `ingest` and the CLI's `site`. A concurrent commit that replaces an object
/// the render was about to read starts it again from a fresh snapshot (the sink sees the files
/// of the earlier attempt again).
pub fn render_whole_site(
    store: &dyn sglci_core::store::ObjectStore,
    templates: &Templates,
    opts: &SiteOptions,
    part_bytes: usize,
    sink: &mut dyn FnMut(RenderedSite) -> Result<(), AppError>,
) -> Result<(), AppError> {
    let hist = crate::history::History::new(store);
    let mut attempt = 0;
    loop {
        let snap = hist.snapshot()?;
        let result = (|| {
            let mut all = BTreeSet::new();
            for schema in records::ALL_SCHEMAS {
                all.extend(snap.months(*schema)?);
            }
            let found = vec![(
                records::REGRESSIONS,
                snap.months(records::REGRESSIONS)?.into_iter().collect(),
            )];
            let regressions =
                crate::rows::Rows::from_owned_tables(snap.read_tables(&found)?)?.regressions;
            render_whole_in_parts(&snap, &regressions, &all, templates, opts, part_bytes, sink)
        })();
        match result {
            Err(AppError::History(e)) if e.is_gone() && attempt < SNAPSHOT_ATTEMPTS => {
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Fresh snapshots [`render_whole_site`] takes when commits keep replacing what it reads.
const SNAPSHOT_ATTEMPTS: usize = 5;

/// The skeleton of the whole history, from its tables read in batches.
fn skeleton(
    snap: &Snapshot<'_>,
    months_of: &[(Schema, BTreeSet<String>)],
) -> Result<Skeleton, AppError> {
    let mut skel = Skeleton::default();
    let wanted: Vec<(Schema, BTreeSet<String>)> = months_of
        .iter()
        .filter(|(s, _)| SKELETON_TABLES.iter().any(|k| k.name == s.name))
        .cloned()
        .collect();
    for batch in super::month_batches(&wanted, WHOLE_READ_BATCH) {
        let rows = crate::rows::Rows::from_owned_tables(snap.read_tables(&batch)?)?;
        skel.add(&rows);
    }
    Ok(skel)
}

/// The dated months of the history by year (`YYYY` → its `YYYY-MM` months).
fn years_of(all: &BTreeSet<String>) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for m in all.iter().filter(|m| *m != UNDATED) {
        out.entry(m.get(..4).unwrap_or(m).to_owned())
            .or_default()
            .insert(m.clone());
    }
    out
}

/// `months`, the month of the history before and after them, and the undated rows.
fn with_neighbours(all: &BTreeSet<String>, months: &BTreeSet<String>) -> BTreeSet<String> {
    let mut read = months.clone();
    read.insert(UNDATED.to_owned());
    let dated: Vec<&String> = all.iter().filter(|m| *m != UNDATED).collect();
    if let (Some(first), Some(last)) = (months.first(), months.last()) {
        read.extend(
            dated
                .iter()
                .rev()
                .find(|m| **m < first)
                .map(|m| (*m).clone()),
        );
        read.extend(dated.iter().find(|m| **m > last).map(|m| (*m).clone()));
    }
    read
}

/// Each table's months narrowed to those `pick` names for it.
fn narrowed(
    months_of: &[(Schema, BTreeSet<String>)],
    pick: &dyn Fn(Schema) -> BTreeSet<String>,
) -> Vec<(Schema, BTreeSet<String>)> {
    months_of
        .iter()
        .map(|(s, m)| (*s, m.intersection(&pick(*s)).cloned().collect()))
        .collect()
}

/// The typed rows of `wanted`, with the history's months and the findings.
fn read(
    snap: &Snapshot<'_>,
    wanted: &[(Schema, BTreeSet<String>)],
    regressions: &[RegressionRow],
    all: &BTreeSet<String>,
) -> Result<crate::rows::Rows, AppError> {
    let mut data = with_months(read_rows_batched(snap, wanted, WHOLE_READ_BATCH)?, all);
    data.regressions = regressions.to_vec();
    Ok(data)
}

/// Renders `scope` from `data` into `sink` a part of about `part_bytes` at a time; the sink's
/// error stops the render and is returned as it is.
pub(super) fn render_rows(
    data: &crate::rows::Rows,
    skel: &Skeleton,
    templates: &Templates,
    opts: &SiteOptions,
    scope: &Scope,
    part_bytes: usize,
    sink: &mut dyn FnMut(RenderedSite) -> Result<(), AppError>,
) -> Result<(), AppError> {
    let mut failed = None;
    let rendered = site::render_part_to(data, skel, templates, opts, scope, part_bytes, &mut |p| {
        sink(p).map_err(|e| {
            failed = Some(e);
            site::SiteError::OutputStopped
        })
    });
    match (rendered, failed) {
        (_, Some(e)) => Err(e),
        (r, None) => Ok(r?),
    }
}
