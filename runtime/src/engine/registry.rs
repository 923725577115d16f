//! The registry: workflow and activity types by name.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;

use crate::activity::{Activity, ActivityContext, ActivityError, ActivityFn, ActivityMethod};
use crate::history::{Failure, Payload};
use parking_lot::Mutex;

use crate::workflow::context::WorkflowState;
use crate::workflow::definition::WorkflowDefinition;
use crate::workflow::machine::{Instance, WorkflowFactory, WorkflowFuture};
use crate::workflow::messages::Typed;
use crate::workflow::{Workflow, WorkflowContext};

/// Runs one attempt of a type-erased activity: encoded input in, encoded result out.
pub(crate) type ActivityRunner =
    Arc<dyn Fn(ActivityContext, Payload) -> BoxFuture<'static, Result<Payload, ActivityError>> + Send + Sync>;

#[derive(Default, Clone)]
pub(crate) struct Registry {
    pub(crate) workflows: HashMap<&'static str, WorkflowFactory>,
    pub(crate) activities: HashMap<&'static str, ActivityRunner>,
}

impl Registry {
    pub(crate) fn add_workflow<W: Workflow>(&mut self) {
        let handlers = Arc::new(<W::Definition as WorkflowDefinition>::handlers());
        let factory: WorkflowFactory = Arc::new(move |state: Arc<Mutex<WorkflowState>>, input: &Payload| {
            let input: W::Input = input.decode()?;
            let limit = state.lock().payload_limit;
            let ctx = WorkflowContext::new(state, W::Definition::init(&input));
            let messages = Box::new(Typed { ctx: ctx.clone(), handlers: handlers.clone() });
            let future: WorkflowFuture = Box::pin(W::Definition::run(ctx, input).map(move |result| match result {
                Ok(output) => Payload::encode(&output, limit).map_err(|e| {
                    Failure::new("PayloadError", format!("workflow result rejected: {e}")).non_retryable()
                }),
                Err(error) => Err(error.into_failure()),
            }));
            Ok(Instance { future, messages })
        });
        self.workflows.insert(W::NAME, factory);
    }

    pub(crate) fn add_activity<A: ActivityFn>(&mut self) {
        self.insert_activity::<A, _>(A::run);
    }

    pub(crate) fn add_method<A: ActivityMethod>(&mut self, instance: Arc<A::Instance>)
    where
        A::Instance: crate::activity::Activities,
    {
        self.insert_activity::<A, _>(move |ctx, input| A::run(Arc::clone(&instance), ctx, input));
    }

    /// Wraps `run` (one typed attempt) into a runner of encoded payloads.
    fn insert_activity<A, F>(&mut self, run: impl Fn(ActivityContext, A::Input) -> F + Send + Sync + 'static)
    where
        A: Activity,
        F: Future<Output = Result<A::Output, ActivityError>> + Send + 'static,
    {
        let runner: ActivityRunner = Arc::new(move |ctx: ActivityContext, input: Payload| {
            let limit = ctx.info.payload_limit;
            let input: A::Input = match input.decode() {
                Ok(input) => input,
                Err(e) => return futures::future::ready(Err(payload_error("input", e))).boxed(),
            };
            run(ctx, input)
                .map(move |result| {
                    result.and_then(|output| Payload::encode(&output, limit).map_err(|e| payload_error("result", e)))
                })
                .boxed()
        });
        self.activities.insert(A::NAME, runner);
    }
}

fn payload_error(what: &str, error: crate::PayloadError) -> ActivityError {
    ActivityError::from_failure(
        Failure::new("PayloadError", format!("activity {what} rejected: {error}")).non_retryable(),
    )
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("workflows", &self.workflows.keys().collect::<Vec<_>>())
            .field("activities", &self.activities.keys().collect::<Vec<_>>())
            .finish()
    }
}
