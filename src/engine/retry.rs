//! Sending one request with transport retries: what is safe to send again, the
//! back-off between attempts, and a 429 or 503's `Retry-After`.

use std::time::{Duration, Instant};

use super::step::{StepCtx, pause, scenario_timeout};
use crate::events::{Phase, StepReport};
use crate::http::{PreparedRequest, Response, TransportError};
use crate::scenario::Step;
/// The longest wait a `Retry-After` may impose.
pub(super) const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

pub(super) fn is_idempotent(m: &reqwest::Method) -> bool {
    matches!(m.as_str(), "GET" | "HEAD" | "OPTIONS" | "PUT" | "DELETE")
}

/// The statuses the step expects, a `status:` template rendered in the scope the
/// assertions will see: a 503 the step expects is its answer, not a failure to
/// retry. A template that does not render expects nothing here (the assertion
/// reports it once the response is in).
fn expected_statuses(cx: &StepCtx<'_>, st: &Step) -> Vec<crate::scenario::expect::StatusPattern> {
    let Some(status) = st.expect.status.as_ref() else {
        return Vec::new();
    };
    let Some(t) = &status.template else {
        return status.accepted.clone();
    };
    let value = crate::scenario::values::TValue::Str(t.clone());
    cx.templates
        .render_json(&value, &cx.scope.to_value())
        .ok()
        .and_then(|j| crate::scenario::expect::status_patterns(&j))
        .unwrap_or_default()
}

/// Send, retrying what is safe to retry; failed attempts are recorded on `r`.
#[allow(clippy::too_many_arguments)]
pub(super) async fn send_with_retries(
    cx: &mut StepCtx<'_>,
    st: &Step,
    phase: Phase,
    req: &PreparedRequest,
    limit: Duration,
    retries: u32,
    safe_to_repeat: bool,
    r: &mut StepReport,
) -> Result<Response, String> {
    let expected_status = expected_statuses(cx, st);
    let mut attempt: u32 = 0;
    loop {
        attempt += 1;
        r.attempts += 1;
        // The scenario's deadline may leave less time than the step's own limit.
        let (limit, clipped) = match cx.deadline {
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    cx.timed_out = true;
                    return Err(scenario_timeout(cx, st));
                }
                (left.min(limit), left < limit)
            }
            None => (limit, false),
        };
        let result = cx.run.client.send(req, limit).await;
        let last_try = attempt > retries;
        let (retry, wait) = match &result {
            // A request that cannot be built is built the same way again.
            Err(TransportError::Timeout { .. } | TransportError::Invalid(_)) => {
                (false, Duration::ZERO)
            }
            Err(e) => (e.never_sent() || safe_to_repeat, backoff(attempt)),
            Ok(resp) => {
                let expected = expected_status.iter().any(|p| p.matches(resp.status));
                let transient = matches!(resp.status, 429 | 500 | 502 | 503 | 504);
                // Retry-After is how a 429 or a 503 says when to come back.
                let wait = if matches!(resp.status, 429 | 503) {
                    retry_after(resp).unwrap_or_else(|| backoff(attempt))
                } else {
                    backoff(attempt)
                };
                // A 429 says the request was not processed: safe to send again
                // whatever the method. Anything else only when repeating is safe.
                (
                    transient && !expected && (safe_to_repeat || resp.status == 429),
                    wait,
                )
            }
        };
        if retry && !last_try && wait > MAX_RETRY_AFTER {
            r.message = Some(format!(
                "not retried: the server asked to wait {} (Retry-After), longer than the {} the runner waits at most",
                crate::http::fmt_duration(wait),
                crate::http::fmt_duration(MAX_RETRY_AFTER)
            ));
        }
        if !retry || last_try || wait > MAX_RETRY_AFTER {
            if clipped && matches!(result, Err(TransportError::Timeout { .. })) {
                cx.timed_out = true;
                return Err(scenario_timeout(cx, st));
            }
            return result.map_err(|e| match e {
                TransportError::Timeout { limit, progress } => format!(
                    "step \"{}\" timed out: no complete response within {} ({progress})",
                    st.name,
                    crate::http::fmt_duration(limit)
                ),
                other => format!("{} {}: {other}", req.method, req.url),
            });
        }
        r.failed_attempts.push(match &result {
            Ok(resp) => format!(
                "attempt {attempt}: HTTP {} from {} {}; retried after {}",
                resp.status,
                req.method,
                req.url,
                crate::http::fmt_duration(wait)
            ),
            Err(e) => format!(
                "attempt {attempt}: {e}; retried after {}",
                crate::http::fmt_duration(wait)
            ),
        });
        if !pause(cx, phase, wait).await {
            return Err("interrupted: the run was stopped while this step ran".into());
        }
    }
}

fn backoff(attempt: u32) -> Duration {
    let base = 200u64.saturating_mul(1u64 << attempt.min(5));
    let jitter = rand::random::<u64>() % 100;
    Duration::from_millis(base.min(5_000) + jitter)
}

fn retry_after(resp: &Response) -> Option<Duration> {
    let v = resp.header("retry-after")?;
    if let Ok(secs) = v.trim().parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0)
            .then(|| Duration::from_secs_f64(secs.min(3600.0)));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v.trim()).ok()?;
    let secs = (when.timestamp() - chrono::Utc::now().timestamp()).max(0);
    Some(Duration::from_secs(u64::try_from(secs).unwrap_or(0)))
}
