//! The publisher's commands over the pure core and the directory history.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;

use serde::Serialize;
use sglci_core::records::{self, Schema};

use crate::history::{self, DirHistory, HistoryError};
use crate::legacy::{self, Backfill, ScanError};
use crate::rows::{DataError, Rows};
use crate::site::data::day_number;
use crate::site::templates::{TemplateError, Templates};
use crate::site::{self, RenderedSite, Scope, SiteError, SiteOptions, Touched};
use crate::table::TableError;

/// Partition written by the legacy backfill.
pub const LEGACY_PARTITION: &str = "legacy";

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Scan(#[from] ScanError),
    #[error(transparent)]
    History(#[from] HistoryError),
    #[error(transparent)]
    Table(#[from] TableError),
    #[error("unknown table `{0}` (hint: one of {1})")]
    UnknownTable(String, String),
    #[error("writing the output: {0}")]
    Output(#[from] std::io::Error),
    #[error("encoding Parquet: {0}")]
    Parquet(polars::prelude::PolarsError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Site(#[from] SiteError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("{0}")]
    NoSuchNight(String),
    #[error(transparent)]
    Compare(#[from] crate::compare::CompareError),
    #[error(transparent)]
    Notify(#[from] crate::notify::NotifyError),
    #[error("{0}")]
    NotifyUsage(String),
    #[error(transparent)]
    Triage(#[from] crate::triage::TriageError),
    #[error("refusing to write the site into {0}: it is not empty and was not made by sglci (hint: choose an empty or new directory)")]
    NotASiteDir(std::path::PathBuf),
    #[error("{op} {path}: {source}")]
    SiteIo {
        op: &'static str,
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

impl AppError {
    /// Exit code: 2 for usage errors, 3 for infrastructure (store, disk).
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::UnknownTable(..)
            | Self::NotASiteDir(_)
            | Self::Template(_)
            | Self::NoSuchNight(_)
            | Self::Compare(_)
            | Self::NotifyUsage(_)
            | Self::Triage(_)
            | Self::Notify(crate::notify::NotifyError::Config(_)) => 2,
            Self::Scan(ScanError::NotADir { .. }) => 2,
            _ => 3,
        }
    }
}

/// What `ingest --legacy` did.
#[derive(Debug, Serialize)]
pub struct IngestReport {
    pub files: usize,
    pub bytes: u64,
    pub interpreted: usize,
    pub quarantined: usize,
    /// Per file kind: interpreted and quarantined counts.
    pub kinds: BTreeMap<String, (usize, usize)>,
    /// Rows written per table.
    pub tables: BTreeMap<String, usize>,
}

/// Backfills a predecessor tree into the store and returns the backfill with its report.
pub fn ingest_legacy(store: &Path, dir: &Path) -> Result<(Backfill, IngestReport), AppError> {
    let files = legacy::scan(dir)?;
    let backfill = legacy::build(&files);
    let hist = DirHistory::new(store);
    let mut tables = BTreeMap::new();
    for t in backfill.rows.to_tables()? {
        if t.schema.name == records::REGRESSIONS.name {
            continue;
        }
        hist.write_partition(&t, LEGACY_PARTITION)?;
        tables.insert(t.schema.name.to_owned(), t.rows.len());
    }
    let found = refresh_regressions(&hist)?;
    tables.insert(records::REGRESSIONS.name.to_owned(), found);
    let quarantined = backfill.rows.quarantine.len();
    let report = IngestReport {
        files: files.len(),
        bytes: files.iter().map(|f| f.bytes as u64).sum(),
        interpreted: files.len() - quarantined,
        quarantined,
        kinds: backfill
            .kinds
            .iter()
            .map(|(k, v)| ((*k).to_owned(), *v))
            .collect(),
        tables,
    };
    Ok((backfill, report))
}

/// Human-readable ingest report (stdout is the command's output).
pub fn write_report(
    w: &mut impl Write,
    report: &IngestReport,
    backfill: &Backfill,
) -> std::io::Result<()> {
    writeln!(
        w,
        "files: {} ({:.1} MB), interpreted: {}, quarantined: {}",
        report.files,
        report.bytes as f64 / 1e6,
        report.interpreted,
        report.quarantined
    )?;
    writeln!(w, "\nfile kind              interpreted  quarantined")?;
    for (kind, (ok, bad)) in &report.kinds {
        writeln!(w, "{kind:<22} {ok:>11}  {bad:>11}")?;
    }
    writeln!(w, "\ntable                  rows")?;
    for (table, n) in &report.tables {
        writeln!(w, "{table:<22} {n:>5}")?;
    }
    if !backfill.rows.quarantine.is_empty() {
        writeln!(w, "\nquarantined files:")?;
        for q in &backfill.rows.quarantine {
            writeln!(w, "  {}  [{}] {}", q.file, q.kind, q.reason)?;
        }
    }
    Ok(())
}

/// Table name, accepting the short CLI names.
pub fn resolve_table(name: &str) -> Result<Schema, AppError> {
    let canonical = match name {
        "sanity-models" => "sanity_models",
        "image-check" => "image_check",
        "upstream" | "coverage" | "upstream-coverage" => "upstream_coverage",
        other => other,
    };
    records::schema(canonical).ok_or_else(|| {
        AppError::UnknownTable(
            name.to_owned(),
            records::ALL_SCHEMAS
                .iter()
                .map(|s| s.name)
                .collect::<Vec<_>>()
                .join(", "),
        )
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
    Parquet,
}

/// Writes one history table to `w`.
pub fn export(
    store: &Path,
    table: Schema,
    format: Format,
    w: &mut impl Write,
) -> Result<(), AppError> {
    let t = DirHistory::new(store).read(table)?;
    match format {
        Format::Csv => t.write_csv(w)?,
        Format::Json => t.write_json(w)?,
        Format::Parquet => {
            let mut df = t.to_dataframe()?;
            let bytes = history::to_parquet(&mut df).map_err(AppError::Parquet)?;
            w.write_all(&bytes)?;
        }
    }
    w.flush()?;
    Ok(())
}

/// Partition of the regressions table: derived from the whole history, rewritten whole.
pub const DETECTED_PARTITION: &str = "detected";

/// Runs regression detection over the whole stored history and stores the findings (the
/// `regressions` table, partition [`DETECTED_PARTITION`]). Returns how many there are.
pub fn refresh_regressions(hist: &DirHistory) -> Result<usize, AppError> {
    let data = load_site_data(hist, None)?;
    let rows: Vec<records::RegressionRow> =
        crate::regress::detect(&data, &crate::regress::DetectConfig::default())
            .iter()
            .map(crate::regress::Finding::to_row)
            .collect();
    let table = crate::table::Table::from_rows(records::REGRESSIONS, &rows)?;
    hist.write_partition(&table, DETECTED_PARTITION)?;
    Ok(rows.len())
}

/// Marker file of a directory the site was rendered into; only such directories are replaced.
pub const SITE_MARKER: &str = ".sglci-site";

/// Loads the history for the site: every table whole, or per table only the months `select`
/// names for it.
pub fn load_site_data(
    hist: &DirHistory,
    select: Option<&dyn Fn(Schema) -> BTreeSet<String>>,
) -> Result<Rows, AppError> {
    let mut tables = Vec::new();
    let mut years = BTreeSet::new();
    let mut all_months = BTreeSet::new();
    for schema in records::ALL_SCHEMAS {
        for m in hist.months(*schema)? {
            if m.len() == 7 && m[..4].bytes().all(|b| b.is_ascii_digit()) {
                years.insert(m[..4].to_owned());
            }
            all_months.insert(m);
        }
        tables.push(match select {
            Some(f) => hist.read_months(*schema, &f(*schema))?,
            None => hist.read(*schema)?,
        });
    }
    let mut data = Rows::from_tables(&tables)?;
    data.years = years;
    data.months = all_months;
    data.add_row_years();
    Ok(data)
}

/// The last day of a month directory (`YYYY-MM`) as a day number, or `None` for `undated`.
fn month_end_day(month: &str) -> Option<i64> {
    let (y, m) = month.split_once('-')?;
    let (y, m): (i64, i64) = (y.parse().ok()?, m.parse().ok()?);
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    day_number(&format!("{ny:04}{nm:02}01")).map(|d| d - 1)
}

/// What an update reads, per table: the months that overlap the trend window (before the newest
/// month of the history), the touched months and the undated rows; for the task table also every
/// month of the touched years (the year's archive page counts its nights).
#[derive(Debug, Clone)]
pub struct UpdateMonths {
    pub window: BTreeSet<String>,
    pub touched_years: BTreeSet<String>,
}

impl UpdateMonths {
    pub fn for_table(&self, schema: Schema) -> BTreeSet<String> {
        if schema.name == records::TASKS.name {
            self.window.union(&self.touched_years).cloned().collect()
        } else {
            self.window.clone()
        }
    }

    /// Distinct months read over all tables.
    pub fn count(&self) -> usize {
        self.window.union(&self.touched_years).count()
    }
}

pub fn update_months(
    hist: &DirHistory,
    touched: &Touched,
    window_days: i64,
) -> Result<UpdateMonths, AppError> {
    let mut all = BTreeSet::new();
    for schema in records::ALL_SCHEMAS {
        all.extend(hist.months(*schema)?);
    }
    let newest = all
        .iter()
        .filter_map(|m| month_end_day(m))
        .max()
        .unwrap_or(0);
    // Nights are at most the newest month's end; a month matters when it ends inside the window.
    let from = newest - window_days - 31;
    let window = all
        .iter()
        .filter(|m| {
            *m == history::UNDATED
                || touched.months.contains(*m)
                || month_end_day(m).is_some_and(|d| d >= from)
        })
        .cloned()
        .collect();
    let touched_years = all
        .iter()
        .filter(|m| touched.years.iter().any(|y| m.starts_with(y.as_str())))
        .cloned()
        .collect();
    Ok(UpdateMonths {
        window,
        touched_years,
    })
}

/// Renders the whole site from the history.
pub fn render_full(
    store: &Path,
    templates: &Templates,
    opts: &SiteOptions,
) -> Result<RenderedSite, AppError> {
    let data = load_site_data(&DirHistory::new(store), None)?;
    Ok(site::render_site(&data, templates, opts, &Scope::All)?)
}

/// Renders only the pages a new run touches, reading only the recent months of the history.
pub fn render_update(
    store: &Path,
    templates: &Templates,
    opts: &SiteOptions,
    touched: &Touched,
) -> Result<RenderedSite, AppError> {
    let hist = DirHistory::new(store);
    let months = update_months(&hist, touched, opts.window_days)?;
    let data = load_site_data(&hist, Some(&|s| months.for_table(s)))?;
    Ok(site::render_site(
        &data,
        templates,
        opts,
        &Scope::Only(touched.clone()),
    )?)
}

/// Writes a rendered site into `out`. With `replace`, the directory is emptied first, and only
/// when it is new, empty or an earlier sglci site (it carries [`SITE_MARKER`]).
pub fn write_site(out: &Path, site: &RenderedSite, replace: bool) -> Result<(), AppError> {
    let io = |op: &'static str, path: &Path| {
        let path = path.to_owned();
        move |source| AppError::SiteIo { op, path, source }
    };
    if replace && out.exists() {
        let marker = out.join(SITE_MARKER).exists();
        let empty = std::fs::read_dir(out)
            .map_err(io("list", out))?
            .next()
            .is_none();
        if !marker && !empty {
            return Err(AppError::NotASiteDir(out.to_owned()));
        }
        if marker {
            std::fs::remove_dir_all(out).map_err(io("remove", out))?;
        }
    }
    std::fs::create_dir_all(out).map_err(io("create", out))?;
    std::fs::write(out.join(SITE_MARKER), b"rendered by sglci-publisher site\n")
        .map_err(io("write", out))?;
    for (rel, bytes) in site {
        let path = out.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io("create", dir))?;
        }
        std::fs::write(&path, bytes).map_err(io("write", &path))?;
    }
    Ok(())
}

/// The daily summary of a night (the latest with data when `date` is `None`) as markdown.
pub fn daily_summary(
    store: &Path,
    templates: &Templates,
    hardware: &str,
    date: Option<&str>,
    logs_base: &str,
) -> Result<String, AppError> {
    let data = load_site_data(&DirHistory::new(store), None)?;
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

/// Regression findings over the whole history: open ones first (then recovered ones with
/// `all`), newest first within each.
pub fn regressions(store: &Path, all: bool) -> Result<Vec<crate::regress::Finding>, AppError> {
    let data = load_site_data(&DirHistory::new(store), None)?;
    let mut findings = crate::regress::detect(&data, &crate::regress::DetectConfig::default());
    findings.retain(|f| all || f.state == crate::regress::State::Open);
    findings.sort_by(|a, b| {
        (
            a.state != crate::regress::State::Open,
            std::cmp::Reverse(&a.first_bad_date),
            &a.id,
        )
            .cmp(&(
                b.state != crate::regress::State::Open,
                std::cmp::Reverse(&b.first_bad_date),
                &b.id,
            ))
    });
    Ok(findings)
}

/// Compares run B against run A (each a run folder or run id).
pub fn compare(store: &Path, a: &str, b: &str) -> Result<crate::compare::Comparison, AppError> {
    let data = load_site_data(&DirHistory::new(store), None)?;
    let (ra, rb) = (
        crate::compare::find_run(&data, a)?,
        crate::compare::find_run(&data, b)?,
    );
    Ok(crate::compare::compare(
        &data,
        ra,
        rb,
        &crate::regress::DetectConfig::default(),
    )?)
}

/// The given night, or the latest night with data on that hardware.
fn night_or_latest(data: &Rows, hardware: &str, date: Option<&str>) -> Result<String, AppError> {
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

/// What `notify` sends.
#[derive(Debug, Clone)]
pub enum NotifyWhat {
    Summary {
        hardware: String,
        date: Option<String>,
    },
    /// The per-task cards of a night: benchmarks, sanity, image check, unit and PD.
    Cards {
        hardware: String,
        date: Option<String>,
    },
    Regressions,
    Compare {
        a: String,
        b: String,
    },
}

/// Builds the notifications and sends them to `to` (see `sglci-publisher notify --help`).
/// `env` holds the SGLCI_* and GITHUB_* variables (passed in, so this stays testable).
/// Returns one receipt line per notification; stdout receives the markdown itself.
pub fn notify(
    store: &Path,
    what: NotifyWhat,
    to: &str,
    dashboard: Option<&str>,
    logs_base: &str,
    env: &BTreeMap<String, String>,
    triage: &crate::triage::Triage,
) -> Result<Vec<String>, AppError> {
    use crate::notify::{build, github, http, FileNotifier, Notifier, TeamsNotifier};
    let mut receipts: Vec<String> = Vec::new();
    let mut muted: Vec<String> = Vec::new();
    let data = load_site_data(&DirHistory::new(store), None)?;
    let templates = Templates::embedded()?;
    let notes = match &what {
        NotifyWhat::Summary { hardware, date } => {
            let date = night_or_latest(&data, hardware, date.as_deref())?;
            vec![
                build::daily_summary(&data, &templates, hardware, &date, logs_base, dashboard)
                    .map_err(|reason| SiteError::Render {
                        page: "daily summary".to_owned(),
                        reason,
                    })?,
            ]
        }
        NotifyWhat::Cards { hardware, date } => {
            let date = night_or_latest(&data, hardware, date.as_deref())?;
            build::night_cards(&data, hardware, &date, dashboard)
        }
        NotifyWhat::Regressions => {
            let mut out = Vec::new();
            for f in crate::regress::detect(&data, &crate::regress::DetectConfig::default()) {
                if f.state != crate::regress::State::Open {
                    continue;
                }
                // A mute stops notifications (not detection), and says so.
                if let Some(crate::triage::Treatment::Muted(d)) = triage.treatment(&f.id, &f.latest)
                {
                    receipts.push(format!("muted: {} by {}: {}", f.id, d.who, d.why));
                    muted.push(format!("regression:{}", f.id));
                    continue;
                }
                out.push(build::regression(&f.to_row(), dashboard));
            }
            out
        }
        NotifyWhat::Compare { a, b } => {
            let c = compare(store, a, b)?;
            vec![build::comparison(&c)]
        }
    };
    let need = |k: &str| {
        env.get(k)
            .filter(|v| !v.is_empty())
            .cloned()
            .ok_or_else(|| AppError::NotifyUsage(format!("--to {to} needs {k} in the environment")))
    };
    let http = http::Http::new(http::Retry::default());
    let gh = || -> Result<github::GitHub, AppError> {
        let api = env
            .get("GITHUB_API_URL")
            .cloned()
            .unwrap_or_else(|| "https://api.github.com".to_owned());
        Ok(github::GitHub::new(
            &api,
            &need("GITHUB_REPOSITORY")?,
            need("GITHUB_TOKEN")?,
            http.clone(),
        )?)
    };
    match to {
        "stdout" => {
            for n in &notes {
                receipts.push(n.markdown.clone());
            }
        }
        "teams" => {
            let t = TeamsNotifier::new(need("SGLCI_TEAMS_WEBHOOK_URL")?, http.clone());
            for n in &notes {
                receipts.push(t.notify(n)?);
            }
        }
        "github-issues" => {
            if !matches!(what, NotifyWhat::Regressions) {
                return Err(AppError::NotifyUsage(
                    "--to github-issues is for `notify regressions`".to_owned(),
                ));
            }
            let sync = gh()?.sync_regression_issues(&notes, &muted)?;
            receipts.push(format!(
                "issues opened {:?}, updated {:?}, closed {:?}",
                sync.opened, sync.updated, sync.closed
            ));
        }
        other => {
            if let Some(dir) = other.strip_prefix("dir:") {
                let f = FileNotifier { dir: dir.into() };
                for n in &notes {
                    receipts.push(f.notify(n)?);
                }
            } else if let Some(pr) = other.strip_prefix("github-pr:") {
                let pr: u64 = pr.parse().map_err(|_| {
                    AppError::NotifyUsage(format!("`{other}`: the PR number is not a number"))
                })?;
                let target = github::PrComment { github: gh()?, pr };
                for n in &notes {
                    receipts.push(target.notify(n)?);
                }
            } else {
                return Err(AppError::NotifyUsage(format!(
                    "unknown --to `{other}` (hint: stdout, dir:PATH, teams, github-pr:N, github-issues)"
                )));
            }
        }
    }
    Ok(receipts)
}

/// Reads the triage file: `explicit` (an error when missing), else `<store>/triage.toml` when it
/// exists, else none.
pub fn load_triage(
    store: &Path,
    explicit: Option<&Path>,
) -> Result<crate::triage::Triage, AppError> {
    let default = store.join("triage.toml");
    let path = match explicit {
        Some(p) => p.to_owned(),
        None if default.is_file() => default,
        None => return Ok(crate::triage::Triage::default()),
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        AppError::NotifyUsage(format!(
            "reading the triage file {}: {e} (hint: --triage FILE or SGLCI_TRIAGE)",
            path.display()
        ))
    })?;
    Ok(crate::triage::parse(&text, &path.display().to_string())?)
}

/// What `ingest --pending` did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PendingReport {
    /// (run id, manifest key, rows written).
    pub ingested: Vec<(String, String, usize)>,
    /// (message id, reason): bundles set aside in the queue's `failed/` with their reason.
    pub quarantined: Vec<(String, String)>,
    /// Regression findings after the batch.
    pub regressions: usize,
    /// The site pages the ingested bundles touch (for an incremental site update).
    #[serde(skip)]
    pub touched: Touched,
}

/// Ingests one verified bundle: its files go through the same parsers as the legacy tree, and its
/// rows become the bundle's own partition (the run id), so the same bundle twice changes nothing.
pub fn ingest_bundle(
    objects: &dyn sglci_core::store::ObjectStore,
    hist: &DirHistory,
    manifest: &sglci_core::store::Key,
) -> Result<(String, usize, Touched), String> {
    let (m, files) = sglci_core::bundle::fetch(objects, manifest).map_err(|e| e.to_string())?;
    let parsed: Vec<_> = files
        .iter()
        .map(|(path, bytes)| legacy::parse_file(path, bytes))
        .collect();
    let rows = legacy::build(&parsed).rows;
    if rows.runs.is_empty() {
        return Err(format!(
            "{manifest}: no run folder among its {} files (hint: bundle paths follow the log layout, e.g. online_benchmark_log/<hw>/<model>/<tag>_..._online/...)",
            files.len()
        ));
    }
    let touched = Touched::from_rows(&rows);
    let partition = format!("run-{}", crate::site::paths::slug(&m.run_id));
    let mut n = 0;
    for t in rows.to_tables().map_err(|e| e.to_string())? {
        if t.schema.name == records::REGRESSIONS.name {
            continue;
        }
        n += t.rows.len();
        hist.write_partition(&t, &partition)
            .map_err(|e| e.to_string())?;
    }
    Ok((m.run_id, n, touched))
}

/// Drains the spool queue: each announced bundle is verified and ingested, or set aside with its
/// reason without stopping the batch; then the regressions are refreshed.
pub fn ingest_pending(store: &Path, queue: &Path) -> Result<PendingReport, AppError> {
    let objects = crate::store::DirStore::new(store);
    let hist = DirHistory::new(store);
    let q = crate::store::SpoolQueue::new(queue);
    let io = |e: crate::store::QueueError| AppError::SiteIo {
        op: "queue",
        path: queue.to_owned(),
        source: std::io::Error::other(e.to_string()),
    };
    let mut report = PendingReport::default();
    for msg in q.receive().map_err(io)? {
        let outcome = sglci_core::store::Key::new(msg.announcement.manifest.clone())
            .map_err(|e| e.to_string())
            .and_then(|k| {
                if msg.announcement.schema == sglci_core::bundle::BUNDLE_SCHEMA {
                    ingest_bundle(&objects, &hist, &k)
                } else {
                    Err(format!(
                        "announcement schema {} (this publisher reads {})",
                        msg.announcement.schema,
                        sglci_core::bundle::BUNDLE_SCHEMA
                    ))
                }
            });
        match outcome {
            Ok((run, rows, touched)) => {
                tracing::info!(run = %run, rows, "bundle ingested");
                report.touched.merge(touched);
                q.ack(&msg.id).map_err(io)?;
                report
                    .ingested
                    .push((run, msg.announcement.manifest.clone(), rows));
            }
            Err(reason) => {
                tracing::warn!(message = %msg.id, %reason, "bundle quarantined");
                q.fail(&msg.id, &reason).map_err(io)?;
                report.quarantined.push((msg.id.clone(), reason));
            }
        }
    }
    if !report.ingested.is_empty() {
        report.regressions = refresh_regressions(&hist)?;
    }
    Ok(report)
}

/// Brings a rendered site up to date after a batch: only the touched pages when `out` holds an
/// earlier sglci site, the whole site otherwise. Returns the number of files written.
pub fn update_site(
    store: &Path,
    out: &Path,
    templates: &Templates,
    opts: &SiteOptions,
    touched: &Touched,
) -> Result<usize, AppError> {
    if out.join(SITE_MARKER).is_file() {
        if touched.is_empty() {
            return Ok(0);
        }
        let site = render_update(store, templates, opts, touched)?;
        write_site(out, &site, false)?;
        Ok(site.len())
    } else {
        let site = render_full(store, templates, opts)?;
        write_site(out, &site, true)?;
        Ok(site.len())
    }
}
