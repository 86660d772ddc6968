//! One scenario: its vars, its steps in order, then its `finally` steps whatever happened.

use std::sync::Arc;
use std::time::Instant;

use super::RunCtx;
use super::step::{self, StepCtx};
use crate::events::{Attempt, Event, Outcome, Phase, ScenarioReport, StepReport};
use crate::scenario::Scenario;
use crate::template::Scope;

/// Run a scenario, and run it again from its first step while it fails and
/// `scenario_retries` allows; one that passes on a later attempt is flaky.
pub(crate) async fn run(ctx: Arc<RunCtx>, index: usize) -> ScenarioReport {
    // A lazily loaded suite loads and checks the scenario's file again here: once
    // for every attempt, so that a retry runs what the first attempt ran.
    // Not loaded again only to be skipped: after Ctrl-C, thousands of files would
    // be read before the run could end.
    if ctx.suite.is_lazy() {
        let why = if ctx.stop.soft.is_cancelled() {
            Some("not started: the run was interrupted")
        } else if ctx.halted.is_cancelled() {
            Some("not started: an earlier scenario did not pass (--fail-fast)")
        } else {
            None
        };
        if let Some(why) = why {
            let mut r = not_opened(&ctx, index, why.to_string());
            r.outcome = Outcome::Skipped;
            return r;
        }
    }
    let opened = match ctx.suite.open(index) {
        Ok(o) => o,
        Err(why) => return not_opened(&ctx, index, why),
    };
    let s = opened.scenario();
    let templates = opened.templates();
    let allowed = s.scenario_retries.unwrap_or(ctx.options.scenario_retries) as usize;
    let started = Instant::now();
    let mut previous: Vec<Attempt> = Vec::new();
    loop {
        let mut report = run_once(ctx.clone(), index, s, templates).await;
        let again = matches!(report.outcome, Outcome::Failed | Outcome::Error)
            && previous.len() < allowed
            && !report.interrupted
            && !ctx.stop.soft.is_cancelled()
            && !ctx.options.dry_run;
        if again {
            let attempt = Attempt {
                outcome: report.outcome,
                message: report.reason(),
                location: report.problem_location(),
                duration: report.duration,
            };
            let _ = ctx.events.send(Event::Notice(format!(
                "RETRY {}  attempt {} of {} did not pass: {}",
                report.name,
                previous.len() + 1,
                allowed + 1,
                attempt.message
            )));
            previous.push(attempt);
            continue;
        }
        report.flaky = report.outcome == Outcome::Passed && !previous.is_empty();
        report.previous_attempts = previous;
        // The time the scenario took, every attempt included.
        report.duration = started.elapsed();
        return report;
    }
}

/// The report of a scenario whose file, loaded again as it starts, no longer
/// holds it as checked: an error, named as the scenario was when checked (and
/// the report of one not loaded because it will not start).
fn not_opened(ctx: &RunCtx, index: usize, why: String) -> ScenarioReport {
    let _ = ctx.events.send(Event::ScenarioStarted {
        index,
        name: ctx
            .suite
            .entry(index)
            .map_or_else(|| format!("scenario {index}"), |e| e.name.to_string()),
    });
    let mut r = crashed(ctx, index, "");
    r.message = Some(why);
    r
}

async fn run_once(
    ctx: Arc<RunCtx>,
    index: usize,
    s: &Scenario,
    templates: &crate::template::Templates,
) -> ScenarioReport {
    let started = Instant::now();
    let mut report = blank(index, s, chrono::Utc::now());
    let _ = ctx.events.send(Event::ScenarioStarted {
        index,
        name: s.name.clone(),
    });
    if let Some(reason) = &s.skip {
        report.outcome = Outcome::Skipped;
        report.message = Some(reason.clone());
        return report;
    }
    if ctx.stop.soft.is_cancelled() {
        report.outcome = Outcome::Skipped;
        report.message = Some("not started: the run was interrupted".into());
        return report;
    }
    if ctx.halted.is_cancelled() {
        report.outcome = Outcome::Skipped;
        report.message = Some("not started: an earlier scenario did not pass (--fail-fast)".into());
        return report;
    }
    let mut scope = Arc::new(Scope {
        env: ctx.env.clone(),
        cli_vars: ctx.cli_vars.clone(),
        webhook: ctx
            .webhooks
            .as_ref()
            .map(|w| crate::template::to_value(serde_json::json!({ "url": w.url_for(index) })))
            .unwrap_or(minijinja::Value::UNDEFINED),
        ..Scope::default()
    });
    // Vars render in order, each seeing the ones before it.
    for (name, value) in &s.vars {
        let scope_value = scope.to_value();
        let rendered = templates.render_json(value, &scope_value);
        super::derived::learn(templates, value.strings(), &scope_value, s, &ctx.redactor);
        drop(scope_value);
        match rendered {
            Ok(v) => {
                ctx.redactor
                    .add_named(name, &v, &s.secrets, &s.inferred_secrets);
                Arc::make_mut(&mut scope)
                    .vars
                    .insert(name.clone(), crate::template::to_value(v));
            }
            Err(e) => {
                report.outcome = Outcome::Error;
                report.message = Some(format!(
                    "{}:{}:{}: var `{name}`: {}",
                    s.file.display(),
                    e.loc.line,
                    e.loc.col,
                    e.message
                ));
                report.duration = started.elapsed();
                return report;
            }
        }
    }
    let base = match base_url(&ctx, s, templates, &scope) {
        Ok(b) => b,
        Err(msg) => {
            report.outcome = Outcome::Error;
            report.message = Some(msg);
            report.duration = started.elapsed();
            return report;
        }
    };
    let deadline = s.timeout.map(|t| started + t);
    let mut sctx = StepCtx {
        run: &ctx,
        scenario: s,
        templates,
        index,
        base: base.as_deref(),
        scope,
        jar: Arc::new(reqwest::cookie::Jar::default()),
        deadline,
        timed_out: false,
        params_rendered: std::collections::HashMap::new(),
    };
    let mut broken = false;
    for (i, st) in s.steps.iter().enumerate() {
        let r = if broken {
            skipped(
                st,
                Phase::Main,
                i + 1,
                "not run: an earlier step did not pass",
            )
        } else if ctx.stop.soft.is_cancelled() {
            report.interrupted = true;
            skipped(st, Phase::Main, i + 1, "not run: the run was interrupted")
        } else {
            step::run(&mut sctx, st, Phase::Main, i + 1).await
        };
        if matches!(r.outcome, Outcome::Failed | Outcome::Error) {
            broken = true;
            if ctx.stop.soft.is_cancelled() {
                report.interrupted = true;
            }
        }
        emit(&ctx, index, &r);
        report.steps.push(r);
    }
    if sctx.timed_out
        && let Some(t) = s.timeout
    {
        report.message = Some(format!(
            "the scenario's timeout of {} was reached",
            crate::http::fmt_duration(t)
        ));
    }
    // `finally` runs whatever happened, with no scenario deadline: cleanup must get its chance.
    sctx.deadline = None;
    for (i, st) in s.finally.iter().enumerate() {
        let r = step::run(&mut sctx, st, Phase::Finally, i + 1).await;
        emit(&ctx, index, &r);
        report.steps.push(r);
    }
    report.duration = started.elapsed();
    report.outcome = overall(&report.steps);
    if ctx.options.dry_run && report.outcome == Outcome::Passed {
        report.outcome = Outcome::Skipped;
        report.message = Some("dry run: rendered, nothing sent".into());
    }
    if report.interrupted {
        report.outcome = Outcome::Error;
        report.message = Some(
            "interrupted: the run was stopped (Ctrl-C or SIGTERM) before the scenario finished"
                .into(),
        );
    }
    report
}

fn emit(ctx: &RunCtx, index: usize, r: &StepReport) {
    // Each step's copy costs a clone, a wake-up of the reporters and a masking
    // pass: sent only when a reporter shows steps as they finish.
    if !ctx.options.step_events {
        return;
    }
    let _ = ctx.events.send(Event::StepFinished {
        index,
        step: Box::new(r.clone()),
    });
}

/// A failure before any step decides; otherwise the first step that did not pass.
fn overall(steps: &[StepReport]) -> Outcome {
    steps
        .iter()
        .find(|s| matches!(s.outcome, Outcome::Failed | Outcome::Error))
        .map_or(Outcome::Passed, |s| s.outcome)
}

fn base_url(
    ctx: &RunCtx,
    s: &Scenario,
    templates: &crate::template::Templates,
    scope: &Arc<Scope>,
) -> Result<Option<String>, String> {
    if let Some(b) = &ctx.options.base_url {
        return Ok(Some(b.clone()));
    }
    if let Some(t) = &s.base_url {
        return templates
            .render_str(t, &scope.to_value())
            .map(Some)
            .map_err(|e| {
                format!(
                    "{}:{}:{}: base_url: {}",
                    s.file.display(),
                    e.loc.line,
                    e.loc.col,
                    e.message
                )
            });
    }
    Ok(ctx.options.fallback_base_url.clone())
}

fn blank(index: usize, s: &Scenario, started_at: chrono::DateTime<chrono::Utc>) -> ScenarioReport {
    blank_of(s.entry(index), started_at)
}

/// A passed report with no steps yet, of the scenario `e` says.
fn blank_of(
    e: crate::scenario::suite::Entry<'_>,
    started_at: chrono::DateTime<chrono::Utc>,
) -> ScenarioReport {
    ScenarioReport {
        index: e.index,
        name: e.name.to_string(),
        file: e.file.display().to_string(),
        line: e.line as usize,
        flaky: false,
        previous_attempts: Vec::new(),
        classname: e.classname(),
        tags: e.tags.to_vec(),
        outcome: Outcome::Passed,
        message: None,
        interrupted: false,
        started_at: started_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        duration: std::time::Duration::ZERO,
        steps: Vec::new(),
        masked_with: None,
    }
}

pub(crate) fn skipped(
    st: &crate::scenario::Step,
    phase: Phase,
    number: usize,
    why: &str,
) -> StepReport {
    let mut r = step::blank(st, phase, number);
    r.outcome = Outcome::Skipped;
    r.message = Some(why.to_string());
    r
}

/// The report of a scenario whose task died (a bug: reported, never hidden).
pub(crate) fn crashed(ctx: &RunCtx, index: usize, why: &str) -> ScenarioReport {
    match ctx.suite.entry(index) {
        Some(e) => ScenarioReport {
            outcome: Outcome::Error,
            message: Some(format!("internal error while running the scenario: {why}")),
            ..blank_of(e, chrono::Utc::now())
        },
        None => ScenarioReport {
            index,
            name: format!("scenario {index}"),
            file: String::new(),
            line: 0,
            flaky: false,
            previous_attempts: Vec::new(),
            classname: String::new(),
            tags: Vec::new(),
            outcome: Outcome::Error,
            message: Some(why.to_string()),
            interrupted: false,
            started_at: String::new(),
            duration: std::time::Duration::ZERO,
            steps: Vec::new(),
            masked_with: None,
        },
    }
}
