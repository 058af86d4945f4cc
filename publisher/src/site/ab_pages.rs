//! The compare pages of recorded A/B comparisons (F35): one page per comparison (its images,
//! each candidate's verdict, every series with its paired change, interval and noise floor, and
//! the raw record), and `ab/index.html` listing them all, newest first. Both render from the
//! `ab` table, which an update always reads whole, so an update writes what a rebuild would.

use std::collections::BTreeMap;

use serde::Serialize;
use sglci_core::date::iso;
use sglci_core::records::AbRow;

use super::{paths, Renderer, SiteError};

#[derive(Debug, Serialize)]
struct CandidateView {
    letter: String,
    reference: String,
    summary: String,
}

#[derive(Debug, Serialize)]
struct SeriesView {
    job: String,
    load: i64,
    metric: String,
    better: String,
    baseline: String,
    /// Per candidate, in letter order.
    cells: Vec<CellView>,
}

#[derive(Debug, Serialize)]
struct CellView {
    value: String,
    change: String,
    interval: String,
    floor: String,
    verdict: String,
}

#[derive(Debug, Serialize)]
struct AbView {
    ab_id: String,
    href: String,
    date: String,
    hardware: String,
    suite: String,
    rounds: i64,
    baseline: String,
    candidates: Vec<CandidateView>,
    series: Vec<SeriesView>,
    record_href: String,
    markdown_href: String,
}

fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{v:.4}"))
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{:+.1} %", v * 100.0))
}

/// Each comparison's rows, newest first (then by id).
fn by_comparison(rows: &[AbRow]) -> Vec<(&str, Vec<&AbRow>)> {
    let mut m: BTreeMap<&str, Vec<&AbRow>> = BTreeMap::new();
    for r in rows {
        m.entry(r.ab_id.as_str()).or_default().push(r);
    }
    let mut out: Vec<_> = m.into_iter().collect();
    out.sort_by(|a, b| (&b.1[0].date, a.0).cmp(&(&a.1[0].date, b.0)));
    out
}

impl Renderer<'_, '_> {
    fn ab_view(&self, id: &str, rows: &[&AbRow], page: &str) -> AbView {
        let link = self.linker(page);
        let first = rows[0];
        let mut candidates: Vec<CandidateView> = Vec::new();
        for r in rows {
            if !candidates.iter().any(|c| c.letter == r.letter) {
                candidates.push(CandidateView {
                    letter: r.letter.clone(),
                    reference: r.candidate.clone(),
                    summary: r.summary.clone(),
                });
            }
        }
        candidates.sort_by(|a, b| a.letter.cmp(&b.letter));
        let mut series: Vec<SeriesView> = Vec::new();
        for r in rows {
            let cell = CellView {
                value: num(r.candidate_median),
                change: pct(r.median_change),
                interval: format!("[{}, {}]", pct(r.low), pct(r.high)),
                floor: format!("±{:.1} %", r.floor * 100.0),
                verdict: r.verdict.replace('_', " "),
            };
            match series
                .iter_mut()
                .find(|s| s.job == r.job && s.load == r.load && s.metric == r.metric)
            {
                Some(s) => s.cells.push(cell),
                None => series.push(SeriesView {
                    job: r.job.clone(),
                    load: r.load,
                    metric: r.metric.clone(),
                    better: r.better.clone(),
                    baseline: num(r.baseline_median),
                    cells: vec![cell],
                }),
            }
        }
        AbView {
            ab_id: id.to_owned(),
            href: link.page(&paths::ab_page(id)),
            date: iso(&first.date),
            hardware: first.hardware.clone(),
            suite: first.suite.clone(),
            rounds: first.rounds,
            baseline: first.baseline.clone(),
            candidates,
            series,
            record_href: link.log(&format!("{}/{}", first.folder, sglci_core::ab::AB_FILE)),
            markdown_href: link.log(&format!("{}/comparison.md", first.folder)),
        }
    }

    /// The compare pages of the comparisons in `only` (every one when `None`), and the index.
    pub(super) fn ab_pages(
        &mut self,
        only: Option<&std::collections::BTreeSet<String>>,
    ) -> Result<(), SiteError> {
        let all = by_comparison(&self.data.ab);
        if all.is_empty() || only.is_some_and(|o| o.is_empty()) {
            return Ok(());
        }
        for (id, rows) in &all {
            if only.is_none_or(|o| o.contains(*id)) {
                let page = paths::ab_page(id);
                let view = self.ab_view(id, rows, &page);
                let mut ctx = self.base_context(&page, &format!("A/B {id}"));
                ctx.insert("ab", &view);
                self.render("ab.html", &page, &ctx)?;
            }
        }
        let page = paths::ab_index();
        let views: Vec<AbView> = all
            .iter()
            .map(|(id, rows)| self.ab_view(id, rows, &page))
            .collect();
        let mut ctx = self.base_context(&page, "A/B comparisons");
        ctx.insert("comparisons", &views);
        self.render("ab_index.html", &page, &ctx)
    }
}
