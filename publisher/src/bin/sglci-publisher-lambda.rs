//! `sglci-publisher-lambda`: the publisher as an AWS Lambda fed by SQS and by the daily-summary
//! schedule. Builds the backends, the templates and the effects' clients (their secrets read
//! from SSM) once per cold start, then handles each invocation on a blocking thread (the work is
//! CPU-bound and the store clients are blocking). Logs go through `tracing`: JSON when the
//! function's log format is JSON (`AWS_LAMBDA_LOG_FORMAT`).

use std::collections::BTreeMap;
use std::sync::Arc;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use sglci_core::backend::Backends;
use sglci_core::store::ObjectStore;
use sglci_publisher::app::effects::{GitHubRepo, Secrets, Sinks};
use sglci_publisher::app::{EffectsRun, Handler, SiteJob, SiteTarget};
use sglci_publisher::config::{parse_effects, parse_git_cache, parse_site, parse_store, CardSink};
use sglci_publisher::lambda::{Invocation, Reply};
use sglci_publisher::site::templates::Templates;
use sglci_publisher::site::SiteOptions;

struct Ready {
    store: Box<dyn ObjectStore>,
    site: Option<SiteTarget>,
    templates: Templates,
    logs_url: String,
    limits: sglci_core::bundle::BundleLimits,
    sinks: Option<Sinks>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The effects' configuration and clients; secrets come from the SSM parameters the template
/// grants, and only those the configured effects need are read.
fn effect_sinks(
    backends: &mut Backends,
    site: Option<&SiteTarget>,
) -> Result<Option<Sinks>, Error> {
    let notify: Vec<String> = env("SGLCI_NOTIFY").into_iter().collect();
    let mut config = parse_effects(
        env("SGLCI_LOG_REPO").as_deref(),
        env("SGLCI_PAGES").as_deref(),
        &notify,
        env("SGLCI_DASHBOARD_URL").as_deref(),
        [
            env("SGLCI_EFFECT_ATTEMPTS").as_deref(),
            env("SGLCI_EFFECT_BACKOFF_S").as_deref(),
            env("SGLCI_EFFECT_LEASE_S").as_deref(),
        ],
    )?;
    if !config.any() {
        return Ok(None);
    }
    // `/tmp` outlives an invocation in a warm container: the next push fetches only what is new.
    config.git_cache = parse_git_cache(
        env("SGLCI_GIT_CACHE").as_deref(),
        env("SGLCI_GIT_CACHE_MB").as_deref(),
        &std::env::temp_dir(),
    )?;
    let mut secret = |var: &str| -> Result<Option<String>, Error> {
        match env(var) {
            Some(name) => Ok(Some(backends.ssm_parameter(&name)?)),
            None => Ok(None),
        }
    };
    let https = |t: &Option<sglci_publisher::config::GitTarget>| {
        t.as_ref().is_some_and(|t| t.remote.starts_with("https://"))
    };
    let secrets = Secrets {
        teams_webhook: if config.cards.contains(&CardSink::Teams) {
            secret("SGLCI_TEAMS_WEBHOOK_PARAMETER")?
        } else {
            None
        },
        github_token: if config.github_issues || https(&config.log_repo) || https(&config.pages) {
            secret("SGLCI_GITHUB_TOKEN_PARAMETER")?
        } else {
            None
        },
    };
    let vars: BTreeMap<String, String> = ["GITHUB_REPOSITORY", "GITHUB_API_URL"]
        .iter()
        .filter_map(|k| env(k).map(|v| ((*k).to_owned(), v)))
        .collect();
    Ok(Some(Sinks::new(
        config,
        secrets,
        &GitHubRepo::from_env(&vars),
        site,
    )?))
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
    let sinks = effect_sinks(&mut backends, site.as_ref())?;
    Ok(Ready {
        store: backends.store(&store)?,
        site,
        templates: Templates::embedded()?,
        logs_url: env("SGLCI_LOGS_URL").unwrap_or_else(|| "logs/".to_owned()),
        limits: sglci_publisher::config::parse_limits(
            env("SGLCI_MAX_FILE_MB").as_deref(),
            env("SGLCI_MAX_BUNDLE_MB").as_deref(),
        )?,
        sinks,
    })
}

fn now_utc() -> String {
    sglci_core::date::rfc3339(sglci_core::clock::unix_now())
}

fn invoke(ready: &Ready, event: &Invocation, request_id: &str) -> Result<Reply, Error> {
    let now = now_utc();
    let store = ready.store.as_ref();
    let triage = sglci_publisher::app::load_triage(store, None)?;
    let job = ready.site.clone().map(|target| SiteJob {
        target,
        templates: &ready.templates,
        opts: SiteOptions {
            generated_at: now.replace('T', " ").replace('Z', " UTC"),
            logs_base: ready.logs_url.clone(),
            triage: triage.clone(),
            ..SiteOptions::default()
        },
    });
    let handler = Handler {
        site: job.as_ref(),
        limits: ready.limits,
        effects: ready.sinks.as_ref().map(|sinks| EffectsRun {
            sinks,
            triage: &triage,
            holder: request_id,
            fault: None,
        }),
    };
    Ok(match event {
        Invocation::Sqs(e) => Reply::Sqs(sglci_publisher::lambda::handle_with(
            store, e, &handler, &now,
        )?),
        Invocation::Scheduled(s) => Reply::Summary(sglci_publisher::lambda::handle_scheduled(
            store,
            s,
            &handler,
            &ready.templates,
            &ready.logs_url,
            &now,
        )?),
    })
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
        |event: LambdaEvent<Invocation>| {
            let ready = Arc::clone(&ready);
            async move {
                let id = event.context.request_id.clone();
                tokio::task::spawn_blocking(move || invoke(&ready, &event.payload, &id)).await?
            }
        },
    )));
    drop(rt);
    result
}
