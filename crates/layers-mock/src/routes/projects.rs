//! Projects: list, create, get, patch, archive.

use std::time::Instant;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use chrono::Utc;
use serde_json::{Value, json};
use uuid::Uuid;

use super::extract::{PathParams, RawBody};
use crate::error::{ApiError, ApiResult};
use crate::input::{QueryParams, json_object, uuid_id};
use crate::pagination::Page;
use crate::state::{AppState, ORG_ID};
use crate::store::Project;
use crate::timestamp::iso;
use crate::validate::Issues;

const METADATA_MAX_BYTES: usize = 8 * 1024;
const DEFAULT_OWNER: &str = "owner@mock-org.example";
/// Fields a PATCH may not touch: system-owned.
const READ_ONLY: &[&str] = &[
    "id",
    "organizationId",
    "createdAt",
    "updatedAt",
    "ingestState",
    "brandContext",
];

/// Parses a project path id (bare UUID or `prj_`-prefixed).
pub fn project_id(raw: &str) -> ApiResult<Uuid> {
    uuid_id(raw, "prj_", "projectId")
}

/// 404 unless the project exists.
pub fn require_project(state: &AppState, raw: &str) -> ApiResult<Uuid> {
    let id = project_id(raw)?;
    if state.store().project(&id).is_none() {
        return Err(ApiError::not_found("Project", raw));
    }
    Ok(id)
}

/// `GET /v1/projects`
pub async fn list(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let query = QueryParams::parse(raw.as_deref());
    let page = Page::from_query(&query, 25, 200, true)?;
    let status = query.get("status");
    if let Some(status) = status
        && !matches!(status, "active" | "archived")
    {
        return Err(ApiError::validation("status", "must be active or archived"));
    }
    let search = query.get("search").map(str::to_lowercase);
    let external_id = query.get("customerExternalId");
    let now = Instant::now();
    let mut store = state.store();
    let ids: Vec<Uuid> = store
        .projects_newest_first()
        .filter(|p| status.is_none_or(|s| p.status == s))
        .filter(|p| {
            search
                .as_ref()
                .is_none_or(|s| p.name.to_lowercase().contains(s))
        })
        .filter(|p| external_id.is_none_or(|e| p.customer_external_id.as_deref() == Some(e)))
        .map(|p| p.id)
        .collect();
    // Render only the requested page: rendering settles ingest jobs.
    let total = ids.len();
    let mut items: Vec<Value> = vec![Value::Null; total];
    for (slot, id) in items
        .iter_mut()
        .zip(&ids)
        .skip(page.offset)
        .take(page.limit)
    {
        *slot = store.project_view(id, now).unwrap_or(Value::Null);
    }
    Ok(Json(page.render(items)))
}

/// `POST /v1/projects` → 201, or 200 with the existing row for a known
/// `customerExternalId` (or partner-chosen `id`).
pub async fn create(
    State(state): State<AppState>,
    RawBody(body): RawBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let body = json_object(&body)?;
    let mut issues = Issues::default();
    let id = issues
        .string(&body, "id", false, 1, 64)
        .and_then(|raw| match Uuid::parse_str(&raw) {
            Ok(id) => Some(id),
            Err(_) => {
                issues.add("id", "must be a UUID");
                None
            }
        });
    let name = issues.string(&body, "name", true, 1, 128);
    let timezone = issues.string(&body, "timezone", true, 1, 64);
    let external_id = issues.string(&body, "customerExternalId", false, 1, 255);
    let owner_email = issues.string(&body, "ownerEmail", false, 3, 320);
    if owner_email.as_ref().is_some_and(|e| !e.contains('@')) {
        issues.add("ownerEmail", "must be an e-mail address");
    }
    let language = issues.string(&body, "primaryLanguage", false, 2, 35);
    let metadata = check_metadata(&mut issues, &body);
    issues.finish()?;
    let (Some(name), Some(timezone)) = (name, timezone) else {
        return Err(ApiError::validation("name", "is required"));
    };

    let now = Instant::now();
    let created_at = Utc::now();
    let new_id = id.unwrap_or_else(|| state.ids().uuid());
    // Check and insert under one lock so racing creates with one external id make one row.
    let mut store = state.store();
    let existing = id.filter(|id| store.project(id).is_some()).or_else(|| {
        external_id
            .as_deref()
            .and_then(|e| store.project_by_external_id(e))
            .map(|p| p.id)
    });
    if let Some(existing) = existing {
        let view = store.project_view(&existing, now).unwrap_or(Value::Null);
        return Ok((StatusCode::OK, Json(view)));
    }
    store.insert_project(Project {
        id: new_id,
        organization_id: ORG_ID,
        name,
        status: "active".into(),
        customer_external_id: external_id,
        timezone,
        primary_language: language.unwrap_or_else(|| "en".into()),
        owner_email: owner_email.unwrap_or_else(|| DEFAULT_OWNER.into()),
        metadata: metadata.unwrap_or_else(|| json!({})),
        created_at,
        updated_at: created_at,
        github: None,
        website: None,
        appstore: None,
    });
    let view = store.project_view(&new_id, now).unwrap_or(Value::Null);
    Ok((StatusCode::CREATED, Json(view)))
}

fn check_metadata(issues: &mut Issues, body: &serde_json::Map<String, Value>) -> Option<Value> {
    let metadata = issues.object(body, "metadata").map(Value::Object)?;
    if metadata.to_string().len() > METADATA_MAX_BYTES {
        issues.add("metadata", "must be at most 8 KB of JSON");
        return None;
    }
    Some(metadata)
}

/// `GET /v1/projects/:id`
pub async fn get(
    State(state): State<AppState>,
    PathParams(raw): PathParams<String>,
) -> ApiResult<Json<Value>> {
    let id = project_id(&raw)?;
    let view = state.store().project_view(&id, Instant::now());
    view.map(Json)
        .ok_or_else(|| ApiError::not_found("Project", &raw))
}

/// `PATCH /v1/projects/:id`
pub async fn patch(
    State(state): State<AppState>,
    PathParams(raw): PathParams<String>,
    RawBody(body): RawBody,
) -> ApiResult<Json<Value>> {
    let id = project_id(&raw)?;
    let body = json_object(&body)?;
    let read_only: Vec<&str> = READ_ONLY
        .iter()
        .copied()
        .filter(|field| body.contains_key(*field))
        .collect();
    if !read_only.is_empty() {
        let issues: Vec<Value> = read_only
            .iter()
            .map(|f| json!({ "path": f, "message": "is read-only" }))
            .collect();
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "VALIDATION",
            format!(
                "Read-only fields cannot be changed: {}",
                read_only.join(", ")
            ),
        )
        .with_details(json!({ "issues": issues })));
    }
    let mut issues = Issues::default();
    let name = issues.string(&body, "name", false, 1, 128);
    let status = issues.one_of(&body, "status", false, &["active", "archived"]);
    let owner_email = issues.string(&body, "ownerEmail", false, 3, 320);
    let timezone = issues.string(&body, "timezone", false, 1, 64);
    let language = issues.string(&body, "primaryLanguage", false, 2, 35);
    let external_id = issues.string(&body, "customerExternalId", false, 1, 255);
    let metadata = check_metadata(&mut issues, &body);
    issues.finish()?;

    let mut store = state.store();
    if store.project(&id).is_none() {
        return Err(ApiError::not_found("Project", &raw));
    }
    if let Some(external) = &external_id
        && store
            .project_by_external_id(external)
            .is_some_and(|other| other.id != id)
    {
        return Err(ApiError::conflict(
            "customerExternalId is already used by another project in this organization.",
            json!({ "field": "customerExternalId" }),
        ));
    }
    if let Some(project) = store.project_mut(&id) {
        if let Some(v) = name {
            project.name = v;
        }
        if let Some(v) = status {
            project.status = v;
        }
        if let Some(v) = owner_email {
            project.owner_email = v;
        }
        if let Some(v) = timezone {
            project.timezone = v;
        }
        if let Some(v) = language {
            project.primary_language = v;
        }
        if let Some(v) = metadata {
            project.metadata = v;
        }
        project.updated_at = Utc::now();
    }
    if let Some(v) = external_id {
        store.set_external_id(&id, v);
    }
    let view = store
        .project_view(&id, Instant::now())
        .unwrap_or(Value::Null);
    Ok(Json(view))
}

/// `DELETE /v1/projects/:id`: archives; repeating it is fine and refreshes `archivedAt`.
pub async fn archive(
    State(state): State<AppState>,
    PathParams(raw): PathParams<String>,
) -> ApiResult<Json<Value>> {
    let id = project_id(&raw)?;
    let now = Utc::now();
    let mut store = state.store();
    let project = store
        .project_mut(&id)
        .ok_or_else(|| ApiError::not_found("Project", &raw))?;
    project.status = "archived".into();
    project.updated_at = now;
    Ok(Json(json!({
        "id": id.to_string(),
        "status": "archived",
        "archivedAt": iso(now),
        "canceledScheduledPosts": 0,
    })))
}
