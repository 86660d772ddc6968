//! The scenario's cookie jar: which cookies a request carries, and what a response
//! sets.

use reqwest::cookie::CookieStore;

use super::step::StepCtx;
use crate::http::{PreparedRequest, Response};

/// Which cookies a request carries: a `Cookie` header the step wrote replaces the
/// jar (for the origin it was written for); otherwise the jar's cookies for the URL,
/// with the step's `cookies:` on top (also for its own origin only).
pub(super) struct CookiePolicy {
    explicit: Option<String>,
    extra: Vec<(String, String)>,
    origin: url::Origin,
}

/// The `Cookie` lines a step wrote, as the one line a request carries (RFC 6265
/// §5.4: a user agent sends one `Cookie` header), so a list loses no value.
fn explicit_cookie(req: &PreparedRequest) -> Option<String> {
    let values: Vec<&str> = req
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("cookie"))
        .map(|(_, v)| v.as_str())
        .collect();
    (!values.is_empty()).then(|| values.join("; "))
}

impl CookiePolicy {
    /// The policy of a step whose request is `req` (as written, before the jar is
    /// applied), with the step's rendered `cookies:`.
    pub(super) fn of(req: &PreparedRequest, extra: Vec<(String, String)>) -> Self {
        CookiePolicy {
            explicit: explicit_cookie(req),
            extra,
            origin: req.url.origin(),
        }
    }

    pub(super) fn apply(&self, jar: &reqwest::cookie::Jar, req: &mut PreparedRequest) {
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

/// Every `Set-Cookie` of a response goes into the scenario's jar, for its URL.
pub(super) fn store_cookies(cx: &StepCtx<'_>, url: &url::Url, resp: &Response) {
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
