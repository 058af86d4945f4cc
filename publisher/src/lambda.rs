//! The Lambda's work as plain functions: an SQS event in, a partial batch response out. The
//! binary `sglci-publisher-lambda` only builds the backends once per cold start and calls
//! [`handle`] per invocation; `ingest --pending` runs the same [`crate::app::handle_batch`].
//!
//! Configuration comes from the environment that `infra/template.yaml` sets: `SGLCI_STORE`
//! (`s3://BUCKET[/PREFIX]`), `SGLCI_SITE` (`store:site` by default; `none` for no site) and
//! `SGLCI_LOGS_URL` (the prefix of raw-log links on the site), and optionally the bundle limits
//! `SGLCI_MAX_FILE_MB` and `SGLCI_MAX_BUNDLE_MB`.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use sglci_core::queue::Message;
use sglci_core::store::ObjectStore;

use sglci_core::bundle::BundleLimits;

use crate::app::{handle_batch_within, AppError, MessageOutcome, SiteJob};

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
    let msgs = messages(event);
    let (report, outcomes) = handle_batch_within(store, &msgs, site, now, limits)?;
    tracing::info!(
        ingested = report.ingested.len(),
        failed = report.quarantined.len(),
        skipped = report.skipped,
        regressions = report.regressions,
        site_files = report.site_files,
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
