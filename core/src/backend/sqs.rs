//! [`SqsQueue`]: the queue on SQS (aws-sdk-sqs). A failed message is made visible again at
//! once, so it is retried until the queue's redrive policy moves it to the dead-letter queue.

use aws_sdk_sqs::types::MessageSystemAttributeName;

use super::aws::Aws;
use super::s3::describe;
use crate::queue::{Message, Queue, QueueError};

#[derive(Debug, Clone)]
pub struct SqsQueue {
    aws: Aws,
    client: aws_sdk_sqs::Client,
    url: String,
    /// Long-poll wait of `receive`, in seconds (0 returns at once).
    wait_seconds: i32,
}

impl SqsQueue {
    pub fn new(aws: &Aws, url: &str) -> Self {
        Self {
            aws: aws.clone(),
            client: aws_sdk_sqs::Client::new(aws.config()),
            url: url.to_owned(),
            wait_seconds: 1,
        }
    }

    /// Creates a queue (or finds it) and returns its URL and ARN. With `dead_letter`, messages
    /// received more than `max_receives` times move to that queue (by ARN). For local emulators
    /// and first-time setup; in AWS the template creates the queues.
    pub fn create(
        aws: &Aws,
        name: &str,
        visibility_seconds: u32,
        dead_letter: Option<(&str, u32)>,
    ) -> Result<(Self, String), QueueError> {
        use aws_sdk_sqs::types::QueueAttributeName;
        let client = aws_sdk_sqs::Client::new(aws.config());
        let err = |op: &'static str| {
            move |e: String| QueueError::Backend {
                queue: name.to_owned(),
                op,
                reason: e,
            }
        };
        aws.block_on(async {
            let mut req = client.create_queue().queue_name(name).attributes(
                QueueAttributeName::VisibilityTimeout,
                visibility_seconds.to_string(),
            );
            if let Some((arn, max)) = dead_letter {
                req = req.attributes(
                    QueueAttributeName::RedrivePolicy,
                    format!(r#"{{"deadLetterTargetArn":"{arn}","maxReceiveCount":"{max}"}}"#),
                );
            }
            let url = req
                .send()
                .await
                .map_err(|e| err("create")(describe(&e)))?
                .queue_url()
                .unwrap_or_default()
                .to_owned();
            let attrs = client
                .get_queue_attributes()
                .queue_url(&url)
                .attribute_names(QueueAttributeName::QueueArn)
                .send()
                .await
                .map_err(|e| err("attributes")(describe(&e)))?;
            let arn = attrs
                .attributes()
                .and_then(|a| a.get(&QueueAttributeName::QueueArn))
                .cloned()
                .unwrap_or_default();
            Ok((Self::new(aws, &url), arn))
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn client(&self) -> &aws_sdk_sqs::Client {
        &self.client
    }

    fn err<E, R>(
        &self,
        op: &'static str,
    ) -> impl Fn(aws_sdk_sqs::error::SdkError<E, R>) -> QueueError + '_
    where
        E: aws_sdk_sqs::error::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        move |e| QueueError::Backend {
            queue: self.url.clone(),
            op,
            reason: describe(&e),
        }
    }
}

impl Queue for SqsQueue {
    fn send(&self, body: &str) -> Result<String, QueueError> {
        self.aws.block_on(async {
            let out = self
                .client
                .send_message()
                .queue_url(&self.url)
                .message_body(body)
                .send()
                .await
                .map_err(self.err("send"))?;
            Ok(out.message_id().unwrap_or_default().to_owned())
        })
    }

    fn receive(&self, max: usize) -> Result<Vec<Message>, QueueError> {
        self.aws.block_on(async {
            let out = self
                .client
                .receive_message()
                .queue_url(&self.url)
                .max_number_of_messages(max.clamp(1, 10) as i32)
                .wait_time_seconds(self.wait_seconds)
                .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
                .send()
                .await
                .map_err(self.err("receive"))?;
            Ok(out
                .messages()
                .iter()
                .map(|m| Message {
                    id: m.message_id().unwrap_or_default().to_owned(),
                    receipt: m.receipt_handle().unwrap_or_default().to_owned(),
                    body: m.body().unwrap_or_default().to_owned(),
                    receive_count: m
                        .attributes()
                        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(1),
                })
                .collect())
        })
    }

    fn ack(&self, m: &Message) -> Result<(), QueueError> {
        self.aws.block_on(async {
            self.client
                .delete_message()
                .queue_url(&self.url)
                .receipt_handle(&m.receipt)
                .send()
                .await
                .map(|_| ())
                .map_err(self.err("delete"))
        })
    }

    fn fail(&self, m: &Message, _reason: &str) -> Result<(), QueueError> {
        self.aws.block_on(async {
            self.client
                .change_message_visibility()
                .queue_url(&self.url)
                .receipt_handle(&m.receipt)
                .visibility_timeout(0)
                .send()
                .await
                .map(|_| ())
                .map_err(self.err("release"))
        })
    }
}
