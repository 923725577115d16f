//! A store error keeps its cause, and the engine's log lines show it.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use weft::Engine;

/// What the log subscriber wrote.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn an_engine_log_line_shows_the_store_error_s_cause() -> weft::Result<()> {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt().with_writer(captured.clone()).with_ansi(false).finish();
    // The test's runtime has one thread: the engine's tasks log through this subscriber.
    let _guard = tracing::subscriber::set_default(subscriber);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    let engine = Engine::builder().sqlite(&db).poll_interval(Duration::from_millis(10)).build().await?;
    // Every claim round looks for expired activity attempts.
    rusqlite::Connection::open(&db)?.execute_batch("DROP TABLE activity_tasks")?;
    for _ in 0..500 {
        if captured.text().contains("could not claim work") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let log = captured.text();
    let line = log.lines().find(|l| l.contains("could not claim work")).expect("the claim loop logged its failure");
    assert!(line.contains("store operation failed: no such table: activity_tasks"), "{line}");
    engine.shutdown().await;
    Ok(())
}
