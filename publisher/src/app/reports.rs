//! Reports over the history: the daily summary of a night, the regressions report and
//! `compare` of two runs.

use sglci_core::store::ObjectStore;

use super::{detection_data, load_site_data, AppError};
use crate::history::History;
use crate::rows::Rows;
use crate::site::templates::Templates;
use crate::site::{self, SiteError};

/// The daily summary of a night (the latest with data when `date` is `None`) as markdown.
pub fn daily_summary(
    store: &dyn ObjectStore,
    templates: &Templates,
    hardware: &str,
    date: Option<&str>,
    logs_base: &str,
) -> Result<String, AppError> {
    let data = load_site_data(&History::new(store), None)?;
    let nights = crate::site::views::nights_by_hardware(&data);
    let Some(known) = nights.get(hardware) else {
        return Err(AppError::NoSuchNight(format!(
            "no night recorded for hardware `{hardware}` (hint: one of {})",
            nights.keys().cloned().collect::<Vec<_>>().join(", ")
        )));
    };
    let date = match date {
        Some(d) if known.iter().any(|k| k == d) => d.to_owned(),
        Some(d) => {
            return Err(AppError::NoSuchNight(format!(
                "no night {d} on {hardware} (hint: dates are YYYYMMDD; the latest is {})",
                known.last().map_or("none", String::as_str)
            )))
        }
        None => known.last().cloned().unwrap_or_default(),
    };
    let ctx = site::daily_summary_context(&data, hardware, &date, logs_base, "");
    templates
        .tera
        .render("daily_summary.md", &ctx)
        .map_err(|e| {
            AppError::Site(SiteError::Render {
                page: "daily summary".to_owned(),
                reason: crate::site::templates::chain(&e),
            })
        })
}

/// The daily summary of a night as a notification (the card, and its markdown): the night's
/// tasks, the tasks that did not run, the hardware's open regressions and its improvements of
/// the last nights. Built whatever the night holds: a night without runs says so.
pub fn summary_notification(
    store: &dyn ObjectStore,
    templates: &Templates,
    hardware: &str,
    date: &str,
    logs_base: &str,
    dashboard: Option<&str>,
) -> Result<crate::notify::Notification, AppError> {
    use crate::notify::build;
    let data = detection_data(&History::new(store))?;
    let mut n = build::daily_summary(&data, templates, hardware, date, logs_base, dashboard)
        .map_err(|reason| SiteError::Render {
            page: "daily summary".to_owned(),
            reason,
        })?;
    let cfg = crate::regress::DetectConfig::default();
    let regressions = crate::regress::detect(&data, &cfg);
    let improvements = crate::regress::detect_improvements(&data, &cfg);
    let day = sglci_core::date::day_number;
    let night = day(date).unwrap_or(i64::MAX);
    let recent = |f: &&crate::regress::Finding| {
        day(&f.alerted).is_some_and(|a| a <= night && a > night - build::EXPECT_FROM_NIGHTS)
    };
    let findings = build::NightFindings {
        regressions: regressions
            .iter()
            .filter(|f| f.hardware == hardware && f.state == crate::regress::State::Open)
            .collect(),
        improvements: improvements
            .iter()
            .filter(|f| f.hardware == hardware && f.state == crate::regress::State::Open)
            .filter(recent)
            .collect(),
    };
    build::add_night_context(&mut n, &data, hardware, date, &findings);
    Ok(n)
}

/// Improvements over the recent history ([`crate::regress::detect_improvements`]): open ones
/// (then those that went back with `all`), newest first.
pub fn improvements(
    store: &dyn ObjectStore,
    all: bool,
) -> Result<Vec<crate::regress::Finding>, AppError> {
    let data = detection_data(&History::new(store))?;
    let found =
        crate::regress::detect_improvements(&data, &crate::regress::DetectConfig::default());
    Ok(open_first(found, all))
}

/// Regression findings over the whole history: open ones first (then recovered ones with
/// `all`), newest first within each.
pub fn regressions(
    store: &dyn ObjectStore,
    all: bool,
) -> Result<Vec<crate::regress::Finding>, AppError> {
    let data = detection_data(&History::new(store))?;
    let findings = crate::regress::detect(&data, &crate::regress::DetectConfig::default());
    Ok(open_first(findings, all))
}

/// Open findings first (then, with `all`, the others), newest first within each, then by id.
fn open_first(
    mut findings: Vec<crate::regress::Finding>,
    all: bool,
) -> Vec<crate::regress::Finding> {
    use crate::regress::State;
    findings.retain(|f| all || f.state == State::Open);
    findings.sort_by(|a, b| {
        let key = |f: &crate::regress::Finding| {
            (
                f.state != State::Open,
                std::cmp::Reverse(f.first_bad_date.clone()),
                f.id.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
    findings
}

/// Compares run B against run A (each a run folder or run id).
pub fn compare(
    store: &dyn ObjectStore,
    a: &str,
    b: &str,
    opts: &crate::compare::CompareOptions,
) -> Result<crate::compare::Comparison, AppError> {
    let data = load_site_data(&History::new(store), None)?;
    let (ra, rb) = (
        crate::compare::find_run(&data, a)?,
        crate::compare::find_run(&data, b)?,
    );
    Ok(crate::compare::compare(
        &data,
        ra,
        rb,
        &crate::regress::DetectConfig::default(),
        opts,
    )?)
}

/// The given night, or the latest night with data on that hardware.
pub(super) fn night_or_latest(
    data: &Rows,
    hardware: &str,
    date: Option<&str>,
) -> Result<String, AppError> {
    match date {
        Some(d) => Ok(d.to_owned()),
        None => crate::site::views::nights_by_hardware(data)
            .get(hardware)
            .and_then(|n| n.last().cloned())
            .ok_or_else(|| {
                AppError::NoSuchNight(format!("no night recorded for hardware `{hardware}`"))
            }),
    }
}
