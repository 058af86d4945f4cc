//! `sglci-publisher-lambda`: the publisher as an AWS Lambda fed by SQS. Builds the backends and
//! templates once per cold start, then handles each invocation on a blocking thread (the work is
//! CPU-bound and the store clients are blocking). Logs go through `tracing`: JSON when the
//! function's log format is JSON (`AWS_LAMBDA_LOG_FORMAT`).

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use sglci_core::backend::Backends;
use sglci_core::store::ObjectStore;
use sglci_publisher::app::{SiteJob, SiteTarget};
use sglci_publisher::config::{parse_site, parse_store};
use sglci_publisher::site::templates::Templates;
use sglci_publisher::site::SiteOptions;

struct Ready {
    store: Box<dyn ObjectStore>,
    site: Option<SiteTarget>,
    templates: Templates,
    logs_url: String,
    limits: sglci_core::bundle::BundleLimits,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn cold_start() -> Result<Ready, Error> {
    let store =
        parse_store(&env("SGLCI_STORE").ok_or("SGLCI_STORE is not set (hint: s3://BUCKET)")?)?;
    let site = match env("SGLCI_SITE").as_deref() {
        Some("none") => None,
        Some(s) => Some(parse_site(s)?),
        None => Some(parse_site("store:site")?),
    };
    let mut backends = Backends::default();
    Ok(Ready {
        store: backends.store(&store)?,
        site,
        templates: Templates::embedded()?,
        logs_url: env("SGLCI_LOGS_URL").unwrap_or_else(|| "logs/".to_owned()),
        limits: sglci_publisher::config::parse_limits(
            env("SGLCI_MAX_FILE_MB").as_deref(),
            env("SGLCI_MAX_BUNDLE_MB").as_deref(),
        )?,
    })
}

fn now_utc() -> String {
    sglci_core::date::rfc3339(sglci_core::clock::unix_now())
}

fn invoke(ready: &Ready, event: &SqsEvent) -> Result<SqsBatchResponse, Error> {
    let now = now_utc();
    let triage = sglci_publisher::app::load_triage(ready.store.as_ref(), None)?;
    let job = ready.site.clone().map(|target| SiteJob {
        target,
        templates: &ready.templates,
        opts: SiteOptions {
            generated_at: now.replace('T', " ").replace('Z', " UTC"),
            logs_base: ready.logs_url.clone(),
            triage,
            ..SiteOptions::default()
        },
    });
    Ok(sglci_publisher::lambda::handle_within(
        ready.store.as_ref(),
        event,
        job.as_ref(),
        &now,
        &ready.limits,
    )?)
}

fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    // Built before the Lambda runtime starts: the store owns its own client runtime, which must
    // not be created or dropped inside an async context.
    let ready = Arc::new(cold_start()?);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let result = rt.block_on(lambda_runtime::run(service_fn(
        |event: LambdaEvent<SqsEvent>| {
            let ready = Arc::clone(&ready);
            async move {
                tokio::task::spawn_blocking(move || invoke(&ready, &event.payload)).await?
            }
        },
    )));
    drop(rt);
    result
}
