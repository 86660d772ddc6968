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

use super::ids::prefixed;
use super::jobs::JobStatus;
use super::state::AppState;
use super::store::{Delivery, Store};
use super::timestamp::iso;

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
    signature_header_all(&[secret.to_string()], timestamp, body)
}

/// One `v1=` per live secret (during a rotation, the new one and the previous one).
pub fn signature_header_all(secrets: &[String], timestamp: i64, body: &[u8]) -> String {
    let mut header = format!("t={timestamp}");
    for secret in secrets {
        header.push_str(",v1=");
        header.push_str(&sign(secret, timestamp, body));
    }
    header
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
    /// The endpoint's live signing secrets, the current one first.
    pub secrets: Vec<String>,
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
            signature_header_all(&outgoing.secrets, timestamp, &outgoing.body),
        )
        .header("x-layers-event-id", &outgoing.event_id)
        .body(outgoing.body.clone())
        .send()
        .await
        .map_err(|e| format!("delivery failed: {e}"))?;
    Ok(response.status().as_u16())
}

/// Record a delivery of `event_type` to endpoint `endpoint_id` (no subscription check)
/// and return what to send; the caller spawns it once the store is unlocked. Returns
/// the event id too.
pub fn queue_delivery(
    state: &AppState,
    store: &mut Store,
    endpoint_id: Uuid,
    event_type: &str,
    data: serde_json::Value,
) -> Option<(Outgoing, String)> {
    let endpoint = store.webhook(&endpoint_id)?;
    let url = Url::parse(&endpoint.url).ok()?;
    let now = Utc::now();
    let mut secrets = vec![endpoint.signing_secret.clone()];
    if let Some((previous, until)) = &endpoint.previous_secret
        && *until > now
    {
        secrets.push(previous.clone());
    }
    let event_id = prefixed("evt", state.ids().ulid());
    let delivery_id = state.ids().uuid();
    let event = serde_json::json!({
        "id": event_id,
        "type": event_type,
        "createdAt": iso(now),
        "data": data,
    });
    store.deliveries.push(Delivery {
        id: delivery_id,
        endpoint_id,
        event_id: event_id.clone(),
        event_type: event_type.to_string(),
        status: "pending",
        attempts: 0,
        delivered_at: None,
        last_response_status: None,
        last_response_at: None,
        last_error_message: None,
        created_at: now,
    });
    store.ledger.webhook_deliveries += 1;
    let outgoing = Outgoing {
        delivery_id,
        endpoint_id,
        event_id: event_id.clone(),
        url,
        secrets,
        body: Bytes::from(event.to_string()),
    };
    Some((outgoing, event_id))
}

/// Queue `event_type` for every endpoint subscribed to it (org-wide, or filtered on
/// `project`).
fn emit(
    state: &AppState,
    store: &mut Store,
    event_type: &str,
    project: Option<Uuid>,
    data: &serde_json::Value,
) -> Vec<Outgoing> {
    let targets: Vec<Uuid> = store
        .webhooks_newest_first()
        .filter(|e| e.status == "active" && e.events.iter().any(|t| t == event_type))
        .filter(|e| e.project_id.is_none() || e.project_id == project)
        .map(|e| e.id)
        .collect();
    targets
        .into_iter()
        .rev()
        .filter_map(|id| queue_delivery(state, store, id, event_type, data.clone()))
        .map(|(outgoing, _)| outgoing)
        .collect()
}

/// `job.completed` / `job.failed` / `job.canceled` for job `job_id`, if it has ended.
pub fn job_ended(state: &AppState, job_id: &str) {
    let outgoing = {
        let mut store = state.store();
        let Some(job) = store.job(job_id, std::time::Instant::now()) else {
            return;
        };
        let event_type = match job.status() {
            JobStatus::Completed => "job.completed",
            JobStatus::Failed => "job.failed",
            JobStatus::Canceled => "job.canceled",
            _ => return,
        };
        let data = job.event_data();
        let project = job
            .pointers
            .get("projectId")
            .and_then(|p| p.as_str())
            .and_then(|p| Uuid::parse_str(p).ok());
        // A generation that completed also announces each container it made.
        let generated: Vec<String> =
            if event_type == "job.completed" && job.kind == super::jobs::JobKind::ContentGenerate {
                job.pointers
                    .get("containerIds")
                    .and_then(|ids| ids.as_array())
                    .map(|ids| {
                        ids.iter()
                            .filter_map(|i| i.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default()
            } else {
                Vec::new()
            };
        let mut outgoing = emit(state, &mut store, event_type, project, &data);
        for id in generated {
            let Some(container) = store.container(&id) else {
                continue;
            };
            let data = serde_json::json!({
                "id": container.id,
                "projectId": container.project_id.to_string(),
                "assets": container.assets.iter().map(super::store::Asset::view).collect::<Vec<_>>(),
            });
            let project = Some(container.project_id);
            outgoing.extend(emit(state, &mut store, "content.generated", project, &data));
        }
        outgoing
    };
    for o in outgoing {
        spawn_delivery(state.clone(), o);
    }
}

/// When job `job_id` runs its course (`after`), tell the subscribed endpoints how it
/// ended. A cancel tells them itself, at once.
pub fn watch_job(state: &AppState, (job_id, after): (String, std::time::Duration)) {
    let state = state.clone();
    tokio::spawn(async move {
        tokio::time::sleep(after + std::time::Duration::from_millis(1)).await;
        let ended_on_its_own = state
            .store()
            .job_status(&job_id, std::time::Instant::now())
            .is_some_and(|s| matches!(s, JobStatus::Completed | JobStatus::Failed));
        if ended_on_its_own {
            job_ended(&state, &job_id);
        }
    });
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
