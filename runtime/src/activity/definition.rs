//! The traits `#[activity]` and `#[activities]` implement for their typed stubs.

use std::future::Future;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::options::{Defaulted, Timed};
use super::{ActivityContext, ActivityError, ActivityOptions};
use crate::__private::StubToken;
use crate::engine::Registry;

/// A typed activity stub: its registered name, its input and output types,
/// and the default options its attribute declares.
///
/// `#[activity]` implements it on a type named after the function, and keeps
/// the function's name in the value namespace as a stub function, which
/// implements it too; that name is the value a workflow passes to
/// [`execute_activity`](crate::WorkflowContext::execute_activity). An activity
/// with several arguments takes them as a tuple.
pub trait Activity: Send + Sync + 'static {
    /// The input: the function's single argument, a tuple of several, or `()`.
    type Input: Serialize + DeserializeOwned + Send + 'static;
    /// The `T` of the function's `Result<T, ActivityError>`.
    type Output: Serialize + DeserializeOwned + Send + 'static;
    /// The registered name (the function's name unless `name = "..."`).
    const NAME: &'static str;

    /// The options declared in the attribute (`start_to_close_timeout = "10s"`,
    /// `retry(..)`, ...); every call starts from them. Nothing is set by default.
    fn defaults() -> ActivityOptions<Defaulted> {
        ActivityOptions::defaults()
    }
}

/// An activity whose attribute declares a required timeout, so a call may
/// rely on its defaults with [`ActivityOptions::defaults()`].
pub trait HasDefaultTimeout: Activity {}

/// What a call passes as its options: [`ActivityOptions<Timed>`](Timed) for
/// any activity, [`ActivityOptions<Defaulted>`](Defaulted) for an activity
/// that [has a default timeout](HasDefaultTimeout). Sealed.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the options of an activity call",
    label = "expected `ActivityOptions::start_to_close(..)`, `ActivityOptions::schedule_to_close(..)` \
             or `ActivityOptions::defaults()`"
)]
pub trait CallOptions<A: Activity>: sealed::Sealed {
    /// The options the call runs with: these over the activity's defaults.
    #[doc(hidden)]
    fn resolve(self) -> ActivityOptions;
}

impl<A: Activity> CallOptions<A> for ActivityOptions<Timed> {
    fn resolve(self) -> ActivityOptions {
        self.over(A::defaults())
    }
}

impl<A: HasDefaultTimeout> CallOptions<A> for ActivityOptions<Defaulted> {
    fn resolve(self) -> ActivityOptions {
        self.over(A::defaults())
    }
}

/// The definition type of an `#[activity]` or `#[activities]` stub (the
/// struct named like the function): the stub function implements [`Activity`]
/// through it. Implemented by generated code only.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an activity",
    label = "expected an activity: an `#[activity] async fn` or an `#[activities]` method (`Payments::charge`)",
    note = "a `#[workflow]` cannot run as an activity, and child workflows are not supported yet; \
            start it from a client: `client.start_workflow(workflow, workflow_id, input).await`"
)]
pub trait ActivityDefinition: Activity {}

/// The definition type of an activity stub whose attribute declares a
/// required timeout. Implemented by generated code only.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "activity `{Self}` declares no default timeout, so a call cannot rely on its defaults",
    label = "this call uses `ActivityOptions::defaults()`",
    note = "add `start_to_close_timeout = \"10s\"` or `schedule_to_close_timeout = \"1m\"` to the activity's \
            `#[activity(...)]` attribute, or pass `ActivityOptions::start_to_close(..)` in this call"
)]
pub trait DefaultTimeoutDefinition: ActivityDefinition + HasDefaultTimeout {}

/// The definition type of a free-function activity stub. Implemented by generated code only.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a free-function activity",
    label = "`register_activity` takes the stub of an `#[activity] async fn`",
    note = "methods of an `#[activities]` impl block are registered with their instance: \
            `register_activities(Arc::new(..))`; workflows with `register_workflow`"
)]
pub trait ActivityFnDefinition: ActivityDefinition + ActivityFn {}

/// The definition type of an `#[activities]` method stub. Implemented by generated code only.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a method of an `#[activities]` impl block",
    note = "free `#[activity]` functions are registered with `register_activity`"
)]
pub trait ActivityMethodDefinition: ActivityDefinition + ActivityMethod {}

/// The stub functions of `#[activity]` and `#[activities]` (`step`,
/// `Payments::charge`) are what their definition type `D` (the struct of the
/// same name) is. The bounds name the definition traits, not the public ones,
/// so a failed bound is reported on `D` with its message.
impl<F, D> Activity for F
where
    F: Fn(StubToken) -> D + Send + Sync + 'static,
    D: ActivityDefinition,
{
    type Input = D::Input;
    type Output = D::Output;
    const NAME: &'static str = D::NAME;

    fn defaults() -> ActivityOptions<Defaulted> {
        D::defaults()
    }
}

impl<F, D> HasDefaultTimeout for F
where
    F: Fn(StubToken) -> D + Send + Sync + 'static,
    D: DefaultTimeoutDefinition,
{
}

impl<F, D> ActivityFn for F
where
    F: Fn(StubToken) -> D + Send + Sync + 'static,
    D: ActivityFnDefinition,
{
    fn run(
        ctx: ActivityContext,
        input: Self::Input,
    ) -> impl Future<Output = Result<Self::Output, ActivityError>> + Send + 'static {
        D::run(ctx, input)
    }
}

impl<F, D> ActivityMethod for F
where
    F: Fn(StubToken) -> D + Send + Sync + 'static,
    D: ActivityMethodDefinition,
{
    type Instance = D::Instance;

    fn run(
        instance: Arc<Self::Instance>,
        ctx: ActivityContext,
        input: Self::Input,
    ) -> impl Future<Output = Result<Self::Output, ActivityError>> + Send + 'static {
        D::run(instance, ctx, input)
    }
}

mod sealed {
    pub trait Sealed {}
    impl<S> Sealed for super::ActivityOptions<S> {}
}

/// An activity that runs without a shared instance (a free `#[activity]` fn).
pub trait ActivityFn: Activity {
    /// Runs one attempt.
    fn run(
        ctx: ActivityContext,
        input: Self::Input,
    ) -> impl Future<Output = Result<Self::Output, ActivityError>> + Send + 'static;
}

/// An activity that is a method of a shared instance (`#[activities]`).
pub trait ActivityMethod: Activity {
    /// The type whose `impl` block declares the method (`Send + Sync`, as
    /// [`Activities`] requires).
    type Instance: 'static;

    /// Runs one attempt on the shared instance.
    fn run(
        instance: Arc<Self::Instance>,
        ctx: ActivityContext,
        input: Self::Input,
    ) -> impl Future<Output = Result<Self::Output, ActivityError>> + Send + 'static;
}

/// A type whose `impl` block is marked `#[activities]`: one shared instance
/// serves every call of its activity methods. Register it with
/// [`EngineBuilder::register_activities`](crate::EngineBuilder::register_activities).
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no `#[activities]` impl block",
    label = "`register_activities` takes an `Arc` of a type with an `#[activities]` impl block",
    note = "mark the `impl {Self}` block that holds its `#[activity]` methods with `#[activities]`"
)]
pub trait Activities: Send + Sync + 'static {
    /// Registers every activity method of the block, each sharing `instance`.
    #[doc(hidden)]
    fn register(instance: Arc<Self>, registrar: &mut Registrar<'_>);
}

/// Collects the activity methods of an [`Activities`] instance. Used by generated code.
#[doc(hidden)]
pub struct Registrar<'a> {
    pub(crate) registry: &'a mut Registry,
}

impl Registrar<'_> {
    /// Registers one method of `instance`.
    pub fn method<A: ActivityMethod>(&mut self, instance: &Arc<A::Instance>)
    where
        A::Instance: Activities,
    {
        self.registry.add_method::<A>(Arc::clone(instance));
    }
}

impl std::fmt::Debug for Registrar<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registrar").finish_non_exhaustive()
    }
}
