//! The failure record: what an activity or workflow error looks like in history.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::Payload;

/// A failure as recorded in history: a type name, a message, optional details.
///
/// Activities produce it from an [`ActivityError`](crate::ActivityError);
/// workflows from a [`WorkflowError`](crate::WorkflowError).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub(crate) error_type: String,
    pub(crate) message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) details: Option<Payload>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) non_retryable: bool,
}

impl Failure {
    pub(crate) fn new(error_type: impl Into<String>, message: impl Into<String>) -> Self {
        Failure { error_type: error_type.into(), message: message.into(), details: None, non_retryable: false }
    }

    pub(crate) fn non_retryable(mut self) -> Self {
        self.non_retryable = true;
        self
    }

    pub(crate) fn with_type(mut self, error_type: impl Into<String>) -> Self {
        self.error_type = error_type.into();
        self
    }

    /// Attaches details; dropped if they do not serialize or are over the default payload limit.
    pub(crate) fn with_details<T: serde::Serialize>(mut self, details: &T) -> Self {
        self.details = Payload::encode(details, super::DEFAULT_PAYLOAD_LIMIT).ok();
        self
    }

    /// The error's type name (for activities, matched against a retry
    /// policy's non-retryable types).
    pub fn error_type(&self) -> &str {
        &self.error_type
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether the error was marked as not to be retried.
    pub fn is_non_retryable(&self) -> bool {
        self.non_retryable
    }

    /// The structured details attached to the error, if any, decoded as `T`.
    pub fn details<T: DeserializeOwned>(&self) -> Option<Result<T, crate::PayloadError>> {
        self.details.as_ref().map(Payload::decode)
    }
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Failure");
        d.field("error_type", &self.error_type).field("message", &self.message);
        if let Some(details) = &self.details {
            d.field("details", details);
        }
        if self.non_retryable {
            d.field("non_retryable", &true);
        }
        d.finish()
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type, self.message)
    }
}

impl std::error::Error for Failure {}
