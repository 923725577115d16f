//! The exported-history replayer: what `weft workflow export` writes, read
//! by `weft::testing::Replayer::replay_json` against the example workflows
//! (the code of the golden histories in `tests/histories`). Any input ends
//! in `Ok` or a typed error; nothing panics, nothing hangs.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use weft::Error;
use weft::testing::Replayer;

#[allow(dead_code, unreachable_pub)]
#[path = "../../../examples/examples/hello_activity.rs"]
mod hello_activity;
#[allow(dead_code, unreachable_pub)]
#[path = "../../../examples/examples/activity_timeouts_retries.rs"]
mod timeouts;
#[allow(dead_code, unreachable_pub)]
#[path = "../../../examples/examples/cancel_activity.rs"]
mod cancel_activity;
#[allow(dead_code, unreachable_pub)]
#[path = "../../../examples/examples/heartbeat_progress.rs"]
mod heartbeat_progress;
#[allow(dead_code, unreachable_pub)]
#[path = "../../../examples/examples/shared_activities.rs"]
mod shared_activities;
#[allow(dead_code, unreachable_pub)]
#[path = "../../../examples/examples/durable_timer.rs"]
mod durable_timer;

static REPLAYER: LazyLock<Replayer> = LazyLock::new(|| {
    Replayer::new()
        .register_workflow(hello_activity::your_workflow)
        .register_workflow(timeouts::start_to_close)
        .register_workflow(timeouts::schedule_to_close)
        .register_workflow(timeouts::schedule_to_start)
        .register_workflow(timeouts::heartbeat)
        .register_workflow(cancel_activity::cancels_its_activity)
        .register_workflow(cancel_activity::waits)
        .register_workflow(heartbeat_progress::batch)
        .register_workflow(shared_activities::checkout)
        .register_workflow(shared_activities::audit)
        .register_workflow(durable_timer::reminder)
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match REPLAYER.replay_json(text) {
        Ok(())
        | Err(Error::CorruptHistory { .. } | Error::NonDeterminism { .. } | Error::UnknownWorkflowType { .. }) => {}
        Err(other) => panic!("replay gave an unexpected error: {other:?}"),
    }
});
