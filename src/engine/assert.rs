//! Checking a response against `expect` (and `retry.until`): every assertion is
//! evaluated and every failure kept.

use serde_json::Value as J;

use crate::events::Assertion;
use crate::http::Response;
use crate::number::{Decimal, RawTree, decimal_of};
use crate::scenario::expect::{
    BytesExpect, Check, CookieCheck, Digest, Expect, JsonType, Matcher, StatusExpect,
    status_patterns,
};
use crate::scenario::values::TValue;
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
    /// The digits of the body's numbers that a float would lose: built on first
    /// use, and only for a body that has such a number.
    raw: std::cell::OnceCell<Option<RawTree>>,
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
            super::body_json::parse(&response.body).map_err(|e| match e {
                super::body_json::ParseError::Duplicate(why) => why,
                super::body_json::ParseError::Syntax(e) => not_json(response, &e),
            })
        };
        Observed {
            response,
            json,
            text,
            text_problem,
            url: String::new(),
            redirects: 0,
            raw: std::cell::OnceCell::new(),
        }
    }
}

impl Observed<'_> {
    /// The body's numbers as written (see [`RawTree`]).
    pub fn raw(&self) -> Option<&RawTree> {
        self.raw
            .get_or_init(|| {
                self.json
                    .as_ref()
                    .ok()
                    .and_then(|j| RawTree::for_body(&self.response.body, j))
            })
            .as_ref()
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
        header_values: None,
        unjudged: None,
        nothing_selected: false,
    };
    if let Some(st) = &expect.status {
        status_check(&mut ev, st, obs);
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
        let (compiled, subject) = match (&path.path, &path.template) {
            (Some(p), _) => (p.clone(), subject),
            (None, Some(t)) => {
                let rendered = match ev.templates.render_str(t, ev.scope) {
                    Ok(r) => r,
                    Err(e) => {
                        ev.count += 1;
                        ev.fail(&subject, "a JSONPath to look at".into(), e.message);
                        continue;
                    }
                };
                match crate::scenario::values::jsonpath_rendered(&rendered) {
                    Ok(p) => (p, rendered),
                    Err(why) => {
                        ev.count += 1;
                        ev.fail(
                            &subject,
                            "a JSONPath to look at".into(),
                            format!("the template gave `{rendered}`, not a JSONPath: {why}"),
                        );
                        continue;
                    }
                }
            }
            (None, None) => continue,
        };
        let nodes = compiled.query_located(json).all();
        // Read the body a second time only when what is checked holds a float.
        let tree = if nodes.iter().any(|n| crate::number::has_float(n.node())) {
            obs.raw()
        } else {
            None
        };
        let raw_at = |n: &serde_json_path::LocatedNode<'_>| tree.and_then(|t| t.at(n.location()));
        if is_singular(&subject) {
            let first = nodes.first();
            ev.matcher(
                &subject,
                matcher,
                first.map(|n| n.node()),
                first.and_then(raw_at),
                false,
            );
        } else {
            // `each` over a wildcard names every element by its own path.
            ev.element_paths = Some(nodes.iter().map(|n| friendly_path(n.location())).collect());
            let list = J::Array(nodes.iter().map(|n| n.node().clone()).collect());
            let raws = tree.map(|_| {
                RawTree::Arr(
                    nodes
                        .iter()
                        .map(|n| raw_at(n).cloned().unwrap_or(RawTree::Other))
                        .collect(),
                )
            });
            ev.nothing_selected = nodes.is_empty();
            // `$.itmes[*].status`: a list selects nothing also when its parent is
            // missing (a misspelt key) or holds no list or object (null): that is
            // nothing, not an empty list.
            let parent_missing = nodes.is_empty()
                && singular_prefix(&subject)
                    .and_then(|p| serde_json_path::JsonPath::parse(p).ok())
                    .is_some_and(|p| {
                        p.query(json)
                            .all()
                            .iter()
                            .all(|v| !v.is_array() && !v.is_object())
                    });
            let actual = (!parent_missing).then_some(&list);
            ev.matcher(&subject, matcher, actual, raws.as_ref(), false);
            ev.nothing_selected = false;
        }
        ev.element_paths = None;
    }
    for (name, _, matcher) in &expect.headers.0 {
        let values: Vec<String> = obs
            .response
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .collect();
        // A repeated header reads as its values joined with ", " (RFC 9110 5.3),
        // except Set-Cookie, whose dates hold commas: its values are never joined.
        let actual = match values.as_slice() {
            [] => None,
            [one] => Some(J::String(one.clone())),
            _ if name.eq_ignore_ascii_case("set-cookie") => None,
            many => Some(J::String(many.join(", "))),
        };
        ev.header_values = Some(values);
        ev.matcher(
            &format!("header {name}"),
            matcher,
            actual.as_ref(),
            None,
            true,
        );
        ev.header_values = None;
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
        ev.matcher("body", m, Some(&J::String(obs.text.clone())), None, true);
        ev.raw_text = false;
    }
    if let Some(m) = &expect.time_ms {
        let ms = u64::try_from(obs.response.elapsed.as_millis()).unwrap_or(u64::MAX);
        ev.matcher("time_ms", m, Some(&J::from(ms)), None, false);
    }
    if !expect.cookies.0.is_empty() {
        let jar = set_cookies(obs.response);
        for (name, _, check) in &expect.cookies.0 {
            let cookie = jar.iter().rev().find(|(n, _)| n == name).map(|(_, c)| c);
            match check {
                CookieCheck::Value(m) => {
                    let value = cookie.and_then(|c| c.get("value"));
                    ev.matcher(&format!("cookie {name}"), m, value, None, true);
                }
                CookieCheck::Attributes(attrs) => {
                    for (attr, m) in attrs {
                        let subject = format!("cookie {name} {attr}");
                        match cookie {
                            None => {
                                ev.matcher(&subject, m, None, None, true);
                            }
                            // A flag that is not set reads as false, not as missing.
                            Some(c) => ev.matcher(&subject, m, c.get(attr.as_str()), None, true),
                        }
                    }
                }
            }
        }
    }
    if let Some(b) = &expect.bytes {
        bytes_checks(&mut ev, b, obs.response);
    }
    if let Some(m) = &expect.url {
        ev.raw_text = true;
        ev.matcher("url", m, Some(&J::String(obs.url.clone())), None, true);
        ev.raw_text = false;
    }
    if let Some(m) = &expect.redirects {
        ev.matcher("redirects", m, Some(&J::from(obs.redirects)), None, false);
    }
    if let Some(schema) = &expect.schema
        && let Some(validator) = &schema.validator
    {
        ev.count += 1;
        match &obs.json {
            Ok(j) => {
                let before = ev.failures.len();
                let (listed, more) = crate::text::first_listed(validator.iter_errors(j));
                for err in listed {
                    ev.failures
                        .push(schema_failure(&err, schema.document.as_deref()));
                }
                if more > 0 {
                    ev.fail(
                        "schema",
                        "the body to match the schema".into(),
                        format!(
                            "{more} more places do not (only the first {} are listed)",
                            crate::text::MAX_LISTED
                        ),
                    );
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

/// The cookies the response sets, in order: (name, its attributes as JSON).
/// A Set-Cookie line that is not a cookie is left out.
pub fn set_cookies(response: &Response) -> Vec<(String, serde_json::Map<String, J>)> {
    response
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .filter_map(|(_, line)| {
            let c = cookie::Cookie::parse(line.as_str()).ok()?;
            let mut m = serde_json::Map::new();
            m.insert("value".into(), J::String(c.value().to_string()));
            if let Some(p) = c.path() {
                m.insert("path".into(), J::String(p.to_string()));
            }
            if let Some(d) = c.domain() {
                m.insert("domain".into(), J::String(d.to_string()));
            }
            if let Some(age) = c.max_age() {
                m.insert("max_age".into(), J::from(age.whole_seconds()));
            }
            // As the server wrote it: the date is compared as text.
            if let Some(exp) = line.split(';').skip(1).find_map(|a| {
                let (k, v) = a.split_once('=')?;
                k.trim()
                    .eq_ignore_ascii_case("expires")
                    .then(|| v.trim().to_string())
            }) {
                m.insert("expires".into(), J::String(exp));
            }
            m.insert("secure".into(), J::Bool(c.secure().unwrap_or(false)));
            m.insert("http_only".into(), J::Bool(c.http_only().unwrap_or(false)));
            if let Some(s) = c.same_site() {
                m.insert("same_site".into(), J::String(s.to_string()));
            }
            Some((c.name().to_string(), m))
        })
        .collect()
}

/// `bytes:` checks over the body as received.
fn bytes_checks(ev: &mut Evaluator<'_>, b: &BytesExpect, response: &Response) {
    let body: &[u8] = &response.body;
    // The bytes asserted are the body after its coding is undone: a coding that
    // could not be undone leaves other bytes, which must not pass for them.
    let cut = response.body_problem.clone().or_else(|| {
        response.truncated.then(|| {
            format!(
                "the body was cut at the {} cap (--max-body); raise the cap to check its bytes",
                crate::http::fmt_size(body.len())
            )
        })
    });
    if let Some(m) = &b.length {
        if let Some(why) = &cut {
            ev.count += 1;
            ev.fail("bytes length", describe_matcher(m), why.clone());
        } else {
            ev.matcher("bytes length", m, Some(&J::from(body.len())), None, false);
        }
    }
    type Hash = fn(&[u8]) -> String;
    let digests: [(&str, &Option<Digest>, Hash); 2] = [
        ("bytes sha256", &b.sha256, |d| {
            use sha2::Digest as _;
            hex::encode(sha2::Sha256::digest(d))
        }),
        ("bytes md5", &b.md5, |d| {
            use md5::Digest as _;
            hex::encode(md5::Md5::digest(d))
        }),
    ];
    for (subject, want, digest) in digests {
        let Some(want) = want else { continue };
        ev.count += 1;
        let got = match &cut {
            Some(why) => why.clone(),
            None => digest(body),
        };
        if got == want.hex {
            ev.pass(subject, || want.hex.clone(), got);
        } else {
            ev.fail(subject, want.hex.clone(), got);
        }
    }
    if let Some(f) = &b.file
        && let Some(data) = &f.data
    {
        ev.count += 1;
        let subject = "bytes";
        let expected = format!("the {} bytes of {}", data.len(), f.path);
        if let Some(why) = &cut {
            ev.fail(subject, expected, why.clone());
        } else if body == data.as_slice() {
            ev.pass(subject, || expected, format!("{} equal bytes", body.len()));
        } else {
            let at = body
                .iter()
                .zip(data.iter())
                .position(|(x, y)| x != y)
                .unwrap_or(body.len().min(data.len()));
            let byte = |d: &[u8]| {
                d.get(at)
                    .map_or_else(|| "the end".to_string(), |b| format!("0x{b:02x}"))
            };
            ev.fail(
                subject,
                expected,
                format!(
                    "{} bytes, differing from byte {at} on ({} where the file has {})",
                    body.len(),
                    byte(body),
                    byte(data)
                ),
            );
        }
    }
}

fn status_check(ev: &mut Evaluator<'_>, st: &StatusExpect, obs: &Observed<'_>) {
    {
        ev.count += 1;
        let actual = obs.response.status.to_string();
        let rendered;
        let st = match &st.template {
            None => st,
            Some(t) => {
                let v = TValue::Str(t.clone());
                match ev.render("status", &v).map(|j| (status_patterns(&j), j)) {
                    Some((Some(accepted), _)) => {
                        rendered = StatusExpect {
                            loc: st.loc,
                            accepted,
                            template: None,
                        };
                        &rendered
                    }
                    Some((None, j)) => {
                        ev.fail(
                            "status",
                            "a status code, a class (2xx) or a list from the template".into(),
                            format!("the template gave {}", show(&j)),
                        );
                        return;
                    }
                    None => return,
                }
            }
        };
        if st.matches(obs.response.status) {
            ev.pass("status", || st.describe(), actual);
        } else {
            ev.fail("status", st.describe(), actual);
        }
    }
}

/// Whether a path names at most one value: no wildcard, slice, filter, union or
/// descendant segment outside quoted names. Such a path is compared with the value
/// it finds; any other with the list of what it finds.
/// The part of a path before its first wildcard, filter, slice, union or `..`
/// (`$.items` of `$.items[*].id`), when that is more than `$`.
fn singular_prefix(src: &str) -> Option<&str> {
    let b = src.as_bytes();
    let mut quote: Option<u8> = None;
    let mut segment = 0;
    for (i, &c) in b.iter().enumerate() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            b'\'' | b'"' => quote = Some(c),
            b'.' if b.get(i + 1) == Some(&b'.') => return (i > 1).then(|| &src[..i]),
            b'.' | b'[' => segment = i,
            b'*' | b'?' | b':' | b',' => return (segment > 1).then(|| &src[..segment]),
            _ => {}
        }
    }
    None
}

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
    /// Every value of the header being checked, for `each`, `any` and `count`.
    header_values: Option<Vec<String>>,
    /// Why a check could not be judged (a value of the matcher that did not
    /// render, nothing where a value was looked for, a value without a length):
    /// `not` must not turn such a failure into a pass.
    unjudged: Option<String>,
    /// The wildcard or filter path being checked selected nothing: its list is
    /// empty, and nothing exists there.
    nothing_selected: bool,
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

    /// `v` rendered to compare with text (a header, the body, a string): a number
    /// is the text the file wrote (`1.10`, not `1.1`).
    fn render_for(&mut self, subject: &str, v: &TValue, text: bool) -> Option<J> {
        match v {
            TValue::Num(_, _, Some(written)) if text => Some(J::String(written.to_string())),
            _ => self.render(subject, v),
        }
    }

    fn render(&mut self, subject: &str, v: &crate::scenario::values::TValue) -> Option<J> {
        match self.templates.render_json(v, self.scope) {
            Ok(j) => Some(j),
            Err(RenderError { message, .. }) => {
                self.unjudged = Some("a value of the matcher could not be rendered".into());
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

    /// Run every check of `m` on `actual`; `textual` compares scalars as text
    /// (headers, body). `raw` holds the body's digits of the numbers in `actual`.
    fn matcher(
        &mut self,
        subject: &str,
        m: &Matcher,
        actual: Option<&J>,
        raw: Option<&RawTree>,
        textual: bool,
    ) {
        for check in &m.checks {
            // `length`, `each` and `any` count as the checks they hold, or as one
            // when they hold none (not a list, an empty list).
            let compound = matches!(check, Check::Length(_) | Check::Each(_) | Check::Any(_));
            let before = self.count;
            if !compound {
                self.count += 1;
            }
            let verdict = self.check(subject, check, actual, raw, textual);
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

    /// Whether `m` holds on `actual`, recording nothing.
    fn holds(
        &mut self,
        subject: &str,
        m: &Matcher,
        actual: Option<&J>,
        raw: Option<&RawTree>,
        textual: bool,
    ) -> bool {
        let before = self.failures.len();
        let passes = self.passes_len();
        let count = self.count;
        self.matcher(subject, m, actual, raw, textual);
        let held = self.failures.len() == before;
        self.failures.truncate(before);
        if let Some(p) = self.passed.as_mut() {
            p.truncate(passes);
        }
        self.count = count;
        held
    }

    /// `each`, `any` and `count` over the values of a repeated header.
    fn header_list_check(
        &mut self,
        subject: &str,
        check: &Check,
        values: Vec<String>,
    ) -> Option<(String, String)> {
        let shown = || {
            format!(
                "{} value(s): [{}]",
                values.len(),
                values
                    .iter()
                    .map(|v| show(&J::String(v.clone())))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        match check {
            Check::Count(inner) => {
                let n = J::from(values.len());
                (!self.holds(subject, inner, Some(&n), None, false))
                    .then(|| (format!("count {}", describe_matcher(inner)), shown()))
            }
            Check::Each(inner) => {
                if values.is_empty() {
                    self.unjudged.get_or_insert_with(|| "no such header".into());
                    return Some((
                        format!(
                            "each value {} (at least one value)",
                            describe_matcher(inner)
                        ),
                        "no such header".into(),
                    ));
                }
                for v in &values {
                    self.matcher(subject, inner, Some(&J::String(v.clone())), None, true);
                }
                None
            }
            Check::Any(inner) => {
                let any = values
                    .iter()
                    .any(|v| self.holds(subject, inner, Some(&J::String(v.clone())), None, true));
                self.count += 1;
                (!any).then(|| (format!("any value {}", describe_matcher(inner)), shown()))
            }
            _ => None,
        }
    }

    /// `None` when the check holds, else (expected, actual) in words.
    fn check(
        &mut self,
        subject: &str,
        check: &Check,
        actual: Option<&J>,
        raw: Option<&RawTree>,
        textual: bool,
    ) -> Option<(String, String)> {
        // The header's own list is for this level only: what `each`/`any` hold
        // judges one value.
        if matches!(check, Check::Count(_) | Check::Each(_) | Check::Any(_))
            && let Some(values) = self.header_values.take()
        {
            let verdict = self.header_list_check(subject, check, values.clone());
            self.header_values = Some(values);
            return verdict;
        }
        let repeated = self.header_values.as_ref().map_or(0, Vec::len);
        if repeated > 1 && actual.is_none() && !matches!(check, Check::Exists(_) | Check::Not(_)) {
            // A repeated Set-Cookie is never joined: a check on it holds when it
            // holds on one of its values (and `not` then means: on none of them).
            let values = self.header_values.take().unwrap_or_default();
            let one = Matcher {
                loc: crate::diagnostic::Loc::UNKNOWN,
                checks: vec![check.clone()],
            };
            let held = values
                .iter()
                .any(|v| self.holds(subject, &one, Some(&J::String(v.clone())), None, textual));
            self.header_values = Some(values);
            if held {
                return None;
            }
            let expected = self
                .describe_rendered(subject, check)
                .unwrap_or_else(|| describe_check(check));
            let shown: Vec<String> = self
                .header_values
                .iter()
                .flatten()
                .map(|v| show(&J::String(v.clone())))
                .collect();
            return Some((
                format!(
                    "{expected} (of one of the {repeated} Set-Cookie values; they are never joined)"
                ),
                format!("[{}]", shown.join(", ")),
            ));
        }
        let raw_view = self.raw_text;
        let shown = || match (actual, raw) {
            // A number as the server wrote it, not as a float would print it.
            (Some(J::Number(n)), Some(RawTree::Num(text))) if n.is_f64() => {
                crate::events::excerpt(text, 300)
            }
            (Some(a), _) => show_actual(a, raw_view),
            (None, _) => "nothing (not found)".to_string(),
        };
        let present = (actual.is_some() && !self.nothing_selected)
            || self.header_values.as_ref().is_some_and(|v| !v.is_empty());
        match check {
            Check::Exists(want) => (present != *want).then(|| {
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
                let expected = || format!("not {}", describe_matcher(inner));
                // What could not be judged fails under `not` too (and under a
                // `not` around this one).
                let outer = self.unjudged.take();
                let held = self.holds(subject, inner, actual, raw, textual);
                let unjudged = std::mem::replace(&mut self.unjudged, outer);
                if let Some(why) = unjudged {
                    self.unjudged.get_or_insert_with(|| why.clone());
                    return Some((expected(), why));
                }
                held.then(|| (expected(), shown()))
            }
            Check::Count(_) => Some(("`count` (it counts the values of a header)".into(), shown())),
            _ if actual.is_none() => {
                self.unjudged
                    .get_or_insert_with(|| "nothing (not found)".into());
                Some((self.describe_rendered(subject, check)?, shown()))
            }
            Check::Equals(v) => {
                let expected = self.render_for(subject, v, textual)?;
                let a = actual?;
                let held = match (a, v) {
                    // A number as written, against text: the text trimmed, as
                    // any number compared with text is (`1.50` equals `1.50\n`).
                    (J::String(s), TValue::Num(_, _, Some(w))) if textual => s.trim() == w.trim(),
                    _ => equal(a, raw, &expected, textual),
                };
                (!held).then(|| (show(&expected), shown()))
            }
            Check::Type(t) => {
                let a = actual?;
                (!has_type(a, raw, *t)).then(|| {
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
                    other => {
                        self.unjudged
                            .get_or_insert_with(|| format!("{} (it has no length)", show(other)));
                        return Some(("something with a length".into(), show(other)));
                    }
                };
                // The inner matcher judges the length; its failures are told as lengths.
                let before = self.failures.len();
                let passes = self.passes_len();
                self.matcher(subject, inner, Some(&J::from(len)), None, false);
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
                let needle = self.render_for(subject, v, matches!(actual, Some(J::String(_))))?;
                let a = actual?;
                let ok = match (a, &needle) {
                    (J::String(s), J::String(n)) => s.contains(n.as_str()),
                    (J::String(s), other) => s.contains(&show(other)),
                    (J::Array(items), n) => items
                        .iter()
                        .enumerate()
                        .any(|(i, item)| equal(item, raw.and_then(|r| r.child_index(i)), n, false)),
                    (J::Object(m), J::String(k)) => m.contains_key(k),
                    _ => false,
                };
                (!ok).then(|| (format!("to contain {}", show(&needle)), shown()))
            }
            Check::OneOf(options) => {
                let listed = match options {
                    TValue::Seq(items, _) if textual => Some(
                        items
                            .iter()
                            .map(|o| self.render_for(subject, o, true))
                            .collect::<Option<Vec<J>>>()?,
                    ),
                    _ => None,
                };
                let rendered = match listed
                    .map_or_else(|| self.render(subject, options), |l| Some(J::Array(l)))?
                {
                    J::Array(items) => items,
                    other => {
                        return Some((
                            "a list of options for `one_of`".into(),
                            format!("the template gave {}", show(&other)),
                        ));
                    }
                };
                let a = actual?;
                (!rendered.iter().any(|o| equal(a, raw, o, textual))).then(|| {
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
                    J::Number(n) => match raw {
                        Some(RawTree::Num(t)) if n.is_f64() => t.clone(),
                        _ => n.to_string(),
                    },
                    other => other.to_string(),
                };
                let (r, shown_src) = match (&re.regex, &re.template) {
                    (Some(r), _) => (r.clone(), re.src.clone()),
                    (None, Some(t)) => {
                        let rendered = match self.templates.render_str(t, self.scope) {
                            Ok(s) => s,
                            Err(e) => {
                                self.unjudged = Some("the regex could not be rendered".into());
                                return Some(("a regex to match".into(), e.message));
                            }
                        };
                        match crate::scenario::values::regex_rendered(&rendered) {
                            Ok(r) => (r, rendered),
                            Err(why) => {
                                self.unjudged = Some("the regex could not be rendered".into());
                                return Some((
                                    format!("to match /{rendered}/"),
                                    format!("the template gave an invalid regex: {why}"),
                                ));
                            }
                        }
                    }
                    (None, None) => return None,
                };
                (!r.is_match(&text)).then(|| (format!("to match /{shown_src}/"), shown()))
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
                match compare(a, raw, &bound) {
                    Some(ord) if want(ord) => None,
                    Some(_) => Some((format!("{op} {}", show(&bound)), shown())),
                    None => {
                        self.unjudged.get_or_insert_with(|| {
                            format!("{} (it does not compare with {})", shown(), show(&bound))
                        });
                        Some((
                            format!("{op} {} (comparable values)", show(&bound)),
                            shown(),
                        ))
                    }
                }
            }
            Check::Each(inner) => {
                let a = actual?;
                let J::Array(items) = a else {
                    self.unjudged
                        .get_or_insert_with(|| format!("{} (not a list)", show(a)));
                    return Some(("a list (for `each`)".into(), show(a)));
                };
                if items.is_empty() {
                    // Over nothing, every item holds: a misspelt path would pass.
                    self.unjudged
                        .get_or_insert_with(|| "an empty list (no item to judge)".into());
                    return Some((
                        format!("each item {} (at least one item)", describe_matcher(inner)),
                        shown(),
                    ));
                }
                let paths = self.element_paths.take().filter(|p| p.len() == items.len());
                for (i, item) in items.iter().enumerate() {
                    let at = match &paths {
                        Some(p) => p[i].clone(),
                        None => format!("{subject}[{i}]"),
                    };
                    let r = raw.and_then(|r| r.child_index(i));
                    self.matcher(&at, inner, Some(item), r, textual);
                }
                None
            }
            Check::Any(inner) => {
                let a = actual?;
                let J::Array(items) = a else {
                    self.unjudged
                        .get_or_insert_with(|| format!("{} (not a list)", show(a)));
                    return Some(("a list (for `any`)".into(), show(a)));
                };
                self.element_paths = None;
                let any = items.iter().enumerate().any(|(i, item)| {
                    let r = raw.and_then(|r| r.child_index(i));
                    self.holds(subject, inner, Some(item), r, textual)
                });
                self.count += 1;
                (!any).then(|| (format!("any item {}", describe_matcher(inner)), shown()))
            }
        }
    }
}

/// The exact value of `a`'s number (from the body's digits when it has them).
fn decimal(a: &J, raw: Option<&RawTree>) -> Option<Decimal> {
    match a {
        J::Number(n) => decimal_of(n, raw),
        _ => None,
    }
}

/// Equality as the docs define it: numbers by exact decimal value (`1` equals
/// `1.0`), containers item by item, a header or body text against a scalar by text.
fn equal(a: &J, raw: Option<&RawTree>, b: &J, textual: bool) -> bool {
    match (a, b) {
        (J::Number(_), J::Number(y)) => match (decimal(a, raw), Decimal::of_number(y)) {
            (Some(p), Some(q)) => p == q,
            _ => false,
        },
        (J::String(s), other)
            if textual && !other.is_string() && !other.is_object() && !other.is_array() =>
        {
            s.trim() == show(other)
        }
        (J::Array(xs), J::Array(ys)) => {
            xs.len() == ys.len()
                && xs
                    .iter()
                    .zip(ys)
                    .enumerate()
                    .all(|(i, (x, y))| equal(x, raw.and_then(|r| r.child_index(i)), y, false))
        }
        (J::Object(xm), J::Object(ym)) => {
            xm.len() == ym.len()
                && xm.iter().all(|(k, x)| {
                    ym.get(k)
                        .is_some_and(|y| equal(x, raw.and_then(|r| r.child_key(k)), y, false))
                })
        }
        _ => a == b,
    }
}

/// Order of two numbers (exact), or of two texts (as numbers when both are).
fn compare(a: &J, raw: Option<&RawTree>, b: &J) -> Option<std::cmp::Ordering> {
    let text_number = |s: &str| Decimal::parse(s);
    match (a, b) {
        (J::Number(_), J::Number(y)) => Some(decimal(a, raw)?.cmp(&Decimal::of_number(y)?)),
        (J::String(x), J::String(y)) => match (text_number(x), text_number(y)) {
            (Some(p), Some(q)) => Some(p.cmp(&q)),
            _ => Some(x.cmp(y)),
        },
        (J::String(x), J::Number(y)) => Some(text_number(x)?.cmp(&Decimal::of_number(y)?)),
        _ => None,
    }
}

fn has_type(v: &J, raw: Option<&RawTree>, t: JsonType) -> bool {
    match t {
        JsonType::String => v.is_string(),
        JsonType::Number => v.is_number(),
        JsonType::Integer => decimal(v, raw).is_some_and(|d| d.is_integer()),
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
        Check::Any(m) => format!("any {}", describe_matcher(m)),
        Check::Count(m) => format!("count {}", describe_matcher(m)),
    }
}

pub fn describe_matcher(m: &Matcher) -> String {
    m.checks
        .iter()
        .map(describe_check)
        .collect::<Vec<_>>()
        .join(" and ")
}

#[cfg(test)]
mod tests {
    use super::singular_prefix;

    #[test]
    fn the_singular_prefix_ends_where_a_path_starts_to_select_a_list() {
        for (path, prefix) in [
            ("$.items[*].id", Some("$.items")),
            ("$.itmes[?@.status=='failed']", Some("$.itmes")),
            ("$.a.b[0:2]", Some("$.a.b")),
            ("$.a..id", Some("$.a")),
            ("$['x.y'][*]", Some("$['x.y']")),
            ("$[*]", None),
            ("$..id", None),
            ("$.a.b", None),
        ] {
            assert_eq!(singular_prefix(path), prefix, "{path}");
        }
    }
}
