//! The Lambda's work as plain functions: an SQS event in, a partial batch response out. The
//! binary `sglci-publisher-lambda` only builds the backends once per cold start and calls
//! [`handle`] per invocation; `ingest --pending` runs the same [`crate::app::handle_batch`].
//!
//! Two kinds of invocation reach it ([`Invocation`]): SQS events (bundles announced), and the
//! scheduled daily summary (`{"daily_summary": {"hardware": [...]}}`, from an EventBridge
//! schedule). Both end by carrying out the pending effects.
//!
//! Configuration comes from the environment that `infra/template.yaml` sets: `SGLCI_STORE`
//! (`s3://BUCKET[/PREFIX]`), `SGLCI_SITE` (`store:site` by default; `none` for no site) and
//! `SGLCI_LOGS_URL` (the prefix of raw-log links on the site), and optionally the bundle limits
//! `SGLCI_MAX_FILE_MB` and `SGLCI_MAX_BUNDLE_MB`; the effects `SGLCI_LOG_REPO`, `SGLCI_PAGES`,
//! `SGLCI_NOTIFY`, `SGLCI_DASHBOARD_URL` and `GITHUB_REPOSITORY`; and the names of the SSM
//! parameters holding their secrets, `SGLCI_TEAMS_WEBHOOK_PARAMETER` and
//! `SGLCI_GITHUB_TOKEN_PARAMETER`.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use sglci_core::queue::Message;
use sglci_core::store::ObjectStore;

use sglci_core::bundle::BundleLimits;

use crate::app::effects::{enqueue_summaries, SummaryRequest};
use crate::app::{handle_batch_with, AppError, Handler, MessageOutcome, SiteJob};
use crate::site::templates::Templates;

/// The event's records as queue messages (the receive count from `ApproximateReceiveCount`).
pub fn messages(event: &SqsEvent) -> Vec<Message> {
    event
        .records
        .iter()
        .map(|r| {
            let id = r.message_id.clone().unwrap_or_default();
            Message {
                receipt: r.receipt_handle.clone().unwrap_or_else(|| id.clone()),
                id,
                body: r.body.clone().unwrap_or_default(),
                receive_count: r
                    .attributes
                    .get("ApproximateReceiveCount")
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1),
            }
        })
        .collect()
}

/// Handles one invocation. Messages that failed are listed in the response, so SQS retries only
/// them (and moves them to the dead-letter queue after the redrive policy's receives); their
/// reasons are in the store under `quarantine/`. An `Err` (the store is unreachable) fails the
/// whole batch, which is then retried whole: commits are idempotent.
pub fn handle(
    store: &dyn ObjectStore,
    event: &SqsEvent,
    site: Option<&SiteJob<'_>>,
    now: &str,
) -> Result<SqsBatchResponse, AppError> {
    handle_within(store, event, site, now, &BundleLimits::default())
}

/// [`handle`] with configured bundle limits (`SGLCI_MAX_FILE_MB`, `SGLCI_MAX_BUNDLE_MB`).
pub fn handle_within(
    store: &dyn ObjectStore,
    event: &SqsEvent,
    site: Option<&SiteJob<'_>>,
    now: &str,
    limits: &BundleLimits,
) -> Result<SqsBatchResponse, AppError> {
    let handler = Handler {
        site,
        limits: *limits,
        effects: None,
    };
    handle_with(store, event, &handler, now)
}

/// What the Lambda is invoked with.
#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
pub enum Invocation {
    /// The scheduled daily summary.
    Scheduled(Scheduled),
    /// Announced bundles.
    Sqs(SqsEvent),
}

/// The input of the summary schedule.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scheduled {
    pub daily_summary: SummaryRequest,
}

/// The answer to an invocation.
#[derive(Debug, serde::Serialize)]
#[serde(untagged)]
pub enum Reply {
    Sqs(SqsBatchResponse),
    Summary(SummaryReply),
}

/// What a scheduled summary did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SummaryReply {
    pub night: String,
    pub hardware: Vec<String>,
    pub enqueued: usize,
    pub effects: Option<crate::app::EffectsReport>,
}

/// [`handle`] with the handler's site, limits and effects.
pub fn handle_with(
    store: &dyn ObjectStore,
    event: &SqsEvent,
    h: &Handler<'_>,
    now: &str,
) -> Result<SqsBatchResponse, AppError> {
    let msgs = messages(event);
    let (report, outcomes) = handle_batch_with(store, &msgs, h, now)?;
    let effects = report.effects.clone().unwrap_or_default();
    tracing::info!(
        ingested = report.ingested.len(),
        failed = report.quarantined.len(),
        skipped = report.skipped,
        regressions = report.regressions,
        site_files = report.site_files,
        effects_enqueued = effects.enqueued.effects,
        effects_done = effects.drained.done,
        effects_failed = effects.drained.failed,
        effects_gave_up = effects.drained.gave_up,
        "batch handled"
    );
    let mut response = SqsBatchResponse::default();
    for (m, outcome) in msgs.iter().zip(outcomes) {
        if let MessageOutcome::Failed(_) = outcome {
            let mut f = BatchItemFailure::default();
            f.item_identifier = m.id.clone();
            response.batch_item_failures.push(f);
        }
    }
    Ok(response)
}

/// The scheduled daily summary: one card per hardware and card sink for the night the schedule
/// names, through the outbox (a schedule that fires twice sends once), then every pending
/// effect. A night without runs is reported as such.
pub fn handle_scheduled(
    store: &dyn ObjectStore,
    s: &Scheduled,
    h: &Handler<'_>,
    templates: &Templates,
    logs_base: &str,
    now: &str,
) -> Result<SummaryReply, AppError> {
    let fx = h.effects.as_ref().ok_or_else(|| {
        AppError::NotifyUsage(
            "the daily summary needs a card target (hint: SGLCI_NOTIFY=teams)".to_owned(),
        )
    })?;
    let today = now.get(..10).unwrap_or("").replace('-', "");
    let night = s
        .daily_summary
        .date(&today)
        .map_err(AppError::NotifyUsage)?;
    let cx = crate::app::effects::Context {
        store,
        site: h.site.map(|j| &j.target),
        limits: &h.limits,
        triage: fx.triage,
    };
    let enqueued = enqueue_summaries(
        fx.sinks,
        &cx,
        templates,
        logs_base,
        &s.daily_summary.hardware,
        &night,
        now,
    )?;
    let (report, _) = handle_batch_with(store, &[], h, now)?;
    tracing::info!(%night, enqueued, "daily summary handled");
    Ok(SummaryReply {
        night,
        hardware: s.daily_summary.hardware.clone(),
        enqueued,
        effects: report.effects,
    })
}
