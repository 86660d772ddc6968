//! Content: generate (costs credits), read, regenerate (costs again), approve, publish,
//! schedule. Publishing and scheduling record posts in the ledger instead of posting.

use std::time::Instant;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::Utc;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::account::credits_per_format;
use super::extract::{PathParams, RawBody};
use super::ingest::roll_failure;
use super::projects::project_id;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::ids::prefixed;
use crate::input::{QueryParams, json_object};
use crate::jobs::{Effect, Job, JobKind, JobPlan};
use crate::pagination::Page;
use crate::state::AppState;
use crate::store::{Asset, Container, ScheduledPost, Store};
use crate::timestamp::{iso, parse};
use crate::validate::Issues;

const FORMATS: &[&str] = &["video_remix", "slideshow_remix", "ugc_remix", "auto"];
const MAX_TARGETS: usize = 50;

type Accepted = (StatusCode, Json<Value>);

/// `POST /v1/projects/:id/content` → 202 with the job envelope and `containerIds`.
pub async fn create(
    State(state): State<AppState>,
    PathParams(raw): PathParams<String>,
    RawBody(body): RawBody,
) -> ApiResult<Accepted> {
    let project = project_id(&raw)?;
    let body = json_object(&body)?;
    let mut issues = Issues::default();
    let format = issues
        .one_of(&body, "format", false, FORMATS)
        .unwrap_or_else(|| "auto".into());
    let variants = issues.integer(&body, "variantCount", 1, 5).unwrap_or(1);
    let brief = issues
        .object(&body, "brief")
        .map(Value::Object)
        .unwrap_or(json!({}));
    issues.string(&body, "projectLayerId", false, 1, 64);
    issues.finish()?;

    let cost = credits_per_format(&format) * variants;
    let containers: Vec<Container> = (0..variants)
        .map(|_| new_container(&state, project, &format, brief.clone(), String::new()))
        .collect();
    let container_ids: Vec<String> = containers.iter().map(|c| c.id.clone()).collect();
    let assets: Vec<Value> = containers
        .iter()
        .flat_map(|c| c.assets.iter().map(Asset::view))
        .collect();
    let mut pointers = Map::new();
    pointers.insert("projectId".into(), json!(project.to_string()));
    pointers.insert("containerId".into(), json!(container_ids.first()));
    pointers.insert("containerIds".into(), json!(container_ids));
    let result = json!({ "containerId": container_ids.first(), "containerIds": container_ids, "assets": assets });

    let mut store = state.store();
    if store.project(&project).is_none() {
        return Err(ApiError::not_found("Project", &raw));
    }
    debit(&mut store, cost)?;
    let job = start_job(&state, &mut store, pointers, result);
    let envelope = job.envelope();
    for mut container in containers {
        container.job_id = job.id.clone();
        store.insert_container(container);
    }
    crate::webhooks::watch_job(&state, store.insert_job(job));
    Ok((StatusCode::ACCEPTED, Json(envelope)))
}

fn debit(store: &mut Store, cost: i64) -> ApiResult<()> {
    store.debit(cost).map_err(|balance| {
        ApiError::new(
            StatusCode::PAYMENT_REQUIRED,
            "PAYMENT_REQUIRED",
            format!("Insufficient credits: {cost} required, {balance} available."),
        )
        .with_details(
            json!({ "reason": "insufficient_credits", "required": cost, "balance": balance }),
        )
    })
}

fn start_job(
    state: &AppState,
    store: &mut Store,
    pointers: Map<String, Value>,
    result: Value,
) -> Job {
    let config = state.config();
    let plan = JobPlan {
        duration: config.job_duration,
        effect_after: config.scrape_after,
        effect: Effect::None,
        fails: roll_failure(state),
        result,
        error: json!({ "code": "GENERATION_FAILED", "message": "Rendering failed." }),
    };
    Job::start(
        prefixed("job", state.ids().ulid()),
        JobKind::ContentGenerate,
        pointers,
        plan,
        &mut store.ledger,
    )
}

fn new_container(
    state: &AppState,
    project: Uuid,
    format: &str,
    brief: Value,
    job_id: String,
) -> Container {
    let topic = brief
        .get("topic")
        .and_then(Value::as_str)
        .unwrap_or("your app")
        .to_string();
    Container {
        id: prefixed("cnt", state.ids().ulid()),
        project_id: project,
        job_id,
        format: format.to_string(),
        brief,
        caption: format!("Discover {topic} ✨"),
        assets: new_assets(state, format),
        approval_status: "not_required".into(),
        approved_at: None,
        created_at: Utc::now(),
    }
}

fn new_assets(state: &AppState, format: &str) -> Vec<Asset> {
    let (kind, count, mime, ext) = if format == "slideshow_remix" {
        ("image", 3, "image/jpeg", "jpg")
    } else {
        ("video", 1, "video/mp4", "mp4")
    };
    (0..count)
        .map(|_| {
            let asset_id = prefixed("asset", state.ids().ulid());
            Asset {
                url: format!("https://cdn.mock.layers.invalid/assets/{asset_id}.{ext}"),
                thumbnail_url: format!(
                    "https://cdn.mock.layers.invalid/assets/{asset_id}.thumb.jpg"
                ),
                duration_ms: (kind == "video").then_some(15_000),
                checksum_sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
                    asset_id.as_bytes(),
                )),
                asset_id,
                kind,
                mime_type: mime,
                size_bytes: if kind == "video" { 4_812_331 } else { 284_113 },
            }
        })
        .collect()
}

/// `GET /v1/projects/:id/content`
pub async fn list(
    State(state): State<AppState>,
    PathParams(raw): PathParams<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let project = project_id(&raw)?;
    let query = QueryParams::parse(query.as_deref());
    let page = Page::from_query(&query, 25, 200, true)?;
    let statuses = query.all("status");
    let format = query.get("format");
    let now = Instant::now();
    let mut store = state.store();
    if store.project(&project).is_none() {
        return Err(ApiError::not_found("Project", &raw));
    }
    let mut items = Vec::new();
    for id in store.container_ids_newest_first() {
        let Some(container) = store.container(&id) else {
            continue;
        };
        if container.project_id != project || format.is_some_and(|f| container.format != f) {
            continue;
        }
        let Some(view) = store.container_view(&id, now) else {
            continue;
        };
        let status = view["status"].as_str().unwrap_or_default();
        if statuses.is_empty() || statuses.iter().any(|s| s == status) {
            items.push(view);
        }
    }
    Ok(Json(page.render(items)))
}

/// `GET /v1/content/:id`
pub async fn get(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
) -> ApiResult<Json<Value>> {
    let view = state.store().container_view(&id, Instant::now());
    view.map(Json)
        .ok_or_else(|| ApiError::not_found("Content container", &id))
}

/// `GET /v1/content/:id/progress`
pub async fn progress(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
) -> ApiResult<Json<Value>> {
    let view = state.store().container_progress(&id, Instant::now());
    view.map(Json)
        .ok_or_else(|| ApiError::not_found("Content container", &id))
}

/// `GET /v1/content/:id/assets/:assetId` (assets exist once generation completed).
pub async fn asset(
    State(state): State<AppState>,
    PathParams((id, asset_id)): PathParams<(String, String)>,
) -> ApiResult<Json<Value>> {
    let mut store = state.store();
    let view = store
        .container_view(&id, Instant::now())
        .ok_or_else(|| ApiError::not_found("Content container", &id))?;
    let asset = view["assets"]
        .as_array()
        .and_then(|assets| assets.iter().find(|a| a["assetId"] == asset_id.as_str()))
        .ok_or_else(|| ApiError::not_found("Asset", &asset_id))?;
    let mut body = json!({ "containerId": id });
    if let (Some(body), Some(asset)) = (body.as_object_mut(), asset.as_object()) {
        body.extend(asset.clone());
    }
    Ok(Json(body))
}

/// `POST /v1/content/:id/regenerate` → 202; costs the container's format price again.
pub async fn regenerate(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
    RawBody(body): RawBody,
) -> ApiResult<Accepted> {
    let body = json_object(&body)?;
    let mut issues = Issues::default();
    let brief = issues.object(&body, "brief");
    issues.object(&body, "references");
    let preserve_assets = issues.boolean(&body, "preserveAssets").unwrap_or(false);
    issues.finish()?;

    let (project, format, old_brief, old_assets) = {
        let store = state.store();
        let c = store
            .container(&id)
            .ok_or_else(|| ApiError::not_found("Content container", &id))?;
        (
            c.project_id,
            c.format.clone(),
            c.brief.clone(),
            c.assets.clone(),
        )
    };
    let mut merged = old_brief.as_object().cloned().unwrap_or_default();
    merged.extend(brief.unwrap_or_default());
    let assets = if preserve_assets {
        old_assets
    } else {
        new_assets(&state, &format)
    };
    let asset_views: Vec<Value> = assets.iter().map(Asset::view).collect();
    let mut pointers = Map::new();
    pointers.insert("projectId".into(), json!(project.to_string()));
    pointers.insert("containerId".into(), json!(id));
    let result = json!({ "containerId": id, "assets": asset_views });

    let mut store = state.store();
    if store.container(&id).is_none() {
        return Err(ApiError::not_found("Content container", &id));
    }
    debit(&mut store, credits_per_format(&format))?;
    let job = start_job(&state, &mut store, pointers, result);
    let envelope = job.envelope();
    if let Some(container) = store.container_mut(&id) {
        container.job_id = job.id.clone();
        container.brief = Value::Object(merged);
        container.assets = assets;
        if container.approval_status == "approved" {
            container.approval_status = "pending".into();
        }
    }
    crate::webhooks::watch_job(&state, store.insert_job(job));
    Ok((StatusCode::ACCEPTED, Json(envelope)))
}

/// `POST /v1/content/:id/approve`
pub async fn approve(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams(id): PathParams<String>,
    RawBody(body): RawBody,
) -> ApiResult<Json<Value>> {
    let body = json_object(&body)?;
    let mut issues = Issues::default();
    issues.string(&body, "note", false, 0, 1024);
    issues.finish()?;
    let now = Utc::now();
    let mut store = state.store();
    let container = store
        .container_mut(&id)
        .ok_or_else(|| ApiError::not_found("Content container", &id))?;
    container.approval_status = "approved".into();
    container.approved_at = Some(now);
    Ok(Json(json!({
        "id": id,
        "approvalStatus": "approved",
        "approvedAt": iso(now),
        "approvedBy": format!("api_key:{}", principal.api_key_id),
    })))
}

/// One validated publish / schedule target.
struct Target {
    social_account_id: String,
    mode: String,
}

fn targets(issues: &mut Issues, body: &Map<String, Value>) -> Vec<Target> {
    let Some(items) = body.get("targets").and_then(Value::as_array) else {
        issues.add("targets", "is required (an array of at least one target)");
        return Vec::new();
    };
    if items.is_empty() || items.len() > MAX_TARGETS {
        issues.add("targets", format!("must hold 1–{MAX_TARGETS} targets"));
        return Vec::new();
    }
    let mut targets = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Some(target) = item.as_object() else {
            issues.add(format!("targets[{i}]"), "must be an object");
            continue;
        };
        let mut inner = Issues::default();
        let account = inner.string(target, "socialAccountId", true, 1, 128);
        let mode = inner.string(target, "mode", true, 1, 64);
        inner.string(target, "captionOverride", false, 0, 4000);
        inner.string(target, "firstCommentOverride", false, 0, 4000);
        for (path, message) in inner.into_pairs() {
            issues.add(format!("targets[{i}].{path}"), message);
        }
        if let (Some(social_account_id), Some(mode)) = (account, mode) {
            targets.push(Target {
                social_account_id,
                mode,
            });
        }
    }
    targets
}

/// 409 unless the container finished generating.
fn require_completed(store: &mut Store, id: &str) -> ApiResult<()> {
    let status = store
        .container_status(id, Instant::now())
        .ok_or_else(|| ApiError::not_found("Content container", id))?;
    if status != "completed" {
        return Err(ApiError::conflict(
            format!("Content container {id} is {status}; only completed content can be posted."),
            json!({ "reason": "not_completed", "containerId": id, "status": status }),
        ));
    }
    Ok(())
}

fn record_posts(
    state: &AppState,
    store: &mut Store,
    id: &str,
    targets: Vec<Target>,
    scheduled_for: &str,
    status: &'static str,
) -> Vec<Value> {
    let mut views = Vec::new();
    for target in targets {
        let post = ScheduledPost {
            id: prefixed("sp", state.ids().ulid()),
            container_id: id.to_string(),
            social_account_id: target.social_account_id,
            mode: target.mode,
            scheduled_for: scheduled_for.to_string(),
            status,
        };
        views.push(post.view());
        store.ledger.posts += 1;
        store.scheduled_posts.push(post);
    }
    views
}

/// `POST /v1/content/:id/publish` → 202; one post per target, recorded not posted.
pub async fn publish(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
    RawBody(body): RawBody,
) -> ApiResult<Accepted> {
    let body = json_object(&body)?;
    let mut issues = Issues::default();
    let targets = targets(&mut issues, &body);
    issues.finish()?;
    let mut store = state.store();
    require_completed(&mut store, &id)?;
    let approval = store
        .container(&id)
        .map(|c| c.approval_status.clone())
        .unwrap_or_default();
    if matches!(approval.as_str(), "pending" | "rejected") {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "APPROVAL_REQUIRED",
            format!("Content container {id} is not approved."),
        )
        .with_details(json!({ "containerId": id, "approvalStatus": approval })));
    }
    let now = iso(Utc::now());
    let posts = record_posts(&state, &mut store, &id, targets, &now, "publishing");
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "containerId": id, "scheduledPosts": posts })),
    ))
}

/// `POST /v1/content/:id/schedule` → 202; posts recorded now, at scheduling time.
pub async fn schedule(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
    RawBody(body): RawBody,
) -> ApiResult<Accepted> {
    let body = json_object(&body)?;
    let mut issues = Issues::default();
    let scheduled_for = issues.string(&body, "scheduledFor", true, 1, 64);
    let when = scheduled_for.as_deref().and_then(parse);
    if scheduled_for.is_some() && when.is_none() {
        issues.add("scheduledFor", "must be an ISO 8601 timestamp");
    }
    let targets = targets(&mut issues, &body);
    issues.finish()?;
    let when = iso(when.unwrap_or_else(Utc::now));

    let mut store = state.store();
    require_completed(&mut store, &id)?;
    let approval = store
        .container(&id)
        .map(|c| c.approval_status.clone())
        .unwrap_or_default();
    match approval.as_str() {
        "rejected" => Err(ApiError::new(
            StatusCode::CONFLICT,
            "CONTENT_REJECTED",
            format!("Content container {id} was rejected."),
        )
        .with_details(json!({ "containerId": id }))),
        "pending" => Ok((
            StatusCode::ACCEPTED,
            Json(json!({
                "containerId": id,
                "scheduledFor": when,
                "gateStatus": "blocked_on_approval",
                "scheduledPosts": [],
            })),
        )),
        _ => {
            let posts = record_posts(&state, &mut store, &id, targets, &when, "scheduled");
            Ok((
                StatusCode::ACCEPTED,
                Json(json!({
                    "containerId": id,
                    "scheduledFor": when,
                    "gateStatus": "scheduled",
                    "scheduledPosts": posts,
                })),
            ))
        }
    }
}
