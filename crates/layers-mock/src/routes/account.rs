//! `GET /v1/whoami` and `GET /v1/credits`.

use axum::Extension;
use axum::Json;
use axum::extract::State;
use chrono::{Datelike, TimeZone, Utc};
use serde_json::{Value, json};

use crate::auth::Principal;
use crate::state::{AppState, ORG_ID, ORG_NAME};
use crate::timestamp::iso;

/// Estimated credits per generated container, by format (the pricing page's numbers).
pub fn credits_per_format(format: &str) -> i64 {
    match format {
        "slideshow_remix" => 50,
        _ => 120,
    }
}

/// The [LEGACY] whoami field set, with the live wallet balance.
pub async fn whoami(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Json<Value> {
    let balance = state.store().credits;
    Json(json!({
        "organizationId": ORG_ID.to_string(),
        "workspaceId": ORG_ID.to_string(),
        "organizationName": ORG_NAME,
        "scopes": [],
        "rateLimitTier": state.config().tier.as_str(),
        "killSwitch": false,
        "apiAccessRevoked": false,
        "apiKeyId": principal.api_key_id.to_string(),
        "creditBalance": balance,
    }))
}

/// Wallet view: the whole balance is the period's included credits (no prepaid top-up).
pub async fn credits(State(state): State<AppState>) -> Json<Value> {
    let (balance, spent) = {
        let store = state.store();
        (store.credits, store.ledger.credits_spent)
    };
    let now = Utc::now();
    let period_start = Utc
        .with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(now);
    let period_end = period_start
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(now);
    Json(json!({
        "organizationId": ORG_ID.to_string(),
        "balance": balance,
        "includedRemaining": balance,
        "prepaidBalance": 0,
        "includedThisPeriod": state.config().initial_credits,
        "usedThisPeriod": spent,
        "currentPeriod": { "start": iso(period_start), "end": iso(period_end), "usedCredits": spent },
        "subscriptionTier": "pro",
        "billingStatus": "active",
        "estimatedCreditsPerFormat": {
            "video_remix": credits_per_format("video_remix"),
            "slideshow_remix": credits_per_format("slideshow_remix"),
            "ugc_remix": credits_per_format("ugc_remix"),
            "auto": credits_per_format("auto"),
        },
        "ingestCostsBilled": { "github": false, "website": false, "appstore": false },
    }))
}
