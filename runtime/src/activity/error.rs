//! Activity errors: what an activity returns, and what the workflow sees.

use std::fmt;

use serde::Serialize;

use super::{OptionsError, TimeoutType};
use crate::PayloadError;
use crate::history::Failure;

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
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        ActivityError { failure: Failure::new(short_type_name::<E>(), message) }
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
        /// The attempt that failed last.
        attempt: u32,
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
}
