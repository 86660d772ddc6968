//! Assertions (`expect`, `retry.until`) and captures, in the file format.

use std::sync::Arc;

use serde::{Deserialize, Deserializer};

use super::sink;
use super::values::{JsonPathSpec, RegexSpec, TEntry, TValue, Tpl};
use crate::diagnostic::{Loc, did_you_mean};

/// What a response must look like. Every assertion is checked and every failure reported.
#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// A code (`200`), a list (`[200, 201]`) or a class (`2xx`).
    pub status: Option<StatusExpect>,
    /// JSONPath -> a value (equality) or a matcher map.
    #[serde(default)]
    pub json: JsonAssertions,
    /// Header name -> a value or a matcher map (names are case-insensitive).
    #[serde(default)]
    pub headers: HeaderAssertions,
    /// A matcher over the body as text.
    pub body: Option<Matcher>,
    /// A matcher over the response time in milliseconds.
    pub time_ms: Option<Matcher>,
    /// A JSON Schema (a file path relative to the scenario, or inline).
    pub schema: Option<SchemaSpec>,
}

impl Expect {
    pub fn is_empty(&self) -> bool {
        self.status.is_none()
            && self.json.0.is_empty()
            && self.headers.0.is_empty()
            && self.body.is_none()
            && self.time_ms.is_none()
            && self.schema.is_none()
    }
}

/// Accepted status codes.
#[derive(Debug, Clone)]
pub struct StatusExpect {
    pub loc: Loc,
    pub accepted: Vec<StatusPattern>,
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
        TValue::Num(n, _) => n
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
        let items: Vec<&TValue> = match &v {
            TValue::Seq(items, _) => items.iter().collect(),
            other => vec![other],
        };
        let mut accepted = Vec::new();
        for item in items {
            match status_pattern(item) {
                Some(p) => accepted.push(p),
                None => sink::report(
                    item.loc(),
                    1,
                    format!("`{}` is not a status code", short(item)),
                    Some(STATUS_HINT.into()),
                ),
            }
        }
        Ok(StatusExpect { loc, accepted })
    }
}

fn short(v: &TValue) -> String {
    match v {
        TValue::Str(t) => t.src.clone(),
        TValue::Num(n, _) => n.to_string(),
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
                    out.push((JsonPathSpec::parse(key, loc), Matcher::from_value(value)));
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
}

/// A value (equality) or a map of checks that must all hold.
#[derive(Debug, Clone)]
pub struct Matcher {
    pub loc: Loc,
    pub checks: Vec<Check>,
}

pub const MATCHER_NAMES: [&str; 13] = [
    "equals", "not", "exists", "type", "length", "contains", "one_of", "matches", "lt", "lte",
    "gt", "gte", "each",
];

impl Matcher {
    /// A mapping whose keys include a matcher name is a matcher; anything else is
    /// compared for equality (write `{equals: {...}}` to compare a whole object).
    pub fn from_value(v: TValue) -> Matcher {
        let loc = v.loc();
        let entries = match v {
            TValue::Map(entries, _)
                if entries
                    .iter()
                    .any(|e| MATCHER_NAMES.contains(&e.key.as_str())) =>
            {
                entries
            }
            other => {
                return Matcher {
                    loc,
                    checks: vec![Check::Equals(other)],
                };
            }
        };
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
                        bad(&other, "`exists` takes true or false");
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
                    TValue::Seq(..) => Check::OneOf(value),
                    TValue::Str(ref t) if !t.is_literal() => Check::OneOf(value),
                    other => {
                        bad(
                            &other,
                            "`one_of` takes a list, e.g. one_of: [active, archived]",
                        );
                        continue;
                    }
                },
                "matches" => match value {
                    TValue::Str(t) => Check::Matches(RegexSpec::parse(t.src, t.loc)),
                    other => {
                        bad(&other, "`matches` takes a regex string");
                        continue;
                    }
                },
                "lt" => Check::Lt(value),
                "lte" => Check::Lte(value),
                "gt" => Check::Gt(value),
                "gte" => Check::Gte(value),
                "each" => Check::Each(Box::new(Matcher::from_value(value))),
                other => {
                    let hint = did_you_mean(other, MATCHER_NAMES)
                        .map(|s| format!("did you mean `{s}`?"))
                        .unwrap_or_else(|| format!("matchers: {}", MATCHER_NAMES.join(", ")));
                    sink::report(
                        kloc,
                        other.chars().count(),
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

    /// Every string in the matcher's values.
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
                Check::Not(m) | Check::Length(m) | Check::Each(m) => m.strings_mut(out),
                Check::Exists(_) | Check::Type(_) | Check::Matches(_) => {}
            }
        }
    }
}

fn bad(v: &TValue, hint: &str) {
    sink::report(
        v.loc(),
        1,
        format!("{} is not allowed here", v.kind_name()),
        Some(hint.into()),
    );
}

impl<'de> Deserialize<'de> for Matcher {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Matcher::from_value(TValue::deserialize(d)?))
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
                    "`schema` takes a file path or an inline JSON Schema mapping",
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

/// Where a captured value comes from.
#[derive(Debug, Clone)]
pub enum CaptureSource {
    JsonPath(JsonPathSpec),
    Header(String),
    Regex(RegexSpec),
    Status,
    Body,
}

/// A value kept from a response under a name.
#[derive(Debug, Clone)]
pub struct Capture {
    pub loc: Loc,
    pub source: CaptureSource,
}

const CAPTURE_HINT: &str = "write `$.path`, {json: $.path}, {header: Name}, {regex: pattern}, {status: true} or {body: true}";

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
                        Some(CAPTURE_HINT.into()),
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
                    (k, _) => {
                        let hint = did_you_mean(k, ["json", "header", "regex", "status", "body"])
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
