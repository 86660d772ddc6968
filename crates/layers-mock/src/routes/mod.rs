//! Route table and middleware stack.

mod account;
mod admin;
mod api_keys;
mod content;
mod extract;
mod influencers;
mod ingest;
mod jobs;
mod metrics;
mod projects;
mod webhooks;

use axum::Router;
use axum::extract::OriginalUri;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::auth::auth_layer;
use super::error::ApiError;
use super::faults::inject_faults;
use super::idempotency::idempotency;
use super::plan::plan_gate;
use super::rate_limit::{class_header, enforce};
use super::request_id::request_id;
use super::state::AppState;

/// The whole app: `/v1` (the API), `/_mock` (test controls), request ids on everything.
pub fn app(state: AppState) -> Router {
    Router::new()
        .nest("/v1", v1(state.clone()))
        .route("/_mock/ledger", get(admin::ledger))
        .route("/_mock/reset", post(admin::reset))
        .fallback(not_found)
        .layer(from_fn_with_state(state.clone(), request_id))
        .with_state(state)
}

/// `/v1` routes behind, outermost first: endpoint-class header, faults, auth (401),
/// plan gate (402), rate limit (429), idempotency.
fn v1(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/whoami", get(account::whoami))
        .route("/credits", get(account::credits))
        .route("/api-keys/{id}", axum::routing::delete(api_keys::delete))
        .route("/api-keys/{id}/kill", post(api_keys::kill))
        .route("/api-keys/{id}/rotate", post(api_keys::rotate))
        .route("/projects", get(projects::list).post(projects::create))
        .route(
            "/projects/{id}",
            get(projects::get)
                .patch(projects::patch)
                .delete(projects::archive),
        )
        .route("/projects/{id}/ingest/appstore", post(ingest::appstore))
        .route("/projects/{id}/ingest/github", post(ingest::github))
        .route("/projects/{id}/ingest/website", post(ingest::website))
        .route("/jobs/{id}", get(jobs::get))
        .route("/jobs/{id}/cancel", post(jobs::cancel))
        .route(
            "/projects/{id}/content",
            get(content::list).post(content::create),
        )
        .route("/content/{id}", get(content::get))
        .route("/content/{id}/progress", get(content::progress))
        .route("/content/{id}/assets/{asset_id}", get(content::asset))
        .route("/content/{id}/regenerate", post(content::regenerate))
        .route("/content/{id}/approve", post(content::approve))
        .route("/content/{id}/publish", post(content::publish))
        .route("/content/{id}/schedule", post(content::schedule))
        .route(
            "/projects/{id}/influencers",
            get(influencers::list).post(influencers::create),
        )
        .route(
            "/influencers/{id}",
            get(influencers::get)
                .patch(influencers::patch)
                .delete(influencers::delete),
        )
        .route(
            "/webhook-endpoints",
            get(webhooks::list).post(webhooks::create),
        )
        .route(
            "/webhook-endpoints/{id}",
            axum::routing::delete(webhooks::delete).patch(webhooks::patch),
        )
        .route("/webhook-endpoints/{id}/test", post(webhooks::test))
        .route(
            "/webhook-endpoints/{id}/rotate-secret",
            post(webhooks::rotate_secret),
        )
        .route(
            "/webhook-endpoints/{id}/deliveries",
            get(webhooks::deliveries),
        )
        .route("/projects/{id}/metrics", get(metrics::metrics))
        .route("/projects/{id}/ads-metrics", get(metrics::ads_metrics))
        .route("/projects/{id}/ads/campaigns", get(metrics::empty_ads_list))
        .route("/projects/{id}/ads/ads", get(metrics::empty_ads_list))
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        // Layers run outermost-last: the last `.layer` sees the request first.
        .layer(from_fn_with_state(state.clone(), idempotency))
        .layer(from_fn_with_state(state.clone(), enforce))
        .layer(from_fn_with_state(state.clone(), plan_gate))
        .layer(from_fn_with_state(state.clone(), auth_layer))
        .layer(from_fn_with_state(state, inject_faults))
        .layer(from_fn(class_header))
}

/// 404 envelope for unknown routes (and known paths with an unsupported method).
async fn not_found(OriginalUri(uri): OriginalUri) -> Response {
    ApiError::not_found("Route", uri.path()).into_response()
}
