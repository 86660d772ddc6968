//! Polling (`retry:` with `until:`): the step's request sent again, after a pause
//! that grows by `backoff`, until its `until` holds or its attempts are spent.

use std::time::Duration;

use super::assert;
use super::redirect::{Sending, send_following};
use super::step::{StepCtx, interrupted, observe, pause, record_request, record_response};
use crate::events::{Outcome, Phase, StepReport};
use crate::http::{PreparedRequest, Response};
use crate::scenario::Step;

/// The longest pause between two polls, however far `backoff` grows it.
const MAX_INTERVAL: Duration = Duration::from_secs(60);

/// How a step polls; a step that does not poll sends once.
pub(super) struct Polling {
    /// Sends at most (`retry.attempts`, 10 by default).
    pub(super) attempts: u32,
    /// The first pause (`retry.interval`, 1s by default).
    interval: Duration,
    /// What each pause is multiplied by for the next (`retry.backoff`, 1 by default).
    backoff: f64,
}

impl Polling {
    pub(super) fn of(st: &Step) -> Self {
        let poll = st.retry.as_ref();
        Polling {
            attempts: poll.map_or(1, |p| p.attempts.unwrap_or(10).max(1)),
            interval: poll
                .and_then(|p| p.interval.map(|d| d.0))
                .unwrap_or(Duration::from_secs(1)),
            // The checks refuse any other backoff; 1 keeps a step built without
            // them (a test's) from shrinking its pauses.
            backoff: poll
                .and_then(|p| p.backoff)
                .filter(|b| b.is_finite() && *b >= 1.0)
                .unwrap_or(1.0),
        }
    }

    /// The pause after `pause`. A backoff too large for a `Duration` (`1e300`) is
    /// capped like any other rather than overflowing.
    fn next(&self, pause: Duration) -> Duration {
        Duration::try_from_secs_f64(pause.as_secs_f64() * self.backoff)
            .unwrap_or(MAX_INTERVAL)
            .min(MAX_INTERVAL)
    }
}

/// Send the step's request (following redirects as the step says) until its
/// `retry.until` holds or its attempts are spent; returns the last request and its
/// response. `None` when the step ended on the way (an error, or an interrupt during
/// a pause): `r` says why.
pub(super) async fn send_until(
    cx: &mut StepCtx<'_>,
    st: &Step,
    phase: Phase,
    prepared: &PreparedRequest,
    sending: &Sending<'_>,
    polling: &Polling,
    r: &mut StepReport,
) -> Option<(PreparedRequest, Response)> {
    let templates = cx.templates;
    let mut interval = polling.interval;
    let mut last = None;
    for poll_no in 1..=polling.attempts {
        let (sent, resp) = match send_following(cx, st, phase, prepared.clone(), sending, r).await {
            Ok(done) => done,
            Err(e) => {
                r.outcome = Outcome::Error;
                r.message = Some(e);
                return None;
            }
        };
        if let Some(p) = st.retry.as_ref()
            && poll_no < polling.attempts
        {
            let obs = observe(&resp, sent.url.as_str(), r);
            let until = assert::evaluate(&p.until, &obs, templates, &cx.scope.to_value(), false);
            if !until.failures.is_empty() {
                if !pause(cx, phase, interval).await {
                    r.request = Some(record_request(cx, &sent));
                    r.response = Some(record_response(cx, &resp, &obs.text));
                    interrupted(r);
                    return None;
                }
                last = Some((sent, resp));
                interval = polling.next(interval);
                continue;
            }
        }
        last = Some((sent, resp));
        break;
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_pause_grows_by_the_backoff_up_to_a_minute() {
        let ms = Duration::from_millis;
        // (backoff, pause, the next pause)
        let table = [
            (1.0, ms(500), ms(500)),
            (2.0, ms(500), ms(1000)),
            (1.5, ms(40_000), MAX_INTERVAL),
            (2.0, MAX_INTERVAL, MAX_INTERVAL),
            // Too large for a Duration: capped, not a panic.
            (1e300, ms(10), MAX_INTERVAL),
            (f64::MAX, Duration::from_secs(u64::MAX), MAX_INTERVAL),
        ];
        for (backoff, pause, want) in table {
            let polling = Polling {
                attempts: 2,
                interval: pause,
                backoff,
            };
            assert_eq!(
                polling.next(pause),
                want,
                "backoff {backoff}, pause {pause:?}"
            );
        }
    }
}
