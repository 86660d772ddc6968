//! `GET /v1/jobs/:id` (with ETag) and `POST /v1/jobs/:id/cancel`.

use std::time::Instant;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::extract::PathParams;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// `GET /v1/jobs/:id`: 304 when `If-None-Match` names the current ETag.
pub async fn get(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let now = Instant::now();
    let (etag, body) = {
        let mut store = state.store();
        let job = store
            .job(&id, now)
            .ok_or_else(|| ApiError::not_found("Job", &id))?;
        (job.etag(now), job.view(now))
    };
    let etag_value = HeaderValue::from_str(&etag).map_err(|_| ApiError::internal("bad ETag"))?;
    let matches = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == etag || tag == "*");
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        Json(body).into_response()
    };
    response.headers_mut().insert(header::ETAG, etag_value);
    Ok(response)
}

/// `POST /v1/jobs/:id/cancel`: 202 while running; 409 `already_terminal` afterwards.
pub async fn cancel(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
) -> ApiResult<Response> {
    let outcome = state.store().cancel_job(&id, Instant::now());
    match outcome {
        None => Err(ApiError::not_found("Job", &id)),
        Some(Ok(())) => {
            crate::webhooks::job_ended(&state, &id);
            Ok((
                StatusCode::ACCEPTED,
                Json(json!({ "jobId": id, "accepted": true })),
            )
                .into_response())
        }
        Some(Err(status)) => Err(ApiError::conflict(
            format!("Job {id} is already {}.", status.as_str()),
            json!({ "reason": "already_terminal", "jobId": id, "status": status.as_str() }),
        )),
    }
}
