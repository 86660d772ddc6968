//! Leaf values of the file format: templated strings, templated YAML values,
//! durations, JSONPaths and regexes, each remembering where it was written.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use schemars::{Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use super::sink;
use crate::diagnostic::Loc;
pub use crate::template::tpl::{Compiled, TEntry, TValue, Tpl, has_template_syntax};

impl<'de> Deserialize<'de> for Tpl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s: Spanned<String> = Spanned::deserialize(d)?;
        Ok(Tpl::new(s.value, s.referenced.into()))
    }
}

/// A [`TValue`] without its own position (filled in from the span wrapper).
enum RawValue {
    Null,
    Bool(bool),
    Num(serde_json::Number),
    Str(String),
    Seq(Vec<TValue>),
    Map(Vec<TEntry>),
}

impl<'de> Deserialize<'de> for RawValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_unit<E>(self) -> Result<RawValue, E> {
                Ok(RawValue::Null)
            }
            fn visit_none<E>(self) -> Result<RawValue, E> {
                Ok(RawValue::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<RawValue, D::Error> {
                RawValue::deserialize(d)
            }
            fn visit_bool<E>(self, b: bool) -> Result<RawValue, E> {
                Ok(RawValue::Bool(b))
            }
            fn visit_i64<E>(self, n: i64) -> Result<RawValue, E> {
                Ok(RawValue::Num(n.into()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<RawValue, E> {
                Ok(RawValue::Num(n.into()))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<RawValue, E> {
                serde_json::Number::from_f64(n)
                    .map(RawValue::Num)
                    .ok_or_else(|| E::custom("numbers must be finite (no .nan or .inf)"))
            }
            fn visit_str<E>(self, s: &str) -> Result<RawValue, E> {
                Ok(RawValue::Str(s.to_owned()))
            }
            fn visit_string<E>(self, s: String) -> Result<RawValue, E> {
                Ok(RawValue::Str(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawValue, A::Error> {
                let mut items = Vec::new();
                while let Some(v) = seq.next_element::<TValue>()? {
                    items.push(v);
                }
                Ok(RawValue::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawValue, A::Error> {
                let mut entries: Vec<TEntry> = Vec::new();
                while let Some(k) = map.next_key::<Spanned<String>>()? {
                    let value = map.next_value::<TValue>()?;
                    entries.push(TEntry {
                        key: k.value,
                        loc: k.referenced.into(),
                        value,
                    });
                }
                Ok(RawValue::Map(entries))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for TValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s: Spanned<RawValue> = Spanned::deserialize(d)?;
        let loc: Loc = s.referenced.into();
        Ok(match s.value {
            RawValue::Null => TValue::Null(loc),
            RawValue::Bool(b) => TValue::Bool(b, loc),
            RawValue::Num(n) => {
                if n.is_f64() {
                    inexact_literal(&n, &s.referenced, loc);
                }
                let written = written_number(&s.defined, &n);
                TValue::Num(n, loc, written)
            }
            RawValue::Str(st) => TValue::Str(Tpl::new(st, loc)),
            RawValue::Seq(v) => TValue::Seq(v, loc),
            RawValue::Map(m) => TValue::Map(m, loc),
        })
    }
}

/// A number or boolean scalar as written in the file (`2.10`, `0o17`, `True`), not as
/// YAML reads it (`2.1`, `15`, `true`): what a text field sends must be what the file
/// says. `defined`: an alias (`*v`) points at the scalar it names. `fallback` is the
/// value's own text, for when the file's text cannot be had.
pub(super) fn written_text(defined: &serde_saphyr::Location, fallback: String) -> String {
    let span = defined.span();
    span.byte_offset()
        .zip(span.byte_len())
        .and_then(|(offset, len)| sink::source_slice(offset, len))
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .unwrap_or(fallback)
}

/// How the file wrote a number, when that is not how the number prints (`1.10`
/// for 1.1, `1e3` for 1000.0): kept for text comparisons.
fn written_number(defined: &serde_saphyr::Location, n: &serde_json::Number) -> Option<Arc<str>> {
    let shown = n.to_string();
    let written = written_text(defined, shown.clone());
    (written != shown).then(|| Arc::from(written))
}

/// A number literal that a 64-bit float cannot hold exactly
/// (`1000000000000000000001`, `0.10000000000000001`) would be sent or compared as
/// another number: a file error, never a silently different value.
fn inexact_literal(n: &serde_json::Number, at: &serde_saphyr::Location, loc: Loc) {
    use crate::number::Decimal;
    let span = at.span();
    let (Some(offset), Some(len)) = (span.byte_offset(), span.byte_len()) else {
        return;
    };
    let Some(written) = sink::source_slice(offset, len) else {
        return;
    };
    let (Some(exact), Some(held)) = (Decimal::parse(&written), Decimal::of_number(n)) else {
        return;
    };
    if exact != held {
        sink::report(
            loc,
            written.trim().chars().count(),
            format!(
                "the number `{}` has more digits than a scenario file can hold exactly (it would be read as {n})",
                written.trim()
            ),
            Some(
                "integers are exact up to 18446744073709551615 and decimals up to 15 significant digits; \
                 compare a longer number as text, e.g. `matches: \"^1000000000000000000001$\"`"
                    .into(),
            ),
        );
    }
}

/// A duration written as `250ms`, `2s`, `1m` or `1h`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DurationSpec(pub Duration);

/// Parse `250ms`, `2s`, `1.5s`, `1m`, `1h`: the one grammar of the `duration-text` crate,
/// which the mock's flags share.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    duration_text::parse(text).map_err(|e| e.to_string())
}

pub const DURATION_HINT: &str = duration_text::HINT;

impl<'de> Deserialize<'de> for DurationSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s: Spanned<String> = Spanned::deserialize(d)?;
        match parse_duration(&s.value) {
            Ok(dur) => Ok(DurationSpec(dur)),
            Err(msg) => {
                sink::report(
                    s.referenced.into(),
                    s.value.chars().count(),
                    format!("invalid duration: {msg}"),
                    Some(DURATION_HINT.into()),
                );
                // A stand-in no later check objects to (a zero timeout would be a
                // second, false problem): the file is checked on, and refused anyway.
                Ok(DurationSpec(Duration::from_secs(1)))
            }
        }
    }
}

/// A JSONPath (RFC 9535), parsed once when the file loads.
#[derive(Clone, Debug)]
pub struct JsonPathSpec {
    pub src: String,
    pub loc: Loc,
    pub path: Option<Arc<serde_json_path::JsonPath>>,
    /// A path with `{{ }}` in it (`$.errors[{{ i }}].id`): rendered, then parsed,
    /// when the step runs; `path` is `None` then.
    pub template: Option<Tpl>,
}

impl JsonPathSpec {
    /// Parse, reporting a problem at `loc` when the text is not a JSONPath.
    pub fn parse(src: String, loc: Loc) -> Self {
        // The parser's time doubles with each nested `[` or `(` (found by the
        // `jsonpath_assert` fuzz target: 40 unclosed `[?@.` never returned).
        if nesting_depth(&src) > MAX_JSONPATH_NESTING {
            sink::report(
                loc,
                src.chars().count(),
                format!(
                    "invalid JSONPath `{src}`: brackets and parentheses nest more than {MAX_JSONPATH_NESTING} deep"
                ),
                Some("split the check into simpler paths, e.g. $.items[?@.kind == 'a'].id".into()),
            );
            return JsonPathSpec {
                src,
                loc,
                path: None,
                template: None,
            };
        }
        let path = match parse_jsonpath(&src) {
            Ok(p) => Some(Arc::new(p)),
            Err(e) => {
                let opens = src.matches('[').count();
                let closes = src.matches(']').count();
                let hint = if !src.starts_with('$') {
                    format!(
                        "a JSONPath starts with `$`, e.g. `$.{}`",
                        src.trim_start_matches('.')
                    )
                } else if opens > closes {
                    "a `[` is not closed, e.g. $.items[0] or $.items[*].id".to_string()
                } else if let Some(fixed) = bracket_odd_names(&src) {
                    format!(
                        "names with characters other than letters, digits and _ take brackets: `{fixed}`"
                    )
                } else {
                    "JSONPath as in RFC 9535, e.g. $.items[0].id, $.items[*].id or $['odd key']"
                        .to_string()
                };
                let detail = e;
                let message = if detail.is_empty() || detail == "parser error" {
                    format!("invalid JSONPath `{src}`")
                } else {
                    format!("invalid JSONPath `{src}`: {detail}")
                };
                sink::report(loc, src.chars().count(), message, Some(hint));
                None
            }
        };
        JsonPathSpec {
            src,
            loc,
            path,
            template: None,
        }
    }

    /// Like [`JsonPathSpec::parse`], but a path holding a template is kept to be
    /// rendered when the step runs.
    pub fn parse_templated(src: String, loc: Loc) -> Self {
        if !has_template_syntax(&src) {
            return JsonPathSpec::parse(src, loc);
        }
        if !src.trim_start().starts_with('$') {
            sink::report(
                loc,
                src.chars().count(),
                format!("invalid JSONPath `{src}`"),
                Some("a JSONPath starts with `$`, e.g. `$.errors[{{ i }}].id`".into()),
            );
        }
        let template = Some(Tpl::new(src.clone(), loc));
        JsonPathSpec {
            src,
            loc,
            path: None,
            template,
        }
    }
}

/// Parse a JSONPath rendered from a template, once per distinct text.
pub fn jsonpath_rendered(text: &str) -> Result<Arc<serde_json_path::JsonPath>, String> {
    static CACHE: std::sync::Mutex<
        Option<std::collections::HashMap<String, Arc<serde_json_path::JsonPath>>>,
    > = std::sync::Mutex::new(None);
    if let Ok(guard) = CACHE.lock()
        && let Some(p) = guard.as_ref().and_then(|m| m.get(text))
    {
        return Ok(p.clone());
    }
    if nesting_depth(text) > MAX_JSONPATH_NESTING {
        return Err(format!(
            "brackets and parentheses nest more than {MAX_JSONPATH_NESTING} deep"
        ));
    }
    let p = Arc::new(parse_jsonpath(text).map_err(|e| {
        if e.is_empty() {
            "not a JSONPath".to_string()
        } else {
            e
        }
    })?);
    if let Ok(mut guard) = CACHE.lock() {
        let m = guard.get_or_insert_with(Default::default);
        // Bounded: rendered paths may hold captured values.
        if m.len() >= 4096 {
            m.clear();
        }
        m.insert(text.to_string(), p.clone());
    }
    Ok(p)
}

/// serde_json_path's parse, minus its panics: it panics ("unreachable") on a
/// `\u` escape cut short (found by the `jsonpath_assert` fuzz target), so such
/// escapes are refused first, and any other panic becomes an error.
fn parse_jsonpath(src: &str) -> Result<serde_json_path::JsonPath, String> {
    if let Some(bad) = unfinished_unicode_escape(src) {
        return Err(format!(
            "`{bad}` is not a \\u escape: write \\u and 4 hex digits"
        ));
    }
    match std::panic::catch_unwind(|| serde_json_path::JsonPath::parse(src)) {
        Ok(Ok(p)) => Ok(p),
        Ok(Err(e)) => Err(e.message().to_string()),
        Err(_) => Err(String::new()),
    }
}

/// A `\u` inside a quoted name that is not followed by 4 hex digits.
fn unfinished_unicode_escape(src: &str) -> Option<String> {
    let chars: Vec<char> = src.chars().collect();
    let mut quote: Option<char> = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match quote {
            None if c == '\'' || c == '"' => quote = Some(c),
            None => {}
            Some(q) if c == q => quote = None,
            Some(_) if c == '\\' => {
                if chars.get(i + 1) == Some(&'u') {
                    let digits: String = chars.iter().skip(i + 2).take(4).collect();
                    if digits.len() < 4 || !digits.chars().all(|d| d.is_ascii_hexdigit()) {
                        return Some(format!("\\u{digits}"));
                    }
                }
                i += 1;
            }
            Some(_) => {}
        }
        i += 1;
    }
    None
}

/// Deeper nesting of `[` and `(` than this in a JSONPath is refused unparsed.
const MAX_JSONPATH_NESTING: usize = 8;

/// The characters of a JSONPath outside its quoted names (the quotes left out too).
pub fn outside_quotes(src: &str) -> impl Iterator<Item = char> + '_ {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    src.chars().filter(move |&c| {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            return false;
        }
        if c == '\'' || c == '"' {
            quote = Some(c);
            return false;
        }
        true
    })
}

/// How deep `[` and `(` nest in `src`, quoted strings left out; an unclosed
/// one counts as open to the end.
fn nesting_depth(src: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    for c in outside_quotes(src) {
        match c {
            '[' | '(' => {
                depth += 1;
                max = max.max(depth);
            }
            ']' | ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// `$.headers.content-type` written as `$.headers['content-type']`, when that parses.
fn bracket_odd_names(src: &str) -> Option<String> {
    let rest = src.strip_prefix('$')?;
    if rest.contains('[') || rest.contains('\'') || rest.contains('"') {
        return None;
    }
    let mut out = String::from("$");
    for seg in rest.split('.').skip(1) {
        if seg.is_empty() {
            return None;
        }
        let plain = seg
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
            && seg.chars().all(|c| c.is_alphanumeric() || c == '_');
        if plain || seg == "*" {
            out.push('.');
            out.push_str(seg);
        } else {
            out.push_str(&format!("['{seg}']"));
        }
    }
    (out != src && serde_json_path::JsonPath::parse(&out).is_ok()).then_some(out)
}

impl<'de> Deserialize<'de> for JsonPathSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s: Spanned<String> = Spanned::deserialize(d)?;
        Ok(JsonPathSpec::parse(s.value, s.referenced.into()))
    }
}

/// A regular expression, compiled once when the file loads.
#[derive(Clone, Debug)]
pub struct RegexSpec {
    pub src: String,
    pub loc: Loc,
    pub regex: Option<regex::Regex>,
    /// A regex with `{{ }}` in it (`^{{ year }}-`): rendered, then compiled, when
    /// the step runs; `regex` is `None` then.
    pub template: Option<Tpl>,
}

thread_local! {
    /// Regexes compiled on this loader thread, by source: a suite repeats the
    /// same few patterns across thousands of steps.
    static COMPILED_REGEXES: std::cell::RefCell<std::collections::HashMap<String, regex::Regex>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

fn compile_regex(src: &str) -> Result<regex::Regex, regex::Error> {
    if let Some(r) = COMPILED_REGEXES.with(|c| c.borrow().get(src).cloned()) {
        return Ok(r);
    }
    let r = regex::RegexBuilder::new(src).size_limit(1 << 20).build()?;
    COMPILED_REGEXES.with(|c| {
        let mut cache = c.borrow_mut();
        // Bounded: a file of distinct patterns should not grow this forever.
        if cache.len() >= 4096 {
            cache.clear();
        }
        cache.insert(src.to_string(), r.clone());
    });
    Ok(r)
}

impl RegexSpec {
    pub fn parse(src: String, loc: Loc) -> Self {
        let regex = match compile_regex(&src) {
            Ok(r) => Some(r),
            Err(e) => {
                let detail = e.to_string();
                let last = detail
                    .lines()
                    .last()
                    .unwrap_or("invalid")
                    .trim()
                    .trim_start_matches("error: ")
                    .to_string();
                let hint = match last.as_str() {
                    "unclosed group" => {
                        "close the `(` with `)`, or write `\\(` to match a parenthesis"
                    }
                    "unclosed character class" => {
                        "close the `[` with `]`, or write `\\[` to match a bracket"
                    }
                    "repetition operator missing expression" => {
                        "`*`, `+` and `?` repeat what comes before them; write `\\*` to match the character"
                    }
                    "unopened group" => "a `)` has no `(`; write `\\)` to match a parenthesis",
                    _ => {
                        "regex syntax: https://docs.rs/regex/#syntax (write `\\` before `.()[]*+?` to match them)"
                    }
                };
                sink::report(
                    loc,
                    src.chars().count(),
                    format!("invalid regex `{src}`: {last}"),
                    Some(hint.into()),
                );
                None
            }
        };
        RegexSpec {
            src,
            loc,
            regex,
            template: None,
        }
    }

    /// Like [`RegexSpec::parse`], but a regex holding a template is kept to be
    /// rendered when the step runs (a regex's own `{2}` is not a template).
    pub fn parse_templated(src: String, loc: Loc) -> Self {
        if !has_template_syntax(&src) {
            return RegexSpec::parse(src, loc);
        }
        let template = Some(Tpl::new(src.clone(), loc));
        RegexSpec {
            src,
            loc,
            regex: None,
            template,
        }
    }
}

/// Compile a regex rendered from a template, once per distinct text.
pub fn regex_rendered(text: &str) -> Result<regex::Regex, String> {
    compile_regex(text).map_err(|e| {
        e.to_string()
            .lines()
            .last()
            .unwrap_or("invalid")
            .trim()
            .trim_start_matches("error: ")
            .to_string()
    })
}

// JSON Schema of the leaf values: what an editor shows and checks while typing.

impl schemars::JsonSchema for Tpl {
    fn schema_name() -> Cow<'static, str> {
        "Text".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": ["string", "number", "boolean"],
            "description": "Text. It may hold template code: `{{ name }}`, `{{ uuid() }}`, `{{ value | b64encode }}`. Quote a value that starts with `{{`.",
            "examples": ["/v1/projects/{{ project_id }}"]
        })
    }
}

impl schemars::JsonSchema for TValue {
    fn schema_name() -> Cow<'static, str> {
        "Value".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Any YAML value (text, number, true/false, null, list, mapping); text in it may hold `{{ template }}` code.",
            "examples": ["{{ project_id }}", 10, {"name": "smoke"}]
        })
    }
}

/// What `parse_duration` accepts.
pub const DURATION_PATTERN: &str = duration_text::PATTERN;

impl schemars::JsonSchema for DurationSpec {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": DURATION_PATTERN,
            "description": "A duration: a number and a unit, ms, s, m or h.",
            "examples": ["250ms", "2s", "1.5s", "1m"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn the_schema_pattern_accepts_what_the_parser_accepts() {
        let re = regex::Regex::new(DURATION_PATTERN).unwrap_or_else(|e| panic!("{e}"));
        for ok in ["250ms", "2s", "1.5s", "1m", "1h", ".5s", " 3 s "] {
            assert!(re.is_match(ok), "{ok}");
            assert!(parse_duration(ok).is_ok(), "{ok}");
        }
        for bad in ["10", "5 parsecs", "", "s", "1.2.3s"] {
            assert!(!re.is_match(bad), "{bad}");
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn odd_names_get_a_bracketed_suggestion() {
        assert_eq!(
            bracket_odd_names("$.headers.content-type").as_deref(),
            Some("$.headers['content-type']")
        );
        assert_eq!(bracket_odd_names("$.a.b"), None);
        assert_eq!(bracket_odd_names("$['x'].y-z"), None);
    }

    #[test]
    fn unfinished_unicode_escapes_are_errors_not_panics() {
        for src in [r#"$["C\u"#, r#"$["C\u12"]"#, r#"$['\u']"#, r#"$["\uZZZZ"]"#] {
            let p = JsonPathSpec::parse(src.to_string(), Loc::UNKNOWN);
            assert!(p.path.is_none(), "{src}");
        }
        let problems = sink::drain();
        assert!(
            problems
                .iter()
                .all(|p| p.message.contains("is not a \\u escape")),
            "{problems:?}"
        );
        let ok = JsonPathSpec::parse(r#"$["caf\u00e9"]"#.to_string(), Loc::UNKNOWN);
        assert!(ok.path.is_some());
    }

    #[test]
    fn deeply_nested_jsonpaths_are_refused_before_parsing() {
        assert_eq!(nesting_depth("$.a[?@.b[?@.c == ']]]['].d)]"), 2);
        let ok = JsonPathSpec::parse("$.items[?@.tags[?@ == 'x']].id".into(), Loc::UNKNOWN);
        assert!(ok.path.is_some());
        let deep = JsonPathSpec::parse(format!("$.a{}", "[?@.b".repeat(40)), Loc::UNKNOWN);
        assert!(deep.path.is_none());
        let problems = sink::drain();
        assert!(
            problems
                .iter()
                .any(|p| p.message.contains("nest more than 8 deep")),
            "{problems:?}"
        );
    }

    #[test]
    fn single_expression_is_recognised() {
        let t = Tpl::new("{{ project_id }}", Loc::UNKNOWN);
        assert_eq!(t.single_expression(), Some("project_id"));
        let t = Tpl::new("a-{{ x }}", Loc::UNKNOWN);
        assert_eq!(t.single_expression(), None);
        let t = Tpl::new("{{ a }}{{ b }}", Loc::UNKNOWN);
        assert_eq!(t.single_expression(), None);
    }
}
