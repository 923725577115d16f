//! Activity options: timeouts, retry policy, task queue, id, cancellation type.

use std::marker::PhantomData;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::RetryPolicy;
use crate::history::serde_duration;

/// The longest duration any option accepts (ten years): longer ones would
/// overflow deadline arithmetic and are refused with [`OptionsError::DurationTooLarge`].
pub const MAX_DURATION: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// The longest activity id or task queue name, in bytes.
pub const MAX_ID_LEN: usize = 1000;

/// How a call to an activity is run: its timeouts, retries and routing.
///
/// Temporal requires a schedule-to-close or a start-to-close timeout; so does
/// weft. Options come in two states, told apart by the type parameter:
///
/// - [`ActivityOptions<Timed>`](Timed) (the default) carries its own required
///   timeout: [`start_to_close`](ActivityOptions::start_to_close) and
///   [`schedule_to_close`](ActivityOptions::schedule_to_close) are its only
///   constructors, so options without either cannot be written.
/// - [`ActivityOptions<Defaulted>`](Defaulted), from
///   [`ActivityOptions::defaults()`], relies on the defaults declared in the
///   activity's `#[activity(...)]` attribute; a call with it only compiles for an
///   activity whose attribute declares a required timeout.
///
/// Either way, what a call leaves unset comes from the attribute: a field set on
/// the call wins, field by field (the retry policy as a whole).
///
/// ```
/// use std::time::Duration;
/// use weft::{ActivityOptions, RetryPolicy};
///
/// let options = ActivityOptions::start_to_close(Duration::from_secs(10))
///     .schedule_to_close_timeout(Duration::from_secs(60))
///     .retry_policy(RetryPolicy::default().maximum_attempts(5));
/// assert_eq!(options.timeouts().start_to_close, Some(Duration::from_secs(10)));
///
/// // The activity's own defaults, with one override.
/// let overridden = ActivityOptions::defaults().retry_policy(RetryPolicy::no_retries());
/// assert_eq!(overridden.timeouts().start_to_close, None);
/// ```
///
/// Deserializing keeps the promise: `ActivityOptions<Timed>` from JSON without
/// `start_to_close_timeout` or `schedule_to_close_timeout` is an error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(serialize = "", deserialize = "S: State"), try_from = "Unchecked")]
pub struct ActivityOptions<S = Timed> {
    #[serde(default, with = "serde_duration::option", skip_serializing_if = "Option::is_none")]
    schedule_to_close_timeout: Option<Duration>,
    #[serde(default, with = "serde_duration::option", skip_serializing_if = "Option::is_none")]
    schedule_to_start_timeout: Option<Duration>,
    #[serde(default, with = "serde_duration::option", skip_serializing_if = "Option::is_none")]
    start_to_close_timeout: Option<Duration>,
    #[serde(default, with = "serde_duration::option", skip_serializing_if = "Option::is_none")]
    heartbeat_timeout: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retry_policy: Option<RetryPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    task_queue: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    activity_id: Option<String>,
    #[serde(default, skip_serializing_if = "CancellationType::is_default")]
    cancellation_type: CancellationType,
    #[serde(skip)]
    state: PhantomData<fn() -> S>,
}

/// The state of [`ActivityOptions`] that sets its own required timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timed {}

/// The state of [`ActivityOptions`] that takes its required timeout from the
/// activity's `#[activity(...)]` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Defaulted {}

mod state {
    /// [`Timed`](super::Timed) or [`Defaulted`](super::Defaulted). Sealed.
    pub trait State {
        /// Whether options in this state carry their own required timeout.
        const TIMED: bool;
    }
    impl State for super::Timed {
        const TIMED: bool = true;
    }
    impl State for super::Defaulted {
        const TIMED: bool = false;
    }
}
use state::State;

/// The JSON form of [`ActivityOptions`], before the required timeout is checked.
#[derive(Deserialize)]
struct Unchecked {
    #[serde(default, with = "serde_duration::option")]
    schedule_to_close_timeout: Option<Duration>,
    #[serde(default, with = "serde_duration::option")]
    schedule_to_start_timeout: Option<Duration>,
    #[serde(default, with = "serde_duration::option")]
    start_to_close_timeout: Option<Duration>,
    #[serde(default, with = "serde_duration::option")]
    heartbeat_timeout: Option<Duration>,
    #[serde(default)]
    retry_policy: Option<RetryPolicy>,
    #[serde(default)]
    task_queue: Option<String>,
    #[serde(default)]
    activity_id: Option<String>,
    #[serde(default)]
    cancellation_type: CancellationType,
}

impl<S: State> TryFrom<Unchecked> for ActivityOptions<S> {
    type Error = &'static str;

    fn try_from(o: Unchecked) -> Result<Self, Self::Error> {
        if S::TIMED && o.start_to_close_timeout.is_none() && o.schedule_to_close_timeout.is_none() {
            return Err("`ActivityOptions` needs a `start_to_close_timeout` or a \
                        `schedule_to_close_timeout` (deserialize `ActivityOptions<Defaulted>` to take it \
                        from the activity's attribute)");
        }
        Ok(ActivityOptions {
            schedule_to_close_timeout: o.schedule_to_close_timeout,
            schedule_to_start_timeout: o.schedule_to_start_timeout,
            start_to_close_timeout: o.start_to_close_timeout,
            heartbeat_timeout: o.heartbeat_timeout,
            retry_policy: o.retry_policy,
            task_queue: o.task_queue,
            activity_id: o.activity_id,
            cancellation_type: o.cancellation_type,
            state: PhantomData,
        })
    }
}

/// Options with nothing set; private, so that no public path skips the required timeout.
fn no_options<S>() -> ActivityOptions<S> {
    ActivityOptions {
        schedule_to_close_timeout: None,
        schedule_to_start_timeout: None,
        start_to_close_timeout: None,
        heartbeat_timeout: None,
        retry_policy: None,
        task_queue: None,
        activity_id: None,
        cancellation_type: CancellationType::TryCancel,
        state: PhantomData,
    }
}

impl ActivityOptions<Timed> {
    /// Options whose required timeout bounds each attempt (start-to-close).
    pub fn start_to_close(timeout: Duration) -> Self {
        no_options::<Timed>().start_to_close_timeout(timeout)
    }

    /// Options whose required timeout bounds all attempts together (schedule-to-close).
    pub fn schedule_to_close(timeout: Duration) -> Self {
        no_options::<Timed>().schedule_to_close_timeout(timeout)
    }
}

impl ActivityOptions<Defaulted> {
    /// The activity's own defaults, from its `#[activity(...)]` attribute;
    /// builder methods override them. Only compiles in a call to an activity
    /// whose attribute declares `start_to_close_timeout` or `schedule_to_close_timeout`.
    pub fn defaults() -> Self {
        no_options()
    }
}

/// The options an `#[activity(...)]` attribute declares (generated code calls it).
pub(crate) fn declared(
    timeouts: Timeouts,
    retry_policy: Option<RetryPolicy>,
    task_queue: Option<&'static str>,
) -> ActivityOptions<Defaulted> {
    ActivityOptions {
        schedule_to_close_timeout: timeouts.schedule_to_close,
        schedule_to_start_timeout: timeouts.schedule_to_start,
        start_to_close_timeout: timeouts.start_to_close,
        heartbeat_timeout: timeouts.heartbeat,
        retry_policy,
        task_queue: task_queue.map(str::to_owned),
        ..no_options()
    }
}

impl<S> ActivityOptions<S> {
    /// Bounds one attempt, from its start to its result; a timed-out attempt is retried.
    ///
    /// Setting it makes the options [`Timed`].
    #[must_use]
    pub fn start_to_close_timeout(self, timeout: Duration) -> ActivityOptions<Timed> {
        ActivityOptions { start_to_close_timeout: Some(timeout), ..self.into_state() }
    }

    /// Bounds the whole activity, all attempts and backoffs included.
    ///
    /// Setting it makes the options [`Timed`].
    #[must_use]
    pub fn schedule_to_close_timeout(self, timeout: Duration) -> ActivityOptions<Timed> {
        ActivityOptions { schedule_to_close_timeout: Some(timeout), ..self.into_state() }
    }

    /// Bounds the time the activity waits in its task queue; not retried.
    #[must_use]
    pub fn schedule_to_start_timeout(mut self, timeout: Duration) -> Self {
        self.schedule_to_start_timeout = Some(timeout);
        self
    }

    /// Bounds the gap between two heartbeats of a running attempt; retried.
    #[must_use]
    pub fn heartbeat_timeout(mut self, timeout: Duration) -> Self {
        self.heartbeat_timeout = Some(timeout);
        self
    }

    /// Sets how failed attempts are retried (default: [`RetryPolicy::default`]).
    #[must_use]
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry_policy = Some(policy);
        self
    }

    /// Routes the activity to a named task queue (default: the engine's).
    #[must_use]
    pub fn task_queue(mut self, queue: impl Into<String>) -> Self {
        self.task_queue = Some(queue.into());
        self
    }

    /// Names the activity (default: its sequence number in the run).
    #[must_use]
    pub fn activity_id(mut self, id: impl Into<String>) -> Self {
        self.activity_id = Some(id.into());
        self
    }

    /// Sets what cancelling the activity waits for (default: [`CancellationType::TryCancel`]).
    #[must_use]
    pub fn cancellation_type(mut self, cancellation_type: CancellationType) -> Self {
        self.cancellation_type = cancellation_type;
        self
    }

    fn into_state<T>(self) -> ActivityOptions<T> {
        ActivityOptions {
            schedule_to_close_timeout: self.schedule_to_close_timeout,
            schedule_to_start_timeout: self.schedule_to_start_timeout,
            start_to_close_timeout: self.start_to_close_timeout,
            heartbeat_timeout: self.heartbeat_timeout,
            retry_policy: self.retry_policy,
            task_queue: self.task_queue,
            activity_id: self.activity_id,
            cancellation_type: self.cancellation_type,
            state: PhantomData,
        }
    }

    /// These options over `defaults`: each field set here wins, the rest come
    /// from `defaults`. The activity id and cancellation type are the call's own.
    pub(crate) fn over<D>(self, defaults: ActivityOptions<D>) -> ActivityOptions {
        ActivityOptions {
            schedule_to_close_timeout: self.schedule_to_close_timeout.or(defaults.schedule_to_close_timeout),
            schedule_to_start_timeout: self.schedule_to_start_timeout.or(defaults.schedule_to_start_timeout),
            start_to_close_timeout: self.start_to_close_timeout.or(defaults.start_to_close_timeout),
            heartbeat_timeout: self.heartbeat_timeout.or(defaults.heartbeat_timeout),
            retry_policy: self.retry_policy.or(defaults.retry_policy),
            task_queue: self.task_queue.or(defaults.task_queue),
            activity_id: self.activity_id,
            cancellation_type: self.cancellation_type,
            state: PhantomData,
        }
    }

    /// The four timeouts as set (unset ones are `None`).
    pub fn timeouts(&self) -> Timeouts {
        Timeouts {
            schedule_to_close: self.schedule_to_close_timeout,
            schedule_to_start: self.schedule_to_start_timeout,
            start_to_close: self.start_to_close_timeout,
            heartbeat: self.heartbeat_timeout,
        }
    }

    /// The retry policy in force (the default one when none was set).
    pub fn retry(&self) -> RetryPolicy {
        self.retry_policy.clone().unwrap_or_default()
    }

    /// The task queue, if set.
    pub fn queue(&self) -> Option<&str> {
        self.task_queue.as_deref()
    }

    /// The activity id, if set.
    pub fn id(&self) -> Option<&str> {
        self.activity_id.as_deref()
    }

    /// The cancellation type.
    pub fn cancellation(&self) -> CancellationType {
        self.cancellation_type
    }

    /// The time one attempt may run: start-to-close, or else schedule-to-close
    /// (as in Temporal, where start-to-close defaults to schedule-to-close).
    pub(crate) fn attempt_timeout(&self) -> Duration {
        match (self.start_to_close_timeout, self.schedule_to_close_timeout) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => MAX_DURATION,
        }
    }

    /// Checks the options the way the engine will use them.
    pub fn validate(&self) -> Result<(), OptionsError> {
        if self.start_to_close_timeout.is_none() && self.schedule_to_close_timeout.is_none() {
            return Err(OptionsError::MissingTimeout);
        }
        for (option, value) in [
            ("schedule_to_close_timeout", self.schedule_to_close_timeout),
            ("schedule_to_start_timeout", self.schedule_to_start_timeout),
            ("start_to_close_timeout", self.start_to_close_timeout),
            ("heartbeat_timeout", self.heartbeat_timeout),
        ] {
            check_duration(option, value)?;
        }
        if let (Some(stc), Some(s2c)) = (self.start_to_close_timeout, self.schedule_to_close_timeout)
            && s2c < stc
        {
            return Err(OptionsError::ScheduleToCloseBelowStartToClose { schedule_to_close: s2c, start_to_close: stc });
        }
        if let Some(heartbeat) = self.heartbeat_timeout
            && heartbeat > self.attempt_timeout()
        {
            return Err(OptionsError::HeartbeatExceedsAttempt { heartbeat, attempt: self.attempt_timeout() });
        }
        check_name("task_queue", self.task_queue.as_deref())?;
        check_name("activity_id", self.activity_id.as_deref())?;
        if let Some(policy) = &self.retry_policy {
            policy.validate()?;
        }
        Ok(())
    }
}

pub(crate) fn check_duration(option: &'static str, value: Option<Duration>) -> Result<(), OptionsError> {
    match value {
        Some(d) if d.is_zero() => Err(OptionsError::ZeroDuration { option }),
        Some(d) if d > MAX_DURATION => Err(OptionsError::DurationTooLarge { option, value: d }),
        _ => Ok(()),
    }
}

fn check_name(option: &'static str, value: Option<&str>) -> Result<(), OptionsError> {
    match value {
        Some("") => Err(OptionsError::InvalidName { option, reason: "it is empty" }),
        Some(s) if s.len() > MAX_ID_LEN => Err(OptionsError::InvalidName { option, reason: "it is over 1000 bytes" }),
        _ => Ok(()),
    }
}

/// The timeouts of an [`ActivityOptions`], as set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Timeouts {
    /// Bounds all attempts together.
    pub schedule_to_close: Option<Duration>,
    /// Bounds the wait in the task queue.
    pub schedule_to_start: Option<Duration>,
    /// Bounds one attempt.
    pub start_to_close: Option<Duration>,
    /// Bounds the gap between heartbeats.
    pub heartbeat: Option<Duration>,
}

/// What cancelling a running activity waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub enum CancellationType {
    /// Request cancellation and report the activity cancelled to the workflow at once.
    #[default]
    TryCancel,
    /// Request cancellation and wait until the activity acknowledges it (or ends).
    WaitCancellationCompleted,
    /// Report the activity cancelled at once and do not tell the activity.
    Abandon,
}

impl CancellationType {
    fn is_default(&self) -> bool {
        *self == CancellationType::TryCancel
    }
}

/// Which timeout ended an activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum TimeoutType {
    /// It waited in its task queue too long.
    ScheduleToStart,
    /// One attempt ran too long (recorded when no retry is left).
    StartToClose,
    /// All attempts together took too long.
    ScheduleToClose,
    /// A running attempt did not heartbeat in time (recorded when no retry is left).
    Heartbeat,
}

impl std::fmt::Display for TimeoutType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TimeoutType::ScheduleToStart => "schedule-to-start",
            TimeoutType::StartToClose => "start-to-close",
            TimeoutType::ScheduleToClose => "schedule-to-close",
            TimeoutType::Heartbeat => "heartbeat",
        })
    }
}

/// Why activity options or a retry policy were refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum OptionsError {
    /// Neither a start-to-close nor a schedule-to-close timeout is set.
    #[error("set a start_to_close or schedule_to_close timeout")]
    MissingTimeout,
    /// A duration option is zero.
    #[error("`{option}` is zero; give a positive duration")]
    ZeroDuration {
        /// The option's name.
        option: &'static str,
    },
    /// A duration option is longer than [`MAX_DURATION`].
    #[error("`{option}` of {value:?} is longer than the ten-year maximum")]
    DurationTooLarge {
        /// The option's name.
        option: &'static str,
        /// The value given.
        value: Duration,
    },
    /// schedule-to-close is shorter than start-to-close.
    #[error(
        "schedule_to_close_timeout ({schedule_to_close:?}) is shorter than start_to_close_timeout ({start_to_close:?})"
    )]
    ScheduleToCloseBelowStartToClose {
        /// The schedule-to-close timeout.
        schedule_to_close: Duration,
        /// The start-to-close timeout.
        start_to_close: Duration,
    },
    /// The heartbeat timeout is longer than one attempt may run.
    #[error("heartbeat_timeout ({heartbeat:?}) is longer than an attempt may run ({attempt:?})")]
    HeartbeatExceedsAttempt {
        /// The heartbeat timeout.
        heartbeat: Duration,
        /// The attempt's timeout.
        attempt: Duration,
    },
    /// An id or queue name is empty or too long.
    #[error("`{option}` is invalid: {reason}")]
    InvalidName {
        /// The option's name.
        option: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// The backoff coefficient is below 1 or not finite.
    #[error("backoff_coefficient {0} must be a finite number >= 1.0")]
    InvalidBackoff(f64),
    /// The maximum interval is shorter than the initial interval.
    #[error("maximum_interval ({maximum:?}) is shorter than initial_interval ({initial:?})")]
    MaximumIntervalBelowInitial {
        /// The initial interval.
        initial: Duration,
        /// The maximum interval.
        maximum: Duration,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn timed_options_without_a_required_timeout_do_not_deserialize() {
        for json in [
            "{}",
            r#"{"heartbeat_timeout":"1s"}"#,
            r#"{"schedule_to_start_timeout":"5s","task_queue":"q","retry_policy":{"initial_interval":"1s","backoff_coefficient":2.0}}"#,
        ] {
            let error = serde_json::from_str::<ActivityOptions>(json).unwrap_err().to_string();
            assert!(
                error.contains("needs a `start_to_close_timeout` or a `schedule_to_close_timeout`"),
                "{json}: {error}"
            );
        }
        let error = serde_json::from_value::<ActivityOptions<Timed>>(serde_json::json!({})).unwrap_err();
        assert!(error.to_string().contains("start_to_close_timeout"), "{error}");
    }

    #[test]
    fn options_with_a_required_timeout_round_trip() {
        let start = ActivityOptions::start_to_close(secs(10)).heartbeat_timeout(secs(2));
        let json = serde_json::to_string(&start).unwrap();
        assert_eq!(json, r#"{"start_to_close_timeout":"10s","heartbeat_timeout":"2s"}"#);
        assert_eq!(serde_json::from_str::<ActivityOptions>(&json).unwrap(), start);
        let schedule = ActivityOptions::schedule_to_close(secs(60)).activity_id("a").task_queue("q");
        let json = serde_json::to_string(&schedule).unwrap();
        assert_eq!(serde_json::from_str::<ActivityOptions>(&json).unwrap(), schedule);
    }

    /// `defaults()` sets nothing: the attribute's timeout comes in at the call.
    #[test]
    fn defaulted_options_may_be_empty() {
        let defaulted: ActivityOptions<Defaulted> = serde_json::from_str("{}").unwrap();
        assert_eq!(defaulted, ActivityOptions::defaults());
        let overridden = ActivityOptions::defaults().retry_policy(RetryPolicy::no_retries());
        let json = serde_json::to_string(&overridden).unwrap();
        assert_eq!(serde_json::from_str::<ActivityOptions<Defaulted>>(&json).unwrap(), overridden);
    }
}
