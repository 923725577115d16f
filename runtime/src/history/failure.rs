//! The failure record: what an activity or workflow error looks like in history.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::Payload;

/// A failure as recorded in history: a type name, a message, optional
/// details, and the failure that caused it, if any.
///
/// Activities produce it from an [`ActivityError`](crate::ActivityError);
/// workflows from a [`WorkflowError`](crate::WorkflowError). A workflow that
/// fails with `?` on an [`ActivityFailure`](crate::ActivityFailure) records
/// a chain, as Temporal does: a failure of type `"ActivityFailure"` with
/// [`activity`](Failure::activity) info, whose [`cause`](Failure::cause) is
/// the activity's own error. [`source`](std::error::Error::source) walks the chain.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    // Boxed strings keep `Error::WorkflowFailed` small now that a failure links its cause.
    pub(crate) error_type: Box<str>,
    pub(crate) message: Box<str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) details: Option<Payload>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) non_retryable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) activity: Option<Box<ActivityFailureInfo>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cause: Option<Box<Failure>>,
}

/// Which activity call a failure of type `"ActivityFailure"` is about
/// (Temporal's `ActivityFailureInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityFailureInfo {
    pub(crate) activity_type: String,
    pub(crate) activity_id: String,
    /// `None` when the call ended before its `ActivityTaskScheduled` was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) scheduled_event_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) attempt: Option<u32>,
    pub(crate) retry_state: RetryState,
}

impl ActivityFailureInfo {
    /// The activity's registered type.
    pub fn activity_type(&self) -> &str {
        &self.activity_type
    }

    /// The activity id.
    pub fn activity_id(&self) -> &str {
        &self.activity_id
    }

    /// The activity's `ActivityTaskScheduled` event, if it was recorded.
    pub fn scheduled_event_id(&self) -> Option<u64> {
        self.scheduled_event_id
    }

    /// The attempt that failed last, if one failed.
    pub fn attempt(&self) -> Option<u32> {
        self.attempt
    }

    /// Why the activity was not retried again.
    pub fn retry_state(&self) -> RetryState {
        self.retry_state
    }
}

/// Why an activity was not retried again (Temporal's `RetryState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum RetryState {
    /// The error was non-retryable: marked so, or its type is in the policy's non-retryable types.
    NonRetryableFailure,
    /// The retry policy's maximum attempts were used up.
    MaximumAttemptsReached,
    /// A timeout ended the activity.
    Timeout,
    /// The activity was cancelled.
    CancelRequested,
}

impl fmt::Display for RetryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RetryState::NonRetryableFailure => "non-retryable failure",
            RetryState::MaximumAttemptsReached => "maximum attempts reached",
            RetryState::Timeout => "timeout",
            RetryState::CancelRequested => "cancel requested",
        })
    }
}

impl Failure {
    pub(crate) fn new(error_type: impl Into<String>, message: impl Into<String>) -> Self {
        Failure {
            error_type: error_type.into().into_boxed_str(),
            message: message.into().into_boxed_str(),
            details: None,
            non_retryable: false,
            activity: None,
            cause: None,
        }
    }

    pub(crate) fn with_cause(mut self, cause: Failure) -> Self {
        self.cause = Some(Box::new(cause));
        self
    }

    pub(crate) fn with_activity(mut self, info: ActivityFailureInfo) -> Self {
        self.activity = Some(Box::new(info));
        self
    }

    pub(crate) fn non_retryable(mut self) -> Self {
        self.non_retryable = true;
        self
    }

    pub(crate) fn with_type(mut self, error_type: impl Into<String>) -> Self {
        self.error_type = error_type.into().into_boxed_str();
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

    /// The failure that caused this one, if any (for an `"ActivityFailure"`:
    /// the activity's own error, or the timeout).
    pub fn cause(&self) -> Option<&Failure> {
        self.cause.as_deref()
    }

    /// The activity call this failure is about, if it is an `"ActivityFailure"`.
    pub fn activity(&self) -> Option<&ActivityFailureInfo> {
        self.activity.as_deref()
    }

    /// This failure, then its cause, then that one's cause, and so on.
    pub fn chain(&self) -> impl Iterator<Item = &Failure> {
        std::iter::successors(Some(self), |f| f.cause())
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
        if let Some(activity) = &self.activity {
            d.field("activity", activity);
        }
        if let Some(cause) = &self.cause {
            d.field("cause", cause);
        }
        d.finish()
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type, self.message)
    }
}

/// One level: `type: message`. Its cause is its [`source`](std::error::Error::source).
impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause.as_deref().map(|c| c as _)
    }
}
