//! Strings that may hold template code, and YAML values made of them, with how each
//! renders once the checks have compiled it. The file format (scenario/) builds them;
//! nothing here knows the format.

use std::sync::Arc;

use crate::diagnostic::Loc;

/// A string that may hold `{{ ... }}` template code.
#[derive(Clone, Debug)]
pub struct Tpl {
    pub src: String,
    pub loc: Loc,
    /// Filled by the checker: the name under which it is compiled.
    pub compiled: Compiled,
}

/// How a [`Tpl`] renders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Compiled {
    /// No template syntax: the text is the value.
    Literal,
    /// Not compiled yet (the checker has not run).
    Pending,
    /// Compiled in the template registry under `name`. When the whole string is
    /// one `{{ expression }}`, `typed` names a variant that yields the value with
    /// its JSON type (a captured number stays a number in a JSON body).
    Template {
        name: Arc<str>,
        typed: Option<Arc<str>>,
    },
}

impl Tpl {
    pub fn new(src: impl Into<String>, loc: Loc) -> Self {
        let src = src.into();
        let compiled = if has_template_syntax(&src) {
            Compiled::Pending
        } else {
            Compiled::Literal
        };
        Tpl { src, loc, compiled }
    }

    pub fn is_literal(&self) -> bool {
        self.compiled == Compiled::Literal
    }

    /// The expression inside when the string is exactly one `{{ ... }}`.
    pub fn single_expression(&self) -> Option<&str> {
        let t = self.src.trim();
        let inner = t.strip_prefix("{{")?.strip_suffix("}}")?;
        if inner.contains("{{") || inner.contains("}}") || inner.contains("{%") {
            return None;
        }
        let inner = inner.trim_start_matches('-').trim_end_matches('-');
        Some(inner.trim())
    }
}

impl Tpl {
    /// The expressions of its `{{ ... }}` blocks, in order (quotes inside one
    /// are skipped, so a `}}` in a string does not end it).
    pub fn expressions(&self) -> Vec<&str> {
        let src = self.src.as_str();
        let b = src.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while let Some(open) = src[i..].find("{{").map(|o| o + i) {
            let start = open + 2;
            let mut j = start;
            let mut quote: Option<u8> = None;
            let mut end = None;
            while j < b.len() {
                match (quote, b[j]) {
                    (Some(_), b'\\') => j += 1,
                    (Some(q), c) if c == q => quote = None,
                    (None, b'"' | b'\'') => quote = Some(b[j]),
                    (None, b'}') if b.get(j + 1) == Some(&b'}') => {
                        end = Some(j);
                        break;
                    }
                    _ => {}
                }
                j += 1;
            }
            let Some(end) = end else { break };
            let inner = src[start..end]
                .trim_start_matches('-')
                .trim_end_matches('-')
                .trim();
            if !inner.is_empty() {
                out.push(inner);
            }
            i = end + 2;
        }
        out
    }
}

pub fn has_template_syntax(s: &str) -> bool {
    s.contains("{{") || s.contains("{%") || s.contains("{#")
}

/// One entry of a mapping in a [`TValue`], with the key's position.
#[derive(Clone, Debug)]
pub struct TEntry {
    pub key: String,
    pub loc: Loc,
    pub value: TValue,
}

/// Any YAML value whose strings may be templates (JSON bodies, vars, matcher values).
#[derive(Clone, Debug)]
pub enum TValue {
    Null(Loc),
    Bool(bool, Loc),
    /// A number, and how the file wrote it when that is not how the number prints
    /// (`1.10`, `1e3`): a text comparison (a header, the body, `contains` on a
    /// string) compares the text the file shows, not `1.1` or `1000.0`.
    Num(serde_json::Number, Loc, Option<std::sync::Arc<str>>),
    Str(Tpl),
    Seq(Vec<TValue>, Loc),
    Map(Vec<TEntry>, Loc),
}

impl TValue {
    pub fn loc(&self) -> Loc {
        match self {
            TValue::Null(l) | TValue::Bool(_, l) | TValue::Num(_, l, _) => *l,
            TValue::Str(t) => t.loc,
            TValue::Seq(_, l) | TValue::Map(_, l) => *l,
        }
    }

    /// The value as plain JSON when it holds no template.
    pub fn as_literal_json(&self) -> Option<serde_json::Value> {
        use serde_json::Value as J;
        Some(match self {
            TValue::Null(_) => J::Null,
            TValue::Bool(b, _) => J::Bool(*b),
            TValue::Num(n, ..) => J::Number(n.clone()),
            TValue::Str(t) if t.is_literal() => J::String(t.src.clone()),
            TValue::Str(_) => return None,
            TValue::Seq(items, _) => J::Array(
                items
                    .iter()
                    .map(TValue::as_literal_json)
                    .collect::<Option<Vec<_>>>()?,
            ),
            TValue::Map(entries, _) => {
                let mut m = serde_json::Map::new();
                for e in entries {
                    m.insert(e.key.clone(), e.value.as_literal_json()?);
                }
                J::Object(m)
            }
        })
    }

    /// Every string inside, depth first.
    pub fn strings(&self) -> Vec<&Tpl> {
        match self {
            TValue::Str(t) => vec![t],
            TValue::Seq(items, _) => items.iter().flat_map(TValue::strings).collect(),
            TValue::Map(entries, _) => entries.iter().flat_map(|e| e.value.strings()).collect(),
            _ => Vec::new(),
        }
    }

    /// Every string inside, depth first.
    pub fn strings_mut<'a>(&'a mut self, out: &mut Vec<&'a mut Tpl>) {
        match self {
            TValue::Str(t) => out.push(t),
            TValue::Seq(items, _) => items.iter_mut().for_each(|i| i.strings_mut(out)),
            TValue::Map(entries, _) => entries.iter_mut().for_each(|e| e.value.strings_mut(out)),
            _ => {}
        }
    }

    pub fn kind_name(&self) -> &'static str {
        match self {
            TValue::Null(_) => "null",
            TValue::Bool(..) => "a boolean",
            TValue::Num(..) => "a number",
            TValue::Str(_) => "a string",
            TValue::Seq(..) => "a list",
            TValue::Map(..) => "a mapping",
        }
    }
}
