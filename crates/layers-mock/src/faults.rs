//! Fault injection for the runner's reliability tests (all off by default).
//!
//! Applied to `/v1` only, before authentication, so `/_mock` stays usable to inspect a
//! run. Order: latency, then dropped connection, then 500, then throttle.

use std::sync::Mutex;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::config::Throttle;
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

/// Counts requests against the current `--throttle` burst.
pub struct ThrottleWindow {
    spec: Throttle,
    /// (start of the current window, requests throttled in it)
    window: Mutex<(Instant, u64)>,
}

impl ThrottleWindow {
    /// A window opening now.
    pub fn new(spec: Throttle) -> Self {
        ThrottleWindow {
            spec,
            window: Mutex::new((Instant::now(), 0)),
        }
    }

    /// `true` if the request arriving at `now` is one of the burst's throttled requests.
    pub fn take(&self, now: Instant) -> bool {
        if self.spec.requests == 0 {
            return false;
        }
        let mut window = self.window.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(every) = self.spec.every
            && now.saturating_duration_since(window.0) >= every
        {
            *window = (now, 0);
        }
        if window.1 < self.spec.requests {
            window.1 += 1;
            true
        } else {
            false
        }
    }

    /// Re-arms the burst.
    pub fn reset(&self, now: Instant) {
        *self.window.lock().unwrap_or_else(|e| e.into_inner()) = (now, 0);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn bursts_repeat_every_period() {
        let spec = Throttle {
            requests: 2,
            every: Some(Duration::from_secs(10)),
        };
        let window = ThrottleWindow::new(spec);
        let t0 = Instant::now();
        assert!(window.take(t0));
        assert!(window.take(t0));
        assert!(!window.take(t0 + Duration::from_secs(5)));
        assert!(window.take(t0 + Duration::from_secs(11)));
        assert!(window.take(t0 + Duration::from_secs(12)));
        assert!(!window.take(t0 + Duration::from_secs(13)));
    }

    #[test]
    fn single_burst_and_off() {
        let once = ThrottleWindow::new(Throttle::once(1));
        let t0 = Instant::now();
        assert!(once.take(t0));
        assert!(!once.take(t0 + Duration::from_secs(3600)));
        once.reset(t0);
        assert!(once.take(t0));
        assert!(!ThrottleWindow::new(Throttle::default()).take(t0));
    }
}
