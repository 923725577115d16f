//! What every request passes before its handler: the `Host` (against DNS
//! rebinding), the token, and for actions the page's secret and origin;
//! and the headers every answer carries.

use std::sync::Arc;

use axum::extract::{Request, State as Shared};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use crate::State;

/// The cookie that keeps a token given once as `?token=`.
const TOKEN_COOKIE: &str = "weft_token";
/// The header that carries the page's secret with each action.
pub(crate) const CSRF_HEADER: &str = "x-weft-csrf";

/// The content security policy: this server's scripts and styles only, no
/// inline script, no framing: a payload shown on a page can do nothing.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

pub(crate) async fn guard(Shared(state): Shared<Arc<State>>, request: Request, next: Next) -> Response {
    let mut response = match check(&state, &request) {
        Ok(()) => {
            if let Some(redirect) = token_in_query(&state, &request) {
                redirect
            } else {
                next.run(request).await
            }
        }
        Err((status, message)) => (status, message).into_response(),
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}

fn check(state: &State, request: &Request) -> Result<(), (StatusCode, &'static str)> {
    let headers = request.headers();
    match &state.options.token {
        // Without a token only loopback is bound: answer only to loopback
        // names, so a page whose name resolves here (DNS rebinding) gets nothing.
        None => {
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
            if !state.hosts.iter().any(|h| h == host) {
                return Err((StatusCode::MISDIRECTED_REQUEST, "this server answers only to 127.0.0.1 and localhost"));
            }
        }
        Some(token) => {
            let given = bearer(headers)
                .or_else(|| cookie(headers, TOKEN_COOKIE))
                .or_else(|| query_token(request.uri().query()));
            if !given.is_some_and(|given| same(given.as_bytes(), token.as_bytes())) {
                return Err((StatusCode::UNAUTHORIZED, "this web view needs its token: open it with ?token=TOKEN"));
            }
        }
    }
    if request.method() == Method::POST {
        let secret = headers.get(CSRF_HEADER).and_then(|h| h.to_str().ok()).unwrap_or("");
        if !same(secret.as_bytes(), state.csrf.as_bytes()) {
            return Err((StatusCode::FORBIDDEN, "an action needs the page's secret: reload the page"));
        }
        // A browser names the page that sent it; it must be this server.
        if let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
            let own = origin.strip_prefix("http://").is_some_and(|o| o == host);
            if !own {
                return Err((StatusCode::FORBIDDEN, "an action must come from this web view's own page"));
            }
        }
    }
    Ok(())
}

/// A page opened with `?token=`: the token goes into a cookie and the
/// address loses it (so it stays out of the history and referrers).
fn token_in_query(state: &State, request: &Request) -> Option<Response> {
    state.options.token.as_ref()?;
    let token = query_token(request.uri().query())?;
    if request.method() != Method::GET || request.uri().path().starts_with("/api/") {
        return None;
    }
    let rest: Vec<&str> =
        request.uri().query().unwrap_or("").split('&').filter(|p| !p.starts_with("token=") && !p.is_empty()).collect();
    let target = if rest.is_empty() {
        request.uri().path().to_owned()
    } else {
        format!("{}?{}", request.uri().path(), rest.join("&"))
    };
    let mut response = Redirect::to(&target).into_response();
    let cookie = format!("{TOKEN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/");
    response.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).ok()?);
    Some(response)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ")
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(name)?.strip_prefix('='))
}

fn query_token(query: Option<&str>) -> Option<&str> {
    query?.split('&').find_map(|pair| pair.strip_prefix("token="))
}

/// Compares in time that does not depend on where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
