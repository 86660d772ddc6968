//! The error envelope `{"error":{"code","message","requestId","details"}}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

tokio::task_local! {
    /// The id of the request being served, set by the request-id middleware so that an
    /// error built anywhere below it can quote the same id as the `X-Request-Id` header.
    pub static REQUEST_ID: String;
}

/// The current request id, or an empty string outside a request.
pub fn current_request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

/// An API error; renders as the documented envelope with the current request id.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable UPPER_SNAKE code clients branch on.
    pub code: &'static str,
    /// Human sentence.
    pub message: String,
    /// Structured context (`{}` when none).
    pub details: Value,
    /// `Retry-After` seconds, for 429s.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with empty details.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: json!({}),
            retry_after: None,
        }
    }

    /// Replaces the details object.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    /// 404 NOT_FOUND for a resource kind and id.
    pub fn not_found(what: &str, id: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("{what} {id} not found."),
        )
    }

    /// 422 VALIDATION with a single issue.
    pub fn validation(path: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION",
            format!("{path}: {message}"),
        )
        .with_details(json!({ "issues": [{ "path": path, "message": message }] }))
    }

    /// 401 UNAUTHENTICATED; `reason` says which of missing / malformed / unknown.
    pub fn unauthenticated(reason: &str) -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "Missing, malformed, or wrong API key.",
        )
        .with_details(json!({ "reason": reason }))
    }

    /// 429 RATE_LIMITED with `Retry-After`.
    pub fn rate_limited(class: &str, limit: u64, retry_after: u64) -> Self {
        let mut error = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMITED",
            format!("Rate limit exceeded for the {class} endpoint class."),
        )
        .with_details(json!({
            "endpointClass": class,
            "limit": limit,
            "retryAfterSeconds": retry_after,
        }));
        error.retry_after = Some(retry_after);
        error
    }

    /// 503 KILL_SWITCH: the key was killed or retired.
    pub fn kill_switch() -> Self {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "KILL_SWITCH",
            "This API key has been disabled.",
        )
        .with_details(json!({ "scope": "key" }))
    }

    /// 409 CONFLICT with details.
    pub fn conflict(message: impl Into<String>, details: Value) -> Self {
        ApiError::new(StatusCode::CONFLICT, "CONFLICT", message).with_details(details)
    }

    /// 500 INTERNAL.
    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": {
                "code": self.code,
                "message": self.message,
                "requestId": current_request_id(),
                "details": self.details,
            }
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
        }
        response
    }
}

/// Handler result type.
pub type ApiResult<T> = Result<T, ApiError>;
