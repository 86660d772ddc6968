//! Webhook signing and delivery.
//!
//! Safety rule: the mock never reaches the network. A delivery is sent only when the
//! endpoint's host is loopback (`localhost`, `127.0.0.0/8`, `::1`); any other delivery is
//! recorded as failed without a request.

use std::net::{IpAddr, Ipv4Addr};

use axum::body::Bytes;
use chrono::Utc;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use url::{Host, Url};
use uuid::Uuid;

use super::state::AppState;

/// Events an endpoint may subscribe to; anything else is rejected.
pub const EVENT_CATALOG: &[&str] = &[
    "job.completed",
    "job.failed",
    "job.canceled",
    "content.generated",
    "content.approved",
    "content.rejected",
    "post.scheduled",
    "post.published",
    "post.failed",
    "post.canceled",
    "social_account.connected",
    "social_account.needs_reauth",
    "social_account.revoked",
    "lease_request.assigned",
    "lease_request.rejected",
    "test.ping",
];

/// `X-Layers-Signature` value: `t=<unix secs>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
/// The key is the whole signing secret string, `whsec_` prefix included.
pub fn signature_header(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!("t={timestamp},v1={}", sign(secret, timestamp, body))
}

/// Hex HMAC-SHA256 of `"<timestamp>.<body>"`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail; fall back to an empty MAC anyway.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Whether `url` may be registered: https anywhere, plain http only on loopback.
pub fn is_registrable(url: &Url) -> bool {
    match url.scheme() {
        "https" => url.host().is_some(),
        "http" => is_loopback(url),
        _ => false,
    }
}

/// Whether the URL's host is a loopback name or address (no DNS lookup involved).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The URL actually dialled: `localhost` is pinned to 127.0.0.1 so name resolution can
/// never send a delivery elsewhere.
fn dial_url(url: &Url) -> Url {
    let mut url = url.clone();
    if matches!(url.host(), Some(Host::Domain(_))) {
        // Only loopback URLs get here; a failure leaves the URL as it was.
        let _ = url.set_ip_host(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    url
}

/// One signed delivery to perform.
pub struct Outgoing {
    /// Delivery row to update.
    pub delivery_id: Uuid,
    /// Endpoint row to update.
    pub endpoint_id: Uuid,
    /// `evt_…`, sent as `X-Layers-Event-Id`.
    pub event_id: String,
    /// Target.
    pub url: Url,
    /// Signing secret.
    pub secret: String,
    /// Raw JSON payload.
    pub body: Bytes,
}

/// Performs the delivery in the background and records its outcome.
pub fn spawn_delivery(state: AppState, outgoing: Outgoing) {
    tokio::spawn(async move {
        let outcome = deliver(&state, &outgoing).await;
        record_outcome(&state, &outgoing, outcome);
    });
}

async fn deliver(state: &AppState, outgoing: &Outgoing) -> Result<u16, String> {
    if !is_loopback(&outgoing.url) {
        return Err("not delivered: the mock only delivers to loopback URLs".into());
    }
    let client = state
        .http()
        .ok_or_else(|| "HTTP client unavailable".to_string())?;
    let timestamp = Utc::now().timestamp();
    let response = client
        .post(dial_url(&outgoing.url))
        .header("content-type", "application/json")
        .header(
            "x-layers-signature",
            signature_header(&outgoing.secret, timestamp, &outgoing.body),
        )
        .header("x-layers-event-id", &outgoing.event_id)
        .body(outgoing.body.clone())
        .send()
        .await
        .map_err(|e| format!("delivery failed: {e}"))?;
    Ok(response.status().as_u16())
}

fn record_outcome(state: &AppState, outgoing: &Outgoing, outcome: Result<u16, String>) {
    let now = Utc::now();
    let succeeded = matches!(outcome, Ok(status) if (200..300).contains(&status));
    let mut store = state.store();
    if let Some(delivery) = store.delivery_mut(&outgoing.delivery_id) {
        delivery.attempts += 1;
        delivery.last_response_at = Some(now);
        match &outcome {
            Ok(status) => {
                delivery.last_response_status = Some(*status);
                if !succeeded {
                    delivery.last_error_message = Some(format!("endpoint answered {status}"));
                }
            }
            Err(message) => delivery.last_error_message = Some(message.clone()),
        }
        if succeeded {
            delivery.status = "delivered";
            delivery.delivered_at = Some(now);
        } else {
            delivery.status = "failed";
        }
    }
    if let Some(endpoint) = store.webhook_mut(&outgoing.endpoint_id) {
        endpoint.updated_at = now;
        if succeeded {
            endpoint.last_success_at = Some(now);
            endpoint.consecutive_failure_count = 0;
        } else {
            endpoint.last_failure_at = Some(now);
            endpoint.consecutive_failure_count += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_only() {
        let ok = |u: &str| is_loopback(&Url::parse(u).unwrap());
        assert!(ok("http://localhost:9/x"));
        assert!(ok("http://127.0.0.1:9/x"));
        assert!(ok("http://[::1]:9/x"));
        assert!(!ok("https://example.com/x"));
        assert!(!ok("http://localhost.example.com/x"));
        assert!(!ok("http://10.0.0.1/x"));
    }

    #[test]
    fn registrable() {
        let ok = |u: &str| is_registrable(&Url::parse(u).unwrap());
        assert!(ok("https://hooks.example.com/layers"));
        assert!(ok("http://localhost:8080/hook"));
        assert!(!ok("http://hooks.example.com/layers"));
        assert!(!ok("ftp://localhost/x"));
    }

    #[test]
    fn signature_matches_known_vector() {
        // The same MAC computed in one update, independently of `sign`.
        let mut mac = Hmac::<Sha256>::new_from_slice(b"whsec_k").unwrap();
        mac.update(b"1700000000.{}");
        let expected = hex::encode(mac.finalize().into_bytes());
        assert_eq!(
            signature_header("whsec_k", 1_700_000_000, b"{}"),
            format!("t=1700000000,v1={expected}")
        );
    }
}
