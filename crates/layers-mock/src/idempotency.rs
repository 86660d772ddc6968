//! `Idempotency-Key` handling, scoped by (api key id, endpoint).
//!
//! The first request with a key runs the handler; its status, content type and body are
//! stored and replayed verbatim for the same key and body. Requests racing the first one
//! wait for it rather than executing again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{OriginalUri, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;
use uuid::Uuid;

use super::auth::Principal;
use super::error::ApiError;
use super::state::AppState;

/// How long a stored response is replayed.
const TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// Largest request body accepted (the docs cap `metadata` at 8 KB; this is generous).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Above this many stored keys, expired ones are swept on insert.
const SWEEP_THRESHOLD: usize = 100_000;

#[derive(Debug, Clone)]
struct StoredResponse {
    status: StatusCode,
    content_type: Option<HeaderValue>,
    etag: Option<HeaderValue>,
    body: Bytes,
}

struct Slot {
    body_hash: [u8; 32],
    created: Instant,
    response: OnceCell<StoredResponse>,
}

type SlotKey = (Uuid, String, String);

/// The idempotency table.
#[derive(Default)]
pub struct IdempotencyStore {
    slots: Mutex<HashMap<SlotKey, Arc<Slot>>>,
}

enum Claim {
    Slot(Arc<Slot>),
    Conflict,
}

impl IdempotencyStore {
    fn claim(&self, key: SlotKey, body_hash: [u8; 32], now: Instant) -> Claim {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if slots.len() > SWEEP_THRESHOLD {
            slots.retain(|_, slot| now.saturating_duration_since(slot.created) < TTL);
        }
        if let Some(slot) = slots.get(&key)
            && now.saturating_duration_since(slot.created) < TTL
        {
            return if slot.body_hash == body_hash {
                Claim::Slot(slot.clone())
            } else {
                Claim::Conflict
            };
        }
        let slot = Arc::new(Slot {
            body_hash,
            created: now,
            response: OnceCell::new(),
        });
        slots.insert(key, slot.clone());
        Claim::Slot(slot)
    }

    /// Forgets every stored response.
    pub fn reset(&self) {
        self.slots.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// Middleware: applies idempotency to POST/PATCH/DELETE carrying an `Idempotency-Key`.
pub async fn idempotency(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let writes = matches!(*req.method(), Method::POST | Method::PATCH | Method::DELETE);
    let key = req
        .headers()
        .get("idempotency-key")
        .map(|v| v.to_str().unwrap_or("").to_string());
    let (Some(key), true) = (key, writes) else {
        return next.run(req).await;
    };
    if key.is_empty() || key.len() > 255 {
        return ApiError::validation("Idempotency-Key", "must be 1–255 visible ASCII characters")
            .into_response();
    }
    let Some(principal) = req.extensions().get::<Principal>().cloned() else {
        return ApiError::internal("idempotency ran before authentication").into_response();
    };
    let path = req
        .extensions()
        .get::<OriginalUri>()
        .map(|uri| uri.path().to_string())
        .unwrap_or_else(|| req.uri().path().to_string());
    let endpoint = format!("{} {}", req.method(), path);

    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(_) => return too_large().into_response(),
    };
    let body_hash: [u8; 32] = Sha256::digest(&body).into();

    let slot_key = (principal.api_key_id, endpoint.clone(), key.clone());
    let slot = match state
        .idempotency()
        .claim(slot_key, body_hash, Instant::now())
    {
        Claim::Slot(slot) => slot,
        Claim::Conflict => {
            return ApiError::new(
                StatusCode::CONFLICT,
                "IDEMPOTENCY_CONFLICT",
                "This Idempotency-Key was already used with a different request body.",
            )
            .with_details(json!({ "idempotencyKey": key, "endpoint": endpoint }))
            .into_response();
        }
    };

    // Whoever gets into the cell first executes; the others wait and replay. If the
    // executing request is cancelled mid-way, the next waiter executes its own copy.
    let stored = slot
        .response
        .get_or_init(|| async move {
            let response = next.run(Request::from_parts(parts, Body::from(body))).await;
            store(response).await
        })
        .await;
    replay(stored)
}

async fn store(response: Response) -> StoredResponse {
    let (parts, body) = response.into_parts();
    // A body that fails to collect is recorded as empty rather than failing the replay.
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    StoredResponse {
        status: parts.status,
        content_type: parts.headers.get(header::CONTENT_TYPE).cloned(),
        etag: parts.headers.get(header::ETAG).cloned(),
        body,
    }
}

fn replay(stored: &StoredResponse) -> Response {
    let mut response = Response::new(Body::from(stored.body.clone()));
    *response.status_mut() = stored.status;
    if let Some(content_type) = &stored.content_type {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, content_type.clone());
    }
    if let Some(etag) = &stored.etag {
        response.headers_mut().insert(header::ETAG, etag.clone());
    }
    response
}

/// 413 for a body over [`MAX_BODY_BYTES`].
pub fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "PAYLOAD_TOO_LARGE",
        format!("Request body exceeds {MAX_BODY_BYTES} bytes."),
    )
}
