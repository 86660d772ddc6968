//! YAML and shape errors from the parser, in words a scenario writer reads:
//! which key, what it takes, what was written instead, and what to do.
//!
//! serde-saphyr reports a position and a Rust-flavoured message ("invalid u32",
//! "expected sequence start", "unknown field ..., expected one of ..."). Here each
//! kind of error becomes a [`Diagnostic`] that names the key from the source text,
//! underlines the offending token and suggests a fix.

use std::path::Path;

use serde_saphyr::Error as E;
use serde_saphyr::budget::BudgetBreach;

use crate::diagnostic::{Diagnostic, Loc, did_you_mean};

/// How each mapping of the format is called in messages, by the schema definition
/// it belongs to (`ScenarioDoc` is the file itself, `IncludeMap` an included file).
/// Their keys are not listed here: they come from the schema generated from the
/// model types. The order is the order "`x` goes in ..." hints look in.
const SECTION_NAMES: &[(&str, &str)] = &[
    ("ScenarioDoc", "the scenario"),
    ("StepDoc", "a step"),
    ("RequestDoc", "`request`"),
    ("Expect", "`expect`"),
    ("Retry", "`retry`"),
    ("WaitWebhook", "`wait_webhook`"),
    ("FilePart", "a multipart file part"),
    ("BytesExpect", "`bytes`"),
    ("MatcherChecks", "a matcher"),
    ("Capture", "a capture"),
    ("CookieAssertions", "a cookie's attributes"),
    ("IncludeMap", "an included file"),
];

/// A mapping of the format and the keys it takes.
#[derive(Debug)]
pub struct Section {
    /// The schema definition it comes from.
    pub definition: String,
    /// How messages call it ("`request`").
    pub name: &'static str,
    pub keys: Vec<String>,
}

/// Every mapping of the format with its keys, derived from the model's schema once
/// per process (only when a file has a key error).
pub fn sections() -> &'static [Section] {
    static SECTIONS: std::sync::OnceLock<Vec<Section>> = std::sync::OnceLock::new();
    SECTIONS.get_or_init(|| {
        let mut found =
            crate::schema::object_keys(&crate::schema::scenario_schema(), "ScenarioDoc");
        found.extend(
            crate::schema::object_keys(
                &crate::schema::schema_of::<super::include::IncludeMap>(),
                "IncludeMap",
            )
            .into_iter()
            .filter(|(owner, _)| owner == "IncludeMap"),
        );
        let rank = |owner: &str| {
            SECTION_NAMES
                .iter()
                .position(|(d, _)| *d == owner)
                .unwrap_or(SECTION_NAMES.len())
        };
        found.sort_by_key(|(owner, _)| rank(owner));
        found
            .into_iter()
            .map(|(definition, keys)| Section {
                name: SECTION_NAMES
                    .iter()
                    .find(|(d, _)| *d == definition)
                    .map_or("this mapping", |(_, n)| *n),
                definition,
                keys,
            })
            .collect()
    })
}

/// The section whose keys serde listed as expected: the one whose keys are most
/// like them (shared keys over all keys of both), so a list with a key the schema
/// does not know yet still finds its section.
fn section_of(expected: &[&str]) -> &'static str {
    let mut best: Option<(&'static str, usize, usize)> = None;
    for s in sections() {
        let shared = expected
            .iter()
            .filter(|k| s.keys.iter().any(|x| x == *k))
            .count();
        let all = s.keys.len() + expected.len() - shared;
        // shared/all > best_shared/best_all, without floating point.
        let better = match best {
            None => shared > 0,
            Some((_, bs, ba)) => shared * ba > bs * all,
        };
        if better {
            best = Some((s.name, shared, all));
        }
    }
    best.map_or("this mapping", |(name, _, _)| name)
}

/// Where a key that is unknown here would be valid, for "`status` goes under `expect`".
fn home_of(key: &str, here: &str) -> Option<&'static str> {
    sections()
        .iter()
        .find(|s| s.name != here && s.keys.iter().any(|k| k == key))
        .map(|s| s.name)
}

/// What a key that must be given looks like, by key.
fn missing_key_help(field: &str) -> (&'static str, String) {
    match field {
        "url" => ("`request`", "add `url:`, e.g. `url: /v1/whoami`".into()),
        "until" => (
            "`retry`",
            "add `until:` with the condition to wait for, e.g. `until: { status: 200 }`".into(),
        ),
        "file" => (
            "a multipart file part",
            "add `file:` with a path relative to the scenario file".into(),
        ),
        "steps" => (
            "an included file",
            "add `steps:` with a list of steps".into(),
        ),
        _ => ("this mapping", format!("add `{field}:` here")),
    }
}

/// How to write a key's value, by key; the hint when the value has the wrong type.
fn example_of(key: &str) -> Option<&'static str> {
    Some(match key {
        "retries" => "e.g. `retries: 2` (0 turns transport retries off)",
        "attempts" => "e.g. `attempts: 10`",
        "backoff" => "e.g. `backoff: 1.5` (each pause 1.5 times the one before)",
        "steps" | "finally" => {
            "write one step per `- ` line, e.g. `- request: { url: /v1/whoami }`"
        }
        "scenarios" => "write one scenario per `- ` entry, e.g. `- name: ...` with its `steps:`",
        "headers" => "write `Name: value` lines, e.g. `X-Api-Key: \"{{ env.LAYERS_API_KEY }}\"`",
        "vars" | "with" => "write `name: value` lines, e.g. `project_name: smoke`",
        "query" => "write `parameter: value` lines, e.g. `limit: 10`",
        "tags" | "secrets" | "allow_cost" => "write a list, e.g. `[smoke, projects]`",
        "locks" => "write a list of lock names, e.g. `[account-settings]`",
        "matrix" => "write a list of values per name, e.g. `plan: [free, pro]`",
        "request" => "write a mapping with `url:` and, optionally, `method:`, `headers:`, `json:`",
        "expect" | "until" => "e.g. `status: 200` and `json: { $.id: { exists: true } }`",
        "capture" => "write `name: JSONPath` lines, e.g. `project_id: $.id`",
        "retry" => "write a mapping with `until:`, `attempts:` and `interval:`",
        "wait_webhook" => "write a mapping with `event:` and `within:`",
        "form" | "multipart" => "write `field: value` lines",
        "name" | "description" | "skip" | "url" | "method" | "body" | "base_url" | "include"
        | "event" | "secret" | "body_file" | "filename" | "content_type" | "body_base64"
        | "body_hex" | "sha256" | "md5" => {
            "write text; quote it if it starts with `{`, `[`, `*`, `&`, `!` or `%`"
        }
        _ => return None,
    })
}

/// Turn a parser or shape error into a diagnostic with a hint.
pub fn yaml_error(path: &Path, text: &str, e: &E) -> Diagnostic {
    let (e, loc) = innermost(e);
    let src = Source::new(text, loc);
    match e {
        E::SerdeUnknownField {
            field, expected, ..
        } => unknown_key(path, loc, field, expected),
        E::SerdeMissingField { field, .. } => {
            let (section, hint) = missing_key_help(field);
            let loc = src.owner_key_loc().unwrap_or(loc);
            let width = Source::new(text, loc).token_width();
            Diagnostic::new(path, loc, format!("missing key `{field}` in {section}"))
                .width(width)
                .hint(hint)
        }
        E::DuplicateMappingKey { key, .. } => {
            let key = key.clone().unwrap_or_else(|| src.key_on_line());
            Diagnostic::new(path, loc, format!("duplicate key `{key}`"))
                .width(key.chars().count())
                .hint("each key may appear once in a mapping; remove or rename one")
        }
        E::Budget {
            breach: BudgetBreach::Documents { .. },
            ..
        }
        | E::MultipleDocuments { .. } => {
            Diagnostic::new(path, loc, "more than one YAML document in the file")
                .width(3)
                .hint("one scenario per file, or several under `scenarios:`; remove the `---`")
        }
        E::Budget {
            breach: BudgetBreach::Depth { .. },
            ..
        } => too_deep(path, &src),
        E::Budget {
            breach:
                BudgetBreach::Nodes { .. }
                | BudgetBreach::Events { .. }
                | BudgetBreach::ScalarBytes { .. }
                | BudgetBreach::InputBytes { .. },
            ..
        } => Diagnostic::new(
            path,
            loc,
            format!(
                "the file holds more than {} values (keys, items, texts), more than the loader accepts",
                super::read::MAX_NODES
            ),
        )
        .width(src.token_width())
        .hint("split the suite into several files"),
        E::Budget { .. }
        | E::AliasReplayCounterOverflow { .. }
        | E::AliasReplayLimitExceeded { .. }
        | E::AliasExpansionLimitExceeded { .. }
        | E::AliasReplayStackDepthExceeded { .. } => Diagnostic::new(
            path,
            loc,
            "the file's aliases (`*name`) expand to too much data",
        )
        .width(src.token_width())
        .hint("this looks like an alias bomb; write the values out instead of nesting aliases"),
        E::UnknownAnchor { .. } => Diagnostic::new(
            path,
            loc,
            "alias to an anchor that is not defined",
        )
        .width(src.token_width())
        .hint("define `&name` before using `*name`, or quote the value if `*` is meant as text"),
        E::InvalidScalar { ty, .. } => wrong_type(path, &src, scalar_kind(ty)),
        E::InvalidBooleanStrict { .. } => wrong_type(path, &src, "true or false"),
        E::NonFiniteFloat { .. } => Diagnostic::new(path, loc, "numbers must be finite")
            .width(src.token_width())
            .hint("write a number such as 1.5; quote `.nan` or `.inf` if it is text"),
        E::NullIntoString { .. } => {
            let key = src.owner_key().unwrap_or_else(|| "this key".into());
            Diagnostic::new(path, loc, format!("`{key}` has no value"))
                .width(key.chars().count())
                .hint(match example_of(&key) {
                    Some(ex) => ex.to_string(),
                    None => "write a value after the `:`, or remove the key".into(),
                })
        }
        E::Unexpected { expected, .. } => match *expected {
            "string scalar" | "scalar" => {
                if src.at().starts_with("{{") {
                    unquoted_template(path, &src)
                } else {
                    wrong_type(path, &src, "text")
                }
            }
            "sequence start" => wrong_type(path, &src, "a list"),
            "mapping start" => wrong_type(path, &src, "a mapping"),
            other => generic(path, &src, &format!("expected {other}")),
        },
        E::SerdeInvalidType { expected, .. } | E::SerdeInvalidValue { expected, .. } => {
            wrong_type(path, &src, expected_kind(expected))
        }
        E::Message { msg, .. } | E::ExternalMessage { msg, .. } => scanner(path, &src, msg),
        other => {
            let raw = other.to_string();
            generic(path, &src, strip_position(&raw))
        }
    }
}

/// The error inside alias and snippet wrappers, and the position to report: where
/// the alias is used (the file's own text), not where its anchor was defined.
fn innermost(e: &E) -> (&E, Loc) {
    let mut loc: Option<Loc> = None;
    let mut cur = e;
    loop {
        match cur {
            E::WithSnippet { error, .. } => cur = error,
            E::AliasError {
                error, locations, ..
            } => {
                if loc.is_none() {
                    loc = Some(Loc::from(locations.reference_location));
                }
                cur = error;
            }
            _ => break,
        }
    }
    let loc = loc
        .filter(|l| l.is_known())
        .or_else(|| cur.location().map(Loc::from))
        .filter(|l| l.is_known())
        .unwrap_or(Loc::new(1, 1));
    (cur, loc)
}

fn unknown_key(path: &Path, loc: Loc, field: &str, expected: &[&str]) -> Diagnostic {
    let section = section_of(expected);
    let hint = match did_you_mean(field, expected.iter().copied()) {
        Some(s) => format!("did you mean `{s}`?"),
        None => match home_of(field, section) {
            Some("the scenario") => {
                format!("`{field}` goes at the top level of the scenario, not in {section}")
            }
            Some(home) => format!("`{field}` goes in {home}, not in {section}"),
            None => format!("{section} takes: {}", expected.join(", ")),
        },
    };
    Diagnostic::new(path, loc, format!("unknown key `{field}` in {section}"))
        .width(field.chars().count())
        .hint(hint)
}

/// "`retries` takes a whole number, not `many`".
fn wrong_type(path: &Path, src: &Source, takes: &str) -> Diagnostic {
    let found = src.found();
    let loc = src.loc;
    match src.owner_key() {
        // `headers: X-Api-Key: abc`: a mapping cannot start on its key's line.
        Some(key) if found == "a mapping" && takes == "a mapping" => {
            let inner = src.value_text();
            Diagnostic::new(
                path,
                loc,
                format!("the mapping under `{key}` cannot start on the same line as `{key}:`"),
            )
            .width(src.token_width())
            .hint(format!(
                "write `{key}: {{ {inner} }}`, or put `{inner}` on the next line, indented"
            ))
        }
        Some(key) if found == "nothing" => Diagnostic::new(
            path,
            src.owner_key_loc().unwrap_or(loc),
            format!("`{key}` has no value"),
        )
        .width(key.chars().count())
        .hint(example_of(&key).map_or_else(
            || format!("write {takes} after `{key}:`, or remove the key"),
            str::to_string,
        )),
        Some(key) => {
            let value = src.value_text();
            let hint = if let Some((k, v)) = missing_space(&value) {
                format!("put a space after the colon: `{k}: {v}`")
            } else if key == "request" && (value.starts_with('/') || value.starts_with("http")) {
                format!("the URL goes under `url:`: `request: {{ url: {value} }}`")
            } else {
                example_of(&key)
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("write {takes} here"))
            };
            Diagnostic::new(path, loc, format!("`{key}` takes {takes}, not {found}"))
                .width(src.token_width())
                .hint(hint)
        }
        None if takes == "a mapping" && src.is_document_start() => Diagnostic::new(
            path,
            loc,
            format!("a scenario file is a mapping of keys (name:, steps:, ...), not {found}"),
        )
        .width(src.token_width())
        .hint("start with `name: what this scenario checks` and `steps:`"),
        None => Diagnostic::new(path, loc, format!("expected {takes} here, not {found}"))
            .width(src.token_width())
            .hint("see docs/format.md for what each key takes"),
    }
}

/// `status:200`: a key and a value run together, which YAML reads as one text.
fn missing_space(value: &str) -> Option<(&str, &str)> {
    let (k, v) = value.split_once(':')?;
    let key_like = !k.is_empty()
        && k.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '$' | '.' | '[' | ']'));
    (key_like && !v.is_empty() && !v.starts_with([' ', '/'])).then_some((k, v))
}

fn unquoted_template(path: &Path, src: &Source) -> Diagnostic {
    if let Some(d) = template_inside_flow_value(path, src) {
        return d;
    }
    let value = src.value_text();
    let quoted = format!("\"{}\"", value.replace('"', "'"));
    Diagnostic::new(
        path,
        src.loc,
        "a value that starts with `{{` must be quoted",
    )
    .width(value.chars().count())
    .hint(format!(
        "YAML reads `{{` as the start of a mapping; write {quoted}"
    ))
}

/// `{ url: /v1/jobs/{{ id }} }`: a template in the middle of an unquoted value inside
/// `{ }` or `[ ]`, where YAML takes the braces for its own. The whole value wants
/// quotes, not just the template.
fn template_inside_flow_value(path: &Path, src: &Source) -> Option<Diagnostic> {
    let chars: Vec<char> = src.line_text().chars().collect();
    let at = src.col0();
    if at > chars.len() || chars.get(at..at + 2) != Some(&['{', '{']) {
        return None;
    }
    // The value starts after the nearest `: `, `, `, `{ `, `[ ` or `- ` before the
    // template (or right after a `{`, `[` or `,`).
    let mut start = at;
    while start > 0 {
        let prev = chars[start - 1];
        if matches!(prev, '{' | '[' | ',') {
            break;
        }
        if prev == ' ' && start >= 2 && matches!(chars[start - 2], ':' | ',' | '{' | '[' | '-') {
            break;
        }
        start -= 1;
    }
    let prefix: String = chars[start..at].iter().collect();
    let in_flow = chars[..start].contains(&'{') || chars[..start].contains(&'[');
    if prefix.trim().is_empty() || !in_flow || prefix.contains(['"', '\'']) {
        return None;
    }
    // Through the template's `}}`, then up to the next `,`, `}` or `]`.
    let rest: String = chars[at..].iter().collect();
    let close = rest.find("}}").map_or(rest.len(), |i| i + 2);
    let tail = rest[close..]
        .find([',', '}', ']'])
        .map_or(&rest[close..], |i| &rest[close..close + i]);
    let value = format!("{prefix}{}{}", &rest[..close], tail.trim_end());
    let loc = Loc::new(
        src.loc.line,
        u32::try_from(start + 1).unwrap_or(src.loc.col),
    );
    Some(
        Diagnostic::new(
            path,
            loc,
            "a template inside an unquoted value between `{ }` or `[ ]` must be quoted",
        )
        .width(value.chars().count())
        .hint(format!(
            "YAML reads the `{{` and `}}` as its own; quote the whole value: \"{}\"",
            value.replace('"', "'")
        )),
    )
}

/// The first syntax error of `text`, if it has one.
///
/// serde-saphyr reads events as the types ask for them and stops at the first
/// error: a line indented between two levels ends the mapping above it, so the
/// mapping is missing a key before the parser's own "did not find expected key"
/// (at the offending line) is ever read. The parser alone reads to the first
/// syntax error; such an error is the one to show.
pub fn first_syntax_error(path: &Path, text: &str, e: &E) -> Option<Diagnostic> {
    // Only errors of shape can be an early symptom of a syntax error; the
    // parser's own errors already come with their place and their own wording.
    let (inner, _) = innermost(e);
    if !matches!(
        inner,
        E::SerdeMissingField { .. }
            | E::SerdeInvalidType { .. }
            | E::SerdeInvalidValue { .. }
            | E::NullIntoString { .. }
    ) {
        return None;
    }
    // Bounded like the load itself: the loader refused oversized files already,
    // and the parser stops at the first error.
    for ev in saphyr_parser::Parser::new_from_str(text) {
        if let Err(e) = ev {
            let m = e.marker();
            let loc = Loc::new(
                u32::try_from(m.line()).unwrap_or(u32::MAX),
                u32::try_from(m.col() + 1).unwrap_or(u32::MAX),
            );
            let src = Source::new(text, loc);
            return Some(scanner(path, &src, e.info()));
        }
    }
    None
}

/// Errors of the YAML scanner, which come as text.
fn scanner(path: &Path, src: &Source, msg: &str) -> Diagnostic {
    let msg = strip_position(msg);
    let lower = msg.to_ascii_lowercase();
    if src.at().starts_with("{{") || src.line_text().contains(": {{") {
        return unquoted_template(path, src);
    }
    if lower.contains("recursion limit") || lower.contains("nesting") {
        return too_deep(path, src);
    }
    if lower.contains("tab") {
        let loc = src.first_tab().unwrap_or(src.loc);
        return Diagnostic::new(path, loc, "a tab in the indentation")
            .hint("YAML indents with spaces only; replace the tab with spaces");
    }
    if lower.contains("flow mapping") && lower.contains("'}'") {
        return unclosed(path, src, '{', '}');
    }
    if lower.contains("flow sequence") && lower.contains("']'") {
        return unclosed(path, src, '[', ']');
    }
    if lower.contains("quoted scalar") {
        return Diagnostic::new(path, src.loc, "a quoted value is never closed")
            .hint("close the quote on the same value, or escape a quote inside it");
    }
    if lower.contains("did not find expected key")
        || lower.contains("did not find expected '-'")
        || lower.contains("indentation")
        || lower.contains("indent")
    {
        return Diagnostic::new(
            path,
            src.loc,
            "bad indentation: this line does not line up with the keys above it",
        )
        .width(src.token_width())
        .hint("keys of one mapping line up in the same column; nested keys go further right");
    }
    if lower.contains("mapping values are not allowed") {
        return Diagnostic::new(path, src.loc, "a `: ` where no key can start")
            .width(1)
            .hint("quote a value that contains `: `, or check the indentation of this line");
    }
    if lower.contains("cannot start any token") || lower.contains("cannot start any plain") {
        let c = src.at().chars().next().unwrap_or('?');
        return Diagnostic::new(path, src.loc, format!("a value cannot start with `{c}`"))
            .hint("quote the value");
    }
    generic(path, src, msg)
}

fn too_deep(path: &Path, src: &Source) -> Diagnostic {
    Diagnostic::new(
        path,
        src.loc,
        format!(
            "mappings and lists nested more than {} levels deep",
            super::read::MAX_NESTING
        ),
    )
    .width(src.token_width())
    .hint("flatten the value; no request body needs this much nesting")
}

/// Point at the `{` or `[` that is never closed rather than where the parser gave up.
fn unclosed(path: &Path, src: &Source, open: char, close: char) -> Diagnostic {
    let loc = src.unmatched_open(open, close).unwrap_or(src.loc);
    Diagnostic::new(path, loc, format!("this `{open}` is never closed")).hint(format!(
        "add the `{close}`; a `{open} ... {close}` on one line is easiest to read"
    ))
}

fn generic(path: &Path, src: &Source, message: &str) -> Diagnostic {
    let message = message
        .replace("struct ", "")
        .replace("ScenarioDoc", "a scenario")
        .replace("StepDoc", "a step");
    Diagnostic::new(path, src.loc, message)
        .width(src.token_width())
        .hint("see docs/format.md for the file format")
}

fn strip_position(raw: &str) -> &str {
    match raw.rfind(" at line ") {
        Some(i) => &raw[..i],
        None => raw,
    }
}

fn scalar_kind(ty: &str) -> &'static str {
    match ty {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number (0 or more)",
        "i8" | "i16" | "i32" | "i64" | "isize" | "an integer" => "a whole number",
        "floating point" | "f32" | "f64" => "a number",
        "boolean" | "bool" => "true or false",
        _ => "another kind of value",
    }
}

/// serde's "expected ..." phrase, in the format's words.
fn expected_kind(expected: &str) -> &'static str {
    let e = expected.to_ascii_lowercase();
    if e.contains("sequence") || e.contains("seq") || e.contains("list") {
        "a list"
    } else if e.contains("map") || e.contains("struct") {
        "a mapping"
    } else if e.contains("string") || e.contains("str") {
        "text"
    } else if e.contains("u32") || e.contains("u64") || e.contains("integer") {
        "a whole number"
    } else if e.contains("f64") || e.contains("float") {
        "a number"
    } else if e.contains("bool") {
        "true or false"
    } else {
        "another kind of value"
    }
}

/// The file's text around an error position.
struct Source<'a> {
    text: &'a str,
    loc: Loc,
}

impl<'a> Source<'a> {
    fn new(text: &'a str, loc: Loc) -> Self {
        Source { text, loc }
    }

    fn line(&self, n: u32) -> &'a str {
        n.checked_sub(1)
            .and_then(|i| self.text.lines().nth(i as usize))
            .unwrap_or("")
    }

    fn line_text(&self) -> &'a str {
        self.line(self.loc.line)
    }

    fn col0(&self) -> usize {
        self.loc.col.saturating_sub(1) as usize
    }

    /// The text of the line from the error's column on.
    fn at(&self) -> &'a str {
        let line = self.line_text();
        let start = line
            .char_indices()
            .nth(self.col0())
            .map_or(line.len(), |(i, _)| i);
        &line[start..]
    }

    /// The line before the error's column.
    fn before(&self) -> &'a str {
        let line = self.line_text();
        let end = line
            .char_indices()
            .nth(self.col0())
            .map_or(line.len(), |(i, _)| i);
        &line[..end]
    }

    /// The scalar at the position, up to a comment or the end of its flow item.
    fn value_text(&self) -> String {
        let at = self.at();
        let mut end = at.len();
        if let Some(i) = at.find(" #") {
            end = end.min(i);
        }
        at[..end].trim_end().to_string()
    }

    /// How wide the token at the position is, for the carets.
    fn token_width(&self) -> usize {
        let at = self.at();
        let first = at.chars().next();
        match first {
            None => 1,
            Some('-') | Some('{') | Some('[') | Some('*') | Some('&') | Some('|') | Some('>') => 1,
            Some(q @ ('"' | '\'')) => at[1..]
                .find(q)
                .map_or(at.chars().count(), |i| at[..i + 2].chars().count()),
            Some(_) => {
                let end = at
                    .char_indices()
                    .find(|(i, c)| {
                        matches!(c, ',' | '}' | ']' | '#')
                            || (*c == ':' && at[i + 1..].starts_with([' ', '\t']))
                            || (*c == ':' && i + 1 == at.len())
                    })
                    .map_or(at.len(), |(i, _)| i);
                at[..end].trim_end().chars().count().max(1)
            }
        }
    }

    /// What is at the position, for "not ...".
    fn found(&self) -> String {
        let at = self.at();
        let trimmed = at.trim_start();
        if trimmed.starts_with(':') && trimmed[1..].trim().is_empty() {
            return "nothing".into();
        }
        if trimmed.starts_with("- ") || trimmed == "-" || trimmed.starts_with('[') {
            return "a list".into();
        }
        if trimmed.starts_with('{') {
            return "a mapping".into();
        }
        if trimmed.is_empty() || trimmed.starts_with('#') {
            return "nothing".into();
        }
        let w = self.token_width();
        let token: String = at.chars().take(w).collect();
        if token.ends_with(':') || at[token.len()..].starts_with(": ") {
            return "a mapping".into();
        }
        format!("`{token}`")
    }

    /// True when nothing but comments and blank lines come before the position.
    fn is_document_start(&self) -> bool {
        (1..self.loc.line).all(|n| {
            let t = self.line(n).trim();
            t.is_empty() || t.starts_with('#') || t == "---"
        }) && self.before().trim().is_empty()
    }

    /// The key whose value is at the position: `key:` before it on the same line,
    /// or the nearest less-indented `key:` line above a block value.
    fn owner_key(&self) -> Option<String> {
        self.owner_key_at().map(|(k, _)| k)
    }

    fn owner_key_loc(&self) -> Option<Loc> {
        self.owner_key_at().map(|(_, l)| l)
    }

    fn owner_key_at(&self) -> Option<(String, Loc)> {
        // An empty value is reported at the key's colon (`steps:` with nothing after).
        let with_colon;
        let before = if self.at().starts_with(':') {
            with_colon = format!("{}:", self.before());
            with_colon.trim_end()
        } else {
            self.before().trim_end()
        };
        if let Some(head) = before.strip_suffix(':') {
            let start = head
                .rfind(|c: char| c.is_whitespace() || matches!(c, '{' | ',' | '['))
                .map_or(0, |i| i + 1);
            let key = head[start..].trim_matches(|c| c == '"' || c == '\'');
            if !key.is_empty() {
                let col = head[..start].chars().count() as u32 + 1;
                return Some((key.to_string(), Loc::new(self.loc.line, col)));
            }
        }
        // A block value: the key is on an earlier line, indented less (or, for a
        // list written flush with its key, the same).
        let indent = self.col0();
        let only_space = before.trim().is_empty() || before.trim() == "-";
        if !only_space {
            return None;
        }
        let mut n = self.loc.line;
        while n > 1 {
            n -= 1;
            let l = self.line(n);
            let t = l.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let lead = l.len() - l.trim_start().len();
            if lead > indent {
                continue;
            }
            let item = t.trim_start_matches("- ");
            let key_part = item.split(" #").next().unwrap_or("").trim_end();
            if let Some(k) = key_part.strip_suffix(':') {
                let offset = lead + (t.len() - item.len());
                let key = k.trim_matches(|c| c == '"' || c == '\'');
                return Some((key.to_string(), Loc::new(n, offset as u32 + 1)));
            }
            return None;
        }
        None
    }

    /// The key written on the error's line (for duplicate keys).
    fn key_on_line(&self) -> String {
        self.at()
            .split(':')
            .next()
            .unwrap_or("")
            .trim()
            .trim_start_matches("- ")
            .to_string()
    }

    fn first_tab(&self) -> Option<Loc> {
        let line = self.line_text();
        let leading: String = line.chars().take_while(|c| c.is_whitespace()).collect();
        leading
            .chars()
            .position(|c| c == '\t')
            .map(|i| Loc::new(self.loc.line, i as u32 + 1))
    }

    /// The last `open` before the position that no `close` matches, outside quotes
    /// and comments.
    fn unmatched_open(&self, open: char, close: char) -> Option<Loc> {
        let mut stack: Vec<Loc> = Vec::new();
        for n in 1..=self.loc.line {
            let line = self.line(n);
            let mut quote: Option<char> = None;
            for (col, c) in line.chars().enumerate() {
                if n == self.loc.line && col >= self.col0() {
                    break;
                }
                match quote {
                    Some(q) if c == q => quote = None,
                    Some(_) => {}
                    None if c == '"' || c == '\'' => quote = Some(c),
                    None if c == '#' => break,
                    None if c == open => stack.push(Loc::new(n, col as u32 + 1)),
                    None if c == close => {
                        stack.pop();
                    }
                    None => {}
                }
            }
        }
        stack.pop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_key_on_the_same_line_and_above() {
        let text = "name: x\nretries: many\nheaders:\n  - a\nsteps:\n- x\n";
        assert_eq!(
            Source::new(text, Loc::new(2, 10)).owner_key().as_deref(),
            Some("retries")
        );
        assert_eq!(
            Source::new(text, Loc::new(4, 3)).owner_key().as_deref(),
            Some("headers")
        );
        assert_eq!(
            Source::new(text, Loc::new(6, 1)).owner_key().as_deref(),
            Some("steps")
        );
        let flow = "json: { $.id: { exists: yes } }";
        assert_eq!(
            Source::new(flow, Loc::new(1, 25)).owner_key().as_deref(),
            Some("exists")
        );
    }

    #[test]
    fn a_key_and_value_without_a_space_are_noticed() {
        assert_eq!(missing_space("status:200"), Some(("status", "200")));
        assert_eq!(missing_space("$.id:abc"), Some(("$.id", "abc")));
        assert_eq!(missing_space("http://x"), None);
        assert_eq!(missing_space("plain text"), None);
    }

    #[test]
    fn token_width_stops_at_flow_punctuation_and_comments() {
        let s = Source::new("a: { b: many, c: 1 }", Loc::new(1, 9));
        assert_eq!(s.token_width(), 4);
        let s = Source::new("retries: many # comment", Loc::new(1, 10));
        assert_eq!(s.token_width(), 4);
        let s = Source::new("url: \"a b\"", Loc::new(1, 6));
        assert_eq!(s.token_width(), 5);
    }

    #[test]
    fn finds_the_unclosed_brace() {
        let text = "a: 1\nb: { c: 1\n  d: 2\n";
        let s = Source::new(text, Loc::new(3, 3));
        assert_eq!(s.unmatched_open('{', '}'), Some(Loc::new(2, 4)));
    }

    #[test]
    fn sections_are_recognised_by_their_own_keys() {
        assert_eq!(
            section_of(&["status", "json", "headers", "body", "time_ms", "schema"]),
            "`expect`"
        );
        assert_eq!(
            section_of(&["method", "url", "headers", "extra_new_key"]),
            "`request`"
        );
        assert_eq!(home_of("status", "a step"), Some("`expect`"));
        assert_eq!(section_of(&["description", "steps"]), "an included file");
        assert_eq!(section_of(&["sha256", "md5", "length", "file"]), "`bytes`");
        assert_eq!(section_of(&["nothing", "known"]), "this mapping");
    }

    /// Each mapping of the schema generated from the model is a section, with the
    /// schema's keys and a name of its own; no name is left for a mapping that is gone.
    #[test]
    fn each_section_s_keys_are_the_schema_s_properties_for_it() {
        let mut schema =
            crate::schema::object_keys(&crate::schema::scenario_schema(), "ScenarioDoc");
        schema.push((
            "IncludeMap".into(),
            vec!["description".into(), "steps".into()],
        ));
        assert!(
            schema.len() >= 10,
            "only {} mappings in the schema",
            schema.len()
        );
        for (owner, keys) in &schema {
            let section = sections()
                .iter()
                .find(|s| &s.definition == owner && &s.keys == keys);
            let section = section.unwrap_or_else(|| panic!("{owner} {keys:?} has no section"));
            assert_ne!(
                section.name, "this mapping",
                "{owner}: name it in SECTION_NAMES"
            );
        }
        assert_eq!(sections().len(), schema.len());
        for (definition, name) in SECTION_NAMES {
            assert!(
                sections().iter().any(|s| s.definition == *definition),
                "{definition} ({name}) is not in the schema any more"
            );
        }
    }

    #[test]
    fn every_section_is_recognised_from_its_own_keys() {
        for s in sections() {
            let keys: Vec<&str> = s.keys.iter().map(String::as_str).collect();
            assert_eq!(section_of(&keys), s.name, "{}", s.definition);
            for k in &keys {
                assert!(
                    home_of(k, "nowhere").is_some(),
                    "{}: `{k}` has no home",
                    s.definition
                );
            }
        }
    }
}
