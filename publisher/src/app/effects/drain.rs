//! Carrying out the pending effects: each under a claim, skipped when done, retried with
//! back-off, given up (and recorded) after the policy's attempts. One structured log line per
//! effect attempt: what, where (the host only), the outcome and the attempt.

use super::{
    backoff, claim, finish, is_done, pending, perform, quarantine, record_failure, release,
    Context, DoneMarker, EffectError, Outcome, Pending, Sinks,
};

/// A fault to inject, for the crash tests (`SGLCI_FAULT`): the process aborts at that point,
/// as a killed Lambda would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// After the batch's commits, before any derived state or effect.
    AfterCommit,
    /// After the first effect was carried out, before its done-marker.
    AfterSend,
}

impl Fault {
    /// `after-commit` or `after-send`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "after-commit" => Some(Self::AfterCommit),
            "after-send" => Some(Self::AfterSend),
            _ => None,
        }
    }
}

/// Who is draining, and when.
#[derive(Debug, Clone)]
pub struct Drainer<'a> {
    /// Names the claims (`host:pid`, or the Lambda's request id).
    pub holder: &'a str,
    /// Unix seconds, and the same as RFC 3339 for the records.
    pub now: i64,
    pub now_text: &'a str,
    pub fault: Option<Fault>,
}

/// What one drain did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Drained {
    pub done: usize,
    pub superseded: usize,
    pub failed: usize,
    pub gave_up: usize,
    /// Held by another publisher, or waiting for their back-off.
    pub deferred: usize,
}

/// Carries out every pending effect that is due.
pub fn drain(sinks: &Sinks, cx: &Context<'_>, d: &Drainer<'_>) -> Result<Drained, EffectError> {
    let mut out = Drained::default();
    let all = pending(cx.store)?;
    // Pages and issues bring their target to the latest state: only the newest of each kind is
    // carried out, the others are finished as superseded.
    let newest = |kind: &str| {
        all.iter()
            .filter_map(|p| p.entry.as_ref().ok())
            .filter(|e| e.effect.kind() == kind)
            .filter_map(|e| e.effect.generation())
            .max()
    };
    let (pages, issues) = (newest("pages"), newest("issues"));
    for p in &all {
        let entry = match &p.entry {
            Ok(e) => e,
            Err(reason) => {
                set_aside(cx, p, reason, d)?;
                out.gave_up += 1;
                continue;
            }
        };
        let latest = match entry.effect.kind() {
            "pages" => pages,
            "issues" => issues,
            _ => None,
        };
        if let (Some(g), Some(latest)) = (entry.effect.generation(), latest) {
            if g < latest {
                finish(
                    cx.store,
                    &p.id,
                    &marker(
                        Outcome::Superseded,
                        d,
                        entry.attempts,
                        format!("generation {latest}"),
                    ),
                )?;
                out.superseded += 1;
                continue;
            }
        }
        if entry.not_before > d.now
            || !claim(
                cx.store,
                &p.id,
                d.holder,
                d.now,
                sinks.config.policy.lease_secs,
            )?
        {
            out.deferred += 1;
            continue;
        }
        // Done by someone else since it was listed (or before a crash that kept the entry).
        if is_done(cx.store, &p.id)? {
            finish(
                cx.store,
                &p.id,
                &marker(Outcome::Done, d, entry.attempts, String::new()),
            )?;
            continue;
        }
        attempt(sinks, cx, d, p, &mut out)?;
    }
    Ok(out)
}

fn marker(outcome: Outcome, d: &Drainer<'_>, attempts: u32, receipt: String) -> DoneMarker {
    DoneMarker {
        outcome,
        at: d.now_text.to_owned(),
        attempts,
        receipt,
    }
}

/// One attempt at a claimed effect.
fn attempt(
    sinks: &Sinks,
    cx: &Context<'_>,
    d: &Drainer<'_>,
    p: &Pending,
    out: &mut Drained,
) -> Result<(), EffectError> {
    let Ok(entry) = &p.entry else { return Ok(()) };
    let n = entry.attempts + 1;
    let kind = entry.effect.kind();
    let target = sinks.target_of(&entry.effect);
    // A panic in one effect (a bug meeting odd data) fails that effect only.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        perform(sinks, cx, &entry.effect)
    }))
    .unwrap_or_else(|_| Err("carrying the effect out panicked (hint: a bug in sglci)".to_owned()));
    match result {
        Ok(receipt) => {
            tracing::info!(effect = kind, id = %p.id, target = %target, outcome = "done", attempt = n, %receipt, "effect");
            if d.fault == Some(Fault::AfterSend) {
                tracing::error!(effect = kind, id = %p.id, "fault injected after sending (SGLCI_FAULT=after-send): stopping");
                std::process::abort();
            }
            finish(cx.store, &p.id, &marker(Outcome::Done, d, n, receipt))?;
            out.done += 1;
        }
        Err(reason) => {
            let mut next = entry.clone();
            next.attempts = n;
            next.last_error = Some(sglci_core::text::evidence(&reason, 500));
            if n >= sinks.config.policy.max_attempts {
                tracing::error!(effect = kind, id = %p.id, target = %target, outcome = "gave_up", attempt = n, %reason, "effect");
                quarantine(cx.store, &p.id, &next, d.now_text)?;
                finish(cx.store, &p.id, &marker(Outcome::GaveUp, d, n, reason))?;
                out.gave_up += 1;
            } else {
                let wait = backoff(&sinks.config.policy, n);
                next.not_before = d.now.saturating_add(wait);
                tracing::warn!(effect = kind, id = %p.id, target = %target, outcome = "failed", attempt = n, retry_in_s = wait, %reason, "effect");
                record_failure(cx.store, p, next)?;
                out.failed += 1;
            }
        }
    }
    Ok(())
}

/// An entry that does not decode (written by a newer publisher, or damaged): recorded and
/// removed, so it never blocks the others.
fn set_aside(
    cx: &Context<'_>,
    p: &Pending,
    reason: &str,
    d: &Drainer<'_>,
) -> Result<(), EffectError> {
    tracing::error!(id = %p.id, %reason, "an outbox entry does not decode: set aside under quarantine/");
    cx.store.put(
        &sglci_core::store::Key::new(format!("quarantine/effect-{}.json", p.id))?,
        &serde_json::to_vec_pretty(&serde_json::json!({
            "effect": p.id.as_str(), "reason": format!("undecodable outbox entry: {reason}"), "at": d.now_text,
        }))
        .unwrap_or_default(),
    )?;
    finish(
        cx.store,
        &p.id,
        &marker(Outcome::GaveUp, d, 0, reason.to_owned()),
    )?;
    release(cx.store, &p.id)
}
