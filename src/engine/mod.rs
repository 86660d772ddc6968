//! The engine: runs scenarios concurrently (up to `jobs` at once, one connection
//! pool) and reports what happens as events. It prints nothing itself.

pub mod assert;
mod body_json;
pub mod capture;
mod cookies;
mod derived;
mod poll;
mod redirect;
pub mod request;
mod retry;
mod scenario;
mod schedule;
mod step;
pub mod webhook;
mod webhook_step;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use indexmap::IndexMap;
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use crate::events::{Event, Outcome, RunInfo, Verdict};
use crate::http::HttpClient;
use crate::scenario::Suite;
use crate::secrets::Redactor;

/// How a run is carried out.
#[derive(Clone)]
pub struct RunOptions {
    /// Overrides every scenario's own `base_url` (`--base-url` / `RUNNER_BASE_URL`).
    pub base_url: Option<String>,
    /// Where scenarios without any base URL go (the embedded mock).
    pub fallback_base_url: Option<String>,
    pub jobs: usize,
    /// Per-request time limit when a step sets none.
    pub default_timeout: Duration,
    /// Transport retries when neither step nor file says.
    pub default_retries: u32,
    /// `--vars-file` and `--var` (which wins), each value with its type.
    pub cli_vars: IndexMap<String, serde_json::Value>,
    pub body_cap: usize,
    /// Render and report requests without sending them.
    pub dry_run: bool,
    /// Refuses, at send time, a costly request its scenario does not allow (`allow_cost`).
    pub cost_guard: Option<crate::safety::RuntimeGuard>,
    /// Keep every assertion that held, not only the failures (for `--report-json`);
    /// off otherwise, because describing each pass costs time per request.
    pub record_passes: bool,
    /// After the first scenario that fails or errors, start no new scenario; those
    /// running finish (their `finally` steps included).
    pub fail_fast: bool,
    /// `--insecure`, `--cacert`.
    pub tls: crate::http::tls::TlsOptions,
    /// `--scenario-retries`: runs of a whole scenario after a failed one, when the
    /// scenario does not say (`scenario_retries:`).
    pub scenario_retries: u32,
    /// `--follow-redirects`: follow redirects in steps whose scenario and request do
    /// not say.
    pub follow_redirects: bool,
    /// `--max-rps`: requests per second to each host, at most.
    pub max_rps: Option<f64>,
    /// Send `Event::StepFinished` for each step (the console's `-v`); each
    /// scenario's report carries its steps anyway.
    pub step_events: bool,
    /// `--openapi SPEC`: every response is checked against the document, unless its
    /// step says `openapi: false`.
    pub openapi: Option<Arc<crate::contract::Spec>>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            base_url: None,
            fallback_base_url: None,
            jobs: 8,
            default_timeout: Duration::from_secs(30),
            default_retries: 2,
            cli_vars: IndexMap::new(),
            body_cap: 8 * 1024 * 1024,
            dry_run: false,
            cost_guard: None,
            record_passes: false,
            fail_fast: false,
            tls: crate::http::tls::TlsOptions::default(),
            scenario_retries: 0,
            follow_redirects: false,
            max_rps: None,
            step_events: true,
            openapi: None,
        }
    }
}

/// Signals from outside the run (Ctrl-C, SIGTERM).
#[derive(Clone, Default)]
pub struct Stop {
    /// Start no new main step; abort those in flight; run `finally`.
    pub soft: CancellationToken,
    /// The grace period is over: abort `finally` steps too.
    pub hard: CancellationToken,
    /// The share of the grace period a main request already on the wire may take is
    /// over: abort it, so that `finally` steps get the rest.
    pub in_flight: CancellationToken,
}

/// The share of the grace period (`--grace`) a main request already on the wire may
/// still take after an interrupt: it may start a job `finally` must cancel, so its
/// response is worth waiting for, but not at the cost of `finally` itself.
pub fn in_flight_share(grace: Duration) -> Duration {
    grace / 2
}

/// What every scenario task shares.
pub(crate) struct RunCtx {
    pub suite: Arc<Suite>,
    pub options: RunOptions,
    pub client: HttpClient,
    pub redactor: Redactor,
    pub stop: Stop,
    pub events: UnboundedSender<Event>,
    pub env: minijinja::Value,
    pub cli_vars: Arc<IndexMap<String, minijinja::Value>>,
    pub webhooks: Option<webhook::Receiver>,
    /// Cancelled when `fail_fast` saw a failure: scenarios not yet started are skipped.
    pub halted: CancellationToken,
}

/// Run every scenario of `suite`; each report goes to the reporters as an event,
/// and what the summary needs comes back, in scenario order.
pub async fn run(
    suite: Arc<Suite>,
    options: RunOptions,
    redactor: Redactor,
    stop: Stop,
    events: UnboundedSender<Event>,
    target: String,
) -> Result<Vec<Verdict>, String> {
    let client = HttpClient::new(options.jobs * 2, options.body_cap, &options.tls)?
        .with_pacer(options.max_rps.and_then(crate::http::pace::Pacer::new));
    let env: std::collections::BTreeMap<String, String> = std::env::vars().collect();
    let cli_vars: IndexMap<String, minijinja::Value> = options
        .cli_vars
        .iter()
        .map(|(k, v)| (k.clone(), crate::template::to_value(v)))
        .collect();
    // Started in a dry run too: `{{ webhook.url }}` renders to a real loopback address.
    let webhooks = if suite.uses_webhooks() {
        Some(
            webhook::Receiver::start()
                .await
                .map_err(|e| format!("cannot start the webhook receiver on 127.0.0.1: {e}"))?,
        )
    } else {
        None
    };
    let total = suite.len();
    let jobs = options.jobs.max(1);
    let _ = events.send(Event::RunStarted(RunInfo {
        total,
        target,
        jobs,
    }));
    let ctx = Arc::new(RunCtx {
        suite: suite.clone(),
        options,
        client,
        redactor,
        stop,
        events: events.clone(),
        env: crate::template::to_value(env),
        cli_vars: Arc::new(cli_vars),
        webhooks,
        halted: CancellationToken::new(),
    });
    let mut verdicts: Vec<Option<Verdict>> = vec![None; total];
    let mut schedule = schedule::Scheduler::new(suite.entries().map(|e| e.locks));
    let mut running = futures::stream::FuturesUnordered::new();
    loop {
        while running.len() < jobs {
            let Some(i) = schedule.next() else { break };
            let ctx = ctx.clone();
            running.push(async move {
                let handle = tokio::spawn(scenario::run(ctx.clone(), i));
                let report = match handle.await {
                    Ok(r) => r,
                    Err(e) => scenario::crashed(&ctx, i, &e.to_string()),
                };
                (i, report)
            });
        }
        let Some((i, report)) = running.next().await else {
            break;
        };
        schedule.done(i);
        if let Some(slot) = verdicts.get_mut(report.index) {
            *slot = Some(report.verdict());
        }
        if ctx.options.fail_fast
            && matches!(report.outcome, Outcome::Failed | Outcome::Error)
            && !ctx.halted.is_cancelled()
        {
            ctx.halted.cancel();
            let _ = events.send(Event::Notice(format!(
                "--fail-fast: `{}` did not pass; no new scenario starts (those running finish)",
                report.name
            )));
        }
        let _ = events.send(Event::ScenarioFinished(Arc::new(report)));
    }
    Ok(verdicts.into_iter().flatten().collect())
}
