//! Following redirects hop by hop: each hop a request of its own, through the cost
//! guard and the scenario's cookie jar, with the method and headers a hop may carry.

use std::time::Duration;

use super::cookies::{CookiePolicy, store_cookies};
use super::retry::{is_idempotent, send_with_retries};
use super::step::{StepCtx, record_request, record_response, refusal, stopping};
use crate::events::{Phase, StepReport};
use crate::http::{Body, PreparedRequest, Response};
use crate::scenario::Step;
use crate::scenario::model::RequestDoc;

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
pub(super) struct Sending<'a> {
    limit: Duration,
    retries: u32,
    follow: bool,
    cookies: &'a CookiePolicy,
}

impl<'a> Sending<'a> {
    /// What the step says, or else its scenario, or else the command line.
    pub(super) fn of(
        cx: &StepCtx<'_>,
        st: &Step,
        req: &RequestDoc,
        cookies: &'a CookiePolicy,
    ) -> Self {
        Sending {
            limit: st
                .timeout
                .or(cx.scenario.step_timeout)
                .unwrap_or(cx.run.options.default_timeout),
            retries: st
                .retries
                .or(cx.scenario.retries)
                .unwrap_or(cx.run.options.default_retries),
            follow: req
                .follow_redirects
                .or(cx.scenario.follow_redirects)
                .unwrap_or(cx.run.options.follow_redirects),
            cookies,
        }
    }
}

/// Send `req`, then (when the step follows redirects) each hop the server points
/// to, as a request of its own: through the cost guard and the scenario's cookie
/// jar, with the method and the headers a hop may carry. The hops before the last
/// are recorded on `r`; returns the last request and its response.
pub(super) async fn send_following(
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
        let targets: Vec<String> = resp
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("location"))
            .map(|(_, v)| v.trim().to_string())
            .collect();
        let Some(location) = targets.first().cloned() else {
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
        // Compared as the URLs they name: `/h1` and `http://host/h1` are one.
        let named = |t: &str| {
            req.url
                .join(t)
                .map(|u| u.to_string())
                .unwrap_or_else(|_| t.to_string())
        };
        if targets.iter().any(|t| named(t) != named(&location)) {
            // Joined, they name no page the server meant; either one is a guess.
            return Err(format!(
                "HTTP {} from {} names {} different redirect targets (Location: {}): the runner follows one or none",
                resp.status,
                req.url,
                targets.len(),
                targets.join(" | ")
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
