//! The cost guard: before anything is sent, find the steps that would cost money or
//! reach outside systems on a real server, and refuse them unless their scenario
//! allows it (`allow_cost:`) and cancels the jobs it starts (`finally:`). While the
//! run goes, the same rule is applied again to every URL actually about to be sent.

use std::collections::HashSet;
use std::sync::Arc;

use super::catalog::{Catalog, CostlyEndpoint};
use super::pattern::{PathShape, is_absolute_template, starts_dynamic};
use crate::diagnostic::{Diagnostic, Diagnostics, did_you_mean};
use crate::scenario::{Action, Scenario, Step};

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

/// For scenarios aimed at a real server: costly steps their scenario does not allow,
/// and long-running jobs no `finally` step cancels.
pub fn refusals(
    scenarios: &[Scenario],
    catalog: &Catalog,
    target: impl Fn(&Scenario) -> Target,
) -> Diagnostics {
    let mut once = Once::default();
    for s in scenarios {
        let scenario_target = target(s);
        for st in &s.steps {
            for d in step_problems(s, st, scenario_target, catalog) {
                once.push(d);
            }
        }
        for st in &s.finally {
            for d in costly_without_leave(s, st, scenario_target, catalog) {
                once.push(d);
            }
        }
    }
    once.out
}

/// The method and static path of a request step, and whether it may leave the mock.
fn request_shape(st: &Step, scenario_target: Target) -> Option<(String, PathShape, bool)> {
    let Action::Request(r) = &st.action else {
        return None;
    };
    let method = r
        .method
        .as_ref()
        .map_or_else(|| "GET".to_string(), |m| m.value.to_uppercase());
    let shape = PathShape::of_template(&r.url.src)?;
    // Against the embedded mock, relative URLs stay there; an absolute URL goes where
    // it says. A URL that starts with template code is checked when it is rendered.
    let real = match scenario_target {
        Target::Real => true,
        Target::EmbeddedMock => is_absolute_template(&r.url.src) && !starts_dynamic(&r.url.src),
    };
    Some((method, shape, real))
}

fn costly_without_leave(
    s: &Scenario,
    st: &Step,
    scenario_target: Target,
    catalog: &Catalog,
) -> Vec<Diagnostic> {
    let Some((method, shape, real)) = request_shape(st, scenario_target) else {
        return Vec::new();
    };
    if !real {
        return Vec::new();
    }
    catalog
        .matching(&method, &shape)
        .filter_map(|e| not_allowed(s, st, e, &method, catalog))
        .collect()
}

fn step_problems(
    s: &Scenario,
    st: &Step,
    scenario_target: Target,
    catalog: &Catalog,
) -> Vec<Diagnostic> {
    let Some((method, shape, real)) = request_shape(st, scenario_target) else {
        return Vec::new();
    };
    if !real {
        return Vec::new();
    }
    let mut out = Vec::new();
    for e in catalog.matching(&method, &shape) {
        if let Some(d) = not_allowed(s, st, e, &method, catalog) {
            out.push(d);
        }
        if let Some(cancel) = &e.cancel
            && !cancelled_in_finally(s, st, cancel)
        {
            let uses = captured_names(st);
            let example = match uses.first() {
                Some(name) => cancel_example(&cancel.text, name),
                None => cancel.text.clone(),
            };
            let d = Diagnostic::new(
                st.file.as_ref(),
                st.loc,
                format!(
                    "step \"{}\" starts a long-running job, {}, and no `finally` step of scenario `{}` cancels it",
                    st.name, e.what, s.name
                ),
            )
            .hint(format!(
                "capture the job id and add a `finally:` step sending `{example}`: it runs even when an assertion fails or the run is interrupted"
            ));
            out.push(d);
        }
    }
    out
}

fn not_allowed(
    s: &Scenario,
    st: &Step,
    e: &CostlyEndpoint,
    method: &str,
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
    Some(
        Diagnostic::new(
            st.file.as_ref(),
            st.loc,
            format!(
                "step \"{}\" ({method} {}) costs {} on a real server: {}; scenario `{}` does not allow it",
                st.name,
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

/// Whether a `finally` step sends `cancel` using something `start` captured (its
/// job id, directly or through an include's `with:`).
fn cancelled_in_finally(
    s: &Scenario,
    start: &Step,
    cancel: &super::pattern::EndpointPattern,
) -> bool {
    let captured = captured_names(start);
    s.finally.iter().any(|f| {
        let Action::Request(r) = &f.action else {
            return false;
        };
        let method = r
            .method
            .as_ref()
            .map_or_else(|| "GET".to_string(), |m| m.value.to_uppercase());
        let Some(shape) = PathShape::of_template(&r.url.src) else {
            return false;
        };
        if !cancel.matches(&method, &shape) {
            return false;
        }
        let mut sources = vec![r.url.src.as_str()];
        let param_sources: Vec<String> = f.params.iter().map(|(_, v)| tvalue_text(v)).collect();
        sources.extend(param_sources.iter().map(String::as_str));
        captured.is_empty()
            || captured
                .iter()
                .any(|name| sources.iter().any(|src| names_in(src).contains(name)))
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
        let shape = PathShape::of_url(url);
        let e = self.catalog.matching(method, &shape).find(|e| {
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
    fn cancel_example_fills_the_parameter() {
        assert_eq!(
            cancel_example("POST /v1/jobs/{jobId}/cancel", "job_id"),
            "POST /v1/jobs/{{ job_id }}/cancel"
        );
    }
}
