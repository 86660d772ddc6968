//! `--max-rps`: at most so many requests per second to each host.
//!
//! Hand-written rather than taken from `governor`: the runner needs one rule (even
//! spacing per origin, no burst) that fits in a few lines over tokio's clock, and
//! the crate would bring its own clock and a concurrent map for it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Spaces the requests to each origin (`scheme://host:port`) at least `1/rps` apart.
#[derive(Debug)]
pub struct Pacer {
    gap: Duration,
    /// The earliest moment the next request to each origin may leave.
    next: Mutex<HashMap<String, Instant>>,
}

impl Pacer {
    /// `None` for a rate that cannot pace anything (zero, negative, not a number).
    pub fn new(rps: f64) -> Option<Pacer> {
        if !rps.is_finite() || rps <= 0.0 {
            return None;
        }
        Some(Pacer {
            gap: Duration::from_secs_f64(1.0 / rps),
            next: Mutex::new(HashMap::new()),
        })
    }

    /// The moment a request to `origin` asked for now may leave; that slot is taken.
    pub fn reserve(&self, origin: &str, now: Instant) -> Instant {
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let slot = match next.get(origin) {
            Some(t) if *t > now => *t,
            _ => now,
        };
        next.insert(origin.to_string(), slot + self.gap);
        slot
    }

    /// Wait for this request's turn to go to `url`'s origin.
    pub async fn wait(&self, url: &url::Url) {
        let origin = url.origin().ascii_serialization();
        let slot = self.reserve(&origin, Instant::now());
        tokio::time::sleep_until(slot).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_to_one_host_are_spaced_and_hosts_are_apart() {
        let p = Pacer::new(4.0).unwrap();
        let t0 = Instant::now();
        let gap = Duration::from_millis(250);
        let a = "http://127.0.0.1:1";
        let b = "http://127.0.0.1:2";
        let slots: Vec<Instant> = (0..4).map(|_| p.reserve(a, t0)).collect();
        assert_eq!(slots, vec![t0, t0 + gap, t0 + gap * 2, t0 + gap * 3]);
        // Another origin has its own budget.
        assert_eq!(p.reserve(b, t0), t0);
        // After a quiet spell no burst is saved up: the next slot is "now".
        let later = t0 + Duration::from_secs(10);
        assert_eq!(p.reserve(a, later), later);
        assert_eq!(p.reserve(a, later), later + gap);
    }

    #[test]
    fn rates_that_pace_nothing_are_refused() {
        for rps in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(Pacer::new(rps).is_none(), "{rps}");
        }
    }
}
