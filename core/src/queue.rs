//! The queue boundary (F16, F39): the runner announces a bundle, the publisher receives the
//! announcement. Backends: a spool directory (the default) and SQS. Queues move message bodies;
//! what a body means is [`interpret`]'s job, so every backend treats bodies alike.

use crate::bundle::{Announcement, BUNDLE_SCHEMA};

/// A received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The queue's id for the message (an SQS MessageId, a spool file stem).
    pub id: String,
    /// What settles this delivery (an SQS receipt handle; the id for the spool).
    pub receipt: String,
    pub body: String,
    /// How many times the queue has handed this message out, this time included.
    pub receive_count: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("queue {queue}: {op}: {reason}")]
    Backend {
        queue: String,
        op: &'static str,
        reason: String,
    },
}

/// A queue of announcements.
pub trait Queue: Send + Sync {
    /// Sends a body; returns the message id.
    fn send(&self, body: &str) -> Result<String, QueueError>;
    /// Up to `max` visible messages (fewer, or none, when the queue has fewer).
    fn receive(&self, max: usize) -> Result<Vec<Message>, QueueError>;
    /// The message was processed: remove it.
    fn ack(&self, m: &Message) -> Result<(), QueueError>;
    /// The message could not be processed. The spool sets it aside with its reason; SQS makes it
    /// visible again, so it is retried until the redrive policy moves it to the dead-letter queue.
    fn fail(&self, m: &Message, reason: &str) -> Result<(), QueueError>;
}

/// The behaviour every queue backend must have; run against each one by its tests. Expects an
/// empty queue.
pub fn check_queue(q: &dyn Queue) -> Result<(), String> {
    let fail = |what: String| Err(format!("queue conformance: {what}"));
    if !q.receive(10).map_err(|e| e.to_string())?.is_empty() {
        return fail("a new queue is empty".into());
    }
    let bodies = ["{\"n\":1}", "{\"n\":2}", "{\"n\":3}"];
    let mut ids = Vec::new();
    for b in bodies {
        ids.push(q.send(b).map_err(|e| e.to_string())?);
    }
    if ids.iter().collect::<std::collections::BTreeSet<_>>().len() != 3 {
        return fail(format!("distinct bodies get distinct ids: {ids:?}"));
    }
    let mut got = Vec::new();
    for _ in 0..10 {
        let batch = q.receive(2).map_err(|e| e.to_string())?;
        if batch.len() > 2 {
            return fail(format!("receive(2) gave {}", batch.len()));
        }
        for m in batch {
            if m.receive_count < 1 {
                return fail(format!("receive count starts at 1: {m:?}"));
            }
            q.ack(&m).map_err(|e| e.to_string())?;
            got.push(m.body);
        }
        if got.len() == 3 {
            break;
        }
    }
    got.sort();
    if got != bodies {
        return fail(format!("every body comes back unchanged, once: {got:?}"));
    }
    if !q.receive(10).map_err(|e| e.to_string())?.is_empty() {
        return fail("acknowledged messages are gone".into());
    }
    Ok(())
}

/// What a message body asks of the publisher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// A bundle to ingest: its manifest key.
    Bundle(String),
    /// Nothing to do (S3's `s3:TestEvent` when a bucket notification is configured, or an event
    /// for an object that is not a manifest).
    Skip(String),
    /// A body that can never be processed, with the reason.
    Invalid(String),
}

/// Reads a body: an sglci [`Announcement`], or an S3 event notification whose objects are bundle
/// manifests (so a bucket notification can feed the queue directly).
pub fn interpret(body: &str) -> Vec<Delivery> {
    let value: serde_json::Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(e) => return vec![Delivery::Invalid(format!("not JSON: {e}"))],
    };
    if value.get("Event").and_then(|e| e.as_str()) == Some("s3:TestEvent") {
        return vec![Delivery::Skip("s3:TestEvent".to_owned())];
    }
    if let Some(records) = value.get("Records").and_then(|r| r.as_array()) {
        return records
            .iter()
            .map(|r| {
                let key = r
                    .pointer("/s3/object/key")
                    .and_then(|k| k.as_str())
                    .map(percent_decode);
                match key {
                    Some(k) if k.ends_with("/manifest.json") && k.starts_with("runs/") => {
                        Delivery::Bundle(k)
                    }
                    Some(k) => Delivery::Skip(format!("S3 event for {k}, not a manifest")),
                    None => Delivery::Invalid("S3 event record without s3.object.key".to_owned()),
                }
            })
            .collect();
    }
    match serde_json::from_value::<Announcement>(value) {
        Ok(a) if a.schema == BUNDLE_SCHEMA => vec![Delivery::Bundle(a.manifest)],
        Ok(a) => vec![Delivery::Invalid(format!(
            "announcement schema {} (this publisher reads {BUNDLE_SCHEMA}; hint: upgrade the publisher)",
            a.schema
        ))],
        Err(e) => vec![Delivery::Invalid(format!("not an announcement: {e}"))],
    }
}

/// S3 event keys are URL-encoded (`+` for a space).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                Ok(v) => {
                    out.push(v);
                    i += 2;
                }
                Err(_) => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_interpreted() {
        let ok = r#"{"schema":1,"manifest":"runs/mi30x/20251210/r1/manifest.json"}"#;
        assert_eq!(
            interpret(ok),
            [Delivery::Bundle(
                "runs/mi30x/20251210/r1/manifest.json".into()
            )]
        );
        let test_event = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2025-12-10T00:00:00Z","Bucket":"b"}"#;
        assert!(matches!(interpret(test_event)[0], Delivery::Skip(_)));
        let s3 = r#"{"Records":[{"s3":{"object":{"key":"runs/mi30x/20251210/r%2B1/manifest.json"}}},{"s3":{"object":{"key":"runs/mi30x/20251210/r1/files/a.log"}}}]}"#;
        let d = interpret(s3);
        assert_eq!(
            d[0],
            Delivery::Bundle("runs/mi30x/20251210/r+1/manifest.json".into())
        );
        assert!(matches!(d[1], Delivery::Skip(_)));
        assert!(matches!(interpret("{")[0], Delivery::Invalid(_)));
        assert!(
            matches!(interpret(r#"{"schema":9,"manifest":"x"}"#)[0], Delivery::Invalid(ref r) if r.contains("schema 9"))
        );
        assert!(matches!(
            interpret(r#"{"hello":1}"#)[0],
            Delivery::Invalid(_)
        ));
    }
}
