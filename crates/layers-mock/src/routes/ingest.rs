//! Ingests: App Store, GitHub, website. Each answers 202 with a job envelope; the
//! outbound scrape or agent run is recorded in the ledger when the job reaches it.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::extract::{PathParams, RawBody};
use super::projects::project_id;
use crate::error::{ApiError, ApiResult};
use crate::ids::prefixed;
use crate::input::json_object;
use crate::jobs::{Effect, Job, JobKind, JobPlan};
use crate::state::AppState;
use crate::store::{IngestRecord, IngestSource};
use crate::validate::Issues;

/// What an ingest request resolved to, before the job starts.
struct IngestSpec {
    kind: JobKind,
    source: IngestSource,
    effect: Effect,
    app_name: String,
    result: Value,
    error: Value,
}

/// `POST /v1/projects/:id/ingest/appstore`
pub async fn appstore(
    State(state): State<AppState>,
    PathParams(raw): PathParams<String>,
    RawBody(body): RawBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let id = project_id(&raw)?;
    let body = json_object(&body)?;
    let mut issues = Issues::default();
    let ios = issues.string(&body, "iosBundleId", false, 1, 255);
    let android = issues.string(&body, "androidPackage", false, 1, 255);
    let store_url = issues.http_url(&body, "appStoreUrl", false);
    let country = issues
        .string(&body, "countryCode", false, 2, 2)
        .map(|c| c.to_lowercase())
        .unwrap_or_else(|| "us".into());
    if ios.is_none() && android.is_none() && store_url.is_none() && !issues_has_any(&body) {
        issues.add(
            "iosBundleId",
            "one of iosBundleId, androidPackage or appStoreUrl is required",
        );
    }
    issues.finish()?;
    let app_name = ios
        .as_deref()
        .or(android.as_deref())
        .and_then(|b| b.rsplit('.').next())
        .map(str::to_string)
        .or_else(|| store_url.as_ref().and_then(last_path_segment))
        .unwrap_or_else(|| "app".into());
    let spec = IngestSpec {
        kind: JobKind::IngestAppstore,
        source: IngestSource::Appstore,
        effect: Effect::Scrape,
        result: json!({
            "projectId": id.to_string(),
            "source": "appstore",
            "appName": app_name,
            "iosBundleId": ios,
            "androidPackage": android,
            "countryCode": country,
            "brandContextUpdated": true,
        }),
        error: json!({ "code": "SCRAPE_FAILED", "message": "The store listing could not be scraped." }),
        app_name,
    };
    start(&state, &raw, id, spec)
}

/// Whether any of the App Store identifiers was present (even if invalid, which already
/// produced its own issue).
fn issues_has_any(body: &Map<String, Value>) -> bool {
    ["iosBundleId", "androidPackage", "appStoreUrl"]
        .iter()
        .any(|k| body.get(*k).is_some_and(|v| !v.is_null()))
}

fn last_path_segment(url: &url::Url) -> Option<String> {
    url.path_segments()?
        .filter(|s| !s.is_empty())
        // Store URLs end `/<app-name>/id<digits>`.
        .rfind(|s| !s.starts_with("id"))
        .map(str::to_string)
}

/// `POST /v1/projects/:id/ingest/github`
pub async fn github(
    State(state): State<AppState>,
    PathParams(raw): PathParams<String>,
    RawBody(body): RawBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let id = project_id(&raw)?;
    let body = json_object(&body)?;
    let mut issues = Issues::default();
    let repo = issues.string(&body, "repoFullName", true, 3, 200);
    if let Some(repo) = &repo
        && !is_repo_full_name(repo)
    {
        issues.add("repoFullName", "must look like owner/name");
    }
    issues.string(&body, "branch", false, 1, 255);
    let open_pr = issues.boolean(&body, "openPR").unwrap_or(true);
    issues.strings(&body, "platforms");
    issues.object(&body, "sdkConfig");
    issues.string(&body, "prTitle", false, 1, 256);
    issues.string(&body, "prBody", false, 0, 65_536);
    issues.finish()?;
    let repo = repo.unwrap_or_default();
    let app_name = repo.rsplit('/').next().unwrap_or("app").to_string();
    let pr_url = open_pr.then(|| format!("https://github.com/{repo}/pull/1"));
    let sdk_app_id = format!("app_{}", &state.ids().uuid().simple().to_string()[..24]);
    let spec = IngestSpec {
        kind: JobKind::IngestGithub,
        source: IngestSource::Github,
        effect: Effect::AgentRun { open_pr },
        result: json!({
            "projectId": id.to_string(),
            "repoFullName": repo,
            "pullRequestUrl": pr_url,
            "sdkAppId": sdk_app_id,
            "brandContextUpdated": true,
        }),
        error: json!({ "code": "AGENT_FAILED", "message": "The coding agent could not instrument the repository." }),
        app_name,
    };
    start(&state, &raw, id, spec)
}

fn is_repo_full_name(repo: &str) -> bool {
    let valid = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    matches!(repo.split_once('/'), Some((owner, name)) if valid(owner) && valid(name))
}

/// `POST /v1/projects/:id/ingest/website`
pub async fn website(
    State(state): State<AppState>,
    PathParams(raw): PathParams<String>,
    RawBody(body): RawBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let id = project_id(&raw)?;
    let body = json_object(&body)?;
    let mut issues = Issues::default();
    let url = issues.http_url(&body, "url", true);
    let follow_links = issues.boolean(&body, "followLinks").unwrap_or(false);
    let max_pages = issues.integer(&body, "maxPages", 1, 25).unwrap_or(1);
    issues.finish()?;
    let url = url.map(|u| u.to_string()).unwrap_or_default();
    let app_name = url::Url::parse(&url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "site".into());
    let spec = IngestSpec {
        kind: JobKind::IngestWebsite,
        source: IngestSource::Website,
        effect: Effect::Scrape,
        result: json!({
            "projectId": id.to_string(),
            "url": url,
            "pagesScraped": if follow_links { max_pages } else { 1 },
            "brandContextUpdated": true,
        }),
        error: json!({ "code": "SCRAPE_FAILED", "message": "The website could not be fetched." }),
        app_name,
    };
    start(&state, &raw, id, spec)
}

/// Starts the ingest job on an existing project.
fn start(
    state: &AppState,
    raw: &str,
    project: Uuid,
    spec: IngestSpec,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let config = state.config();
    let job_id = prefixed("job", state.ids().ulid());
    let fails = roll_failure(state);
    let mut pointers = Map::new();
    pointers.insert("projectId".into(), json!(project.to_string()));
    let plan = JobPlan {
        duration: config.job_duration,
        effect_after: config.scrape_after,
        effect: spec.effect,
        fails,
        result: spec.result,
        error: spec.error,
    };
    let mut store = state.store();
    if store.project(&project).is_none() {
        return Err(ApiError::not_found("Project", raw));
    }
    let job = Job::start(job_id.clone(), spec.kind, pointers, plan, &mut store.ledger);
    let envelope = job.envelope();
    crate::webhooks::watch_job(state, store.insert_job(job));
    if let Some(p) = store.project_mut(&project) {
        p.set_ingest(
            spec.source,
            IngestRecord {
                job_id,
                app_name: spec.app_name,
            },
        );
    }
    Ok((StatusCode::ACCEPTED, Json(envelope)))
}

/// Decides whether a new job will fail (`--job-fail-rate`); draws nothing when the rate
/// is zero so seeded id sequences don't depend on the option.
pub fn roll_failure(state: &AppState) -> bool {
    let rate = state.config().job_fail_rate;
    rate > 0.0 && state.ids().unit() < rate
}
