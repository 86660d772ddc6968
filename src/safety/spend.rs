//! What a run against the embedded mock would have cost on the real API, read from
//! the mock's ledger (`GET /_mock/ledger`), and the `--max-credits` verdict.

use std::time::Duration;

use serde::Serialize;

/// The side effects the mock recorded instead of performing them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Spend {
    pub credits: u64,
    pub scraper_calls: u64,
    pub agent_runs: u64,
    pub pull_requests: u64,
    pub posts: u64,
    /// In cents.
    pub ad_spend: u64,
    pub jobs_started: u64,
    pub jobs_canceled: u64,
    /// Jobs still running when the run ended: a `finally` did not cancel them.
    pub jobs_left_running: u64,
}

impl Spend {
    /// From the body of `GET /_mock/ledger`.
    pub fn from_ledger(v: &serde_json::Value) -> Spend {
        let n = |p: &str| {
            v.pointer(p)
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0)
        };
        Spend {
            credits: n("/creditsSpent"),
            scraper_calls: n("/scraperCalls"),
            agent_runs: n("/agentRuns"),
            pull_requests: n("/pullRequests"),
            posts: n("/posts"),
            ad_spend: n("/adSpend"),
            jobs_started: n("/jobs/started"),
            jobs_canceled: n("/jobs/canceled"),
            jobs_left_running: n("/jobs/running"),
        }
    }

    /// Whether the run spent nothing and set nothing in motion outside.
    pub fn is_free(&self) -> bool {
        self.credits == 0
            && self.scraper_calls == 0
            && self.agent_runs == 0
            && self.pull_requests == 0
            && self.posts == 0
            && self.ad_spend == 0
            && self.jobs_left_running == 0
    }

    /// The console line.
    pub fn line(&self) -> String {
        let mut line = format!(
            "spend (embedded mock's ledger; what the real API would have cost): {}, {}, {}, {}, {}, {}",
            crate::text::count(self.credits, "credit", "credits"),
            crate::text::count(self.scraper_calls, "scraper call", "scraper calls"),
            crate::text::count(self.agent_runs, "agent run", "agent runs"),
            crate::text::count(self.pull_requests, "pull request", "pull requests"),
            crate::text::count(self.posts, "post", "posts"),
            crate::text::count(
                self.jobs_left_running,
                "job left running",
                "jobs left running"
            ),
        );
        if self.ad_spend > 0 {
            line.push_str(&format!(", {} cents of ad spend", self.ad_spend));
        }
        line
    }

    /// The error when `credits` is over `max`.
    pub fn over_budget(&self, max: Option<u64>) -> Option<String> {
        let max = max?;
        (self.credits > max).then(|| {
            format!(
                "error: the run spent {} credits, over --max-credits {max}",
                self.credits
            )
        })
    }
}

/// Read the ledger of the mock at `base`.
pub async fn read(base: &str) -> Result<Spend, String> {
    let url = format!("{}/_mock/ledger", base.trim_end_matches('/'));
    // The embedded mock is on loopback: never through a proxy.
    let client = crate::http::client_builder(&Default::default())?
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let resp = client.get(&url).send().await.map_err(|e| e.to_string())?;
    if !resp.status().is_success() {
        return Err(format!("GET {url} answered {}", resp.status()));
    }
    let v: serde_json::Value = resp.json().await.map_err(|e| e.to_string())?;
    Ok(Spend::from_ledger(&v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_ledger_shape() {
        let v = serde_json::json!({
            "creditsSpent": 120, "scraperCalls": 1, "agentRuns": 0, "pullRequests": 0,
            "posts": 2, "adSpend": 0, "webhookDeliveries": 3,
            "jobs": { "started": 2, "running": 1, "completed": 0, "failed": 0, "canceled": 1 }
        });
        let s = Spend::from_ledger(&v);
        assert_eq!(s.credits, 120);
        assert_eq!(s.jobs_left_running, 1);
        assert!(!s.is_free());
        assert!(s.over_budget(Some(0)).is_some());
        assert_eq!(s.over_budget(Some(120)), None);
        assert_eq!(s.over_budget(None), None);
        assert!(s.line().contains("120 credits"));
    }
}
