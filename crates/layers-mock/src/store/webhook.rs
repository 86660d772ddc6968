//! Webhook endpoints and their deliveries.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::timestamp::iso;

/// A registered webhook endpoint.
#[derive(Debug, Clone)]
pub struct WebhookEndpoint {
    /// Bare UUID id.
    pub id: Uuid,
    /// Owning org.
    pub organization_id: Uuid,
    /// Project filter; `None` = org-wide.
    pub project_id: Option<Uuid>,
    /// Delivery URL.
    pub url: String,
    /// Free text.
    pub description: Option<String>,
    /// Subscribed event types.
    pub events: Vec<String>,
    /// `active` or `paused` (a paused endpoint is sent no events).
    pub status: &'static str,
    /// `whsec_…`, used to sign deliveries.
    pub signing_secret: String,
    /// The secret a rotation replaced, still signing deliveries until the time given.
    pub previous_secret: Option<(String, DateTime<Utc>)>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change (including delivery outcomes).
    pub updated_at: DateTime<Utc>,
    /// Last 2xx delivery.
    pub last_success_at: Option<DateTime<Utc>>,
    /// Last failed delivery.
    pub last_failure_at: Option<DateTime<Utc>>,
    /// Failures since the last success.
    pub consecutive_failure_count: u64,
}

impl WebhookEndpoint {
    /// Wire shape (never includes the secret).
    pub fn view(&self) -> Value {
        json!({
            "id": self.id.to_string(),
            "organizationId": self.organization_id.to_string(),
            "projectId": self.project_id.map(|p| p.to_string()),
            "url": self.url,
            "description": self.description,
            "status": self.status,
            "events": self.events,
            "apiVersion": "v1",
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at),
            "lastSuccessAt": self.last_success_at.map(iso),
            "lastFailureAt": self.last_failure_at.map(iso),
            "consecutiveFailureCount": self.consecutive_failure_count,
        })
    }
}

/// One delivery of one event to one endpoint.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Bare UUID id.
    pub id: Uuid,
    /// Target endpoint.
    pub endpoint_id: Uuid,
    /// `evt_<ULID>`.
    pub event_id: String,
    /// e.g. `test.ping`.
    pub event_type: String,
    /// `pending`, `delivering`, `delivered` or `failed`.
    pub status: &'static str,
    /// Attempts made.
    pub attempts: u32,
    /// When a 2xx came back.
    pub delivered_at: Option<DateTime<Utc>>,
    /// HTTP status of the last attempt.
    pub last_response_status: Option<u16>,
    /// When the last attempt finished.
    pub last_response_at: Option<DateTime<Utc>>,
    /// Why the last attempt failed.
    pub last_error_message: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl Delivery {
    /// Wire shape (no payload, as documented).
    pub fn view(&self) -> Value {
        json!({
            "id": self.id.to_string(),
            "endpointId": self.endpoint_id.to_string(),
            "eventId": self.event_id,
            "eventType": self.event_type,
            "status": self.status,
            "attempts": self.attempts,
            "nextRetryAt": null,
            "deliveredAt": self.delivered_at.map(iso),
            "abandonedAt": null,
            "lastResponseStatus": self.last_response_status,
            "lastResponseAt": self.last_response_at.map(iso),
            "lastErrorMessage": self.last_error_message,
            "createdAt": iso(self.created_at),
        })
    }
}
