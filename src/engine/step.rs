//! One step: render once, send (with transport retries and polling), check,
//! capture.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::cookie::CookieStore;

use super::assert::{self, Observed};
use super::request::{self, PrepareError};
use super::{RunCtx, capture};
use crate::events::{
    Assertion, DeliveryRecord, Outcome, Phase, RequestRecord, ResponseRecord, StepReport, excerpt,
};
use crate::http::{Body, PreparedRequest, Response, TransportError};
use crate::scenario::model::{RequestDoc, WaitWebhook};
use crate::scenario::{Action, Scenario, Step};
use crate::secrets::SECRET_HEADERS;
use crate::template::Scope;

/// How much of a body a report keeps.
const REPORT_BODY_BYTES: usize = 16 * 1024;
/// The longest wait a `Retry-After` may impose.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// A scenario's state while its steps run.
pub(crate) struct StepCtx<'a> {
    pub run: &'a RunCtx,
    pub scenario: &'a Scenario,
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

fn interrupted(r: &mut StepReport) {
    r.outcome = Outcome::Error;
    r.message = Some("interrupted: the run was stopped while this step ran".into());
}

/// Whether a main step must stop now (the run was interrupted). `finally` steps
/// never stop for that: they are what an interrupted run still owes.
fn stopping(cx: &StepCtx<'_>, phase: Phase) -> bool {
    phase == Phase::Main && cx.run.stop.soft.is_cancelled()
}

/// Sleep for `d`; false when a main step was told to stop meanwhile.
async fn pause(cx: &StepCtx<'_>, phase: Phase, d: Duration) -> bool {
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
fn scenario_timeout(cx: &StepCtx<'_>, st: &Step) -> String {
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
            let v = cx
                .run
                .suite
                .templates()
                .render_json(value, &cx.scope.to_value())?;
            let s = cx.scenario;
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
fn fail_prepare(cx: &StepCtx<'_>, st: &Step, phase: Phase, r: &mut StepReport, e: PrepareError) {
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

fn record_request(cx: &StepCtx<'_>, req: &PreparedRequest) -> RequestRecord {
    for (k, v) in &req.headers {
        if SECRET_HEADERS.iter().any(|s| k.eq_ignore_ascii_case(s)) {
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
fn record_response(cx: &StepCtx<'_>, resp: &Response, text: &str) -> ResponseRecord {
    for (k, v) in &resp.headers {
        if SECRET_HEADERS.iter().any(|s| k.eq_ignore_ascii_case(s)) {
            cx.run.redactor.add_header(k, v);
        }
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
    let suite = cx.run.suite.clone();
    let templates = suite.templates();
    let scenario_headers: Vec<(String, &crate::scenario::values::Tpl)> = cx
        .scenario
        .headers
        .iter()
        .flat_map(|(k, vs)| vs.iter().map(move |v| (k.clone(), v)))
        .collect();
    let scope_value = cx.scope.to_value();
    let prepared = request::prepare(
        templates,
        &scope_value,
        cx.base,
        &scenario_headers,
        req,
        &st.file,
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
    let cookies = CookiePolicy {
        explicit: prepared.header("cookie").map(str::to_string),
        extra: extra_cookies,
        origin: prepared.url.origin(),
    };
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
    let follow = req
        .follow_redirects
        .or(cx.scenario.follow_redirects)
        .unwrap_or(cx.run.options.follow_redirects);
    let sending = Sending {
        limit: st
            .timeout
            .or(cx.scenario.step_timeout)
            .unwrap_or(cx.run.options.default_timeout),
        retries: st
            .retries
            .or(cx.scenario.retries)
            .unwrap_or(cx.run.options.default_retries),
        follow,
        cookies: &cookies,
    };
    let poll = st.retry.as_ref();
    let max_polls = poll.map_or(1, |p| p.attempts.unwrap_or(10).max(1));
    let mut interval = poll
        .and_then(|p| p.interval.map(|d| d.0))
        .unwrap_or(Duration::from_secs(1));
    let backoff = poll
        .and_then(|p| p.backoff)
        .filter(|b| b.is_finite() && *b >= 1.0)
        .unwrap_or(1.0);
    let mut last: Option<(PreparedRequest, Response)> = None;
    for poll_no in 1..=max_polls {
        let (sent, resp) = match send_following(cx, st, phase, prepared.clone(), &sending, r).await
        {
            Ok(done) => done,
            Err(e) => {
                r.outcome = Outcome::Error;
                r.message = Some(e);
                return;
            }
        };
        if let Some(p) = poll
            && poll_no < max_polls
        {
            let obs = observe(&resp, sent.url.as_str(), r);
            let until = assert::evaluate(&p.until, &obs, templates, &cx.scope.to_value(), false);
            if !until.failures.is_empty() {
                if !pause(cx, phase, interval).await {
                    r.request = Some(record_request(cx, &sent));
                    r.response = Some(record_response(cx, &resp, &obs.text));
                    interrupted(r);
                    return;
                }
                last = Some((sent, resp));
                interval = interval.mul_f64(backoff).min(Duration::from_secs(60));
                continue;
            }
        }
        last = Some((sent, resp));
        break;
    }
    let Some((sent, resp)) = last else { return };
    r.request = Some(record_request(cx, &sent));
    let obs = observe(&resp, sent.url.as_str(), r);
    r.response = Some(record_response(cx, &resp, &obs.text));
    check_and_capture(cx, st, &obs, r, poll.map(|p| (&p.until, max_polls)));
}

/// The most redirects one step follows.
const MAX_REDIRECTS: usize = 10;

/// Headers that go along on a hop to another origin; every other header (credentials
/// of any name among them) stays with the origin it was written for.
const KEPT_ACROSS_ORIGINS: [&str; 8] = [
    "accept",
    "accept-encoding",
    "accept-language",
    "user-agent",
    "content-type",
    "content-language",
    "cache-control",
    "idempotency-key",
];

/// How a step's requests are sent.
struct Sending<'a> {
    limit: Duration,
    retries: u32,
    follow: bool,
    cookies: &'a CookiePolicy,
}

/// Which cookies a request carries: a `Cookie` header the step wrote replaces the
/// jar (for the origin it was written for); otherwise the jar's cookies for the URL,
/// with the step's `cookies:` on top (also for its own origin only).
struct CookiePolicy {
    explicit: Option<String>,
    extra: Vec<(String, String)>,
    origin: url::Origin,
}

impl CookiePolicy {
    fn apply(&self, jar: &reqwest::cookie::Jar, req: &mut PreparedRequest) {
        req.headers
            .retain(|(k, _)| !k.eq_ignore_ascii_case("cookie"));
        let own_origin = req.url.origin() == self.origin;
        if own_origin && let Some(text) = &self.explicit {
            req.headers.push(("Cookie".into(), text.clone()));
            return;
        }
        let mut pairs: Vec<(String, String)> = jar
            .cookies(&req.url)
            .and_then(|c| c.to_str().ok().map(str::to_string))
            .map(|text| {
                text.split("; ")
                    .filter_map(|kv| kv.split_once('='))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        if own_origin {
            for (k, v) in &self.extra {
                pairs.retain(|(name, _)| name != k);
                pairs.push((k.clone(), v.clone()));
            }
        }
        if !pairs.is_empty() {
            let text = pairs
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            req.headers.push(("Cookie".into(), text));
        }
    }
}

/// What assertions see of a response: its URL and the hops that led to it too.
fn observe<'a>(resp: &'a Response, url: &str, r: &StepReport) -> Observed<'a> {
    let mut obs = Observed::new(resp);
    obs.url = url.to_string();
    obs.redirects = r.redirects.len();
    obs
}

/// Send `req`, then (when the step follows redirects) each hop the server points
/// to, as a request of its own: through the cost guard and the scenario's cookie
/// jar, with the method and the headers a hop may carry. The hops before the last
/// are recorded on `r`; returns the last request and its response.
async fn send_following(
    cx: &mut StepCtx<'_>,
    st: &Step,
    phase: Phase,
    mut req: PreparedRequest,
    how: &Sending<'_>,
    r: &mut StepReport,
) -> Result<(PreparedRequest, Response), String> {
    r.redirects.clear();
    let first_url = req.url.clone();
    loop {
        let safe_to_repeat = is_idempotent(&req.method) || req.header("idempotency-key").is_some();
        let resp = send_with_retries(
            cx,
            st,
            phase,
            &req,
            how.limit,
            how.retries,
            safe_to_repeat,
            r,
        )
        .await?;
        store_cookies(cx, &req.url, &resp);
        if !how.follow || !matches!(resp.status, 301 | 302 | 303 | 307 | 308) {
            return Ok((req, resp));
        }
        let Some(location) = resp.header("location") else {
            return Ok((req, resp));
        };
        // A redirect followed or refused, the hop is reported either way.
        r.redirects.push(crate::events::Exchange {
            request: record_request(cx, &req),
            response: record_response(cx, &resp, &resp.text()),
        });
        let hop = r.redirects.len();
        if hop > MAX_REDIRECTS {
            return Err(format!(
                "too many redirects: more than {MAX_REDIRECTS} starting at {first_url}"
            ));
        }
        let mut next = redirect_target(&req, &resp, &location)?;
        how.cookies.apply(&cx.jar, &mut next);
        if let Some(why) = refusal(cx, &next) {
            return Err(format!(
                "refused, not sent: redirect {hop} to {} {}: {why}",
                next.method, next.url
            ));
        }
        if stopping(cx, phase) {
            return Err("interrupted: the run was stopped while this step ran".into());
        }
        req = next;
    }
}

/// Why the cost guard will not let `req` go, if it will not.
fn refusal(cx: &StepCtx<'_>, req: &PreparedRequest) -> Option<String> {
    cx.run
        .options
        .cost_guard
        .as_ref()
        .and_then(|g| g.refusal(cx.scenario, req.method.as_str(), &req.url))
}

/// The request a redirect asks for. 303, and 301/302 after a POST, become a GET
/// without a body (as browsers and curl do); 307 and 308 keep method and body. A hop
/// to another origin carries only the headers of `KEPT_ACROSS_ORIGINS`.
fn redirect_target(
    req: &PreparedRequest,
    resp: &Response,
    location: &str,
) -> Result<PreparedRequest, String> {
    let url = req.url.join(location.trim()).map_err(|e| {
        format!(
            "HTTP {} from {} redirects to `{location}`, which is not a URL ({e})",
            resp.status, req.url
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "HTTP {} from {} redirects to {url}: only http and https are followed",
            resp.status, req.url
        ));
    }
    let to_get = match resp.status {
        303 => req.method != reqwest::Method::HEAD,
        301 | 302 => req.method == reqwest::Method::POST,
        _ => false,
    };
    let same_origin = url.origin() == req.url.origin();
    let mut headers: Vec<(String, String)> = req
        .headers
        .iter()
        .filter(|(k, _)| {
            same_origin
                || KEPT_ACROSS_ORIGINS
                    .iter()
                    .any(|kept| k.eq_ignore_ascii_case(kept))
        })
        .cloned()
        .collect();
    let (method, body) = if to_get {
        headers.retain(|(k, _)| {
            ![
                "content-type",
                "content-length",
                "content-encoding",
                "content-language",
            ]
            .iter()
            .any(|h| k.eq_ignore_ascii_case(h))
        });
        (reqwest::Method::GET, Body::Empty)
    } else {
        (req.method.clone(), req.body.clone())
    };
    Ok(PreparedRequest {
        method,
        url,
        headers,
        body,
    })
}

/// Every `Set-Cookie` of a response goes into the scenario's jar, for its URL.
fn store_cookies(cx: &StepCtx<'_>, url: &url::Url, resp: &Response) {
    let set_cookies: Vec<reqwest::header::HeaderValue> = resp
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .filter_map(|(_, v)| reqwest::header::HeaderValue::from_str(v).ok())
        .collect();
    if !set_cookies.is_empty() {
        let mut iter = set_cookies.iter();
        cx.jar.set_cookies(&mut iter, url);
    }
}

/// Assertions, then captures; captures are taken even when an assertion failed,
/// so that `finally` can still cancel what the step started.
fn check_and_capture(
    cx: &mut StepCtx<'_>,
    st: &Step,
    obs: &Observed<'_>,
    r: &mut StepReport,
    poll: Option<(&crate::scenario::expect::Expect, u32)>,
) {
    let suite = cx.run.suite.clone();
    let templates = suite.templates();
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

fn is_idempotent(m: &reqwest::Method) -> bool {
    matches!(m.as_str(), "GET" | "HEAD" | "OPTIONS" | "PUT" | "DELETE")
}

/// The statuses the step expects, a `status:` template rendered in the scope the
/// assertions will see: a 503 the step expects is its answer, not a failure to
/// retry. A template that does not render expects nothing here (the assertion
/// reports it once the response is in).
fn expected_statuses(cx: &StepCtx<'_>, st: &Step) -> Vec<crate::scenario::expect::StatusPattern> {
    let Some(status) = st.expect.status.as_ref() else {
        return Vec::new();
    };
    let Some(t) = &status.template else {
        return status.accepted.clone();
    };
    let value = crate::scenario::values::TValue::Str(t.clone());
    cx.run
        .suite
        .templates()
        .render_json(&value, &cx.scope.to_value())
        .ok()
        .and_then(|j| crate::scenario::expect::status_patterns(&j))
        .unwrap_or_default()
}

/// Send, retrying what is safe to retry; failed attempts are recorded on `r`.
#[allow(clippy::too_many_arguments)]
async fn send_with_retries(
    cx: &mut StepCtx<'_>,
    st: &Step,
    phase: Phase,
    req: &PreparedRequest,
    limit: Duration,
    retries: u32,
    safe_to_repeat: bool,
    r: &mut StepReport,
) -> Result<Response, String> {
    let expected_status = expected_statuses(cx, st);
    let mut attempt: u32 = 0;
    loop {
        attempt += 1;
        r.attempts += 1;
        // The scenario's deadline may leave less time than the step's own limit.
        let (limit, clipped) = match cx.deadline {
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    cx.timed_out = true;
                    return Err(scenario_timeout(cx, st));
                }
                (left.min(limit), left < limit)
            }
            None => (limit, false),
        };
        let result = cx.run.client.send(req, limit).await;
        let last_try = attempt > retries;
        let (retry, wait) = match &result {
            // A request that cannot be built is built the same way again.
            Err(TransportError::Timeout { .. } | TransportError::Invalid(_)) => {
                (false, Duration::ZERO)
            }
            Err(e) => (e.never_sent() || safe_to_repeat, backoff(attempt)),
            Ok(resp) => {
                let expected = expected_status.iter().any(|p| p.matches(resp.status));
                let transient = matches!(resp.status, 429 | 500 | 502 | 503 | 504);
                // Retry-After is how a 429 or a 503 says when to come back.
                let wait = if matches!(resp.status, 429 | 503) {
                    retry_after(resp).unwrap_or_else(|| backoff(attempt))
                } else {
                    backoff(attempt)
                };
                // A 429 says the request was not processed: safe to send again
                // whatever the method. Anything else only when repeating is safe.
                (
                    transient && !expected && (safe_to_repeat || resp.status == 429),
                    wait,
                )
            }
        };
        if retry && !last_try && wait > MAX_RETRY_AFTER {
            r.message = Some(format!(
                "not retried: the server asked to wait {} (Retry-After), longer than the {} the runner waits at most",
                crate::http::fmt_duration(wait),
                crate::http::fmt_duration(MAX_RETRY_AFTER)
            ));
        }
        if !retry || last_try || wait > MAX_RETRY_AFTER {
            if clipped && matches!(result, Err(TransportError::Timeout { .. })) {
                cx.timed_out = true;
                return Err(scenario_timeout(cx, st));
            }
            return result.map_err(|e| match e {
                TransportError::Timeout { limit, progress } => format!(
                    "step \"{}\" timed out: no complete response within {} ({progress})",
                    st.name,
                    crate::http::fmt_duration(limit)
                ),
                other => format!("{} {}: {other}", req.method, req.url),
            });
        }
        r.failed_attempts.push(match &result {
            Ok(resp) => format!(
                "attempt {attempt}: HTTP {} from {} {}; retried after {}",
                resp.status,
                req.method,
                req.url,
                crate::http::fmt_duration(wait)
            ),
            Err(e) => format!(
                "attempt {attempt}: {e}; retried after {}",
                crate::http::fmt_duration(wait)
            ),
        });
        if !pause(cx, phase, wait).await {
            return Err("interrupted: the run was stopped while this step ran".into());
        }
    }
}

fn backoff(attempt: u32) -> Duration {
    let base = 200u64.saturating_mul(1u64 << attempt.min(5));
    let jitter = rand::random::<u64>() % 100;
    Duration::from_millis(base.min(5_000) + jitter)
}

fn retry_after(resp: &Response) -> Option<Duration> {
    let v = resp.header("retry-after")?;
    if let Ok(secs) = v.trim().parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0)
            .then(|| Duration::from_secs_f64(secs.min(3600.0)));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v.trim()).ok()?;
    let secs = (when.timestamp() - chrono::Utc::now().timestamp()).max(0);
    Some(Duration::from_secs(u64::try_from(secs).unwrap_or(0)))
}

async fn webhook_step(
    cx: &mut StepCtx<'_>,
    st: &Step,
    phase: Phase,
    w: &WaitWebhook,
    r: &mut StepReport,
) {
    let suite = cx.run.suite.clone();
    let templates = suite.templates();
    let scope_value = cx.scope.to_value();
    let event = match w
        .event
        .as_ref()
        .map(|e| templates.render_str(e, &scope_value))
        .transpose()
    {
        Ok(e) => e,
        Err(e) => {
            drop(scope_value);
            fail_prepare(cx, st, phase, r, e.into());
            return;
        }
    };
    let secret = match w
        .secret
        .as_ref()
        .map(|s| templates.render_str(s, &scope_value))
        .transpose()
    {
        Ok(s) => s,
        Err(e) => {
            drop(scope_value);
            fail_prepare(cx, st, phase, r, e.into());
            return;
        }
    };
    drop(scope_value);
    if cx.run.options.dry_run {
        r.outcome = Outcome::Skipped;
        r.message = Some("dry run: not waited for".into());
        return;
    }
    if let Some(s) = &secret {
        cx.run.redactor.add(s);
    }
    let Some(receiver) = cx.run.webhooks.as_ref() else {
        r.outcome = Outcome::Error;
        r.message = Some("the webhook receiver is not running".into());
        return;
    };
    let within = w.within.map_or(Duration::from_secs(10), |d| d.0);
    r.attempts = 1;
    let started = Instant::now();
    let soft = cx.run.stop.soft.clone();
    let wait = receiver.wait(cx.scenario.index, event.as_deref(), within);
    let delivery = if phase == Phase::Main {
        tokio::select! {
            biased;
            _ = soft.cancelled() => {
                interrupted(r);
                return;
            }
            d = wait => d,
        }
    } else {
        wait.await
    };
    let Some(delivery) = delivery else {
        r.outcome = Outcome::Failed;
        r.failures.push(Assertion {
            subject: "webhook".into(),
            expected: format!(
                "a delivery{} within {}",
                event
                    .as_ref()
                    .map(|e| format!(" of `{e}`"))
                    .unwrap_or_default(),
                crate::http::fmt_duration(within)
            ),
            actual: "none arrived".into(),
        });
        return;
    };
    let resp = Response {
        status: 200,
        // Checked like a response; reported as the delivery it is.
        version: String::new(),
        headers: delivery.headers.clone(),
        body: delivery.body.clone(),
        truncated: false,
        elapsed: started.elapsed(),
        body_problem: None,
        wire_bytes: delivery.body.len(),
    };
    let obs = observe(&resp, "", r);
    let seen = record_response(cx, &resp, &obs.text);
    r.delivery = Some(DeliveryRecord {
        headers: seen.headers,
        body: seen.body,
        body_bytes: seen.body_bytes,
        truncated: seen.truncated,
        after_ms: seen.time_ms,
    });
    check_and_capture(cx, st, &obs, r, None);
    if let Some(secret) = secret {
        r.assertions += 1;
        let verdict = match delivery.header("x-layers-signature") {
            Some(h) => super::webhook::verify_signature(h, &delivery.body, &secret),
            None => Err("no X-Layers-Signature header".into()),
        };
        let subject = "webhook signature".to_string();
        let expected = "a valid X-Layers-Signature".to_string();
        match verdict {
            Err(why) => {
                r.outcome = Outcome::Failed;
                r.failures.push(Assertion {
                    subject,
                    expected,
                    actual: why,
                });
            }
            Ok(()) if cx.run.options.record_passes => r.passed.push(Assertion {
                subject,
                expected,
                actual: "valid".into(),
            }),
            Ok(()) => {}
        }
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
