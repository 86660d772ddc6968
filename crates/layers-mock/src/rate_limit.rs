//! Per-(api key, endpoint class) rate limits with one-minute fixed windows.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use super::auth::Principal;
use super::config::Tier;
use super::error::ApiError;
use super::routes::route_of;
use super::state::AppState;

const WINDOW: Duration = Duration::from_secs(60);

/// The documented endpoint classes; each has its own bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndpointClass {
    /// Every GET.
    ReadLight,
    /// PATCH, DELETE and small synchronous POSTs.
    WriteLight,
    /// POSTs that start a job.
    LongRunning,
}

impl EndpointClass {
    /// The header / details spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointClass::ReadLight => "read-light",
            EndpointClass::WriteLight => "write-light",
            EndpointClass::LongRunning => "long-running",
        }
    }

    /// Classifies a `/v1` request by method and path (path without the `/v1` prefix is
    /// fine) from the route table; a request no route serves (a 404) is read-light when
    /// it reads and write-light otherwise.
    pub fn of(method: &Method, path: &str) -> EndpointClass {
        match route_of(method, path) {
            Some(route) => route.class,
            None if method == Method::GET || method == Method::HEAD => EndpointClass::ReadLight,
            None => EndpointClass::WriteLight,
        }
    }

    /// Per-minute budget of this class on a tier (`None` = unlimited).
    pub fn limit(self, tier: Tier) -> Option<u64> {
        let (read, write, long) = match tier {
            Tier::Standard => (120, 60, 20),
            Tier::Pilot => (1_200, 600, 60),
            Tier::Partner => (6_000, 3_000, 300),
            Tier::Unlimited => return None,
        };
        Some(match self {
            EndpointClass::ReadLight => read,
            EndpointClass::WriteLight => write,
            EndpointClass::LongRunning => long,
        })
    }
}

struct Window {
    started: Instant,
    count: u64,
}

/// Fixed one-minute windows per (api key id, class).
#[derive(Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<(Uuid, EndpointClass), Window>>,
}

impl RateLimiter {
    /// Counts one request; `Err(retry_after_seconds)` when the bucket is exhausted.
    pub fn check(
        &self,
        key: Uuid,
        class: EndpointClass,
        limit: u64,
        now: Instant,
    ) -> Result<(), u64> {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let window = windows.entry((key, class)).or_insert(Window {
            started: now,
            count: 0,
        });
        let elapsed = now.saturating_duration_since(window.started);
        if elapsed >= WINDOW {
            window.started = now;
            window.count = 0;
        }
        if window.count >= limit {
            let remaining = WINDOW.saturating_sub(now.saturating_duration_since(window.started));
            return Err(remaining.as_secs_f64().ceil().max(1.0) as u64);
        }
        window.count += 1;
        Ok(())
    }

    /// Forgets every bucket.
    pub fn reset(&self) {
        self.windows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

/// Middleware: stamps `X-RateLimit-Endpoint-Class` and enforces the tier's budget.
/// It sits outermost among the `/v1` layers (below faults) for the header and checks the
/// budget only once a principal is known (auth and plan gate ran before, see `routes`).
pub async fn class_header(req: Request, next: Next) -> Response {
    let class = EndpointClass::of(req.method(), req.uri().path());
    let mut response = next.run(req).await;
    response.headers_mut().insert(
        "x-ratelimit-endpoint-class",
        HeaderValue::from_static(class.as_str()),
    );
    response
}

/// Middleware: answers `429 RATE_LIMITED` with `Retry-After` over budget.
pub async fn enforce(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let class = EndpointClass::of(req.method(), req.uri().path());
    let Some(limit) = class.limit(state.config().tier) else {
        return next.run(req).await;
    };
    let Some(principal) = req.extensions().get::<Principal>() else {
        return ApiError::internal("rate limiter ran before authentication").into_response();
    };
    match state
        .rate_limiter()
        .check(principal.api_key_id, class, limit, Instant::now())
    {
        Ok(()) => next.run(req).await,
        Err(retry_after) => {
            ApiError::rate_limited(class.as_str(), limit, retry_after).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert_eq!(
            EndpointClass::of(&Method::GET, "/v1/whoami"),
            EndpointClass::ReadLight
        );
        assert_eq!(
            EndpointClass::of(&Method::POST, "/v1/projects"),
            EndpointClass::WriteLight
        );
        assert_eq!(
            EndpointClass::of(&Method::POST, "/v1/projects/x/ingest/appstore"),
            EndpointClass::LongRunning
        );
        assert_eq!(
            EndpointClass::of(&Method::POST, "/projects/x/content"),
            EndpointClass::LongRunning
        );
        assert_eq!(
            EndpointClass::of(&Method::POST, "/v1/jobs/j/cancel"),
            EndpointClass::WriteLight
        );
        assert_eq!(
            EndpointClass::of(&Method::DELETE, "/v1/projects/x"),
            EndpointClass::WriteLight
        );
    }

    #[test]
    fn window_exhausts_and_names_retry_after() {
        let limiter = RateLimiter::default();
        let key = Uuid::nil();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check(key, EndpointClass::ReadLight, 3, t0).is_ok());
        }
        let retry = limiter
            .check(
                key,
                EndpointClass::ReadLight,
                3,
                t0 + Duration::from_secs(10),
            )
            .unwrap_err();
        assert_eq!(retry, 50);
        // Other classes and keys have their own buckets.
        assert!(limiter.check(key, EndpointClass::WriteLight, 3, t0).is_ok());
        assert!(
            limiter
                .check(Uuid::max(), EndpointClass::ReadLight, 3, t0)
                .is_ok()
        );
        // A new window opens after a minute.
        assert!(
            limiter
                .check(key, EndpointClass::ReadLight, 3, t0 + WINDOW)
                .is_ok()
        );
    }
}
