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
                    Some(Err(reason)) => Delivery::Invalid(reason),
                    Some(Ok(k)) if k.ends_with("/manifest.json") && k.starts_with("runs/") => {
                        Delivery::Bundle(k)
                    }
                    Some(Ok(k)) => Delivery::Skip(format!(
                        "S3 event for {}, not a manifest",
                        crate::text::evidence(&k, 200)
                    )),
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

/// S3 event keys are URL-encoded (`+` for a space). Decoded on bytes, so a key with multi-byte
/// characters, a stray `%` or a truncated escape never panics; a key whose decoded bytes are not
/// UTF-8 is an error (S3 keys are UTF-8), and the message is quarantined with it.
pub fn percent_decode(s: &str) -> Result<String, String> {
    fn hex(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                b.get(i + 1).and_then(|&c| hex(c)),
                b.get(i + 2).and_then(|&c| hex(c)),
            ) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|e| {
        format!(
            "S3 event key {:?} decodes to bytes that are not UTF-8 (at byte {}); hint: S3 keys are UTF-8, so the event is corrupt",
            crate::text::evidence(s, 200),
            e.utf8_error().valid_up_to()
        )
    })
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

    /// S3 event keys with multi-byte characters next to `%`, truncated escapes and escapes that
    /// decode to invalid UTF-8: decoded on bytes, never a panic; undecodable keys are invalid.
    #[test]
    fn s3_event_keys_with_multibyte_characters_never_panic() {
        let event = |key: &str| {
            format!(
                r#"{{"Records":[{{"s3":{{"object":{{"key":{}}}}}}}]}}"#,
                serde_json::json!(key)
            )
        };
        let ok = |key: &str| match &interpret(&event(key))[0] {
            Delivery::Bundle(k) => k.clone(),
            other => panic!("{key}: {other:?}"),
        };
        assert_eq!(
            ok("runs/mi30x/20251210/r%C3%A9/manifest.json"),
            "runs/mi30x/20251210/ré/manifest.json"
        );
        assert_eq!(
            ok("runs/mi30x/20251210/%é1/manifest.json"),
            "runs/mi30x/20251210/%é1/manifest.json"
        );
        assert_eq!(
            ok("runs/mi30x/20251210/%€x/manifest.json"),
            "runs/mi30x/20251210/%€x/manifest.json"
        );
        assert_eq!(
            ok("runs/mi30x/20251210/%E/manifest.json"),
            "runs/mi30x/20251210/%E/manifest.json"
        );
        for tail in ["%", "%E", "%é", "é%"] {
            assert!(
                matches!(interpret(&event(tail))[0], Delivery::Skip(_)),
                "{tail}"
            );
        }
        match &interpret(&event("runs/a/b/%FF%FE/manifest.json"))[0] {
            Delivery::Invalid(r) => assert!(r.contains("not UTF-8"), "{r}"),
            other => panic!("{other:?}"),
        }
    }
}
