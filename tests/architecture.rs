//! The dependency rules of docs/architecture.md, checked against the source.
//!
//! A module's dependencies are read from the text of its files: every `crate::name` path and
//! every name inside a `use crate::{...}` group, plus the mock crate by its crate name. Reading
//! text rather than resolving names is enough here because the rules are about top-level
//! modules, and a path to another top-level module must spell its name after `crate::`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules and what each may not import, with the reason a reader of a failure needs.
const FORBIDDEN: &[(&str, &str, &str)] = &[
    (
        "engine",
        "report",
        "the engine sends events; it never knows who reads them",
    ),
    (
        "engine",
        "cli",
        "the engine runs a plan; the command line builds it",
    ),
    (
        "engine",
        "mock",
        "the engine runs against any server; the mock is one of them",
    ),
    (
        "report",
        "engine",
        "reporters render events, not the engine's internals",
    ),
    ("events", "report", "events are data below the reporters"),
    (
        "events",
        "engine",
        "events are data the engine produces, not its internals",
    ),
    (
        "scenario",
        "engine",
        "the file format is below the engine that runs it",
    ),
    (
        "scenario",
        "report",
        "the file format is below the reporters",
    ),
];

/// Dependencies that break a rule today and are being removed. The test fails when one of
/// them is gone, so the list only ever shrinks and never hides a fixed rule.
const KNOWN_VIOLATIONS: &[(&str, &str)] = &[];

/// Leaves every layer may use: they use no other module of the runner.
const LEAVES: &[&str] = &["curl", "text", "number", "jsonyaml", "exit"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {dir:?}: {e}"));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to: `src/engine/step.rs` → `engine`,
/// `src/events.rs` → `events`.
fn top_module(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("a file under src/");
    let first = rel.components().next().expect("a non-empty path");
    let name = first.as_os_str().to_string_lossy();
    name.strip_suffix(".rs").unwrap_or(&name).to_string()
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The top-level modules a piece of Rust text names through `crate::`.
fn crate_paths(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(is_ident_char) {
            continue; // e.g. `layers_mock_crate::`, not our `crate::`
        }
        if let Some(group) = rest.strip_prefix('{') {
            // `use crate::{a::b, c, d::{e, f}}`: the first name of each top-level item.
            let mut depth = 0usize;
            let mut item_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && is_ident_char(c) => {
                        let name: String = group[i..]
                            .chars()
                            .take_while(|c| is_ident_char(*c))
                            .collect();
                        found.insert(name);
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let name: String = rest.chars().take_while(|c| is_ident_char(*c)).collect();
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    if text.contains("layers_mock::") || text.contains("use layers_mock") {
        found.insert("mock".to_string());
    }
    found
}

/// Every top-level module of `src/` and the other top-level modules it uses.
fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let module = top_module(&src, &file);
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file:?}: {e}"));
        let used = deps.entry(module.clone()).or_default();
        for name in crate_paths(&text) {
            if name != module {
                used.insert(name);
            }
        }
    }
    deps
}

/// Every broken rule, as (from, to, why).
fn violations(deps: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<(String, String, String)> {
    let mut broken = BTreeSet::new();
    let uses = |from: &str, to: &str| deps.get(from).is_some_and(|d| d.contains(to));
    for (from, to, why) in FORBIDDEN {
        if uses(from, to) {
            broken.insert((from.to_string(), to.to_string(), why.to_string()));
        }
    }
    for (from, used) in deps {
        if from != "cli" && from != "main" && from != "lib" && used.contains("mock") {
            broken.insert((
                from.clone(),
                "mock".into(),
                "the mock is a crate apart: only the command line starts it".into(),
            ));
        }
        if from != "cli" && from != "main" && from != "lib" && used.contains("cli") {
            broken.insert((
                from.clone(),
                "cli".into(),
                "only the command line may use the command line".into(),
            ));
        }
    }
    for leaf in LEAVES {
        for used in deps.get(*leaf).into_iter().flatten() {
            broken.insert((
                leaf.to_string(),
                used.clone(),
                "a leaf module uses no other module of the runner".into(),
            ));
        }
    }
    if uses("template", "scenario") && uses("scenario", "template") {
        let why = "template/ and scenario/ import each other: one of the two directions must go";
        broken.insert(("template".into(), "scenario".into(), why.into()));
        broken.insert(("scenario".into(), "template".into(), why.into()));
    }
    broken
}

#[test]
fn module_dependencies_follow_the_documented_direction() {
    let deps = dependencies();
    assert!(
        deps.contains_key("engine") && deps.contains_key("report"),
        "the scan found no engine/report modules: {:?}",
        deps.keys().collect::<Vec<_>>()
    );
    let broken = violations(&deps);
    let known: BTreeSet<(String, String)> = KNOWN_VIOLATIONS
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let new: Vec<String> = broken
        .iter()
        .filter(|(a, b, _)| !known.contains(&(a.clone(), b.clone())))
        .map(|(a, b, why)| format!("src/{a} imports crate::{b}: {why}"))
        .collect();
    assert!(
        new.is_empty(),
        "dependency rules broken:\n{}",
        new.join("\n")
    );
    let fixed: Vec<String> = known
        .iter()
        .filter(|(a, b)| !broken.iter().any(|(x, y, _)| x == a && y == b))
        .map(|(a, b)| format!("({a:?}, {b:?})"))
        .collect();
    assert!(
        fixed.is_empty(),
        "these rules hold now: remove them from KNOWN_VIOLATIONS: {}",
        fixed.join(", ")
    );
}

#[test]
fn the_scan_reads_grouped_and_plain_paths() {
    let text = "use crate::{report::redact, cli::{a, b}, events};\nlet x = crate::engine::run();\n\
                let y = my_crate::cli::x;\nuse layers_mock::serve;";
    let found: Vec<String> = crate_paths(text).into_iter().collect();
    assert_eq!(found, ["cli", "engine", "events", "mock", "report"]);
}

#[test]
fn a_broken_rule_is_reported() {
    let mut deps = BTreeMap::new();
    deps.insert("engine".to_string(), BTreeSet::from(["report".to_string()]));
    deps.insert("select".to_string(), BTreeSet::from(["cli".to_string()]));
    deps.insert(
        "template".to_string(),
        BTreeSet::from(["scenario".to_string()]),
    );
    deps.insert(
        "scenario".to_string(),
        BTreeSet::from(["template".to_string()]),
    );
    let pairs: Vec<(String, String)> = violations(&deps)
        .into_iter()
        .map(|(a, b, _)| (a, b))
        .collect();
    let expect = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        pairs,
        [
            expect("engine", "report"),
            expect("scenario", "template"),
            expect("select", "cli"),
            expect("template", "scenario"),
        ]
    );
}
