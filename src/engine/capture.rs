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
            let located = path.query_located(json).all();
            // A number the float does not hold would be captured as another one,
            // and then sent or compared as that: refused, not rounded.
            for n in located
                .iter()
                .filter(|n| crate::number::has_float(n.node()))
            {
                let raw = obs.raw().and_then(|t| t.at(n.location()));
                if let Some(text) = crate::number::first_inexact(n.node(), raw) {
                    return Err(Assertion {
                        subject: format!("capture {name}"),
                        expected: format!("a value at {} that a capture holds exactly", p.src),
                        actual: inexact(text),
                    });
                }
            }
            let nodes: Vec<&J> = located.iter().map(|n| n.node()).collect();
            match nodes.as_slice() {
                [] => Err(missing(format!("a value at {}", p.src))),
                // The same rule as assertions': a wildcard, a filter, a slice, a
                // union or `..` selects a list, even of one.
                [one] if super::assert::is_singular(&p.src) => Ok((*one).clone()),
                many => Ok(J::Array(many.iter().map(|v| (*v).clone()).collect())),
            }
        }
        // Set-Cookie values hold commas (`Expires=Wed, 21 Oct ...`): never joined.
        CaptureSource::Header(h) if h.eq_ignore_ascii_case("set-cookie") => {
            let values: Vec<J> = obs
                .response
                .headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(h))
                .map(|(_, v)| J::String(v.clone()))
                .collect();
            match values.len() {
                0 => Err(Assertion {
                    subject: format!("capture {name}"),
                    expected: format!("header {h}"),
                    actual: "no such header".into(),
                }),
                1 => Ok(values.into_iter().next().unwrap_or(J::Null)),
                _ => Ok(J::Array(values)),
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
            if let Some(problem) = &obs.response.body_problem {
                return Err(unreadable(name, format!("a match of /{}/", r.src), problem));
            }
            let caps = re
                .captures(&obs.text)
                .ok_or_else(|| missing(format!("a match of /{}/", r.src)))?;
            // With a group, its match or nothing: a group that took no part
            // (`token=(\w+)|list`) must not hand over the whole match instead.
            let m = if re.captures_len() > 1 {
                caps.get(1)
            } else {
                caps.get(0)
            }
            .map(|m| m.as_str().to_string());
            // Where some bytes of the body could not be read, a match of what was
            // read is taken, unless it holds what stands for them.
            if let (Some(problem), Some(text)) = (&obs.text_problem, &m)
                && (text.contains('\u{FFFD}') || text.contains('\0'))
            {
                return Err(unreadable(name, format!("a match of /{}/", r.src), problem));
            }
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
        CaptureSource::Body => match (&obs.json, &obs.text_problem) {
            (Ok(json), _) => match crate::number::first_inexact(json, obs.raw()) {
                Some(text) => Err(Assertion {
                    subject: format!("capture {name}"),
                    expected: "a body that a capture holds exactly".into(),
                    actual: inexact(text),
                }),
                None => Ok(json.clone()),
            },
            (Err(_), Some(problem)) => Err(unreadable(name, "the body".to_string(), problem)),
            (Err(_), None) => Ok(J::String(obs.text.clone())),
        },
    }
}

/// Why a number cannot be captured: a float would hold another one.
fn inexact(text: &str) -> String {
    format!(
        "the number {} has more digits than a capture can hold exactly (a 64-bit float); capture it as text with `regex`",
        crate::events::excerpt(text, 60)
    )
}

/// A capture from a body whose text is not what the server meant (a coding not
/// undone, bytes not valid in its charset): refused rather than taken from it.
fn unreadable(name: &str, expected: String, problem: &str) -> Assertion {
    Assertion {
        subject: format!("capture {name}"),
        expected,
        actual: problem.to_string(),
    }
}
