//! The page and its assets, embedded in the binary.

use std::sync::Arc;

use axum::extract::{Path, State as Shared};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::State;

const PAGE: &str = include_str!("../assets/index.html");
const SCRIPT: &str = include_str!("../assets/app.js");
const STYLE: &str = include_str!("../assets/app.css");

/// The page (the list and a run's page are one page: its script reads the
/// address), with this server's action secret.
pub(crate) async fn page(Shared(state): Shared<Arc<State>>) -> Html<String> {
    Html(PAGE.replace("{{CSRF}}", &state.csrf).replace("{{READ_ONLY}}", &state.options.read_only.to_string()))
}

pub(crate) async fn asset(Path(name): Path<String>) -> Response {
    let (body, kind) = match name.as_str() {
        "app.js" => (SCRIPT, "text/javascript; charset=utf-8"),
        "app.css" => (STYLE, "text/css; charset=utf-8"),
        _ => return not_found().await,
    };
    ([(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, "no-cache")], body).into_response()
}

pub(crate) async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Html("<!doctype html><title>Not found</title><p>No such page. <a href=\"/\">Workflows</a>"))
        .into_response()
}
