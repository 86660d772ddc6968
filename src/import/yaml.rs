//! Writing scenario files as people would: keys in the order a reader expects,
//! comments where the import has something to say, block text for multi-line bodies.
//!
//! Hand-written rather than a YAML serializer because an import's output is read and
//! reviewed: it needs comments (notes, steps left commented out) and a stable key
//! order, which serde serializers do not give.

use std::fmt::Write as _;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A YAML value with ordered keys and comments.
#[derive(Debug, Clone, PartialEq)]
pub enum Y {
    Null,
    Bool(bool),
    Num(serde_json::Number),
    Str(String),
    Seq(Vec<Y>),
    Map(Vec<Entry>),
    /// A value written as comment lines (a step left out on purpose), after its notes.
    Commented(Vec<String>, Box<Y>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub comments: Vec<String>,
    pub key: String,
    pub value: Y,
}

impl Y {
    pub fn str(s: impl Into<String>) -> Y {
        Y::Str(s.into())
    }

    /// A map from `(key, value)` pairs, without comments.
    pub fn map(entries: impl IntoIterator<Item = (String, Y)>) -> Y {
        Y::Map(
            entries
                .into_iter()
                .map(|(key, value)| Entry {
                    comments: Vec::new(),
                    key,
                    value,
                })
                .collect(),
        )
    }

    /// From JSON (object keys in serde_json's order).
    pub fn from_json(v: &serde_json::Value) -> Y {
        use serde_json::Value as J;
        match v {
            J::Null => Y::Null,
            J::Bool(b) => Y::Bool(*b),
            J::Number(n) => Y::Num(n.clone()),
            J::String(s) => Y::Str(s.clone()),
            J::Array(a) => Y::Seq(a.iter().map(Y::from_json).collect()),
            J::Object(o) => Y::map(o.iter().map(|(k, v)| (k.clone(), Y::from_json(v)))),
        }
    }

    /// Every string of the value, mutably (to turn `{{var}}` into `{{ var }}`).
    pub fn strings_mut(&mut self, f: &mut dyn FnMut(&mut String)) {
        match self {
            Y::Str(s) => f(s),
            Y::Seq(items) => items.iter_mut().for_each(|i| i.strings_mut(f)),
            Y::Map(entries) => entries.iter_mut().for_each(|e| e.value.strings_mut(f)),
            Y::Commented(_, inner) => inner.strings_mut(f),
            _ => {}
        }
    }
}

/// Request headers as a `headers:` mapping. A name given more than once (curl `-H`
/// twice, a HAR entry with two lines of one name) becomes one key with a list, so
/// each value is still sent as a line of its own; a YAML mapping cannot repeat a key.
pub fn header_lines(p: &[(String, String)]) -> Y {
    let mut grouped: Vec<(String, Vec<&str>)> = Vec::new();
    for (k, v) in p {
        match grouped.iter_mut().find(|(g, _)| g.eq_ignore_ascii_case(k)) {
            Some((_, vs)) => vs.push(v),
            None => grouped.push((k.clone(), vec![v])),
        }
    }
    Y::map(grouped.into_iter().map(|(k, vs)| {
        let value = match vs.as_slice() {
            [one] => Y::str(*one),
            many => Y::Seq(many.iter().map(|v| Y::str(*v)).collect()),
        };
        (k, value)
    }))
}

/// JSON text in, with object keys in the order written (request bodies are shown
/// as their authors wrote them).
impl<'de> Deserialize<'de> for Y {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Y;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> Result<Y, E> {
                Ok(Y::Null)
            }
            fn visit_none<E>(self) -> Result<Y, E> {
                Ok(Y::Null)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Y, E> {
                Ok(Y::Bool(b))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Y, E> {
                Ok(Y::Num(n.into()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Y, E> {
                Ok(Y::Num(n.into()))
            }
            fn visit_f64<E>(self, n: f64) -> Result<Y, E> {
                Ok(serde_json::Number::from_f64(n).map_or(Y::Null, Y::Num))
            }
            fn visit_str<E>(self, s: &str) -> Result<Y, E> {
                Ok(Y::Str(s.to_string()))
            }
            fn visit_string<E>(self, s: String) -> Result<Y, E> {
                Ok(Y::Str(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Y, A::Error> {
                let mut items = Vec::new();
                while let Some(i) = a.next_element()? {
                    items.push(i);
                }
                Ok(Y::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Y, A::Error> {
                let mut entries: Vec<(String, Y)> = Vec::new();
                while let Some((k, v)) = a.next_entry::<String, Y>()? {
                    // JSON says the last of repeated keys wins, as serde_json does.
                    entries.retain(|(key, _)| *key != k);
                    entries.push((k, v));
                }
                Ok(Y::map(entries))
            }
        }
        d.deserialize_any(V)
    }
}

/// A document: the top-level map, with comment lines above it.
pub fn render(header: &[String], doc: &Y) -> String {
    let mut out = String::new();
    for c in header {
        comment_line(&mut out, 0, c);
    }
    match doc {
        Y::Map(entries) => map_entries(&mut out, 0, entries),
        other => {
            scalar_or_inline(&mut out, 0, other);
            out.push('\n');
        }
    }
    out
}

fn comment_line(out: &mut String, indent: usize, text: &str) {
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            let _ = writeln!(out, "{:indent$}#", "");
        } else {
            let _ = writeln!(out, "{:indent$}# {line}", "");
        }
    }
    if text.is_empty() {
        let _ = writeln!(out, "{:indent$}#", "");
    }
}

fn map_entries(out: &mut String, indent: usize, entries: &[Entry]) {
    for e in entries {
        for c in &e.comments {
            comment_line(out, indent, c);
        }
        let _ = write!(out, "{:indent$}{}:", "", key(&e.key));
        value_after_key(out, indent, &e.value);
    }
}

/// After `key:` (the rest of the line and any lines below).
fn value_after_key(out: &mut String, indent: usize, v: &Y) {
    match v {
        Y::Map(entries) if !entries.is_empty() => {
            out.push('\n');
            map_entries(out, indent + 2, entries);
        }
        Y::Seq(items) if !items.is_empty() => {
            out.push('\n');
            seq_items(out, indent, items);
        }
        Y::Str(s) if block_ok(s) => {
            let chomp = if s.ends_with('\n') { "" } else { "-" };
            let _ = writeln!(out, " |{chomp}");
            for line in s.strip_suffix('\n').unwrap_or(s).split('\n') {
                if line.is_empty() {
                    out.push('\n');
                } else {
                    let _ = writeln!(out, "{:w$}{line}", "", w = indent + 2);
                }
            }
        }
        Y::Commented(notes, inner) => {
            out.push('\n');
            commented(out, indent + 2, notes, inner, false);
        }
        other => {
            out.push(' ');
            scalar_or_inline(out, indent, other);
            out.push('\n');
        }
    }
}

/// Sequence items at `indent` (YAML allows `- ` at the parent key's column).
fn seq_items(out: &mut String, indent: usize, items: &[Y]) {
    for item in items {
        match item {
            Y::Commented(notes, inner) => commented(out, indent, notes, inner, true),
            Y::Map(entries) if !entries.is_empty() => {
                let Some((first, rest)) = entries.split_first() else {
                    continue;
                };
                for c in &first.comments {
                    comment_line(out, indent, c);
                }
                let _ = write!(out, "{:indent$}- {}:", "", key(&first.key));
                value_after_key(out, indent + 2, &first.value);
                map_entries(out, indent + 2, rest);
            }
            Y::Seq(inner) if !inner.is_empty() => {
                let _ = writeln!(out, "{:indent$}-", "");
                seq_items(out, indent + 2, inner);
            }
            other => {
                let _ = write!(out, "{:indent$}- ", "");
                scalar_or_inline(out, indent + 2, other);
                out.push('\n');
            }
        }
    }
}

/// A value written as comments: its notes, then its YAML with `# ` before each line.
fn commented(out: &mut String, indent: usize, notes: &[String], inner: &Y, as_item: bool) {
    for n in notes {
        comment_line(out, indent, n);
    }
    let mut body = String::new();
    if as_item {
        seq_items(&mut body, 0, std::slice::from_ref(inner));
    } else if let Y::Map(entries) = inner {
        map_entries(&mut body, 0, entries);
    } else {
        scalar_or_inline(&mut body, 0, inner);
    }
    for line in body.lines() {
        let _ = writeln!(out, "{:indent$}# {line}", "");
    }
}

fn scalar_or_inline(out: &mut String, _indent: usize, v: &Y) {
    match v {
        Y::Null => out.push_str("null"),
        Y::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Y::Num(n) => out.push_str(&n.to_string()),
        Y::Str(s) => out.push_str(&scalar(s)),
        Y::Seq(items) if items.is_empty() => out.push_str("[]"),
        Y::Map(entries) if entries.is_empty() => out.push_str("{}"),
        // Only reached for a top-level non-map or nested empties: write as flow JSON.
        Y::Seq(items) => {
            out.push('[');
            for (i, it) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                scalar_or_inline(out, 0, it);
            }
            out.push(']');
        }
        Y::Map(entries) => {
            out.push('{');
            for (i, e) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{}: ", scalar(&e.key));
                scalar_or_inline(out, 0, &e.value);
            }
            out.push('}');
        }
        Y::Commented(_, _) => out.push_str("null"),
    }
}

fn key(k: &str) -> String {
    scalar(k)
}

/// A string as a YAML scalar: plain when that reads back as the same string,
/// otherwise double-quoted (JSON escapes are valid YAML escapes).
pub fn scalar(s: &str) -> String {
    if plain_ok(s) {
        s.to_string()
    } else {
        serde_json::Value::String(s.to_string()).to_string()
    }
}

fn plain_ok(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if !(first.is_ascii_alphabetic() || first == '/' || first == '_' || first == '$') {
        return false;
    }
    if s.ends_with(' ') {
        return false;
    }
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n"
    ) {
        return false;
    }
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || " _-./$()+,;=@".contains(c))
        && !s.contains("  ")
}

/// Whether a string reads back the same from a `|` or `|-` block.
fn block_ok(s: &str) -> bool {
    let body = s.strip_suffix('\n').unwrap_or(s);
    s.contains('\n')
        && !body.ends_with('\n')
        && !body.starts_with(' ')
        && !body.starts_with('\n')
        && body
            .split('\n')
            .all(|l| !l.ends_with(' ') && !l.ends_with('\t'))
        && !s.chars().any(|c| c.is_control() && c != '\n')
        && !s.contains('\u{feff}')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever the writer produces, YAML reads back as the same value.
    #[test]
    fn repeated_headers_are_written_as_one_key_with_a_list() {
        let h = |k: &str, v: &str| (k.to_string(), v.to_string());
        let cases: Vec<(Vec<(String, String)>, &str)> = vec![
            (vec![h("Accept", "a/b")], "Accept: a/b\n"),
            (
                vec![h("X-Tag", "one"), h("Accept", "a/b"), h("x-tag", "two")],
                "X-Tag:\n- one\n- two\nAccept: a/b\n",
            ),
        ];
        for (headers, want) in cases {
            assert_eq!(render(&[], &header_lines(&headers)), want, "{headers:?}");
        }
    }

    #[test]
    fn written_values_read_back_the_same() {
        let cases: Vec<Y> = vec![
            Y::str("plain"),
            Y::str("true"),
            Y::str("123"),
            Y::str("-1"),
            Y::str("a: b"),
            Y::str("# not a comment"),
            Y::str("{{ env.X_API_KEY }}"),
            Y::str("Bearer {{ token }}"),
            Y::str("line one\nline two\n"),
            Y::str("line one\n\n  indented\nend"),
            Y::str("trailing\n\n"),
            Y::str(" lead"),
            Y::str("tab\there"),
            Y::str("$.data[0].id"),
            Y::str(""),
            Y::str("ünïcode"),
            Y::Num(12.into()),
            Y::Bool(false),
            Y::Null,
            Y::Seq(vec![]),
            Y::map([]),
        ];
        for c in cases {
            let doc = Y::map([
                ("value".to_string(), c.clone()),
                (
                    "nested".to_string(),
                    Y::Seq(vec![Y::map([
                        ("a".to_string(), c.clone()),
                        ("b".to_string(), Y::Seq(vec![c.clone(), c.clone()])),
                    ])]),
                ),
            ]);
            let text = render(&["a header".into()], &doc);
            let back: serde_json::Value =
                serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{text}\n{e}"));
            let want = serde_json::json!({
                "value": to_json(&c),
                "nested": [{"a": to_json(&c), "b": [to_json(&c), to_json(&c)]}],
            });
            assert_eq!(back, want, "{text}");
        }
    }

    #[test]
    fn commented_steps_are_comments_only() {
        let doc = Y::map([(
            "steps".to_string(),
            Y::Seq(vec![
                Y::map([("name".to_string(), Y::str("kept"))]),
                Y::Commented(
                    vec!["left out: costs credits".into()],
                    Box::new(Y::map([("name".to_string(), Y::str("costly"))])),
                ),
            ]),
        )]);
        let text = render(&[], &doc);
        assert!(text.contains("# - name: costly"), "{text}");
        let back: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(back, serde_json::json!({"steps": [{"name": "kept"}]}));
    }

    #[test]
    fn json_keys_keep_their_order() {
        let y: Y = serde_json::from_str(r#"{"z": 1, "a": {"x": 2, "b": 3}}"#).unwrap();
        let text = render(&[], &y);
        assert_eq!(text, "z: 1\na:\n  x: 2\n  b: 3\n");
    }

    fn to_json(y: &Y) -> serde_json::Value {
        use serde_json::Value as J;
        match y {
            Y::Null | Y::Commented(..) => J::Null,
            Y::Bool(b) => J::Bool(*b),
            Y::Num(n) => J::Number(n.clone()),
            Y::Str(s) => J::String(s.clone()),
            Y::Seq(i) => J::Array(i.iter().map(to_json).collect()),
            Y::Map(e) => J::Object(
                e.iter()
                    .map(|e| (e.key.clone(), to_json(&e.value)))
                    .collect(),
            ),
        }
    }
}
