//! Fault injection for the runner's reliability tests (all off by default).
//!
//! Applied to `/v1` only, before authentication, so `/_mock` stays usable to inspect a
//! run. Order: latency, then dropped connection, then 500, then throttle.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::error::ApiError;
use super::state::AppState;

/// Middleware: injects the configured faults.
pub async fn inject_faults(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let config = state.config();
    if !config.latency.is_zero() {
        tokio::time::sleep(config.latency).await;
    }
    if config.drop_rate > 0.0 && state.request_ids().unit() < config.drop_rate {
        return dropped_connection();
    }
    if config.fail_rate > 0.0 && state.request_ids().unit() < config.fail_rate {
        return ApiError::internal("Injected failure (--fail-rate).").into_response();
    }
    if state.take_throttle() {
        let mut error = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMITED",
            "Injected throttling (--throttle).",
        )
        .with_details(json!({ "injected": true, "retryAfterSeconds": 1 }));
        error.retry_after = Some(1);
        return error.into_response();
    }
    next.run(req).await
}

/// A response whose body fails on first poll: hyper then aborts the connection, so the
/// client sees it cut off instead of a complete response.
fn dropped_connection() -> Response {
    let stream = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "injected dropped connection (--drop-rate)",
        ))
    });
    Response::new(Body::from_stream(stream))
}
