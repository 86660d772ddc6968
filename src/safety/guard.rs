//! The cost guard: before anything is sent, find the steps that would cost money or
//! reach outside systems on a real server, and refuse them unless their scenario
//! allows it (`allow_cost:`) and cancels the jobs it starts (`finally:`). While the
//! run goes, the same rule is applied again to every URL actually about to be sent.

use std::collections::HashSet;
use std::sync::Arc;

use indexmap::IndexMap;

use super::catalog::{Catalog, CostlyEndpoint};
use super::pattern::{MARK, PathShape, UrlSeg, is_absolute_template, strip_origin, views_of_path};
use crate::diagnostic::{Diagnostic, Diagnostics, did_you_mean};
use crate::scenario::{Action, Scenario, Step};
use crate::template::{Scope, Templates};

/// Where a scenario's requests go, as far as the guard is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The mock the runner starts itself: nothing costs anything there.
    EmbeddedMock,
    /// Anything else, including a `runner mock` on another port: it may be the live API.
    Real,
}

/// Reports each problem once: a matrix repeats its steps once per combination.
#[derive(Default)]
struct Once {
    out: Diagnostics,
    seen: HashSet<(String, u32, u32, String)>,
}

impl Once {
    fn push(&mut self, d: Diagnostic) {
        let key = (
            d.file.display().to_string(),
            d.loc.line,
            d.loc.col,
            d.message.clone(),
        );
        if self.seen.insert(key) {
            self.out.push(d);
        }
    }
}

/// `allow_cost` entries that name no cost kind of the catalog (a typo allows nothing).
pub fn unknown_kinds(scenarios: &[Scenario], catalog: &Catalog) -> Diagnostics {
    let mut once = Once::default();
    let known: Vec<&str> = catalog.kinds.keys().map(String::as_str).collect();
    for s in scenarios {
        for (kind, loc) in &s.allow_cost {
            if catalog.knows(kind) {
                continue;
            }
            let hint = did_you_mean(kind, known.iter().copied())
                .map(|k| format!("did you mean `{k}`?"))
                .unwrap_or_else(|| format!("the cost kinds are {}", known.join(", ")));
            once.push(
                Diagnostic::new(
                    s.file.as_ref(),
                    *loc,
                    format!("unknown cost kind `{kind}` in `allow_cost`"),
                )
                .width(kind.chars().count())
                .hint(hint),
            );
        }
    }
    once.out
}

/// What the guard knows of a run before anything is sent: every value a template can
/// read except what responses will bring (captures, the webhook receiver's address).
pub struct Known<'a> {
    pub templates: &'a Templates,
    /// `--var` and `--vars-file` values.
    pub cli_vars: Arc<IndexMap<String, minijinja::Value>>,
    /// The process environment, as `env.NAME` reads it.
    pub env: minijinja::Value,
    /// `--base-url` / `RUNNER_BASE_URL`, when given.
    pub base_url: Option<String>,
}

impl<'a> Known<'a> {
    /// The same values, with the templates a scenario was checked into (each part
    /// of a suite checked on its own core has its own).
    pub fn with_templates<'b>(&self, templates: &'b Templates) -> Known<'b> {
        Known {
            templates,
            cli_vars: self.cli_vars.clone(),
            env: self.env.clone(),
            base_url: self.base_url.clone(),
        }
    }

    /// The values of this process: its environment and the command line's variables.
    pub fn of_process(
        templates: &'a Templates,
        cli_vars: impl IntoIterator<Item = (String, serde_json::Value)>,
        base_url: Option<String>,
    ) -> Self {
        let env: std::collections::BTreeMap<String, String> = std::env::vars().collect();
        Known {
            templates,
            cli_vars: Arc::new(
                cli_vars
                    .into_iter()
                    .map(|(k, v)| (k, crate::template::to_value(v)))
                    .collect(),
            ),
            env: crate::template::to_value(env),
            base_url,
        }
    }
}

/// Stands for a value only the run will know (a capture): renders as the name between
/// two [`MARK`]s, so the path segment it lands in is dynamic and says whose it is.
fn placeholder(name: &str) -> minijinja::Value {
    minijinja::Value::from(format!("{MARK}{name}{MARK}"))
}

/// The names of the placeholders inside a segment.
fn placeholder_names(seg: &str) -> Vec<&str> {
    seg.split(MARK)
        .enumerate()
        .filter(|(i, p)| i % 2 == 1 && !p.is_empty())
        .map(|(_, p)| p)
        .collect()
}

/// Where a request step goes, as far as can be known before sending.
struct StepTarget {
    method: String,
    /// The ways a server may read its path.
    views: Vec<PathShape>,
    /// Whether it may reach a real server (not only the embedded mock).
    real: bool,
    /// The path segments, decoded, placeholders kept (for the cancel rule).
    segments: Vec<String>,
    /// The path as rendered, when it differs from the template (for messages).
    rendered: Option<String>,
}

/// A scenario's values as known before the run: vars, parameters and the base URL
/// rendered; captures as placeholders.
struct Statics<'k> {
    known: &'k Known<'k>,
    scope: Arc<Scope>,
    base: Option<String>,
    target: Target,
    /// The scenario names secrets: a rendered path may hold one, and messages are
    /// printed before the run knows them, so they show the template only.
    hide_rendered: bool,
}

impl<'k> Statics<'k> {
    fn new(s: &Scenario, known: &'k Known<'k>, target: Target) -> Self {
        let mut scope = Scope {
            env: known.env.clone(),
            cli_vars: known.cli_vars.clone(),
            webhook: crate::template::to_value(serde_json::json!({
                "url": format!("{MARK}webhook{MARK}")
            })),
            ..Scope::default()
        };
        for st in s.all_steps() {
            for (name, _) in &st.capture {
                scope.captures.insert(name.clone(), placeholder(name));
            }
        }
        let mut scope = Arc::new(scope);
        for (name, value) in &s.vars {
            let v = match known.templates.render_json(value, &scope.to_value()) {
                Ok(v) => crate::template::to_value(v),
                Err(_) => placeholder(name),
            };
            Arc::make_mut(&mut scope).vars.insert(name.clone(), v);
        }
        let base = match target {
            Target::EmbeddedMock => None,
            Target::Real => known.base_url.clone().or_else(|| {
                s.base_url
                    .as_ref()
                    .and_then(|b| known.templates.render_str(b, &scope.to_value()).ok())
            }),
        };
        Statics {
            known,
            scope,
            base,
            target,
            hide_rendered: !s.secrets.is_empty(),
        }
    }

    /// Where `st` sends its request; `None` for a step that sends none, or whose path
    /// has nothing static.
    fn step(&self, st: &Step) -> Option<StepTarget> {
        let Action::Request(r) = &st.action else {
            return None;
        };
        let method = r
            .method
            .as_ref()
            .map_or_else(|| "GET".to_string(), |m| m.value.to_uppercase());
        let mut scope = self.scope.clone();
        for level in st.params.chain() {
            for (name, value) in &level.own {
                let v = match self.known.templates.render_json(value, &scope.to_value()) {
                    Ok(v) => crate::template::to_value(v),
                    Err(_) => placeholder(name),
                };
                Arc::make_mut(&mut scope).params.insert(name.clone(), v);
            }
        }
        let rendered = self.known.templates.render_str(&r.url, &scope.to_value());
        let text = match rendered {
            Ok(t) => t,
            // Not renderable before the run (an environment variable missing at
            // validation): the template's static shape.
            Err(_) => marked_with_names(&r.url.src, st),
        };
        let t = text.trim();
        let absolute = is_absolute_template(t);
        let real = match self.target {
            Target::Real => true,
            Target::EmbeddedMock => absolute,
        };
        let path = if t.starts_with(MARK) {
            // Where a captured URL leads is known only at run time; what follows it
            // is matched as the end of a path.
            t.split(['?', '#']).next().unwrap_or("").to_string()
        } else {
            match crate::http::wire::resolve_url(self.base.as_deref(), t) {
                Ok(u) => u.path().to_string(),
                Err(_) => strip_origin(t)
                    .split(['?', '#'])
                    .next()
                    .unwrap_or("")
                    .to_string(),
            }
        };
        let views = views_of_path(&path);
        if !views
            .iter()
            .any(|v| v.0.iter().any(|s| matches!(s, UrlSeg::Lit(_))))
        {
            return None;
        }
        let decoded = percent_encoding::percent_decode_str(&path)
            .decode_utf8_lossy()
            .into_owned();
        let segments: Vec<String> = decoded
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        let shown = show_placeholders(&decoded);
        let rendered =
            (!self.hide_rendered && shown != r.url.src && !r.url.src.starts_with(&shown))
                .then_some(shown);
        Some(StepTarget {
            method,
            views,
            real,
            segments,
            rendered,
        })
    }
}

/// A URL template with each `{{ ... }}` part replaced by placeholders of the names
/// it reads (include parameters followed to what they read).
fn marked_with_names(src: &str, st: &Step) -> String {
    let mut out = String::new();
    let mut rest = src;
    while let Some(start) = rest.find("{{").or_else(|| rest.find("{%")) {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .or_else(|| after.find("%}"))
            .unwrap_or(after.len());
        let span = &rest[start..(start + 2 + end + 2).min(rest.len())];
        let mut names = names_in(span);
        let mut expanded = Vec::new();
        // Follow parameters a few levels (an include's `with:` naming a capture).
        for _ in 0..4 {
            let mut next = Vec::new();
            for n in names.drain(..) {
                match st.params.iter().filter(|(p, _)| *p == n).last() {
                    Some((_, v)) => next.extend(names_in(&tvalue_text(v))),
                    None => expanded.push(n),
                }
            }
            if next.is_empty() {
                break;
            }
            names = next;
        }
        if expanded.is_empty() {
            expanded.push(String::new());
        }
        for n in expanded {
            out.push(MARK);
            out.push_str(&n);
            out.push(MARK);
        }
        rest = &rest[(start + 2 + end + 2).min(rest.len())..];
    }
    out.push_str(rest);
    out
}

/// A rendered path for people: placeholders shown as the `{{ name }}` they stand for.
fn show_placeholders(text: &str) -> String {
    let mut out = String::new();
    for (i, piece) in text.split(MARK).enumerate() {
        if i % 2 == 1 {
            out.push_str(&format!("{{{{ {piece} }}}}"));
        } else {
            out.push_str(piece);
        }
    }
    out
}

/// For scenarios aimed at a real server: costly steps their scenario does not allow,
/// and long-running jobs no `finally` step cancels. Steps are matched on the path as
/// the server will see it: every value known before the run rendered in (vars,
/// `--var`, the environment, include parameters, matrix values, the base URL), then
/// read the ways servers read paths ([`views_of_path`]).
pub fn refusals(
    scenarios: &[Scenario],
    catalog: &Catalog,
    target: impl Fn(&Scenario) -> Target,
    known: &Known<'_>,
) -> Diagnostics {
    let mut once = Once::default();
    for s in scenarios {
        let statics = Statics::new(s, known, target(s));
        let finally: Vec<(&Step, Option<StepTarget>)> =
            s.finally.iter().map(|f| (f, statics.step(f))).collect();
        for st in &s.steps {
            for d in step_problems(s, st, &statics, &finally, catalog) {
                once.push(d);
            }
        }
        for (st, t) in &finally {
            let Some(t) = t.as_ref().filter(|t| t.real) else {
                continue;
            };
            for e in catalog.matching_any(&t.method, &t.views) {
                if let Some(d) = not_allowed(s, st, t, e, catalog) {
                    once.push(d);
                }
            }
        }
    }
    once.out
}

fn step_problems(
    s: &Scenario,
    st: &Step,
    statics: &Statics<'_>,
    finally: &[(&Step, Option<StepTarget>)],
    catalog: &Catalog,
) -> Vec<Diagnostic> {
    let Some(t) = statics.step(st).filter(|t| t.real) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in catalog.matching_any(&t.method, &t.views) {
        if let Some(d) = not_allowed(s, st, &t, e, catalog) {
            out.push(d);
        }
        if let Some(cancel) = &e.cancel
            && !cancelled_in_finally(st, cancel, finally)
        {
            let uses = captured_names(st);
            let example = match uses.first() {
                Some(name) => cancel_example(&cancel.text, name),
                None => cancel_example(&cancel.text, "job_id"),
            };
            let why = if uses.is_empty() {
                "it captures nothing, so no `finally` step can cancel the job it starts".to_string()
            } else {
                format!(
                    "no `finally` step that always runs sends `{}` with what it captured ({})",
                    cancel.text,
                    uses.iter()
                        .map(|u| format!("`{u}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            let d = Diagnostic::new(
                st.file.as_ref(),
                st.loc,
                format!(
                    "step \"{}\" starts a long-running job, {}, and scenario `{}` does not cancel it: {why}",
                    st.name, e.what, s.name
                ),
            )
            .hint(format!(
                "capture the job id (`capture: {{ job_id: $.jobId }}`) and add a `finally:` step, without `skip`, sending `{example}`: it runs even when an assertion fails or the run is interrupted"
            ));
            out.push(d);
        }
    }
    out
}

fn not_allowed(
    s: &Scenario,
    st: &Step,
    t: &StepTarget,
    e: &CostlyEndpoint,
    catalog: &Catalog,
) -> Option<Diagnostic> {
    let missing: Vec<&str> = e
        .costs
        .iter()
        .filter(|k| !s.allow_cost.iter().any(|(a, _)| a == *k))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        return None;
    }
    let all: Vec<&str> = s
        .allow_cost
        .iter()
        .map(|(a, _)| a.as_str())
        .filter(|a| catalog.knows(a))
        .chain(missing.iter().copied())
        .collect();
    let rendered = t
        .rendered
        .as_ref()
        .map(|p| format!(", path {p}"))
        .unwrap_or_default();
    Some(
        Diagnostic::new(
            st.file.as_ref(),
            st.loc,
            format!(
                "step \"{}\" ({} {}{rendered}) costs {} on a real server: {}; scenario `{}` does not allow it",
                st.name,
                t.method,
                url_src(st),
                missing.join(" and "),
                e.what,
                s.name,
            ),
        )
        .hint(format!(
            "add `allow_cost: [{}]` to the scenario if it may, or run it against the embedded mock (no --base-url)",
            all.join(", ")
        )),
    )
}

/// Whether a `finally` step that is not skipped sends `cancel` with, in the place of
/// the job id, a value `start` captured (directly or through an include's `with:`).
fn cancelled_in_finally(
    start: &Step,
    cancel: &super::pattern::EndpointPattern,
    finally: &[(&Step, Option<StepTarget>)],
) -> bool {
    let captured = captured_names(start);
    if captured.is_empty() {
        return false;
    }
    finally.iter().any(|(f, t)| {
        let Some(t) = t else { return false };
        if f.skip.is_some() || !t.views.iter().any(|v| cancel.matches(&t.method, v)) {
            return false;
        }
        cancel.bound_segments(&t.segments).is_some_and(|bound| {
            !bound.is_empty()
                && bound.iter().any(|seg| {
                    placeholder_names(seg)
                        .iter()
                        .any(|n| captured.iter().any(|c| c == n))
                })
        })
    })
}

fn url_src(st: &Step) -> &str {
    match &st.action {
        Action::Request(r) => r.url.src.as_str(),
        Action::WaitWebhook(_) => "",
    }
}

fn captured_names(st: &Step) -> Vec<String> {
    st.capture.iter().map(|(n, _)| n.clone()).collect()
}

fn tvalue_text(v: &crate::scenario::values::TValue) -> String {
    use crate::scenario::values::TValue;
    match v {
        TValue::Str(t) => t.src.clone(),
        TValue::Seq(items, _) => items.iter().map(tvalue_text).collect::<Vec<_>>().join(" "),
        TValue::Map(entries, _) => entries
            .iter()
            .map(|e| tvalue_text(&e.value))
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

/// The identifiers inside the `{{ }}` / `{% %}` parts of a template.
fn names_in(src: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = src;
    while let Some(start) = rest.find(['{']) {
        let after = &rest[start + 1..];
        let close = match after.chars().next() {
            Some('{') => "}}",
            Some('%') => "%}",
            _ => {
                rest = after;
                continue;
            }
        };
        let inner = &after[1..];
        let end = inner.find(close).unwrap_or(inner.len());
        let code = &inner[..end];
        let mut word = String::new();
        let mut quote: Option<char> = None;
        for c in code.chars().chain(std::iter::once(' ')) {
            if let Some(q) = quote {
                if c == q {
                    quote = None;
                }
                continue;
            }
            if c == '\'' || c == '"' {
                quote = Some(c);
                word.clear();
            } else if c.is_ascii_alphanumeric() || c == '_' {
                word.push(c);
            } else if !word.is_empty() {
                if !word.chars().next().is_some_and(|c| c.is_ascii_digit()) {
                    out.push(std::mem::take(&mut word));
                }
                word.clear();
            }
        }
        rest = &inner[end.min(inner.len())..];
    }
    out
}

/// `POST /v1/jobs/{id}/cancel` with `{{ job_id }}` in place of the parameter.
fn cancel_example(pattern: &str, capture: &str) -> String {
    pattern
        .split('/')
        .map(|seg| {
            if seg.starts_with('{') && seg.ends_with('}') {
                format!("{{{{ {capture} }}}}")
            } else {
                seg.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The guard as the engine applies it to each request about to be sent.
#[derive(Debug, Clone)]
pub struct RuntimeGuard {
    pub catalog: Arc<Catalog>,
    /// The embedded mock's base URL, when the run started one.
    pub mock_base: Option<url::Url>,
}

impl RuntimeGuard {
    /// Why `method url` must not be sent for `scenario`, or `None` when it may go.
    pub fn refusal(&self, scenario: &Scenario, method: &str, url: &url::Url) -> Option<String> {
        if let Some(mock) = &self.mock_base
            && mock.origin() == url.origin()
        {
            return None;
        }
        let views = PathShape::views_of_url(url);
        let e = self
            .catalog
            .matching_any(method, &views)
            .into_iter()
            .find(|e| {
                e.costs
                    .iter()
                    .any(|k| !scenario.allow_cost.iter().any(|(a, _)| a == k))
            })?;
        let missing: Vec<&str> = e
            .costs
            .iter()
            .filter(|k| !scenario.allow_cost.iter().any(|(a, _)| a == *k))
            .map(String::as_str)
            .collect();
        Some(format!(
            "{method} {} costs {} on a real server ({}; see {}); add `allow_cost: [{}]` to scenario `{}` if it may",
            url.path(),
            missing.join(" and "),
            e.what,
            e.source,
            missing.join(", "),
            scenario.name
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_inside_templates() {
        assert_eq!(names_in("/v1/jobs/{{ job_id }}/cancel"), ["job_id"]);
        assert_eq!(
            names_in("{{ base }}/x/{{ ids[0] | default('x') }}"),
            ["base", "ids", "default"]
        );
        assert!(names_in("/v1/whoami").is_empty());
    }

    #[test]
    fn urls_about_to_be_sent_are_read_as_servers_read_them() {
        let guard = RuntimeGuard {
            catalog: Arc::new(Catalog::builtin()),
            mock_base: None,
        };
        let scenario = Scenario {
            index: 0,
            file: Arc::from(std::path::Path::new("s.yaml")),
            name: "s".into(),
            loc: crate::diagnostic::Loc::new(1, 1),
            description: None,
            base_url: None,
            vars: Vec::new(),
            headers: IndexMap::new(),
            secrets: Vec::new(),
            tags: Vec::new(),
            allow_cost: Vec::new(),
            skip: None,
            timeout: None,
            step_timeout: None,
            retries: None,
            scenario_retries: None,
            follow_redirects: None,
            inferred_secrets: Vec::new(),
            locks: Vec::new(),
            steps: Vec::new(),
            finally: Vec::new(),
        };
        for (path, refused) in [
            ("/v1/projects/p1/ingest/appstore", true),
            ("/v1/projects/p1/ingest%2Fappstore", true),
            ("/v1/projects/p1/ingest%252fappstore", true),
            ("/v1/projects/p1/x%2F..%2Fingest/appstore", true),
            ("/v1/projects/p1/ingest/AppStore", true),
            ("/v1/projects/p1/ingest/appstore;v=1", true),
            ("/v1/projects/p1/ingest%5Cappstore", true),
            ("/v1/projects/p1/ingest/appstore2", false),
            ("/v1/projects/p1/ingest", false),
            ("/v1/whoami", false),
        ] {
            let url = url::Url::parse(&format!("https://api.example.com{path}")).unwrap();
            assert_eq!(
                guard.refusal(&scenario, "POST", &url).is_some(),
                refused,
                "{path}"
            );
        }
    }

    #[test]
    fn placeholders_name_the_capture_they_stand_for() {
        let seg = format!("{MARK}job_id{MARK}-{MARK}x{MARK}");
        assert_eq!(placeholder_names(&seg), ["job_id", "x"]);
        assert!(placeholder_names("job_123").is_empty());
        assert_eq!(
            show_placeholders(&format!("/v1/jobs/{MARK}job_id{MARK}/cancel")),
            "/v1/jobs/{{ job_id }}/cancel"
        );
    }

    #[test]
    fn cancel_example_fills_the_parameter() {
        assert_eq!(
            cancel_example("POST /v1/jobs/{jobId}/cancel", "job_id"),
            "POST /v1/jobs/{{ job_id }}/cancel"
        );
    }
}
