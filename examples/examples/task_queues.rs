//! Task queues and worker processes on PostgreSQL: this process starts two
//! workers (copies of itself), one polling the `default` queue with the
//! workflow, one polling `payments` with the `charge` activity only, then
//! acts as a client only: it starts five orders and prints which process ran
//! each step. The workflow's `reserve` activity runs on its own queue
//! (`default`), `charge` on `payments`, wherever those workers run.
//!
//! ```text
//! WEFT_POSTGRES=postgres://user:password@localhost/db \
//!     cargo run -p weft-examples --features postgres --example task_queues
//! ```
//!
//! (`.ci/postgres.sh` starts a throwaway server and prints such a URL.)

use std::time::Duration;

use weft::{
    ActivityContext, ActivityError, ActivityOptions, Engine, WorkflowContext, WorkflowOptions, WorkflowResult,
    activity, workflow,
};

/// Reserves stock; runs on the workflow's queue.
#[activity(start_to_close_timeout = "10s")]
pub async fn reserve(_ctx: ActivityContext, order: u32) -> Result<String, ActivityError> {
    Ok(format!("order {order} reserved by process {}", std::process::id()))
}

/// Charges the card; runs only on workers of the `payments` queue.
#[activity(start_to_close_timeout = "10s")]
pub async fn charge(_ctx: ActivityContext, order: u32) -> Result<String, ActivityError> {
    Ok(format!("order {order} charged by process {}", std::process::id()))
}

/// Reserves, then charges on the `payments` queue.
#[workflow]
pub async fn checkout(ctx: WorkflowContext, order: u32) -> WorkflowResult<Vec<String>> {
    let reserved = ctx.execute_activity(reserve, order, ActivityOptions::defaults()).await?;
    let on_payments = ActivityOptions::defaults().task_queue("payments");
    let charged = ctx.execute_activity(charge, order, on_payments).await?;
    Ok(vec![reserved, charged])
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Ok(url) = std::env::var("WEFT_POSTGRES") else {
        eprintln!("set WEFT_POSTGRES=postgres://user:password@host/database (see the example's header)");
        std::process::exit(2);
    };
    let schema = "weft_example_task_queues";
    let mut args = std::env::args().skip(1);
    if let Some(queue) = args.next() {
        // A worker process: one queue, only what runs there registered.
        let builder = Engine::builder().postgres(&url).postgres_schema(schema).task_queue(&queue);
        let builder = match queue.as_str() {
            "payments" => builder.register_activity(charge),
            _ => builder.register_workflow(checkout).register_activity(reserve),
        };
        let engine = builder.build().await?;
        println!("worker {} polls {queue}", std::process::id());
        tokio::task::spawn_blocking(|| std::io::stdin().read_line(&mut String::new())).await??;
        engine.shutdown().await;
        return Ok(());
    }

    let exe = std::env::current_exe()?;
    let mut workers = Vec::new();
    for queue in ["default", "payments"] {
        let child = std::process::Command::new(&exe).arg(queue).stdin(std::process::Stdio::piped()).spawn()?;
        workers.push(child);
    }
    let engine = Engine::builder().postgres(&url).postgres_schema(schema).client_only().build().await?;
    let client = engine.client();
    let run = std::process::id();
    println!("client {run} starts five orders");
    for order in 1..=5 {
        let options = WorkflowOptions::new(format!("order-{run}-{order}"));
        let handle = client.start_workflow_with(checkout, options, order).await?;
        let steps = tokio::time::timeout(Duration::from_secs(30), handle.result()).await??;
        println!("  {}", steps.join("; "));
    }
    engine.shutdown().await;
    for mut worker in workers {
        drop(worker.stdin.take()); // the worker's stdin closes: it shuts down
        worker.wait()?;
    }
    Ok(())
}
