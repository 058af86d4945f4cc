//! The publisher's commands over the pure core and the history in the object store.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;

use serde::Serialize;
use sglci_core::queue::{interpret, Delivery, Message, Queue, QueueError};
use sglci_core::records::{self, Schema};
use sglci_core::store::{Key, ObjectStore, StoreError};

use crate::history::{self, Commit, History, HistoryError};
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
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error("refusing to write the site under `{0}` in the store: it holds objects that sglci did not render (hint: choose another prefix)")]
    NotASitePrefix(String),
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
            | Self::NotASitePrefix(_)
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
pub fn ingest_legacy(
    store: &dyn ObjectStore,
    dir: &Path,
) -> Result<(Backfill, IngestReport), AppError> {
    let files = legacy::scan(dir)?;
    let backfill = legacy::build(&files);
    let hist = History::new(store);
    let mut tables = BTreeMap::new();
    let source: Vec<_> = backfill
        .rows
        .to_tables()?
        .into_iter()
        .filter(|t| t.schema.name != records::REGRESSIONS.name)
        .collect();
    for t in &source {
        tables.insert(t.schema.name.to_owned(), t.rows.len());
    }
    hist.commit(&source, LEGACY_PARTITION, &rows_digest(&source))?;
    let found = derive(&hist, None, &Touched::default())?.regressions;
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
    store: &dyn ObjectStore,
    table: Schema,
    format: Format,
    w: &mut impl Write,
) -> Result<(), AppError> {
    let t = History::new(store).read(table)?;
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

/// Days of history the stored regression findings are computed from: the site's trend window.
/// Baselines need 14 valid nights and attribution looks back over the series, so this is ample;
/// it keeps a publish's reading (and memory) the same whatever the history's length.
pub const DETECT_WINDOW_DAYS: i64 = 180;

/// The history regression detection reads: the months overlapping the last
/// [`DETECT_WINDOW_DAYS`] days.
pub fn detection_data(hist: &History<'_>) -> Result<Rows, AppError> {
    let months = update_months(hist, &Touched::default(), DETECT_WINDOW_DAYS)?.window;
    load_site_data(hist, Some(&|_| months.clone()))
}

/// Runs regression detection over the recent history (the months overlapping the last
/// [`DETECT_WINDOW_DAYS`] days) and stores the findings (the `regressions` table, partition
/// [`DETECTED_PARTITION`]). Returns how many there are.
pub fn refresh_regressions(hist: &History<'_>) -> Result<usize, AppError> {
    let data = detection_data(hist)?;
    let rows: Vec<records::RegressionRow> =
        crate::regress::detect(&data, &crate::regress::DetectConfig::default())
            .iter()
            .map(crate::regress::Finding::to_row)
            .collect();
    let table = crate::table::Table::from_rows(records::REGRESSIONS, &rows)?;
    hist.write_partition(&table, DETECTED_PARTITION)?;
    Ok(rows.len())
}

/// The identity of a source's rows: the same rows give the same digest, so a bundle delivered
/// twice (or a backfill run twice) commits nothing the second time.
pub fn rows_digest(tables: &[crate::table::Table]) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for t in tables {
        h.update(t.schema.name.as_bytes());
        h.update([0]);
        for row in &t.rows {
            h.update(serde_json::to_vec(row).unwrap_or_default());
            h.update([b'\n']);
        }
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Conditional-write rounds of [`derive`] before it gives up (the message is then retried).
const DERIVE_ATTEMPTS: usize = 16;

/// What [`derive`] did.
#[derive(Debug, Clone, Default)]
pub struct Derived {
    /// Regression findings stored.
    pub regressions: usize,
    /// Site files written.
    pub site_files: usize,
    /// Rounds it took (more than one when another publisher committed meanwhile).
    pub rounds: usize,
}

/// Brings the derived state up to date after a commit: the regressions table and, with `site`,
/// the pages `touched` names (or the whole site the first time).
///
/// Concurrency: each round reads the index and its version first, then the history, writes the
/// derived objects, and finally records the generation it derived from in the index by a
/// conditional write. When another publisher committed in between, that write fails and the
/// round runs again on the newer history, so the last writer of every shared page and of the
/// regressions table saw every commit. Each publisher renders the pages its own runs touch at
/// least once; pages shared with others are re-rendered by whoever derives last.
pub fn derive(
    hist: &History<'_>,
    site: Option<&SiteJob<'_>>,
    touched: &Touched,
) -> Result<Derived, AppError> {
    let store = hist.store();
    let key = History::index_key();
    let mut out = Derived::default();
    for round in 1..=DERIVE_ATTEMPTS {
        out.rounds = round;
        let (bytes, version) = match store.get_versioned(&key) {
            Ok(v) => v,
            // Nothing committed: nothing to derive from.
            Err(StoreError::NotFound { .. }) => return Ok(out),
            Err(e) => return Err(e.into()),
        };
        let mut idx: history::Index =
            serde_json::from_slice(&bytes).map_err(|e| HistoryError::Index {
                key: key.to_string(),
                reason: e.to_string(),
            })?;
        out.regressions = refresh_regressions(hist)?;
        if let Some(job) = site {
            out.site_files = update_site(store, job, touched)?;
        }
        idx.derived = idx.generation;
        let next = serde_json::to_vec_pretty(&idx).unwrap_or_default();
        match store.put_if_match(&key, &next, &version) {
            Ok(()) => return Ok(out),
            Err(StoreError::Conflict { .. }) => {
                tracing::info!(round, "the history changed while deriving; deriving again");
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(
        HistoryError::Update(sglci_core::store::UpdateError::Contended {
            key: key.to_string(),
            attempts: DERIVE_ATTEMPTS,
        })
        .into(),
    )
}

/// Marker file of a directory the site was rendered into; only such directories are replaced.
pub const SITE_MARKER: &str = ".sglci-site";

/// Loads the history for the site: every table whole, or per table only the months `select`
/// names for it.
pub fn load_site_data(
    hist: &History<'_>,
    select: Option<&dyn Fn(Schema) -> BTreeSet<String>>,
) -> Result<Rows, AppError> {
    let snap = hist.snapshot()?;
    let mut tables = Vec::new();
    let mut years = BTreeSet::new();
    let mut all_months = BTreeSet::new();
    for schema in records::ALL_SCHEMAS {
        for m in snap.months(*schema)? {
            if m.len() == 7 && m[..4].bytes().all(|b| b.is_ascii_digit()) {
                years.insert(m[..4].to_owned());
            }
            all_months.insert(m);
        }
        tables.push(match select {
            Some(f) => snap.read_months(*schema, &f(*schema))?,
            None => snap.read(*schema)?,
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
    hist: &History<'_>,
    touched: &Touched,
    window_days: i64,
) -> Result<UpdateMonths, AppError> {
    let snap = hist.snapshot()?;
    let mut all = BTreeSet::new();
    for schema in records::ALL_SCHEMAS {
        all.extend(snap.months(*schema)?);
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
    store: &dyn ObjectStore,
    templates: &Templates,
    opts: &SiteOptions,
) -> Result<RenderedSite, AppError> {
    let data = load_site_data(&History::new(store), None)?;
    Ok(site::render_site(&data, templates, opts, &Scope::All)?)
}

/// Renders only the pages a new run touches, reading only the recent months of the history.
pub fn render_update(
    store: &dyn ObjectStore,
    templates: &Templates,
    opts: &SiteOptions,
    touched: &Touched,
) -> Result<RenderedSite, AppError> {
    let hist = History::new(store);
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

/// Regression findings over the whole history: open ones first (then recovered ones with
/// `all`), newest first within each.
pub fn regressions(
    store: &dyn ObjectStore,
    all: bool,
) -> Result<Vec<crate::regress::Finding>, AppError> {
    let data = detection_data(&History::new(store))?;
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
pub fn compare(
    store: &dyn ObjectStore,
    a: &str,
    b: &str,
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
    store: &dyn ObjectStore,
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
    let data = load_site_data(&History::new(store), None)?;
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
            let recent = detection_data(&History::new(store))?;
            for f in crate::regress::detect(&recent, &crate::regress::DetectConfig::default()) {
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

/// Reads the triage file: `explicit` (an error when missing), else `triage.toml` in the store
/// when it exists, else none.
pub fn load_triage(
    store: &dyn ObjectStore,
    explicit: Option<&Path>,
) -> Result<crate::triage::Triage, AppError> {
    let (text, name) = match explicit {
        Some(path) => (
            std::fs::read_to_string(path).map_err(|e| {
                AppError::NotifyUsage(format!(
                    "reading the triage file {}: {e} (hint: --triage FILE or SGLCI_TRIAGE)",
                    path.display()
                ))
            })?,
            path.display().to_string(),
        ),
        None => match store.get(&Key::new(TRIAGE_KEY)?) {
            Ok(bytes) => (
                String::from_utf8_lossy(&bytes).into_owned(),
                format!("{TRIAGE_KEY} (in the store)"),
            ),
            Err(StoreError::NotFound { .. }) => return Ok(crate::triage::Triage::default()),
            Err(e) => return Err(e.into()),
        },
    };
    Ok(crate::triage::parse(&text, &name)?)
}

/// The triage file's key in the store.
pub const TRIAGE_KEY: &str = "triage.toml";

/// What `ingest --pending` (or one Lambda invocation) did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PendingReport {
    /// (run id, manifest key, rows written; 0 when the same rows were already committed).
    pub ingested: Vec<(String, String, usize)>,
    /// (message id, reason): messages that failed, each recorded in the store under
    /// `quarantine/` (and set aside in a spool queue's `failed/`).
    pub quarantined: Vec<(String, String)>,
    /// Messages with nothing to do (S3 test events, events for other objects).
    pub skipped: usize,
    /// Regression findings after the batch.
    pub regressions: usize,
    /// Site files written.
    pub site_files: usize,
    /// The site pages the ingested bundles touch (for an incremental site update).
    #[serde(skip)]
    pub touched: Touched,
}

/// Ingests one verified bundle: its files go through the same parsers as the legacy tree, and its
/// rows become the bundle's own partition (the run id), so the same bundle twice changes nothing.
pub fn ingest_bundle(
    hist: &History<'_>,
    manifest: &Key,
) -> Result<(String, usize, Touched), String> {
    let (m, files) =
        sglci_core::bundle::fetch(hist.store(), manifest).map_err(|e| e.to_string())?;
    let parsed: Vec<_> = files
        .iter()
        .map(|(path, bytes)| legacy::parse_file(path, bytes))
        .collect();
    let rows = legacy::build(&parsed).rows;
    // A bundle must hold a run: a run folder, or a task log (unit test, image check, offline
    // grid, sanity, PD).
    let holds_a_run = !(rows.runs.is_empty()
        && rows.tasks.is_empty()
        && rows.image_check.is_empty()
        && rows.offline.is_empty()
        && rows.unit.is_empty()
        && rows.sanity.is_empty()
        && rows.pd.is_empty());
    if !holds_a_run {
        return Err(format!(
            "{manifest}: no run folder among its {} files (hint: bundle paths follow the log layout, e.g. online_benchmark_log/<hw>/<model>/<tag>_..._online/...)",
            files.len()
        ));
    }
    let touched = Touched::from_rows(&rows);
    let partition = format!("run-{}", crate::site::paths::slug(&m.run_id));
    let tables: Vec<_> = rows
        .to_tables()
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|t| t.schema.name != records::REGRESSIONS.name)
        .collect();
    let n = match hist
        .commit(&tables, &partition, &rows_digest(&tables))
        .map_err(|e| e.to_string())?
    {
        Commit::Written(_) => tables.iter().map(|t| t.rows.len()).sum(),
        Commit::Unchanged => 0,
    };
    Ok((m.run_id, n, touched))
}

/// The outcome of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageOutcome {
    Done,
    /// Failed with this reason (recorded in the store under `quarantine/`).
    Failed(String),
}

/// The handler shared by `ingest --pending` and the Lambda: ingests the bundles the messages
/// announce, records every failure with its reason in the store (`quarantine/<message>.json`)
/// without stopping the batch, then derives regressions and the site once for the batch.
/// `now` stamps the failure records (time is a parameter).
///
/// Returns the report and one outcome per message, in order. An `Err` means the store itself
/// failed (infrastructure): nothing is settled, and every message is retried.
pub fn handle_batch(
    store: &dyn ObjectStore,
    messages: &[Message],
    site: Option<&SiteJob<'_>>,
    now: &str,
) -> Result<(PendingReport, Vec<MessageOutcome>), AppError> {
    let hist = History::new(store);
    let mut report = PendingReport::default();
    let mut outcomes = Vec::with_capacity(messages.len());
    for msg in messages {
        let mut failure = None;
        for delivery in interpret(&msg.body) {
            let result = match delivery {
                Delivery::Skip(why) => {
                    tracing::info!(message = %msg.id, %why, "nothing to do");
                    report.skipped += 1;
                    Ok(())
                }
                Delivery::Invalid(reason) => Err(reason),
                Delivery::Bundle(manifest) => Key::new(manifest.clone())
                    .map_err(|e| e.to_string())
                    .and_then(|k| ingest_bundle(&hist, &k))
                    .map(|(run, rows, touched)| {
                        tracing::info!(run = %run, rows, "bundle ingested");
                        report.touched.merge(touched);
                        report.ingested.push((run, manifest, rows));
                    }),
            };
            if let Err(reason) = result {
                failure = Some(reason);
            }
        }
        outcomes.push(match failure {
            None => MessageOutcome::Done,
            Some(reason) => {
                tracing::warn!(message = %msg.id, receives = msg.receive_count, %reason, "message failed");
                record_failure(store, msg, &reason, now)?;
                report.quarantined.push((msg.id.clone(), reason.clone()));
                MessageOutcome::Failed(reason)
            }
        });
    }
    if !report.ingested.is_empty() {
        let d = derive(&hist, site, &report.touched)?;
        report.regressions = d.regressions;
        report.site_files = d.site_files;
    }
    Ok((report, outcomes))
}

/// Keeps a failed message's reason in the store, so a message that ends in the dead-letter
/// queue has its error beside it.
fn record_failure(
    store: &dyn ObjectStore,
    msg: &Message,
    reason: &str,
    now: &str,
) -> Result<(), AppError> {
    let name: String = msg
        .id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let record = serde_json::json!({
        "message_id": msg.id,
        "receive_count": msg.receive_count,
        "reason": reason,
        "at": now,
        "body": msg.body.chars().take(4096).collect::<String>(),
    });
    store.put(
        &Key::new(format!("quarantine/{name}.json"))?,
        &serde_json::to_vec_pretty(&record).unwrap_or_default(),
    )?;
    Ok(())
}

/// Drains a queue (`ingest --pending`): receives in batches, handles each batch, acknowledges
/// what was done and fails the rest (a spool sets it aside; SQS retries it, then dead-letters
/// it). Each message is handled at most once per drain.
pub fn ingest_pending(
    store: &dyn ObjectStore,
    queue: &dyn Queue,
    site: Option<&SiteJob<'_>>,
    now: &str,
) -> Result<PendingReport, AppError> {
    let mut total = PendingReport::default();
    let mut seen = BTreeSet::new();
    loop {
        let batch = queue.receive(10)?;
        let (fresh, again): (Vec<Message>, Vec<Message>) =
            batch.into_iter().partition(|m| !seen.contains(&m.id));
        for m in &again {
            // Back to the queue for the next drain.
            queue.fail(m, "seen in this drain already")?;
        }
        if fresh.is_empty() {
            break;
        }
        let (report, outcomes) = handle_batch(store, &fresh, site, now)?;
        for (m, outcome) in fresh.iter().zip(outcomes) {
            seen.insert(m.id.clone());
            match outcome {
                MessageOutcome::Done => queue.ack(m)?,
                MessageOutcome::Failed(reason) => queue.fail(m, &reason)?,
            }
        }
        if !report.ingested.is_empty() {
            // Findings after the latest batch: they cover everything committed so far.
            total.regressions = report.regressions;
        }
        total.ingested.extend(report.ingested);
        total.quarantined.extend(report.quarantined);
        total.skipped += report.skipped;
        total.site_files += report.site_files;
        total.touched.merge(report.touched);
    }
    Ok(total)
}

/// Where a site goes.
#[derive(Debug, Clone)]
pub enum SiteTarget {
    /// A directory (`--site DIR`).
    Dir(std::path::PathBuf),
    /// A prefix in the object store (`site/` in the bucket, for the Lambda).
    Store(Key),
}

/// A site to keep up to date while ingesting.
#[derive(Debug)]
pub struct SiteJob<'a> {
    pub target: SiteTarget,
    pub templates: &'a Templates,
    pub opts: SiteOptions,
}

/// Brings a rendered site up to date: only the touched pages when the target holds an earlier
/// sglci site, the whole site otherwise. Returns the number of files written.
pub fn update_site(
    store: &dyn ObjectStore,
    job: &SiteJob<'_>,
    touched: &Touched,
) -> Result<usize, AppError> {
    let exists = match &job.target {
        SiteTarget::Dir(out) => out.join(SITE_MARKER).is_file(),
        SiteTarget::Store(prefix) => match store.get(&prefix.join(SITE_MARKER)?) {
            Ok(_) => true,
            Err(StoreError::NotFound { .. }) => false,
            Err(e) => return Err(e.into()),
        },
    };
    if exists && touched.is_empty() {
        return Ok(0);
    }
    let site = if exists {
        render_update(store, job.templates, &job.opts, touched)?
    } else {
        render_full(store, job.templates, &job.opts)?
    };
    match &job.target {
        SiteTarget::Dir(out) => write_site(out, &site, !exists)?,
        SiteTarget::Store(prefix) => write_site_to_store(store, prefix, &site, !exists)?,
    }
    Ok(site.len())
}

/// Writes a rendered site under `prefix` in the store. With `replace`, objects under the prefix
/// that the new site does not have are removed, and only when the prefix is empty or holds an
/// earlier sglci site.
pub fn write_site_to_store(
    store: &dyn ObjectStore,
    prefix: &Key,
    site: &RenderedSite,
    replace: bool,
) -> Result<(), AppError> {
    let marker = prefix.join(SITE_MARKER)?;
    // Only a full render lists the prefix (to refuse a foreign one and to remove what the new
    // site no longer has): an update writes its pages and nothing else, so its cost does not
    // grow with the site.
    let existing = if replace {
        store.list(prefix.as_str())?
    } else {
        Vec::new()
    };
    if replace && !existing.is_empty() {
        match store.get(&marker) {
            Ok(_) => {}
            Err(StoreError::NotFound { .. }) => {
                return Err(AppError::NotASitePrefix(prefix.to_string()))
            }
            Err(e) => return Err(e.into()),
        }
    }
    for (rel, bytes) in site {
        store.put(&prefix.join(rel)?, bytes)?;
    }
    if replace {
        let keep: BTreeSet<String> = site.keys().map(|rel| format!("{prefix}/{rel}")).collect();
        for k in existing {
            if !keep.contains(k.as_str()) && k != marker {
                store.delete(&k)?;
            }
        }
    }
    store.put(&marker, b"rendered by sglci-publisher\n")?;
    Ok(())
}
