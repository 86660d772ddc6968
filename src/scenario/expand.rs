//! A scenario's cases: one per `data:` row or per `matrix:` combination, each
//! named after its values.

use indexmap::IndexMap;
use serde_saphyr::Spanned;

use super::load::Loader;
use super::suite::{Action, Scenario};
use super::values::TValue;
use crate::diagnostic::{Diagnostic, Loc};

/// `matrix:` values by name.
pub(super) type Matrix = IndexMap<String, Vec<TValue>>;
/// A matrix expanding into more cases than this is refused.
const MAX_MATRIX_CASES: usize = 10_000;
/// The matrices of one run expanding into more cases than this, all files together,
/// are refused: each case is a copy of its scenario, and 100 files of 10 000 cases
/// took gigabytes.
pub const MAX_TOTAL_MATRIX_CASES: usize = 50_000;

impl Loader {
    /// A scenario's cases: one per `data:` row, or per `matrix` combination.
    pub(super) fn expand_cases(
        &mut self,
        (base, matrix, data): (Scenario, Option<Matrix>, Option<Spanned<String>>),
    ) -> Vec<Scenario> {
        let Some(data) = data else {
            return self.expand_matrix(base, matrix);
        };
        let loc: Loc = data.referenced.into();
        if matrix.is_some() {
            self.diags.push(
                Diagnostic::new(
                    base.file.as_ref(),
                    loc,
                    "a scenario takes its cases from `data` or from `matrix`, not both",
                )
                .hint("put the matrix values into the data file's columns"),
            );
            return Vec::new();
        }
        match super::data::read_rows(&base.file, &data.value, loc, MAX_MATRIX_CASES) {
            Ok(rows) => self.expand_rows(base, rows),
            Err(msg) => {
                self.diags
                    .push(Diagnostic::new(base.file.as_ref(), loc, msg));
                Vec::new()
            }
        }
    }

    /// One scenario per data row, named by the name template or by its row number:
    /// stable and unique, so each row is its own JUnit testcase.
    fn expand_rows(&mut self, base: Scenario, rows: Vec<super::data::Row>) -> Vec<Scenario> {
        let templated = super::values::has_template_syntax(&base.name);
        let mut names = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            names.push(if templated {
                match render_name(&base.name, row) {
                    Ok(n) => n,
                    Err(msg) => {
                        self.diags
                            .push(Diagnostic::new(base.file.as_ref(), base.loc, msg));
                        return Vec::new();
                    }
                }
            } else {
                format!("{} [row {}]", base.name, i + 1)
            });
        }
        // Two rows that render the same name keep their row numbers to tell them apart.
        let dup: Vec<bool> = names
            .iter()
            .map(|n| names.iter().filter(|m| *m == n).count() > 1)
            .collect();
        let mut out = Vec::with_capacity(rows.len());
        for (i, row) in rows.into_iter().enumerate() {
            let mut s = base.clone();
            s.name = if dup[i] {
                format!("{} [row {}]", names[i], i + 1)
            } else {
                names[i].clone()
            };
            let own: Vec<(String, TValue)> = std::mem::take(&mut s.vars)
                .into_iter()
                .filter(|(k, _)| !row.iter().any(|(m, _)| m == k))
                .collect();
            s.vars = row;
            s.vars.extend(own);
            out.push(s);
        }
        out
    }

    fn expand_matrix(&mut self, base: Scenario, matrix: Option<Matrix>) -> Vec<Scenario> {
        let mut out = self.expand_matrix_cases(base, matrix);
        for s in &mut out {
            render_default_step_names(s);
        }
        out
    }

    fn expand_matrix_cases(&mut self, base: Scenario, matrix: Option<Matrix>) -> Vec<Scenario> {
        let Some(matrix) = matrix.filter(|m| !m.is_empty()) else {
            return vec![base];
        };
        let total = matrix
            .values()
            .map(Vec::len)
            .try_fold(1usize, |acc, n| acc.checked_mul(n));
        match total {
            Some(0) => {
                self.diags.push(Diagnostic::new(
                    base.file.as_ref(),
                    base.loc,
                    "a matrix entry has no values",
                ));
                return Vec::new();
            }
            Some(n) if n <= MAX_MATRIX_CASES => {}
            _ => {
                self.diags.push(Diagnostic::new(
                    base.file.as_ref(),
                    base.loc,
                    format!("the matrix expands to more than {MAX_MATRIX_CASES} cases"),
                ));
                return Vec::new();
            }
        }
        let n = total.unwrap_or(0);
        let before = self
            .cases
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        if before.saturating_add(n) > MAX_TOTAL_MATRIX_CASES {
            self.diags.push(
                Diagnostic::new(
                    base.file.as_ref(),
                    base.loc,
                    format!(
                        "the matrices of this run expand to more than {MAX_TOTAL_MATRIX_CASES} cases in all (this one adds {n}, after {before} from other matrices)"
                    ),
                )
                .hint("run the files in smaller groups, or give fewer values per matrix"),
            );
            return Vec::new();
        }
        let keys: Vec<&String> = matrix.keys().collect();
        let mut cases: Vec<Vec<(String, TValue)>> = vec![Vec::new()];
        for k in &keys {
            let mut next = Vec::new();
            for case in &cases {
                for v in &matrix[*k] {
                    let mut c = case.clone();
                    c.push(((*k).clone(), v.clone()));
                    next.push(c);
                }
            }
            cases = next;
        }
        let templated = super::values::has_template_syntax(&base.name);
        let mut out = Vec::with_capacity(cases.len());
        for case in cases {
            let mut s = base.clone();
            s.name = if templated {
                match render_name(&base.name, &case) {
                    Ok(n) => n,
                    Err(msg) => {
                        self.diags
                            .push(Diagnostic::new(base.file.as_ref(), base.loc, msg));
                        base.name.clone()
                    }
                }
            } else {
                let label: Vec<String> = case
                    .iter()
                    .map(|(k, v)| format!("{k}={}", display_literal(v)))
                    .collect();
                format!("{} [{}]", base.name, label.join(", "))
            };
            // Matrix values come first, so that `vars:` can build on them; a var
            // of the same name as a matrix key would hide the case's value.
            let own: Vec<(String, TValue)> = std::mem::take(&mut s.vars)
                .into_iter()
                .filter(|(k, _)| !case.iter().any(|(m, _)| m == k))
                .collect();
            s.vars = case;
            s.vars.extend(own);
            out.push(s);
        }
        out
    }
}

/// A step named after its request (`GET {{ path }}`) shows the URL as it will be
/// sent when the scenario's values already say it (`GET /v1/nope`); a name that
/// needs a capture keeps its template text.
fn render_default_step_names(s: &mut Scenario) {
    let literal: Vec<(String, TValue)> = s
        .vars
        .iter()
        .filter(|(_, v)| v.as_literal_json().is_some())
        .cloned()
        .collect();
    for step in s.steps.iter_mut().chain(s.finally.iter_mut()) {
        let Action::Request(r) = &step.action else {
            continue;
        };
        let method = r
            .method
            .as_ref()
            .map_or("GET".to_string(), |m| m.value.to_uppercase());
        let default = format!("{method} {}", r.url.src);
        if step.name != default || !super::values::has_template_syntax(&default) {
            continue;
        }
        if let Ok(rendered) = render_name(&default, &literal) {
            step.name = rendered;
        }
    }
}

/// A matrix case's name: the name template rendered with the case's values.
fn render_name(name: &str, case: &[(String, TValue)]) -> Result<String, String> {
    let mut ctx = serde_json::Map::new();
    for (k, v) in case {
        match v.as_literal_json() {
            Some(j) => {
                ctx.insert(k.clone(), j);
            }
            None => return Err(format!("matrix value `{k}` cannot hold a template")),
        }
    }
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_formatter(crate::template::format_value);
    env.render_str(
        name,
        crate::template::to_value(serde_json::Value::Object(ctx)),
    )
    .map_err(|e| {
        format!(
            "the scenario name `{name}` cannot be rendered from the matrix: {}",
            e.detail().unwrap_or("undefined value")
        )
    })
}

fn display_literal(v: &TValue) -> String {
    match v.as_literal_json() {
        Some(serde_json::Value::String(s)) => s,
        Some(j) => j.to_string(),
        None => "?".into(),
    }
}
