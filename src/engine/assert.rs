//! Checking a response against `expect` (and `retry.until`): every assertion is
//! evaluated and every failure kept.

use serde_json::Value as J;

use crate::events::Assertion;
use crate::http::Response;
use crate::scenario::expect::{Check, Expect, JsonType, Matcher};
use crate::template::{RenderError, Templates};

/// The response in the forms assertions read, computed once.
pub struct Observed<'a> {
    pub response: &'a Response,
    pub json: Result<J, String>,
    pub text: String,
    /// Why `text` is not exactly the body (bytes not valid in its charset, a coding
    /// not undone): body assertions then fail saying so instead of comparing U+FFFD.
    pub text_problem: Option<String>,
    /// The URL of this response (the last hop's, when redirects were followed).
    pub url: String,
    /// How many redirects were followed to reach it.
    pub redirects: usize,
}

impl<'a> Observed<'a> {
    pub fn new(response: &'a Response) -> Self {
        let (text, text_problem) = response.text_and_problem();
        let json = if let Some(problem) = &response.body_problem {
            Err(problem.clone())
        } else if response.body.is_empty() {
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
            text_problem,
            url: String::new(),
            redirects: 0,
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

/// What an `expect` block found.
#[derive(Debug, Default)]
pub struct Evaluation {
    pub failures: Vec<Assertion>,
    /// Filled only when evaluating with `record_passes`.
    pub passed: Vec<Assertion>,
    /// How many assertions ran.
    pub count: usize,
}

/// Evaluate every assertion of `expect`; with `record_passes`, describe the ones
/// that held too.
pub fn evaluate(
    expect: &Expect,
    obs: &Observed<'_>,
    templates: &Templates,
    scope: &minijinja::Value,
    record_passes: bool,
) -> Evaluation {
    let mut ev = Evaluator {
        templates,
        scope,
        failures: Vec::new(),
        passed: record_passes.then(Vec::new),
        count: 0,
        element_paths: None,
        raw_text: false,
    };
    if let Some(st) = &expect.status {
        ev.count += 1;
        let actual = obs.response.status.to_string();
        if st.matches(obs.response.status) {
            ev.pass("status", || st.describe(), actual);
        } else {
            ev.fail("status", st.describe(), actual);
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
        let nodes = compiled.query_located(json).all();
        let actual = if is_singular(&path.src) {
            nodes.first().map(|n| n.node().clone())
        } else {
            // `each` over a wildcard names every element by its own path.
            ev.element_paths = Some(nodes.iter().map(|n| friendly_path(n.location())).collect());
            Some(J::Array(nodes.iter().map(|n| n.node().clone()).collect()))
        };
        ev.matcher(&subject, matcher, actual.as_ref(), false);
        ev.element_paths = None;
    }
    for (name, _, matcher) in &expect.headers.0 {
        let actual = obs.response.header(name).map(J::String);
        ev.matcher(&format!("header {name}"), matcher, actual.as_ref(), true);
    }
    if let (Some(m), Some(problem)) = (&expect.body, &obs.text_problem) {
        ev.count += 1;
        let seen = crate::events::excerpt(&obs.text, 200);
        ev.fail(
            "body",
            describe_matcher(m),
            format!("{problem}; it reads {seen:?}"),
        );
    } else if let Some(m) = &expect.body {
        ev.raw_text = true;
        ev.matcher("body", m, Some(&J::String(obs.text.clone())), true);
        ev.raw_text = false;
    }
    if let Some(m) = &expect.time_ms {
        let ms = u64::try_from(obs.response.elapsed.as_millis()).unwrap_or(u64::MAX);
        ev.matcher("time_ms", m, Some(&J::from(ms)), false);
    }
    if let Some(m) = &expect.url {
        ev.raw_text = true;
        ev.matcher("url", m, Some(&J::String(obs.url.clone())), true);
        ev.raw_text = false;
    }
    if let Some(m) = &expect.redirects {
        ev.matcher("redirects", m, Some(&J::from(obs.redirects)), false);
    }
    if let Some(schema) = &expect.schema
        && let Some(validator) = &schema.validator
    {
        ev.count += 1;
        match &obs.json {
            Ok(j) => {
                let before = ev.failures.len();
                for err in validator.iter_errors(j) {
                    ev.failures
                        .push(schema_failure(&err, schema.document.as_deref()));
                }
                if ev.failures.len() == before {
                    ev.pass(
                        "schema",
                        || "the body to match the schema".into(),
                        "it does".into(),
                    );
                }
            }
            Err(why) => ev.fail("schema", "a JSON body".into(), why.clone()),
        }
    }
    Evaluation {
        failures: ev.failures,
        passed: ev.passed.unwrap_or_default(),
        count: ev.count,
    }
}

/// Whether a path names at most one value: no wildcard, slice, filter, union or
/// descendant segment outside quoted names. Such a path is compared with the value
/// it finds; any other with the list of what it finds.
pub fn is_singular(src: &str) -> bool {
    let mut prev = ' ';
    for c in crate::scenario::values::outside_quotes(src) {
        match c {
            '*' | '?' | ':' | ',' => return false,
            '.' if prev == '.' => return false,
            _ => {}
        }
        prev = c;
    }
    true
}

/// A location as people write paths: `$.items[1].status`, `$['odd key']`.
fn friendly_path(p: &serde_json_path::NormalizedPath<'_>) -> String {
    use serde_json_path::PathElement;
    let mut out = String::from("$");
    for e in p.iter() {
        match e {
            PathElement::Index(i) => out.push_str(&format!("[{i}]")),
            PathElement::Name(n) => {
                let plain = n
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                    && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if plain {
                    out.push('.');
                    out.push_str(n);
                } else {
                    out.push_str(&format!(
                        "['{}']",
                        n.replace('\\', "\\\\").replace('\'', "\\'")
                    ));
                }
            }
        }
    }
    out
}

/// A schema violation: where in the body, which rule (keyword, its value, where in
/// the schema) and what was found.
fn schema_failure(err: &jsonschema::ValidationError<'_>, document: Option<&J>) -> Assertion {
    use jsonschema::error::ValidationErrorKind as K;
    let at = err.instance_path().to_string();
    let at = if at.is_empty() { "/".to_string() } else { at };
    let rule_path = err.schema_path().to_string();
    let keyword = err.kind().keyword().to_string();
    let rule_value = document
        .and_then(|d| d.pointer(&rule_path))
        .map(|v| format!(" {}", crate::events::excerpt(&v.to_string(), 120)))
        .unwrap_or_default();
    let actual = match err.kind() {
        K::Required { property } => format!("no property {property}"),
        K::AdditionalProperties { unexpected } | K::UnevaluatedProperties { unexpected } => {
            format!("unexpected property {}", quote_all(unexpected))
        }
        K::Type { .. }
        | K::Enum { .. }
        | K::Constant { .. }
        | K::Pattern { .. }
        | K::Format { .. }
        | K::Minimum { .. }
        | K::Maximum { .. }
        | K::ExclusiveMinimum { .. }
        | K::ExclusiveMaximum { .. }
        | K::MinLength { .. }
        | K::MaxLength { .. }
        | K::MultipleOf { .. } => show(err.instance()),
        _ => err.to_string(),
    };
    Assertion {
        subject: format!("schema at {at}"),
        expected: format!("{keyword}{rule_value} (schema rule {rule_path})"),
        actual,
    }
}

fn quote_all(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

struct Evaluator<'t> {
    templates: &'t Templates,
    scope: &'t minijinja::Value,
    failures: Vec<Assertion>,
    /// `Some` when passes are recorded.
    passed: Option<Vec<Assertion>>,
    count: usize,
    /// Paths of the elements of a wildcard path's list, for `each` to name them.
    element_paths: Option<Vec<String>>,
    /// Show text values as they are (the body), not as JSON strings.
    raw_text: bool,
}

impl Evaluator<'_> {
    fn fail(&mut self, subject: &str, expected: String, actual: String) {
        self.failures.push(Assertion {
            subject: subject.to_string(),
            expected,
            actual,
        });
    }

    fn pass(&mut self, subject: &str, expected: impl FnOnce() -> String, actual: String) {
        if let Some(passed) = self.passed.as_mut() {
            passed.push(Assertion {
                subject: subject.to_string(),
                expected: expected(),
                actual,
            });
        }
    }

    fn passes_len(&self) -> usize {
        self.passed.as_ref().map_or(0, Vec::len)
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

    /// What `check` expects, in words, with its values rendered (for a value not found).
    fn describe_rendered(&mut self, subject: &str, check: &Check) -> Option<String> {
        Some(match check {
            Check::Equals(v) => show(&self.render(subject, v)?),
            Check::Contains(v) => format!("to contain {}", show(&self.render(subject, v)?)),
            Check::OneOf(v) => match self.render(subject, v)? {
                J::Array(items) => format!(
                    "one of [{}]",
                    items.iter().map(show).collect::<Vec<_>>().join(", ")
                ),
                other => show(&other),
            },
            Check::Lt(v) => format!("< {}", show(&self.render(subject, v)?)),
            Check::Lte(v) => format!("<= {}", show(&self.render(subject, v)?)),
            Check::Gt(v) => format!("> {}", show(&self.render(subject, v)?)),
            Check::Gte(v) => format!(">= {}", show(&self.render(subject, v)?)),
            other => describe_check(other),
        })
    }

    /// Run every check of `m` on `actual`; `textual` compares scalars as text (headers, body).
    fn matcher(&mut self, subject: &str, m: &Matcher, actual: Option<&J>, textual: bool) {
        for check in &m.checks {
            // `length` and `each` count as the checks they hold, or as one when they
            // hold none (not a list, an empty list).
            let compound = matches!(check, Check::Length(_) | Check::Each(_));
            let before = self.count;
            if !compound {
                self.count += 1;
            }
            let verdict = self.check(subject, check, actual, textual);
            let counted_itself = !compound || self.count == before;
            if compound && self.count == before {
                self.count += 1;
            }
            if let Some((expected, got)) = verdict {
                self.fail(subject, expected, got);
            } else if self.passed.is_some() && counted_itself {
                let failures = self.failures.len();
                let expected = self
                    .describe_rendered(subject, check)
                    .unwrap_or_else(|| describe_check(check));
                self.failures.truncate(failures);
                let got = actual.map_or_else(
                    || "nothing (not found)".to_string(),
                    |a| show_actual(a, self.raw_text),
                );
                self.pass(subject, || expected, got);
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
        let raw = self.raw_text;
        let shown = || {
            actual.map_or_else(
                || "nothing (not found)".to_string(),
                |a| show_actual(a, raw),
            )
        };
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
                let passes = self.passes_len();
                let count = self.count;
                self.matcher(subject, inner, actual, textual);
                let inner_failed = self.failures.len() > before;
                self.failures.truncate(before);
                if let Some(p) = self.passed.as_mut() {
                    p.truncate(passes);
                }
                self.count = count;
                (!inner_failed).then(|| (format!("not {}", describe_matcher(inner)), shown()))
            }
            _ if actual.is_none() => Some((self.describe_rendered(subject, check)?, shown())),
            Check::Equals(v) => {
                let expected = self.render(subject, v)?;
                let a = actual?;
                (!equal(a, &expected, textual)).then(|| (show(&expected), shown()))
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
                // The inner matcher judges the length; its failures are told as lengths.
                let before = self.failures.len();
                let passes = self.passes_len();
                self.matcher(subject, inner, Some(&J::from(len)), false);
                let held = self
                    .passed
                    .iter_mut()
                    .flat_map(|p| p.iter_mut().skip(passes));
                for f in self.failures.iter_mut().skip(before).chain(held) {
                    f.expected = format!("length {}", f.expected);
                    f.actual = format!("length {len}: {}", show(a));
                }
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
                (!ok).then(|| (format!("to contain {}", show(&needle)), shown()))
            }
            Check::OneOf(options) => {
                let rendered = match self.render(subject, options)? {
                    J::Array(items) => items,
                    other => {
                        return Some((
                            "a list of options for `one_of`".into(),
                            format!("the template gave {}", show(&other)),
                        ));
                    }
                };
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
                (!r.is_match(&text)).then(|| (format!("to match /{}/", re.src), shown()))
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
                let paths = self.element_paths.take().filter(|p| p.len() == items.len());
                for (i, item) in items.iter().enumerate() {
                    let at = match &paths {
                        Some(p) => p[i].clone(),
                        None => format!("{subject}[{i}]"),
                    };
                    self.matcher(&at, inner, Some(item), textual);
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

/// An actual value; text shown as it is (on one line) when `raw`.
fn show_actual(v: &J, raw: bool) -> String {
    match v {
        J::String(s) if raw => {
            let line: String = s
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            crate::events::excerpt(&line, 160)
        }
        other => show(other),
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
