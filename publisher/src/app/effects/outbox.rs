//! The outbox in the object store:
//!
//! - `outbox/cursor.json`: the index generation up to which effects have been enqueued;
//! - `outbox/pending/<id>.json`: an [`Entry`] per effect not yet finished;
//! - `outbox/claims/<id>.json`: who is carrying an effect out, until when;
//! - `outbox/done/<id>.json`: the [`DoneMarker`] of every finished effect.
//!
//! Every write that two publishers could race on is conditional (create-if-absent, or
//! replace-if-unchanged).

use serde::{Deserialize, Serialize};
use sglci_core::store::{update, Key, ObjectStore, StoreError, Version};

use super::{DoneMarker, Effect, EffectError, EffectId, Entry};

const CURSOR: &str = "outbox/cursor.json";
const PENDING: &str = "outbox/pending";
const CLAIMS: &str = "outbox/claims";
const DONE: &str = "outbox/done";

fn key(dir: &str, id: &EffectId) -> Result<Key, StoreError> {
    Key::new(format!("{dir}/{id}.json"))
}

/// The outbox's cursor: effects of every commit up to `generation` are enqueued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cursor {
    pub generation: u64,
}

/// The cursor, if the outbox has one.
pub fn cursor(store: &dyn ObjectStore) -> Result<Option<Cursor>, EffectError> {
    match store.get(&Key::new(CURSOR)?) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            EffectError::Config(format!(
                "{CURSOR}: unreadable ({e}) (hint: delete it to enqueue from the current generation on)"
            ))
        }),
        Err(StoreError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Starts the outbox at `generation` when it has no cursor yet: an installation that turns
/// effects on gets the effects of what it commits from now on, not a flood of old ones.
pub fn start_cursor(store: &dyn ObjectStore, generation: u64) -> Result<(), EffectError> {
    let body = serde_json::to_vec(&Cursor { generation }).unwrap_or_default();
    match store.put_if_absent(&Key::new(CURSOR)?, &body) {
        Ok(()) | Err(StoreError::Exists { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Moves the cursor forward to `generation` (never back).
pub fn advance_cursor(store: &dyn ObjectStore, generation: u64) -> Result<(), EffectError> {
    update(
        store,
        &Key::new(CURSOR)?,
        32,
        |b| serde_json::from_slice::<Cursor>(b).map_err(|e| e.to_string()),
        |c| serde_json::to_vec(c).unwrap_or_default(),
        |cur| {
            Ok(match cur {
                Some(c) if c.generation >= generation => None,
                _ => Some(Cursor { generation }),
            })
        },
    )?;
    Ok(())
}

/// Whether the effect is finished.
pub fn is_done(store: &dyn ObjectStore, id: &EffectId) -> Result<bool, EffectError> {
    match store.get(&key(DONE, id)?) {
        Ok(_) => Ok(true),
        Err(StoreError::NotFound { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The done-marker of an effect, if it is finished.
pub fn done_marker(
    store: &dyn ObjectStore,
    id: &EffectId,
) -> Result<Option<DoneMarker>, EffectError> {
    match store.get(&key(DONE, id)?) {
        Ok(b) => Ok(serde_json::from_slice(&b).ok()),
        Err(StoreError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Adds an effect unless it is pending or finished already. Returns whether it was added.
pub fn enqueue(
    store: &dyn ObjectStore,
    id: &EffectId,
    effect: Effect,
    now: &str,
) -> Result<bool, EffectError> {
    if is_done(store, id)? {
        return Ok(false);
    }
    let entry = Entry {
        effect,
        enqueued: now.to_owned(),
        attempts: 0,
        not_before: 0,
        last_error: None,
    };
    match store.put_if_absent(
        &key(PENDING, id)?,
        &serde_json::to_vec_pretty(&entry).unwrap_or_default(),
    ) {
        Ok(()) => Ok(true),
        Err(StoreError::Exists { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// A pending entry with the version it was read at; `entry` is `Err` when it does not decode
/// (kept aside by the drain, with its reason).
#[derive(Debug)]
pub struct Pending {
    pub id: EffectId,
    pub entry: Result<Entry, String>,
    pub version: Version,
}

/// Every pending entry, in id order.
pub fn pending(store: &dyn ObjectStore) -> Result<Vec<Pending>, EffectError> {
    let mut out = Vec::new();
    for k in store.list(PENDING)? {
        let Some(name) = k
            .as_str()
            .strip_prefix(PENDING)
            .and_then(|r| r.strip_prefix('/'))
            .and_then(|n| n.strip_suffix(".json"))
        else {
            continue;
        };
        let Some(id) = EffectId::parse(name) else {
            continue;
        };
        match store.get_versioned(&k) {
            Ok((bytes, version)) => out.push(Pending {
                id,
                entry: serde_json::from_slice(&bytes).map_err(|e| e.to_string()),
                version,
            }),
            // Finished by another publisher since the listing.
            Err(StoreError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// A claim on an effect.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Claim {
    holder: String,
    until: i64,
}

/// Takes the claim on an effect for `lease` seconds: when nobody holds it, or the holder's lease
/// ran out (it died while carrying the effect out). Returns whether this caller holds it now.
pub fn claim(
    store: &dyn ObjectStore,
    id: &EffectId,
    holder: &str,
    now: i64,
    lease: u64,
) -> Result<bool, EffectError> {
    let k = key(CLAIMS, id)?;
    let mine = serde_json::to_vec(&Claim {
        holder: holder.to_owned(),
        until: now.saturating_add(lease as i64),
    })
    .unwrap_or_default();
    match store.put_if_absent(&k, &mine) {
        Ok(()) => return Ok(true),
        Err(StoreError::Exists { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    let (bytes, version) = match store.get_versioned(&k) {
        Ok(v) => v,
        // Released meanwhile: the effect was finished or put back; the next drain looks again.
        Err(StoreError::NotFound { .. }) => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    let expired = serde_json::from_slice::<Claim>(&bytes).map_or(true, |c| c.until <= now);
    if !expired {
        return Ok(false);
    }
    match store.put_if_match(&k, &mine, &version) {
        Ok(()) => {
            tracing::warn!(effect = %id, "took over an expired claim: its holder stopped while carrying it out");
            Ok(true)
        }
        Err(StoreError::Conflict { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Lets go of a claim.
pub fn release(store: &dyn ObjectStore, id: &EffectId) -> Result<(), EffectError> {
    match store.delete(&key(CLAIMS, id)?) {
        Ok(()) | Err(StoreError::NotFound { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Finishes an effect: the done-marker first, then the entry and the claim are removed (in that
/// order, so a crash at any point leaves a state the next drain completes).
pub fn finish(
    store: &dyn ObjectStore,
    id: &EffectId,
    marker: &DoneMarker,
) -> Result<(), EffectError> {
    let done = key(DONE, id)?;
    match store.put_if_absent(
        &done,
        &serde_json::to_vec_pretty(marker).unwrap_or_default(),
    ) {
        Ok(()) | Err(StoreError::Exists { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    match store.delete(&key(PENDING, id)?) {
        Ok(()) | Err(StoreError::NotFound { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    release(store, id)
}

/// Records a failed attempt: the entry's attempts and back-off (replace-if-unchanged; a lost
/// race means another publisher already recorded it), then the claim is released.
pub fn record_failure(
    store: &dyn ObjectStore,
    p: &Pending,
    entry: Entry,
) -> Result<(), EffectError> {
    match store.put_if_match(
        &key(PENDING, &p.id)?,
        &serde_json::to_vec_pretty(&entry).unwrap_or_default(),
        &p.version,
    ) {
        Ok(()) | Err(StoreError::Conflict { .. }) | Err(StoreError::NotFound { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    release(store, &p.id)
}

/// Keeps the reason an effect was given up, beside the failed messages.
pub fn quarantine(
    store: &dyn ObjectStore,
    id: &EffectId,
    entry: &Entry,
    now: &str,
) -> Result<(), EffectError> {
    let record = serde_json::json!({
        "effect": id.as_str(),
        "kind": entry.effect.kind(),
        "attempts": entry.attempts,
        "reason": entry.last_error,
        "enqueued": entry.enqueued,
        "at": now,
    });
    store.put(
        &Key::new(format!("quarantine/effect-{id}.json"))?,
        &serde_json::to_vec_pretty(&record).unwrap_or_default(),
    )?;
    Ok(())
}
