//! Command-line types (clap derive only; no logic here).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Turns SGLang benchmark runs into a consolidated history, regression findings, a static
/// site and notifications.
///
/// `ingest --pending` takes the bundles runners announced (the Lambda's twin); `ingest --legacy
/// DIR` backfills the predecessor's log tree; `site` renders the dashboard and `serve` previews
/// it; `regressions`, `compare`, `summary` and `notify` report. Exit codes: 0 ok, 1 some input
/// failed (kept with its reason), 2 usage or configuration, 3 the store or the network failed.
#[derive(Debug, Parser)]
#[command(name = "sglci-publisher", version, about)]
pub struct Cli {
    /// Where the history lives: a directory path, a file:// URL, or s3://BUCKET[/PREFIX] (with
    /// the standard AWS environment; AWS_ENDPOINT_URL for an emulator).
    #[arg(
        long,
        env = "SGLCI_STORE",
        default_value = "./sglci-data",
        global = true
    )]
    pub store: String,

    /// The triage file (mutes, acknowledgements, notes); default `<store>/triage.toml` when it
    /// exists. Keep it in the log repository.
    #[arg(long, env = "SGLCI_TRIAGE", global = true, value_name = "FILE")]
    pub triage: Option<PathBuf>,

    #[command(subcommand)]
    pub command: CliCommand,
}

#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Ingest results into the history.
    Ingest(CliIngest),
    /// Write one history table to stdout.
    Export(CliExport),
    /// List the history tables with their row counts.
    Tables,
    /// Render the static site (dashboard, trend charts, run pages, downloads) into a directory.
    Site(CliSite),
    /// Preview a rendered site on http://127.0.0.1:PORT/ (Ctrl-C stops it).
    Serve(CliServe),
    /// Print the daily summary (markdown) of a night on one hardware.
    Summary(CliSummary),
    /// The current regression findings (open ones; --all adds recovered ones).
    Regressions(CliRegressions),
    /// Compare two runs (a run folder or run id each) for a PR comment: B against A.
    Compare(CliCompare),
    /// Publish to GitHub: the runs' raw files to the log repository (append-only, the
    /// predecessor's paths, so existing links keep working) and a rendered site to the Pages
    /// branch (its history bounded by --keep). --dry-run shows what would be pushed.
    Publish(CliPublish),
    /// Send a notification: the daily summary, the regressions, or a comparison.
    Notify(CliNotify),
}

#[derive(Debug, clap::Args)]
pub struct CliNotify {
    #[command(subcommand)]
    pub what: CliNotifyWhat,
    /// Where to: `stdout` (markdown), `dir:PATH` (JSON files), `teams` (SGLCI_TEAMS_WEBHOOK_URL),
    /// `github-pr:N` (a PR comment updated in place), `github-issues` (one issue per open
    /// regression; recovered ones are closed). GitHub needs GITHUB_TOKEN and GITHUB_REPOSITORY.
    #[arg(long, global = true, default_value = "stdout")]
    pub to: String,
    /// Base URL of the published dashboard, for links.
    #[arg(long, global = true, env = "SGLCI_DASHBOARD_URL")]
    pub dashboard: Option<String>,
    /// Prefix of links to raw log files.
    #[arg(long, global = true, default_value = "logs/")]
    pub logs_url: String,
}

#[derive(Debug, Subcommand)]
pub enum CliNotifyWhat {
    /// The daily summary of a night (the latest when --date is omitted): the night's tasks,
    /// tasks that did not run, open regressions and recent improvements.
    Summary {
        /// Hardware; repeatable or comma-separated.
        #[arg(long, required = true, value_delimiter = ',')]
        hardware: Vec<String>,
        #[arg(long)]
        date: Option<String>,
        /// Through the outbox, as the scheduled Lambda does: a summary already sent for this
        /// hardware and night is not sent again (for cron). `--to` is teams, dir:PATH or stdout.
        #[arg(long)]
        once: bool,
    },
    /// The cards of a night: one per online benchmark run, sanity, image check, unit and PD.
    Cards {
        #[arg(long)]
        hardware: String,
        #[arg(long)]
        date: Option<String>,
    },
    /// The open regressions (for github-issues: also closes recovered ones).
    Regressions,
    /// The comparison of run B against run A.
    Compare { a: String, b: String },
    /// A recorded A/B comparison (`sglci-runner ab`'s `comparison.json`), e.g. as the PR
    /// comment, edited in place on every re-run for the same hardware and suite.
    Ab { record: std::path::PathBuf },
}

#[derive(Debug, clap::Args)]
pub struct CliCompare {
    /// The baseline run.
    pub a: String,
    /// The candidate run.
    pub b: String,
    /// Compare runs of another model, kind or load kind anyway (refused otherwise, exit 2);
    /// the report is marked as forced.
    #[arg(long)]
    pub force: bool,
    /// A fixed threshold in percent (e.g. 5) instead of each series' noise band.
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Output format (markdown or json).
    #[arg(long, value_enum, default_value_t = CliReportFormat::Markdown)]
    pub format: CliReportFormat,
}

#[derive(Debug, clap::Args)]
pub struct CliRegressions {
    /// Output format.
    #[arg(long, value_enum, default_value_t = CliReportFormat::Markdown)]
    pub format: CliReportFormat,
    /// Also list findings that have recovered.
    #[arg(long)]
    pub all: bool,
    /// List improvements beyond the noise band instead: the same detector and rules, the other
    /// direction.
    #[arg(long)]
    pub improvements: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CliReportFormat {
    Csv,
    Markdown,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct CliSite {
    /// Output directory (replaced if it holds an earlier site; refused if it holds anything else).
    #[arg(long, value_name = "DIR", default_value = "./sglci-site")]
    pub out: PathBuf,
    /// Read templates from this directory instead of the embedded copy of site-templates/.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// Days of nights shown by trend charts and heatmaps.
    #[arg(long, default_value_t = 180, value_parser = clap::value_parser!(i64).range(1..=36500))]
    pub window_days: i64,
    /// Prefix of links to raw log files: a URL of the log repository
    /// (https://github.com/ORG/REPO/blob/log/) or a site-relative path (`serve --logs` serves `logs/`).
    #[arg(long, value_name = "URL", default_value = "logs/")]
    pub logs_url: String,
    /// Skip the PNG figures (SVG only).
    #[arg(long)]
    pub no_png: bool,
}

#[derive(Debug, clap::Args)]
pub struct CliServe {
    /// The rendered site.
    #[arg(long, value_name = "DIR", default_value = "./sglci-site")]
    pub dir: PathBuf,
    /// A raw log tree to serve under /logs/ (for example the ingested legacy directory, or the
    /// runner's `sglci-runs`); repeatable, tried in order.
    #[arg(long, value_name = "DIR")]
    pub logs: Vec<PathBuf>,
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
}

#[derive(Debug, clap::Args)]
pub struct CliSummary {
    /// Hardware (mi30x, mi35x, ...).
    #[arg(long)]
    pub hardware: String,
    /// Night YYYYMMDD; the latest night with data when omitted.
    #[arg(long)]
    pub date: Option<String>,
    /// Prefix of links to raw log files.
    #[arg(long, value_name = "URL", default_value = "logs/")]
    pub logs_url: String,
}

#[derive(Debug, clap::Args)]
pub struct CliIngest {
    /// Backfill a predecessor log tree (the layout of ../shared/fixtures/sglang-ci-log).
    #[arg(
        long,
        value_name = "DIR",
        required_unless_present = "pending",
        conflicts_with = "pending"
    )]
    pub legacy: Option<PathBuf>,
    /// Ingest the bundles the queue announces (the CLI twin of the Lambda). A bad bundle's reason
    /// is kept under quarantine/ in the store; a spool queue sets it aside in failed/, SQS
    /// retries it until its redrive policy dead-letters it.
    #[arg(long)]
    pub pending: bool,
    /// The queue: a spool directory (default: `<store>/queue`) or an SQS queue URL.
    #[arg(long, env = "SGLCI_QUEUE", value_name = "DIR|URL")]
    pub queue: Option<String>,
    /// With --pending: bring the site up to date (only the pages the new runs touch when it holds
    /// an earlier site; the whole site otherwise): a directory, or `store:PREFIX` in the store.
    #[arg(long, value_name = "DIR|store:PREFIX", requires = "pending")]
    pub site: Option<String>,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// With --pending: push each committed run's raw files to this log repository (a path,
    /// file:// or https:// URL; `#BRANCH` picks the branch, `log` by default), append-only.
    #[arg(long, value_name = "REMOTE", env = "SGLCI_LOG_REPO")]
    pub log_repo: Option<String>,
    /// With --pending: push the updated site (--site) to this Pages repository (`#BRANCH`,
    /// `gh-pages` by default), its history bounded.
    #[arg(long, value_name = "REMOTE", env = "SGLCI_PAGES")]
    pub pages: Option<String>,
    /// With --pending: where cards and issues go, repeatable or comma-separated: `teams`
    /// (SGLCI_TEAMS_WEBHOOK_URL), `github-issues` (GITHUB_REPOSITORY, GITHUB_TOKEN), `dir:PATH`,
    /// `stdout`. Each effect happens once, through the outbox in the store.
    #[arg(
        long,
        value_name = "TARGET",
        env = "SGLCI_NOTIFY",
        value_delimiter = ','
    )]
    pub notify: Vec<String>,
    /// Base URL of the published dashboard, for links in cards and issues.
    #[arg(long, env = "SGLCI_DASHBOARD_URL")]
    pub dashboard: Option<String>,
    /// Prefix of links to raw log files on the site (the log repository's URL once published).
    #[arg(
        long,
        value_name = "URL",
        env = "SGLCI_LOGS_URL",
        default_value = "logs/"
    )]
    pub logs_url: String,
}

#[derive(Debug, clap::Args)]
pub struct CliExport {
    /// Table: serving, accuracy, offline, sanity, sanity_models, pd, unit, image_check,
    /// upstream_coverage, tasks, runs, quarantine, ab; or failure-stats (failure classes per
    /// hardware and ISO week, derived from tasks).
    pub table: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CliFormat::Csv)]
    pub format: CliFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CliFormat {
    Csv,
    Json,
    Parquet,
    /// The PyTorch OSS benchmark database's records (schema v3; `serving` or `offline`).
    Pytorch,
}

#[derive(Debug, clap::Args)]
pub struct CliPublish {
    /// The log repository (a path, file:// or https:// URL); its branch gets every stored
    /// bundle's files at their log-layout paths.
    #[arg(long, value_name = "REMOTE", env = "SGLCI_LOG_REPO")]
    pub log_repo: Option<String>,
    #[arg(long, default_value = "log")]
    pub log_branch: String,
    /// A rendered site directory to publish to --pages.
    #[arg(long, value_name = "DIR")]
    pub site: Option<PathBuf>,
    /// The Pages repository (a path, file:// or https:// URL).
    #[arg(long, value_name = "REMOTE", env = "SGLCI_PAGES_REPO")]
    pub pages: Option<String>,
    #[arg(long, default_value = "gh-pages")]
    pub pages_branch: String,
    /// Commits the Pages branch keeps; at the bound its history restarts from one commit.
    #[arg(long, default_value_t = 10)]
    pub keep: usize,
    /// Show what would be pushed; push nothing.
    #[arg(long)]
    pub dry_run: bool,
}
