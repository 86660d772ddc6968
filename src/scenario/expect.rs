//! Assertions (`expect`, `retry.until`) and captures, in the file format.

use std::borrow::Cow;
use std::sync::Arc;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer};

use super::sink;
use super::values::{JsonPathSpec, RegexSpec, TEntry, TValue, Tpl};
use crate::diagnostic::{Loc, did_you_mean};

/// What a response must look like. Every assertion is checked and every failure reported.
#[derive(Debug, Deserialize, Clone, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// A code (`200`), a list (`[200, 201]`) or a class (`2xx`).
    #[schemars(example = 200, example = [200, 201], example = &"2xx")]
    #[serde(default, deserialize_with = "not_null")]
    pub status: Option<StatusExpect>,
    /// JSONPath -> a value (equality) or a matcher map.
    #[serde(default)]
    #[schemars(example = serde_json::json!({"$.status": "active", "$.items": {"length": {"gte": 1}}}))]
    pub json: JsonAssertions,
    /// Header name -> a value or a matcher map (names are case-insensitive).
    #[serde(default)]
    #[schemars(example = serde_json::json!({"Content-Type": {"contains": "json"}}))]
    pub headers: HeaderAssertions,
    /// Cookies the response sets (its Set-Cookie headers): name -> the value (a
    /// value or a matcher map), or a map of attributes (value, path, domain,
    /// max_age, expires, secure, http_only, same_site) -> a value or a matcher map.
    #[serde(default)]
    #[schemars(example = serde_json::json!({"session": {"exists": true}, "theme": {"value": "dark", "http_only": true, "max_age": {"gt": 0}}}))]
    pub cookies: CookieAssertions,
    /// A matcher over the body as text.
    #[schemars(example = serde_json::json!({"contains": "ok"}))]
    #[serde(default, deserialize_with = "not_null")]
    pub body: Option<Matcher>,
    /// A matcher over the response time in milliseconds.
    #[schemars(example = serde_json::json!({"lt": 2000}))]
    #[serde(default, deserialize_with = "not_null")]
    pub time_ms: Option<Matcher>,
    /// Checks over the body's bytes: length, sha256, md5, equality with a file.
    #[schemars(example = serde_json::json!({"length": 1024, "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}))]
    #[serde(default, deserialize_with = "not_null")]
    pub bytes: Option<BytesExpect>,
    /// A JSON Schema (a file path relative to the scenario, or inline).
    #[schemars(example = &"schemas/project.json", example = serde_json::json!({"type": "object", "required": ["id"]}))]
    #[serde(default, deserialize_with = "not_null")]
    pub schema: Option<SchemaSpec>,
    /// A matcher over the URL of the final response (after redirects were followed).
    #[schemars(example = serde_json::json!({"matches": "/login$"}))]
    #[serde(default, deserialize_with = "not_null")]
    pub url: Option<Matcher>,
    /// A matcher over how many redirects were followed to reach the final response.
    #[schemars(example = 0, example = serde_json::json!({"lte": 2}))]
    #[serde(default, deserialize_with = "not_null")]
    pub redirects: Option<Matcher>,
    /// The response must match the OpenAPI operation the request calls: a document
    /// (relative to the scenario file), `true` for the run's `--openapi`, `false` for none.
    #[schemars(example = &"openapi/petstore.yaml", example = true)]
    #[serde(default, deserialize_with = "not_null")]
    pub openapi: Option<OpenApiExpect>,
}

/// An expectation written as null (`body: ~`, `status:` with nothing) would
/// check nothing: a file error, not a check left out.
fn not_null<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    match Option::<T>::deserialize(d)? {
        Some(v) => Ok(Some(v)),
        None => Err(serde::de::Error::custom(
            "this expectation is null (`~` or nothing after the colon), so it would check nothing: give it a value, or leave the key out",
        )),
    }
}

impl Expect {
    /// The templates of its expected values (what a failure shows as
    /// "expected ..."), to read.
    pub fn strings(&self) -> Vec<&Tpl> {
        let mut out: Vec<&Tpl> = Vec::new();
        out.extend(self.status.as_ref().and_then(|s| s.template.as_ref()));
        for (path, m) in &self.json.0 {
            out.extend(path.template.as_ref());
            m.strings(&mut out);
        }
        for (_, _, m) in &self.headers.0 {
            m.strings(&mut out);
        }
        for (_, _, c) in &self.cookies.0 {
            match c {
                CookieCheck::Value(m) => m.strings(&mut out),
                CookieCheck::Attributes(attrs) => {
                    attrs.iter().for_each(|(_, m)| m.strings(&mut out))
                }
            }
        }
        for m in [&self.body, &self.time_ms, &self.url, &self.redirects]
            .into_iter()
            .flatten()
        {
            m.strings(&mut out);
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.status.is_none()
            && self.json.0.is_empty()
            && self.headers.0.is_empty()
            && self.body.is_none()
            && self.time_ms.is_none()
            && self.schema.is_none()
            && self.url.is_none()
            && self.redirects.is_none()
            && self.bytes.is_none()
            && self.cookies.0.is_empty()
            && self.openapi.is_none()
    }
}

/// Accepted status codes.
#[derive(Debug, Clone)]
pub struct StatusExpect {
    pub loc: Loc,
    pub accepted: Vec<StatusPattern>,
    /// `status: "{{ code }}"`: rendered when the step runs (a code, a class or a
    /// list of them); `accepted` is empty then.
    pub template: Option<Tpl>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusPattern {
    Code(u16),
    /// `2xx`: the hundreds digit.
    Class(u16),
}

impl StatusPattern {
    pub fn matches(&self, code: u16) -> bool {
        match self {
            StatusPattern::Code(c) => *c == code,
            StatusPattern::Class(h) => code / 100 == *h,
        }
    }
}

impl std::fmt::Display for StatusPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StatusPattern::Code(c) => write!(f, "{c}"),
            StatusPattern::Class(h) => write!(f, "{h}xx"),
        }
    }
}

/// Status patterns from a rendered `status` template: a code, a class, or a list.
pub fn status_patterns(v: &serde_json::Value) -> Option<Vec<StatusPattern>> {
    use serde_json::Value as J;
    let one = |v: &J| -> Option<StatusPattern> {
        let t = match v {
            J::Number(n) => TValue::Num(n.clone(), Loc::UNKNOWN, None),
            J::String(s) => TValue::Str(Tpl::new(s.clone(), Loc::UNKNOWN)),
            _ => return None,
        };
        status_pattern(&t)
    };
    match v {
        J::Array(items) if !items.is_empty() => items.iter().map(one).collect(),
        other => one(other).map(|p| vec![p]),
    }
}

impl StatusExpect {
    pub fn matches(&self, code: u16) -> bool {
        self.accepted.is_empty() || self.accepted.iter().any(|p| p.matches(code))
    }

    pub fn describe(&self) -> String {
        let parts: Vec<String> = self.accepted.iter().map(|p| p.to_string()).collect();
        match parts.len() {
            1 => parts[0].clone(),
            _ => format!("one of {}", parts.join(", ")),
        }
    }
}

const STATUS_HINT: &str = "write a code (200), a list ([200, 201]) or a class (2xx)";

fn status_pattern(v: &TValue) -> Option<StatusPattern> {
    match v {
        TValue::Num(n, ..) => n
            .as_u64()
            .filter(|c| (100..=599).contains(c))
            .map(|c| StatusPattern::Code(c as u16)),
        TValue::Str(t) => {
            let s = t.src.trim();
            if let Ok(c) = s.parse::<u16>() {
                return (100..=599).contains(&c).then_some(StatusPattern::Code(c));
            }
            let b = s.as_bytes();
            if b.len() == 3 && (b'1'..=b'5').contains(&b[0]) && b[1..].eq_ignore_ascii_case(b"xx") {
                Some(StatusPattern::Class(u16::from(b[0] - b'0')))
            } else {
                None
            }
        }
        _ => None,
    }
}

impl<'de> Deserialize<'de> for StatusExpect {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = TValue::deserialize(d)?;
        let loc = v.loc();
        if let TValue::Str(t) = &v
            && !t.is_literal()
        {
            return Ok(StatusExpect {
                loc,
                accepted: Vec::new(),
                template: Some(t.clone()),
            });
        }
        let items: Vec<&TValue> = match &v {
            TValue::Seq(items, _) => items.iter().collect(),
            other => vec![other],
        };
        if items.is_empty() {
            sink::report(
                loc,
                2,
                "an empty list of statuses accepts none, and would check nothing".to_string(),
                Some(STATUS_HINT.into()),
            );
        }
        let mut accepted = Vec::new();
        for item in items {
            match status_pattern(item) {
                Some(p) => accepted.push(p),
                None => sink::report(
                    item.loc(),
                    short(item).chars().count(),
                    format!("`{}` is not a status code", short(item)),
                    Some(STATUS_HINT.into()),
                ),
            }
        }
        Ok(StatusExpect {
            loc,
            accepted,
            template: None,
        })
    }
}

fn short(v: &TValue) -> String {
    match v {
        TValue::Str(t) => t.src.clone(),
        TValue::Num(n, ..) => n.to_string(),
        TValue::Bool(b, _) => b.to_string(),
        other => other.kind_name().to_string(),
    }
}

/// `json:` assertions, in file order.
#[derive(Debug, Clone, Default)]
pub struct JsonAssertions(pub Vec<(JsonPathSpec, Matcher)>);

impl<'de> Deserialize<'de> for JsonAssertions {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = TValue::deserialize(d)?;
        let mut out = Vec::new();
        match v {
            TValue::Map(entries, _) => {
                for TEntry { key, loc, value } in entries {
                    out.push((
                        JsonPathSpec::parse_templated(key, loc),
                        Matcher::from_value(value),
                    ));
                }
            }
            other => sink::report(
                other.loc(),
                1,
                format!(
                    "`json` takes a mapping of JSONPath to value, not {}",
                    other.kind_name()
                ),
                Some("e.g.  json: { $.status: active }".into()),
            ),
        }
        Ok(JsonAssertions(out))
    }
}

/// `headers:` assertions, in file order.
#[derive(Debug, Clone, Default)]
pub struct HeaderAssertions(pub Vec<(String, Loc, Matcher)>);

impl<'de> Deserialize<'de> for HeaderAssertions {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = TValue::deserialize(d)?;
        let mut out = Vec::new();
        match v {
            TValue::Map(entries, _) => {
                for TEntry { key, loc, value } in entries {
                    // No response can carry it: `exists: false` would hold for ever.
                    if let Some(why) = crate::http::wire::bad_header_name(&key) {
                        sink::report(
                            loc,
                            key.chars().count().max(1),
                            why,
                            Some(
                                "name the header alone: `Content-Type: { contains: json }`".into(),
                            ),
                        );
                        continue;
                    }
                    out.push((key, loc, Matcher::from_value(value)));
                }
            }
            other => sink::report(
                other.loc(),
                1,
                format!(
                    "`headers` takes a mapping of header name to value, not {}",
                    other.kind_name()
                ),
                Some("e.g.  headers: { Content-Type: { contains: json } }".into()),
            ),
        }
        Ok(HeaderAssertions(out))
    }
}

/// `cookies:` assertions, in file order.
#[derive(Debug, Clone, Default)]
pub struct CookieAssertions(pub Vec<(String, Loc, CookieCheck)>);

/// What is checked of one cookie.
#[derive(Debug, Clone)]
pub enum CookieCheck {
    /// Its value.
    Value(Matcher),
    /// Some of its attributes (`value` among them).
    Attributes(Vec<(String, Matcher)>),
}

/// The attributes of a cookie an assertion can name.
pub const COOKIE_ATTRIBUTES: [&str; 8] = [
    "value",
    "path",
    "domain",
    "max_age",
    "expires",
    "secure",
    "http_only",
    "same_site",
];

impl<'de> Deserialize<'de> for CookieAssertions {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = TValue::deserialize(d)?;
        let mut out = Vec::new();
        let TValue::Map(entries, _) = v else {
            sink::report(
                v.loc(),
                1,
                format!(
                    "`cookies` takes a mapping of cookie name to value, not {}",
                    v.kind_name()
                ),
                Some("e.g.  cookies: { session: { exists: true } }".into()),
            );
            return Ok(CookieAssertions(out));
        };
        for TEntry { key, loc, value } in entries {
            let attributes = match &value {
                TValue::Map(attrs, _) => attrs
                    .iter()
                    .any(|a| COOKIE_ATTRIBUTES.contains(&a.key.as_str())),
                _ => false,
            };
            let check = match value {
                TValue::Map(attrs, _) if attributes => {
                    let mut checks = Vec::new();
                    for a in attrs {
                        if COOKIE_ATTRIBUTES.contains(&a.key.as_str()) {
                            checks.push((a.key, Matcher::from_value(a.value)));
                        } else {
                            let hint = did_you_mean(&a.key, COOKIE_ATTRIBUTES)
                                .map(|s| format!("did you mean `{s}`?"))
                                .unwrap_or_else(|| {
                                    format!(
                                        "a cookie's attributes: {}",
                                        COOKIE_ATTRIBUTES.join(", ")
                                    )
                                });
                            sink::report(
                                a.loc,
                                a.key.chars().count().max(1),
                                format!("unknown cookie attribute `{}`", a.key),
                                Some(hint),
                            );
                        }
                    }
                    CookieCheck::Attributes(checks)
                }
                other => CookieCheck::Value(Matcher::from_value(other)),
            };
            out.push((key, loc, check));
        }
        Ok(CookieAssertions(out))
    }
}

impl JsonSchema for CookieAssertions {
    fn schema_name() -> Cow<'static, str> {
        "CookieAssertions".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let matcher = generator.subschema_for::<Matcher>().to_value();
        let attributes: serde_json::Map<String, serde_json::Value> = COOKIE_ATTRIBUTES
            .iter()
            .map(|a| (a.to_string(), matcher.clone()))
            .collect();
        json_schema!({
            "type": "object",
            "description": "Cookie name -> its value (a value or a matcher map), or a map of its attributes.",
            "additionalProperties": {
                "anyOf": [
                    {"type": "object", "properties": attributes, "additionalProperties": false, "minProperties": 1},
                    matcher
                ]
            },
            "examples": [{"session": {"exists": true}, "theme": {"value": "dark", "secure": true, "same_site": "Lax"}}]
        })
    }
}

/// The JSON types `type:` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonType {
    String,
    Number,
    Integer,
    Boolean,
    Array,
    Object,
    Null,
}

impl JsonType {
    pub const NAMES: [&'static str; 7] = [
        "string", "number", "integer", "boolean", "array", "object", "null",
    ];

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "string" => JsonType::String,
            "number" => JsonType::Number,
            "integer" => JsonType::Integer,
            "boolean" | "bool" => JsonType::Boolean,
            "array" | "list" => JsonType::Array,
            "object" | "map" => JsonType::Object,
            "null" => JsonType::Null,
            _ => return None,
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            JsonType::String => "string",
            JsonType::Number => "number",
            JsonType::Integer => "integer",
            JsonType::Boolean => "boolean",
            JsonType::Array => "array",
            JsonType::Object => "object",
            JsonType::Null => "null",
        }
    }
}

/// One check of a matcher.
#[derive(Debug, Clone)]
pub enum Check {
    Equals(TValue),
    Not(Box<Matcher>),
    Exists(bool),
    Type(JsonType),
    Length(Box<Matcher>),
    Contains(TValue),
    /// A list, or one template that yields a list.
    OneOf(TValue),
    Matches(RegexSpec),
    Lt(TValue),
    Lte(TValue),
    Gt(TValue),
    Gte(TValue),
    Each(Box<Matcher>),
    /// Some item of a list (some value of a repeated header) satisfies this.
    Any(Box<Matcher>),
    /// How many times a header came (0 when it did not).
    Count(Box<Matcher>),
}

/// A value (equality) or a map of checks that must all hold.
#[derive(Debug, Clone)]
pub struct Matcher {
    pub loc: Loc,
    pub checks: Vec<Check>,
}

pub const MATCHER_NAMES: [&str; 15] = [
    "equals", "not", "exists", "type", "length", "contains", "one_of", "matches", "lt", "lte",
    "gt", "gte", "each", "any", "count",
];

impl Matcher {
    /// A mapping is always a map of checks; any other value is compared for
    /// equality. A key that is not a check is a file error, never an object to
    /// compare with: `{not: {includes: x}}` read as "not equal to that object" would
    /// pass whatever the server sent. To expect an object, write `{equals: {...}}`.
    pub fn from_value(v: TValue) -> Matcher {
        let loc = v.loc();
        let entries = match v {
            TValue::Map(entries, _) if entries.is_empty() => {
                sink::report(
                    loc,
                    2,
                    "an empty matcher checks nothing",
                    Some("to expect an empty object, write `equals: {}`".into()),
                );
                return Matcher {
                    loc,
                    checks: Vec::new(),
                };
            }
            TValue::Map(entries, _) => entries,
            other => {
                return Matcher {
                    loc,
                    checks: vec![Check::Equals(other)],
                };
            }
        };
        let looks_like_object = !entries
            .iter()
            .any(|e| MATCHER_NAMES.contains(&e.key.as_str()));
        let mut checks = Vec::new();
        for TEntry {
            key,
            loc: kloc,
            value,
        } in entries
        {
            let check = match key.as_str() {
                "equals" => Check::Equals(value),
                "not" => Check::Not(Box::new(Matcher::from_value(value))),
                "exists" => match value {
                    TValue::Bool(b, _) => Check::Exists(b),
                    other => {
                        bad(
                            &other,
                            "`exists` takes true or false",
                            "write `exists: true` or `exists: false`",
                        );
                        continue;
                    }
                },
                "type" => match &value {
                    // `type: null` reads as YAML null; it means the JSON type null.
                    TValue::Null(_) => Check::Type(JsonType::Null),
                    TValue::Str(t) if JsonType::parse(&t.src).is_some() => {
                        Check::Type(JsonType::parse(&t.src).unwrap_or(JsonType::Null))
                    }
                    other => {
                        let hint = match other {
                            TValue::Str(t) => did_you_mean(&t.src, JsonType::NAMES)
                                .map(|s| format!("did you mean `{s}`?")),
                            _ => None,
                        };
                        sink::report(
                            other.loc(),
                            short(other).chars().count(),
                            format!("unknown type `{}`", short(other)),
                            Some(hint.unwrap_or_else(|| {
                                format!("one of: {}", JsonType::NAMES.join(", "))
                            })),
                        );
                        continue;
                    }
                },
                "length" => Check::Length(Box::new(Matcher::from_value(value))),
                "contains" => Check::Contains(value),
                "one_of" => match value {
                    TValue::Seq(ref items, _) if items.is_empty() => {
                        sink::report(
                            value.loc(),
                            2,
                            "an empty `one_of` accepts nothing: it always fails, and under `not:` always holds".to_string(),
                            Some("list the values it may be, e.g. `one_of: [active, archived]`".into()),
                        );
                        continue;
                    }
                    TValue::Seq(..) => Check::OneOf(value),
                    TValue::Str(ref t) if !t.is_literal() => Check::OneOf(value),
                    other => {
                        bad(
                            &other,
                            "`one_of` takes a list",
                            "e.g. `one_of: [active, archived]`",
                        );
                        continue;
                    }
                },
                "matches" => match value {
                    TValue::Str(t) => Check::Matches(RegexSpec::parse_templated(t.src, t.loc)),
                    other => {
                        bad(
                            &other,
                            "`matches` takes a regex",
                            "e.g. `matches: \"^prj_[0-9A-Z]+$\"`",
                        );
                        continue;
                    }
                },
                "lt" | "lte" | "gt" | "gte" if !is_bound(&value) => {
                    bad(
                        &value,
                        &format!("`{key}` takes a number or a text to compare with"),
                        "e.g. `gte: 1`, `lt: \"2026-01-01\"`: anything else compares with nothing, and under `not:` always holds",
                    );
                    continue;
                }
                "lt" => Check::Lt(value),
                "lte" => Check::Lte(value),
                "gt" => Check::Gt(value),
                "gte" => Check::Gte(value),
                "each" => Check::Each(Box::new(Matcher::from_value(value))),
                "any" => Check::Any(Box::new(Matcher::from_value(value))),
                "count" => Check::Count(Box::new(Matcher::from_value(value))),
                other => {
                    let mut hint = unknown_matcher_hint(other);
                    if looks_like_object {
                        hint.push_str(" (to compare with an object, write `equals: {...}`)");
                    }
                    sink::report(
                        kloc,
                        other.chars().count().max(1),
                        format!("unknown matcher `{other}`"),
                        Some(hint),
                    );
                    continue;
                }
            };
            checks.push(check);
        }
        Matcher { loc, checks }
    }

    /// Every string in the matcher's values, to read.
    pub fn strings<'a>(&'a self, out: &mut Vec<&'a Tpl>) {
        for c in &self.checks {
            match c {
                Check::Equals(v)
                | Check::OneOf(v)
                | Check::Contains(v)
                | Check::Lt(v)
                | Check::Lte(v)
                | Check::Gt(v)
                | Check::Gte(v) => out.extend(v.strings()),
                Check::Not(m)
                | Check::Length(m)
                | Check::Each(m)
                | Check::Any(m)
                | Check::Count(m) => m.strings(out),
                Check::Matches(r) => out.extend(r.template.as_ref()),
                Check::Exists(_) | Check::Type(_) => {}
            }
        }
    }

    pub fn strings_mut<'a>(&'a mut self, out: &mut Vec<&'a mut Tpl>) {
        for c in &mut self.checks {
            match c {
                Check::Equals(v)
                | Check::OneOf(v)
                | Check::Contains(v)
                | Check::Lt(v)
                | Check::Lte(v)
                | Check::Gt(v)
                | Check::Gte(v) => v.strings_mut(out),
                Check::Not(m)
                | Check::Length(m)
                | Check::Each(m)
                | Check::Any(m)
                | Check::Count(m) => m.strings_mut(out),
                Check::Matches(r) => out.extend(r.template.as_mut()),
                Check::Exists(_) | Check::Type(_) => {}
            }
        }
    }
}

/// What `lt`, `lte`, `gt` and `gte` can compare with: a number or a text (a
/// template may give either).
fn is_bound(v: &TValue) -> bool {
    matches!(v, TValue::Num(..) | TValue::Str(_))
}

/// What to write instead of an unknown matcher name: a near miss of one of ours,
/// or the name another tool uses for one of ours.
fn unknown_matcher_hint(name: &str) -> String {
    let folded: String = name
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .collect::<String>()
        .to_ascii_lowercase();
    let alias = match folded.as_str() {
        "include" | "includes" | "contain" | "has" => Some("`contains`"),
        "startswith" | "beginswith" | "prefix" => Some("`matches: \"^text\"` (a regex)"),
        "endswith" | "suffix" => Some("`matches: \"text$\"` (a regex)"),
        "regex" | "pattern" | "match" => Some("`matches`"),
        "eq" | "equal" | "equalto" | "is" | "value" => Some("`equals`"),
        "ne" | "noteq" | "notequal" | "notequals" => Some("`not: {equals: ...}`"),
        "isinteger" | "isint" => Some("`type: integer`"),
        "isnumber" | "isfloat" => Some("`type: number`"),
        "isstring" => Some("`type: string`"),
        "isboolean" | "isbool" => Some("`type: boolean`"),
        "isarray" | "islist" | "iscollection" => Some("`type: array`"),
        "isobject" | "ismap" => Some("`type: object`"),
        "isnull" => Some("`type: null`"),
        "isempty" | "empty" => Some("`length: 0`"),
        "len" | "size" => Some("`length`"),
        "count" => Some("`length` (`count` counts the values of a repeated header)"),
        "exist" | "present" | "defined" => Some("`exists`"),
        "in" | "oneof" | "anyof" => Some("`one_of`"),
        "lessthan" | "below" => Some("`lt`"),
        "greaterthan" | "above" => Some("`gt`"),
        "le" | "max" => Some("`lte`"),
        "ge" | "min" => Some("`gte`"),
        "all" | "every" => Some("`each`"),
        "some" => Some("`any`"),
        _ => None,
    };
    if let Some(a) = alias {
        return format!("did you mean {a}?");
    }
    did_you_mean(name, MATCHER_NAMES)
        .map(|s| format!("did you mean `{s}`?"))
        .unwrap_or_else(|| format!("matchers: {}", MATCHER_NAMES.join(", ")))
}

/// "`exists` takes true or false, not `yes`", underlined at the value.
fn bad(v: &TValue, takes: &str, hint: &str) {
    let found = match v {
        TValue::Str(_) | TValue::Num(..) | TValue::Bool(..) => format!("`{}`", short(v)),
        other => other.kind_name().to_string(),
    };
    let width = match v {
        TValue::Str(_) | TValue::Num(..) | TValue::Bool(..) => short(v).chars().count(),
        _ => 1,
    };
    sink::report(
        v.loc(),
        width,
        format!("{takes}, not {found}"),
        Some(hint.into()),
    );
}

impl<'de> Deserialize<'de> for Matcher {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Matcher::from_value(TValue::deserialize(d)?))
    }
}

/// Checks over the body as bytes (after the transfer encoding is undone), for
/// images, archives, and text whose encoding matters.
#[derive(Debug, Deserialize, Clone, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BytesExpect {
    /// A matcher over the number of bytes.
    #[schemars(example = 1024, example = serde_json::json!({"gt": 0}))]
    pub length: Option<Matcher>,
    /// The SHA-256 of the body, in hex.
    #[schemars(example = &"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")]
    pub sha256: Option<Digest>,
    /// The MD5 of the body, in hex.
    #[schemars(example = &"098f6bcd4621d373cade4e832627b4f6")]
    pub md5: Option<Digest>,
    /// The body equals this file's bytes (a path relative to the scenario file).
    #[schemars(example = &"data/logo.png")]
    pub file: Option<BytesFile>,
}

/// A digest in hex, checked for its length when the file is read.
#[derive(Debug, Clone)]
pub struct Digest {
    pub loc: Loc,
    /// Lowercase hex.
    pub hex: String,
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = TValue::deserialize(d)?;
        let loc = v.loc();
        let hex = match &v {
            TValue::Str(t)
                if !t.src.trim().is_empty()
                    && t.src.trim().bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                t.src.trim().to_ascii_lowercase()
            }
            other => {
                bad(
                    other,
                    "a digest is written in hex",
                    "e.g. `sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08` (`sha256sum file` prints it)",
                );
                String::new()
            }
        };
        Ok(Digest { loc, hex })
    }
}

impl JsonSchema for Digest {
    fn schema_name() -> Cow<'static, str> {
        "Digest".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^\\s*[0-9a-fA-F]+\\s*$",
            "description": "A digest in hex."
        })
    }
}

/// A file the body must equal, read by the checker.
#[derive(Debug, Clone)]
pub struct BytesFile {
    pub loc: Loc,
    pub path: String,
    pub data: Option<Arc<Vec<u8>>>,
}

impl<'de> Deserialize<'de> for BytesFile {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s: serde_saphyr::Spanned<String> = serde_saphyr::Spanned::deserialize(d)?;
        Ok(BytesFile {
            loc: s.referenced.into(),
            path: s.value,
            data: None,
        })
    }
}

impl JsonSchema for BytesFile {
    fn schema_name() -> Cow<'static, str> {
        "BytesFile".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "A file (relative to the scenario file) whose bytes the body must equal."
        })
    }
}

/// A JSON Schema to validate the body against.
#[derive(Debug, Clone)]
pub struct SchemaSpec {
    pub loc: Loc,
    pub source: SchemaSource,
    /// Compiled by the checker.
    pub validator: Option<Arc<jsonschema::Validator>>,
    /// The schema document, to quote a failed rule's value.
    pub document: Option<Arc<serde_json::Value>>,
}

#[derive(Debug, Clone)]
pub enum SchemaSource {
    /// A file, relative to the scenario file.
    File(String),
    Inline(serde_json::Value),
}

impl<'de> Deserialize<'de> for SchemaSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = TValue::deserialize(d)?;
        let loc = v.loc();
        let source = match &v {
            TValue::Str(t) => SchemaSource::File(t.src.clone()),
            TValue::Map(..) => match v.as_literal_json() {
                Some(j) => SchemaSource::Inline(j),
                None => {
                    sink::report(loc, 1, "an inline schema cannot hold templates", None);
                    SchemaSource::Inline(serde_json::Value::Bool(true))
                }
            },
            other => {
                bad(
                    other,
                    "`schema` takes a file path or an inline JSON Schema",
                    "e.g. `schema: schemas/project.json` or `schema: { type: object }`",
                );
                SchemaSource::Inline(serde_json::Value::Bool(true))
            }
        };
        Ok(SchemaSpec {
            loc,
            source,
            validator: None,
            document: None,
        })
    }
}

/// `expect.openapi`: which OpenAPI document the response is checked against.
#[derive(Debug, Clone)]
pub struct OpenApiExpect {
    pub loc: Loc,
    pub source: OpenApiSource,
    /// Filled in when the files are checked (a `File` source).
    pub spec: Option<Arc<crate::contract::Spec>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum OpenApiSource {
    /// `false`: no contract check, not even the run's `--openapi`.
    Off,
    /// `true`: the run's `--openapi` document.
    Run,
    /// A document, relative to the scenario file.
    File(String),
}

impl<'de> Deserialize<'de> for OpenApiExpect {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = TValue::deserialize(d)?;
        let loc = v.loc();
        let source = match &v {
            TValue::Str(t) if t.is_literal() && !t.src.trim().is_empty() => {
                OpenApiSource::File(t.src.clone())
            }
            TValue::Bool(true, _) => OpenApiSource::Run,
            TValue::Bool(false, _) => OpenApiSource::Off,
            other => {
                sink::report(
                    loc,
                    short(other).chars().count().max(1),
                    "`openapi` takes the path of an OpenAPI document, `true` or `false`",
                    Some("e.g. `openapi: petstore.yaml` (relative to this file)".into()),
                );
                OpenApiSource::Off
            }
        };
        Ok(OpenApiExpect {
            loc,
            source,
            spec: None,
        })
    }
}

impl JsonSchema for OpenApiExpect {
    fn schema_name() -> Cow<'static, str> {
        "OpenApiExpect".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Check the response against the OpenAPI operation the request calls: the document's path (relative to the scenario file), true for the run's --openapi, false for no check.",
            "type": ["string", "boolean"],
            "examples": ["openapi/petstore.yaml", true]
        })
    }
}

// JSON Schema of the hand-written parts of `expect` and `capture`.

/// A status code or a class, as a schema (shared by single values and lists).
fn status_item() -> serde_json::Value {
    serde_json::json!({
        "anyOf": [
            {"type": "integer", "minimum": 100, "maximum": 599},
            {"type": "string", "pattern": "^\\s*([1-5][0-9][0-9]|[1-5][xX][xX])\\s*$"},
            {"type": "string", "pattern": "\\{\\{", "description": "A template giving a code, a class or a list (e.g. a matrix value)."}
        ]
    })
}

impl JsonSchema for StatusExpect {
    fn schema_name() -> Cow<'static, str> {
        "Status".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let item = status_item();
        json_schema!({
            "description": "Accepted status codes: a code (200), a class (2xx) or a list of them.",
            "anyOf": [item.clone(), {"type": "array", "items": item, "minItems": 1}],
            "examples": [200, [200, 201], "2xx"]
        })
    }
}

impl JsonSchema for JsonAssertions {
    fn schema_name() -> Cow<'static, str> {
        "JsonAssertions".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let matcher = generator.subschema_for::<Matcher>().to_value();
        json_schema!({
            "type": "object",
            "description": "JSONPath (RFC 9535, starting with `$`) -> the value it must equal, or a matcher map.",
            "propertyNames": {"pattern": "^\\$"},
            "additionalProperties": matcher,
            "examples": [{"$.id": {"exists": true}, "$.name": "smoke", "$.items[*].id": {"each": {"matches": "^prj_"}}}]
        })
    }
}

impl JsonSchema for HeaderAssertions {
    fn schema_name() -> Cow<'static, str> {
        "HeaderAssertions".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let matcher = generator.subschema_for::<Matcher>().to_value();
        json_schema!({
            "type": "object",
            "description": "Header name (any case) -> the value it must equal, or a matcher map.",
            "additionalProperties": matcher,
            "examples": [{"Content-Type": {"contains": "application/json"}, "X-Request-Id": {"exists": true}}]
        })
    }
}

/// The checks a matcher map may hold.
struct MatcherChecks;

impl JsonSchema for MatcherChecks {
    fn schema_name() -> Cow<'static, str> {
        "MatcherChecks".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let matcher = generator.subschema_for::<Matcher>().to_value();
        let comparable = serde_json::json!({"type": ["number", "string"]});
        json_schema!({
            "type": "object",
            "description": "Checks that must all hold.",
            "minProperties": 1,
            "additionalProperties": false,
            "properties": {
                "equals": {"description": "Equal to this value (write this to compare with a whole object).", "examples": [{"id": 1}]},
                "not": {"allOf": [matcher.clone()], "description": "The matcher must not hold.", "examples": [{"equals": "failed"}]},
                "exists": {"type": "boolean", "description": "The JSONPath matches something (true) or nothing (false).", "examples": [true]},
                "type": {"enum": ["string", "number", "integer", "boolean", "bool", "array", "list", "object", "map", "null", null], "description": "The JSON type.", "examples": ["string"]},
                "length": {"allOf": [matcher.clone()], "description": "A matcher over the length of a string, list or object.", "examples": [3, {"gte": 1}]},
                "contains": {"description": "A string contains this text; a list contains this item; an object has this key.", "examples": ["smoke"]},
                "one_of": {"anyOf": [{"type": "array"}, {"type": "string", "pattern": "\\{\\{"}], "description": "Equal to one of these values: a list, or a template that yields one.", "examples": [["active", "archived"]]},
                "matches": {"type": "string", "description": "A string matching this regular expression.", "examples": ["^prj_[0-9A-Z]+$"]},
                "lt": {"allOf": [comparable.clone()], "description": "Less than.", "examples": [100]},
                "lte": {"allOf": [comparable.clone()], "description": "Less than or equal.", "examples": [100]},
                "gt": {"allOf": [comparable.clone()], "description": "Greater than.", "examples": [0]},
                "gte": {"allOf": [comparable], "description": "Greater than or equal.", "examples": [1]},
                "each": {"allOf": [matcher.clone()], "description": "Every item of a list (every value of a repeated header) satisfies this matcher.", "examples": [{"type": "object"}]},
                "any": {"allOf": [matcher.clone()], "description": "Some item of a list (some value of a repeated header) satisfies this matcher.", "examples": [{"equals": "a"}]},
                "count": {"allOf": [matcher], "description": "Headers only: how many times the header came (0 when absent).", "examples": [2]}
            }
        })
    }
}

impl JsonSchema for Matcher {
    fn schema_name() -> Cow<'static, str> {
        "Matcher".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let checks = generator.subschema_for::<MatcherChecks>().to_value();
        // A mapping is a matcher and may hold only matcher names; any other value
        // is compared for equality (an object is expected with `equals:`).
        json_schema!({
            "description": "A value the actual value must equal, or a map of checks: equals, not, exists, type, length, contains, one_of, matches, lt, lte, gt, gte, each, any, count. To expect an object, write `equals: {...}`.",
            "anyOf": [checks, {"not": {"type": "object"}}],
            "examples": ["active", {"exists": true}, {"type": "string", "matches": "^prj_"}]
        })
    }
}

impl JsonSchema for SchemaSpec {
    fn schema_name() -> Cow<'static, str> {
        "SchemaSpec".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A JSON Schema the body must satisfy: a .json or .yaml file (relative to the scenario file) or the schema itself.",
            "anyOf": [{"type": "string"}, {"type": "object"}],
            "examples": ["schemas/project.json", {"type": "object", "required": ["id"]}]
        })
    }
}

impl JsonSchema for Capture {
    fn schema_name() -> Cow<'static, str> {
        "Capture".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Where the value comes from: a JSONPath into the body (`$.id`), or one of {json: $.path}, {header: Name}, {regex: pattern}, {cookie: name}, {status: true}, {body: true}.",
            "anyOf": [
                {"type": "string", "pattern": "^\\s*\\$"},
                {
                    "type": "object",
                    "minProperties": 1,
                    "maxProperties": 1,
                    "additionalProperties": false,
                    "properties": {
                        "json": {"type": "string", "pattern": "^\\s*\\$", "description": "A JSONPath into the JSON body.", "examples": ["$.items[0].id"]},
                        "header": {"type": "string", "description": "A response header (any case).", "examples": ["Location"]},
                        "regex": {"type": "string", "description": "A regex over the body; the first group (or the whole match).", "examples": ["token=([a-z0-9]+)"]},
                        "status": {"const": true, "description": "The status code.", "examples": [true]},
                        "body": {"const": true, "description": "The whole body as text.", "examples": [true]},
                        "cookie": {"type": "string", "description": "The value of a cookie the response sets (Set-Cookie).", "examples": ["session"]}
                    }
                }
            ],
            "examples": ["$.id", {"header": "Location"}]
        })
    }
}

/// Where a captured value comes from.
#[derive(Debug, Clone)]
pub enum CaptureSource {
    JsonPath(JsonPathSpec),
    Header(String),
    Regex(RegexSpec),
    Status,
    Body,
    /// The value of a cookie the response sets.
    Cookie(String),
}

/// A value kept from a response under a name.
#[derive(Debug, Clone)]
pub struct Capture {
    pub loc: Loc,
    pub source: CaptureSource,
}

const CAPTURE_HINT: &str = "`$.path`, {json: $.path}, {header: Name}, {regex: pattern}, {cookie: name}, {status: true} or {body: true}";

impl<'de> Deserialize<'de> for Capture {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = TValue::deserialize(d)?;
        let loc = v.loc();
        let fallback = Capture {
            loc,
            source: CaptureSource::Body,
        };
        let source = match v {
            TValue::Str(t) => {
                if !t.src.trim_start().starts_with('$') {
                    sink::report(
                        t.loc,
                        t.src.chars().count(),
                        format!("`{}` is not a JSONPath", t.src),
                        Some(format!(
                            "a JSONPath starts with `$`, e.g. `$.{}`",
                            t.src.trim().trim_start_matches('.')
                        )),
                    );
                    return Ok(fallback);
                }
                CaptureSource::JsonPath(JsonPathSpec::parse(t.src, t.loc))
            }
            TValue::Map(entries, _) if entries.len() == 1 => {
                let Some(TEntry {
                    key,
                    loc: kloc,
                    value,
                }) = entries.into_iter().next()
                else {
                    return Ok(fallback);
                };
                match (key.as_str(), value) {
                    ("json", TValue::Str(t)) => {
                        CaptureSource::JsonPath(JsonPathSpec::parse(t.src, t.loc))
                    }
                    ("header", TValue::Str(t)) => CaptureSource::Header(t.src),
                    ("regex", TValue::Str(t)) => {
                        CaptureSource::Regex(RegexSpec::parse(t.src, t.loc))
                    }
                    ("status", TValue::Bool(true, _)) => CaptureSource::Status,
                    ("body", TValue::Bool(true, _)) => CaptureSource::Body,
                    ("cookie", TValue::Str(t)) => CaptureSource::Cookie(t.src),
                    (k, _) => {
                        let hint = did_you_mean(
                            k,
                            ["json", "header", "regex", "status", "body", "cookie"],
                        )
                        .map(|s| format!("did you mean `{s}`?"))
                        .unwrap_or_else(|| CAPTURE_HINT.into());
                        sink::report(
                            kloc,
                            k.chars().count().max(1),
                            format!("unknown capture `{k}`"),
                            Some(hint),
                        );
                        return Ok(fallback);
                    }
                }
            }
            other => {
                sink::report(
                    other.loc(),
                    1,
                    "a capture takes one source",
                    Some(CAPTURE_HINT.into()),
                );
                return Ok(fallback);
            }
        };
        Ok(Capture { loc, source })
    }
}
