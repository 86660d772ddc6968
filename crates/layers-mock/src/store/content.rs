//! Content containers, their assets, and the posts made from them.

use std::time::Instant;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::Store;
use crate::jobs::JobStatus;
use crate::timestamp::iso;

/// One generated media asset.
#[derive(Debug, Clone)]
pub struct Asset {
    /// `asset_<ULID>`.
    pub asset_id: String,
    /// `video` or `image`.
    pub kind: &'static str,
    /// Durable CDN-style URL (never fetched).
    pub url: String,
    /// Thumbnail URL.
    pub thumbnail_url: String,
    /// Video length; `None` for images.
    pub duration_ms: Option<u64>,
    /// MIME type.
    pub mime_type: &'static str,
    /// Size in bytes.
    pub size_bytes: u64,
    /// Hex SHA-256 of the (imaginary) file.
    pub checksum_sha256: String,
}

impl Asset {
    /// Wire shape (container `assets[]` and the asset endpoint).
    pub fn view(&self) -> Value {
        json!({
            "assetId": self.asset_id,
            "kind": self.kind,
            "url": self.url,
            "thumbnailUrl": self.thumbnail_url,
            "durationMs": self.duration_ms,
            "width": 1080,
            "height": 1920,
            "mimeType": self.mime_type,
            "sizeBytes": self.size_bytes,
            "checksumSha256": self.checksum_sha256,
        })
    }
}

/// A content container.
#[derive(Debug, Clone)]
pub struct Container {
    /// `cnt_<ULID>`.
    pub id: String,
    /// Owning project.
    pub project_id: Uuid,
    /// The job currently (re)generating it.
    pub job_id: String,
    /// `video_remix`, `slideshow_remix`, `ugc_remix` or `auto`.
    pub format: String,
    /// The brief as sent (merged on regenerate).
    pub brief: Value,
    /// Caption shown once generated.
    pub caption: String,
    /// Assets shown once generated.
    pub assets: Vec<Asset>,
    /// `not_required`, `pending`, `approved` or `rejected`.
    pub approval_status: String,
    /// When approved.
    pub approved_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// A post published now or scheduled for later.
#[derive(Debug, Clone)]
pub struct ScheduledPost {
    /// `sp_<ULID>`.
    pub id: String,
    /// Source container.
    pub container_id: String,
    /// Target account.
    pub social_account_id: String,
    /// Publish mode.
    pub mode: String,
    /// When it goes out.
    pub scheduled_for: String,
    /// `publishing` or `scheduled`.
    pub status: &'static str,
}

impl ScheduledPost {
    /// Wire shape.
    pub fn view(&self) -> Value {
        json!({
            "scheduledPostId": self.id,
            "containerId": self.container_id,
            "socialAccountId": self.social_account_id,
            "mode": self.mode,
            "scheduledFor": self.scheduled_for,
            "status": self.status,
        })
    }
}

/// A container's status derived from its job.
pub fn container_status(job: Option<JobStatus>) -> &'static str {
    match job {
        Some(JobStatus::Running) | None => "generating",
        Some(JobStatus::Completed) => "completed",
        Some(JobStatus::Failed) => "failed",
        Some(JobStatus::Canceled) => "canceled",
    }
}

impl Store {
    /// The status of a container at `now`.
    pub fn container_status(&mut self, id: &str, now: Instant) -> Option<&'static str> {
        let job_id = self.containers.get(id)?.job_id.clone();
        Some(container_status(self.job_status(&job_id, now)))
    }

    /// `GET /v1/content/:id` body, with the container's job settled to `now`.
    pub fn container_view(&mut self, id: &str, now: Instant) -> Option<Value> {
        let container = self.containers.get(id)?.clone();
        let (status, finished_at, error) = match self.job(&container.job_id, now) {
            Some(job) => (
                Some(job.status()),
                job.finished_at(),
                job.view(now).get("error").cloned(),
            ),
            None => (None, None, None),
        };
        let done = status == Some(JobStatus::Completed);
        let failed = status == Some(JobStatus::Failed);
        let assets: Vec<Value> = if done {
            container.assets.iter().map(Asset::view).collect()
        } else {
            Vec::new()
        };
        Some(json!({
            "id": container.id,
            "projectId": container.project_id.to_string(),
            "jobId": container.job_id,
            "status": container_status(status),
            "format": container.format,
            "brief": container.brief,
            "caption": if done { Value::from(container.caption.clone()) } else { Value::Null },
            "firstComment": null,
            "assets": assets,
            "approvalStatus": container.approval_status,
            "createdAt": iso(container.created_at),
            "completedAt": if done { finished_at.map(iso) } else { None },
            "failedAt": if failed { finished_at.map(iso) } else { None },
            "lastError": if failed { error.unwrap_or(Value::Null) } else { Value::Null },
        }))
    }

    /// `GET /v1/content/:id/progress` body.
    pub fn container_progress(&mut self, id: &str, now: Instant) -> Option<Value> {
        let job_id = self.containers.get(id)?.job_id.clone();
        let job = self.job(&job_id, now)?;
        Some(json!({
            "containerId": id,
            "status": container_status(Some(job.status())),
            "stage": job.stage(now),
            "stageProgress": job.stage_progress(now),
            "etaSeconds": job.eta_seconds(now),
            "updatedAt": crate::timestamp::now_iso(),
        }))
    }
}
