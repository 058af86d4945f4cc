//! The AWS context shared by the S3 and SQS backends: one SDK configuration and one small tokio
//! runtime, built once (per process, per Lambda cold start) and reused by every call.
//!
//! The store and queue traits are blocking, so each call runs its future to completion on this
//! runtime. Call them from plain threads (in Lambda, from `spawn_blocking`), never from inside
//! another runtime's async task.

use std::sync::Arc;

use aws_config::BehaviorVersion;

use super::BackendError;

#[derive(Debug, Clone)]
pub struct Aws {
    rt: Arc<tokio::runtime::Runtime>,
    config: aws_config::SdkConfig,
}

impl Aws {
    /// Configuration from the environment, as every AWS tool reads it: credentials (Lambda's
    /// role, `AWS_ACCESS_KEY_ID`, profiles), `AWS_REGION`, and `AWS_ENDPOINT_URL` for an emulator
    /// or a private endpoint.
    pub fn from_env() -> Result<Self, BackendError> {
        let rt = runtime()?;
        let config = rt.block_on(
            aws_config::defaults(BehaviorVersion::latest())
                .timeout_config(timeouts())
                .load(),
        );
        if config.region().is_none() {
            return Err(BackendError::Config(
                "no AWS region (hint: set AWS_REGION, e.g. us-east-1)".to_owned(),
            ));
        }
        Ok(Self {
            rt: Arc::new(rt),
            config,
        })
    }

    /// A fixed endpoint, region and static credentials: for an emulator on loopback (tests,
    /// local development), without touching the process environment.
    pub fn with_endpoint(endpoint: &str, region: &str) -> Result<Self, BackendError> {
        let rt = runtime()?;
        let config = rt.block_on(
            aws_config::defaults(BehaviorVersion::latest())
                .endpoint_url(endpoint)
                .region(aws_config::Region::new(region.to_owned()))
                .credentials_provider(aws_sdk_s3::config::Credentials::new(
                    "sglci-test",
                    "sglci-test",
                    None,
                    None,
                    "sglci-static",
                ))
                .timeout_config(timeouts())
                .load(),
        );
        Ok(Self {
            rt: Arc::new(rt),
            config,
        })
    }

    pub(crate) fn config(&self) -> &aws_config::SdkConfig {
        &self.config
    }

    /// Whether requests go to a custom endpoint (an emulator such as moto): S3 then needs
    /// path-style addressing, since `bucket.127.0.0.1` does not resolve.
    pub(crate) fn custom_endpoint(&self) -> bool {
        self.config.endpoint_url().is_some()
    }

    /// Runs an SDK future to completion on this context's runtime (from a plain thread).
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, BackendError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("sglci-aws")
        .enable_all()
        .build()
        .map_err(|e| BackendError::Config(format!("starting the AWS client runtime: {e}")))
}

fn timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(5))
        .operation_attempt_timeout(std::time::Duration::from_secs(60))
        .build()
}
