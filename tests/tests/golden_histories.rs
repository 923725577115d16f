//! Golden histories: recorded runs of the examples, replayed against the
//! current code. A change that would break workflows already in flight
//! fails here. `WEFT_BLESS=1 cargo test -p weft-tests --test golden_histories`
//! records them again (do that only for a deliberate, compatible change).

#[allow(dead_code, unreachable_pub)]
#[path = "../../examples/examples/hello_activity.rs"]
mod hello_activity;

use std::path::PathBuf;

use weft::Engine;
use weft::testing::{Replayer, TestEnv};

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("histories").join(format!("{name}.json"))
}

fn replayer() -> Replayer {
    Replayer::new().register_workflow(hello_activity::your_workflow)
}

/// Runs the examples' workflows and writes their histories.
async fn bless() -> weft::Result<()> {
    let env = TestEnv::start(
        Engine::builder()
            .register_workflow(hello_activity::your_workflow)
            .register_activity(hello_activity::your_activity),
    )
    .await?;
    let handle =
        env.client().start_workflow(hello_activity::your_workflow, "your-workflow-id", "World".to_owned()).await?;
    handle.result().await?;
    let json = serde_json::to_string_pretty(&handle.history().await?).expect("histories serialize");
    std::fs::write(golden("hello_activity"), json + "\n").expect("write the golden history");
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn golden_histories_replay_against_current_code() -> weft::Result<()> {
    if std::env::var_os("WEFT_BLESS").is_some() {
        bless().await?;
    }
    let dir = golden("x").parent().expect("the histories folder").to_owned();
    let mut replayed = 0;
    for entry in std::fs::read_dir(&dir).expect("tests/histories") {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            replayer().replay_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            replayed += 1;
        }
    }
    assert!(replayed >= 1, "no golden history in {}", dir.display());
    Ok(())
}
