//! Changing a workflow's code while runs of it are open: `ctx.patched(..)`.
//!
//! Version 1 of `shipment` prints a standard label, waits for the courier
//! and ships. Version 2 prints a recycled-paper label instead. A run started
//! on version 1 has already printed its label when the engine stops; the new
//! engine runs version 2, replays that run's history, and must take the same
//! (old) branch it took, or replay would not match. New runs take the new
//! branch, and their history records it: a `MarkerRecorded` event.
//!
//! ```text
//! cargo run -p weft-examples --example versioning
//! ```
//!
//! The steps that follow (`deprecate_patch`, then removing the call) are in
//! `docs/versioning.md`; the `Replayer` at the end shows why their order matters.

use std::time::{Duration, SystemTime};

use weft::history::{EventAttributes, HistoryEvent};
use weft::testing::Replayer;
use weft::{ActivityContext, ActivityError, Engine, activity};

/// The id of the change from version 1 to version 2.
pub const ECO_LABEL: &str = "eco-label";

/// Prints the label of version 1.
#[activity(start_to_close_timeout = "10s")]
pub async fn print_label(_ctx: ActivityContext, order: String) -> Result<String, ActivityError> {
    Ok(format!("standard label for {order}"))
}

/// Prints the label of version 2.
#[activity(start_to_close_timeout = "10s")]
pub async fn print_eco_label(_ctx: ActivityContext, order: String) -> Result<String, ActivityError> {
    Ok(format!("recycled label for {order}"))
}

/// Hands the parcel to the courier.
#[activity(start_to_close_timeout = "10s")]
pub async fn ship(_ctx: ActivityContext, label: String) -> Result<String, ActivityError> {
    Ok(format!("shipped with a {label}"))
}

/// How long the courier takes to come.
pub const PICKUP: Duration = Duration::from_secs(2);

/// The code that was deployed first.
pub mod v1 {
    use weft::{ActivityOptions, WorkflowContext, WorkflowResult, workflow};

    use super::{PICKUP, print_label, ship};

    /// Prints a label, waits for the courier, ships.
    #[workflow(name = "shipment")]
    pub async fn shipment(ctx: WorkflowContext, order: String) -> WorkflowResult<String> {
        let label = ctx.execute_activity(print_label, order, ActivityOptions::defaults()).await?;
        ctx.sleep(PICKUP).await?;
        Ok(ctx.execute_activity(ship, label, ActivityOptions::defaults()).await?)
    }
}

/// The changed code: the same workflow type, another label.
pub mod v2 {
    use weft::{ActivityOptions, WorkflowContext, WorkflowResult, workflow};

    use super::{ECO_LABEL, PICKUP, print_eco_label, print_label, ship};

    /// Prints a recycled label (runs that printed theirs with version 1 keep it).
    #[workflow(name = "shipment")]
    pub async fn shipment(ctx: WorkflowContext, order: String) -> WorkflowResult<String> {
        let label = if ctx.patched(ECO_LABEL) {
            ctx.execute_activity(print_eco_label, order, ActivityOptions::defaults()).await?
        } else {
            ctx.execute_activity(print_label, order, ActivityOptions::defaults()).await?
        };
        ctx.sleep(PICKUP).await?;
        Ok(ctx.execute_activity(ship, label, ActivityOptions::defaults()).await?)
    }
}

/// The next step, for when every open run has the marker: `deprecate_patch`
/// and the old branch removed (see `docs/versioning.md`).
pub mod v3 {
    use weft::{ActivityOptions, WorkflowContext, WorkflowResult, workflow};

    use super::{ECO_LABEL, PICKUP, print_eco_label, ship};

    /// Version 2 with the old branch cut: it replays only runs with the marker.
    #[workflow(name = "shipment")]
    pub async fn shipment(ctx: WorkflowContext, order: String) -> WorkflowResult<String> {
        ctx.deprecate_patch(ECO_LABEL);
        let label = ctx.execute_activity(print_eco_label, order, ActivityOptions::defaults()).await?;
        ctx.sleep(PICKUP).await?;
        Ok(ctx.execute_activity(ship, label, ActivityOptions::defaults()).await?)
    }
}

/// Registers the example's activities (every version uses the same ones).
pub fn register_activities(builder: weft::EngineBuilder) -> weft::EngineBuilder {
    builder.register_activity(print_label).register_activity(print_eco_label).register_activity(ship)
}

/// Whether a history records the patch marker.
pub fn has_marker(history: &[HistoryEvent]) -> bool {
    history.iter().any(|e| matches!(e.attributes(), EventAttributes::MarkerRecorded { .. }))
}

async fn engine(store: &std::path::Path, v2: bool) -> weft::Result<Engine> {
    let builder = register_activities(Engine::builder().sqlite(store));
    let builder = if v2 { builder.register_workflow(v2::shipment) } else { builder.register_workflow(v1::shipment) };
    builder.build().await
}

#[tokio::main]
async fn main() -> weft::Result<()> {
    let stamp = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or_default();
    let store = std::env::temp_dir().join(format!("weft-versioning-{stamp}.db"));
    println!("store: {}", store.display());
    let (old, new) = ("shipment-old", "shipment-new");

    println!("version 1 starts `{old}` and stops while the courier is on the way");
    let first = engine(&store, false).await?;
    first.client().start_workflow(v1::shipment, old, "order 1".to_owned()).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let waiting = first.client().describe(old).await?.pending_timers.len();
    println!("  {old}: label printed, {waiting} pending timer(s)");
    first.shutdown().await;

    println!("version 2 (with `ctx.patched({ECO_LABEL:?})`) opens the same store");
    let second = engine(&store, true).await?;
    let client = second.client();
    let started = client.start_workflow(v2::shipment, new, "order 2".to_owned()).await?;
    let resumed = client.workflow_handle(v2::shipment, old).await?;
    for (id, handle) in [(old, resumed), (new, started)] {
        let result = handle.result().await?;
        let marker = if has_marker(&handle.history().await?) { "has the marker" } else { "no marker" };
        println!("  {id}: {result} ({marker})");
    }
    let old_history = client.history(old).await?;
    let new_history = client.history(new).await?;
    println!("history of {new}:");
    for event in &new_history {
        println!("{event}");
    }
    second.shutdown().await;

    // What each version replays: version 2 both runs; version 3 (deprecate_patch,
    // old branch removed) only the run with the marker, so it waits until no run
    // without one is open.
    let v2 = Replayer::new().register_workflow(v2::shipment);
    let next = Replayer::new().register_workflow(v3::shipment);
    println!("version 2 replays {old}: {:?}, {new}: {:?}", v2.replay(&old_history), v2.replay(&new_history));
    println!("version 3 replays {new}: {:?}", next.replay(&new_history));
    match next.replay(&old_history) {
        Err(error) => println!("version 3 does not replay {old}: {error}"),
        Ok(()) => println!("version 3 replays {old} too (unexpected)"),
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", store.display()));
    }
    Ok(())
}
