//! Ingest: the predecessor's log tree backfilled as one partition, and run bundles announced on
//! a queue, each verified and committed as its own partition (the batch handler shared by
//! `ingest --pending` and the Lambda).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;

use serde::Serialize;
use sglci_core::bundle::BundleLimits;
use sglci_core::queue::{interpret, Delivery, Message, Queue};
use sglci_core::records;
use sglci_core::store::{Key, ObjectStore};

use super::effects::{
    drain, enqueue_new, start_cursor, Context, Drained, Drainer, Enqueued, Fault, Sinks,
};
use super::{derive, derive_with, rows_digest, AppError, SiteJob};
use crate::history::{Commit, History};
use crate::legacy::{self, Backfill};
use crate::site::Touched;

/// Partition written by the legacy backfill.
pub const LEGACY_PARTITION: &str = "legacy";

/// What `ingest --legacy` did.
#[derive(Debug, Serialize)]
pub struct IngestReport {
    pub files: usize,
    pub bytes: u64,
    pub interpreted: usize,
    pub quarantined: usize,
    /// Per file kind: interpreted and quarantined counts.
    pub kinds: BTreeMap<String, (usize, usize)>,
    /// Rows written per table.
    pub tables: BTreeMap<String, usize>,
}

/// Backfills a predecessor tree into the store and returns the backfill with its report.
pub fn ingest_legacy(
    store: &dyn ObjectStore,
    dir: &Path,
) -> Result<(Backfill, IngestReport), AppError> {
    let started = std::time::Instant::now();
    let files = legacy::scan(dir)?;
    let scanned = started.elapsed();
    let backfill = legacy::build(&files);
    let built = started.elapsed();
    let hist = History::new(store);
    let mut tables = BTreeMap::new();
    let source: Vec<_> = backfill
        .rows
        .to_tables()?
        .into_iter()
        .filter(|t| t.schema.name != records::REGRESSIONS.name)
        .collect();
    for t in &source {
        tables.insert(t.schema.name.to_owned(), t.rows.len());
    }
    hist.commit(&source, LEGACY_PARTITION, &rows_digest(&source))?;
    let committed = started.elapsed();
    let found = derive(&hist, None, &Touched::default())?.regressions;
    tracing::debug!(
        scan = scanned.as_secs_f64(),
        build = (built - scanned).as_secs_f64(),
        commit = (committed - built).as_secs_f64(),
        derive = (started.elapsed() - committed).as_secs_f64(),
        "legacy backfill phases (seconds)"
    );
    tables.insert(records::REGRESSIONS.name.to_owned(), found);
    // Files interpreted or quarantined whole; dropped values are quarantine rows of their own
    // (kind `implausible_value`) and listed below.
    let (interpreted, quarantined) = backfill
        .kinds
        .values()
        .fold((0, 0), |(ok, bad), (o, b)| (ok + o, bad + b));
    let report = IngestReport {
        files: files.len(),
        bytes: files.iter().map(|f| f.bytes as u64).sum(),
        interpreted,
        quarantined,
        kinds: backfill
            .kinds
            .iter()
            .map(|(k, v)| ((*k).to_owned(), *v))
            .collect(),
        tables,
    };
    Ok((backfill, report))
}

/// Human-readable ingest report (stdout is the command's output).
pub fn write_report(
    w: &mut impl Write,
    report: &IngestReport,
    backfill: &Backfill,
) -> std::io::Result<()> {
    writeln!(
        w,
        "files: {} ({:.1} MB), interpreted: {}, quarantined: {}",
        report.files,
        report.bytes as f64 / 1e6,
        report.interpreted,
        report.quarantined
    )?;
    writeln!(w, "\nfile kind              interpreted  quarantined")?;
    for (kind, (ok, bad)) in &report.kinds {
        writeln!(w, "{kind:<22} {ok:>11}  {bad:>11}")?;
    }
    writeln!(w, "\ntable                  rows")?;
    for (table, n) in &report.tables {
        writeln!(w, "{table:<22} {n:>5}")?;
    }
    if !backfill.rows.quarantine.is_empty() {
        writeln!(w, "\nquarantined files:")?;
        for q in &backfill.rows.quarantine {
            writeln!(w, "  {}  [{}] {}", q.file, q.kind, q.reason)?;
        }
    }
    Ok(())
}

/// What `ingest --pending` (or one Lambda invocation) did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PendingReport {
    /// (run id, manifest key, rows written; 0 when the same rows were already committed).
    pub ingested: Vec<(String, String, usize)>,
    /// (message id, reason): messages that failed, each recorded in the store under
    /// `quarantine/` (and set aside in a spool queue's `failed/`).
    pub quarantined: Vec<(String, String)>,
    /// Messages with nothing to do (S3 test events, events for other objects).
    pub skipped: usize,
    /// Regression findings after the batch.
    pub regressions: usize,
    /// Site files written.
    pub site_files: usize,
    /// What the effects did (absent when none are configured).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effects: Option<EffectsReport>,
    /// The site pages the ingested bundles touch (for an incremental site update).
    #[serde(skip)]
    pub touched: Touched,
}

/// Ingests one verified bundle: its files go through the same parsers as the legacy tree, and its
/// rows become the bundle's own partition (the run id), so the same bundle twice changes nothing.
pub fn ingest_bundle(
    hist: &History<'_>,
    manifest: &Key,
    limits: &BundleLimits,
) -> Result<(String, usize, Touched), String> {
    let (m, rows) = bundle_rows(hist.store(), manifest.as_str(), limits)?;
    let files = m.files.len();
    // A bundle must hold a run: a run folder, or a task log (unit test, image check, offline
    // grid, sanity, PD), or an A/B comparison record.
    let holds_a_run = !(rows.runs.is_empty()
        && rows.tasks.is_empty()
        && rows.image_check.is_empty()
        && rows.offline.is_empty()
        && rows.unit.is_empty()
        && rows.sanity.is_empty()
        && rows.pd.is_empty()
        && rows.ab.is_empty());
    if !holds_a_run {
        return Err(format!(
            "{manifest}: no run folder among its {files} files (hint: bundle paths follow the log layout, e.g. online_benchmark_log/<hw>/<model>/<tag>_..._online/...)"
        ));
    }
    let touched = Touched::from_rows(&rows);
    let partition = format!("run-{}", crate::site::paths::slug(&m.run_id));
    let tables: Vec<_> = rows
        .to_tables()
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|t| t.schema.name != records::REGRESSIONS.name)
        .collect();
    let n = match hist
        .commit_from(
            &tables,
            &partition,
            &rows_digest(&tables),
            Some(manifest.as_str()),
        )
        .map_err(|e| e.to_string())?
    {
        Commit::Written(_) => tables.iter().map(|t| t.rows.len()).sum(),
        Commit::Unchanged => 0,
    };
    Ok((m.run_id, n, touched))
}

/// A verified bundle's rows: its files through the same parsers as the legacy tree.
pub fn bundle_rows(
    store: &dyn ObjectStore,
    manifest: &str,
    limits: &BundleLimits,
) -> Result<(sglci_core::bundle::Manifest, crate::rows::Rows), String> {
    let key = Key::new(manifest).map_err(|e| e.to_string())?;
    let (m, files) =
        sglci_core::bundle::fetch_within(store, &key, limits).map_err(|e| e.to_string())?;
    let parsed: Vec<_> = files
        .iter()
        .map(|(path, bytes)| legacy::parse_file(path, bytes))
        .collect();
    let mut rows = legacy::build(&parsed).rows;
    if let Some(record) = &m.run {
        with_record(&mut rows, record);
    }
    Ok((m, rows))
}

/// The run record of a bundle's manifest (F16) in its rows: the runs carry the image's identity
/// and the config hash, and a non-nightly image is known by its reference as given (its folders
/// carry the run label). The values come from an untrusted manifest: each is cut to a length a
/// page can show.
fn with_record(rows: &mut crate::rows::Rows, record: &sglci_core::bundle::RunMeta) {
    let id = &record.image;
    let cut = |v: &Option<String>| v.as_deref().map(|v| sglci_core::text::evidence(v, 200));
    if id.kind != sglci_core::ImageKind::Nightly {
        rows.retag(&id.label, &sglci_core::text::evidence(&id.reference, 200));
    }
    for r in &mut rows.runs {
        r.image_ref = Some(sglci_core::text::evidence(&id.reference, 200));
        r.image_digest = cut(&id.digest);
        r.sglang_version = cut(&id.sglang_version);
        r.sglang_commit = cut(&id.sglang_commit);
        r.torch = cut(&id.torch);
        r.gpu = cut(&id.gpu);
        r.config_hash = Some(sglci_core::text::evidence(&record.config_hash, 80));
        if r.host.is_none() {
            r.host = Some(sglci_core::text::evidence(&record.host, 80));
        }
    }
}

/// The outcome of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageOutcome {
    Done,
    /// Failed with this reason (recorded in the store under `quarantine/`).
    Failed(String),
}

/// The handler shared by `ingest --pending` and the Lambda: ingests the bundles the messages
/// announce, records every failure with its reason in the store (`quarantine/<message>.json`)
/// without stopping the batch, then derives regressions and the site once for the batch.
/// `now` stamps the failure records (time is a parameter).
///
/// Returns the report and one outcome per message, in order. An `Err` means the store itself
/// failed (infrastructure): nothing is settled, and every message is retried.
pub fn handle_batch(
    store: &dyn ObjectStore,
    messages: &[Message],
    site: Option<&SiteJob<'_>>,
    now: &str,
) -> Result<(PendingReport, Vec<MessageOutcome>), AppError> {
    handle_batch_within(store, messages, site, now, &BundleLimits::default())
}

/// [`handle_batch`] with configured bundle limits.
pub fn handle_batch_within(
    store: &dyn ObjectStore,
    messages: &[Message],
    site: Option<&SiteJob<'_>>,
    now: &str,
    limits: &BundleLimits,
) -> Result<(PendingReport, Vec<MessageOutcome>), AppError> {
    let handler = Handler {
        site,
        limits: *limits,
        effects: None,
    };
    handle_batch_with(store, messages, &handler, now)
}

/// How batches are handled: the site to keep up to date, the bundle limits, and the effects
/// (log repository, Pages, cards, issues) committed runs call for.
#[derive(Debug)]
pub struct Handler<'a> {
    pub site: Option<&'a SiteJob<'a>>,
    pub limits: BundleLimits,
    pub effects: Option<EffectsRun<'a>>,
}

/// The effects side of a [`Handler`].
#[derive(Debug)]
pub struct EffectsRun<'a> {
    pub sinks: &'a Sinks,
    pub triage: &'a crate::triage::Triage,
    /// Names this publisher's claims (`host:pid`, the Lambda's request id).
    pub holder: &'a str,
    pub fault: Option<Fault>,
}

/// The batch handler with its effects: ingests the messages' bundles, derives the regressions
/// and the site (also after a crash left the derived state behind the history), then enqueues
/// the effects of what was committed and carries out every pending one.
pub fn handle_batch_with(
    store: &dyn ObjectStore,
    messages: &[Message],
    h: &Handler<'_>,
    now: &str,
) -> Result<(PendingReport, Vec<MessageOutcome>), AppError> {
    let hist = History::new(store);
    if h.effects.is_some() {
        // Effects start from what is committed now: turning them on does not replay history.
        start_cursor(store, hist.index()?.generation)?;
    }
    let (mut report, outcomes) = ingest_messages(store, &hist, messages, &h.limits, now)?;
    let fault = h.effects.as_ref().and_then(|e| e.fault);
    if fault == Some(Fault::AfterCommit) && !report.ingested.is_empty() {
        tracing::error!("fault injected after the commit (SGLCI_FAULT=after-commit): stopping");
        std::process::abort();
    }
    let current = hist.index_versioned()?;
    let (behind, trust_manifest) = current.as_ref().map_or((false, true), |(idx, _)| {
        // This batch's own commits put the derived state behind by as many generations; more
        // means a derive stopped half-way (or another publisher is committing): then no page
        // is taken for unchanged on the site manifest's word.
        let written = report
            .ingested
            .iter()
            .filter(|(_, _, rows)| *rows > 0)
            .count() as u64;
        (
            idx.derived < idx.generation,
            idx.derived + written >= idx.generation,
        )
    });
    if !report.ingested.is_empty() || behind {
        if report.ingested.is_empty() {
            // A publisher stopped between its commit and its derive: redo the pages of the runs
            // committed since the last derive.
            report.touched = touched_since_derived(&hist, &h.limits)?;
            tracing::warn!(
                runs = report.touched.runs.len(),
                "the derived state was behind the history: derived again"
            );
        }
        let d = derive_with(&hist, h.site, &report.touched, trust_manifest, current)?;
        report.regressions = d.regressions;
        report.site_files = d.site_files;
    }
    if let Some(fx) = &h.effects {
        report.effects = Some(run_effects(store, h, fx, now)?);
    }
    Ok((report, outcomes))
}

/// Enqueues the effects of new commits and carries out what is pending.
fn run_effects(
    store: &dyn ObjectStore,
    h: &Handler<'_>,
    fx: &EffectsRun<'_>,
    now: &str,
) -> Result<EffectsReport, AppError> {
    let site = h.site.map(|s| &s.target);
    let cx = Context {
        store,
        site,
        limits: &h.limits,
        triage: fx.triage,
    };
    let enqueued = enqueue_new(fx.sinks, &cx, now)?;
    let drained = drain(
        fx.sinks,
        &cx,
        &Drainer {
            holder: fx.holder,
            now: sglci_core::date::parse_rfc3339(now).unwrap_or(0),
            now_text: now,
            fault: fx.fault,
        },
    )?;
    Ok(EffectsReport { enqueued, drained })
}

/// What the effects of one batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EffectsReport {
    pub enqueued: Enqueued,
    pub drained: Drained,
}

/// The pages the runs committed after the last derive touch (from their bundles).
fn touched_since_derived(hist: &History<'_>, limits: &BundleLimits) -> Result<Touched, AppError> {
    let idx = hist.index()?;
    let mut touched = Touched::default();
    for (partition, entry) in &idx.partitions {
        let Some(source) = entry
            .source
            .as_deref()
            .filter(|_| entry.generation > idx.derived)
        else {
            continue;
        };
        match bundle_rows(hist.store(), source, limits) {
            Ok((_, rows)) => touched.merge(Touched::from_rows(&rows)),
            Err(reason) => {
                tracing::warn!(%partition, %reason, "its bundle is unreadable now: its pages are not redone")
            }
        }
    }
    Ok(touched)
}

/// Ingests every message of a batch; failures are recorded, never fatal to the batch.
fn ingest_messages(
    store: &dyn ObjectStore,
    hist: &History<'_>,
    messages: &[Message],
    limits: &BundleLimits,
    now: &str,
) -> Result<(PendingReport, Vec<MessageOutcome>), AppError> {
    let mut report = PendingReport::default();
    let mut outcomes = Vec::with_capacity(messages.len());
    for msg in messages {
        // A panic while handling one message (a parser bug meeting hostile input) fails that
        // message only: the others in the batch are settled as usual.
        let one = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            handle_message(hist, msg, limits)
        }))
        .unwrap_or_else(|panic| MessageReport {
            failure: Some(format!(
                "handling the message panicked: {} (hint: a bug in sglci; the message is kept for a rerun once fixed)",
                panic_text(panic.as_ref())
            )),
            ..MessageReport::default()
        });
        report.skipped += one.skipped;
        report.touched.merge(one.touched);
        report.ingested.extend(one.ingested);
        outcomes.push(match one.failure {
            None => MessageOutcome::Done,
            Some(reason) => {
                tracing::warn!(message = %msg.id, receives = msg.receive_count, %reason, "message failed");
                record_failure(store, msg, &reason, now)?;
                report.quarantined.push((msg.id.clone(), reason.clone()));
                MessageOutcome::Failed(reason)
            }
        });
    }
    Ok((report, outcomes))
}

/// What one message did.
#[derive(Default)]
struct MessageReport {
    skipped: usize,
    ingested: Vec<(String, String, usize)>,
    touched: Touched,
    failure: Option<String>,
}

/// Handles every delivery one message body holds; the last failure is the message's.
fn handle_message(hist: &History<'_>, msg: &Message, limits: &BundleLimits) -> MessageReport {
    let mut one = MessageReport::default();
    for delivery in interpret(&msg.body) {
        let result = match delivery {
            Delivery::Skip(why) => {
                tracing::info!(message = %msg.id, %why, "nothing to do");
                one.skipped += 1;
                Ok(())
            }
            Delivery::Invalid(reason) => Err(reason),
            Delivery::Bundle(manifest) => Key::new(manifest.clone())
                .map_err(|e| e.to_string())
                .and_then(|k| ingest_bundle(hist, &k, limits))
                .map(|(run, rows, touched)| {
                    tracing::info!(run = %run, rows, "bundle ingested");
                    one.touched.merge(touched);
                    one.ingested.push((run, manifest, rows));
                }),
        };
        if let Err(reason) = result {
            one.failure = Some(reason);
        }
    }
    one
}

/// The text a panic carries (`panic!` with a literal or a formatted message).
fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned());
    sglci_core::text::evidence(&text, 300)
}

/// Keeps a failed message's reason in the store, so a message that ends in the dead-letter
/// queue has its error beside it.
fn record_failure(
    store: &dyn ObjectStore,
    msg: &Message,
    reason: &str,
    now: &str,
) -> Result<(), AppError> {
    let name: String = msg
        .id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let record = serde_json::json!({
        "message_id": msg.id,
        "receive_count": msg.receive_count,
        "reason": reason,
        "at": now,
        "body": msg.body.chars().take(4096).collect::<String>(),
    });
    store.put(
        &Key::new(format!("quarantine/{name}.json"))?,
        &serde_json::to_vec_pretty(&record).unwrap_or_default(),
    )?;
    Ok(())
}

/// Drains a queue (`ingest --pending`): receives in batches, handles each batch, acknowledges
/// what was done and fails the rest (a spool sets it aside; SQS retries it, then dead-letters
/// it). Each message is handled at most once per drain.
pub fn ingest_pending(
    store: &dyn ObjectStore,
    queue: &dyn Queue,
    site: Option<&SiteJob<'_>>,
    now: &str,
) -> Result<PendingReport, AppError> {
    ingest_pending_within(store, queue, site, now, &BundleLimits::default())
}

/// [`ingest_pending`] with configured bundle limits.
pub fn ingest_pending_within(
    store: &dyn ObjectStore,
    queue: &dyn Queue,
    site: Option<&SiteJob<'_>>,
    now: &str,
    limits: &BundleLimits,
) -> Result<PendingReport, AppError> {
    let handler = Handler {
        site,
        limits: *limits,
        effects: None,
    };
    ingest_pending_with(store, queue, &handler, now)
}

/// [`ingest_pending`] with a [`Handler`]: the effects too. An empty queue still runs one round,
/// so effects that wait for a retry (or that a crashed publisher left) are carried out.
pub fn ingest_pending_with(
    store: &dyn ObjectStore,
    queue: &dyn Queue,
    h: &Handler<'_>,
    now: &str,
) -> Result<PendingReport, AppError> {
    let mut total = PendingReport::default();
    let mut seen = BTreeSet::new();
    let mut rounds = 0;
    loop {
        let batch = queue.receive(10)?;
        let (fresh, again): (Vec<Message>, Vec<Message>) =
            batch.into_iter().partition(|m| !seen.contains(&m.id));
        for m in &again {
            // Back to the queue for the next drain.
            queue.fail(m, "seen in this drain already")?;
        }
        if fresh.is_empty() && rounds > 0 {
            break;
        }
        rounds += 1;
        let (report, outcomes) = handle_batch_with(store, &fresh, h, now)?;
        for (m, outcome) in fresh.iter().zip(outcomes) {
            seen.insert(m.id.clone());
            match outcome {
                MessageOutcome::Done => queue.ack(m)?,
                MessageOutcome::Failed(reason) => queue.fail(m, &reason)?,
            }
        }
        if !report.ingested.is_empty() {
            // Findings after the latest batch: they cover everything committed so far.
            total.regressions = report.regressions;
        }
        total.ingested.extend(report.ingested);
        total.quarantined.extend(report.quarantined);
        total.skipped += report.skipped;
        total.site_files += report.site_files;
        total.touched.merge(report.touched);
        if let Some(e) = report.effects {
            total
                .effects
                .get_or_insert_with(EffectsReport::default)
                .add(e);
        }
        if fresh.is_empty() {
            break;
        }
    }
    Ok(total)
}

impl EffectsReport {
    fn add(&mut self, o: EffectsReport) {
        self.enqueued.runs.extend(o.enqueued.runs);
        self.enqueued.effects += o.enqueued.effects;
        let (a, b) = (&mut self.drained, o.drained);
        a.done += b.done;
        a.superseded += b.superseded;
        a.failed += b.failed;
        a.gave_up += b.gave_up;
        a.deferred = b.deferred;
    }
}
