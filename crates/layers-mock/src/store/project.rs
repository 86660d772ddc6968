//! Projects and their rendering (which needs the state of their ingest jobs).

use std::time::Instant;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::Store;
use crate::jobs::JobStatus;
use crate::timestamp::iso;

/// Which ingest produced an [`IngestRecord`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestSource {
    /// GitHub repository ingest.
    Github,
    /// Website ingest.
    Website,
    /// App Store / Play Store ingest.
    Appstore,
}

/// The latest ingest of one source.
#[derive(Debug, Clone)]
pub struct IngestRecord {
    /// The ingest job.
    pub job_id: String,
    /// The app name the ingest will write into `brandContext` once it completes.
    pub app_name: String,
}

/// A project row.
#[derive(Debug, Clone)]
pub struct Project {
    /// Bare UUID id.
    pub id: Uuid,
    /// Owning org.
    pub organization_id: Uuid,
    /// Display name.
    pub name: String,
    /// `active` or `archived`.
    pub status: String,
    /// The partner's id for its customer; unique in the org.
    pub customer_external_id: Option<String>,
    /// IANA time zone.
    pub timezone: String,
    /// BCP-47 language.
    pub primary_language: String,
    /// Owner e-mail.
    pub owner_email: String,
    /// Opaque partner JSON.
    pub metadata: Value,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Latest ingest per source.
    pub github: Option<IngestRecord>,
    /// Latest website ingest.
    pub website: Option<IngestRecord>,
    /// Latest App Store ingest.
    pub appstore: Option<IngestRecord>,
}

impl Project {
    /// Records the latest ingest of a source.
    pub fn set_ingest(&mut self, source: IngestSource, record: IngestRecord) {
        let slot = match source {
            IngestSource::Github => &mut self.github,
            IngestSource::Website => &mut self.website,
            IngestSource::Appstore => &mut self.appstore,
        };
        *slot = Some(record);
        self.updated_at = Utc::now();
    }
}

impl Store {
    /// The full project row as JSON, with its ingest jobs settled to `now`.
    pub fn project_view(&mut self, id: &Uuid, now: Instant) -> Option<Value> {
        let project = self.projects.get(id)?.clone();
        let mut brand_app_name = None;
        let mut ingest_state = serde_json::Map::new();
        for (name, record) in [
            ("github", &project.github),
            ("website", &project.website),
            ("appstore", &project.appstore),
        ] {
            let value = match record {
                None => Value::Null,
                Some(record) => match self.job(&record.job_id, now) {
                    None => Value::Null,
                    Some(job) => {
                        if job.status() == JobStatus::Completed {
                            brand_app_name.get_or_insert_with(|| record.app_name.clone());
                        }
                        json!({
                            "status": job.status().as_str(),
                            "jobId": record.job_id,
                            "completedAt": job.finished_at().map(iso),
                        })
                    }
                },
            };
            ingest_state.insert(name.to_string(), value);
        }
        let brand_context = match brand_app_name {
            None => Value::Null,
            Some(app_name) => json!({
                "appName": app_name,
                "appDescription": null,
                "tagline": null,
                "audience": null,
                "icp": null,
                "brandVoice": null,
                "keywords": [],
                "primaryLanguage": project.primary_language,
                "logoUrl": null,
            }),
        };
        Some(json!({
            "id": project.id.to_string(),
            "organizationId": project.organization_id.to_string(),
            "name": project.name,
            "status": project.status,
            "customerExternalId": project.customer_external_id,
            "timezone": project.timezone,
            "primaryLanguage": project.primary_language,
            "ownerEmail": project.owner_email,
            "brand": null,
            "brandContext": brand_context,
            "ingestState": ingest_state,
            "metadata": project.metadata,
            "createdAt": iso(project.created_at),
            "updatedAt": iso(project.updated_at),
        }))
    }
}
