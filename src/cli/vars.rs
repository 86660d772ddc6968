//! Variables from the command line: `--vars-file FILE` (a YAML map of `name: value`,
//! typically one file per environment) and `--var NAME=VALUE`, which wins over it.

use std::path::{Path, PathBuf};

use clap::Args;
use indexmap::IndexMap;
use serde_json::Value as J;

use crate::diagnostic::{Diagnostic, Diagnostics, Loc};
use crate::scenario::read;
use crate::secrets::Redactor;

/// `--var` and `--vars-file`, the same for `run`, `validate` and `list`.
#[derive(Debug, Args, Clone, Default)]
pub struct Variables {
    /// Set a template variable (wins over --vars-file and the files' vars). Repeatable.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// Read template variables from a YAML file of `name: value` lines (one file per
    /// environment, say); values keep their YAML types. Repeatable: later files win.
    #[arg(long = "vars-file", value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// One variable and where it was set, for messages (`--var token`, `staging.yaml`).
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    pub value: J,
    pub origin: String,
}

impl Variables {
    /// Every variable, files first in order, then `--var`; a later setting wins.
    pub fn resolve(&self) -> Result<IndexMap<String, Variable>, Diagnostics> {
        let mut out = IndexMap::new();
        let mut problems = Diagnostics::default();
        for file in &self.files {
            match read_file(file) {
                Ok(vars) => {
                    for (name, value) in vars {
                        let origin = file.display().to_string();
                        out.insert(name, Variable { value, origin });
                    }
                }
                Err(d) => problems.extend(d),
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        for (name, value) in &self.vars {
            let v = Variable {
                value: J::String(value.clone()),
                origin: format!("--var {name}"),
            };
            // Re-inserted so that the winning setting also decides the order.
            out.shift_remove(name);
            out.insert(name.clone(), v);
        }
        Ok(out)
    }
}

/// The names, for the checks that find undefined variables before anything is sent.
pub fn names(vars: &IndexMap<String, Variable>) -> Vec<String> {
    vars.keys().cloned().collect()
}

/// Mask what these variables hold when they are secrets: named with `--secret`, or
/// named like a secret (`*_KEY`, `*_TOKEN`, `*_SECRET`, `*_PASSWORD`), as for the
/// environment.
pub fn add_secrets(vars: &IndexMap<String, Variable>, secret_names: &[String], r: &Redactor) {
    for (name, v) in vars {
        let text = match &v.value {
            J::String(s) => s.clone(),
            J::Null => continue,
            other => other.to_string(),
        };
        let label = if v.origin.starts_with("--var") {
            v.origin.clone()
        } else {
            format!("{name} in {}", v.origin)
        };
        if secret_names.iter().any(|s| s == name) {
            // Named a secret: a number or a mapping is one too, every value in it.
            r.add_value(&v.value, &label);
        } else {
            r.add_if_secret_name(name, &text, &label);
        }
    }
}

fn read_file(path: &Path) -> Result<IndexMap<String, J>, Diagnostics> {
    let read = read_vars(path);
    // A vars file holds what stays out of the scenarios, credentials first: a
    // problem in it names the place, never quotes the line.
    crate::diagnostic::forget_source(path);
    read
}

fn read_vars(path: &Path) -> Result<IndexMap<String, J>, Diagnostics> {
    let vars: IndexMap<String, J> = match read::parse_yaml(path) {
        Ok(v) => v,
        // An empty file (all comments, say) sets nothing; that is no mistake.
        Err(_) if is_blank(path) => return Ok(IndexMap::new()),
        Err(d) => return Err(d),
    };
    let mut problems = Diagnostics::default();
    for name in vars.keys() {
        if !is_name(name) {
            problems.push(
                Diagnostic::new(
                    path,
                    key_loc(path, name),
                    format!("`{name}` is not a variable name"),
                )
                .width(name.chars().count().max(1))
                .hint("use letters, digits and _ (templates read it as `{{ name }}`)"),
            );
        }
    }
    if problems.is_empty() {
        Ok(vars)
    } else {
        Err(problems)
    }
}

fn is_blank(path: &Path) -> bool {
    read::read_capped(path, 1 << 20).is_ok_and(|bytes| {
        String::from_utf8_lossy(&bytes)
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    })
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

/// Where `name:` is written at the top level of the file, for the caret.
fn key_loc(path: &Path, name: &str) -> Loc {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Loc::UNKNOWN;
    };
    for (i, line) in text.lines().enumerate() {
        let unquoted = line.trim_start_matches(['"', '\'']);
        if unquoted.starts_with(name) && !line.starts_with([' ', '\t']) {
            let col = line.len() - unquoted.len() + 1;
            return Loc::new(
                u32::try_from(i + 1).unwrap_or(u32::MAX),
                u32::try_from(col).unwrap_or(u32::MAX),
            );
        }
    }
    Loc::UNKNOWN
}

fn parse_var(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` should look like NAME=VALUE"))?;
    let k = k.trim();
    if !is_name(k) {
        return Err(format!(
            "`{k}` is not a variable name (letters, digits, _; not starting with a digit)"
        ));
    }
    Ok((k.to_string(), v.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn later_settings_win_and_values_keep_their_types() {
        let dir = tempfile::tempdir().unwrap();
        let base = write(
            dir.path(),
            "base.yaml",
            "user: qa\nretries: 3\nflags: [a, b]\n",
        );
        let staging = write(dir.path(), "staging.yaml", "# staging\nuser: qa-staging\n");
        let v = Variables {
            vars: vec![("retries".into(), "5".into())],
            files: vec![base, staging.clone()],
        };
        let r = v.resolve().unwrap();
        assert_eq!(r["user"].value, J::from("qa-staging"));
        assert_eq!(r["user"].origin, staging.display().to_string());
        assert_eq!(r["flags"].value, serde_json::json!(["a", "b"]));
        assert_eq!(r["retries"].value, J::from("5"), "--var wins, as text");
        assert_eq!(r["retries"].origin, "--var retries");
    }

    #[test]
    fn a_file_of_comments_sets_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "blank.yaml",
            "# nothing for this environment\n\n",
        );
        let v = Variables {
            vars: vec![],
            files: vec![f],
        };
        assert!(v.resolve().unwrap().is_empty());
    }

    #[test]
    fn a_bad_name_points_at_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(dir.path(), "env.yaml", "ok: 1\nnot-a-name: 2\n");
        let v = Variables {
            vars: vec![],
            files: vec![f],
        };
        let d = v.resolve().unwrap_err();
        let text = d.render();
        assert!(text.contains("env.yaml:2:1"), "{text}");
        assert!(
            text.contains("`not-a-name` is not a variable name"),
            "{text}"
        );
    }

    /// A vars file holds credentials: its problems never quote its lines.
    #[test]
    fn a_problem_in_a_vars_file_does_not_quote_it() {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in [
            ("unclosed.yaml", "API_KEY: \"SuperSecretVarsFile1\n"),
            (
                "twice.yaml",
                "DB_PASSWORD: a\nDB_PASSWORD: SuperSecretVarsFile2\n",
            ),
            ("badname.yaml", "not-a-name: SuperSecretVarsFile3\n"),
        ] {
            let f = write(dir.path(), name, text);
            let v = Variables {
                vars: vec![],
                files: vec![f],
            };
            let shown = v.resolve().unwrap_err().render();
            assert!(shown.contains(name), "{shown}");
            assert!(!shown.contains("SuperSecretVarsFile"), "{shown}");
        }
    }

    #[test]
    fn a_missing_file_and_a_list_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let list = write(dir.path(), "list.yaml", "- a\n- b\n");
        for f in [dir.path().join("nope.yaml"), list] {
            let v = Variables {
                vars: vec![],
                files: vec![f.clone()],
            };
            assert!(v.resolve().is_err(), "{}", f.display());
        }
    }

    #[test]
    fn secret_looking_names_are_masked() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "env.yaml",
            "LAYERS_API_KEY: lp_test_01JMOCKDEM0KEY00_c2VjcmV0LXZhbHVlLWZvci10ZXN0aW5nLW9ubHkwMDA\nuser: qa-person\npin: hunter22\n",
        );
        let v = Variables {
            vars: vec![],
            files: vec![f],
        };
        let vars = v.resolve().unwrap();
        let r = Redactor::new();
        add_secrets(&vars, &["pin".to_string()], &r);
        let out = r.scrub(
            "key lp_test_01JMOCKDEM0KEY00_c2VjcmV0LXZhbHVlLWZvci10ZXN0aW5nLW9ubHkwMDA user qa-person pin hunter22",
        );
        assert!(!out.contains("c2VjcmV0"), "{out}");
        assert!(out.contains("qa-person"), "{out}");
        assert!(!out.contains("hunter22"), "{out}");
    }
}
