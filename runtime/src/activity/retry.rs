//! Retry policy.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::OptionsError;
use super::options::check_duration;
use crate::history::serde_duration;

/// How failed activity attempts are retried.
///
/// The defaults are Temporal's: initial interval 1 s, backoff 2.0, maximum
/// interval 100 × initial, unlimited attempts, no non-retryable error types.
/// Retries add no history events.
///
/// ```
/// use std::time::Duration;
/// use weft::RetryPolicy;
///
/// let policy = RetryPolicy::default()
///     .initial_interval(Duration::from_millis(200))
///     .maximum_attempts(5)
///     .non_retryable_error_types(["BadInput"]);
/// assert_eq!(policy.delay_after(1), Duration::from_millis(200));
/// assert_eq!(policy.delay_after(3), Duration::from_millis(800));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetryPolicy {
    #[serde(with = "serde_duration")]
    initial_interval: Duration,
    backoff_coefficient: f64,
    #[serde(default, with = "serde_duration::option", skip_serializing_if = "Option::is_none")]
    maximum_interval: Option<Duration>,
    #[serde(default)]
    maximum_attempts: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    non_retryable_error_types: Vec<String>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial_interval: Duration::from_secs(1),
            backoff_coefficient: 2.0,
            maximum_interval: None,
            maximum_attempts: 0,
            non_retryable_error_types: Vec::new(),
        }
    }
}

impl RetryPolicy {
    /// A policy that runs one attempt and never retries.
    pub fn no_retries() -> Self {
        RetryPolicy::default().maximum_attempts(1)
    }

    /// The delay before the first retry.
    #[must_use]
    pub fn initial_interval(mut self, interval: Duration) -> Self {
        self.initial_interval = interval;
        self
    }

    /// How much each delay grows over the previous one (at least 1.0).
    #[must_use]
    pub fn backoff_coefficient(mut self, coefficient: f64) -> Self {
        self.backoff_coefficient = coefficient;
        self
    }

    /// The longest delay between two attempts (default: 100 × initial interval).
    #[must_use]
    pub fn maximum_interval(mut self, interval: Duration) -> Self {
        self.maximum_interval = Some(interval);
        self
    }

    /// How many attempts in all, the first included; 0 means unlimited.
    #[must_use]
    pub fn maximum_attempts(mut self, attempts: u32) -> Self {
        self.maximum_attempts = attempts;
        self
    }

    /// Error types (see [`ActivityError::with_type`](crate::ActivityError::with_type)) that are never retried.
    #[must_use]
    pub fn non_retryable_error_types<I, S>(mut self, types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.non_retryable_error_types = types.into_iter().map(Into::into).collect();
        self
    }

    /// The maximum number of attempts (0 = unlimited).
    pub fn attempts(&self) -> u32 {
        self.maximum_attempts
    }

    /// The maximum interval in force.
    pub fn effective_maximum_interval(&self) -> Duration {
        self.maximum_interval.unwrap_or_else(|| self.initial_interval.saturating_mul(100))
    }

    /// Whether an error of this type may be retried.
    pub fn is_retryable(&self, error_type: &str) -> bool {
        !self.non_retryable_error_types.iter().any(|t| t == error_type)
    }

    /// The delay after attempt `attempt` (1-based) failed, before the next one.
    pub fn delay_after(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(1000) as i32;
        let secs = self.initial_interval.as_secs_f64() * self.backoff_coefficient.powi(exponent);
        let max = self.effective_maximum_interval();
        if !secs.is_finite() || secs >= max.as_secs_f64() { max } else { Duration::from_secs_f64(secs) }
    }

    /// Checks the policy.
    pub fn validate(&self) -> Result<(), OptionsError> {
        check_duration("initial_interval", Some(self.initial_interval))?;
        check_duration("maximum_interval", self.maximum_interval)?;
        if !self.backoff_coefficient.is_finite() || self.backoff_coefficient < 1.0 {
            return Err(OptionsError::InvalidBackoff(self.backoff_coefficient));
        }
        if let Some(maximum) = self.maximum_interval
            && maximum < self.initial_interval
        {
            return Err(OptionsError::MaximumIntervalBelowInitial { initial: self.initial_interval, maximum });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporal_defaults_and_backoff() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay_after(1), Duration::from_secs(1));
        assert_eq!(p.delay_after(2), Duration::from_secs(2));
        assert_eq!(p.delay_after(8), Duration::from_secs(100));
        assert_eq!(p.delay_after(u32::MAX), Duration::from_secs(100));
        assert_eq!(p.attempts(), 0);
        assert!(p.validate().is_ok());
        assert_eq!(RetryPolicy::default().backoff_coefficient(0.5).validate(), Err(OptionsError::InvalidBackoff(0.5)));
        assert!(RetryPolicy::default().initial_interval(Duration::ZERO).validate().is_err());
        assert!(
            RetryPolicy::default()
                .initial_interval(Duration::from_secs(5))
                .maximum_interval(Duration::from_secs(1))
                .validate()
                .is_err()
        );
    }
}
