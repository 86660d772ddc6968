//! Taking values from a response for later steps; a capture keeps its JSON type.

use serde_json::Value as J;

use super::assert::Observed;
use crate::events::{Assertion, excerpt};
use crate::scenario::expect::{Capture, CaptureSource};

/// The captured value, or a failure naming the source and showing the body.
pub fn take(name: &str, capture: &Capture, obs: &Observed<'_>) -> Result<J, Assertion> {
    let missing = |what: String| Assertion {
        subject: format!("capture {name}"),
        expected: what,
        actual: format!("nothing; body: {}", excerpt(&obs.text, 200)),
    };
    match &capture.source {
        CaptureSource::JsonPath(p) => {
            let json = obs.json.as_ref().map_err(|why| Assertion {
                subject: format!("capture {name}"),
                expected: format!("a JSON body to read {}", p.src),
                actual: why.clone(),
            })?;
            let path = p
                .path
                .as_ref()
                .ok_or_else(|| missing(format!("a value at {}", p.src)))?;
            let nodes = path.query(json).all();
            match nodes.as_slice() {
                [] => Err(missing(format!("a value at {}", p.src))),
                [one] if !p.src.contains('*') && !p.src.contains("..") => Ok((*one).clone()),
                many => Ok(J::Array(many.iter().map(|v| (*v).clone()).collect())),
            }
        }
        CaptureSource::Header(h) => {
            obs.response
                .header(h)
                .map(J::String)
                .ok_or_else(|| Assertion {
                    subject: format!("capture {name}"),
                    expected: format!("header {h}"),
                    actual: "no such header".into(),
                })
        }
        CaptureSource::Regex(r) => {
            let re = r
                .regex
                .as_ref()
                .ok_or_else(|| missing(format!("a match of /{}/", r.src)))?;
            let caps = re
                .captures(&obs.text)
                .ok_or_else(|| missing(format!("a match of /{}/", r.src)))?;
            let m = caps
                .get(1)
                .or_else(|| caps.get(0))
                .map(|m| m.as_str().to_string());
            m.map(J::String)
                .ok_or_else(|| missing(format!("a match of /{}/", r.src)))
        }
        CaptureSource::Cookie(c) => super::assert::set_cookies(obs.response)
            .into_iter()
            .rev()
            .find(|(n, _)| n == c)
            .and_then(|(_, mut attrs)| attrs.remove("value"))
            .ok_or_else(|| Assertion {
                subject: format!("capture {name}"),
                expected: format!("a cookie {c} set by the response"),
                actual: "no Set-Cookie for it".into(),
            }),
        CaptureSource::Status => Ok(J::from(obs.response.status)),
        CaptureSource::Body => Ok(obs
            .json
            .clone()
            .unwrap_or_else(|_| J::String(obs.text.clone()))),
    }
}
