//! An in-process mock of the Layers Partner API ([LEGACY] revision of
//! `shared/layers-api.md`), so scenarios run with no key, no network and no spend.
//!
//! Side effects that cost money or touch the outside world (credits, scrapers, agent
//! runs, pull requests, posts, webhook deliveries) are recorded in a ledger instead of
//! performed; `GET /_mock/ledger` reads it and `POST /_mock/reset` clears all state.
//! Nothing under `/_mock` exists on the real API.
//!
//! Choices where the reference is silent or the issue overrides it:
//! - Checks run in the order request id → faults → auth (401) → plan gate (402) →
//!   rate limit (429) → idempotency → handler.
//! - Cancel of a terminal job answers `409 CONFLICT` with `details.reason:
//!   "already_terminal"` (the wording, not the reference's 200 `ALREADY_COMPLETED`).
//! - A project create whose `customerExternalId` already exists answers 200 with that row.
//! - Content generation without enough credits answers `402 PAYMENT_REQUIRED` with
//!   `details.reason: "insufficient_credits"`.
//! - Jobs are settled lazily from the clock: an ingest's scrape / agent run is recorded once
//!   `scrape_after` has passed without a cancel; `job_fail_rate` decides failures up front.
//! - Webhook `test` deliveries are really sent, but only to loopback URLs; every other
//!   delivery is recorded as failed without a request.

mod auth;
mod config;
mod error;
mod faults;
mod idempotency;
mod ids;
mod input;
mod jobs;
mod ledger;
mod pagination;
mod plan;
mod rate_limit;
mod request_id;
mod routes;
mod server;
mod state;
mod store;
mod timestamp;
mod validate;
mod webhooks;

pub use auth::{KeyEnv, ParsedKey, Principal, parse_key};
pub use config::{
    MAX_KEYS_FILE_BYTES, MockArgs, MockConfig, Plan, Throttle, Tier, parse_duration,
    parse_keys_file, parse_throttle,
};
pub use rate_limit::EndpointClass;
pub use routes::{RouteSpec, Verb, route_of, route_table};
pub use server::{MockServer, router, serve_config_foreground, serve_foreground};
pub use webhooks::{sign as webhook_signature, signature_header};

/// A well-formed demo key (`lp_test_`, 16-char id, 43-char secret) for docs and the
/// shipped scenarios. Any well-formed key works unless the mock runs with `--keys`.
pub const DEMO_KEY: &str = "lp_test_01JMOCKDEM0KEY00_bW9jay1vbmx5LWRlbW8ta2V5LW5vdC1hLXNlY3JldDA";

#[cfg(test)]
mod tests {
    #[test]
    fn demo_key_is_well_formed() {
        assert!(super::parse_key(super::DEMO_KEY).is_some());
    }
}
