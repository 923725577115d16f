//! Replay is the cache: with the workflow cache off (every step replays the
//! whole history) and with a large cache, the same workflows give the same
//! histories and results, event for event.

mod common;

use std::time::{Duration, SystemTime};

use common::{examples, secs};
use futures_lite::future::zip;
use weft::history::HistoryEvent;
use weft::testing::TestEnv;
use weft::{
    ActivityContext, ActivityError, ActivityOptions, CancellationType, Engine, RetryPolicy, WorkflowContext,
    WorkflowResult, activity, workflow,
};

#[activity]
async fn work(ctx: ActivityContext, millis: u64, fail_attempts: u32) -> Result<u64, ActivityError> {
    tokio::time::sleep(Duration::from_millis(millis)).await;
    if ctx.attempt() <= fail_attempts {
        return Err(ActivityError::new(format!("attempt {} failed", ctx.attempt())));
    }
    Ok(millis)
}

#[activity]
async fn note(_ctx: ActivityContext, text: String) -> Result<String, ActivityError> {
    Ok(text)
}

fn options() -> ActivityOptions {
    ActivityOptions::start_to_close(secs(10)).retry_policy(RetryPolicy::default().initial_interval(secs(1)))
}

/// Sequential and concurrent activities, retries, timers, a race, a
/// cancellation, time and randomness from the context.
#[workflow]
async fn kitchen_sink(ctx: WorkflowContext, n: u64) -> WorkflowResult<Vec<String>> {
    let drawn = format!("{} {}", ctx.random() % 1000, ctx.uuid());
    // Recorded as the activity's input; on every replay the same draw must come out.
    let noted = ctx.execute_activity(note, drawn.clone(), options()).await?;
    let mut seen = vec![(noted == drawn).to_string()];
    let a = ctx.execute_activity(work, (100 * n, 0), options()).await?;
    ctx.sleep(secs(5)).await?;
    let (b, c) =
        zip(ctx.start_activity(work, (300, 1), options()), ctx.start_activity(work, (200, 0), options())).await;
    seen.push(format!("{a} {} {}", b?, c?));
    // A race: the timer (2 s) beats the activity (5 s); the loser is cancelled.
    let mut slow = ctx.start_activity(work, (5000, 0), options().cancellation_type(CancellationType::TryCancel));
    let timer = ctx.sleep(secs(2));
    let raced = futures_lite::future::or(async { timer.await.map(|()| "timer") }, async {
        (&mut slow).await.map(|_| "activity").map_err(|_| weft::Canceled)
    })
    .await?;
    slow.cancel();
    seen.push(raced.to_owned());
    seen.push(format!("{:?}", ctx.now().duration_since(SystemTime::UNIX_EPOCH).is_ok()));
    Ok(seen)
}

/// The events with run ids and random draws (seeded by the run id) blanked,
/// and times (the events', and an attempt's start) made relative to the first event.
/// `text` with every UUID (the run ids of other runs: children, the next
/// run of a chain) replaced by `UUID`: each run draws fresh ones.
fn without_uuids(text: &str) -> String {
    let is_uuid = |s: &[u8]| {
        s.len() >= 36
            && s[..36].iter().enumerate().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => *c == b'-',
                _ => c.is_ascii_hexdigit(),
            })
    };
    let bytes = text.as_bytes();
    let (mut out, mut i) = (String::with_capacity(text.len()), 0);
    while i < bytes.len() {
        if is_uuid(&bytes[i..]) {
            out.push_str("UUID");
            i += 36;
        } else {
            let c = text[i..].chars().next().expect("in bounds");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn normalized(history: &[HistoryEvent], run_id: &str) -> Vec<String> {
    let start = history[0].timestamp();
    let drawn = history.iter().find_map(|e| match e.attributes() {
        weft::history::EventAttributes::ActivityTaskScheduled { activity_type, input, .. }
            if activity_type == "note" =>
        {
            Some(input.as_json().trim_matches('"').to_owned())
        }
        _ => None,
    });
    history
        .iter()
        .map(|e| {
            let mut text = common::relative_attributes(e, start).to_string().replace(run_id, "RUN");
            if let Some(drawn) = &drawn {
                text = text.replace(drawn.as_str(), "DRAWN");
            }
            let mut text = without_uuids(&text);
            text.insert_str(
                0,
                &format!("{} +{:?} {} ", e.event_id(), e.timestamp().duration_since(start).unwrap(), e.event_type()),
            );
            text
        })
        .collect()
}

async fn run_all(cache_size: usize) -> weft::Result<Vec<(String, Vec<String>)>> {
    let builder = Engine::builder().cache_size(cache_size).register_workflow(kitchen_sink);
    let env = TestEnv::start(examples::register(builder).register_activity(work).register_activity(note)).await?;
    let client = env.client();
    let mut out = Vec::new();
    let sinks = [
        client.start_workflow(kitchen_sink, "sink-1", 1).await?,
        client.start_workflow(kitchen_sink, "sink-2", 2).await?,
    ];
    for sink in sinks {
        let result = format!("{:?}", sink.result().await?).replace(sink.run_id(), "RUN");
        out.push((result, normalized(&sink.history().await?, sink.run_id())));
    }
    for (name, result, history) in examples::run_all(&client).await? {
        let run_id = history[0].attributes();
        let weft::history::EventAttributes::WorkflowExecutionStarted { run_id, .. } = run_id else { unreachable!() };
        out.push((without_uuids(&format!("{name}: {result}")), normalized(&history, run_id)));
    }
    env.shutdown().await;
    Ok(out)
}

#[tokio::test(start_paused = true)]
async fn cache_off_and_cache_on_give_identical_histories() -> weft::Result<()> {
    let replayed = run_all(0).await?;
    let cached = run_all(10_000).await?;
    assert_eq!(replayed.len(), 27, "two kitchen sinks and every example");
    for ((r_result, r_history), (c_result, c_history)) in replayed.iter().zip(&cached) {
        assert_eq!(r_result, c_result);
        assert_eq!(r_history, c_history);
    }
    assert_eq!(cached[0].0, r#"["true", "100 300 200", "timer", "true"]"#);
    assert!(cached[0].1.iter().any(|e| e.contains("ActivityTaskCancelRequested")), "{:#?}", cached[0].1);
    Ok(())
}
