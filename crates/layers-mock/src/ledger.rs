//! The side-effect ledger: what the real API would have spent or set in motion.

use serde::Serialize;

/// Counters of side effects recorded instead of performed. Lives inside the store so it
/// changes under the same lock as the state that causes the effect.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    /// Credits debited from the wallet.
    pub credits_spent: u64,
    /// Store / website scraper runs that would have hit the network.
    pub scraper_calls: u64,
    /// Coding-agent runs (GitHub ingest).
    pub agent_runs: u64,
    /// Pull requests that would have been opened.
    pub pull_requests: u64,
    /// Social posts published or scheduled.
    pub posts: u64,
    /// Ad spend, in cents (always 0: ads are read-only in this API revision).
    pub ad_spend: u64,
    /// Webhook deliveries attempted (sent to loopback or suppressed as unsafe).
    pub webhook_deliveries: u64,
    /// Jobs ever accepted.
    pub jobs_started: u64,
    /// Jobs that ended `completed`.
    pub jobs_completed: u64,
    /// Jobs that ended `failed`.
    pub jobs_failed: u64,
    /// Jobs that ended `canceled`.
    pub jobs_canceled: u64,
}

/// Wire shape of `GET /_mock/ledger`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerView {
    credits_spent: u64,
    scraper_calls: u64,
    agent_runs: u64,
    pull_requests: u64,
    posts: u64,
    ad_spend: u64,
    webhook_deliveries: u64,
    jobs: JobCounts,
}

#[derive(Debug, Serialize)]
struct JobCounts {
    started: u64,
    running: u64,
    completed: u64,
    failed: u64,
    canceled: u64,
}

impl Ledger {
    /// The wire view; `running` is counted by the caller at read time.
    pub fn view(&self, running: u64) -> LedgerView {
        LedgerView {
            credits_spent: self.credits_spent,
            scraper_calls: self.scraper_calls,
            agent_runs: self.agent_runs,
            pull_requests: self.pull_requests,
            posts: self.posts,
            ad_spend: self.ad_spend,
            webhook_deliveries: self.webhook_deliveries,
            jobs: JobCounts {
                started: self.jobs_started,
                running,
                completed: self.jobs_completed,
                failed: self.jobs_failed,
                canceled: self.jobs_canceled,
            },
        }
    }
}
