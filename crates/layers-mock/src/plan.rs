//! The plan gate: every partner request needs a plan whose features include `api_access`.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::config::Plan;
use super::error::ApiError;
use super::state::AppState;

/// Middleware: answers `402 PAYMENT_REQUIRED` when the org has no plan with `api_access`.
pub async fn plan_gate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match state.config().plan {
        Plan::Pro => next.run(req).await,
        Plan::None => ApiError::new(
            StatusCode::PAYMENT_REQUIRED,
            "PAYMENT_REQUIRED",
            "The organization has no active plan with API access.",
        )
        .with_details(json!({ "feature": "api_access" }))
        .into_response(),
    }
}
