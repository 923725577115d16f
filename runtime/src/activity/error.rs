//! Activity errors: what an activity returns, and what the workflow sees.

use std::fmt;

use serde::Serialize;

use super::{OptionsError, TimeoutType};
use crate::PayloadError;
use crate::history::{ActivityFailureInfo, Failure, RetryState};

/// The error an activity returns.
///
/// Any `std::error::Error` converts into it with `?` (its type name becomes
/// the error type); build one by hand to set a type, details, or to stop
/// retries.
///
/// ```
/// use weft::ActivityError;
///
/// let err = ActivityError::new("card declined").with_type("CardDeclined").non_retryable();
/// assert!(err.is_non_retryable());
/// ```
pub struct ActivityError {
    failure: Failure,
}

impl ActivityError {
    /// A retryable error with this message and the type `"ActivityError"`.
    pub fn new(message: impl Into<String>) -> Self {
        ActivityError { failure: Failure::new("ActivityError", message) }
    }

    /// Sets the error type, matched against a retry policy's non-retryable types.
    #[must_use]
    pub fn with_type(self, error_type: impl Into<String>) -> Self {
        ActivityError { failure: self.failure.with_type(error_type) }
    }

    /// Marks the error as not to be retried, whatever the retry policy says.
    #[must_use]
    pub fn non_retryable(self) -> Self {
        ActivityError { failure: self.failure.non_retryable() }
    }

    /// Attaches structured details (serialized as JSON; dropped if they do not serialize).
    #[must_use]
    pub fn with_details<T: Serialize>(self, details: &T) -> Self {
        ActivityError { failure: self.failure.with_details(details) }
    }

    /// Whether the error stops retries.
    pub fn is_non_retryable(&self) -> bool {
        self.failure.non_retryable
    }

    /// The error type.
    pub fn error_type(&self) -> &str {
        &self.failure.error_type
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.failure.message
    }

    pub(crate) fn into_failure(self) -> Failure {
        self.failure
    }

    pub(crate) fn from_failure(failure: Failure) -> Self {
        ActivityError { failure }
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for ActivityError {
    fn from(error: E) -> Self {
        ActivityError { failure: failure_of(&error) }
    }
}

/// The failure recorded for `error`: its type's short name and its message
/// with the messages of its sources, up to the first source that is an
/// [`ActivityFailure`] or a [`Failure`], which is kept as the structured cause.
/// An `ActivityFailure` itself becomes [`ActivityFailure::to_failure`].
pub(crate) fn failure_of<E: std::error::Error + 'static>(error: &E) -> Failure {
    let error: &(dyn std::error::Error + 'static) = error;
    if let Some(failure) = structured(error) {
        return failure;
    }
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(cause) = structured(cause) {
            return Failure::new(short_type_name::<E>(), message).with_cause(cause);
        }
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    Failure::new(short_type_name::<E>(), message)
}

fn structured(error: &(dyn std::error::Error + 'static)) -> Option<Failure> {
    if let Some(activity) = error.downcast_ref::<ActivityFailure>() {
        Some(activity.to_failure())
    } else {
        error.downcast_ref::<Failure>().cloned()
    }
}

/// `my_crate::module::MyError<T>` -> `MyError`.
fn short_type_name<T: ?Sized>() -> String {
    let full = std::any::type_name::<T>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base).to_owned()
}

impl fmt::Debug for ActivityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.failure, f)
    }
}

impl fmt::Display for ActivityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.failure, f)
    }
}

/// Why an activity call did not produce a result, as the workflow sees it.
///
/// Returned by [`WorkflowContext::execute_activity`](crate::WorkflowContext::execute_activity)
/// and [`ActivityHandle`](crate::ActivityHandle); `?` turns it into a
/// [`WorkflowError`](crate::WorkflowError).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ActivityFailure {
    /// The last attempt returned an error and no retry is left.
    #[error("activity `{activity_type}` (id {activity_id}) failed after {attempt} attempt(s)")]
    Failed {
        /// The activity type.
        activity_type: String,
        /// The activity id.
        activity_id: String,
        /// The activity's `ActivityTaskScheduled` event (for a local
        /// activity: its `MarkerRecorded` event).
        scheduled_event_id: u64,
        /// The attempt that failed last.
        attempt: u32,
        /// Why it was not retried again.
        retry_state: RetryState,
        /// Its error.
        #[source]
        failure: Failure,
    },
    /// A timeout ended the activity.
    #[error("activity `{activity_type}` (id {activity_id}) timed out ({timeout_type})")]
    TimedOut {
        /// The activity type.
        activity_type: String,
        /// The activity id.
        activity_id: String,
        /// The activity's `ActivityTaskScheduled` event (for a local
        /// activity: its `MarkerRecorded` event).
        scheduled_event_id: u64,
        /// Which timeout fired.
        timeout_type: TimeoutType,
        /// The last attempt's error, if one failed before the timeout.
        #[source]
        last_failure: Option<Failure>,
    },
    /// The activity was cancelled.
    #[error("activity `{activity_type}` (id {activity_id}) was cancelled")]
    Canceled {
        /// The activity type.
        activity_type: String,
        /// The activity id.
        activity_id: String,
        /// The activity's `ActivityTaskScheduled` event; `None` if the call was
        /// cancelled before it was recorded.
        scheduled_event_id: Option<u64>,
    },
    /// The options were invalid, so the activity was not scheduled.
    #[error("activity `{activity_type}` was not scheduled: invalid options")]
    InvalidOptions {
        /// The activity type.
        activity_type: String,
        /// What is wrong with the options.
        #[source]
        source: OptionsError,
    },
    /// The input could not be encoded (or was too large), so the activity was
    /// not scheduled; or the recorded result does not decode as the output type.
    #[error("activity `{activity_type}` payload rejected")]
    Payload {
        /// The activity type.
        activity_type: String,
        /// What was wrong.
        #[source]
        source: PayloadError,
    },
}

impl ActivityFailure {
    /// The recorded failure of the last attempt, if any.
    pub fn failure(&self) -> Option<&Failure> {
        match self {
            ActivityFailure::Failed { failure, .. } => Some(failure),
            ActivityFailure::TimedOut { last_failure, .. } => last_failure.as_ref(),
            _ => None,
        }
    }

    /// Whether the activity was cancelled.
    pub fn is_canceled(&self) -> bool {
        matches!(self, ActivityFailure::Canceled { .. })
    }

    /// The timeout that ended the activity, if one did.
    pub fn timeout_type(&self) -> Option<TimeoutType> {
        match self {
            ActivityFailure::TimedOut { timeout_type, .. } => Some(*timeout_type),
            _ => None,
        }
    }

    /// The failure a workflow records when it fails with this (`?`): type
    /// `"ActivityFailure"`, this message, the call's [`ActivityFailureInfo`],
    /// and as its cause the activity's own error (for a timeout: a
    /// `"TimeoutError"` whose cause is the last attempt's error, if any).
    pub fn to_failure(&self) -> Failure {
        let failure = Failure::new("ActivityFailure", self.to_string());
        let info =
            |activity_type: &str, activity_id: &str, scheduled_event_id, attempt, retry_state| ActivityFailureInfo {
                activity_type: activity_type.to_owned(),
                activity_id: activity_id.to_owned(),
                scheduled_event_id,
                attempt,
                retry_state,
            };
        match self {
            ActivityFailure::Failed {
                activity_type,
                activity_id,
                scheduled_event_id,
                attempt,
                retry_state,
                failure: cause,
            } => failure
                .with_activity(info(
                    activity_type,
                    activity_id,
                    Some(*scheduled_event_id),
                    Some(*attempt),
                    *retry_state,
                ))
                .with_cause(cause.clone()),
            ActivityFailure::TimedOut {
                activity_type,
                activity_id,
                scheduled_event_id,
                timeout_type,
                last_failure,
            } => {
                let mut timeout = Failure::new("TimeoutError", format!("{timeout_type} timeout"));
                timeout.cause = last_failure.clone().map(Box::new);
                failure
                    .with_activity(info(
                        activity_type,
                        activity_id,
                        Some(*scheduled_event_id),
                        None,
                        RetryState::Timeout,
                    ))
                    .with_cause(timeout)
            }
            ActivityFailure::Canceled { activity_type, activity_id, scheduled_event_id } => failure.with_activity(
                info(activity_type, activity_id, *scheduled_event_id, None, RetryState::CancelRequested),
            ),
            ActivityFailure::InvalidOptions { source, .. } => {
                failure.with_cause(Failure::new("OptionsError", source.to_string()))
            }
            ActivityFailure::Payload { source, .. } => {
                failure.with_cause(Failure::new("PayloadError", source.to_string()))
            }
        }
    }
}
