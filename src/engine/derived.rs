//! What templates make of secrets: `{{ env.API_KEY | upper }}` is a secret too.
//! The masking knows a secret by its value; a template that transforms one
//! (upper case, a slice, reversed, spelled out, hashed) makes a value it has never
//! seen, so each such value is learnt as it is rendered, before any output.

use minijinja::Value;

use crate::scenario::Scenario;
use crate::scenario::values::Tpl;
use crate::secrets::Redactor;
use crate::template::Templates;

/// Whether template `t` reads a secret (see [`is_secret_name`]).
pub fn reads_a_secret(templates: &Templates, t: &Tpl, s: &Scenario) -> bool {
    reads_within(templates, t, s, VAR_DEPTH)
}

/// How many `vars:` deep a secret is followed (`a: "{{ env.API_KEY }}"`, then
/// `b: "{{ a }}"`...).
const VAR_DEPTH: usize = 8;

fn reads_within(templates: &Templates, t: &Tpl, s: &Scenario, depth: usize) -> bool {
    !t.is_literal()
        && templates
            .nested_names_used(t)
            .iter()
            .any(|n| is_secret_name(templates, n, s, depth))
}

/// Whether the dotted name `n` a template reads is a secret: a variable listed
/// under `secrets:` or found to flow into one, an environment variable that is
/// set and whose name says it is one (`*_KEY`, `*_TOKEN`, `*_SECRET`,
/// `*_PASSWORD`), or a variable of `vars:` made from one
/// (`api_key: "{{ env.API_KEY }}"`). A capture or a parameter is a secret by
/// the checker's flow analysis only, not by its name: `idempotency_key` or
/// `next_page_token` hold none.
fn is_secret_name(templates: &Templates, n: &str, s: &Scenario, depth: usize) -> bool {
    let mut parts = n.split('.');
    let top = parts.next().unwrap_or_default();
    if top == "env" {
        return parts.next().is_some_and(|var| {
            crate::secrets::is_secret_var_name(var) && std::env::var_os(var).is_some()
        });
    }
    s.secrets
        .iter()
        .chain(&s.inferred_secrets)
        .any(|x| x == top)
        || (depth > 0
            && s.vars
                .iter()
                .filter(|(v, _)| v == top)
                .flat_map(|(_, value)| value.strings())
                .any(|t| reads_within(templates, t, s, depth - 1)))
}

/// What each `{{ expression }}` of `t` that reads a secret renders to alone,
/// except text written in the template itself (`'production' if env.API_KEY
/// else 'sandbox'` makes no secret): the pieces a secret went into, not the text
/// around them nor the other expressions, so that the rest of a URL or a body
/// stays readable.
pub fn pieces(templates: &Templates, t: &Tpl, scope: &Value, s: &Scenario) -> Vec<String> {
    t.expressions()
        .into_iter()
        .filter(|e| {
            templates
                .expression_names(e)
                .iter()
                .any(|n| is_secret_name(templates, n, s, VAR_DEPTH))
        })
        .filter_map(|e| templates.render_expression(e, scope))
        .filter(|out| !out.is_empty() && !t.src.contains(out.as_str()))
        .collect()
}

/// Learn what templates `tpls` make of a secret ([`pieces`]), before anything
/// shows them.
pub fn learn<'t>(
    templates: &Templates,
    tpls: impl IntoIterator<Item = &'t Tpl>,
    scope: &Value,
    s: &Scenario,
    redactor: &Redactor,
) {
    for t in tpls {
        if reads_a_secret(templates, t, s) {
            for piece in pieces(templates, t, scope, s) {
                redactor.add_derived(&piece, "a value rendered from a secret");
            }
        }
    }
}
