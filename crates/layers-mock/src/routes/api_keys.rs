//! `POST /v1/api-keys/:keyId/kill`, `DELETE /v1/api-keys/:keyId` and
//! `POST /v1/api-keys/:keyId/rotate`: what they do to a key shows on its next request
//! (503 `KILL_SWITCH` for a killed or retired key, 401 for a rotated-away secret).

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use uuid::Uuid;

use super::extract::PathParams;
use crate::error::{ApiError, ApiResult};
use crate::input::uuid_id;
use crate::state::{AppState, ORG_ID};
use crate::store::{ApiKey, ApiKeys};
use crate::timestamp::now_iso;

fn key_id(raw: &str) -> ApiResult<Uuid> {
    uuid_id(raw, "key_", "keyId")
}

/// Sets the kill switch; killing a killed key is a no-op 200.
pub async fn kill(
    State(state): State<AppState>,
    PathParams(raw): PathParams<String>,
) -> ApiResult<Json<Value>> {
    change(&state, &raw, "killed", ApiKeys::kill)
}

/// Retires the key for good (the kill switch stays off).
pub async fn delete(
    State(state): State<AppState>,
    PathParams(raw): PathParams<String>,
) -> ApiResult<Json<Value>> {
    change(&state, &raw, "deleted", ApiKeys::delete)
}

/// Apply `op` to key `raw`; answer `{ apiKey, <done>: true }`, or 404.
fn change(
    state: &AppState,
    raw: &str,
    done: &str,
    op: for<'k> fn(&'k mut ApiKeys, Uuid, &str) -> Option<&'k ApiKey>,
) -> ApiResult<Json<Value>> {
    let id = key_id(raw)?;
    let mut store = state.store();
    let key = op(&mut store.api_keys, id, &now_iso())
        .ok_or_else(|| ApiError::not_found("API key", raw))?;
    let mut body = json!({ "apiKey": key.to_json(ORG_ID) });
    body[done] = json!(true);
    Ok(Json(body))
}

/// New prefix and secret in place; the old secret stops working at once; clears the
/// kill switch and re-activates.
pub async fn rotate(
    State(state): State<AppState>,
    PathParams(raw): PathParams<String>,
) -> ApiResult<Json<Value>> {
    let id = key_id(&raw)?;
    // The random part of a ULID: 16 characters of [0-9A-Z], as key ids are.
    let ulid = state.ids().ulid().to_string();
    let prefix = ulid[ulid.len() - 16..].to_string();
    let secret = state.ids().secret(32);
    let mut store = state.store();
    let (key, whole) = store
        .api_keys
        .rotate(id, prefix, &secret, &now_iso())
        .ok_or_else(|| ApiError::not_found("API key", &raw))?;
    Ok(Json(json!({
        "apiKey": key.to_json(ORG_ID),
        "secret": whole,
        "warning": "Store this secret now: it is not shown again. The old secret no longer works.",
    })))
}
