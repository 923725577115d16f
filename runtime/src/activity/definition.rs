//! The traits `#[activity]` implements for its typed stubs.

use std::future::Future;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{ActivityContext, ActivityError};

/// A typed activity stub: its registered name and its input and output types.
///
/// `#[activity]` implements it on a unit struct named after the function, so
/// the function's name is the value a workflow passes to
/// [`execute_activity`](crate::WorkflowContext::execute_activity). An activity
/// with several arguments takes them as a tuple.
pub trait Activity: Send + Sync + 'static {
    /// The input: the function's single argument, a tuple of several, or `()`.
    type Input: Serialize + DeserializeOwned + Send + 'static;
    /// The `T` of the function's `Result<T, ActivityError>`.
    type Output: Serialize + DeserializeOwned + Send + 'static;
    /// The registered name (the function's name unless `name = "..."`).
    const NAME: &'static str;
}

/// An activity that runs without a shared instance (a free `#[activity]` fn).
pub trait ActivityFn: Activity {
    /// Runs one attempt.
    fn run(
        ctx: ActivityContext,
        input: Self::Input,
    ) -> impl Future<Output = Result<Self::Output, ActivityError>> + Send + 'static;
}
