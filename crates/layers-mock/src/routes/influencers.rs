//! Influencers: list, create (a training job), get, patch, soft delete.

use std::time::Instant;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use chrono::Utc;
use serde_json::{Map, Value, json};

use super::extract::{PathParams, RawBody};
use super::ingest::roll_failure;
use super::projects::project_id;
use crate::error::{ApiError, ApiResult};
use crate::ids::prefixed;
use crate::input::{QueryParams, json_object};
use crate::jobs::{Effect, Job, JobKind, JobPlan};
use crate::pagination::Page;
use crate::state::AppState;
use crate::store::Influencer;
use crate::timestamp::iso;
use crate::validate::Issues;

const GENDERS: &[&str] = &["male", "female", "nonbinary", "unspecified"];
const STATUSES: &[&str] = &["draft", "pending", "training", "ready", "failed"];
/// Free-text identity fields (all optional strings).
const TEXT_FIELDS: &[&str] = &[
    "ethnicity",
    "bodyType",
    "hairColor",
    "hairStyle",
    "style",
    "vibe",
    "voiceDescription",
];

/// Validates identity fields and returns the ones present.
fn identity_fields(
    issues: &mut Issues,
    body: &Map<String, Value>,
    name_required: bool,
) -> Map<String, Value> {
    let mut fields = Map::new();
    if let Some(name) = issues.string(body, "name", name_required, 1, 128) {
        fields.insert("name".into(), json!(name));
    }
    if let Some(gender) = issues.one_of(body, "gender", false, GENDERS) {
        fields.insert("gender".into(), json!(gender));
    }
    if let Some(age) = issues.string(body, "ageRange", false, 1, 16) {
        fields.insert("ageRange".into(), json!(age));
    }
    for field in TEXT_FIELDS {
        if let Some(value) = issues.string(body, field, false, 0, 1000) {
            fields.insert((*field).into(), json!(value));
        }
    }
    if let Some(personality) = issues.object(body, "personality") {
        fields.insert("personality".into(), Value::Object(personality));
    }
    if let Some(images) = issues.object(body, "referenceImages") {
        let ids = images
            .get("assetIds")
            .and_then(Value::as_array)
            .map(Vec::len);
        if !matches!(ids, Some(1..=20)) {
            issues.add("referenceImages.assetIds", "must hold 1–20 asset ids");
        }
        fields.insert(
            "referenceImages".into(),
            images.get("assetIds").cloned().unwrap_or(json!([])),
        );
    }
    fields
}

/// `GET /v1/projects/:id/influencers` (deleted ones excluded).
pub async fn list(
    State(state): State<AppState>,
    PathParams(raw): PathParams<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let project = project_id(&raw)?;
    let query = QueryParams::parse(query.as_deref());
    let page = Page::from_query(&query, 25, 100, true)?;
    let status = query.get("status");
    if let Some(status) = status
        && !STATUSES.contains(&status)
    {
        return Err(ApiError::validation(
            "status",
            format!("must be one of {}", STATUSES.join(", ")),
        ));
    }
    let now = Instant::now();
    let mut store = state.store();
    if store.project(&project).is_none() {
        return Err(ApiError::not_found("Project", &raw));
    }
    let mut items = Vec::new();
    for id in store.influencer_ids_newest_first() {
        if store
            .influencer(&id)
            .is_none_or(|i| i.project_id != project)
        {
            continue;
        }
        if let Some(item) = store.influencer_summary(&id, now)
            && status.is_none_or(|s| item["status"] == s)
        {
            items.push(item);
        }
    }
    Ok(Json(page.render(items)))
}

/// `POST /v1/projects/:id/influencers` → 202 with an `influencer_create` job.
pub async fn create(
    State(state): State<AppState>,
    PathParams(raw): PathParams<String>,
    RawBody(body): RawBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let project = project_id(&raw)?;
    let body = json_object(&body)?;
    let mut issues = Issues::default();
    let requested_id = issues.string(&body, "influencerId", false, 1, 64);
    let fields = identity_fields(&mut issues, &body, true);
    issues.finish()?;

    let config = state.config();
    let influencer_id = requested_id.unwrap_or_else(|| prefixed("inf", state.ids().ulid()));
    let mut pointers = Map::new();
    pointers.insert("projectId".into(), json!(project.to_string()));
    pointers.insert("influencerId".into(), json!(influencer_id));
    let plan = JobPlan {
        duration: config.job_duration,
        effect_after: config.scrape_after,
        effect: Effect::None,
        fails: roll_failure(&state),
        result: json!({ "influencerId": influencer_id, "status": "ready" }),
        error: json!({ "code": "TRAINING_FAILED", "message": "Influencer training failed." }),
    };
    let job_id = prefixed("job", state.ids().ulid());
    let now = Utc::now();

    let mut store = state.store();
    if store.project(&project).is_none() {
        return Err(ApiError::not_found("Project", &raw));
    }
    if store.influencer_exists(&influencer_id) {
        return Err(ApiError::conflict(
            format!("Influencer {influencer_id} already exists."),
            json!({ "influencerId": influencer_id }),
        ));
    }
    let job = Job::start(
        job_id.clone(),
        JobKind::InfluencerCreate,
        pointers,
        plan,
        &mut store.ledger,
    );
    let envelope = job.envelope();
    crate::webhooks::watch_job(&state, store.insert_job(job));
    store.insert_influencer(Influencer {
        id: influencer_id,
        project_id: project,
        job_id,
        fields,
        created_at: now,
        updated_at: now,
        deleted_at: None,
    });
    Ok((StatusCode::ACCEPTED, Json(envelope)))
}

/// `GET /v1/influencers/:id`
pub async fn get(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
) -> ApiResult<Json<Value>> {
    let view = state.store().influencer_view(&id, Instant::now());
    view.map(Json)
        .ok_or_else(|| ApiError::not_found("Influencer", &id))
}

/// `PATCH /v1/influencers/:id`: at least one field; unknown fields rejected (strict).
pub async fn patch(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
    RawBody(body): RawBody,
) -> ApiResult<Json<Value>> {
    let body = json_object(&body)?;
    let mut issues = Issues::default();
    let known = |k: &str| {
        matches!(
            k,
            "name" | "gender" | "ageRange" | "personality" | "referenceImages"
        ) || TEXT_FIELDS.contains(&k)
    };
    for key in body.keys().filter(|k| !known(k)) {
        issues.add(key.clone(), "is not a patchable field");
    }
    if body.is_empty() {
        issues.add("body", "must change at least one field");
    }
    let fields = identity_fields(&mut issues, &body, false);
    issues.finish()?;
    let mut store = state.store();
    let influencer = store
        .influencer_mut(&id)
        .ok_or_else(|| ApiError::not_found("Influencer", &id))?;
    influencer.fields.extend(fields);
    influencer.updated_at = Utc::now();
    let view = store
        .influencer_view(&id, Instant::now())
        .unwrap_or(Value::Null);
    Ok(Json(view))
}

/// `DELETE /v1/influencers/:id`: soft delete; later reads answer 404.
pub async fn delete(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
    RawBody(body): RawBody,
) -> ApiResult<Json<Value>> {
    let body = json_object(&body)?;
    let mut issues = Issues::default();
    issues.string(&body, "reason", false, 0, 1024);
    issues.finish()?;
    let now = Utc::now();
    let mut store = state.store();
    let influencer = store
        .influencer_mut(&id)
        .ok_or_else(|| ApiError::not_found("Influencer", &id))?;
    influencer.deleted_at = Some(now);
    Ok(Json(
        json!({ "influencerId": id, "status": "deleted", "deletedAt": iso(now) }),
    ))
}
