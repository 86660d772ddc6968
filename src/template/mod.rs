//! Templates: every `{{ ... }}` string of a run, compiled once into one registry,
//! and the scope they are rendered in.

pub mod functions;
pub mod scope;
pub mod tpl;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use minijinja::value::ValueKind;
use minijinja::{AutoEscape, Environment, ErrorKind, Output, State, UndefinedBehavior, Value};

pub use scope::Scope;

use crate::diagnostic::Loc;
pub use tpl::{Compiled, TEntry, TValue, Tpl};

/// Bounds what one template may do, so a hostile file cannot spin forever.
const FUEL: u64 = 2_000_000;

/// How deep macros, recursive loops and nested blocks may go (minijinja's units).
const RECURSION_LIMIT: usize = 100;

/// The filter a typed template ends in (not callable from files: the checker
/// knows no such filter).
const TYPED_JSON: &str = "__runner_typed_json";

/// The compiled templates of a run.
pub struct Templates {
    env: Environment<'static>,
    /// Source -> the name it is compiled under: a template repeated across steps
    /// (`{{ uuid() }}`, `{{ project_id }}`) is compiled once, which keeps suites of
    /// thousands of steps fast to check and small in memory.
    by_source: HashMap<String, Arc<str>>,
    /// Bytes of text every template of the run has rendered so far (shared with
    /// the registries of scenarios loaded again as they start: the limit is the run's).
    rendered: Arc<AtomicUsize>,
    /// Rendering stops (the template errors) beyond this many bytes in all.
    render_limit: usize,
}

/// How many bytes of text the templates of a run may render in all, unless
/// `--max-rendered` says otherwise: each template may loop within its fuel, and a
/// file of many such templates grew to gigabytes.
pub const DEFAULT_RENDER_LIMIT: usize = 1024 * 1024 * 1024;

/// Where a template writes its text: counts every byte against the run's limit, and
/// stops the render past it.
struct Counted<'a> {
    out: Vec<u8>,
    used: &'a AtomicUsize,
    limit: usize,
    over: bool,
}

impl std::io::Write for Counted<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let before = self.used.fetch_add(buf.len(), Ordering::Relaxed);
        if before.saturating_add(buf.len()) > self.limit {
            self.over = true;
            return Err(std::io::Error::other(
                "the run's rendering limit is reached",
            ));
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Default for Templates {
    fn default() -> Self {
        Self::new()
    }
}

/// A template that failed to render.
#[derive(Debug, Clone)]
pub struct RenderError {
    pub loc: Loc,
    pub message: String,
    /// Names that were not defined when it rendered.
    pub undefined: Vec<String>,
}

impl std::fmt::Display for RenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl Templates {
    pub fn new() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_fuel(Some(FUEL));
        // Macros and recursive loops may call themselves: stop them well before they
        // overflow a worker thread's stack (minijinja's own limit of 500 does not).
        env.set_recursion_limit(RECURSION_LIMIT);
        env.set_formatter(format_value);
        // `tojson` turns an undefined value into `null`; a typed value must fail on
        // it like text does, or `{{ user.idd }}` in a json body sends null.
        env.add_filter(TYPED_JSON, |v: Value| -> Result<String, minijinja::Error> {
            if v.is_undefined() {
                return Err(minijinja::Error::from(ErrorKind::UndefinedError));
            }
            serde_json::to_string(&v)
                .map_err(|e| minijinja::Error::new(ErrorKind::BadSerialization, e.to_string()))
        });
        functions::register(&mut env);
        Templates {
            env,
            by_source: HashMap::new(),
            rendered: Arc::new(AtomicUsize::new(0)),
            render_limit: DEFAULT_RENDER_LIMIT,
        }
    }

    /// How many bytes the run's templates may render in all (`--max-rendered`),
    /// counted from now: what the checks before the run rendered does not count.
    pub fn set_render_limit(&mut self, bytes: usize) {
        self.render_limit = bytes;
        self.rendered.store(0, Ordering::Relaxed);
    }

    /// Count what this registry renders against `run`'s limit and total, so that
    /// `--max-rendered` bounds the run whichever registry a scenario renders with.
    pub fn share_render_budget(&mut self, run: &Templates) {
        self.rendered = run.rendered.clone();
        self.render_limit = run.render_limit;
    }

    /// Compile `tpl` under a name derived from its place; `typed` also compiles
    /// the form that keeps a single expression's JSON type.
    pub fn compile(&mut self, key: &str, tpl: &mut Tpl, typed: bool) -> Result<(), String> {
        if tpl.compiled != Compiled::Pending {
            return Ok(());
        }
        let name: Arc<str> = match self.by_source.get(&tpl.src) {
            Some(name) => name.clone(),
            None => {
                let mut name = format!("{key}@{}:{}", tpl.loc.line, tpl.loc.col);
                while let Ok(other) = self.env.get_template(&name) {
                    if other.source() == tpl.src {
                        break;
                    }
                    name.push('\'');
                }
                if self.env.get_template(&name).is_err() {
                    self.env
                        .add_template_owned(name.clone(), tpl.src.clone())
                        .map_err(|e| describe_syntax_error(&e))?;
                }
                let name: Arc<str> = Arc::from(name);
                self.by_source.insert(tpl.src.clone(), name.clone());
                name
            }
        };
        let typed_name = match (typed, tpl.single_expression()) {
            (true, Some(expr)) => {
                let typed_name = format!("{name}#json");
                if self.env.get_template(&typed_name).is_err() {
                    self.env
                        .add_template_owned(
                            typed_name.clone(),
                            format!("{{{{ ({expr}) | {TYPED_JSON} }}}}"),
                        )
                        .map_err(|e| describe_syntax_error(&e))?;
                }
                Some(Arc::from(typed_name))
            }
            _ => None,
        };
        tpl.compiled = Compiled::Template {
            name,
            typed: typed_name,
        };
        Ok(())
    }

    /// Top-level names a compiled template reads (functions excluded).
    pub fn names_used(&self, tpl: &Tpl) -> HashSet<String> {
        let Compiled::Template { name, .. } = &tpl.compiled else {
            return HashSet::new();
        };
        match self.env.get_template(name) {
            Ok(t) => t
                .undeclared_variables(false)
                .into_iter()
                .filter(|n| !functions::is_function(n))
                .collect(),
            Err(_) => HashSet::new(),
        }
    }

    /// Whether any compiled template reads the top-level name `name`.
    pub fn any_reads(&self, name: &str) -> bool {
        self.env
            .templates()
            .any(|(_, t)| t.undeclared_variables(false).contains(name))
    }

    /// Dotted names (`env.HOME`) a compiled template reads.
    pub fn nested_names_used(&self, tpl: &Tpl) -> HashSet<String> {
        let Compiled::Template { name, .. } = &tpl.compiled else {
            return HashSet::new();
        };
        match self.env.get_template(name) {
            Ok(t) => t.undeclared_variables(true),
            Err(_) => HashSet::new(),
        }
    }

    /// One expression (`key | upper`) rendered alone, as `{{ expression }}`;
    /// `None` when it does not render by itself (it needs a `{% set %}` or a loop
    /// of its template, say).
    pub fn render_expression(&self, expr: &str, scope: &Value) -> Option<String> {
        self.env
            .render_str(&format!("{{{{ {expr} }}}}"), scope)
            .ok()
    }

    /// Dotted names (`env.HOME`) one expression reads.
    pub fn expression_names(&self, expr: &str) -> HashSet<String> {
        self.env
            .template_from_str(&format!("{{{{ {expr} }}}}"))
            .map(|t| t.undeclared_variables(true))
            .unwrap_or_default()
    }

    /// Render to text.
    pub fn render_str(&self, tpl: &Tpl, scope: &Value) -> Result<String, RenderError> {
        match &tpl.compiled {
            Compiled::Literal => Ok(tpl.src.clone()),
            Compiled::Pending => Err(RenderError {
                loc: tpl.loc,
                message: "template was not compiled".into(),
                undefined: Vec::new(),
            }),
            Compiled::Template { name, .. } => self.render_named(name, tpl, scope),
        }
    }

    fn render_named(&self, name: &str, tpl: &Tpl, scope: &Value) -> Result<String, RenderError> {
        let t = self.env.get_template(name).map_err(|e| RenderError {
            loc: tpl.loc,
            message: e.to_string(),
            undefined: Vec::new(),
        })?;
        let mut out = Counted {
            out: Vec::new(),
            used: &self.rendered,
            limit: self.render_limit,
            over: false,
        };
        let result = t.render_captured_to(scope, &mut out).map(|_| ());
        if out.over {
            return Err(RenderError {
                loc: tpl.loc,
                message: format!(
                    "the templates of this run have rendered more than {} of text in all; raise the limit with --max-rendered if that is intended (a loop gone wrong is the usual cause)",
                    crate::http::fmt_size(self.render_limit)
                ),
                undefined: Vec::new(),
            });
        }
        result.map_err(|e| self.explain(&e, tpl, scope))?;
        // minijinja writes whole strs; a lossy read changes nothing.
        Ok(String::from_utf8(out.out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
    }

    /// Render a templated YAML value to JSON; a string that is one expression keeps
    /// the expression's type.
    pub fn render_json(&self, v: &TValue, scope: &Value) -> Result<serde_json::Value, RenderError> {
        use serde_json::Value as J;
        Ok(match v {
            TValue::Null(_) => J::Null,
            TValue::Bool(b, _) => J::Bool(*b),
            TValue::Num(n, ..) => J::Number(n.clone()),
            TValue::Str(t) => match &t.compiled {
                Compiled::Template {
                    typed: Some(typed), ..
                } => {
                    let text = self.render_named(typed, t, scope)?;
                    serde_json::from_str(&text).unwrap_or(J::String(text))
                }
                _ => J::String(self.render_str(t, scope)?),
            },
            TValue::Seq(items, _) => J::Array(
                items
                    .iter()
                    .map(|i| self.render_json(i, scope))
                    .collect::<Result<_, _>>()?,
            ),
            TValue::Map(entries, _) => {
                let mut m = serde_json::Map::with_capacity(entries.len());
                for e in entries {
                    m.insert(e.key.clone(), self.render_json(&e.value, scope)?);
                }
                J::Object(m)
            }
        })
    }

    /// Turn minijinja's error into one that names what was undefined.
    fn explain(&self, e: &minijinja::Error, tpl: &Tpl, scope: &Value) -> RenderError {
        if e.kind() == ErrorKind::UndefinedError {
            let mut missing: Vec<String> = self
                .names_used(tpl)
                .into_iter()
                .filter(|n| scope.get_attr(n).map(|v| v.is_undefined()).unwrap_or(true))
                .collect();
            if missing.is_empty() {
                missing = self
                    .nested_names_used(tpl)
                    .into_iter()
                    .filter(|n| n.contains('.') && lookup_path(scope, n).is_none())
                    .collect();
            }
            missing.sort();
            let message = match missing.as_slice() {
                [] => "a value used by the template is undefined".to_string(),
                [one] => format!("undefined variable `{one}`"),
                many => format!(
                    "undefined variables {}",
                    many.iter()
                        .map(|m| format!("`{m}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            return RenderError {
                loc: tpl.loc,
                message,
                undefined: missing,
            };
        }
        let detail = e
            .detail()
            .map(str::to_string)
            .unwrap_or_else(|| e.kind().to_string());
        RenderError {
            loc: tpl.loc,
            message: format!("template error: {detail}"),
            undefined: Vec::new(),
        }
    }
}

/// How a value is written into text: booleans, null, lists and maps as JSON
/// (`true`, `null`, `[1, 2]`), the way the API sent them, not minijinja's
/// Python-style `True`/`none`; strings and numbers as themselves.
pub fn format_value(
    out: &mut Output,
    state: &mut State,
    value: &Value,
) -> Result<(), minijinja::Error> {
    if matches!(
        value.kind(),
        ValueKind::Bool | ValueKind::None | ValueKind::Seq | ValueKind::Map
    ) && let Ok(text) = serde_json::to_string(value)
    {
        return out
            .write_str(&text)
            .map_err(|e| minijinja::Error::new(ErrorKind::WriteFailure, e.to_string()));
    }
    minijinja::escape_formatter(out, state, value)
}

/// Any serializable value as a template value.
pub fn to_value<T: serde::Serialize>(v: T) -> Value {
    Value::from(minijinja::value::Serde(v))
}

fn lookup_path(scope: &Value, path: &str) -> Option<Value> {
    let mut cur = scope.clone();
    for part in path.split('.') {
        cur = cur.get_attr(part).ok().filter(|v| !v.is_undefined())?;
    }
    Some(cur)
}

fn describe_syntax_error(e: &minijinja::Error) -> String {
    let detail = e
        .detail()
        .map(str::to_string)
        .unwrap_or_else(|| e.kind().to_string());
    format!("template syntax error: {detail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tpl(src: &str) -> Tpl {
        Tpl::new(src, Loc::new(1, 1))
    }

    #[test]
    fn single_expressions_keep_their_json_type() {
        let mut t = Templates::new();
        let mut a = tpl("{{ n }}");
        t.compile("f", &mut a, true).unwrap_or_default();
        let scope = crate::template::to_value(serde_json::json!({"n": 42}));
        let out = t.render_json(&TValue::Str(a), &scope).ok();
        assert_eq!(out, Some(serde_json::json!(42)));
    }

    /// An empty list or map keeps its type: it rendered as `null`, so a captured
    /// `[]` compared equal to a `null` in the body.
    #[test]
    fn empty_containers_keep_their_json_type() {
        let mut t = Templates::new();
        let mut a = tpl("{{ v }}");
        t.compile("f", &mut a, true).unwrap_or_default();
        for v in [
            serde_json::json!([]),
            serde_json::json!({}),
            serde_json::json!([[]]),
        ] {
            let scope = crate::template::to_value(serde_json::json!({ "v": v.clone() }));
            let out = t.render_json(&TValue::Str(a.clone()), &scope).ok();
            assert_eq!(out, Some(v));
        }
    }

    #[test]
    fn undefined_names_are_named() {
        let mut t = Templates::new();
        let mut a = tpl("/v1/jobs/{{ job_id }}/cancel");
        t.compile("f", &mut a, false).unwrap_or_default();
        let scope = crate::template::to_value(serde_json::json!({"other": 1}));
        let err = t.render_str(&a, &scope).err().map(|e| e.message);
        assert_eq!(err.as_deref(), Some("undefined variable `job_id`"));
    }

    #[test]
    fn the_same_source_is_compiled_once() {
        let mut t = Templates::new();
        let mut a = tpl("/v1/jobs/{{ job_id }}/cancel");
        let mut b = Tpl::new("/v1/jobs/{{ job_id }}/cancel", Loc::new(7, 3));
        let mut c = Tpl::new("/v1/jobs/{{ other }}", Loc::new(1, 1));
        t.compile("a.yaml", &mut a, false).unwrap_or_default();
        t.compile("b.yaml", &mut b, false).unwrap_or_default();
        // Same key and place as `a`, different text: a template of its own.
        t.compile("a.yaml", &mut c, false).unwrap_or_default();
        assert_eq!(t.env.templates().count(), 2);
        let scope = crate::template::to_value(serde_json::json!({"job_id": "j1", "other": "o"}));
        assert_eq!(
            t.render_str(&b, &scope).ok().as_deref(),
            Some("/v1/jobs/j1/cancel")
        );
        assert_eq!(t.render_str(&c, &scope).ok().as_deref(), Some("/v1/jobs/o"));
    }

    #[test]
    fn rendering_stops_at_the_run_s_limit() {
        let mut t = Templates::new();
        t.set_render_limit(1000);
        let mut a = tpl("{% for i in range(30) %}0123456789{% endfor %}");
        t.compile("f", &mut a, false).unwrap_or_default();
        let scope = crate::template::to_value(serde_json::json!({}));
        // 300 bytes each: three fit, the fourth crosses 1000 bytes in all.
        for _ in 0..3 {
            assert_eq!(t.render_str(&a, &scope).map(|s| s.len()).ok(), Some(300));
        }
        let err = t.render_str(&a, &scope).err().map(|e| e.message);
        assert!(
            err.as_deref().is_some_and(|m| m.contains("--max-rendered")),
            "{err:?}"
        );
    }

    #[test]
    fn syntax_errors_are_reported_at_compile_time() {
        let mut t = Templates::new();
        let mut a = tpl("{{ unclosed ");
        assert!(t.compile("f", &mut a, false).is_err());
    }
}
