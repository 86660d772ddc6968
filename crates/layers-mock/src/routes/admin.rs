//! `/_mock/*`: test-only controls that do not exist on the real API. No auth.

use std::time::Instant;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::ledger::LedgerView;
use crate::state::AppState;

/// `GET /_mock/ledger`: side effects so far; `jobs.running` counted at read time.
pub async fn ledger(State(state): State<AppState>) -> Json<LedgerView> {
    let mut store = state.store();
    let running = store.settle_all(Instant::now());
    Json(store.ledger.view(running))
}

/// `POST /_mock/reset`: forget everything.
pub async fn reset(State(state): State<AppState>) -> Json<Value> {
    state.reset();
    Json(json!({ "reset": true }))
}
