//! Jobs: `running` → exactly one of `completed` / `failed` / `canceled`.
//!
//! State is computed from the clock when a job is looked at ("settled"), so no background
//! task is needed and a job's fate depends only on its timings and when it was canceled.
//! Settling records the job's outbound effect (scrape, agent run) in the ledger once the
//! effect's start time has passed, which is what makes an immediate cancel prevent it.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::ledger::Ledger;
use super::timestamp::iso;

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// `POST /v1/projects/:id/ingest/appstore`
    IngestAppstore,
    /// `POST /v1/projects/:id/ingest/github`
    IngestGithub,
    /// `POST /v1/projects/:id/ingest/website`
    IngestWebsite,
    /// Content generate / regenerate.
    ContentGenerate,
    /// `POST /v1/projects/:id/influencers`
    InfluencerCreate,
}

impl JobKind {
    /// The `kind` string.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::IngestAppstore => "ingest_appstore",
            JobKind::IngestGithub => "ingest_github",
            JobKind::IngestWebsite => "ingest_website",
            JobKind::ContentGenerate => "content_generate",
            JobKind::InfluencerCreate => "influencer_create",
        }
    }

    /// Stages a running job walks through, in order.
    fn stages(self) -> &'static [&'static str] {
        match self {
            JobKind::IngestAppstore => &[
                "queued",
                "fetching_listing",
                "parsing",
                "merging_brand_context",
            ],
            JobKind::IngestWebsite => {
                &["queued", "fetching", "extracting", "merging_brand_context"]
            }
            JobKind::IngestGithub => &[
                "cloning",
                "analyzing",
                "generating_sdk_patch",
                "opening_pr",
                "finalizing",
            ],
            JobKind::ContentGenerate => &["queued", "scripting", "rendering", "finalizing"],
            JobKind::InfluencerCreate => &["queued", "training", "finalizing"],
        }
    }
}

/// Job status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    /// The only non-terminal status.
    Running,
    /// Finished successfully.
    Completed,
    /// Finished with an error.
    Failed,
    /// Canceled by the partner.
    Canceled,
}

impl JobStatus {
    /// The `status` string.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Running => "running",
            JobStatus::Completed => "completed",
            JobStatus::Failed => "failed",
            JobStatus::Canceled => "canceled",
        }
    }

    /// Whether the status can no longer change.
    pub fn is_terminal(self) -> bool {
        self != JobStatus::Running
    }
}

/// The outbound work a job performs once its effect time has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Nothing outside the platform.
    None,
    /// A store or website scraper run.
    Scrape,
    /// A coding-agent run, which opens a pull request when asked to.
    AgentRun {
        /// Whether the agent opens a PR.
        open_pr: bool,
    },
}

/// Timing and outcome of a job, fixed when it is accepted.
#[derive(Debug, Clone)]
pub struct JobPlan {
    /// How long it runs.
    pub duration: Duration,
    /// When its effect starts.
    pub effect_after: Duration,
    /// Its effect.
    pub effect: Effect,
    /// Whether it ends `failed`.
    pub fails: bool,
    /// `result` once completed.
    pub result: Value,
    /// `error` once failed.
    pub error: Value,
}

/// One job.
#[derive(Debug, Clone)]
pub struct Job {
    /// `job_<ULID>`.
    pub id: String,
    /// Its kind.
    pub kind: JobKind,
    /// Kind-specific pointers echoed in the envelope (`projectId`, `containerIds`, …).
    pub pointers: Map<String, Value>,
    started: Instant,
    started_at: DateTime<Utc>,
    plan: JobPlan,
    effect_done: bool,
    status: JobStatus,
    /// Progress frozen when the job ended.
    final_progress: f64,
    finished_at: Option<DateTime<Utc>>,
}

impl Job {
    /// Accepts a job now; counts it as started.
    pub fn start(
        id: String,
        kind: JobKind,
        pointers: Map<String, Value>,
        plan: JobPlan,
        ledger: &mut Ledger,
    ) -> Job {
        ledger.jobs_started += 1;
        Job {
            id,
            kind,
            pointers,
            started: Instant::now(),
            started_at: Utc::now(),
            plan,
            effect_done: false,
            status: JobStatus::Running,
            final_progress: 0.0,
            finished_at: None,
        }
    }

    /// How long it runs when nobody cancels it.
    pub fn duration(&self) -> Duration {
        self.plan.duration
    }

    /// The `data` of its `job.*` webhook event: `jobId`, `kind`, and `result` or `error`.
    pub fn event_data(&self) -> Value {
        let mut data = Map::new();
        data.insert("jobId".into(), json!(self.id));
        data.insert("kind".into(), json!(self.kind.as_str()));
        data.extend(self.pointers.clone());
        match self.status {
            JobStatus::Completed => {
                data.insert("result".into(), self.plan.result.clone());
            }
            JobStatus::Failed => {
                data.insert("error".into(), self.plan.error.clone());
            }
            _ => {}
        }
        Value::Object(data)
    }

    /// Current status (call [`Job::settle`] first).
    pub fn status(&self) -> JobStatus {
        self.status
    }

    /// When it finished, if it did.
    pub fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.finished_at
    }

    /// Brings the job up to `now`: records its effect and ends it when their time has come.
    pub fn settle(&mut self, now: Instant, ledger: &mut Ledger) {
        if self.status.is_terminal() {
            return;
        }
        let elapsed = now.saturating_duration_since(self.started);
        // An effect whose start lies beyond the end still happens before the job completes.
        if !self.effect_done && elapsed >= self.plan.effect_after.min(self.plan.duration) {
            self.effect_done = true;
            match self.plan.effect {
                Effect::None => {}
                Effect::Scrape => ledger.scraper_calls += 1,
                Effect::AgentRun { open_pr } => {
                    ledger.agent_runs += 1;
                    if open_pr {
                        ledger.pull_requests += 1;
                    }
                }
            }
        }
        if elapsed >= self.plan.duration {
            self.finished_at = Some(self.started_at + self.plan.duration);
            if self.plan.fails {
                self.status = JobStatus::Failed;
                self.final_progress = self.running_progress(self.plan.duration);
                ledger.jobs_failed += 1;
            } else {
                self.status = JobStatus::Completed;
                self.final_progress = 1.0;
                ledger.jobs_completed += 1;
            }
        }
    }

    /// Cancels a running job; `Err(status)` with the terminal status otherwise.
    pub fn cancel(&mut self, now: Instant, ledger: &mut Ledger) -> Result<(), JobStatus> {
        self.settle(now, ledger);
        if self.status.is_terminal() {
            return Err(self.status);
        }
        self.final_progress = self.running_progress(now.saturating_duration_since(self.started));
        self.status = JobStatus::Canceled;
        self.finished_at = Some(Utc::now());
        ledger.jobs_canceled += 1;
        Ok(())
    }

    /// Progress in `[0, 0.99]` while running: whole percents, so it never decreases.
    fn running_progress(&self, elapsed: Duration) -> f64 {
        if self.plan.duration.is_zero() {
            return 0.99;
        }
        let ratio = elapsed.as_secs_f64() / self.plan.duration.as_secs_f64();
        ((ratio * 100.0).floor() / 100.0).clamp(0.0, 0.99)
    }

    /// Progress at `now` (call [`Job::settle`] first).
    pub fn progress(&self, now: Instant) -> f64 {
        match self.status {
            JobStatus::Running => {
                self.running_progress(now.saturating_duration_since(self.started))
            }
            _ => self.final_progress,
        }
    }

    /// Stage at `now`; terminal jobs report their status.
    pub fn stage(&self, now: Instant) -> &'static str {
        if self.status.is_terminal() {
            return self.status.as_str();
        }
        let stages = self.kind.stages();
        let index = (self.progress(now) * stages.len() as f64) as usize;
        stages[index.min(stages.len() - 1)]
    }

    /// Progress within the current stage, `0..1`, resetting at each stage boundary.
    pub fn stage_progress(&self, now: Instant) -> f64 {
        if self.status.is_terminal() {
            return 1.0;
        }
        let scaled = self.progress(now) * self.kind.stages().len() as f64;
        ((scaled.fract() * 100.0).floor() / 100.0).clamp(0.0, 0.99)
    }

    /// Whole seconds until a running job ends; `None` once terminal.
    pub fn eta_seconds(&self, now: Instant) -> Option<u64> {
        if self.status.is_terminal() {
            return None;
        }
        let left = self
            .plan
            .duration
            .saturating_sub(now.saturating_duration_since(self.started));
        Some(left.as_secs_f64().ceil() as u64)
    }

    /// The 202 accept envelope.
    pub fn envelope(&self) -> Value {
        let mut body = Map::new();
        body.insert("jobId".into(), json!(self.id));
        body.insert("kind".into(), json!(self.kind.as_str()));
        body.insert("status".into(), json!("running"));
        body.insert("stage".into(), json!(self.kind.stages()[0]));
        body.extend(self.pointers.clone());
        body.insert("locationUrl".into(), json!(format!("/v1/jobs/{}", self.id)));
        body.insert("startedAt".into(), json!(iso(self.started_at)));
        Value::Object(body)
    }

    /// The `GET /v1/jobs/:id` body (call [`Job::settle`] first).
    pub fn view(&self, now: Instant) -> Value {
        let mut body = Map::new();
        body.insert("jobId".into(), json!(self.id));
        body.insert("kind".into(), json!(self.kind.as_str()));
        body.insert("status".into(), json!(self.status.as_str()));
        body.insert("progress".into(), json!(self.progress(now)));
        body.insert("stage".into(), json!(self.stage(now)));
        body.extend(self.pointers.clone());
        body.insert("startedAt".into(), json!(iso(self.started_at)));
        if let Some(finished) = self.finished_at {
            body.insert("finishedAt".into(), json!(iso(finished)));
        }
        match self.status {
            JobStatus::Completed => {
                body.insert("result".into(), self.plan.result.clone());
            }
            JobStatus::Failed => {
                body.insert("error".into(), self.plan.error.clone());
            }
            _ => {}
        }
        Value::Object(body)
    }

    /// Entity tag: changes exactly when status or progress does.
    pub fn etag(&self, now: Instant) -> String {
        let percent = (self.progress(now) * 100.0).round() as u32;
        format!("\"{}-{percent}\"", self.status.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(effect: Effect, fails: bool) -> JobPlan {
        JobPlan {
            duration: Duration::from_secs(10),
            effect_after: Duration::from_secs(2),
            effect,
            fails,
            result: json!({"ok": true}),
            error: json!({"code": "SCRAPE_FAILED"}),
        }
    }

    fn job(effect: Effect, fails: bool, ledger: &mut Ledger) -> Job {
        Job::start(
            "job_x".into(),
            JobKind::IngestAppstore,
            Map::new(),
            plan(effect, fails),
            ledger,
        )
    }

    #[test]
    fn completes_with_effect() {
        let mut ledger = Ledger::default();
        let mut job = job(Effect::Scrape, false, &mut ledger);
        let t0 = job.started;
        job.settle(t0 + Duration::from_secs(1), &mut ledger);
        assert_eq!(ledger.scraper_calls, 0);
        assert_eq!(job.progress(t0 + Duration::from_secs(1)), 0.1);
        job.settle(t0 + Duration::from_secs(3), &mut ledger);
        assert_eq!(ledger.scraper_calls, 1);
        job.settle(t0 + Duration::from_secs(11), &mut ledger);
        assert_eq!(job.status(), JobStatus::Completed);
        assert_eq!(job.progress(t0), 1.0);
        assert_eq!(ledger.scraper_calls, 1);
        assert_eq!(ledger.jobs_completed, 1);
        assert!(
            job.cancel(t0 + Duration::from_secs(12), &mut ledger)
                .is_err()
        );
    }

    #[test]
    fn early_cancel_prevents_effect() {
        let mut ledger = Ledger::default();
        let mut job = job(Effect::AgentRun { open_pr: true }, false, &mut ledger);
        let t0 = job.started;
        assert!(
            job.cancel(t0 + Duration::from_millis(500), &mut ledger)
                .is_ok()
        );
        job.settle(t0 + Duration::from_secs(60), &mut ledger);
        assert_eq!(job.status(), JobStatus::Canceled);
        assert_eq!(job.progress(t0 + Duration::from_secs(60)), 0.05);
        assert_eq!(
            (
                ledger.agent_runs,
                ledger.pull_requests,
                ledger.jobs_canceled
            ),
            (0, 0, 1)
        );
        assert_eq!(job.cancel(t0, &mut ledger), Err(JobStatus::Canceled));
    }

    #[test]
    fn failing_job_still_ran_its_effect() {
        let mut ledger = Ledger::default();
        let mut job = job(Effect::Scrape, true, &mut ledger);
        job.settle(job.started + Duration::from_secs(10), &mut ledger);
        assert_eq!(job.status(), JobStatus::Failed);
        assert_eq!((ledger.scraper_calls, ledger.jobs_failed), (1, 1));
        assert_eq!(job.view(Instant::now())["error"]["code"], "SCRAPE_FAILED");
    }
}
