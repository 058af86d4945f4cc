//! Pure builders: notifications from the history (daily summary, regression, comparison).

use sglci_core::records::{RegressionRow, TaskState};
use sglci_core::ImageTag;

use super::{mark_stale, Notification, Status};
use crate::compare::{to_markdown, Comparison};
use crate::rows::Rows;
use crate::site::data::iso;
use crate::site::templates::{chain, Templates};
use crate::site::views::{pct, runtime, state_icon};

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
        let ok = sanity.iter().filter(|s| s.status == "pass").count();
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
    let series = format!(
        "{} {} {}",
        f.hardware,
        f.model,
        if f.config.is_empty() {
            "standard"
        } else {
            &f.config
        }
    );
    let change = if f.metric == "gsm8k_accuracy" {
        format!("{:+.1} pts against the gate", f.change * 100.0)
    } else {
        format!(
            "{:+.1} % (now {:+.1} %)",
            f.change * 100.0,
            f.current_change * 100.0
        )
    };
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
        f.direction.replace('_', " "),
    );
    let steps: Vec<serde_json::Value> = serde_json::from_str(&f.steps).unwrap_or_default();
    if !steps.is_empty() {
        md.push_str("\nSteps:\n\n");
        for s in &steps {
            md.push_str(&format!(
                "- {}={}: {:+.1} % from `{}`, last good `{}`\n",
                f.load_kind,
                s["load"],
                s["change"].as_f64().unwrap_or(0.0) * 100.0,
                s["first_bad_image"].as_str().unwrap_or(""),
                s["last_good_image"].as_str().unwrap_or("none"),
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
        status: if f.state == "open" {
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
