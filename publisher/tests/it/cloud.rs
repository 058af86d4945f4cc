//! The cloud path against real protocol servers on loopback (`moto_server` for S3 and SQS):
//! store conformance on S3, bundle round trip with checksums and duplicates, a poison message
//! that ends in the dead-letter queue with its reason recorded, two publishers over 20 runs at
//! once, and the Lambda handler on a real SQS event fed by an S3 bucket notification.
//!
//! Each test starts its own `moto_server` (about a second) and stops it when done. Without
//! `moto_server` installed the tests say they skipped, unless `SGLCI_REQUIRE_MOTO=1` (CI).

use crate::common;

use common::{
    check_all_runs_once, ship_sample, synthetic_nights, Moto, GROK1_1206, GROK1_1210, NOW,
};
use sglci_core::backend::aws::Aws;
use sglci_core::backend::s3::S3Store;
use sglci_core::backend::sqs::SqsQueue;
use sglci_core::bundle::{manifest_for, upload, Announcement};
use sglci_core::queue::Queue;
use sglci_core::store::{check_store, Key, ObjectStore};
use sglci_publisher::app::{self, SiteJob, SiteTarget};
use sglci_publisher::history::History;
use sglci_publisher::site::templates::Templates;
use sglci_publisher::site::SiteOptions;

fn aws(moto: &Moto) -> Aws {
    Aws::with_endpoint(&moto.url(), "us-east-1").expect("aws context")
}

fn bucket(aws: &Aws, name: &str) -> S3Store {
    let s = S3Store::new(aws, name, "");
    s.ensure_bucket().expect("bucket");
    s
}

fn announce(q: &dyn Queue, key: &Key) {
    q.send(&Announcement::body(key)).expect("announce");
}

fn ship(store: &dyn ObjectStore, run_id: &str, name: &str, tamper: bool) -> Key {
    ship_sample(store, run_id, name, tamper)
}

#[test]
fn s3_store_conforms() {
    let Some(moto) = Moto::start() else { return };
    let aws = aws(&moto);
    check_store(&bucket(&aws, "conformance")).expect("S3 conforms");
    // Under a prefix too: keys and listings are relative to it.
    let prefixed = S3Store::new(&aws, "conformance", "team/a");
    check_store(&prefixed).expect("prefixed S3 conforms");
}

#[test]
fn sqs_queue_conforms() {
    let Some(moto) = Moto::start() else { return };
    let aws = aws(&moto);
    let (queue, _) = SqsQueue::create(&aws, "conformance", 30, None).expect("queue");
    sglci_core::queue::check_queue(&queue).expect("SQS conforms");
}

#[test]
fn bundles_on_s3_and_sqs_round_trip_with_checksums_and_duplicates() {
    let Some(moto) = Moto::start() else { return };
    let aws = aws(&moto);
    let store = bucket(&aws, "sglci");
    let (queue, _) = SqsQueue::create(&aws, "runs", 30, None).expect("queue");
    announce(&queue, &ship(&store, "grok1-20251210", GROK1_1210, false));
    announce(&queue, &ship(&store, "grok1-20251206", GROK1_1206, true));
    let templates = Templates::embedded().expect("templates");
    let job = SiteJob {
        target: SiteTarget::Store(Key::new("site").expect("key")),
        templates: &templates,
        opts: SiteOptions {
            png: false,
            ..SiteOptions::default()
        },
    };
    let report = app::ingest_pending(&store, &queue, Some(&job), NOW).expect("drain");
    assert_eq!(report.ingested.len(), 1, "{report:?}");
    assert_eq!(report.quarantined.len(), 1);
    assert!(report.quarantined[0].1.contains("checksum mismatch"));
    let record = store
        .get(&Key::new(format!("quarantine/{}.json", report.quarantined[0].0)).expect("key"))
        .expect("the failure is recorded in the bucket");
    assert!(String::from_utf8_lossy(&record).contains("checksum mismatch"));
    // The site is in the bucket.
    let home =
        app::site_packs::read_site_file(&store, &Key::new("site").expect("key"), "index.html")
            .expect("site home");
    assert!(String::from_utf8_lossy(&home).contains("2025-12-10"));
    // The same bundle delivered again changes nothing in the history.
    let snapshot = |s: &S3Store| -> Vec<(Key, Vec<u8>)> {
        s.list("history")
            .expect("list")
            .into_iter()
            .map(|k| {
                let b = s.get(&k).expect("get");
                (k, b)
            })
            .collect()
    };
    let before = snapshot(&store);
    announce(&queue, &ship(&store, "grok1-20251210", GROK1_1210, false));
    let again = app::ingest_pending(&store, &queue, Some(&job), NOW).expect("drain");
    assert_eq!(again.ingested.len(), 1);
    assert_eq!(again.ingested[0].2, 0, "no rows written the second time");
    assert_eq!(
        snapshot(&store),
        before,
        "a duplicate delivery changes nothing"
    );
}

#[test]
fn a_poison_message_reaches_the_dead_letter_queue_with_its_reason() {
    let Some(moto) = Moto::start() else { return };
    let aws = aws(&moto);
    let store = bucket(&aws, "sglci");
    let (dlq, dlq_arn) = SqsQueue::create(&aws, "runs-dlq", 30, None).expect("dlq");
    let (queue, _) = SqsQueue::create(&aws, "runs", 30, Some((&dlq_arn, 2))).expect("queue");
    queue
        .send("{\"schema\":1,\"manifest\":\"runs/mi30x/20251210/nope/manifest.json\"}")
        .expect("send");
    // Each drain receives it once and fails it; after 2 receives the redrive policy moves it.
    for _ in 0..3 {
        let r = app::ingest_pending(&store, &queue, None, NOW).expect("drain");
        assert!(r.ingested.is_empty());
    }
    assert!(
        queue.receive(10).expect("receive").is_empty(),
        "gone from the queue"
    );
    let dead = dlq.receive(10).expect("dlq");
    assert_eq!(dead.len(), 1, "in the dead-letter queue");
    let records = store.list("quarantine").expect("list");
    assert_eq!(records.len(), 1, "{records:?}");
    let text = String::from_utf8_lossy(&store.get(&records[0]).expect("record")).into_owned();
    assert!(
        text.contains("not found") && text.contains("\"receive_count\""),
        "{text}"
    );
}

#[test]
fn two_publishers_on_s3_and_sqs_over_20_runs_lose_nothing() {
    let Some(moto) = Moto::start() else { return };
    let aws = aws(&moto);
    let store = bucket(&aws, "sglci");
    let (queue, _) = SqsQueue::create(&aws, "runs", 120, None).expect("queue");
    let runs = synthetic_nights(20);
    for (run_id, tag, files) in &runs {
        let date = &tag[tag.len() - 8..];
        let m = manifest_for(run_id, "mi30x", date, tag, "grok-online", files);
        announce(&queue, &upload(&store, &m, files).expect("upload"));
    }
    // Two publisher processes compete for the same queue.
    let children: Vec<_> = (0..2)
        .map(|_| {
            std::process::Command::new(env!("CARGO_BIN_EXE_sglci-publisher"))
                .args([
                    "--store",
                    "s3://sglci",
                    "ingest",
                    "--pending",
                    "--queue",
                    queue.url(),
                ])
                .envs(moto.env())
                .env("PUBLISHER_LOG", "warn")
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for mut c in children {
        assert!(c.wait().expect("wait").success());
    }
    check_all_runs_once(&store, &runs);
}

/// The Lambda handler on a real SQS event: S3 announces the bucket's objects to the queue (a
/// bucket notification; moto first sends `s3:TestEvent`), the test receives those messages from
/// SQS, wraps them as the Lambda service does, and calls the handler. The history and the site
/// in the bucket update; the test event and the non-manifest objects are skipped.
#[test]
fn lambda_handler_on_an_sqs_event_from_a_bucket_notification() {
    let Some(moto) = Moto::start() else { return };
    let aws = aws(&moto);
    let store = bucket(&aws, "sglci");
    let (queue, arn) = SqsQueue::create(&aws, "runs", 30, None).expect("queue");
    aws.block_on(async {
        use aws_sdk_s3::types::{Event, NotificationConfiguration, QueueConfiguration};
        store
            .client()
            .put_bucket_notification_configuration()
            .bucket("sglci")
            .notification_configuration(
                NotificationConfiguration::builder()
                    .queue_configurations(
                        QueueConfiguration::builder()
                            .queue_arn(&arn)
                            .events(Event::S3ObjectCreated)
                            .build()
                            .expect("queue configuration"),
                    )
                    .build(),
            )
            .send()
            .await
            .expect("notification");
    });
    ship(&store, "grok1-20251210", GROK1_1210, false);
    let mut records = Vec::new();
    for _ in 0..10 {
        let got = queue.receive(10).expect("receive");
        if got.is_empty() {
            break;
        }
        for m in got {
            records.push(serde_json::json!({
                "messageId": m.id,
                "receiptHandle": m.receipt,
                "body": m.body,
                "attributes": {"ApproximateReceiveCount": m.receive_count.to_string()},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": "us-east-1",
            }));
        }
    }
    assert!(
        records.len() >= 2,
        "a test event and the bundle's objects: {records:?}"
    );
    let event: aws_lambda_events::event::sqs::SqsEvent =
        serde_json::from_value(serde_json::json!({ "Records": records })).expect("event");
    let templates = Templates::embedded().expect("templates");
    let job = SiteJob {
        target: SiteTarget::Store(Key::new("site").expect("key")),
        templates: &templates,
        opts: SiteOptions {
            png: false,
            ..SiteOptions::default()
        },
    };
    let response =
        sglci_publisher::lambda::handle(&store, &event, Some(&job), NOW).expect("handle");
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let idx = History::new(&store).index().expect("index");
    assert_eq!(idx.partitions.len(), 1);
    assert!(
        app::site_packs::read_site_file(&store, &Key::new("site").expect("key"), "index.html")
            .is_ok()
    );
    // A poison record in the same batch is reported alone.
    let mut bad = event.clone();
    bad.records.truncate(1);
    bad.records[0].message_id = Some("poison-1".into());
    bad.records[0].body = Some("not json".into());
    let response = sglci_publisher::lambda::handle(&store, &bad, Some(&job), NOW).expect("handle");
    let ids: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(ids, ["poison-1"]);
}
