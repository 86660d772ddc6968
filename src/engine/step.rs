//! One step's lifecycle: render once, send (through `poll.rs`, `redirect.rs` and
//! `retry.rs`), check, capture; interrupts, the scenario's deadline and dry runs.
//! A `wait_webhook` step is in `webhook_step.rs`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::assert::{self, Observed};
use super::cookies::CookiePolicy;
use super::poll::{Polling, send_until};
use super::redirect::Sending;
use super::request::{self, PrepareError};
use super::webhook_step::webhook_step;
use super::{RunCtx, capture};
use crate::events::{
    Assertion, Outcome, Phase, RequestRecord, ResponseRecord, StepReport, excerpt,
};
use crate::http::{Body, PreparedRequest, Response};
use crate::scenario::model::RequestDoc;
use crate::scenario::{Action, Scenario, Step};
use crate::template::Scope;

/// How much of a body a report keeps.
const REPORT_BODY_BYTES: usize = 16 * 1024;

/// A scenario's state while its steps run.
pub(crate) struct StepCtx<'a> {
    pub run: &'a RunCtx,
    pub scenario: &'a Scenario,
    /// The templates the scenario's steps were compiled into.
    pub templates: &'a crate::template::Templates,
    /// The scenario's position in the run.
    pub index: usize,
    pub base: Option<&'a str>,
    pub scope: Arc<Scope>,
    pub jar: Arc<reqwest::cookie::Jar>,
    pub deadline: Option<Instant>,
    pub timed_out: bool,
    /// Include parameters rendered so far, by the address of their `Params`.
    pub params_rendered: std::collections::HashMap<usize, Vec<(String, minijinja::Value)>>,
}

pub(crate) fn blank(st: &Step, phase: Phase, number: usize) -> StepReport {
    StepReport {
        name: st.name.clone(),
        phase,
        number,
        location: format!("{}:{}", st.file.display(), st.loc.line),
        outcome: Outcome::Passed,
        message: None,
        failures: Vec::new(),
        passed: Vec::new(),
        request: None,
        response: None,
        redirects: Vec::new(),
        delivery: None,
        failed_attempts: Vec::new(),
        attempts: 0,
        duration: Duration::ZERO,
        assertions: 0,
    }
}

/// Run one step; never panics, never returns early without a report.
pub(crate) async fn run(
    cx: &mut StepCtx<'_>,
    st: &Step,
    phase: Phase,
    number: usize,
) -> StepReport {
    let started = Instant::now();
    let mut r = blank(st, phase, number);
    if let Some(reason) = &st.skip {
        r.outcome = Outcome::Skipped;
        r.message = Some(reason.clone());
        return r;
    }
    // The end of the grace period aborts any step. The first Ctrl-C / SIGTERM only
    // stops a main step at its waits (delay, polling, retry pauses, webhooks): a
    // request already on the wire gets its response and its captures, so that
    // `finally` can cancel what it started.
    let hard = cx.run.stop.hard.clone();
    // A main request still on the wire when its share of the grace period is over is
    // abandoned: `finally` gets the rest of the grace.
    let in_flight = cx.run.stop.in_flight.clone();
    let abandon = async move {
        match phase {
            Phase::Main => in_flight.cancelled().await,
            Phase::Finally => std::future::pending().await,
        }
    };
    let deadline = cx.deadline;
    let scenario_limit = async move {
        match deadline {
            Some(d) => tokio::time::sleep_until(d.into()).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        biased;
        _ = hard.cancelled() => interrupted(&mut r),
        _ = abandon => {
            r.outcome = Outcome::Error;
            r.message = Some(
                "interrupted: this step was still waiting for its response when its share of the grace period (half of --grace) ran out; it was abandoned so that the `finally` steps could run"
                    .into(),
            );
        }
        _ = scenario_limit => {
            cx.timed_out = true;
            r.outcome = Outcome::Error;
            r.message = Some(scenario_timeout(cx, st));
        }
        _ = body(cx, st, phase, &mut r) => {}
    }
    r.duration = started.elapsed();
    r
}

pub(super) fn interrupted(r: &mut StepReport) {
    r.outcome = Outcome::Error;
    r.message = Some("interrupted: the run was stopped while this step ran".into());
}

/// Whether a main step must stop now (the run was interrupted). `finally` steps
/// never stop for that: they are what an interrupted run still owes.
pub(super) fn stopping(cx: &StepCtx<'_>, phase: Phase) -> bool {
    phase == Phase::Main && cx.run.stop.soft.is_cancelled()
}

/// Sleep for `d`; false when a main step was told to stop meanwhile.
pub(super) async fn pause(cx: &StepCtx<'_>, phase: Phase, d: Duration) -> bool {
    if phase == Phase::Finally {
        tokio::time::sleep(d).await;
        return true;
    }
    tokio::select! {
        biased;
        _ = cx.run.stop.soft.cancelled() => false,
        _ = tokio::time::sleep(d) => true,
    }
}

async fn body(cx: &mut StepCtx<'_>, st: &Step, phase: Phase, r: &mut StepReport) {
    if let Some(d) = st.delay
        && !pause(cx, phase, d).await
    {
        interrupted(r);
        return;
    }
    if stopping(cx, phase) {
        interrupted(r);
        return;
    }
    if let Err(e) = set_params(cx, st) {
        fail_prepare(cx, st, phase, r, e);
        return;
    }
    match &st.action {
        Action::Request(req) => request_step(cx, st, phase, req, r).await,
        Action::WaitWebhook(w) => webhook_step(cx, st, phase, w, r).await,
    }
}

/// The error of a step cut short by its scenario's `timeout`.
pub(super) fn scenario_timeout(cx: &StepCtx<'_>, st: &Step) -> String {
    let limit = cx
        .scenario
        .timeout
        .map(|t| format!(" of {}", crate::http::fmt_duration(t)))
        .unwrap_or_default();
    format!(
        "step \"{}\": the scenario's timeout{limit} was reached",
        st.name
    )
}

/// Put the step's include parameters into the scope. Each include's `with:` is
/// rendered once, at its first step, and kept for its other steps; each parameter
/// sees those before it and those of the includes around it.
fn set_params(cx: &mut StepCtx<'_>, st: &Step) -> Result<(), PrepareError> {
    if st.params.is_empty() && cx.scope.params.is_empty() {
        return Ok(());
    }
    Arc::make_mut(&mut cx.scope).params.clear();
    for level in st.params.chain() {
        let key = Arc::as_ptr(&level) as usize;
        if let Some(values) = cx.params_rendered.get(&key) {
            let values = values.clone();
            Arc::make_mut(&mut cx.scope).params.extend(values);
            continue;
        }
        let mut rendered = Vec::with_capacity(level.own.len());
        for (name, value) in &level.own {
            let scope_value = cx.scope.to_value();
            let v = cx.templates.render_json(value, &scope_value)?;
            let s = cx.scenario;
            super::derived::learn(
                cx.templates,
                value.strings(),
                &scope_value,
                s,
                &cx.run.redactor,
            );
            cx.run
                .redactor
                .add_named(name, &v, &s.secrets, &s.inferred_secrets);
            let v = crate::template::to_value(v);
            Arc::make_mut(&mut cx.scope)
                .params
                .insert(name.clone(), v.clone());
            rendered.push((name.clone(), v));
        }
        cx.params_rendered.insert(key, rendered);
    }
    Ok(())
}

/// A render failure: an error, except in `finally` where a missing capture means
/// there is nothing to clean up.
pub(super) fn fail_prepare(
    cx: &StepCtx<'_>,
    st: &Step,
    phase: Phase,
    r: &mut StepReport,
    e: PrepareError,
) {
    let captured_names: Vec<&str> = cx
        .scenario
        .all_steps()
        .flat_map(|s| s.capture.iter().map(|(n, _)| n.as_str()))
        .collect();
    let never_captured: Vec<&String> = e
        .undefined
        .iter()
        .filter(|n| captured_names.contains(&n.as_str()))
        .collect();
    if phase == Phase::Finally
        && !never_captured.is_empty()
        && never_captured.len() == e.undefined.len()
    {
        let names: Vec<String> = never_captured.iter().map(|n| n.to_string()).collect();
        let (it, was) = if names.len() == 1 {
            ("it", "was")
        } else {
            ("they", "were")
        };
        r.outcome = Outcome::Skipped;
        r.message = Some(format!(
            "skipped: {it} needs {}, which {was} never captured",
            names.join(", ")
        ));
        return;
    }
    r.outcome = Outcome::Error;
    r.message = Some(format!(
        "{}:{}: {}",
        st.file.display(),
        st.loc.line,
        e.message
    ));
}

pub(super) fn record_request(cx: &StepCtx<'_>, req: &PreparedRequest) -> RequestRecord {
    for (k, v) in &req.headers {
        if crate::secrets::is_secret_header(k) {
            cx.run.redactor.add_header(k, v);
        }
    }
    if let Some(p) = req.url.password() {
        cx.run.redactor.add_labeled(p, "URL password");
        let decoded = percent_encoding::percent_decode_str(p).decode_utf8_lossy();
        cx.run.redactor.add_labeled(&decoded, "URL password");
    }
    let body = match &req.body {
        Body::Empty => None,
        Body::Bytes(b) => Some(excerpt(&String::from_utf8_lossy(b), REPORT_BODY_BYTES)),
        Body::Multipart(parts) => Some(format!(
            "multipart: {}",
            parts
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    };
    // A dry run shows capture placeholders as written (`<job_id: ...>`), not %-encoded.
    let url = if cx.run.options.dry_run {
        percent_encoding::percent_decode_str(req.url.as_str())
            .decode_utf8_lossy()
            .into_owned()
    } else {
        req.url.to_string()
    };
    RequestRecord {
        method: req.method.to_string(),
        url,
        headers: req.headers.clone(),
        body,
    }
}

/// `text` is the body as decoded for the assertions (`Observed::text`): a body is
/// decoded from its charset once per response, not again for the report.
pub(super) fn record_response(cx: &StepCtx<'_>, resp: &Response, text: &str) -> ResponseRecord {
    for (k, v) in &resp.headers {
        if crate::secrets::is_secret_header(k) {
            cx.run.redactor.add_header(k, v);
        }
        for key in crate::secrets::credentials_of_response(v) {
            cx.run
                .redactor
                .add_learnt(&key, "a credential in a response");
        }
    }
    for key in crate::secrets::credentials_of_response(text) {
        cx.run
            .redactor
            .add_learnt(&key, "a credential in a response");
    }
    response_record(resp, text)
}

fn response_record(resp: &Response, text: &str) -> ResponseRecord {
    ResponseRecord {
        status: resp.status,
        version: resp.version.clone(),
        headers: resp.headers.clone(),
        body: crate::events::excerpt_of(text, REPORT_BODY_BYTES, resp.body.len()),
        body_bytes: resp.body.len(),
        truncated: resp.truncated,
        time_ms: u64::try_from(resp.elapsed.as_millis()).unwrap_or(u64::MAX),
    }
}

async fn request_step(
    cx: &mut StepCtx<'_>,
    st: &Step,
    phase: Phase,
    req: &RequestDoc,
    r: &mut StepReport,
) {
    let templates = cx.templates;
    let scenario_headers: Vec<(String, &crate::scenario::values::Tpl)> = cx
        .scenario
        .headers
        .iter()
        .flat_map(|(k, vs)| vs.iter().map(move |v| (k.clone(), v)))
        .collect();
    let scope_value = cx.scope.to_value();
    let scenario = cx.scenario;
    let render = request::Render {
        templates,
        scope: &scope_value,
        secrets: Some((scenario, &cx.run.redactor)),
    };
    let prepared = request::prepare(&render, cx.base, &scenario_headers, req, &st.file);
    // What a failure would show as "expected ...", made of a secret.
    let until = st.retry.iter().flat_map(|r| r.until.strings());
    super::derived::learn(
        templates,
        st.expect.strings().into_iter().chain(until),
        &scope_value,
        scenario,
        &cx.run.redactor,
    );
    drop(scope_value);
    let mut prepared = match prepared {
        Ok(p) => p,
        Err(e) => {
            fail_prepare(cx, st, phase, r, e);
            return;
        }
    };
    let scope_value = cx.scope.to_value();
    let mut extra_cookies = Vec::with_capacity(req.cookies.len());
    for (name, t) in &req.cookies {
        match templates.render_str(t, &scope_value) {
            Ok(v) => extra_cookies.push((name.clone(), v)),
            Err(e) => {
                drop(scope_value);
                fail_prepare(cx, st, phase, r, e.into());
                return;
            }
        }
    }
    drop(scope_value);
    let cookies = CookiePolicy::of(&prepared, extra_cookies);
    cookies.apply(&cx.jar, &mut prepared);
    r.request = Some(record_request(cx, &prepared));
    let refusal = refusal(cx, &prepared);
    if cx.run.options.dry_run {
        r.outcome = Outcome::Skipped;
        r.message = Some(match refusal {
            Some(why) => format!("dry run: not sent; a real run would refuse it: {why}"),
            None => "dry run: not sent".into(),
        });
        for (name, _) in &st.capture {
            let placeholder = minijinja::Value::from(format!("<{name}: captured at run time>"));
            Arc::make_mut(&mut cx.scope)
                .captures
                .insert(name.clone(), placeholder);
        }
        return;
    }
    if let Some(why) = refusal {
        r.outcome = Outcome::Error;
        r.message = Some(format!("refused, not sent: {why}"));
        return;
    }
    if stopping(cx, phase) {
        interrupted(r);
        return;
    }
    let sending = Sending::of(cx, st, req, &cookies);
    let polling = Polling::of(st);
    let Some((sent, resp)) = send_until(cx, st, phase, &prepared, &sending, &polling, r).await
    else {
        return;
    };
    r.request = Some(record_request(cx, &sent));
    let obs = observe(&resp, sent.url.as_str(), r);
    r.response = Some(record_response(cx, &resp, &obs.text));
    let until = st.retry.as_ref().map(|p| (&p.until, polling.attempts));
    check_and_capture(cx, st, &obs, r, until);
}

/// What assertions see of a response: its URL and the hops that led to it too.
pub(super) fn observe<'a>(resp: &'a Response, url: &str, r: &StepReport) -> Observed<'a> {
    let mut obs = Observed::new(resp);
    obs.url = url.to_string();
    obs.redirects = r.redirects.len();
    obs
}

/// Why the cost guard will not let `req` go, if it will not.
pub(super) fn refusal(cx: &StepCtx<'_>, req: &PreparedRequest) -> Option<String> {
    cx.run
        .options
        .cost_guard
        .as_ref()
        .and_then(|g| g.refusal(cx.scenario, req.method.as_str(), &req.url))
}

/// Assertions, then captures; captures are taken even when an assertion failed,
/// so that `finally` can still cancel what the step started.
pub(super) fn check_and_capture(
    cx: &mut StepCtx<'_>,
    st: &Step,
    obs: &Observed<'_>,
    r: &mut StepReport,
    poll: Option<(&crate::scenario::expect::Expect, u32)>,
) {
    let templates = cx.templates;
    let resp = obs.response;
    let scope_value = cx.scope.to_value();
    let record = cx.run.options.record_passes;
    let assert::Evaluation {
        mut failures,
        mut passed,
        mut count,
    } = assert::evaluate(&st.expect, obs, templates, &scope_value, record);
    // A request step that says nothing about the status still must not get an error
    // status: a suite that passes on a 500 is a suite CI cannot trust.
    let status_said =
        st.expect.status.is_some() || poll.is_some_and(|(until, _)| until.status.is_some());
    if matches!(st.action, Action::Request(_)) && !status_said {
        count += 1;
        let implicit = Assertion {
            subject: "status".into(),
            expected: "a success (2xx; write `expect: status:` to accept others)".into(),
            actual: resp.status.to_string(),
        };
        if !(200..300).contains(&resp.status) {
            failures.push(implicit);
        } else if record {
            passed.push(implicit);
        }
    }
    if matches!(st.action, Action::Request(_))
        && let Some(req) = &r.request
    {
        let (n, more) = crate::contract::check_step(
            &st.expect,
            cx.run.options.openapi.as_ref(),
            &req.method,
            &req.url,
            resp,
            &obs.json,
        );
        count += n;
        failures.extend(more);
    }
    if let Some((until, attempts)) = poll {
        let until = assert::evaluate(until, obs, templates, &scope_value, record);
        count += until.count;
        for mut f in until.failures {
            f.subject = format!("retry.until {} (after {attempts} attempts)", f.subject);
            failures.push(f);
        }
        for mut p in until.passed {
            p.subject = format!("retry.until {}", p.subject);
            passed.push(p);
        }
    }
    drop(scope_value);
    let mut captured = Vec::new();
    for (name, c) in &st.capture {
        match capture::take(name, c, obs) {
            Ok(v) => captured.push((name.clone(), v)),
            Err(f) => failures.push(f),
        }
    }
    let scope = Arc::make_mut(&mut cx.scope);
    for (name, v) in captured {
        let s = cx.scenario;
        cx.run
            .redactor
            .add_named(&name, &v, &s.secrets, &s.inferred_secrets);
        scope.captures.insert(name, crate::template::to_value(v));
    }
    r.assertions = count;
    r.passed = passed;
    if !failures.is_empty() {
        r.outcome = Outcome::Failed;
        r.failures = failures;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_is_decoded_once_for_the_assertions_and_the_report() {
        // (Content-Type, body bytes, the text both see)
        let table: [(&str, &[u8], &str); 3] = [
            ("text/plain; charset=iso-8859-1", b"caf\xe9", "café"),
            ("application/json", b"{\"a\":1}", "{\"a\":1}"),
            ("text/plain; charset=utf-8", b"bad \xff", "bad \u{fffd}"),
        ];
        for (ct, body, text) in table {
            let resp = Response {
                status: 200,
                version: "HTTP/1.1".into(),
                headers: vec![("Content-Type".into(), ct.into())],
                body: bytes::Bytes::from(body.to_vec()),
                truncated: false,
                elapsed: Duration::ZERO,
                body_problem: None,
                wire_bytes: body.len(),
            };
            let before = crate::http::decode::DECODES.with(|n| n.get());
            let obs = Observed::new(&resp);
            let record = response_record(&resp, &obs.text);
            let decodes = crate::http::decode::DECODES.with(|n| n.get()) - before;
            assert_eq!(decodes, 1, "{ct}");
            assert_eq!(obs.text, text, "{ct}");
            assert_eq!(record.body, text, "{ct}");
        }
    }
}
