//! A function workflow reads its signals from a channel; the client signals
//! it through the same constant.

use weft::workflow::Signal;
use weft::{workflow, Client, Engine, WorkflowContext, WorkflowHandle, WorkflowOptions, WorkflowResult};

/// Someone knocked, and said who.
pub const KNOCK: Signal<door, String> = Signal::new("knock");

/// A signal of several inputs travels as a tuple.
pub const RING: Signal<door, (String, u32)> = Signal::new("ring");

#[workflow]
pub async fn door(ctx: WorkflowContext, expected: usize) -> WorkflowResult<Vec<String>> {
    let mut knocks = ctx.signal_channel(KNOCK);
    let mut rings = ctx.signal_channel(RING);
    let mut heard = Vec::new();
    while heard.len() < expected {
        heard.push(knocks.recv().await?);
    }
    let (who, times) = rings.recv().await?;
    heard.push(format!("{who} rang {times} times"));
    Ok(heard)
}

#[allow(dead_code)]
async fn calls(client: &Client) -> weft::Result<Vec<String>> {
    let handle: WorkflowHandle<door> =
        client.signal_with_start(door, WorkflowOptions::new("door-1"), 2, KNOCK, "ann".to_owned()).await?;
    client.signal(&handle, KNOCK, "bob".to_owned()).await?;
    client.signal(&handle, RING, ("cy".to_owned(), 2)).await?;
    handle.result().await
}

fn main() {
    assert_eq!(KNOCK.name(), "knock");
    let _ = Engine::builder().register_workflow(door);
}
