//! Which effects the committed generations call for, derived from the index (so they can be
//! derived again after a crash) and enqueued in the outbox.

use std::collections::BTreeSet;

use sglci_core::records::{FindingState, REGRESSIONS};
use sglci_core::store::ObjectStore;

use super::{advance_cursor, cursor, enqueue, Context, Effect, EffectId, Sinks};
use crate::app::{bundle_rows, load_site_data, AppError};
use crate::config::CardSink;
use crate::history::{month_of, History};
use crate::notify::{build, Notification};
use crate::rows::Rows;

/// What [`enqueue_new`] added.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Enqueued {
    /// The runs whose effects were derived.
    pub runs: Vec<String>,
    /// Effects added to the outbox (those pending or done already are not counted).
    pub effects: usize,
}

/// Enqueues the effects of every run committed after the outbox's cursor, then moves the
/// cursor to the index's generation. Nothing happens before the cursor exists
/// ([`super::start_cursor`], written when effects are turned on).
pub fn enqueue_new(sinks: &Sinks, cx: &Context<'_>, now: &str) -> Result<Enqueued, AppError> {
    let mut out = Enqueued::default();
    let Some(from) = cursor(cx.store)? else {
        return Ok(out);
    };
    let hist = History::new(cx.store);
    let idx = hist.index()?;
    if idx.generation <= from.generation {
        return Ok(out);
    }
    let mut add = |id: EffectId, effect: Effect| -> Result<(), AppError> {
        if enqueue(cx.store, &id, effect, now)? {
            out.effects += 1;
        }
        Ok(())
    };
    let cfg = &sinks.config;
    let mut committed_runs = false;
    for (partition, entry) in &idx.partitions {
        if entry.generation <= from.generation || !partition.starts_with("run-") {
            continue;
        }
        let Some(manifest) = entry.source.as_deref() else {
            tracing::warn!(%partition, "committed without its bundle's name (an older publisher): no effects derived");
            continue;
        };
        committed_runs = true;
        out.runs.push(partition.clone());
        if cfg.log_repo.is_some() {
            add(
                EffectId::new(&["logs", partition]),
                Effect::Logs {
                    run_id: partition.trim_start_matches("run-").to_owned(),
                    manifest: manifest.to_owned(),
                },
            )?;
        }
        if cfg.cards.is_empty() {
            continue;
        }
        match run_cards(cx, manifest, cfg.dashboard.as_deref()) {
            Ok(cards) => {
                for card in cards {
                    for sink in &cfg.cards {
                        add(
                            EffectId::new(&[sink.name(), partition, &card.key]),
                            card_effect(sink, &card),
                        )?;
                    }
                }
            }
            Err(reason) => {
                tracing::warn!(%partition, %reason, "the run's cards could not be built; its other effects go ahead")
            }
        }
    }
    if committed_runs {
        let generation = idx.generation;
        let g = format!("g{generation:012}");
        if cfg.pages.is_some() {
            add(EffectId::new(&["pages", &g]), Effect::Pages { generation })?;
        }
        if cfg.github_issues {
            add(
                EffectId::new(&["issues", &g]),
                Effect::Issues { generation },
            )?;
        }
        if !cfg.cards.is_empty() {
            // A regression alert goes out once per finding, the morning it opens.
            let (open, _) = open_regressions(cx.store, cx.triage, cfg.dashboard.as_deref())?;
            for (id, card) in open {
                for sink in &cfg.cards {
                    add(
                        EffectId::new(&[sink.name(), "regression", &id]),
                        card_effect(sink, &card),
                    )?;
                }
            }
        }
    }
    advance_cursor(cx.store, idx.generation)?;
    Ok(out)
}

fn card_effect(sink: &CardSink, card: &Notification) -> Effect {
    Effect::Card {
        sink: sink.clone(),
        card: card.clone(),
    }
}

/// The cards of one committed run: the night's cards (built from the history of its month, so
/// they carry the night's context) that the run's own rows call for.
fn run_cards(
    cx: &Context<'_>,
    manifest: &str,
    dashboard: Option<&str>,
) -> Result<Vec<Notification>, String> {
    let (_, own) = bundle_rows(cx.store, manifest, cx.limits)?;
    let nights = nights_of(&own);
    let months: BTreeSet<String> = nights.iter().map(|(_, d)| month_of(Some(d))).collect();
    let hist = History::new(cx.store);
    let data = load_site_data(&hist, Some(&|_| months.clone())).map_err(|e| e.to_string())?;
    let mut cards = Vec::new();
    for (hw, date) in &nights {
        let keys: BTreeSet<String> = build::night_cards(&own, hw, date, None)
            .into_iter()
            .map(|n| n.key)
            .collect();
        cards.extend(
            build::night_cards(&data, hw, date, dashboard)
                .into_iter()
                .filter(|n| keys.contains(&n.key)),
        );
    }
    Ok(cards)
}

/// The (hardware, night) pairs a run's rows belong to.
fn nights_of(rows: &Rows) -> BTreeSet<(String, String)> {
    let pair = |h: &str, d: &str| (h.to_owned(), d.to_owned());
    rows.runs
        .iter()
        .map(|r| pair(&r.hardware, &r.date))
        .chain(rows.tasks.iter().map(|r| pair(&r.hardware, &r.date)))
        .chain(
            rows.sanity_models
                .iter()
                .map(|r| pair(&r.hardware, &r.date)),
        )
        .chain(rows.image_check.iter().map(|r| pair(&r.hardware, &r.date)))
        .chain(rows.unit.iter().map(|r| pair(&r.hardware, &r.date)))
        .chain(rows.pd.iter().map(|r| pair(&r.hardware, &r.date)))
        .collect()
}

/// Open findings as (finding id, notification), and the issue keys of muted ones.
pub type OpenFindings = (Vec<(String, Notification)>, Vec<String>);

/// The open regression findings (as stored by the last derive) as notifications keyed by
/// finding id, and the issue keys of muted ones (their issues are left as they are).
pub fn open_regressions(
    store: &dyn ObjectStore,
    triage: &crate::triage::Triage,
    dashboard: Option<&str>,
) -> Result<OpenFindings, AppError> {
    let table = History::new(store).read(REGRESSIONS)?;
    let rows = Rows::from_owned_tables(vec![table])?;
    let mut open = Vec::new();
    let mut muted = Vec::new();
    for f in rows
        .regressions
        .iter()
        .filter(|f| f.state == FindingState::Open)
    {
        if let Some(crate::triage::Treatment::Muted(_)) = triage.treatment(&f.id, &f.date) {
            muted.push(format!("regression:{}", f.id));
            continue;
        }
        open.push((f.id.clone(), build::regression(f, dashboard)));
    }
    Ok((open, muted))
}
