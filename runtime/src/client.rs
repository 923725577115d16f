//! The client (temporary skeleton).
use std::marker::PhantomData;

use serde::de::DeserializeOwned;

use crate::Result;
use crate::workflow::Workflow;

/// A client.
#[derive(Debug, Clone)]
pub struct Client {}

/// A handle on a workflow run.
#[derive(Debug)]
pub struct WorkflowHandle<O> {
    _o: PhantomData<fn() -> O>,
}

impl Client {
    /// Starts a workflow.
    pub async fn start_workflow<W: Workflow>(&self, _w: W, _id: impl Into<String>, _input: W::Input) -> Result<WorkflowHandle<W::Output>> {
        todo!()
    }
}

impl<O: DeserializeOwned> WorkflowHandle<O> {
    /// Waits for the result.
    pub async fn result(&self) -> Result<O> {
        todo!()
    }
}
