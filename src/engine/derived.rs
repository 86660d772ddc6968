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
    !t.is_literal()
        && templates
            .nested_names_used(t)
            .iter()
            .any(|n| is_secret_name(n, s))
}

/// Whether the dotted name `n` a template reads is a secret: a variable listed
/// under `secrets:` or found to flow into one, an environment variable that is
/// set and whose name says it is one (`*_KEY`, `*_TOKEN`, `*_SECRET`,
/// `*_PASSWORD`), or such a name the scenario does not define itself (a
/// `--var`, a capture).
fn is_secret_name(n: &str, s: &Scenario) -> bool {
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
        || (crate::secrets::is_secret_var_name(top) && !s.vars.iter().any(|(v, _)| v == top))
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
                .any(|n| is_secret_name(n, s))
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
