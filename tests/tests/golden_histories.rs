//! Golden histories: recorded runs of every example, replayed against the
//! current code. A change that would break workflows already in flight
//! fails here. `WEFT_BLESS=1 cargo test -p weft-tests --test golden_histories`
//! records them again (do that only for a deliberate, compatible change).

mod common;

use std::path::PathBuf;

use common::examples;
use weft::Engine;
use weft::testing::TestEnv;

fn histories() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("histories")
}

/// Runs the examples' workflows (on virtual time) and writes their histories;
/// the runs of replaced example code run on an engine of their own.
async fn bless() -> weft::Result<()> {
    let write = |name: &str, history: &[weft::history::HistoryEvent]| {
        let json = serde_json::to_string_pretty(history).expect("histories serialize");
        std::fs::write(histories().join(format!("{name}.json")), json + "\n").expect("write the golden history");
    };
    let env = TestEnv::start(examples::register(Engine::builder())).await?;
    for (name, _, history) in examples::run_all(&env.client()).await? {
        write(&name, &history);
    }
    env.shutdown().await;
    let old = TestEnv::start(examples::register_old_code(Engine::builder())).await?;
    for (name, _, history) in examples::run_old_code(&old.client()).await? {
        write(&name, &history);
    }
    old.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn golden_histories_replay_against_current_code() -> weft::Result<()> {
    if std::env::var_os("WEFT_BLESS").is_some() {
        bless().await?;
    }
    let replayer = examples::replayer();
    let mut replayed = 0;
    for entry in std::fs::read_dir(histories()).expect("tests/histories") {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            replayer.replay_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            replayed += 1;
        }
    }
    assert!(replayed >= 10, "expected every example's golden history in {}", histories().display());
    Ok(())
}

/// The `versioning` example's goldens: a run of its version 1 (no marker),
/// replayed above by version 2 on the old branch, and a run of version 2
/// (the marker, then the new branch).
#[test]
fn the_versioning_goldens_hold_one_run_of_each_branch() {
    let read = |name: &str| -> Vec<weft::history::HistoryEvent> {
        let json = std::fs::read_to_string(histories().join(name)).expect("golden history");
        serde_json::from_str(&json).expect("a history")
    };
    let old = read("versioning_v1.json");
    let new = read("versioning.json");
    assert!(!examples::versioning::has_marker(&old));
    assert!(examples::versioning::has_marker(&new));
    assert_eq!(new[1].event_type(), "MarkerRecorded");
    let scheduled = |h: &[weft::history::HistoryEvent]| {
        common::find(h, |a| match a {
            weft::history::EventAttributes::ActivityTaskScheduled { activity_type, .. } => Some(activity_type.clone()),
            _ => None,
        })
    };
    assert_eq!(scheduled(&old).as_deref(), Some("print_label"));
    assert_eq!(scheduled(&new).as_deref(), Some("print_eco_label"));
}

/// The complete example in `docs/history-format.md` is a real history.
#[test]
fn the_documented_history_example_replays() -> weft::Result<()> {
    let doc =
        std::fs::read_to_string(histories().join("../../docs/history-format.md")).expect("the history format doc");
    let example = doc
        .split("```json\n")
        .filter_map(|block| block.split("\n```").next())
        .find(|block| block.starts_with('['))
        .expect("a JSON array example");
    examples::replayer().replay_json(example)
}
