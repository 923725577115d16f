//! The web view in a real browser: headless Chromium, driven by Playwright
//! (`tests/browser/drive.mjs`), over the page this test serves on a store
//! that an engine runs. The script opens the list, filters it, opens runs,
//! checks their timelines, opens a run of 10 001 events (paged, its
//! timeline cut to its first lanes), watches a running workflow's page follow a
//! signal this test sends, and cancels it from the page; this test then
//! finds it cancelled in the store.
//!
//! Runs where `WEFT_TEST_BROWSER` names a Chromium binary (`.ci/run` sets
//! it to Debian's `/usr/bin/chromium` and runs `npm ci` in
//! `tests/browser`); elsewhere it says it was skipped. `WEFT_UI_SCREENSHOT`
//! names where the run page's screenshot goes (docs/ui-run.png is one).

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::{Fixture, GO, long, serve, waiter};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use weft::RunStatus;
use weft::history::EventAttributes;
use weft_ui::UiOptions;

const REASON: &str = "enough, said the browser test";
/// The activities of the long run the script opens: 10 001 events.
const LONG_ACTIVITIES: u32 = 3333;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_lists_filters_shows_timelines_follows_a_run_and_cancels_it() -> weft::Result<()> {
    let Some(chromium) = std::env::var_os("WEFT_TEST_BROWSER") else {
        eprintln!("skipped: set WEFT_TEST_BROWSER to a Chromium binary (.ci/run does) to run the browser test");
        return Ok(());
    };
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        scripts.join("node_modules/playwright-core").is_dir(),
        "run `npm ci` in {} first (.ci/run does)",
        scripts.display()
    );
    let fixture = Fixture::new().await?;
    let addr = serve(&fixture.path(), UiOptions::new()).await;
    let screenshot =
        std::env::var_os("WEFT_UI_SCREENSHOT").map(PathBuf::from).unwrap_or_else(|| fixture.dir.path().join("run.png"));

    let mut node = tokio::process::Command::new("node")
        .arg(scripts.join("drive.mjs"))
        .arg(format!("http://{addr}"))
        .arg(&chromium)
        .arg(&screenshot)
        .current_dir(&scripts)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs (Node.js is needed for the browser test only)");
    let mut to_node = node.stdin.take().expect("a pipe");
    let mut lines = BufReader::new(node.stdout.take().expect("a pipe")).lines();
    let client = fixture.engine.client();

    let talk = async {
        let mut steps = Vec::new();
        while let Some(line) = lines.next_line().await.expect("reads the script") {
            eprintln!("browser: {line}");
            match line.split_whitespace().collect::<Vec<_>>()[..] {
                ["step", ..] => steps.push(line[5..].to_owned()),
                ["ask", "signal", id] => {
                    let handle = client.workflow_handle(waiter, id).await?;
                    client.signal(&handle, GO, "hello".to_owned()).await?;
                    to_node.write_all(b"ok\n").await.expect("answers the script");
                }
                ["ask", "long", id] => {
                    let done = client.start_workflow(long, id, LONG_ACTIVITIES).await?.result().await?;
                    assert_eq!(done, LONG_ACTIVITIES);
                    to_node.write_all(b"ok\n").await.expect("answers the script");
                }
                ["figure", ..] => {}
                ["ask", "canceled", id] => {
                    let described = client.describe(id).await?;
                    assert_eq!(described.status, RunStatus::Canceled, "the store has {id} cancelled");
                    let requested = client.history(id).await?.into_iter().any(|e| {
                        matches!(e.attributes(), EventAttributes::WorkflowExecutionCancelRequested { reason }
                            if reason == REASON)
                    });
                    assert!(requested, "the cancel request carries the reason typed into the page");
                    to_node.write_all(b"ok\n").await.expect("answers the script");
                }
                ["done"] => return Ok(steps),
                _ => panic!("the script said {line:?}"),
            }
        }
        Ok::<_, weft::Error>(steps)
    };
    let steps =
        tokio::time::timeout(Duration::from_secs(120), talk).await.expect("the browser test ends in 2 minutes")?;
    let status = tokio::time::timeout(Duration::from_secs(30), node.wait()).await.expect("node exits").expect("waits");
    assert!(status.success(), "the browser test failed ({status}); its reason is above");
    assert_eq!(steps, ["list", "filter", "run", "failed run", "hostile input", "long history", "live", "cancel"]);
    assert!(screenshot.is_file(), "the run page's screenshot is at {}", screenshot.display());
    Ok(())
}
