//! The web view of a weft store: `weft ui`.
//!
//! [`Ui::bind`] serves, over an [`Inspector`], a page that lists the
//! store's workflows (filtered, paged, counted by status) and, per run, its
//! input and outcome, pending work, event history and a timeline, updated
//! live while the run is open, with cancel and terminate actions. The page
//! is plain JavaScript and SVG, embedded in the binary.
//!
//! It binds 127.0.0.1 by default. Another address needs a token
//! ([`UiOptions::token`]) that every request carries. Actions are `POST`s
//! that carry a per-server secret a page of another origin cannot read.
//!
//! ```no_run
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let inspector = weft::inspect::Inspector::open("app.weft.db")?;
//! let ui = weft_ui::Ui::bind(inspector, "127.0.0.1:8233".parse()?, weft_ui::UiOptions::new()).await?;
//! println!("{}", ui.url());
//! ui.serve().await?;
//! # Ok(()) }
//! ```

mod api;
mod assets;
mod guard;
mod timeline;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use weft::inspect::Inspector;

/// How the web view serves.
#[derive(Debug, Clone)]
#[must_use]
pub struct UiOptions {
    read_only: bool,
    token: Option<String>,
    poll_interval: Duration,
}

impl Default for UiOptions {
    fn default() -> Self {
        UiOptions { read_only: false, token: None, poll_interval: Duration::from_millis(250) }
    }
}

impl UiOptions {
    /// Actions on, no token, live pages read the store every 250 ms.
    pub fn new() -> Self {
        UiOptions::default()
    }

    /// No cancel or terminate: the buttons are gone and the requests refused.
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// A token every request must carry: `Authorization: Bearer TOKEN`, or
    /// once as `?token=TOKEN` (the page then keeps it in a cookie).
    /// Required to bind an address other than loopback.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// How often a live page's stream reads the store for new events.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }
}

/// Why the web view could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UiError {
    /// Binding a non-loopback address without a token would show the store to the network.
    #[error("binding {addr} would serve the store beyond this machine: give a token (`--token`)")]
    TokenRequired {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// The token is empty or not printable ASCII.
    #[error("the token must be 16 to 256 characters of A-Z, a-z, 0-9, `-`, `.`, `_` and `~`")]
    BadToken,
    /// The address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("the web view stopped")]
    Serve(#[source] std::io::Error),
}

/// What every request handler shares.
pub(crate) struct State {
    pub(crate) inspector: Inspector,
    pub(crate) options: UiOptions,
    /// The secret the page sends back with each action (`X-Weft-Csrf`).
    pub(crate) csrf: String,
    /// The `Host` headers this server answers (loopback names, without a token).
    pub(crate) hosts: Vec<String>,
    /// Set when the server stops: live streams end.
    pub(crate) stopping: tokio::sync::watch::Sender<bool>,
}

/// A bound web view, ready to serve.
pub struct Ui {
    listener: tokio::net::TcpListener,
    router: axum::Router,
    addr: SocketAddr,
    state: Arc<State>,
}

impl std::fmt::Debug for Ui {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ui").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl Ui {
    /// Binds `addr` (port 0: any free port). Fails with
    /// [`UiError::TokenRequired`] for a non-loopback address without a token.
    pub async fn bind(inspector: Inspector, addr: SocketAddr, options: UiOptions) -> Result<Ui, UiError> {
        if let Some(token) = &options.token
            && (!(16..=256).contains(&token.len())
                || !token.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b)))
        {
            return Err(UiError::BadToken);
        }
        if !addr.ip().is_loopback() && options.token.is_none() {
            return Err(UiError::TokenRequired { addr });
        }
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|source| UiError::Bind { addr, source })?;
        let addr = listener.local_addr().map_err(|source| UiError::Bind { addr, source })?;
        let port = addr.port();
        let hosts = ["127.0.0.1", "localhost", "[::1]"].iter().map(|h| format!("{h}:{port}")).collect();
        let csrf = uuid::Uuid::new_v4().simple().to_string();
        let state =
            Arc::new(State { inspector, options, csrf, hosts, stopping: tokio::sync::watch::Sender::new(false) });
        Ok(Ui { listener, router: api::router(state.clone()), addr, state })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The page's address, `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Serves until the process ends.
    pub async fn serve(self) -> Result<(), UiError> {
        self.serve_until(std::future::pending()).await
    }

    /// Serves until `shutdown` completes, then stops accepting requests
    /// (live streams end with it).
    pub async fn serve_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), UiError> {
        let state = self.state.clone();
        let shutdown = async move {
            shutdown.await;
            state.stopping.send_replace(true);
        };
        axum::serve(self.listener, self.router).with_graceful_shutdown(shutdown).await.map_err(UiError::Serve)
    }
}
