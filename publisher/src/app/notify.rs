//! `notify`: the daily summary, a night's cards, the open regressions or a comparison, to a
//! file, stdout, Teams or GitHub; and the triage file that mutes or acknowledges findings.

use std::collections::BTreeMap;
use std::path::Path;

use sglci_core::store::{Key, ObjectStore, StoreError};

use super::{compare, detection_data, load_site_data, night_or_latest, AppError};
use crate::history::History;
use crate::site::templates::Templates;

/// What `notify` sends.
#[derive(Debug, Clone)]
pub enum NotifyWhat {
    Summary {
        hardware: Vec<String>,
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
    /// A recorded A/B comparison.
    Ab(Box<sglci_core::ab::AbRecord>),
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
            let mut out = Vec::new();
            for hw in hardware {
                let date = night_or_latest(&data, hw, date.as_deref())?;
                out.push(super::summary_notification(
                    store, &templates, hw, &date, logs_base, dashboard,
                )?);
            }
            out
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
            let c = compare(store, a, b, &crate::compare::CompareOptions::default())?;
            vec![build::comparison(&c)]
        }
        NotifyWhat::Ab(r) => vec![build::ab(r)],
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
