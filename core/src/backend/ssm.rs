//! Secrets from AWS Systems Manager Parameter Store (SecureString parameters), read once per
//! process or Lambda cold start: the Teams webhook URL and the GitHub token the publisher's
//! effects need. The values never reach a log line: errors name the parameter, not its value.

use super::aws::Aws;
use super::BackendError;

/// Reads SSM parameters through one AWS context.
#[derive(Debug, Clone)]
pub struct SsmParameters {
    aws: Aws,
    client: aws_sdk_ssm::Client,
}

impl SsmParameters {
    pub fn new(aws: &Aws) -> Self {
        Self {
            aws: aws.clone(),
            client: aws_sdk_ssm::Client::new(aws.config()),
        }
    }

    /// The decrypted value of parameter `name` (`/sglci/teams-webhook-url`).
    pub fn get(&self, name: &str) -> Result<String, BackendError> {
        let out = self
            .aws
            .block_on(
                self.client
                    .get_parameter()
                    .name(name)
                    .with_decryption(true)
                    .send(),
            )
            .map_err(|e| {
                BackendError::Config(format!(
                    "reading the SSM parameter {name}: {} (hint: create it as a SecureString, and grant ssm:GetParameter on it to this role)",
                    aws_sdk_ssm::error::DisplayErrorContext(&e)
                ))
            })?;
        out.parameter
            .and_then(|p| p.value)
            .filter(|v| !v.trim().is_empty())
            .map(|v| v.trim().to_owned())
            .ok_or_else(|| BackendError::Config(format!("the SSM parameter {name} is empty")))
    }
}
