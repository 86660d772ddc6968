//! `X-Request-Id: req_<ULID>` on every response.

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

use super::error::REQUEST_ID;
use super::ids::prefixed;
use super::state::AppState;

/// Middleware (outermost): mints the request id, makes it visible to error envelopes
/// built further in, and stamps the response header.
pub async fn request_id(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let id = prefixed("req", state.request_ids().ulid());
    let mut response = REQUEST_ID.scope(id.clone(), next.run(req)).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}
