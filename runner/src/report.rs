//! F21 how the runner shows progress: plain lines on a terminal or in a log, and in GitHub
//! Actions (`GITHUB_ACTIONS=true`) collapsible groups, annotations on the run page, and a job
//! summary (markdown appended to `$GITHUB_STEP_SUMMARY`). The formatting is pure; the shell
//! writes it.

/// Where the runner runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    Terminal,
    GitHubActions,
}

impl Surface {
    /// From the environment GitHub Actions sets (passed in, so this stays testable).
    pub fn detect(github_actions: Option<&str>) -> Self {
        if github_actions == Some("true") {
            Self::GitHubActions
        } else {
            Self::Terminal
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Notice,
    Warning,
    Error,
}

/// Escapes a workflow command's message (`%`, CR, LF).
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value (also `:` and `,`).
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// The line that opens a group.
pub fn group_start(surface: Surface, title: &str) -> String {
    match surface {
        Surface::GitHubActions => format!("::group::{}", escape_data(title)),
        Surface::Terminal => format!("== {title}"),
    }
}

/// The line that closes a group (none on a terminal).
pub fn group_end(surface: Surface) -> Option<String> {
    (surface == Surface::GitHubActions).then(|| "::endgroup::".to_owned())
}

/// An annotation: shown on the workflow run's page in GitHub Actions, a tagged line otherwise.
/// `file` and `line` point at evidence (a log line).
pub fn annotation(
    surface: Surface,
    level: Level,
    title: &str,
    message: &str,
    file: Option<(&str, usize)>,
) -> String {
    match surface {
        Surface::GitHubActions => {
            let kind = match level {
                Level::Notice => "notice",
                Level::Warning => "warning",
                Level::Error => "error",
            };
            let mut props = vec![format!("title={}", escape_property(title))];
            if let Some((f, l)) = file {
                props.push(format!("file={}", escape_property(f)));
                props.push(format!("line={l}"));
            }
            format!("::{kind} {}::{}", props.join(","), escape_data(message))
        }
        Surface::Terminal => {
            let tag = match level {
                Level::Notice => "note",
                Level::Warning => "warning",
                Level::Error => "error",
            };
            match file {
                Some((f, l)) => format!("{tag}: {title}: {message} ({f}:{l})"),
                None => format!("{tag}: {title}: {message}"),
            }
        }
    }
}

/// One row of the job summary.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRow {
    pub job: String,
    pub status: String,
    pub detail: String,
}

/// The job summary as GitHub-flavoured markdown (cells escaped).
pub fn summary(title: &str, rows: &[SummaryRow]) -> String {
    let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let mut out = format!(
        "### {}\n\n| Job | Status | Detail |\n|---|---|---|\n",
        cell(title)
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            cell(&r.job),
            cell(&r.status),
            cell(&r.detail)
        ));
    }
    out
}

/// A text progress bar (`[#####.....] 5/10 label`) for terminals.
pub fn progress(done: usize, total: usize, label: &str) -> String {
    let width = 20;
    let filled = (done.min(total) * width)
        .checked_div(total)
        .unwrap_or(width);
    format!(
        "[{}{}] {done}/{total} {label}",
        "#".repeat(filled),
        ".".repeat(width - filled)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_actions_commands_are_escaped() {
        let gh = Surface::detect(Some("true"));
        assert_eq!(group_start(gh, "GROK1 rate 8"), "::group::GROK1 rate 8");
        assert_eq!(group_end(gh).as_deref(), Some("::endgroup::"));
        assert_eq!(
            annotation(gh, Level::Error, "GSM8K gate: 0.41 < 0.8", "server died\n100% done", Some(("logs/server.log", 812))),
            "::error title=GSM8K gate%3A 0.41 < 0.8,file=logs/server.log,line=812::server died%0A100%25 done"
        );
        let t = Surface::detect(None);
        assert_eq!(group_end(t), None);
        assert_eq!(
            annotation(t, Level::Warning, "stale image", "yesterday's", None),
            "warning: stale image: yesterday's"
        );
    }

    #[test]
    fn summary_and_progress() {
        let s = summary(
            "mi30x nightly",
            &[SummaryRow {
                job: "grok-online/GROK1".into(),
                status: "fail".into(),
                detail: "a|b".into(),
            }],
        );
        assert!(s.contains("| grok-online/GROK1 | fail | a\\|b |"), "{s}");
        assert_eq!(
            progress(5, 10, "rate 4"),
            "[##########..........] 5/10 rate 4"
        );
        assert_eq!(progress(0, 0, "x"), "[####################] 0/0 x");
    }
}
