//! AI influencers (personas) of a project.

use std::time::Instant;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::Store;
use crate::jobs::JobStatus;
use crate::timestamp::iso;

/// An influencer; `deleted_at` marks a soft delete.
#[derive(Debug, Clone)]
pub struct Influencer {
    /// `inf_<ULID>` (or the partner-supplied id).
    pub id: String,
    /// Owning project.
    pub project_id: Uuid,
    /// The `influencer_create` job training it.
    pub job_id: String,
    /// Identity fields as sent (`name`, `gender`, `ageRange`, `personality`, …).
    pub fields: Map<String, Value>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Soft-delete time.
    pub deleted_at: Option<DateTime<Utc>>,
}

/// Influencer status derived from its training job.
fn influencer_status(job: Option<(JobStatus, f64)>) -> &'static str {
    match job {
        None => "pending",
        Some((JobStatus::Running, progress)) if progress < 0.3 => "pending",
        Some((JobStatus::Running, _)) => "training",
        Some((JobStatus::Completed, _)) => "ready",
        Some((JobStatus::Failed | JobStatus::Canceled, _)) => "failed",
    }
}

impl Store {
    /// Current status of an influencer.
    pub fn influencer_status(&mut self, id: &str, now: Instant) -> Option<&'static str> {
        let job_id = self.influencer(id)?.job_id.clone();
        let job = self
            .job(&job_id, now)
            .map(|j| (j.status(), j.progress(now)));
        Some(influencer_status(job))
    }

    /// Full record (`GET`/`PATCH` body).
    pub fn influencer_view(&mut self, id: &str, now: Instant) -> Option<Value> {
        let status = self.influencer_status(id, now)?;
        let influencer = self.influencer(id)?;
        let mut body = Map::new();
        body.insert("influencerId".into(), json!(influencer.id));
        body.insert("projectId".into(), json!(influencer.project_id.to_string()));
        for (key, value) in &influencer.fields {
            body.insert(key.clone(), value.clone());
        }
        body.entry("referenceImages").or_insert(json!([]));
        body.insert("status".into(), json!(status));
        body.insert("thumbnailUrl".into(), thumbnail(influencer, status));
        body.insert("createdAt".into(), json!(iso(influencer.created_at)));
        body.insert("updatedAt".into(), json!(iso(influencer.updated_at)));
        Some(Value::Object(body))
    }

    /// List item shape.
    pub fn influencer_summary(&mut self, id: &str, now: Instant) -> Option<Value> {
        let status = self.influencer_status(id, now)?;
        let influencer = self.influencer(id)?;
        let field = |name: &str| influencer.fields.get(name).cloned().unwrap_or(Value::Null);
        Some(json!({
            "influencerId": influencer.id,
            "name": field("name"),
            "gender": field("gender"),
            "ageRange": field("ageRange"),
            "status": status,
            "thumbnailUrl": thumbnail(influencer, status),
            "createdAt": iso(influencer.created_at),
        }))
    }
}

fn thumbnail(influencer: &Influencer, status: &str) -> Value {
    if status == "ready" {
        json!(format!(
            "https://cdn.mock.layers.invalid/influencers/{}.jpg",
            influencer.id
        ))
    } else {
        Value::Null
    }
}
