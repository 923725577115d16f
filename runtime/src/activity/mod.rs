//! Activities: the functions that do a workflow's side effects.
//!
//! An activity is an `async fn` marked [`#[activity]`](crate::activity), whose
//! first parameter is an [`ActivityContext`] and which returns
//! `Result<T, ActivityError>`. It runs at least once: each attempt is bounded
//! by the timeouts of its [`ActivityOptions`] and retried per its
//! [`RetryPolicy`]; its result is recorded once in the workflow's history.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use weft::{activity, ActivityContext, ActivityError, ActivityOptions};
//!
//! #[activity]
//! async fn charge(ctx: ActivityContext, cents: u64) -> Result<String, ActivityError> {
//!     // Pass the idempotency key to the payment service so retries are safe.
//!     Ok(format!("charged {cents} with key {}", ctx.idempotency_key()))
//! }
//!
//! let options = ActivityOptions::start_to_close(Duration::from_secs(10));
//! # let _ = (weft::Engine::builder().register_activity(charge), options);
//! ```

mod context;
pub(crate) mod definition;
mod error;
mod options;
mod retry;

pub use context::{ActivityContext, HeartbeatError};
pub(crate) use context::{ActivityInfo, AttemptShared};
pub use definition::{Activities, Activity, ActivityFn, ActivityMethod, CallOptions, HasDefaultTimeout, Registrar};
pub(crate) use error::failure_of;
pub use error::{ActivityError, ActivityFailure};
pub(crate) use options::declared;
pub use options::{
    ActivityOptions, CancellationType, Defaulted, MAX_DURATION, MAX_ID_LEN, OptionsError, Timed, TimeoutType, Timeouts,
};
pub use retry::RetryPolicy;
