//! Pure builders: notifications from the history (daily summary, regression, comparison).

use sglci_core::records::{FindingState, ModelStatus, RegressionRow, TaskState};
use sglci_core::ImageTag;

use super::{mark_stale, Notification, Status};
use crate::compare::{to_markdown, Comparison};
use crate::rows::Rows;
use crate::site::templates::{chain, Templates};
use crate::site::views::{pct, runtime, state_icon};
use sglci_core::date::iso;

/// The daily summary of predecessor.md 5.2 for one hardware and night. Always built (a missing
/// or stale image is stated, never a reason to drop the report).
pub fn daily_summary(
    rows: &Rows,
    t: &Templates,
    hw: &str,
    date: &str,
    logs_base: &str,
    dashboard: Option<&str>,
) -> Result<Notification, String> {
    let ctx = crate::site::daily_summary_context(rows, hw, date, logs_base, "");
    let markdown = t
        .tera
        .render("daily_summary.md", &ctx)
        .map_err(|e| chain(&e))?;
    let tasks: Vec<_> = rows
        .tasks
        .iter()
        .filter(|x| x.hardware == hw && x.date == date && x.task != "sanity")
        .collect();
    let image = crate::site::views::night_image(&tasks);
    let (mut pass, mut fail, mut other) = (0, 0, 0);
    let mut lines = Vec::new();
    for x in &tasks {
        match x.status {
            TaskState::Pass => pass += 1,
            TaskState::Fail => fail += 1,
            _ => other += 1,
        }
        let mut line = format!(
            "{} **{}**: {}",
            state_icon(x.status),
            x.task_name,
            x.status.as_str()
        );
        if let Some(a) = x.gsm8k_accuracy {
            line.push_str(&format!(" (GSM8K {})", pct(Some(a))));
        }
        let rt = runtime(x.runtime_minutes);
        if !rt.is_empty() {
            line.push_str(&format!(" [{rt}]"));
        }
        if x.status == TaskState::Fail {
            line.push_str(&format!(" · {}", x.reason));
            if let Some(c) = &x.failure_class {
                line.push_str(&format!(" (`{c}`)"));
            }
        }
        lines.push(line);
    }
    let sanity: Vec<_> = rows
        .sanity_models
        .iter()
        .filter(|s| s.hardware == hw && s.date == date)
        .collect();
    if !sanity.is_empty() {
        let ok = sanity
            .iter()
            .filter(|s| s.status == ModelStatus::Pass)
            .count();
        lines.push(format!("**Sanity:** {ok}/{} models passed", sanity.len()));
    }
    let status = if fail > 0 {
        Status::Error
    } else if other > 0 {
        Status::Warning
    } else {
        Status::Good
    };
    let mut links = vec![(
        "📋 Job logs".to_owned(),
        format!("{logs_base}cron_log/{hw}/{date}"),
    )];
    if let Some(d) = dashboard {
        links.push((
            "📊 Dashboard".to_owned(),
            format!(
                "{}/{}",
                d.trim_end_matches('/'),
                crate::site::paths::night_page(hw, date)
            ),
        ));
    }
    let mut n = Notification {
        kind: "daily_summary".to_owned(),
        key: format!("daily:{hw}:{date}"),
        title: format!("{} Daily CI Summary Report · {hw}", iso(date)),
        status,
        facts: vec![
            ("Hardware".to_owned(), hw.to_owned()),
            (
                "Docker image".to_owned(),
                if image.is_empty() {
                    "unknown".to_owned()
                } else {
                    image.clone()
                },
            ),
            (
                "Tasks".to_owned(),
                format!("{pass} passed, {fail} failed, {other} not run or unknown"),
            ),
        ],
        lines,
        links,
        markdown,
    };
    let image_date = image.parse::<ImageTag>().ok().map(|t| t.date().to_owned());
    mark_stale(&mut n, image_date.as_deref(), date);
    Ok(n)
}

/// A regression as a notification; its markdown is the body of its GitHub issue.
pub fn regression(f: &RegressionRow, dashboard: Option<&str>) -> Notification {
    let series = crate::regress::report::series_label(&f.hardware, &f.model, &f.config);
    let change =
        crate::regress::report::change_words(f.metric.as_str(), f.change, f.current_change);
    let mut md = format!(
        "**{series}**: `{}` got worse by {change} at {} {}.\n\n\
| | |\n|---|---|\n\
| First bad image | `{}` ({}) |\n| Last good image | {} |\n| sglang | {} |\n\
| Alerted | {} |\n| Confidence | {} |\n| Direction | {} |\n",
        f.metric,
        f.load_kind,
        f.loads,
        f.first_bad_image,
        iso(&f.first_bad_date),
        f.last_good_image
            .as_deref()
            .map_or("none".to_owned(), |g| format!("`{g}`")),
        f.versions,
        iso(&f.alerted),
        if f.confirmed {
            format!("{:.1} % (change point)", f.confidence * 100.0)
        } else {
            "screen only".to_owned()
        },
        f.direction.as_str().replace('_', " "),
    );
    if !f.steps.is_empty() {
        md.push_str("\nSteps:\n\n");
        for s in &f.steps {
            md.push_str(&format!(
                "- {}={}: {:+.1} % from `{}`, last good `{}`\n",
                f.load_kind,
                s.load,
                s.change * 100.0,
                s.first_bad_image,
                s.last_good_image.as_deref().unwrap_or("none"),
            ));
        }
    }
    let mut links = Vec::new();
    if let Some(d) = dashboard {
        let url = format!(
            "{}/{}",
            d.trim_end_matches('/'),
            crate::site::paths::model_page(&f.hardware, &f.model)
        );
        md.push_str(&format!("\n[Trend charts]({url})\n"));
        links.push(("📈 Trend".to_owned(), url));
    }
    Notification {
        kind: "regression".to_owned(),
        key: format!("regression:{}", f.id),
        title: format!(
            "Regression: {series} {} {change} from {}",
            f.metric, f.first_bad_image
        ),
        status: if f.state == FindingState::Open {
            Status::Error
        } else {
            Status::Good
        },
        facts: vec![
            ("First bad image".to_owned(), f.first_bad_image.clone()),
            (
                "Last good image".to_owned(),
                f.last_good_image.clone().unwrap_or_default(),
            ),
            ("sglang".to_owned(), f.versions.clone()),
        ],
        lines: vec![format!(
            "{} {} {} at {} {}",
            series, f.metric, change, f.load_kind, f.loads
        )],
        links,
        markdown: md,
    }
}

/// A comparison as a PR comment (one per hardware, model and variant, updated in place).
pub fn comparison(c: &Comparison) -> Notification {
    Notification {
        kind: "compare".to_owned(),
        key: format!("compare:{}:{}:{}", c.hardware, c.model, c.variant),
        title: format!("{} {}: {} → {}", c.model, c.hardware, c.a.image, c.b.image),
        status: if c.verdict.starts_with("🔴") || c.verdict.starts_with("❌") {
            Status::Error
        } else {
            Status::Good
        },
        facts: vec![
            ("A".to_owned(), c.a.image.clone()),
            ("B".to_owned(), c.b.image.clone()),
        ],
        lines: vec![c.verdict.clone()],
        links: Vec::new(),
        markdown: to_markdown(c),
    }
}

/// A recorded A/B comparison: its markdown is the PR comment, keyed by hardware and suite so a
/// re-run edits the same comment.
pub fn ab(r: &sglci_core::ab::AbRecord) -> Notification {
    let worse = r.verdicts.iter().any(|(_, v)| v.contains("🔴"));
    Notification {
        kind: "ab".to_owned(),
        key: format!("ab:{}:{}", r.hardware, r.suite),
        title: format!(
            "A/B {} on {}: {}",
            r.suite,
            r.hardware,
            r.images
                .iter()
                .map(|i| i.reference.as_str())
                .collect::<Vec<_>>()
                .join(" vs ")
        ),
        status: if worse { Status::Error } else { Status::Good },
        facts: r
            .images
            .iter()
            .map(|i| (i.letter.clone(), i.reference.clone()))
            .collect(),
        lines: r.verdicts.iter().map(|(_, v)| v.clone()).collect(),
        links: Vec::new(),
        markdown: sglci_core::ab::to_markdown(r),
    }
}

fn link(dashboard: Option<&str>, title: &str, path: &str) -> Option<(String, String)> {
    dashboard.map(|d| {
        (
            title.to_owned(),
            format!("{}/{path}", d.trim_end_matches('/')),
        )
    })
}

fn status_of(s: TaskState) -> Status {
    match s {
        TaskState::Pass => Status::Good,
        TaskState::Fail => Status::Error,
        TaskState::NotRun | TaskState::Unknown => Status::Warning,
    }
}

/// The benchmark card of one online run (predecessor.md 5.1): status, image, host, GSM8K
/// against its gate, runtime, per-load medians and the open regressions of the model.
pub fn benchmark(rows: &Rows, run_dir: &str, dashboard: Option<&str>) -> Option<Notification> {
    let run = rows.runs.iter().find(|r| r.run_dir == run_dir)?;
    let model = run.model.clone().unwrap_or_default();
    let variant = run.variant.clone().unwrap_or_default();
    let task = rows
        .tasks
        .iter()
        .find(|t| t.source.as_deref() == Some(run_dir));
    let acc = rows.accuracy.iter().find(|a| a.run_dir == run_dir);
    let status = task.map_or(Status::Info, |t| status_of(t.status));
    let mut facts = vec![
        ("Docker image".to_owned(), run.docker_tag.clone()),
        ("Hardware".to_owned(), run.hardware.clone()),
    ];
    if let Some(h) = &run.host {
        facts.push(("Hostname".to_owned(), h.clone()));
    }
    if let Some(a) = acc {
        facts.push((
            "GSM8K".to_owned(),
            format!("{} (gate {})", pct(a.accuracy), pct(Some(a.threshold))),
        ));
    }
    if let Some(rt) = task
        .map(|t| runtime(t.runtime_minutes))
        .filter(|r| !r.is_empty())
    {
        facts.push(("Runtime".to_owned(), rt));
    }
    let mut lines = Vec::new();
    if let Some(t) = task {
        lines.push(format!(
            "{} **{}**: {}{}",
            state_icon(t.status),
            t.status.as_str(),
            t.reason,
            t.failure_class
                .map_or(String::new(), |c| format!(" (`{c}`)"))
        ));
    }
    let mut md = format!(
        "## {} {model} {variant} benchmark on {}\n\n",
        iso(&run.date),
        run.hardware
    );
    md.push_str(
        "| Load | E2E (ms) | TTFT (ms) | ITL (ms) | Output (tok/s) |\n|---:|---:|---:|---:|---:|\n",
    );
    for s in rows.serving.iter().filter(|s| s.run_dir == run_dir) {
        let f = |v: Option<f64>| v.map_or("missing".to_owned(), |v| format!("{v:.1}"));
        let load = crate::site::chart::load_label("", s.load_kind.as_str(), s.load);
        lines.push(format!(
            "{load}: E2E {} ms · TTFT {} ms · ITL {} ms",
            f(s.e2e_ms),
            f(s.ttft_ms),
            f(s.itl_ms)
        ));
        md.push_str(&format!(
            "| {load} | {} | {} | {} | {} |\n",
            f(s.e2e_ms),
            f(s.ttft_ms),
            f(s.itl_ms),
            f(s.output_throughput)
        ));
    }
    let open: Vec<&RegressionRow> = rows
        .regressions
        .iter()
        .filter(|f| {
            f.hardware == run.hardware
                && f.model == model
                && f.config == variant
                && f.state == FindingState::Open
        })
        .collect();
    for f in &open {
        lines.push(format!(
            "⚠️ Open regression: {} {:+.1} % since `{}`",
            f.metric,
            f.current_change * 100.0,
            f.first_bad_image
        ));
    }
    let mut links: Vec<(String, String)> = Vec::new();
    links.extend(link(
        dashboard,
        "📄 Run",
        &crate::site::paths::run_page(run_dir),
    ));
    links.extend(link(
        dashboard,
        "📈 Trend",
        &crate::site::paths::model_page(&run.hardware, &model),
    ));
    let mut n = Notification {
        kind: "benchmark".to_owned(),
        key: format!("benchmark:{run_dir}"),
        title: format!(
            "{} {} {}Benchmark Results · {}",
            iso(&run.date),
            model.to_uppercase(),
            if variant.is_empty() {
                String::new()
            } else {
                format!("{variant} ")
            },
            run.hardware
        ),
        status: if open.is_empty() || status == Status::Error {
            status
        } else {
            Status::Warning
        },
        facts,
        lines,
        links,
        markdown: md,
    };
    // The image is the night's own by construction (the run folder is named by it); a run of an
    // image already measured is a stale fallback and says so.
    let first_of_tag = rows
        .runs
        .iter()
        .filter(|r| {
            r.docker_tag == run.docker_tag && r.model == run.model && r.variant == run.variant
        })
        .map(|r| r.run_dir.as_str())
        .min();
    if first_of_tag.is_some_and(|f| f != run_dir) {
        mark_stale(&mut n, Some("an earlier run"), "this run");
    }
    Some(n)
}

/// The sanity card of a night (predecessor.md 5.1, sanity): models passed, per-model accuracy
/// against its threshold.
pub fn sanity(rows: &Rows, hw: &str, date: &str, dashboard: Option<&str>) -> Option<Notification> {
    let models: Vec<_> = rows
        .sanity_models
        .iter()
        .filter(|s| s.hardware == hw && s.date == date)
        .collect();
    if models.is_empty() {
        return None;
    }
    let passed = models
        .iter()
        .filter(|s| s.status == ModelStatus::Pass)
        .count();
    let mut md = format!("## {} SGL Sanity Check Results · {hw}\n\n**Models: {passed}/{} passed**\n\n| Model | Status | GSM8K | Threshold |\n|---|---|---:|---:|\n", iso(date), models.len());
    let mut lines = vec![format!("**Models: {passed}/{} passed**", models.len())];
    for s in &models {
        let icon = match s.status.as_str() {
            "pass" => "✅",
            "fail" => "❌",
            _ => "❓",
        };
        lines.push(format!(
            "{icon} {}: GSM8K accuracy {} (threshold ≥ {}){}",
            s.model,
            pct(s.accuracy),
            pct(s.required),
            s.failure_class
                .map_or(String::new(), |c| format!(" (`{c}`)"))
        ));
        md.push_str(&format!(
            "| {} | {icon} {} | {} | {} |\n",
            s.model,
            s.status,
            pct(s.accuracy),
            pct(s.required)
        ));
    }
    Some(Notification {
        kind: "sanity".to_owned(),
        key: format!("sanity:{hw}:{date}"),
        title: format!("{} SGL Sanity Check Results · {hw}", iso(date)),
        status: if passed == models.len() {
            Status::Good
        } else {
            Status::Error
        },
        facts: vec![
            ("Docker image".to_owned(), models[0].docker_tag.clone()),
            ("Hardware".to_owned(), hw.to_owned()),
        ],
        lines,
        links: link(dashboard, "📋 Sanity", &crate::site::paths::sanity_page(hw))
            .into_iter()
            .collect(),
        markdown: md,
    })
}

/// The image-check card of a night (predecessor.md 5.3).
pub fn image_check(rows: &Rows, hw: &str, date: &str) -> Option<Notification> {
    let c = rows
        .image_check
        .iter()
        .find(|c| c.hardware == hw && c.date == date)?;
    let missing = c.missing_required.unwrap_or(0);
    let headline = if c.status == TaskState::Pass {
        "All Docker Images Available"
    } else if missing > 0 {
        "Some Docker Images Missing"
    } else {
        "Docker Image Availability Issues"
    };
    let lines: Vec<String> = std::iter::once(format!("**{headline}**"))
        .chain(
            c.images
                .split(['\n', ';'])
                .filter(|l| !l.trim().is_empty())
                .map(|l| l.trim().to_owned()),
        )
        .collect();
    Some(Notification {
        kind: "image_check".to_owned(),
        key: format!("image-check:{hw}:{date}"),
        title: format!("{} Nightly Docker Image Check · {hw}", iso(date)),
        status: status_of(c.status),
        facts: vec![
            ("Missing required".to_owned(), missing.to_string()),
            (
                "Missing optional".to_owned(),
                c.missing_optional.unwrap_or(0).to_string(),
            ),
        ],
        markdown: format!(
            "## {} Nightly Docker Image Check · {hw}\n\n{}\n",
            iso(date),
            lines.join("\n\n")
        ),
        lines,
        links: vec![(
            "🐳 Docker Hub".to_owned(),
            "https://hub.docker.com/r/rocm/sgl-dev/tags".to_owned(),
        )],
    })
}

/// The unit-test and PD card of a night (predecessor.md 5.4).
pub fn unit_pd(rows: &Rows, hw: &str, date: &str) -> Option<Notification> {
    let unit: Vec<_> = rows
        .unit
        .iter()
        .filter(|u| u.hardware == hw && u.date == date)
        .collect();
    let pd: Vec<_> = rows
        .pd
        .iter()
        .filter(|p| p.hardware == hw && p.date == date)
        .collect();
    if unit.is_empty() && pd.is_empty() {
        return None;
    }
    let mut lines = Vec::new();
    for u in &unit {
        lines.push(format!(
            "Unit test {}: **{}**{}{}{}",
            u.test.as_deref().unwrap_or(""),
            u.status,
            u.exit_code
                .map_or(String::new(), |c| format!(", exit code {c}")),
            u.duration_s
                .map_or(String::new(), |d| format!(", {}", runtime(Some(d / 60.0)))),
            u.failure_class
                .map_or(String::new(), |c| format!(" (`{c}`)")),
        ));
    }
    for p in &pd {
        lines.push(format!(
            "PD {}: **{}**, tests {}/{}, GSM8K {}{}",
            p.model.as_deref().unwrap_or(""),
            p.status,
            p.tests_passed,
            p.tests_total,
            pct(p.gsm8k_accuracy),
            p.failure_class
                .map_or(String::new(), |c| format!(" (`{c}`)")),
        ));
    }
    let failed = unit.iter().any(|u| u.status == TaskState::Fail)
        || pd.iter().any(|p| p.status == TaskState::Fail);
    Some(Notification {
        kind: "unit_pd".to_owned(),
        key: format!("unit-pd:{hw}:{date}"),
        title: format!("{} Unit and PD Tests · {hw}", iso(date)),
        status: if failed { Status::Error } else { Status::Good },
        facts: vec![(
            "Docker image".to_owned(),
            unit.first()
                .map(|u| u.docker_tag.clone())
                .or_else(|| pd.first().map(|p| p.docker_tag.clone()))
                .unwrap_or_default(),
        )],
        markdown: format!(
            "## {} Unit and PD Tests · {hw}\n\n{}\n",
            iso(date),
            lines
                .iter()
                .map(|l| format!("- {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        ),
        lines,
        links: Vec::new(),
    })
}

/// Every card of one night: a benchmark card per online run, sanity, image check, unit and PD.
pub fn night_cards(
    rows: &Rows,
    hw: &str,
    date: &str,
    dashboard: Option<&str>,
) -> Vec<Notification> {
    let mut out: Vec<Notification> = rows
        .runs
        .iter()
        .filter(|r| r.hardware == hw && r.date == date && r.kind == "online")
        .filter_map(|r| benchmark(rows, &r.run_dir, dashboard))
        .collect();
    out.extend(sanity(rows, hw, date, dashboard));
    out.extend(image_check(rows, hw, date));
    out.extend(unit_pd(rows, hw, date));
    out
}

/// Nights before a summary's night whose tasks it expects (a task that ran on one of them and
/// has no result on the night is "not run").
pub const EXPECT_FROM_NIGHTS: i64 = 7;

/// What the daily summary adds to the night's tasks: the tasks that did not run, the open
/// regressions and the improvements of the hardware (each a finding of the same detector).
#[derive(Debug, Clone, Default)]
pub struct NightFindings<'a> {
    pub regressions: Vec<&'a crate::regress::Finding>,
    pub improvements: Vec<&'a crate::regress::Finding>,
}

/// The tasks that ran on `hw` in the [`EXPECT_FROM_NIGHTS`] nights before `date` and have no
/// result on `date`, with the last night each ran. Pure.
pub fn missing_tasks(rows: &Rows, hw: &str, date: &str) -> Vec<(String, String)> {
    let day = sglci_core::date::day_number;
    let Some(night) = day(date) else {
        return Vec::new();
    };
    let tonight: std::collections::BTreeSet<&str> = rows
        .tasks
        .iter()
        .filter(|t| t.hardware == hw && t.date == date)
        .map(|t| t.task_name.as_str())
        .collect();
    let mut last: std::collections::BTreeMap<&str, &str> = std::collections::BTreeMap::new();
    for t in rows.tasks.iter().filter(|t| t.hardware == hw) {
        let Some(d) = day(&t.date) else { continue };
        if d < night && d >= night - EXPECT_FROM_NIGHTS && !tonight.contains(t.task_name.as_str()) {
            let e = last.entry(t.task_name.as_str()).or_insert(t.date.as_str());
            if t.date.as_str() > *e {
                *e = t.date.as_str();
            }
        }
    }
    last.into_iter()
        .map(|(n, d)| (n.to_owned(), d.to_owned()))
        .collect()
}

/// Adds the night's context to its daily summary: tasks that did not run (a night with no run
/// at all says so in its title), open regressions and improvements. Pure.
pub fn add_night_context(
    n: &mut Notification,
    rows: &Rows,
    hw: &str,
    date: &str,
    findings: &NightFindings<'_>,
) {
    let ran = rows
        .tasks
        .iter()
        .any(|t| t.hardware == hw && t.date == date);
    let missing = missing_tasks(rows, hw, date);
    let mut md = String::new();
    if !ran {
        n.title = format!("⚠️ no run recorded · {}", n.title);
        n.status = Status::Error;
        n.lines.insert(0, format!("⚠️ No task recorded a result on {hw} for {}: the night did not run, or its results never arrived.", iso(date)));
        md.push_str(&format!(
            "\n**⚠️ No task recorded a result on {hw} this night.**\n"
        ));
    }
    if !missing.is_empty() {
        if n.status == Status::Good {
            n.status = Status::Warning;
        }
        md.push_str("\n### Not run\n\n");
        for (task, last) in &missing {
            let line = format!("⏭️ **{task}**: not run (last ran {})", iso(last));
            md.push_str(&format!("- {line}\n"));
            n.lines.push(line);
        }
        n.facts
            .push(("Not run".to_owned(), missing.len().to_string()));
    }
    let section =
        |title: &str, list: &[&crate::regress::Finding], md: &mut String| -> Vec<String> {
            if list.is_empty() {
                return Vec::new();
            }
            md.push_str(&format!("\n### {title}\n\n"));
            list.iter()
                .map(|f| {
                    let line = format!(
                        "{} {} {} at {} {} from `{}`",
                        crate::regress::report::series_label(&f.hardware, &f.model, &f.config),
                        f.metric,
                        crate::regress::report::change_text(f),
                        f.load_kind,
                        f.loads
                            .iter()
                            .map(i64::to_string)
                            .collect::<Vec<_>>()
                            .join(","),
                        f.first_bad_image
                    );
                    md.push_str(&format!("- {line}\n"));
                    line
                })
                .collect()
        };
    let reg = section("Open regressions", &findings.regressions, &mut md);
    let imp = section("Improvements", &findings.improvements, &mut md);
    if !reg.is_empty() && n.status != Status::Error {
        n.status = Status::Warning;
    }
    n.lines.extend(reg.into_iter().map(|l| format!("📉 {l}")));
    n.lines.extend(imp.into_iter().map(|l| format!("📈 {l}")));
    n.facts.push((
        "Open regressions".to_owned(),
        findings.regressions.len().to_string(),
    ));
    n.facts.push((
        "Improvements".to_owned(),
        findings.improvements.len().to_string(),
    ));
    n.markdown.push_str(&md);
}
