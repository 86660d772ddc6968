//! Checking a response against `expect` (and `retry.until`): every assertion is
//! evaluated and every failure kept.

use serde_json::Value as J;

use crate::events::AssertionFailure;
use crate::http::Response;
use crate::scenario::expect::{Check, Expect, JsonType, Matcher};
use crate::template::{RenderError, Templates};

/// The response in the forms assertions read, computed once.
pub struct Observed<'a> {
    pub response: &'a Response,
    pub json: Result<J, String>,
    pub text: String,
}

impl<'a> Observed<'a> {
    pub fn new(response: &'a Response) -> Self {
        let text = response.text();
        let json = if response.body.is_empty() {
            Err("the body is empty".to_string())
        } else if response.truncated {
            Err(format!(
                "the body was cut at the {} cap (--max-body); raise the cap to read it whole",
                crate::http::fmt_size(response.body.len())
            ))
        } else {
            serde_json::from_slice(&response.body).map_err(|e| not_json(response, &e))
        };
        Observed {
            response,
            json,
            text,
        }
    }
}

/// Why the body could not be read as JSON; an HTML error page or plain text is
/// named by its Content-Type, the usual cause.
fn not_json(response: &Response, e: &serde_json::Error) -> String {
    match response.header("content-type") {
        Some(ct) if !ct.to_ascii_lowercase().contains("json") => {
            format!("the body is not JSON but {ct} ({e})")
        }
        _ => format!("the body is not JSON ({e})"),
    }
}

/// Evaluate; returns the failures and how many assertions ran.
pub fn evaluate(
    expect: &Expect,
    obs: &Observed<'_>,
    templates: &Templates,
    scope: &minijinja::Value,
) -> (Vec<AssertionFailure>, usize) {
    let mut ev = Evaluator {
        templates,
        scope,
        failures: Vec::new(),
        count: 0,
    };
    if let Some(st) = &expect.status {
        ev.count += 1;
        if !st.matches(obs.response.status) {
            ev.fail("status", st.describe(), obs.response.status.to_string());
        }
    }
    for (path, matcher) in &expect.json.0 {
        let subject = path.src.clone();
        let json = match &obs.json {
            Ok(j) => j,
            Err(why) => {
                ev.count += 1;
                ev.fail(&subject, describe_matcher(matcher), why.clone());
                continue;
            }
        };
        let Some(compiled) = &path.path else { continue };
        let nodes = compiled.query(json).all();
        let actual = if is_singular(&path.src) {
            nodes.first().map(|v| (*v).clone())
        } else {
            Some(J::Array(nodes.into_iter().cloned().collect()))
        };
        ev.matcher(&subject, matcher, actual.as_ref(), false);
    }
    for (name, _, matcher) in &expect.headers.0 {
        let actual = obs.response.header(name).map(J::String);
        ev.matcher(&format!("header {name}"), matcher, actual.as_ref(), true);
    }
    if let Some(m) = &expect.body {
        ev.matcher("body", m, Some(&J::String(obs.text.clone())), true);
    }
    if let Some(m) = &expect.time_ms {
        let ms = u64::try_from(obs.response.elapsed.as_millis()).unwrap_or(u64::MAX);
        ev.matcher("time_ms", m, Some(&J::from(ms)), false);
    }
    if let Some(schema) = &expect.schema
        && let Some(validator) = &schema.validator
    {
        ev.count += 1;
        match &obs.json {
            Ok(j) => {
                for err in validator.iter_errors(j) {
                    let at = err.instance_path().to_string();
                    let at = if at.is_empty() { "/".to_string() } else { at };
                    let rule = err.schema_path().to_string();
                    ev.failures.push(AssertionFailure {
                        subject: format!("schema at {at}"),
                        expected: format!("to satisfy {rule}"),
                        actual: err.to_string(),
                    });
                }
            }
            Err(why) => ev.fail("schema", "a JSON body".into(), why.clone()),
        }
    }
    (ev.failures, ev.count)
}

/// A path with wildcards, slices, filters, unions or descent selects a list.
fn is_singular(src: &str) -> bool {
    !(src.contains('*')
        || src.contains("..")
        || src.contains('?')
        || src.contains(':')
        || src.contains(','))
}

struct Evaluator<'t> {
    templates: &'t Templates,
    scope: &'t minijinja::Value,
    failures: Vec<AssertionFailure>,
    count: usize,
}

impl Evaluator<'_> {
    fn fail(&mut self, subject: &str, expected: String, actual: String) {
        self.failures.push(AssertionFailure {
            subject: subject.to_string(),
            expected,
            actual,
        });
    }

    fn render(&mut self, subject: &str, v: &crate::scenario::values::TValue) -> Option<J> {
        match self.templates.render_json(v, self.scope) {
            Ok(j) => Some(j),
            Err(RenderError { message, .. }) => {
                self.fail(subject, "a value to compare with".into(), message);
                None
            }
        }
    }

    /// Run every check of `m` on `actual`; `textual` compares scalars as text (headers, body).
    fn matcher(&mut self, subject: &str, m: &Matcher, actual: Option<&J>, textual: bool) {
        for check in &m.checks {
            self.count += 1;
            if let Some((expected, got)) = self.check(subject, check, actual, textual) {
                self.fail(subject, expected, got);
            }
        }
    }

    /// `None` when the check holds, else (expected, actual) in words.
    fn check(
        &mut self,
        subject: &str,
        check: &Check,
        actual: Option<&J>,
        textual: bool,
    ) -> Option<(String, String)> {
        let shown = || actual.map_or_else(|| "nothing (not found)".to_string(), show);
        match check {
            Check::Exists(want) => (actual.is_some() != *want).then(|| {
                (
                    if *want {
                        "to exist".into()
                    } else {
                        "not to exist".into()
                    },
                    shown(),
                )
            }),
            Check::Not(inner) => {
                let before = self.failures.len();
                let count = self.count;
                self.matcher(subject, inner, actual, textual);
                let inner_failed = self.failures.len() > before;
                self.failures.truncate(before);
                self.count = count;
                (!inner_failed).then(|| (format!("not {}", describe_matcher(inner)), shown()))
            }
            _ if actual.is_none() => Some((describe_check(check), shown())),
            Check::Equals(v) => {
                let expected = self.render(subject, v)?;
                let a = actual?;
                (!equal(a, &expected, textual)).then(|| (show(&expected), show(a)))
            }
            Check::Type(t) => {
                let a = actual?;
                (!has_type(a, *t)).then(|| {
                    (
                        format!("type {}", t.name()),
                        format!("{} ({})", type_name(a), show(a)),
                    )
                })
            }
            Check::Length(inner) => {
                let a = actual?;
                let len = match a {
                    J::String(s) => s.chars().count(),
                    J::Array(v) => v.len(),
                    J::Object(m) => m.len(),
                    other => return Some(("something with a length".into(), show(other))),
                };
                let before = self.failures.len();
                self.matcher(
                    &format!("{subject} length"),
                    inner,
                    Some(&J::from(len)),
                    false,
                );
                let _ = before;
                None
            }
            Check::Contains(v) => {
                let needle = self.render(subject, v)?;
                let a = actual?;
                let ok = match (a, &needle) {
                    (J::String(s), J::String(n)) => s.contains(n.as_str()),
                    (J::String(s), other) => s.contains(&show(other)),
                    (J::Array(items), n) => items.iter().any(|i| equal(i, n, false)),
                    (J::Object(m), J::String(k)) => m.contains_key(k),
                    _ => false,
                };
                (!ok).then(|| (format!("to contain {}", show(&needle)), show(a)))
            }
            Check::OneOf(options) => {
                let mut rendered = Vec::new();
                for o in options {
                    rendered.push(self.render(subject, o)?);
                }
                let a = actual?;
                (!rendered.iter().any(|o| equal(a, o, textual))).then(|| {
                    (
                        format!(
                            "one of [{}]",
                            rendered.iter().map(show).collect::<Vec<_>>().join(", ")
                        ),
                        show(a),
                    )
                })
            }
            Check::Matches(re) => {
                let a = actual?;
                let text = match a {
                    J::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let r = re.regex.as_ref()?;
                (!r.is_match(&text)).then(|| (format!("to match /{}/", re.src), show(a)))
            }
            Check::Lt(v) | Check::Lte(v) | Check::Gt(v) | Check::Gte(v) => {
                let bound = self.render(subject, v)?;
                let a = actual?;
                let (op, want): (&str, fn(std::cmp::Ordering) -> bool) = match check {
                    Check::Lt(_) => ("<", |o| o.is_lt()),
                    Check::Lte(_) => ("<=", |o| o.is_le()),
                    Check::Gt(_) => (">", |o| o.is_gt()),
                    _ => (">=", |o| o.is_ge()),
                };
                match compare(a, &bound) {
                    Some(ord) if want(ord) => None,
                    Some(_) => Some((format!("{op} {}", show(&bound)), show(a))),
                    None => Some((
                        format!("{op} {} (comparable values)", show(&bound)),
                        show(a),
                    )),
                }
            }
            Check::Each(inner) => {
                let a = actual?;
                let J::Array(items) = a else {
                    return Some(("a list (for `each`)".into(), show(a)));
                };
                for (i, item) in items.iter().enumerate() {
                    self.matcher(&format!("{subject}[{i}]"), inner, Some(item), textual);
                }
                None
            }
        }
    }
}

fn equal(a: &J, b: &J, textual: bool) -> bool {
    match (a, b) {
        (J::Number(x), J::Number(y)) => x.as_f64() == y.as_f64(),
        (J::String(s), other)
            if textual && !other.is_string() && !other.is_object() && !other.is_array() =>
        {
            s.trim() == show(other)
        }
        _ => a == b,
    }
}

fn compare(a: &J, b: &J) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (J::Number(x), J::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (J::String(x), J::String(y)) => match (x.trim().parse::<f64>(), y.trim().parse::<f64>()) {
            (Ok(p), Ok(q)) => p.partial_cmp(&q),
            _ => Some(x.cmp(y)),
        },
        (J::String(x), J::Number(y)) => x.trim().parse::<f64>().ok()?.partial_cmp(&y.as_f64()?),
        _ => None,
    }
}

fn has_type(v: &J, t: JsonType) -> bool {
    match t {
        JsonType::String => v.is_string(),
        JsonType::Number => v.is_number(),
        JsonType::Integer => {
            v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        JsonType::Boolean => v.is_boolean(),
        JsonType::Array => v.is_array(),
        JsonType::Object => v.is_object(),
        JsonType::Null => v.is_null(),
    }
}

fn type_name(v: &J) -> &'static str {
    match v {
        J::String(_) => "string",
        J::Number(n) if n.is_f64() => "number",
        J::Number(_) => "integer",
        J::Bool(_) => "boolean",
        J::Array(_) => "array",
        J::Object(_) => "object",
        J::Null => "null",
    }
}

/// A value as people read it in a failure message, cut when long.
pub fn show(v: &J) -> String {
    let s = v.to_string();
    crate::events::excerpt(&s, 300)
}

fn describe_check(c: &Check) -> String {
    match c {
        Check::Equals(v) => v
            .as_literal_json()
            .map_or_else(|| "a value".into(), |j| show(&j)),
        Check::Not(m) => format!("not {}", describe_matcher(m)),
        Check::Exists(true) => "to exist".into(),
        Check::Exists(false) => "not to exist".into(),
        Check::Type(t) => format!("type {}", t.name()),
        Check::Length(m) => format!("length {}", describe_matcher(m)),
        Check::Contains(v) => format!(
            "to contain {}",
            v.as_literal_json()
                .map_or_else(|| "a value".into(), |j| show(&j))
        ),
        Check::OneOf(_) => "one of the listed values".into(),
        Check::Matches(r) => format!("to match /{}/", r.src),
        Check::Lt(_) => "a smaller value".into(),
        Check::Lte(_) => "a value no larger".into(),
        Check::Gt(_) => "a larger value".into(),
        Check::Gte(_) => "a value no smaller".into(),
        Check::Each(m) => format!("each {}", describe_matcher(m)),
    }
}

pub fn describe_matcher(m: &Matcher) -> String {
    m.checks
        .iter()
        .map(describe_check)
        .collect::<Vec<_>>()
        .join(" and ")
}
