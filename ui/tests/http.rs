//! The web view over HTTP: what each route answers, for good and bad
//! requests, and the guards (host, token, action secret, read-only).

mod common;

use std::time::Duration;

use common::{Fixture, GO, HOSTILE, SHOUT_TAKES, csrf, get, request, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use weft::{RunStatus, history::HistoryEvent};
use weft_ui::{Ui, UiError, UiOptions};

fn lanes(run: &serde_json::Value) -> Vec<(String, String, u64)> {
    run["timeline"]["lanes"]
        .as_array()
        .expect("lanes")
        .iter()
        .map(|l| {
            (
                l["kind"].as_str().unwrap().to_owned(),
                l["outcome"].as_str().unwrap().to_owned(),
                l["attempts"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_filters_pages_and_counts() -> weft::Result<()> {
    let fixture = Fixture::new().await?;
    let addr = serve(&fixture.path(), UiOptions::new()).await;
    let all = get(addr, "/api/workflows").await;
    assert_eq!(all.status, 200, "{}", all.body);
    let all = all.json();
    let counts = &all["counts"];
    assert_eq!((counts["total"].as_u64(), counts["held"].as_u64()), (Some(5), Some(0)));
    assert_eq!(counts["by_status"]["completed"], 3);
    assert_eq!(counts["by_status"]["failed"], 1);
    assert_eq!(counts["by_status"]["running"], 1);
    let ids = |v: &serde_json::Value| -> Vec<String> {
        v["workflows"].as_array().unwrap().iter().map(|w| w["workflow_id"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(ids(&all), ["waiter-1", "doomed-1", "greet-hostile", "greet-bob", "greet-ada"], "newest first");
    assert_eq!(ids(&get(addr, "/api/workflows?status=failed").await.json()), ["doomed-1"]);
    assert_eq!(ids(&get(addr, "/api/workflows?type=waiter").await.json()), ["waiter-1"]);
    let greets = get(addr, "/api/workflows?prefix=greet-").await.json();
    assert_eq!(ids(&greets).len(), 3);
    assert_eq!(greets["counts"]["total"], 3, "counts follow the type and prefix filters");

    // Pages of two, each continuing where the one before ended.
    let mut seen = Vec::new();
    let mut target = "/api/workflows?limit=2".to_owned();
    loop {
        let page = get(addr, &target).await.json();
        seen.extend(ids(&page));
        match page["next_page_token"].as_str() {
            Some(token) => target = format!("/api/workflows?limit=2&page={token}"),
            None => break,
        }
    }
    assert_eq!(seen, ids(&all));

    let bad = get(addr, "/api/workflows?page=yesterday").await;
    assert_eq!(bad.status, 400);
    assert!(bad.json()["error"].as_str().unwrap().contains("invalid page token"), "{}", bad.body);
    let bad = get(addr, "/api/workflows?status=asleep").await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("unknown status"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_has_its_outcome_and_one_lane_per_activity_and_timer() -> weft::Result<()> {
    let fixture = Fixture::new().await?;
    let addr = serve(&fixture.path(), UiOptions::new()).await;
    let run = get(addr, "/api/run?id=greet-ada").await.json();
    assert_eq!(run["run"]["status"], "completed");
    assert_eq!(run["started"]["attributes"]["input"], "ada");
    assert_eq!(run["closed"]["attributes"]["result"], "ADA after 3 attempts");
    assert_eq!(
        lanes(&run),
        [
            ("activity".to_owned(), "completed".to_owned(), 1),
            ("activity".to_owned(), "completed".to_owned(), 3),
            ("timer".to_owned(), "fired".to_owned(), 0)
        ]
    );
    let timeline = &run["timeline"];
    let end = timeline["end"].as_f64().expect("a closed run's timeline ends");
    let drawn = timeline["lanes"].as_array().unwrap();
    for lane in drawn {
        let (opened, closed) = (lane["opened"].as_f64().unwrap(), lane["closed"].as_f64().unwrap());
        assert!(timeline["start"].as_f64().unwrap() <= opened && opened <= closed && closed <= end, "{lane}");
        if lane["kind"] == "activity" {
            let started = lane["started"].as_f64().expect("an activity's start");
            assert!(opened <= started && started <= closed, "{lane}");
        }
    }
    // The start is when the closing attempt began, not when its event was
    // written (at the close): `shout` ran for 20 ms; the third attempt of
    // `flaky` began after two retries' backoff.
    let (shout, flaky) = (&drawn[0], &drawn[1]);
    let ran = shout["closed"].as_f64().unwrap() - shout["started"].as_f64().unwrap();
    assert!(ran >= SHOUT_TAKES.as_secs_f64() * 1000.0 - 0.001, "to the microsecond: {shout}");
    assert!(flaky["started"].as_f64().unwrap() > flaky["opened"].as_f64().unwrap(), "{flaky}");

    let doomed = get(addr, "/api/run?id=doomed-1").await.json();
    assert_eq!(lanes(&doomed), [("activity".to_owned(), "failed".to_owned(), 3)]);
    assert_eq!(doomed["timeline"]["lanes"][0]["detail"], "the service is down");
    assert_eq!(doomed["closed"]["event_type"], "WorkflowExecutionFailed");

    let open = get(addr, "/api/run?id=waiter-1").await.json();
    assert_eq!((open["run"]["status"].as_str(), open["closed"].is_null()), (Some("running"), true));

    // The run asked for by id, and the history in the portable format, as a file.
    let run_id = run["run"]["run_id"].as_str().unwrap();
    assert_eq!(get(addr, &format!("/api/run?id=greet-ada&run={run_id}")).await.json()["run"]["run_id"], run_id);
    let file = get(addr, &format!("/api/history?id=greet-ada&run={run_id}&download=1")).await;
    assert_eq!(file.header("content-disposition"), Some("attachment; filename=\"greet-ada.json\""));
    let events: Vec<HistoryEvent> = serde_json::from_str(&file.body).expect("the portable history format");
    assert_eq!(events.len() as u64, run["run"]["history_length"].as_u64().unwrap());
    let later: Vec<HistoryEvent> =
        serde_json::from_str(&get(addr, "/api/history?id=greet-ada&after=3").await.body).unwrap();
    assert_eq!(later.first().map(|e| e.event_id()), Some(4));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payloads_travel_as_json_and_the_page_runs_only_its_own_script() -> weft::Result<()> {
    let fixture = Fixture::new().await?;
    let addr = serve(&fixture.path(), UiOptions::new()).await;
    let page = get(addr, "/run?id=greet-hostile").await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("__weft_xss"), "the page itself holds no payload: {}", page.body);
    let csp = page.header("content-security-policy").expect("a content security policy");
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    let run = get(addr, "/api/run?id=greet-hostile").await;
    assert_eq!(run.header("content-type"), Some("application/json"));
    assert_eq!(run.json()["started"]["attributes"]["input"], HOSTILE);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_runs_bad_ids_and_damaged_histories_get_clear_answers() -> weft::Result<()> {
    let fixture = Fixture::new().await?;
    let addr = serve(&fixture.path(), UiOptions::new()).await;
    let error = |answer: common::Answer| (answer.status, answer.json()["error"].as_str().unwrap().to_owned());

    let (status, message) = error(get(addr, "/api/run?id=no-such-workflow").await);
    assert_eq!((status, message.as_str()), (404, "workflow `no-such-workflow` not found"));
    let (status, message) = error(get(addr, "/api/run?id=greet-ada&run=no-such-run").await);
    assert_eq!((status, message.as_str()), (404, "workflow `greet-ada` has no run no-such-run"));
    let (status, message) = error(get(addr, "/api/run?id=").await);
    assert_eq!(status, 400);
    assert!(message.contains("invalid workflow id") && message.contains("empty"), "{message}");
    let (status, message) = error(get(addr, &format!("/api/run?id={}", "x".repeat(1001))).await);
    assert!(status == 400 && message.contains("over 1000 bytes"), "{message}");
    let (status, message) = error(get(addr, "/api/run").await);
    assert!(status == 400 && message.contains("?id="), "{message}");
    // A query string or an action body that does not parse is a JSON error too.
    let (status, message) = error(get(addr, "/api/workflows?limit=abc").await);
    assert!(status == 400 && message.contains("limit"), "{message}");
    let (status, message) = error(get(addr, "/api/history?id=greet-ada&after=-1").await);
    assert!(status == 400 && message.contains("after"), "{message}");
    // A stray `%` is taken literally (as browsers send it), so the id is just unknown.
    let (status, message) = error(get(addr, "/api/run?id=100%ZZ").await);
    assert_eq!((status, message.as_str()), (404, "workflow `100%ZZ` not found"));
    assert_eq!(get(addr, "/no/such/page").await.status, 404);
    assert_eq!(get(addr, "/assets/nothing.js").await.status, 404);

    // Damage one event: the run still shows its status, the history says what is wrong.
    let conn = rusqlite::Connection::open(fixture.path()).expect("open the store");
    conn.execute(
        "UPDATE events SET data = replace(data, 'bob', 'bub') WHERE event_id = 1 AND data LIKE '%\"bob\"%'",
        [],
    )
    .expect("damage an event");
    let run = get(addr, "/api/run?id=greet-bob").await;
    assert_eq!(run.status, 200);
    let run = run.json();
    assert_eq!(run["run"]["status"], "completed");
    assert!(run["history_error"].as_str().unwrap().contains("corrupt history"), "{run}");
    let (status, message) = error(get(addr, "/api/history?id=greet-bob").await);
    assert!(status == 500 && message.contains("corrupt history of workflow `greet-bob`"), "{message}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_need_the_page_secret_and_its_origin_and_cancel_closes_the_run() -> weft::Result<()> {
    let fixture = Fixture::new().await?;
    let addr = serve(&fixture.path(), UiOptions::new()).await;
    let secret = csrf(addr).await;
    let body = r#"{"id":"waiter-1","reason":"from the test"}"#;
    let json = "Content-Type: application/json";
    let forged = request(addr, "POST", "/api/cancel", &[json], body).await;
    assert_eq!(forged.status, 403, "no secret");
    let wrong = format!("X-Weft-Csrf: {}", "0".repeat(32));
    assert_eq!(request(addr, "POST", "/api/cancel", &[json, &wrong], body).await.status, 403);
    let header = format!("X-Weft-Csrf: {secret}");
    let other_origin =
        request(addr, "POST", "/api/cancel", &[json, &header, "Origin: http://evil.example"], body).await;
    assert_eq!(other_origin.status, 403, "another origin");
    assert_eq!(get(addr, "/api/cancel").await.status, 405, "an action is never a GET");
    let status = fixture.engine.client().describe("waiter-1").await?.status;
    assert_eq!(status, RunStatus::Running, "nothing was cancelled");

    let origin = format!("Origin: http://{addr}");
    let no_id = r#"{"reason":"no id"}"#;
    let without_type: &[&str] = &[&header, &origin];
    for (headers, bad) in [(&[json, &header, &origin][..], no_id), (without_type, body)] {
        let refused = request(addr, "POST", "/api/cancel", headers, bad).await;
        assert!(matches!(refused.status, 400 | 415 | 422), "{}: {}", refused.status, refused.body);
        assert!(refused.json()["error"].as_str().is_some_and(|e| !e.is_empty()), "{}", refused.body);
    }
    let done = request(addr, "POST", "/api/cancel", &[json, &header, &origin], body).await;
    assert_eq!(done.status, 200, "{}", done.body);
    let mut status = RunStatus::Running;
    for _ in 0..500 {
        status = fixture.engine.client().describe("waiter-1").await?.status;
        if status != RunStatus::Running {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(status, RunStatus::Canceled);
    let again = request(addr, "POST", "/api/terminate", &[json, &header], body).await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(again.json()["error"].as_str().unwrap().contains("is not running"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_refuses_actions() -> weft::Result<()> {
    let fixture = Fixture::new().await?;
    let addr = serve(&fixture.path(), UiOptions::new().read_only(true)).await;
    let header = format!("X-Weft-Csrf: {}", csrf(addr).await);
    let answer =
        request(addr, "POST", "/api/terminate", &["Content-Type: application/json", &header], r#"{"id":"waiter-1"}"#)
            .await;
    assert_eq!(answer.status, 403);
    assert!(answer.body.contains("read-only"));
    assert!(get(addr, "/").await.body.contains("name=\"weft-read-only\" content=\"true\""));
    assert_eq!(fixture.engine.client().describe("waiter-1").await?.status, RunStatus::Running);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_loopback_names_are_answered_without_a_token() -> weft::Result<()> {
    let fixture = Fixture::new().await?;
    let addr = serve(&fixture.path(), UiOptions::new()).await;
    let rebound = request(addr, "GET", "/api/workflows", &[], "").await;
    assert_eq!(rebound.status, 200);
    // A request whose Host is another name (DNS rebinding) gets nothing.
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(b"GET /api/workflows HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.unwrap();
    assert!(raw.starts_with("HTTP/1.1 421"), "{raw}");
    assert!(!raw.contains("greet-ada"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_address_needs_a_token_that_every_request_carries() -> weft::Result<()> {
    let fixture = Fixture::new().await?;
    let inspector = || weft::inspect::Inspector::open(fixture.path()).unwrap();
    let any: std::net::SocketAddr = "0.0.0.0:0".parse().unwrap();
    assert!(matches!(Ui::bind(inspector(), any, UiOptions::new()).await, Err(UiError::TokenRequired { .. })));
    let short = UiOptions::new().token("abc");
    assert!(matches!(Ui::bind(inspector(), any, short).await, Err(UiError::BadToken)));

    let token = "s3cret-token-0123456789";
    let addr = serve(&fixture.path(), UiOptions::new().token(token)).await;
    assert_eq!(get(addr, "/api/workflows").await.status, 401);
    assert_eq!(get(addr, "/").await.status, 401);
    let bearer = format!("Authorization: Bearer {token}");
    assert_eq!(request(addr, "GET", "/api/workflows", &[&bearer], "").await.status, 200);
    let wrong = request(addr, "GET", "/api/workflows", &["Authorization: Bearer s3cret-token-0123456780"], "").await;
    assert_eq!(wrong.status, 401);
    // Opened once with ?token=, the page keeps it in a cookie and drops it from the address.
    let opened = get(addr, &format!("/run?id=greet-ada&token={token}")).await;
    assert_eq!(opened.status, 303);
    assert_eq!(opened.header("location"), Some("/run?id=greet-ada"));
    let cookie = opened.header("set-cookie").expect("a cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let cookie = format!("Cookie: {}", cookie.split(';').next().unwrap());
    assert_eq!(request(addr, "GET", "/api/run?id=greet-ada", &[&cookie], "").await.status, 200);
    Ok(())
}

/// Reads the stream of `target` until `needle` has arrived.
async fn read_until(stream: &mut tokio::net::TcpStream, seen: &mut String, needle: &str) {
    let mut buf = [0u8; 8192];
    tokio::time::timeout(Duration::from_secs(20), async {
        while !seen.contains(needle) {
            let n = stream.read(&mut buf).await.expect("reads");
            assert!(n > 0, "the stream ended before {needle:?}: {seen}");
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {needle:?} in {seen}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_stream_sends_new_events_and_ends_with_the_run() -> weft::Result<()> {
    let fixture = Fixture::new().await?;
    let addr = serve(&fixture.path(), UiOptions::new().poll_interval(Duration::from_millis(20))).await;
    let client = fixture.engine.client();
    let handle = client.workflow_handle(common::waiter, "waiter-1").await?;
    let known = client.describe("waiter-1").await?.history_length;
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!("GET /api/live?id=waiter-1&after={known} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut seen = String::new();
    read_until(&mut stream, &mut seen, "\r\n\r\n").await;
    assert!(seen.starts_with("HTTP/1.1 200") && seen.contains("text/event-stream"), "{seen}");
    assert!(!seen.contains("event: events"), "nothing new yet: {seen}");
    client.signal(&handle, GO, "one".into()).await?;
    read_until(&mut stream, &mut seen, "WorkflowExecutionSignaled").await;
    client.signal(&handle, GO, "two".into()).await?;
    read_until(&mut stream, &mut seen, "event: closed").await;
    assert!(seen.contains("WorkflowExecutionCompleted"), "{seen}");
    Ok(())
}
