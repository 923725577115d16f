//! The exported-history replayer: what `weft workflow export` writes, read
//! by `weft::testing::Replayer::replay_json` against the example workflows
//! (the code of the golden histories in `tests/histories`). Any input ends
//! in `Ok` or a typed error; nothing panics, nothing hangs.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use weft::Error;
use weft::testing::Replayer;

/// The example workflows, registered as the golden-history tests register them.
#[allow(dead_code, unreachable_pub)]
#[path = "../../../tests/tests/common/examples.rs"]
mod examples;

static REPLAYER: LazyLock<Replayer> = LazyLock::new(examples::replayer);

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match REPLAYER.replay_json(text) {
        Ok(())
        | Err(Error::CorruptHistory { .. } | Error::NonDeterminism { .. } | Error::UnknownWorkflowType { .. }) => {}
        Err(other) => panic!("replay gave an unexpected error: {other:?}"),
    }
});
