//! Metrics and ads reads: validated like the real API, answered with zeros and empty lists
//! (nothing was ever posted or advertised).

use axum::Json;
use axum::extract::{RawQuery, State};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value, json};

use super::extract::PathParams;
use super::projects::require_project;
use crate::error::{ApiError, ApiResult};
use crate::input::QueryParams;
use crate::pagination::Page;
use crate::state::AppState;
use crate::timestamp::{iso, parse};

const METRICS: &[&str] = &[
    "views",
    "reach",
    "impressions",
    "likes",
    "comments",
    "shares",
    "saves",
    "watch_time_ms",
    "engagement_rate",
    "followers",
    "follower_delta",
    "posts_published",
];
const METRIC_SCOPES: &[&str] = &[
    "platform_post",
    "social_account",
    "project",
    "project_layer",
    "organization",
];
const ADS_METRICS: &[&str] = &[
    "spend",
    "impressions",
    "clicks",
    "conversions",
    "cpa",
    "cpc",
    "cpm",
    "ctr",
    "roas",
    "reach",
    "frequency",
];
const ADS_SCOPES: &[&str] = &["ad", "adset", "campaign", "ad_account", "project"];
const AD_PLATFORMS: &[&str] = &["meta_ads", "tiktok_ads", "apple_ads"];
/// Most buckets one series returns; wider windows are cut (keeps responses small).
const MAX_BUCKETS: i64 = 1000;

/// What a metrics query asked for.
struct MetricsQuery {
    scope: String,
    id: String,
    metrics: Vec<String>,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    granularity: String,
}

fn read_query(
    query: &QueryParams,
    scopes: &[&str],
    known: &[&str],
    granularities: &[&str],
) -> ApiResult<MetricsQuery> {
    let scope = query
        .get("scope")
        .ok_or_else(|| ApiError::validation("scope", "is required"))?;
    if !scopes.contains(&scope) {
        return Err(ApiError::validation(
            "scope",
            format!("must be one of {}", scopes.join(", ")),
        ));
    }
    let id = query
        .get("id")
        .filter(|id| !id.is_empty())
        .ok_or_else(|| ApiError::validation("id", "is required"))?;
    let mut metrics = query.all("metrics");
    if let Some(unknown) = metrics.iter().find(|m| !known.contains(&m.as_str())) {
        return Err(ApiError::validation(
            "metrics",
            format!("unknown metric {unknown:?}"),
        ));
    }
    if metrics.is_empty() {
        metrics = known.iter().map(|m| m.to_string()).collect();
    }
    let now = Utc::now();
    let time = |name: &str, default: DateTime<Utc>| match query.get(name) {
        None => Ok(default),
        Some(raw) => {
            parse(raw).ok_or_else(|| ApiError::validation(name, "must be an ISO 8601 timestamp"))
        }
    };
    let since = time("since", now - Duration::days(30))?;
    let until = time("until", now)?;
    if since >= until {
        return Err(ApiError::validation("since", "must be before until"));
    }
    let granularity = query.get("granularity").unwrap_or("day");
    if !granularities.contains(&granularity) {
        return Err(ApiError::validation(
            "granularity",
            format!("must be one of {}", granularities.join(", ")),
        ));
    }
    Ok(MetricsQuery {
        scope: scope.to_string(),
        id: id.to_string(),
        metrics,
        since,
        until,
        granularity: granularity.to_string(),
    })
}

fn zero_series(query: &MetricsQuery) -> Value {
    let step = match query.granularity.as_str() {
        "hour" => Duration::hours(1),
        "week" => Duration::weeks(1),
        _ => Duration::days(1),
    };
    let zeros: Map<String, Value> = query
        .metrics
        .iter()
        .map(|m| (m.clone(), json!(0)))
        .collect();
    let mut series = Vec::new();
    let mut start = query.since;
    while start < query.until && (series.len() as i64) < MAX_BUCKETS {
        series.push(json!({ "start": iso(start), "end": iso((start + step).min(query.until)), "values": zeros }));
        start += step;
    }
    json!({
        "scope": query.scope,
        "id": query.id,
        "granularity": query.granularity,
        "since": iso(query.since),
        "until": iso(query.until),
        "series": series,
        "totals": zeros,
    })
}

/// `GET /v1/projects/:id/metrics`
pub async fn metrics(
    State(state): State<AppState>,
    PathParams(raw): PathParams<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let project = require_project(&state, &raw)?;
    let query = read_query(
        &QueryParams::parse(query.as_deref()),
        METRIC_SCOPES,
        METRICS,
        &["hour", "day", "week"],
    )?;
    let mut body = zero_series(&query);
    body["projectId"] = json!(project.to_string());
    Ok(Json(body))
}

/// `GET /v1/projects/:id/ads-metrics`
pub async fn ads_metrics(
    State(state): State<AppState>,
    PathParams(raw): PathParams<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let project = require_project(&state, &raw)?;
    let params = QueryParams::parse(query.as_deref());
    let platforms = params.all("platforms");
    if let Some(unknown) = platforms
        .iter()
        .find(|p| !AD_PLATFORMS.contains(&p.as_str()))
    {
        return Err(ApiError::validation(
            "platforms",
            format!("unknown platform {unknown:?}"),
        ));
    }
    let query = read_query(&params, ADS_SCOPES, ADS_METRICS, &["day", "week"])?;
    let mut body = zero_series(&query);
    body["projectId"] = json!(project.to_string());
    body["platforms"] = json!(platforms);
    Ok(Json(body))
}

/// `GET /v1/projects/:id/ads/campaigns` and `…/ads/ads`: always empty (no ad accounts).
/// Malformed cursors are treated as the first page, as documented for ads lists.
pub async fn empty_ads_list(
    State(state): State<AppState>,
    PathParams(raw): PathParams<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    require_project(&state, &raw)?;
    let query = QueryParams::parse(query.as_deref());
    let limit_ok = query
        .get("limit")
        .is_none_or(|l| l.parse::<usize>().is_ok_and(|n| (1..=200).contains(&n)));
    if !limit_ok {
        return Err(ApiError::validation(
            "limit",
            "must be an integer from 1 to 200",
        ));
    }
    let page = Page::from_query(&query, 100, 200, false)?;
    Ok(Json(page.render(Vec::new())))
}
