//! All mutable API state of one mock instance, guarded by a single mutex in [`AppState`].
//!
//! Critical sections are short (no I/O, no `.await`), so one lock keeps every rule that
//! spans resources (wallet + ledger, project dedupe, job settling) trivially atomic.
//!
//! [`AppState`]: super::state::AppState

mod api_key;
mod content;
mod influencer;
mod project;
mod webhook;

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use uuid::Uuid;

pub use api_key::{ApiKey, ApiKeys, KeyCheck};
pub use content::{Asset, Container, ScheduledPost};
pub use influencer::Influencer;
pub use project::{IngestRecord, IngestSource, Project};
pub use webhook::{Delivery, WebhookEndpoint};

use super::jobs::{Job, JobStatus};
use super::ledger::Ledger;

/// Resources of the single mock organization.
pub struct Store {
    /// Wallet balance in credits.
    pub credits: i64,
    /// Side effects recorded so far.
    pub ledger: Ledger,
    projects: HashMap<Uuid, Project>,
    project_order: Vec<Uuid>,
    /// `customerExternalId` → project, so dedupe stays O(1) with many projects.
    projects_by_external_id: HashMap<String, Uuid>,
    jobs: HashMap<String, Job>,
    running: HashSet<String>,
    containers: HashMap<String, Container>,
    container_order: Vec<String>,
    influencers: HashMap<String, Influencer>,
    influencer_order: Vec<String>,
    webhooks: HashMap<Uuid, WebhookEndpoint>,
    webhook_order: Vec<Uuid>,
    /// Every webhook delivery, oldest first.
    pub deliveries: Vec<Delivery>,
    /// Every scheduled / published post, oldest first.
    pub scheduled_posts: Vec<ScheduledPost>,
    /// The organization's API keys, as seen and as killed, deleted or rotated.
    pub api_keys: ApiKeys,
}

impl Store {
    /// Empty state with a wallet of `credits`.
    pub fn new(credits: i64) -> Store {
        Store {
            credits,
            ledger: Ledger::default(),
            projects: HashMap::new(),
            project_order: Vec::new(),
            projects_by_external_id: HashMap::new(),
            jobs: HashMap::new(),
            running: HashSet::new(),
            containers: HashMap::new(),
            container_order: Vec::new(),
            influencers: HashMap::new(),
            influencer_order: Vec::new(),
            webhooks: HashMap::new(),
            webhook_order: Vec::new(),
            deliveries: Vec::new(),
            scheduled_posts: Vec::new(),
            api_keys: ApiKeys::default(),
        }
    }

    /// Debits the wallet; `Err(balance)` when it holds less than `amount`.
    pub fn debit(&mut self, amount: i64) -> Result<(), i64> {
        if self.credits < amount {
            return Err(self.credits);
        }
        self.credits -= amount;
        self.ledger.credits_spent += amount.max(0) as u64;
        Ok(())
    }

    // --- jobs ---------------------------------------------------------------------------

    /// Registers an accepted job; returns its id and how long it runs, for
    /// [`crate::webhooks::watch_job`].
    pub fn insert_job(&mut self, job: Job) -> (String, std::time::Duration) {
        let watch = (job.id.clone(), job.duration());
        self.running.insert(job.id.clone());
        self.jobs.insert(job.id.clone(), job);
        watch
    }

    /// A job brought up to `now`.
    pub fn job(&mut self, id: &str, now: Instant) -> Option<&Job> {
        self.job_mut(id, now).map(|job| &*job)
    }

    /// A job brought up to `now`, mutable (to cancel it).
    pub fn job_mut(&mut self, id: &str, now: Instant) -> Option<&mut Job> {
        let job = self.jobs.get_mut(id)?;
        job.settle(now, &mut self.ledger);
        if job.status().is_terminal() {
            self.running.remove(id);
        }
        Some(job)
    }

    /// Status of a job at `now` (`None` for an unknown id).
    pub fn job_status(&mut self, id: &str, now: Instant) -> Option<JobStatus> {
        self.job(id, now).map(Job::status)
    }

    /// Cancels a job: `None` if unknown, `Err(status)` if it had already ended.
    pub fn cancel_job(&mut self, id: &str, now: Instant) -> Option<Result<(), JobStatus>> {
        let job = self.jobs.get_mut(id)?;
        let outcome = job.cancel(now, &mut self.ledger);
        self.running.remove(id);
        Some(outcome)
    }

    /// Settles every running job; returns how many are still running.
    pub fn settle_all(&mut self, now: Instant) -> u64 {
        let ids: Vec<String> = self.running.iter().cloned().collect();
        for id in ids {
            self.job_mut(&id, now);
        }
        self.running.len() as u64
    }

    // --- projects -------------------------------------------------------------------------

    /// Adds a project (newest last).
    pub fn insert_project(&mut self, project: Project) {
        if let Some(external_id) = &project.customer_external_id {
            self.projects_by_external_id
                .insert(external_id.clone(), project.id);
        }
        self.project_order.push(project.id);
        self.projects.insert(project.id, project);
    }

    /// A project by id.
    pub fn project(&self, id: &Uuid) -> Option<&Project> {
        self.projects.get(id)
    }

    /// A project by id, mutable.
    pub fn project_mut(&mut self, id: &Uuid) -> Option<&mut Project> {
        self.projects.get_mut(id)
    }

    /// Projects newest first.
    pub fn projects_newest_first(&self) -> impl Iterator<Item = &Project> {
        self.project_order
            .iter()
            .rev()
            .filter_map(|id| self.projects.get(id))
    }

    /// The project whose `customerExternalId` is `external_id`, if any.
    pub fn project_by_external_id(&self, external_id: &str) -> Option<&Project> {
        self.projects_by_external_id
            .get(external_id)
            .and_then(|id| self.projects.get(id))
    }

    /// Changes a project's `customerExternalId`, keeping the lookup index in step.
    pub fn set_external_id(&mut self, id: &Uuid, external_id: String) {
        let Some(project) = self.projects.get_mut(id) else {
            return;
        };
        if let Some(old) = project.customer_external_id.replace(external_id.clone()) {
            self.projects_by_external_id.remove(&old);
        }
        self.projects_by_external_id.insert(external_id, *id);
    }

    // --- content --------------------------------------------------------------------------

    /// Adds a content container (newest last).
    pub fn insert_container(&mut self, container: Container) {
        self.container_order.push(container.id.clone());
        self.containers.insert(container.id.clone(), container);
    }

    /// A container by id.
    pub fn container(&self, id: &str) -> Option<&Container> {
        self.containers.get(id)
    }

    /// A container by id, mutable.
    pub fn container_mut(&mut self, id: &str) -> Option<&mut Container> {
        self.containers.get_mut(id)
    }

    /// Container ids newest first.
    pub fn container_ids_newest_first(&self) -> Vec<String> {
        self.container_order.iter().rev().cloned().collect()
    }

    // --- influencers ----------------------------------------------------------------------

    /// Adds an influencer (newest last).
    pub fn insert_influencer(&mut self, influencer: Influencer) {
        self.influencer_order.push(influencer.id.clone());
        self.influencers.insert(influencer.id.clone(), influencer);
    }

    /// A live (not deleted) influencer by id.
    pub fn influencer(&self, id: &str) -> Option<&Influencer> {
        self.influencers.get(id).filter(|i| i.deleted_at.is_none())
    }

    /// A live influencer by id, mutable.
    pub fn influencer_mut(&mut self, id: &str) -> Option<&mut Influencer> {
        self.influencers
            .get_mut(id)
            .filter(|i| i.deleted_at.is_none())
    }

    /// Whether any influencer (even a deleted one) has this id.
    pub fn influencer_exists(&self, id: &str) -> bool {
        self.influencers.contains_key(id)
    }

    /// Live influencer ids newest first.
    pub fn influencer_ids_newest_first(&self) -> Vec<String> {
        self.influencer_order
            .iter()
            .rev()
            .filter(|id| self.influencer(id).is_some())
            .cloned()
            .collect()
    }

    // --- webhooks -------------------------------------------------------------------------

    /// Adds a webhook endpoint (newest last).
    pub fn insert_webhook(&mut self, endpoint: WebhookEndpoint) {
        self.webhook_order.push(endpoint.id);
        self.webhooks.insert(endpoint.id, endpoint);
    }

    /// A webhook endpoint by id.
    pub fn webhook(&self, id: &Uuid) -> Option<&WebhookEndpoint> {
        self.webhooks.get(id)
    }

    /// A webhook endpoint by id, mutable.
    pub fn webhook_mut(&mut self, id: &Uuid) -> Option<&mut WebhookEndpoint> {
        self.webhooks.get_mut(id)
    }

    /// Removes a webhook endpoint.
    pub fn remove_webhook(&mut self, id: &Uuid) -> Option<WebhookEndpoint> {
        self.webhook_order.retain(|other| other != id);
        self.webhooks.remove(id)
    }

    /// Webhook endpoints newest first.
    pub fn webhooks_newest_first(&self) -> impl Iterator<Item = &WebhookEndpoint> {
        self.webhook_order
            .iter()
            .rev()
            .filter_map(|id| self.webhooks.get(id))
    }

    /// A delivery by id, mutable.
    pub fn delivery_mut(&mut self, id: &Uuid) -> Option<&mut Delivery> {
        self.deliveries.iter_mut().find(|d| &d.id == id)
    }
}
