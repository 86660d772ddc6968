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

use std::sync::LazyLock;

use axum::Router;
use axum::extract::OriginalUri;
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, get, on, post};

use super::auth::auth_layer;
use super::error::ApiError;
use super::faults::inject_faults;
use super::idempotency::idempotency;
use super::plan::plan_gate;
use super::rate_limit::EndpointClass::{self, LongRunning, ReadLight, WriteLight};
use super::rate_limit::{class_header, enforce};
use super::request_id::request_id;
use super::state::AppState;

/// The methods the `/v1` routes use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// GET (and HEAD, which axum answers with the GET handler).
    Get,
    Post,
    Patch,
    Delete,
}

impl Verb {
    /// The method's name, upper case.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Patch => "PATCH",
            Verb::Delete => "DELETE",
        }
    }

    /// Whether a request with `method` reaches a route of this verb.
    pub fn accepts(self, method: &Method) -> bool {
        match self {
            Verb::Get => method == Method::GET || method == Method::HEAD,
            Verb::Post => method == Method::POST,
            Verb::Patch => method == Method::PATCH,
            Verb::Delete => method == Method::DELETE,
        }
    }

    fn filter(self) -> MethodFilter {
        match self {
            Verb::Get => MethodFilter::GET,
            Verb::Post => MethodFilter::POST,
            Verb::Patch => MethodFilter::PATCH,
            Verb::Delete => MethodFilter::DELETE,
        }
    }
}

/// What the mock knows about one `/v1` route besides its handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    pub verb: Verb,
    /// The path under `/v1`, parameters in braces: `/projects/{id}/content`.
    pub path: &'static str,
    /// Its rate-limit bucket.
    pub class: EndpointClass,
    /// What the call would cost on the real API, in the cost kinds of
    /// `catalog/layers-costs.yaml` (which a runner test holds to this table); empty when free.
    pub costs: &'static [&'static str],
}

impl RouteSpec {
    /// Whether `segments` (a path under `/v1`, split at `/`) is this route's path.
    fn matches_path(&self, segments: &[&str]) -> bool {
        let mut own = self.path.split('/').filter(|s| !s.is_empty());
        let mut theirs = segments.iter();
        loop {
            match (own.next(), theirs.next()) {
                (None, None) => return true,
                (Some(p), Some(s)) if p.starts_with('{') || p == *s => continue,
                _ => return false,
            }
        }
    }
}

struct Route {
    spec: RouteSpec,
    handler: MethodRouter<AppState>,
}

fn route<H, T>(
    verb: Verb,
    path: &'static str,
    class: EndpointClass,
    costs: &'static [&'static str],
    handler: H,
) -> Route
where
    H: Handler<T, AppState>,
    T: 'static,
{
    Route {
        spec: RouteSpec {
            verb,
            path,
            class,
            costs,
        },
        handler: on(verb.filter(), handler),
    }
}

/// Every `/v1` route, once: method, path, rate-limit class, costs and handler. The router,
/// the rate limiter's classes and the runner's cost-catalog test all read this table.
// One line per route, so the table reads as one.
#[rustfmt::skip]
fn table() -> Vec<Route> {
    use Verb::{Delete, Get, Patch, Post};
    const FREE: &[&str] = &[];
    vec![
        route(Get, "/whoami", ReadLight, FREE, account::whoami),
        route(Get, "/credits", ReadLight, FREE, account::credits),
        route(Delete, "/api-keys/{id}", WriteLight, &["api_keys"], api_keys::delete),
        route(Post, "/api-keys/{id}/kill", WriteLight, &["api_keys"], api_keys::kill),
        route(Post, "/api-keys/{id}/rotate", WriteLight, &["api_keys"], api_keys::rotate),
        route(Get, "/projects", ReadLight, FREE, projects::list),
        route(Post, "/projects", WriteLight, FREE, projects::create),
        route(Get, "/projects/{id}", ReadLight, FREE, projects::get),
        route(Patch, "/projects/{id}", WriteLight, FREE, projects::patch),
        route(Delete, "/projects/{id}", WriteLight, FREE, projects::archive),
        route(Post, "/projects/{id}/ingest/appstore", LongRunning, &["scrape"], ingest::appstore),
        route(Post, "/projects/{id}/ingest/github", LongRunning, &["agent", "pull_request"], ingest::github),
        route(Post, "/projects/{id}/ingest/website", LongRunning, &["scrape"], ingest::website),
        route(Get, "/jobs/{id}", ReadLight, FREE, jobs::get),
        route(Post, "/jobs/{id}/cancel", WriteLight, FREE, jobs::cancel),
        route(Get, "/projects/{id}/content", ReadLight, FREE, content::list),
        route(Post, "/projects/{id}/content", LongRunning, &["credits"], content::create),
        route(Get, "/content/{id}", ReadLight, FREE, content::get),
        route(Get, "/content/{id}/progress", ReadLight, FREE, content::progress),
        route(Get, "/content/{id}/assets/{asset_id}", ReadLight, FREE, content::asset),
        route(Post, "/content/{id}/regenerate", LongRunning, &["credits"], content::regenerate),
        route(Post, "/content/{id}/approve", WriteLight, FREE, content::approve),
        route(Post, "/content/{id}/publish", WriteLight, &["post"], content::publish),
        route(Post, "/content/{id}/schedule", WriteLight, &["post"], content::schedule),
        route(Get, "/projects/{id}/influencers", ReadLight, FREE, influencers::list),
        route(Post, "/projects/{id}/influencers", LongRunning, &["credits"], influencers::create),
        route(Get, "/influencers/{id}", ReadLight, FREE, influencers::get),
        route(Patch, "/influencers/{id}", WriteLight, FREE, influencers::patch),
        route(Delete, "/influencers/{id}", WriteLight, FREE, influencers::delete),
        route(Get, "/webhook-endpoints", ReadLight, FREE, webhooks::list),
        route(Post, "/webhook-endpoints", WriteLight, FREE, webhooks::create),
        route(Delete, "/webhook-endpoints/{id}", WriteLight, FREE, webhooks::delete),
        route(Patch, "/webhook-endpoints/{id}", WriteLight, FREE, webhooks::patch),
        // Really sent, but only to loopback URLs (see `webhooks`): nothing leaves the machine.
        route(Post, "/webhook-endpoints/{id}/test", WriteLight, FREE, webhooks::test),
        route(Post, "/webhook-endpoints/{id}/rotate-secret", WriteLight, FREE, webhooks::rotate_secret),
        route(Get, "/webhook-endpoints/{id}/deliveries", ReadLight, FREE, webhooks::deliveries),
        route(Get, "/projects/{id}/metrics", ReadLight, FREE, metrics::metrics),
        route(Get, "/projects/{id}/ads-metrics", ReadLight, FREE, metrics::ads_metrics),
        route(Get, "/projects/{id}/ads/campaigns", ReadLight, FREE, metrics::empty_ads_list),
        route(Get, "/projects/{id}/ads/ads", ReadLight, FREE, metrics::empty_ads_list),
    ]
}

static SPECS: LazyLock<Vec<RouteSpec>> =
    LazyLock::new(|| table().into_iter().map(|r| r.spec).collect());

/// The `/v1` routes the mock serves, in the order of its route table.
pub fn route_table() -> &'static [RouteSpec] {
    &SPECS
}

/// The route a `/v1` request reaches (its path with or without the `/v1` prefix).
pub fn route_of(method: &Method, path: &str) -> Option<&'static RouteSpec> {
    let segments: Vec<&str> = path
        .trim_start_matches("/v1")
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    route_table()
        .iter()
        .find(|r| r.verb.accepts(method) && r.matches_path(&segments))
}

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
    let mut router = Router::new();
    for r in table() {
        // Routes of one path with different methods merge into one method router.
        router = router.route(r.spec.path, r.handler);
    }
    router
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every route is found by a request to its own path (none shadows another), with or
    /// without the `/v1` prefix, and HEAD reaches the GET routes as axum serves them.
    #[test]
    fn each_route_is_found_by_its_own_path() {
        for spec in route_table() {
            let path = spec
                .path
                .split('/')
                .map(|s| if s.starts_with('{') { "x1" } else { s })
                .collect::<Vec<_>>()
                .join("/");
            let method =
                Method::from_bytes(spec.verb.as_str().as_bytes()).unwrap_or_else(|e| panic!("{e}"));
            for p in [path.clone(), format!("/v1{path}")] {
                assert_eq!(route_of(&method, &p), Some(spec), "{method} {p}");
            }
            if spec.verb == Verb::Get {
                assert_eq!(route_of(&Method::HEAD, &path), Some(spec), "HEAD {path}");
            }
        }
    }

    #[test]
    fn requests_no_route_serves_are_not_found() {
        for (method, path) in [
            (Method::GET, "/v1/nope"),
            (Method::PUT, "/v1/projects/x"),
            (Method::POST, "/v1/projects/x/ingest/ftp"),
            (Method::GET, "/v1/projects/x/content/y"),
            (Method::GET, "/v1"),
        ] {
            assert_eq!(route_of(&method, path), None, "{method} {path}");
        }
    }

    /// The documented classes: every GET reads; PATCH and DELETE write; a POST is
    /// long-running exactly when it starts a job.
    #[test]
    fn classes_follow_the_documented_rule() {
        for spec in route_table() {
            let expected = match spec.verb {
                Verb::Get => EndpointClass::ReadLight,
                Verb::Patch | Verb::Delete => EndpointClass::WriteLight,
                Verb::Post if spec.class == EndpointClass::LongRunning => continue,
                Verb::Post => EndpointClass::WriteLight,
            };
            assert_eq!(spec.class, expected, "{} {}", spec.verb.as_str(), spec.path);
        }
        let long: Vec<&str> = route_table()
            .iter()
            .filter(|r| r.class == EndpointClass::LongRunning)
            .map(|r| r.path)
            .collect();
        assert_eq!(
            long,
            [
                "/projects/{id}/ingest/appstore",
                "/projects/{id}/ingest/github",
                "/projects/{id}/ingest/website",
                "/projects/{id}/content",
                "/content/{id}/regenerate",
                "/projects/{id}/influencers",
            ]
        );
    }
}
