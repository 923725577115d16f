//! The embedded engine (temporary skeleton).
mod registry;

use crate::activity::ActivityFn;
use crate::workflow::Workflow;
use crate::{Client, Result};

/// How hard the SQLite store pushes each commit to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Durability {
    /// `synchronous=FULL`.
    #[default]
    Full,
    /// `synchronous=NORMAL`.
    Normal,
}

/// The engine.
#[derive(Debug)]
pub struct Engine {}

/// Builds an [`Engine`].
#[derive(Debug, Default)]
pub struct EngineBuilder {}

impl Engine {
    /// A builder.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }
    /// The client.
    pub fn client(&self) -> Client {
        todo!()
    }
    /// Stops the engine.
    pub async fn shutdown(self) {}
}

impl EngineBuilder {
    /// In memory.
    pub fn in_memory(self) -> Self {
        self
    }
    /// Registers a workflow.
    pub fn register_workflow<W: Workflow>(self, _w: W) -> Self {
        self
    }
    /// Registers an activity.
    pub fn register_activity<A: ActivityFn>(self, _a: A) -> Self {
        self
    }
    /// Builds.
    pub async fn build(self) -> Result<Engine> {
        todo!()
    }
}
