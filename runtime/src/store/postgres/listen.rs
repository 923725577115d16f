//! The notification listener behind `Store::subscribe`.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use parking_lot::Mutex;
use tokio_postgres::{AsyncMessage, NoTls};
use tokio_util::sync::CancellationToken;

use super::StoreListener;
use super::pool::{BACKOFF_MAX, BACKOFF_MIN, Channels, PgError, connect_error};
use crate::Error;

/// A listener's loop: a dedicated connection `LISTEN`s on the store's
/// channels and tells `listener`; when it drops, it reconnects with backoff
/// (the pool's: `BACKOFF_MIN` doubling to `BACKOFF_MAX`) and then reports work on every queue, since
/// notifications may have been missed. Notifications from this store's own
/// connections (by backend pid) are dropped. Ends when the store closes.
pub(super) async fn listen(
    config: tokio_postgres::Config,
    url: Arc<str>,
    timeout: Duration,
    channels: Arc<Channels>,
    pids: Arc<Mutex<HashSet<i32>>>,
    listener: Arc<dyn StoreListener>,
    stop: CancellationToken,
) {
    let mut backoff = BACKOFF_MIN;
    loop {
        if stop.is_cancelled() {
            return;
        }
        let session = async {
            let connecting = config.connect(NoTls);
            let (client, mut connection) = match tokio::time::timeout(timeout, connecting).await {
                Ok(Ok(pair)) => pair,
                Ok(Err(e)) => return Err(connect_error(&config, &url, e)),
                Err(_) => return Err(Error::store(format!("connecting to {url} timed out"))),
            };
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            tokio::spawn(async move {
                let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
                while let Some(message) = messages.next().await {
                    match message {
                        Ok(AsyncMessage::Notification(n)) => {
                            if tx.send(n).is_err() {
                                break;
                            }
                        }
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
            });
            let sql = format!("LISTEN \"{}\"; LISTEN \"{}\"", channels.work, channels.closed);
            client.batch_execute(&sql).await.map_err(|e| Error::store(PgError { url: url.clone(), source: e }))?;
            Ok((client, rx))
        };
        let session = tokio::select! {
            _ = stop.cancelled() => return,
            session = session => session,
        };
        match session {
            Ok((_client, mut rx)) => {
                backoff = BACKOFF_MIN;
                listener.work_available(None);
                loop {
                    let n = tokio::select! {
                        _ = stop.cancelled() => return,
                        n = rx.recv() => n,
                    };
                    let Some(n) = n else { break };
                    if pids.lock().contains(&n.process_id()) {
                        continue;
                    }
                    if n.channel() == channels.work {
                        listener.work_available(Some(n.payload()));
                    } else if n.channel() == channels.closed {
                        listener.run_closed(n.payload());
                    }
                }
                tracing::warn!(url = %url, "the store's notification connection closed; reconnecting");
            }
            Err(e) => {
                tracing::warn!(url = %url, error = %crate::ErrorChain(&e), "cannot listen for the store's notifications; retrying in {backoff:?}");
            }
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}
