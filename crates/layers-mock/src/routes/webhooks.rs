//! Webhook endpoints: create, list, delete, test (a real signed `test.ping` to loopback
//! URLs only), and delivery history.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use chrono::Utc;
use serde_json::{Value, json};
use uuid::Uuid;

use super::extract::{PathParams, RawBody};
use super::projects::project_id;
use crate::error::{ApiError, ApiResult};
use crate::input::{QueryParams, json_object, uuid_id};
use crate::pagination::Page;
use crate::state::{AppState, ORG_ID};
use crate::store::{Delivery, WebhookEndpoint};
use crate::timestamp::iso;
use crate::validate::Issues;
use crate::webhooks::{EVENT_CATALOG, is_registrable, queue_delivery, spawn_delivery};

fn check_events(issues: &mut Issues, events: &[String]) {
    if events.is_empty() || events.len() > 50 {
        issues.add("events", "must list 1–50 event names");
    }
    for event in events
        .iter()
        .filter(|e| !EVENT_CATALOG.contains(&e.as_str()))
    {
        issues.add("events", format!("unknown event {event:?}"));
    }
}

fn check_registrable(issues: &mut Issues, url: Option<&url::Url>) {
    if let Some(url) = url
        && !is_registrable(url)
    {
        issues.add("url", "must be https (plain http only for localhost)");
    }
}

fn endpoint_id(raw: &str) -> ApiResult<Uuid> {
    uuid_id(raw, "whe_", "endpointId")
}

/// `POST /v1/webhook-endpoints` → 201 `{endpoint, signingSecret}` (secret shown once).
pub async fn create(
    State(state): State<AppState>,
    RawBody(body): RawBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let body = json_object(&body)?;
    let mut issues = Issues::default();
    let url = issues.http_url(&body, "url", true);
    check_registrable(&mut issues, url.as_ref());
    let events = issues.strings(&body, "events");
    match &events {
        None => issues.add("events", "is required (1–50 event names)"),
        Some(events) => check_events(&mut issues, events),
    }
    let description = issues.string(&body, "description", false, 0, 1024);
    let project = issues.string(&body, "projectId", false, 1, 64);
    issues.finish()?;
    let project = match project {
        None => None,
        Some(raw) => {
            let id = project_id(&raw)
                .map_err(|_| ApiError::validation("projectId", "unknown project"))?;
            if state.store().project(&id).is_none() {
                return Err(ApiError::validation("projectId", "unknown project"));
            }
            Some(id)
        }
    };
    let now = Utc::now();
    let endpoint = WebhookEndpoint {
        id: state.ids().uuid(),
        organization_id: ORG_ID,
        project_id: project,
        url: url.map(|u| u.to_string()).unwrap_or_default(),
        description,
        events: events.unwrap_or_default(),
        status: "active",
        signing_secret: format!("whsec_{}", state.ids().secret(32)),
        previous_secret: None,
        created_at: now,
        updated_at: now,
        last_success_at: None,
        last_failure_at: None,
        consecutive_failure_count: 0,
    };
    let body = json!({ "endpoint": endpoint.view(), "signingSecret": endpoint.signing_secret });
    state.store().insert_webhook(endpoint);
    Ok((StatusCode::CREATED, Json(body)))
}

/// `GET /v1/webhook-endpoints`
pub async fn list(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let query = QueryParams::parse(query.as_deref());
    let page = Page::from_query(&query, 25, 100, true)?;
    let project = match query.get("projectId") {
        None => None,
        Some(raw) => Some(
            project_id(raw)
                .map_err(|_| ApiError::validation("projectId", "must be a project id"))?,
        ),
    };
    let status = query.get("status");
    let items: Vec<Value> = state
        .store()
        .webhooks_newest_first()
        .filter(|e| project.is_none() || e.project_id == project)
        .filter(|e| status.is_none_or(|s| s == e.status))
        .map(WebhookEndpoint::view)
        .collect();
    Ok(Json(page.render(items)))
}

/// `DELETE /v1/webhook-endpoints/:id`
pub async fn delete(
    State(state): State<AppState>,
    PathParams(raw): PathParams<String>,
) -> ApiResult<Json<Value>> {
    let id = endpoint_id(&raw)?;
    state
        .store()
        .remove_webhook(&id)
        .ok_or_else(|| ApiError::not_found("Webhook endpoint", &raw))?;
    Ok(Json(json!({ "id": id.to_string(), "deleted": true })))
}

/// `PATCH /v1/webhook-endpoints/:id`: `url`, `events` (replaces the list),
/// `description` (null clears it), `status` (`active` or `paused`; setting `active`
/// resets the failure count).
pub async fn patch(
    State(state): State<AppState>,
    PathParams(raw): PathParams<String>,
    RawBody(body): RawBody,
) -> ApiResult<Json<Value>> {
    let id = endpoint_id(&raw)?;
    let body = json_object(&body)?;
    let mut issues = Issues::default();
    if !["url", "events", "description", "status"]
        .iter()
        .any(|k| body.contains_key(*k))
    {
        issues.add(
            "body",
            "give at least one of url, events, description, status",
        );
    }
    let url = issues.http_url(&body, "url", false);
    check_registrable(&mut issues, url.as_ref());
    let events = issues.strings(&body, "events");
    if let Some(events) = &events {
        check_events(&mut issues, events);
    }
    let description = issues.string(&body, "description", false, 0, 1024);
    let status = match body.get("status").and_then(Value::as_str) {
        Some("auto_paused") => {
            issues.add(
                "status",
                "auto_paused is set by the platform, not by a request",
            );
            None
        }
        _ => issues.one_of(&body, "status", false, &["active", "paused"]),
    };
    issues.finish()?;
    let mut store = state.store();
    let endpoint = store
        .webhook_mut(&id)
        .ok_or_else(|| ApiError::not_found("Webhook endpoint", &raw))?;
    if let Some(url) = url {
        endpoint.url = url.to_string();
    }
    if let Some(events) = events {
        endpoint.events = events;
    }
    if body.get("description") == Some(&Value::Null) {
        endpoint.description = None;
    } else if description.is_some() {
        endpoint.description = description;
    }
    match status.as_deref() {
        Some("active") => {
            endpoint.status = "active";
            endpoint.consecutive_failure_count = 0;
        }
        Some(_) => endpoint.status = "paused",
        None => {}
    }
    endpoint.updated_at = Utc::now();
    Ok(Json(endpoint.view()))
}

/// `POST /v1/webhook-endpoints/:id/rotate-secret`: a new signing secret; the old one
/// keeps signing (a second `v1=`) for 24 hours.
pub async fn rotate_secret(
    State(state): State<AppState>,
    PathParams(raw): PathParams<String>,
) -> ApiResult<Json<Value>> {
    let id = endpoint_id(&raw)?;
    let fresh = format!("whsec_{}", state.ids().secret(32));
    let now = Utc::now();
    let until = now + chrono::Duration::hours(24);
    let mut store = state.store();
    let endpoint = store
        .webhook_mut(&id)
        .ok_or_else(|| ApiError::not_found("Webhook endpoint", &raw))?;
    let previous = std::mem::replace(&mut endpoint.signing_secret, fresh.clone());
    endpoint.previous_secret = Some((previous, until));
    endpoint.updated_at = now;
    Ok(Json(json!({
        "endpointId": id.to_string(),
        "signingSecret": fresh,
        "previousSecretExpiresAt": iso(until),
        "warning": "Store the new secret now: it is not shown again. The previous one keeps signing deliveries until previousSecretExpiresAt.",
    })))
}

/// `POST /v1/webhook-endpoints/:id/test`: queues a signed `test.ping` (body `payload`
/// replaces the default `data`) and delivers it at once in the background.
pub async fn test(
    State(state): State<AppState>,
    PathParams(raw): PathParams<String>,
    RawBody(body): RawBody,
) -> ApiResult<Json<Value>> {
    let id = endpoint_id(&raw)?;
    let body = json_object(&body)?;
    let mut issues = Issues::default();
    let payload = issues.object(&body, "payload");
    issues.finish()?;

    let now = Utc::now();
    let (outgoing, event_id) = {
        let mut store = state.store();
        let endpoint = store
            .webhook(&id)
            .ok_or_else(|| ApiError::not_found("Webhook endpoint", &raw))?;
        let data = match payload {
            Some(payload) => Value::Object(payload),
            None => json!({
                "message": "This is a test event from the Layers API.",
                "endpointId": endpoint.id.to_string(),
                "organizationId": endpoint.organization_id.to_string(),
            }),
        };
        queue_delivery(&state, &mut store, id, "test.ping", data)
            .ok_or_else(|| ApiError::internal("stored URL unreadable"))?
    };
    let delivery_id = outgoing.delivery_id;
    spawn_delivery(state, outgoing);
    Ok(Json(
        json!({ "eventId": event_id, "deliveryId": delivery_id.to_string(), "scheduledAt": iso(now) }),
    ))
}

/// `GET /v1/webhook-endpoints/:id/deliveries` (newest first, no payloads).
pub async fn deliveries(
    State(state): State<AppState>,
    PathParams(raw): PathParams<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let id = endpoint_id(&raw)?;
    let query = QueryParams::parse(query.as_deref());
    let page = Page::from_query(&query, 25, 100, true)?;
    let event_type = query.get("eventType");
    let status = query.get("status");
    let store = state.store();
    if store.webhook(&id).is_none() {
        return Err(ApiError::not_found("Webhook endpoint", &raw));
    }
    let items: Vec<Value> = store
        .deliveries
        .iter()
        .rev()
        .filter(|d| d.endpoint_id == id)
        .filter(|d| event_type.is_none_or(|t| d.event_type == t))
        .filter(|d| status.is_none_or(|s| d.status == s))
        .map(Delivery::view)
        .collect();
    Ok(Json(page.render(items)))
}
