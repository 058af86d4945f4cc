//! The static site and its markdown (F34, F35, F36): pure functions from the history's rows to
//! a map of file path → bytes. Nothing here touches the disk or the clock: the caller passes the
//! generation time and writes the files.
//!
//! - [`chart`]: chart specifications shared by static plots and interactive charts.
//! - [`plot`]: plotters SVG/PNG rendering.
//! - [`views`]: page view models.
//! - [`templates`]: the embedded `site-templates/` (or an override directory).
//! - [`paths`]: where each page lives.
//!
//! A [`Scope`] limits rendering to the pages one new run touches, so that publishing a run costs
//! the same whatever the history's length: trend pages show a window of recent nights, and
//! downloads are split per year.

mod ab_pages;
pub mod chart;
mod failure_pages;
mod page_rows;
pub mod paths;
pub mod plot;
mod skeleton;
pub mod templates;
pub mod views;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rayon::prelude::*;
use serde::Serialize;
use serde_json::json;
use sglci_core::records::{self, TaskRow};
use tera::Context;

use crate::history::month_of;
use crate::rows::Rows;
use crate::table::Table;
use chart::Chart;
use sglci_core::date::{day_number, iso};
use templates::{chain, Templates};
use views::*;

pub use skeleton::Skeleton;

/// The rendered site: path relative to the site root → content.
pub type RenderedSite = BTreeMap<String, Vec<u8>>;

#[derive(Debug, Clone)]
pub struct SiteOptions {
    /// Shown in the footer (a parameter: the site is a pure function of its inputs).
    pub generated_at: String,
    /// How many days of nights the trend pages and the heatmap show.
    pub window_days: i64,
    /// Prefix of raw log links: absolute (the log repository) or site-relative (`logs/`).
    pub logs_base: String,
    /// Write PNG figures beside the SVGs (for chat cards and PR comments).
    pub png: bool,
    /// Mutes, acknowledgements and notes (F68, F69), shown beside the findings and charts.
    pub triage: crate::triage::Triage,
    /// The history generation the pages were rendered from (in the footer, when known).
    pub generation: Option<u64>,
}

impl Default for SiteOptions {
    fn default() -> Self {
        Self {
            generated_at: String::new(),
            window_days: 180,
            logs_base: "logs/".to_owned(),
            png: true,
            triage: crate::triage::Triage::default(),
            generation: None,
        }
    }
}

/// Which pages to render.
#[derive(Debug, Clone, Default)]
pub enum Scope {
    /// Every page.
    #[default]
    All,
    /// Only the pages that show the given runs and nights (an incremental update).
    Only(Touched),
    /// A whole site a part at a time ([`render_part_to`]): the nights, runs, year pages and
    /// downloads of these months (`YYYY-MM`, or `undated`), and with `globals` every page about
    /// no one night (home, hardware, sanity, models, upstream, A/B, failures, regressions, the
    /// downloads index, the static assets).
    Part {
        months: BTreeSet<String>,
        globals: bool,
    },
}

/// What a new run touches.
#[derive(Debug, Clone, Default)]
pub struct Touched {
    /// (hardware, date) nights.
    pub nights: BTreeSet<(String, String)>,
    /// Run folders.
    pub runs: BTreeSet<String>,
    /// (hardware, model).
    pub models: BTreeSet<(String, String)>,
    /// Years with new rows (archive pages).
    pub years: BTreeSet<String>,
    /// Months (`YYYY-MM`) with new rows (downloads).
    pub months: BTreeSet<String>,
    /// Upstream coverage changed.
    pub upstream: bool,
    /// A/B comparisons recorded.
    pub abs: BTreeSet<String>,
}

impl Touched {
    /// Adds what another batch touches.
    pub fn merge(&mut self, other: Touched) {
        self.nights.extend(other.nights);
        self.runs.extend(other.runs);
        self.models.extend(other.models);
        self.years.extend(other.years);
        self.months.extend(other.months);
        self.upstream |= other.upstream;
        self.abs.extend(other.abs);
    }

    pub fn is_empty(&self) -> bool {
        self.nights.is_empty() && self.runs.is_empty() && !self.upstream && self.abs.is_empty()
    }

    /// The pages a set of runs and nights touch, taken from the rows of those runs.
    pub fn from_rows(data: &Rows) -> Self {
        let mut t = Touched::default();
        for r in &data.runs {
            t.runs.insert(r.run_dir.clone());
            t.nights.insert((r.hardware.clone(), r.date.clone()));
            if let Some(m) = &r.model {
                t.models.insert((r.hardware.clone(), m.clone()));
            }
        }
        for r in &data.tasks {
            t.nights.insert((r.hardware.clone(), r.date.clone()));
        }
        for r in &data.serving {
            t.models.insert((r.hardware.clone(), r.model.clone()));
        }
        for r in &data.offline {
            t.models.insert((r.hardware.clone(), r.model.clone()));
        }
        t.upstream = !data.upstream_coverage.is_empty();
        for (_, d) in &t.nights {
            t.years.insert(year_of(d));
            t.months.insert(month_of(Some(d)));
        }
        for r in &data.ab {
            t.abs.insert(r.ab_id.clone());
            t.months.insert(month_of(Some(&r.date)));
        }
        t
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error("rendering {page}: {reason}")]
    Render { page: String, reason: String },
    #[error(transparent)]
    Plot(#[from] plot::PlotError),
    #[error(transparent)]
    Template(#[from] templates::TemplateError),
    #[error("download {table}: {reason}")]
    Download { table: String, reason: String },
    /// The output of [`render_site_to`] refused a part; the output holds the reason.
    #[error("the site's output stopped the render")]
    OutputStopped,
}

fn year_of(date: &str) -> String {
    if date.len() >= 4 && date[..4].bytes().all(|b| b.is_ascii_digit()) {
        date[..4].to_owned()
    } else {
        "undated".to_owned()
    }
}

/// JSON safe to embed in a `<script>` element.
fn script_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v)
        .unwrap_or_else(|_| "null".to_owned())
        .replace("</", "<\\/")
        .replace("<!--", "<\\!--")
}

/// A chart on a page: its static fallback and its data for the interactive version.
#[derive(Debug, Clone, Serialize)]
struct ChartView {
    id: String,
    title: String,
    svg: String,
    json: String,
    series: usize,
    points: usize,
}

/// The threads that draw figures and encode downloads. Their stacks are as large as a main
/// thread's: polars' Parquet writer needs more than the 2 MiB of a default worker (a month of
/// a long history overflowed one).
fn in_pool<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    static POOL: std::sync::OnceLock<Option<rayon::ThreadPool>> = std::sync::OnceLock::new();
    let pool = POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .stack_size(16 << 20)
            .thread_name(|i| format!("sglci-site-{i}"))
            .build()
            .ok()
    });
    match pool {
        Some(p) => p.install(work),
        // No thread could be started: the global pool still does the work.
        None => work(),
    }
}

/// A PNG figure to draw once the pages are rendered (see [`render_site`]).
struct Figure {
    path: String,
    title: String,
    charts: Vec<Chart>,
    size: (u32, u32),
}

/// Where [`render_site_to`] hands the site, a part at a time. An error stops the render and is
/// its result; an output that fails for its own reasons keeps them and returns
/// [`SiteError::OutputStopped`].
pub type SiteOutput<'o> = dyn FnMut(RenderedSite) -> Result<(), SiteError> + 'o;

struct Renderer<'a, 'o> {
    data: &'a Rows,
    t: &'a Templates,
    opts: &'a SiteOptions,
    out: RenderedSite,
    /// Bytes held in `out`; past `part_bytes` they go to `output`.
    held: usize,
    part_bytes: usize,
    output: &'o mut SiteOutput<'o>,
    /// Download files encoded beside the pages (see [`encode_downloads`]), a batch at a time.
    incoming: Option<std::sync::mpsc::Receiver<DownloadBatch>>,
    /// Where PNG figures go to be drawn (see [`draw_figures`]): they cost more than the pages
    /// that link them.
    figures: Option<std::sync::mpsc::Sender<Figure>>,
    nights: BTreeMap<String, Vec<String>>,
    run_dirs: BTreeSet<&'a str>,
    from_day: i64,
    /// Upstream coverage in the history (the home page links its page).
    upstream: bool,
    /// Each night's and each run folder's rows (see [`page_rows`]).
    by_night: HashMap<page_rows::NightKey, page_rows::NightRows<'a>>,
    by_run: HashMap<String, page_rows::RunRows<'a>>,
    no_night: page_rows::NightRows<'a>,
    no_run: page_rows::RunRows<'a>,
    /// Per hardware, the years its night pages link to (newest first).
    years_of: BTreeMap<String, Vec<String>>,
}

/// Renders the site (or the part of it in `scope`), whole in memory.
pub fn render_site(
    data: &Rows,
    t: &Templates,
    opts: &SiteOptions,
    scope: &Scope,
) -> Result<RenderedSite, SiteError> {
    let mut site = RenderedSite::new();
    render_site_to(data, t, opts, scope, usize::MAX, &mut |part| {
        site.extend(part);
        Ok(())
    })?;
    Ok(site)
}

/// Renders the site (or the part of it in `scope`) into `output`, in parts of about
/// `part_bytes` (a part may be larger by one page's files, or one batch of downloads): a whole
/// site of a long history is many times the memory it is rendered from. Every file is in
/// exactly one part; the parts together are what [`render_site`] returns.
pub fn render_site_to(
    data: &Rows,
    t: &Templates,
    opts: &SiteOptions,
    scope: &Scope,
    part_bytes: usize,
    output: &mut SiteOutput<'_>,
) -> Result<(), SiteError> {
    render_part_to(
        data,
        &Skeleton::of(data),
        t,
        opts,
        scope,
        part_bytes,
        output,
    )
}

/// [`render_site_to`] with what the pages need to know of the whole history given (see
/// [`Skeleton`]): a whole site rendered a [`Scope::Part`] at a time, each from its months' rows,
/// is the site [`render_site_to`] renders from all of them.
pub fn render_part_to(
    data: &Rows,
    skel: &Skeleton,
    t: &Templates,
    opts: &SiteOptions,
    scope: &Scope,
    part_bytes: usize,
    output: &mut SiteOutput<'_>,
) -> Result<(), SiteError> {
    let pick = Pick::of(scope);
    let plan = DownloadPlan::of(data, &pick);
    // The downloads are encoded on the pool while this thread renders the pages (both are a
    // third of a full build, and the pages are rendered one after another); the renderer takes
    // them in between pages, so that no more than one batch waits. The renderer lives inside
    // the scope: when a page fails it is dropped with its receiver, which stops the encoder.
    // The PNG figures are drawn on a thread of their own as the model pages ask for them, and
    // come back the same way.
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let (figure_tx, figure_rx) = std::sync::mpsc::channel();
        let parts = &plan.parts;
        let drawn = tx.clone();
        s.spawn(move || encode_downloads(data, parts, &tx));
        std::thread::Builder::new()
            // As large as a main thread's stack, as the pool's (see [`in_pool`]).
            .stack_size(16 << 20)
            .name("sglci-figures".to_owned())
            .spawn_scoped(s, move || draw_figures(&figure_rx, &drawn))
            .map_err(|e| SiteError::Render {
                page: "figures".to_owned(),
                reason: format!("no thread to draw them on: {e}"),
            })?;
        let mut r = Renderer::new(data, skel, t, opts, part_bytes, output);
        r.incoming = Some(rx);
        r.figures = Some(figure_tx);
        r.pages(skel, &pick)?;
        // No more figures: the drawer ends after the last one.
        r.figures = None;
        r.downloads(&pick, &plan)?;
        r.flush()
    })
}

/// Draws each figure `rx` hands over until the renderer is done, sending its PNG; stops at
/// the first error, after sending it, or when the renderer is gone.
fn draw_figures(
    rx: &std::sync::mpsc::Receiver<Figure>,
    tx: &std::sync::mpsc::SyncSender<DownloadBatch>,
) {
    for f in rx {
        let png = plot::figure_png(Some(&f.title), &f.charts, 2, f.size)
            .map(|png| vec![(f.path, png)])
            .map_err(SiteError::from);
        let failed = png.is_err();
        if tx.send(png).is_err() || failed {
            return;
        }
    }
}

impl<'a, 'o> Renderer<'a, 'o> {
    fn new(
        data: &'a Rows,
        skel: &'a Skeleton,
        t: &'a Templates,
        opts: &'a SiteOptions,
        part_bytes: usize,
        output: &'o mut SiteOutput<'o>,
    ) -> Self {
        let nights = skel.active_nights(opts.window_days);
        let years_of = nights
            .iter()
            .map(|(hw, nights)| {
                let years: BTreeSet<String> = nights
                    .iter()
                    .map(|d| year_of(d))
                    .chain(data.years.iter().cloned())
                    .collect();
                (hw.clone(), years.into_iter().rev().collect())
            })
            .collect();
        Renderer {
            data,
            t,
            opts,
            out: RenderedSite::new(),
            held: 0,
            part_bytes,
            output,
            incoming: None,
            figures: None,
            nights,
            run_dirs: skel.run_dirs.iter().map(String::as_str).collect(),
            from_day: skel.from_day(opts.window_days),
            upstream: skel.upstream,
            by_night: page_rows::by_night(data),
            by_run: page_rows::by_run(data),
            no_night: page_rows::NightRows::default(),
            no_run: page_rows::RunRows::default(),
            years_of,
        }
    }

    /// Every page `pick` selects but the downloads pages.
    fn pages(&mut self, skel: &Skeleton, pick: &Pick<'_>) -> Result<(), SiteError> {
        if pick.globals {
            for (name, bytes) in &self.t.assets {
                self.put(name.clone(), bytes.clone());
            }
            self.index()?;
        }
        let hardware: Vec<String> = self.nights.keys().cloned().collect();
        for hw in &hardware {
            self.hardware_pages(hw, pick)?;
        }
        for (hw, model) in &skel.models {
            if pick.all
                || pick.globals_of_part
                || pick.touched.models.contains(&(hw.clone(), model.clone()))
            {
                self.model_page(hw, model)?;
            }
        }
        for run in &self.data.runs {
            if pick.all || pick.touched.runs.contains(&run.run_dir) || pick.in_months(&run.date) {
                self.run_page(run)?;
            }
        }
        if pick.all || pick.touched.upstream || pick.globals_of_part {
            self.upstream_page()?;
        }
        if pick.globals {
            let only_touched = !(pick.all || pick.globals_of_part);
            self.ab_pages(only_touched.then_some(&pick.touched.abs))?;
            self.failures_page()?;
            self.regressions_page()?;
        }
        Ok(())
    }
}

/// Which pages a [`Scope`] renders.
struct Pick<'s> {
    all: bool,
    touched: std::borrow::Cow<'s, Touched>,
    /// The months of a [`Scope::Part`].
    months: Option<&'s BTreeSet<String>>,
    /// Pages about no one night (home, failures, regressions, the downloads index, assets).
    globals: bool,
    /// A [`Scope::Part`] with its globals: every hardware, model, upstream and A/B page.
    globals_of_part: bool,
}

impl<'s> Pick<'s> {
    fn of(scope: &'s Scope) -> Self {
        match scope {
            Scope::All => Self {
                all: true,
                touched: std::borrow::Cow::Owned(Touched::default()),
                months: None,
                globals: true,
                globals_of_part: false,
            },
            Scope::Only(t) => Self {
                all: false,
                touched: std::borrow::Cow::Borrowed(t),
                months: None,
                globals: true,
                globals_of_part: false,
            },
            Scope::Part { months, globals } => Self {
                all: false,
                touched: std::borrow::Cow::Owned(Touched::default()),
                months: Some(months),
                globals: *globals,
                globals_of_part: *globals,
            },
        }
    }

    /// Whether a night's date (`YYYYMMDD`) is in the part's months.
    fn in_months(&self, date: &str) -> bool {
        self.months
            .is_some_and(|m| m.contains(&month_of(Some(date))))
    }

    /// Whether a month's download files are rendered.
    fn month(&self, month: &str) -> bool {
        match self.months {
            Some(m) => m.contains(month),
            None => self.all || self.touched.months.contains(month),
        }
    }
}

impl<'a> Renderer<'a, '_> {
    /// A hardware's index and sanity pages, night pages and year pages, as `pick` selects.
    fn hardware_pages(&mut self, hw: &str, pick: &Pick<'_>) -> Result<(), SiteError> {
        let touched_hw = pick.touched.nights.iter().any(|(h, _)| h == hw);
        if pick.all || touched_hw || pick.globals_of_part {
            self.hardware_index(hw)?;
            self.sanity_page(hw)?;
        }
        let nights = self.nights.get(hw).cloned().unwrap_or_default();
        let mut years = BTreeSet::new();
        for (i, date) in nights.iter().enumerate() {
            // A night's neighbours link to it (previous/next), so they are re-rendered too.
            let near = |j: Option<usize>| {
                j.and_then(|j| nights.get(j))
                    .is_some_and(|d| pick.touched.nights.contains(&(hw.to_owned(), d.clone())))
            };
            if pick.all
                || near(Some(i))
                || near(i.checked_sub(1))
                || near(Some(i + 1))
                || pick.in_months(date)
            {
                self.night_page(hw, date)?;
                years.insert(year_of(date));
            }
        }
        if pick.all {
            years.extend(self.data.years.iter().cloned());
        }
        if let Some(months) = pick.months {
            // The part's years, also those with no night of this hardware (as a whole render).
            let of_part = self.years_of.get(hw).into_iter().flatten();
            years.extend(
                of_part
                    .filter(|y| months.iter().any(|m| m.starts_with(y.as_str())))
                    .cloned(),
            );
        }
        for y in years {
            self.year_page(hw, &y)?;
        }
        Ok(())
    }

    /// Adds a file to the part being gathered.
    fn put(&mut self, path: String, bytes: Vec<u8>) {
        self.held += bytes.len();
        self.out.insert(path, bytes);
    }

    /// Hands the part gathered to the output when it is full (between pages: a page and the
    /// plots beside it go in one part).
    fn flush_if_full(&mut self) -> Result<(), SiteError> {
        if self.held >= self.part_bytes {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SiteError> {
        self.held = 0;
        let part = std::mem::take(&mut self.out);
        if part.is_empty() {
            return Ok(());
        }
        (self.output)(part)
    }

    fn linker(&self, page: &str) -> Linker<'a> {
        Linker {
            root: paths::root_of(page),
            logs_base: &self.opts.logs_base,
        }
    }

    fn base_context(&self, page: &str, title: &str) -> Context {
        let link = self.linker(page);
        let mut ctx = Context::new();
        ctx.insert("root", &link.root);
        ctx.insert("title", title);
        ctx.insert("generated_at", &self.opts.generated_at);
        ctx.insert("generation", &self.opts.generation);
        let nav: Vec<Link> = self
            .nights
            .keys()
            .map(|hw| Link {
                text: hw.clone(),
                href: link.page(&paths::hardware_index(hw)),
            })
            .collect();
        ctx.insert("nav_hardware", &nav);
        ctx
    }

    fn render(&mut self, template: &str, page: &str, ctx: &Context) -> Result<(), SiteError> {
        let html = self
            .t
            .tera
            .render(template, ctx)
            .map_err(|e| SiteError::Render {
                page: page.to_owned(),
                reason: chain(&e),
            })?;
        self.put(page.to_owned(), html.into_bytes());
        self.take_downloads(false)?;
        self.flush_if_full()
    }

    fn tasks_of(&self, hw: &str, date: &str) -> Vec<&'a TaskRow> {
        self.night(hw, date).tasks.clone()
    }

    /// A night's rows (none when it has none).
    fn night(&self, hw: &str, date: &str) -> &page_rows::NightRows<'a> {
        self.by_night
            .get(&(hw.to_owned(), date.to_owned()))
            .unwrap_or(&self.no_night)
    }

    /// Static plots of a chart set, written beside the page, and their views.
    fn charts(&mut self, dir: &str, charts: &[Chart]) -> Result<Vec<ChartView>, SiteError> {
        let mut views = Vec::new();
        for c in charts {
            let stem = paths::plot(dir, &c.id);
            let svg = plot::chart_svg(c, (900, 420))?;
            self.put(format!("{stem}.svg"), svg.into_bytes());
            views.push(ChartView {
                id: c.id.clone(),
                title: c.title.clone(),
                svg: format!("{stem}.svg"),
                json: script_json(c),
                series: c.series.len(),
                points: c.point_count(),
            });
        }
        Ok(views)
    }

    fn index(&mut self) -> Result<(), SiteError> {
        let page = "index.html";
        let link = self.linker(page);
        let mut hardware = Vec::new();
        for (hw, nights) in &self.nights {
            let Some(latest) = nights.last() else {
                continue;
            };
            let tasks = self.tasks_of(hw, latest);
            let before = nights
                .len()
                .checked_sub(2)
                .map(|i| self.tasks_of(hw, &nights[i]))
                .unwrap_or_default();
            let views: Vec<TaskView> = tasks
                .iter()
                .map(|t| task_view(t, &self.run_dirs, &link))
                .collect();
            hardware.push(json!({
                "name": hw,
                "href": link.page(&paths::hardware_index(hw)),
                "night": iso(latest),
                "night_href": link.page(&paths::night_page(hw, latest)),
                "summary_href": link.page(&paths::daily_summary(hw, latest)),
                "image": night_image(&tasks),
                "counts": counts(tasks.iter().map(|t| t.status)),
                "tasks": views,
                "changes": if before.is_empty() { Vec::new() } else { changes(&before, &tasks) },
                "previous": nights.len().checked_sub(2).map(|i| iso(&nights[i])),
                "sanity_href": link.page(&paths::sanity_page(hw)),
                "regressions": self.finding_views(Some(hw), &link, true),
            }));
        }
        let mut ctx = self.base_context(page, "sglci: nightly SGLang benchmarks");
        ctx.insert("hardware", &hardware);
        ctx.insert(
            "upstream_href",
            &self.upstream.then(|| link.page("upstream.html")),
        );
        ctx.insert("failures_href", &link.page(failure_pages::PAGE));
        ctx.insert(
            "ab_href",
            &(!self.data.ab.is_empty()).then(|| link.page(&paths::ab_index())),
        );
        self.render("index.html", page, &ctx)
    }

    /// Findings in the window (open first, then newest), as page rows.
    fn finding_views(
        &self,
        hw: Option<&str>,
        link: &Linker<'_>,
        open_only: bool,
    ) -> Vec<serde_json::Value> {
        let mut fs: Vec<&records::RegressionRow> = self
            .data
            .regressions
            .iter()
            .filter(|f| hw.is_none_or(|h| f.hardware == h))
            .filter(|f| !open_only || f.state == sglci_core::records::FindingState::Open)
            .filter(|f| day_number(&f.date).is_some_and(|d| d >= self.from_day))
            .collect();
        fs.sort_by(|a, b| {
            (
                a.state != sglci_core::records::FindingState::Open,
                std::cmp::Reverse(&a.first_bad_date),
                &a.id,
            )
                .cmp(&(
                    b.state != sglci_core::records::FindingState::Open,
                    std::cmp::Reverse(&b.first_bad_date),
                    &b.id,
                ))
        });
        fs.iter()
            .map(|f| {
                let run_of = |tag: &str| {
                    self.data
                        .runs
                        .iter()
                        .find(|r| r.docker_tag == tag && r.model.as_deref() == Some(f.model.as_str()) && r.variant.as_deref().unwrap_or("") == f.config)
                        .map(|r| link.page(&paths::run_page(&r.run_dir)))
                };
                let today = sglci_core::date::date_of_day(self.from_day + self.opts.window_days - 1);
                let treatment = match self.opts.triage.treatment(&f.id, &today) {
                    Some(crate::triage::Treatment::Muted(d)) => Some(format!(
                        "muted by {} ({}){}: {}",
                        d.who,
                        iso(&d.when),
                        d.until.as_deref().map_or(String::new(), |u| format!(" until {}", iso(u))),
                        d.why
                    )),
                    Some(crate::triage::Treatment::Acknowledged(d)) => Some(format!(
                        "acknowledged by {} ({}): {}",
                        d.who,
                        iso(&d.when),
                        d.why
                    )),
                    None => None,
                };
                json!({
                    "state": f.state,
                    "series": crate::regress::report::series_label(&f.hardware, &f.model, &f.config),
                    "model_href": link.page(&paths::model_page(&f.hardware, &f.model)),
                    "metric": f.metric,
                    "change": crate::regress::report::change_words(f.metric.as_str(), f.change, f.current_change),
                    "loads": format!("{} {}", f.load_kind, f.loads),
                    "first_bad": f.first_bad_image,
                    "first_bad_date": iso(&f.first_bad_date),
                    "first_bad_href": run_of(&f.first_bad_image),
                    "last_good": f.last_good_image,
                    "last_good_href": f.last_good_image.as_deref().and_then(run_of),
                    "versions": f.versions,
                    "confidence": if f.confirmed { format!("{:.1} %", f.confidence * 100.0) } else { "screen only".to_owned() },
                    "recovered": f.recovered.as_deref().map(iso),
                    "steps": f.steps.len(),
                    "treatment": treatment,
                })
            })
            .collect()
    }

    fn regressions_page(&mut self) -> Result<(), SiteError> {
        let page = "regressions.html";
        let link = self.linker(page);
        let rows = self.finding_views(None, &link, false);
        let mut ctx = self.base_context(page, "Regressions");
        ctx.insert("findings", &rows);
        ctx.insert("window_days", &self.opts.window_days);
        self.render("regressions.html", page, &ctx)
    }

    fn hardware_index(&mut self, hw: &str) -> Result<(), SiteError> {
        let Some(latest) = self.nights.get(hw).and_then(|n| n.last()).cloned() else {
            return Ok(());
        };
        let page = paths::hardware_index(hw);
        self.night_like(hw, &latest, &page, true)
    }

    fn night_page(&mut self, hw: &str, date: &str) -> Result<(), SiteError> {
        let page = paths::night_page(hw, date);
        self.night_like(hw, date, &page, false)?;
        self.daily_summary(hw, date)
    }

    /// A night of one hardware: the task groups, sanity per model, tests and job logs.
    fn night_like(
        &mut self,
        hw: &str,
        date: &str,
        page: &str,
        is_index: bool,
    ) -> Result<(), SiteError> {
        let link = self.linker(page);
        let tasks = self.tasks_of(hw, date);
        let views: Vec<TaskView> = tasks
            .iter()
            .map(|t| task_view(t, &self.run_dirs, &link))
            .collect();
        let night = self.night(hw, date);
        let sanity: Vec<SanityView> = night
            .sanity_models
            .iter()
            .map(|s| sanity_view(s, &link))
            .collect();
        let runs: Vec<Link> = night
            .runs
            .iter()
            .map(|r| Link {
                text: run_title(r),
                href: link.page(&paths::run_page(&r.run_dir)),
            })
            .collect();
        let unit: Vec<serde_json::Value> = night
            .unit
            .iter()
            .map(|u| {
                json!({"test": u.test, "status": u.status, "tests_ran": u.tests_ran,
                       "duration": u.duration_s.map(|d| runtime(Some(d / 60.0))),
                       "failure_class": u.failure_class, "evidence": u.evidence,
                       "href": link.log(&u.file)})
            })
            .collect();
        let cron: Vec<FileView> = night
            .cron
            .iter()
            .map(|f| file_view(f, &format!("cron_log/{hw}/{date}"), &link))
            .collect();
        // Nights are sorted: the window's are the last ones, and a night is found by bisection
        // (a whole site has thousands of night pages; none of them walks every night).
        let nights: &[String] = self.nights.get(hw).map_or(&[], Vec::as_slice);
        let in_window = nights
            .iter()
            .rev()
            // Names that are not dates sort after them and are left out below, as before.
            .take_while(|d| day_number(d).is_none_or(|n| n >= self.from_day))
            .count();
        let picker: Vec<NightLink> = nights[nights.len() - in_window..]
            .iter()
            .rev()
            .filter(|d| day_number(d).is_some_and(|n| n >= self.from_day))
            .map(|d| night_link(hw, d, &link))
            .collect();
        let years: Vec<Link> = self
            .years_of
            .get(hw)
            .into_iter()
            .flatten()
            .map(|y| Link {
                href: link.page(&paths::year_page(hw, y)),
                text: y.clone(),
            })
            .collect();
        let idx = nights.binary_search_by(|d| d.as_str().cmp(date)).ok();
        let prev = idx
            .and_then(|i| i.checked_sub(1))
            .map(|i| night_link(hw, &nights[i], &link));
        let next = idx
            .and_then(|i| nights.get(i + 1))
            .map(|d| night_link(hw, d, &link));
        let timeline = if is_index {
            Some(self.timeline(hw, page)?)
        } else {
            None
        };
        // Flakiness over the window's nights (F64), on the hardware's index page.
        let flaky: Vec<serde_json::Value> = if is_index {
            let rows: Vec<&TaskRow> = self
                .data
                .tasks
                .iter()
                .filter(|t| {
                    t.hardware == hw && day_number(&t.date).is_some_and(|d| d >= self.from_day)
                })
                .collect();
            crate::regress::flaky::flakiness(&rows, 30)
                .into_iter()
                .map(|f| {
                    json!({"name": f.task_name, "current": f.current, "since": iso(&f.since),
                           "streak": f.streak, "last_good": f.last_good.as_deref().map(iso),
                           "flips": f.flips, "decided": f.decided,
                           "flip_rate": format!("{:.0} %", f.flip_rate * 100.0)})
                })
                .collect()
        } else {
            Vec::new()
        };
        let mut ctx = self.base_context(page, &format!("{hw} · {}", iso(date)));
        ctx.insert("hw", hw);
        ctx.insert("date", &iso(date));
        ctx.insert("date_raw", date);
        ctx.insert("image", &night_image(&tasks));
        ctx.insert("counts", &counts(tasks.iter().map(|t| t.status)));
        ctx.insert("groups", &grouped(views));
        ctx.insert("sanity", &sanity);
        ctx.insert("runs", &runs);
        ctx.insert("unit", &unit);
        ctx.insert("cron", &cron);
        ctx.insert("picker", &picker);
        ctx.insert("years", &years);
        ctx.insert("prev", &prev);
        ctx.insert("next", &next);
        ctx.insert("timeline", &timeline);
        ctx.insert("flaky", &flaky);
        ctx.insert("summary_href", &link.page(&paths::daily_summary(hw, date)));
        ctx.insert("sanity_href", &link.page(&paths::sanity_page(hw)));
        ctx.insert("is_index", &is_index);
        ctx.insert("index_href", &link.page(&paths::hardware_index(hw)));
        self.render("night.html", page, &ctx)
    }

    /// The task-status timeline of a hardware over the window (SVG), linked from its pages.
    fn timeline(&mut self, hw: &str, page: &str) -> Result<String, SiteError> {
        let mut rows: BTreeMap<(usize, String), Vec<(i64, String)>> = BTreeMap::new();
        for t in &self.data.tasks {
            if t.hardware != hw {
                continue;
            }
            let Some(day) = day_number(&t.date).filter(|d| *d >= self.from_day) else {
                continue;
            };
            let order = sglci_core::status::TASKS
                .iter()
                .position(|d| d.id == t.task)
                .unwrap_or(usize::MAX);
            rows.entry((order, t.task_name.clone()))
                .or_default()
                .push((day, t.status.as_str().to_owned()));
        }
        let rows: Vec<plot::TimelineRow> = rows
            .into_iter()
            .map(|((_, name), cells)| plot::TimelineRow { name, cells })
            .collect();
        let height = 90 + 26 * rows.len() as u32;
        let svg = plot::timeline_svg(
            &format!("tasks-{hw}"),
            &format!("Task status per night on {hw}"),
            &rows,
            (1100, height),
        )?;
        let path = format!("{}.svg", paths::plot(hw, "tasks"));
        self.put(path.clone(), svg.into_bytes());
        Ok(format!("{}{path}", paths::root_of(page)))
    }

    fn year_page(&mut self, hw: &str, year: &str) -> Result<(), SiteError> {
        let page = paths::year_page(hw, year);
        let link = self.linker(&page);
        let nights: Vec<serde_json::Value> = self
            .nights
            .get(hw)
            .into_iter()
            .flatten()
            .filter(|d| year_of(d) == year)
            .rev()
            .map(|d| {
                let tasks = self.tasks_of(hw, d);
                json!({"link": night_link(hw, d, &link), "image": night_image(&tasks),
                       "counts": counts(tasks.iter().map(|t| t.status))})
            })
            .collect();
        let mut ctx = self.base_context(&page, &format!("{hw} · nights of {year}"));
        ctx.insert("hw", hw);
        ctx.insert("year", year);
        ctx.insert("nights", &nights);
        self.render("year.html", &page, &ctx)
    }

    fn daily_summary(&mut self, hw: &str, date: &str) -> Result<(), SiteError> {
        let path = paths::daily_summary(hw, date);
        let root = paths::root_of(&path);
        let night = self.night(hw, date);
        let ctx = daily_summary_context_of(
            &night.tasks,
            &night.sanity_models,
            &self.run_dirs,
            hw,
            date,
            &self.opts.logs_base,
            &root,
        );
        self.render("daily_summary.md", &path, &ctx)
    }

    fn model_page(&mut self, hw: &str, model: &str) -> Result<(), SiteError> {
        let page = paths::model_page(hw, model);
        let link = self.linker(&page);
        let variants: BTreeSet<&str> = self
            .data
            .serving
            .iter()
            .filter(|s| s.hardware == hw && s.model == model)
            .map(|s| s.variant.as_str())
            .chain(
                self.data
                    .accuracy
                    .iter()
                    .filter(|s| s.hardware == hw && s.model == model)
                    .map(|s| s.variant.as_str()),
            )
            .collect();
        let dir = format!("{hw}/{model}");
        let mut sections = Vec::new();
        for v in variants {
            let mut charts = chart::model_charts(self.data, hw, model, v, self.from_day);
            let label = crate::regress::report::config_label(v);
            for n in self.opts.triage.notes_of(&format!("{hw}/{model}/{label}")) {
                if let Some(day) = day_number(&n.date).filter(|d| *d >= self.from_day) {
                    for c in &mut charts {
                        c.markers.push(chart::Marker {
                            day,
                            label: format!("note ({:?}): {} ({})", n.kind, n.text, n.who),
                            kind: "note",
                        });
                    }
                }
            }
            if charts.is_empty() {
                continue;
            }
            let views = self.charts(&dir, &charts)?;
            let figure = paths::plot(&dir, &format!("{model}-{label}-figure"));
            if let (true, Some(to)) = (self.opts.png, &self.figures) {
                // A drawer that stopped has sent why; the renderer returns it.
                let _ = to.send(Figure {
                    path: format!("{figure}.png"),
                    title: format!("{model} {label} on {hw}"),
                    size: (1400, 380 * charts.len().div_ceil(2) as u32 + 40),
                    charts,
                });
            }
            let runs: Vec<Link> = self
                .data
                .runs
                .iter()
                .rev()
                .filter(|r| {
                    r.hardware == hw
                        && r.model.as_deref() == Some(model)
                        && r.variant.as_deref().unwrap_or("") == v
                        && day_number(&r.date).is_some_and(|d| d >= self.from_day)
                })
                .map(|r| Link {
                    text: format!("{} · {}", iso(&r.date), r.docker_tag),
                    href: link.page(&paths::run_page(&r.run_dir)),
                })
                .collect();
            let series_key = format!("{hw}/{model}/{label}");
            let notes: Vec<serde_json::Value> = self
                .opts
                .triage
                .notes_of(&series_key)
                .map(|n| json!({"date": iso(&n.date), "kind": n.kind, "text": n.text, "who": n.who, "when": iso(&n.when)}))
                .collect();
            sections.push(json!({
                "notes": notes,
                "variant": label,
                "charts": views,
                "png": self.opts.png.then(|| link.page(&format!("{figure}.png"))),
                "runs": runs,
            }));
        }
        let modes: BTreeSet<&str> = self
            .data
            .offline
            .iter()
            .filter(|o| o.hardware == hw && o.model == model)
            .map(|o| o.mode.as_str())
            .collect();
        let mut offline = Vec::new();
        for mode in modes {
            let charts = chart::offline_charts(self.data, hw, model, mode, self.from_day);
            if charts.is_empty() {
                continue;
            }
            let views = self.charts(&dir, &charts)?;
            offline.push(json!({"mode": mode, "charts": views}));
        }
        let mut ctx = self.base_context(&page, &format!("{model} on {hw}"));
        ctx.insert("hw", hw);
        ctx.insert("model", model);
        ctx.insert("sections", &sections);
        ctx.insert("offline", &offline);
        ctx.insert("window_days", &self.opts.window_days);
        self.render("model.html", &page, &ctx)
    }

    fn run_page(&mut self, run: &records::RunRow) -> Result<(), SiteError> {
        let page = paths::run_page(&run.run_dir);
        let link = self.linker(&page);
        let rows = self.by_run.get(&run.run_dir).unwrap_or(&self.no_run);
        let ctx_data = run_context(rows, run, &link, &self.run_dirs);
        let mut ctx = self.base_context(&page, &run_title(run));
        ctx.insert("run", &ctx_data);
        ctx.insert("report_href", &link.page(&paths::run_report(&run.run_dir)));
        self.render("run.html", &page, &ctx)?;
        // The report sits beside the page, so the same relative links hold.
        let mut md = Context::new();
        md.insert("run", &ctx_data);
        self.render("run_report.md", &paths::run_report(&run.run_dir), &md)
    }

    fn sanity_page(&mut self, hw: &str) -> Result<(), SiteError> {
        let page = paths::sanity_page(hw);
        let link = self.linker(&page);
        let rows: Vec<&records::SanityModelRow> = self
            .data
            .sanity_models
            .iter()
            .filter(|s| s.hardware == hw && day_number(&s.date).is_some_and(|d| d >= self.from_day))
            .collect();
        let dates: Vec<String> = rows
            .iter()
            .map(|r| r.date.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .rev()
            .collect();
        let models: BTreeSet<&str> = rows.iter().map(|r| r.model.as_str()).collect();
        let by: BTreeMap<(&str, &str), &records::SanityModelRow> = rows
            .iter()
            .map(|r| ((r.model.as_str(), r.date.as_str()), *r))
            .collect();
        let heat: Vec<serde_json::Value> = models
            .iter()
            .map(|m| {
                let cells: Vec<serde_json::Value> = dates
                    .iter()
                    .map(|d| match by.get(&(*m, d.as_str())) {
                        Some(r) => json!({
                            "status": r.status,
                            "text": r.accuracy.map(|a| format!("{:.0}", a * 100.0)).unwrap_or_else(|| "–".to_owned()),
                            "title": format!("{m} {}: {} (threshold {}) {}", iso(d), pct(r.accuracy), pct(r.required), r.status),
                            "href": link.page(&paths::run_page(&r.run_dir)),
                        }),
                        None => json!({"status": "none", "text": "", "title": format!("{m} {}: not tested", iso(d)), "href": null}),
                    })
                    .collect();
                json!({"model": m, "cells": cells})
            })
            .collect();
        let chart = chart::sanity_chart(&rows, hw);
        let charts = if chart.is_empty() {
            Vec::new()
        } else {
            self.charts(hw, std::slice::from_ref(&chart))?
        };
        let mut ctx = self.base_context(&page, &format!("Sanity on {hw}"));
        ctx.insert("hw", hw);
        ctx.insert(
            "dates",
            &dates
                .iter()
                .map(|d| json!({"label": iso(d)[5..].to_owned(), "full": iso(d), "href": link.page(&paths::night_page(hw, d))}))
                .collect::<Vec<_>>(),
        );
        ctx.insert("heat", &heat);
        ctx.insert("charts", &charts);
        self.render("sanity.html", &page, &ctx)
    }

    fn upstream_page(&mut self) -> Result<(), SiteError> {
        let page = "upstream.html";
        let link = self.linker(page);
        let chart = chart::coverage_chart(self.data, self.from_day);
        let charts = if chart.is_empty() {
            Vec::new()
        } else {
            self.charts("upstream", std::slice::from_ref(&chart))?
        };
        let latest = self
            .data
            .upstream_coverage
            .iter()
            .map(|r| r.date.as_str())
            .max()
            .unwrap_or_default()
            .to_owned();
        let rows: Vec<serde_json::Value> = self
            .data
            .upstream_coverage
            .iter()
            .filter(|r| r.date == latest)
            .map(|r| json!({"section": r.section, "category": r.category, "amd": r.amd, "nvidia": r.nvidia,
                            "coverage": r.coverage_pct.map(|c| format!("{c:.0}%")), "href": link.log(&r.file)}))
            .collect();
        let mut ctx = self.base_context(page, "Upstream CI coverage");
        ctx.insert("charts", &charts);
        ctx.insert("latest", &iso(&latest));
        ctx.insert("rows", &rows);
        self.render("upstream.html", page, &ctx)
    }

    /// Per-month CSV, JSON and Parquet files of every table; `downloads.html` lists the years,
    /// one page per year lists its months. An update writes only its months and years.
    /// Puts the download files encoded so far (all of them with `wait`: until the encoder is
    /// done), handing parts to the output as they fill.
    fn take_downloads(&mut self, wait: bool) -> Result<(), SiteError> {
        let Some(rx) = self.incoming.take() else {
            return Ok(());
        };
        loop {
            let batch = if wait {
                match rx.recv() {
                    Ok(b) => b,
                    Err(_) => return Ok(()),
                }
            } else {
                match rx.try_recv() {
                    Ok(b) => b,
                    Err(std::sync::mpsc::TryRecvError::Empty) => break,
                    Err(std::sync::mpsc::TryRecvError::Disconnected) => return Ok(()),
                }
            };
            for (path, bytes) in batch? {
                self.put(path, bytes);
            }
            self.flush_if_full()?;
        }
        self.incoming = Some(rx);
        Ok(())
    }

    /// The download files (every table's rows by month as CSV, JSON and Parquet, from
    /// [`encode_downloads`]) and the downloads pages.
    fn downloads(&mut self, pick: &Pick<'_>, plan: &DownloadPlan) -> Result<(), SiteError> {
        self.take_downloads(true)?;
        let (months, names) = (&plan.months, &plan.names);
        let mut years: BTreeMap<String, Vec<&String>> = BTreeMap::new();
        for m in months {
            years
                .entry(year_of(&m.replace('-', "")))
                .or_default()
                .push(m);
        }
        let page = "downloads.html";
        let link = self.linker(page);
        let listing: Vec<Link> = years
            .keys()
            .rev()
            .map(|y| Link {
                text: y.clone(),
                href: link.page(&format!("downloads/{y}.html")),
            })
            .collect();
        if pick.globals {
            let mut ctx = self.base_context(page, "Downloads");
            ctx.insert("years", &listing);
            self.render("downloads.html", page, &ctx)?;
        }
        for (year, ms) in years {
            if !ms.iter().any(|m| pick.month(m)) {
                continue;
            }
            let page = format!("downloads/{year}.html");
            let link = self.linker(&page);
            let rows: Vec<serde_json::Value> = ms
                .iter()
                .rev()
                .map(|m| {
                    let files: Vec<serde_json::Value> = names
                        .iter()
                        .map(|t| {
                            let stem = format!("data/{t}/{m}");
                            json!({"table": t,
                                   "csv": link.page(&format!("{stem}.csv")),
                                   "json": link.page(&format!("{stem}.json")),
                                   "parquet": link.page(&format!("{stem}.parquet"))})
                        })
                        .collect();
                    json!({"month": m, "files": files})
                })
                .collect();
            let mut ctx = self.base_context(&page, &format!("Downloads · {year}"));
            ctx.insert("year", &year);
            ctx.insert("tables", names);
            ctx.insert("months", &rows);
            self.render("downloads_year.html", &page, &ctx)?;
        }
        Ok(())
    }
}

/// Table months encoded at once (see [`encode_downloads`]): enough to keep every core busy,
/// and few, because they are encoded beside the pages and add to their memory (32 at once, with
/// two batches waiting, raised the peak of a first site at 100x from 153 to 164 MB).
const DOWNLOAD_BATCH: usize = 8;

/// One batch of encoded download files, or why encoding stopped.
type DownloadBatch = Result<Vec<(String, Vec<u8>)>, SiteError>;

/// The download files a render makes: every known month gets a file of every table (maybe only
/// a header), so that links never break, also after an update that did not load old months.
struct DownloadPlan {
    months: BTreeSet<String>,
    /// The tables' names, in the order of [`Rows::table_rows`].
    names: Vec<&'static str>,
    /// One part per table and month `pick` selects: (the table's place, the month, its rows'
    /// places), made into rows only when it is encoded.
    parts: Vec<(usize, String, Vec<usize>)>,
}

impl DownloadPlan {
    fn of(data: &Rows, pick: &Pick<'_>) -> DownloadPlan {
        let sets = data.table_rows();
        let row_months: Vec<Vec<String>> = sets.iter().map(|t| t.months()).collect();
        let mut months: BTreeSet<String> = data.months.clone();
        months.extend(row_months.iter().flatten().cloned());
        let mut parts = Vec::new();
        for (k, of_rows) in row_months.iter().enumerate() {
            let mut by_month: BTreeMap<&str, Vec<usize>> =
                months.iter().map(|m| (m.as_str(), Vec::new())).collect();
            for (i, m) in of_rows.iter().enumerate() {
                if let Some(rows) = by_month.get_mut(m.as_str()) {
                    rows.push(i);
                }
            }
            for (month, rows) in by_month {
                if pick.month(month) {
                    parts.push((k, month.to_owned(), rows));
                }
            }
        }
        DownloadPlan {
            names: sets.iter().map(|t| t.schema().name).collect(),
            months,
            parts,
        }
    }
}

/// Encodes the planned download parts on every core a batch at a time, sending each batch (the
/// three encodings of a month are the bulk of a full build, and a long history's rows as JSON
/// are many times their typed size). Stops at the first error, after sending it, or when the
/// renderer is gone.
fn encode_downloads(
    data: &Rows,
    parts: &[(usize, String, Vec<usize>)],
    tx: &std::sync::mpsc::SyncSender<DownloadBatch>,
) {
    let sets = data.table_rows();
    for batch in parts.chunks(DOWNLOAD_BATCH) {
        let files: DownloadBatch = in_pool(|| {
            batch
                .par_iter()
                .map(|(k, month, rows)| {
                    let set = &sets[*k];
                    let part = set.table_of(rows).map_err(|e| SiteError::Download {
                        table: set.schema().name.to_owned(),
                        reason: e.to_string(),
                    })?;
                    download_files(&format!("data/{}/{month}", set.schema().name), &part)
                })
                .collect::<Result<Vec<_>, _>>()
                .map(|f| f.into_iter().flatten().collect())
        });
        let failed = files.is_err();
        if tx.send(files).is_err() || failed {
            return;
        }
    }
}

/// A month's CSV, JSON and Parquet files of one table.
fn download_files(stem: &str, part: &Table) -> Result<Vec<(String, Vec<u8>)>, SiteError> {
    let err = |reason: String| SiteError::Download {
        table: part.schema.name.to_owned(),
        reason,
    };
    let mut csv = Vec::new();
    part.write_csv(&mut csv).map_err(|e| err(e.to_string()))?;
    let mut js = Vec::new();
    part.write_json(&mut js).map_err(|e| err(e.to_string()))?;
    let pq = part.to_parquet().map_err(|e| err(e.to_string()))?;
    Ok(vec![
        (format!("{stem}.csv"), csv),
        (format!("{stem}.json"), js),
        (format!("{stem}.parquet"), pq),
    ])
}

fn run_title(r: &records::RunRow) -> String {
    let what = match (&r.model, r.variant.as_deref()) {
        (Some(m), Some(v)) if !v.is_empty() => format!("{m} {v}"),
        (Some(m), _) => m.clone(),
        (None, _) => r.kind.clone(),
    };
    format!("{} {what} · {}", r.kind, r.docker_tag)
}

/// The run's profiler traces (F22): per trace, its link and its top kernels and operators.
fn trace_views(
    kernels: &[&records::KernelRow],
    dir: &str,
    link: &Linker<'_>,
) -> Vec<serde_json::Value> {
    // Each trace once, in the order its rows come.
    let mut traces: Vec<&str> = Vec::new();
    for k in kernels {
        if !traces.contains(&k.trace.as_str()) {
            traces.push(&k.trace);
        }
    }
    traces
        .iter()
        .map(|t| {
            let entries = |kind: &str| -> Vec<serde_json::Value> {
                kernels
                    .iter()
                    .filter(|k| k.trace == *t && k.kind == kind)
                    .take(15)
                    .map(|k| {
                        json!({"short": k.short, "name": k.name, "calls": k.calls,
                               "total_us": num(Some(k.total_us)), "share": pct(Some(k.share))})
                    })
                    .collect()
            };
            let stage = kernels
                .iter()
                .find(|k| k.trace == *t)
                .map_or("all", |k| k.stage.as_str());
            json!({"trace": t, "stage": stage, "href": link.log(&format!("{dir}/{t}")),
                   "kernels": entries("kernel"), "operators": entries("operator")})
        })
        .collect()
}

/// MFU as a percentage with two decimals (single-digit MFU is common in decode).
fn mfu(v: Option<f64>) -> String {
    v.map_or_else(String::new, |v| format!("{:.2}%", v * 100.0))
}

/// Everything known about one run (the run page and the run report).
fn run_context(
    data: &page_rows::RunRows<'_>,
    run: &records::RunRow,
    link: &Linker<'_>,
    run_dirs: &BTreeSet<&str>,
) -> serde_json::Value {
    let dir = run.run_dir.as_str();
    let serving: Vec<serde_json::Value> = data
        .serving
        .iter()
        .map(|s| {
            json!({
                "load": chart::load_label("", s.load_kind.as_str(), s.load),
                "e2e": num(s.e2e_ms), "ttft": num(s.ttft_ms), "itl": num(s.itl_ms),
                "tpot": num(s.tpot_ms), "p99_ttft": num(s.p99_ttft_ms), "p99_itl": num(s.p99_itl_ms),
                "output_throughput": num(s.output_throughput),
                "request_throughput": num(s.request_throughput),
                "per_gpu": num(s.tokens_per_s_per_gpu), "mfu": mfu(s.mfu),
                "completed": s.completed, "requested": s.requested, "partial": s.partial,
                "runs": s.runs, "runs_with_result": s.runs_with_result, "source": s.source,
                // `best_log` is a file name inside the run folder.
                "best_log": s.best_log.as_deref().map(|f| link.log(&format!("{dir}/{f}"))),
            })
        })
        .collect();
    let first = data.serving.first().copied();
    let accuracy: Vec<serde_json::Value> = data
        .accuracy
        .iter()
        .map(|a| {
            json!({"accuracy": pct(a.accuracy), "threshold": pct(Some(a.threshold)),
                   "passed": a.passed, "runs": a.runs, "valid_runs": a.valid_runs,
                   "total_runs": a.total_runs, "sessions": a.sessions, "source": a.source,
                   "final_kind": a.final_kind})
        })
        .collect();
    let offline: Vec<serde_json::Value> = data
        .offline
        .iter()
        .map(|o| {
            json!({"tp": o.tp, "batch_size": o.batch_size, "input_len": o.input_len,
                   "output_len": o.output_len, "e2e_latency": num(o.e2e_latency_s),
                   "e2e_throughput": num(o.e2e_throughput),
                   "prefill_latency": num(o.prefill_latency_s),
                   "decode_latency": num(o.decode_median_latency_s),
                   "per_gpu": num(o.tokens_per_s_per_gpu), "mfu": mfu(o.mfu),
                   "prefill_mfu": mfu(o.prefill_mfu), "decode_mfu": mfu(o.decode_mfu)})
        })
        .collect();
    let traces = trace_views(&data.kernels, dir, link);
    let sanity: Vec<SanityView> = data
        .sanity_models
        .iter()
        .map(|s| sanity_view(s, link))
        .collect();
    let trials: Vec<serde_json::Value> = data
        .sanity
        .iter()
        .map(|s| {
            json!({"model": s.model, "trial": s.trial, "accuracy": pct(s.accuracy),
                   "error": s.error, "href": link.log(&s.file)})
        })
        .collect();
    let pd: Vec<serde_json::Value> = data
        .pd
        .iter()
        .map(|p| {
            json!({"model": p.model, "status": p.status, "gsm8k": pct(p.gsm8k_accuracy),
                   "verdict": p.gsm8k_verdict, "tests": format!("{}/{}", p.tests_passed, p.tests_total),
                   "pending": p.tests_pending, "health_wait_s": p.health_wait_s, "total_s": p.total_s,
                   "failure_class": p.failure_class, "evidence": p.evidence})
        })
        .collect();
    let tasks: Vec<TaskView> = data
        .tasks
        .iter()
        .map(|t| task_view(t, run_dirs, link))
        .collect();
    let files: Vec<FileView> = data.files.iter().map(|f| file_view(f, dir, link)).collect();
    json!({
        "title": run_title(run),
        "kind": run.kind,
        "run_id": run.run_id,
        "run_dir": run.run_dir,
        "hardware": run.hardware,
        "image": run.docker_tag,
        "date": iso(&run.date),
        "model": run.model,
        "variant": run.variant,
        "host": run.host,
        "started_at": run.started_at,
        "note": run.note,
        "sglang_version": run.sglang_version.clone().or_else(|| first.map(|s| s.sglang_version.clone())),
        "sglang_commit": run.sglang_commit,
        "image_ref": run.image_ref.as_deref().filter(|r| *r != run.docker_tag),
        "image_digest": run.image_digest,
        "torch": run.torch,
        "gpu": run.gpu,
        "config_hash": run.config_hash,
        "rocm": first.map(|s| s.rocm.clone()),
        "kv_cache_tokens": first.and_then(|s| s.kv_cache_tokens),
        "kv_cache_gb": first.and_then(|s| s.kv_cache_gb).map(|g| num(Some(g))),
        "night_href": link.page(&paths::night_page(&run.hardware, &run.date)),
        "model_href": run.model.as_deref().filter(|_| first.is_some()).map(|m| link.page(&paths::model_page(&run.hardware, m))),
        "tasks": tasks,
        // F70 columns only where the run recorded its model's shape (efficiency.json).
        "efficiency": data.serving.iter().any(|s| s.mfu.is_some() || s.tokens_per_s_per_gpu.is_some())
            || data.offline.iter().any(|o| o.mfu.is_some() || o.tokens_per_s_per_gpu.is_some()),
        "serving": serving,
        "accuracy": accuracy,
        "offline": offline,
        "traces": traces,
        "sanity": sanity,
        "trials": trials,
        "pd": pd,
        "files": files,
    })
}

/// The daily summary of predecessor.md 5.2 as a template context. Always produced, whatever the
/// night's image: a missing image is stated, never a reason to drop the summary.
pub fn daily_summary_context(
    data: &Rows,
    hw: &str,
    date: &str,
    logs_base: &str,
    root: &str,
) -> Context {
    let tasks: Vec<&TaskRow> = data
        .tasks
        .iter()
        .filter(|t| t.hardware == hw && t.date == date)
        .collect();
    let sanity: Vec<&records::SanityModelRow> = data
        .sanity_models
        .iter()
        .filter(|s| s.hardware == hw && s.date == date)
        .collect();
    let run_dirs: BTreeSet<&str> = data.runs.iter().map(|r| r.run_dir.as_str()).collect();
    daily_summary_context_of(&tasks, &sanity, &run_dirs, hw, date, logs_base, root)
}

/// [`daily_summary_context`] from the night's tasks and sanity models, and every run folder.
fn daily_summary_context_of(
    tasks: &[&TaskRow],
    sanity: &[&records::SanityModelRow],
    run_dirs: &BTreeSet<&str>,
    hw: &str,
    date: &str,
    logs_base: &str,
    root: &str,
) -> Context {
    let link = Linker {
        root: root.to_owned(),
        logs_base,
    };
    let sanity: Vec<SanityView> = sanity.iter().map(|s| sanity_view(s, &link)).collect();
    // Sanity models count as individual tasks; the "Sanity Check" task itself does not.
    let states = tasks
        .iter()
        .filter(|t| t.task != "sanity")
        .map(|t| t.status)
        .chain(sanity.iter().map(|s| match s.status.as_str() {
            "pass" => records::TaskState::Pass,
            "fail" => records::TaskState::Fail,
            "not run" => records::TaskState::NotRun,
            _ => records::TaskState::Unknown,
        }));
    let c = counts(states);
    let total = c.pass + c.fail + c.not_run + c.unknown;
    let views: Vec<TaskView> = tasks
        .iter()
        .filter(|t| t.task != "sanity")
        .map(|t| task_view(t, run_dirs, &link))
        .collect();
    let sanity_task = tasks
        .iter()
        .find(|t| t.task == "sanity")
        .map(|t| task_view(t, run_dirs, &link));
    let mut ctx = Context::new();
    ctx.insert("date", &iso(date));
    ctx.insert("hw", hw);
    ctx.insert("image", &night_image(tasks));
    ctx.insert("counts", &c);
    ctx.insert("ran", &(c.pass + c.fail));
    ctx.insert("total", &total);
    ctx.insert("groups", &grouped(views));
    ctx.insert("sanity", &sanity);
    ctx.insert("sanity_task", &sanity_task);
    ctx.insert("cron_href", &link.log(&format!("cron_log/{hw}/{date}")));
    ctx
}
