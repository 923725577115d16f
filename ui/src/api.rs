//! The routes: the page, its assets, and the JSON the page reads.
//!
//! Ids travel in query strings (`/run?id=..&run=..`), so a workflow id
//! with `/`, `?` or anything else in it needs no escaping rules of its own.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Query, Request, State as Shared};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::Stream;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use weft::history::HistoryEvent;
use weft::{Error, ErrorChain, ListFilter, RunStatus, WorkflowDescription};

use crate::State;
use crate::assets;
use crate::guard::guard;
use crate::timeline::Timeline;

/// The most runs a list page holds.
const MAX_PAGE: usize = 500;

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/", get(assets::page))
        .route("/run", get(assets::page))
        .route("/assets/{name}", get(assets::asset))
        .route("/api/workflows", get(workflows))
        .route("/api/run", get(run))
        .route("/api/history", get(history))
        .route("/api/live", get(live))
        .route("/api/cancel", post(cancel))
        .route("/api/terminate", post(terminate))
        .fallback(assets::not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// An error as the page shows it: a status and a sentence.
pub(crate) struct ApiError(StatusCode, String);

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        let status = match &error {
            Error::WorkflowNotFound { .. } | Error::RunNotFound { .. } => StatusCode::NOT_FOUND,
            Error::InvalidWorkflowId { .. } | Error::InvalidPageToken { .. } => StatusCode::BAD_REQUEST,
            Error::NotRunning { .. } => StatusCode::CONFLICT,
            Error::StoreBusy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError(status, ErrorChain(&error).to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, message.into())
}

/// The query string as `T`; a bad one (`limit=abc`) is a JSON 400 that says
/// what is wrong, as every other error is.
struct Params<T>(T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(params)) => Ok(Params(params)),
            Err(rejection) => Err(ApiError(rejection.status(), rejection.body_text())),
        }
    }
}

/// A JSON request body as `T`; a bad one is a JSON error too.
struct Body<T>(T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(body)) => Ok(Body(body)),
            Err(rejection) => Err(ApiError(rejection.status(), rejection.body_text())),
        }
    }
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
    #[serde(rename = "type")]
    workflow_type: Option<String>,
    prefix: Option<String>,
    page: Option<String>,
    limit: Option<usize>,
}

/// `GET /api/workflows`: a page of runs, the next page's token, and the counts by status.
async fn workflows(Shared(state): Shared<Arc<State>>, Params(q): Params<ListQuery>) -> Result<Json<Value>, ApiError> {
    let mut filter = ListFilter::all().limit(q.limit.unwrap_or(50).clamp(1, MAX_PAGE));
    if let Some(workflow_type) = q.workflow_type.filter(|t| !t.is_empty()) {
        filter = filter.workflow_type(workflow_type);
    }
    if let Some(prefix) = q.prefix.filter(|p| !p.is_empty()) {
        filter = filter.workflow_id_prefix(prefix);
    }
    let counts = state.inspector.count_workflows(filter.clone()).await?;
    if let Some(status) = q.status.filter(|s| !s.is_empty()) {
        let status = RunStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == status)
            .ok_or_else(|| bad_request(format!("unknown status {status:?}")))?;
        filter = filter.status(status);
    }
    if let Some(page) = q.page.filter(|p| !p.is_empty()) {
        filter = filter.page_token(page.parse()?);
    }
    let page = state.inspector.list_workflows_page(filter).await?;
    Ok(Json(json!({
        "workflows": page.workflows,
        "next_page_token": page.next_page_token.map(|t| t.to_string()),
        "counts": {
            "total": counts.total(),
            "held": counts.held,
            "by_status": counts.by_status.iter().map(|(s, n)| (s.as_str().to_owned(), json!(n))).collect::<serde_json::Map<_, _>>(),
        },
        "statuses": RunStatus::ALL.map(|s| s.as_str()),
        "read_only": state.options.read_only,
    })))
}

#[derive(Deserialize)]
struct RunQuery {
    id: Option<String>,
    run: Option<String>,
    after: Option<u64>,
    download: Option<String>,
}

impl RunQuery {
    fn id(&self) -> Result<&str, ApiError> {
        self.id.as_deref().ok_or_else(|| bad_request("no workflow id: the address needs ?id=WORKFLOW_ID"))
    }

    /// The run asked for, or the workflow's newest.
    async fn describe(&self, state: &State) -> Result<WorkflowDescription, ApiError> {
        let id = self.id()?;
        Ok(match self.run.as_deref().filter(|r| !r.is_empty()) {
            Some(run) => state.inspector.describe_run(id, run).await?,
            None => state.inspector.describe(id).await?,
        })
    }
}

/// `GET /api/run`: the run, its first and closing events, its timeline,
/// or why its history cannot be read.
async fn run(Shared(state): Shared<Arc<State>>, Params(q): Params<RunQuery>) -> Result<Json<Value>, ApiError> {
    let run = q.describe(&state).await?;
    let history = state.inspector.run_history(&run.workflow_id, &run.run_id, 0).await;
    Ok(Json(run_json(&run, history.as_deref(), state.options.read_only)))
}

fn run_json(run: &WorkflowDescription, history: Result<&[HistoryEvent], &Error>, read_only: bool) -> Value {
    match history {
        Ok(history) => json!({
            "run": run,
            "started": history.first(),
            "closed": history.last().filter(|e| e.attributes().is_close()),
            "timeline": Timeline::of(history, Some(run)),
            "read_only": read_only,
        }),
        Err(error) => json!({
            "run": run,
            "history_error": ErrorChain(error).to_string(),
            "read_only": read_only,
        }),
    }
}

/// `GET /api/history`: the events after `after` (all by default), in the
/// portable JSON format; `download=1` names it as a file.
async fn history(Shared(state): Shared<Arc<State>>, Params(q): Params<RunQuery>) -> Result<Response, ApiError> {
    let run = q.describe(&state).await?;
    let events = state.inspector.run_history(&run.workflow_id, &run.run_id, q.after.unwrap_or(0)).await?;
    if q.download.is_none() {
        return Ok(Json(events).into_response());
    }
    let body = serde_json::to_string_pretty(&events)
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let name: String = run
        .workflow_id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' })
        .take(100)
        .collect();
    let disposition = format!("attachment; filename=\"{name}.json\"");
    let mut response = ([(header::CONTENT_TYPE, "application/json")], body).into_response();
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// `GET /api/live`: server-sent events while the run is open. Each
/// `events` message holds the events after `after` the page has not seen,
/// the run and its timeline; `closed` follows the close, and the stream ends.
async fn live(
    Shared(state): Shared<Arc<State>>,
    Params(q): Params<RunQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let first = q.describe(&state).await?;
    let (workflow_id, run_id) = (first.workflow_id.clone(), first.run_id.clone());
    let after = q.after.unwrap_or(0);
    let stream = futures::stream::unfold(Some((state, after)), move |next| {
        let (workflow_id, run_id) = (workflow_id.clone(), run_id.clone());
        async move {
            let (state, mut seen) = next?;
            let mut stopping = state.stopping.subscribe();
            loop {
                if *stopping.borrow() {
                    return None;
                }
                let run = match state.inspector.describe_run(&workflow_id, &run_id).await {
                    Ok(run) => run,
                    Err(error) => {
                        let event = Event::default().event("failed").data(ErrorChain(&error).to_string());
                        return Some((Ok(event), None));
                    }
                };
                if run.history_length > seen {
                    let history = state.inspector.run_history(&workflow_id, &run_id, 0).await;
                    let read_only = state.options.read_only;
                    let events: Vec<&HistoryEvent> = history
                        .as_ref()
                        .map(|h| h.iter().filter(|e| e.event_id() > seen).collect())
                        .unwrap_or_default();
                    let mut body = run_json(&run, history.as_deref(), read_only);
                    body["events"] = json!(events);
                    seen = run.history_length;
                    let event = Event::default().event("events").data(body.to_string());
                    return Some((Ok(event), Some((state, seen))));
                }
                if run.status != RunStatus::Running {
                    return Some((Ok(Event::default().event("closed").data(run.status.as_str())), None));
                }
                tokio::select! {
                    () = tokio::time::sleep(state.options.poll_interval) => {}
                    _ = stopping.changed() => return None,
                }
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

#[derive(Deserialize)]
struct Action {
    id: String,
    reason: Option<String>,
}

/// `POST /api/cancel`: asks the open run to cancel.
async fn cancel(Shared(state): Shared<Arc<State>>, Body(action): Body<Action>) -> Result<Json<Value>, ApiError> {
    refuse_if_read_only(&state)?;
    let reason = action.reason.filter(|r| !r.is_empty()).unwrap_or_else(|| "cancelled from the web view".into());
    state.inspector.cancel_workflow(&action.id, reason).await?;
    Ok(Json(json!({ "workflow_id": action.id, "result": "cancellation requested" })))
}

/// `POST /api/terminate`: ends the open run at once.
async fn terminate(Shared(state): Shared<Arc<State>>, Body(action): Body<Action>) -> Result<Json<Value>, ApiError> {
    refuse_if_read_only(&state)?;
    let reason = action.reason.filter(|r| !r.is_empty()).unwrap_or_else(|| "terminated from the web view".into());
    state.inspector.terminate_workflow(&action.id, reason).await?;
    Ok(Json(json!({ "workflow_id": action.id, "result": "termination requested" })))
}

fn refuse_if_read_only(state: &State) -> Result<(), ApiError> {
    if state.options.read_only {
        return Err(ApiError(StatusCode::FORBIDDEN, "this web view is read-only (`--read-only`)".into()));
    }
    Ok(())
}
