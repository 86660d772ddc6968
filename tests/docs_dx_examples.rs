//! The commands in the CI and live-API docs work as printed.
//!
//! (Scenario examples, the ```yaml blocks starting with `# example:`, are run by
//! tests/docs_examples.rs. This file covers what that test cannot run: the CI
//! recipes of docs/ci.md and the live-API procedure of docs/live-api.md.)
//!
//! - Every YAML block of docs/ci.md and docs/live-api.md parses.
//! - The sharded command of each CI recipe (GitHub Actions, GitLab CI, Kubernetes)
//!   is run for each of its shards, with the variables the CI would set; the shards'
//!   JUnit files together hold every scenario of `scenarios/` exactly once.
//! - The `runner` commands of docs/live-api.md run against a local Layers mock
//!   standing in for https://api.layers.com (tests never leave 127.0.0.1).

#[path = "support/dx.rs"]
mod dx;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(300);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The fenced blocks of a markdown file: (language, text).
fn fenced(doc: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(root().join(doc)).expect("the doc exists");
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(info) = line.trim_start().strip_prefix("```") else {
            continue;
        };
        let lang = info.trim().to_string();
        let mut body = String::new();
        for l in lines.by_ref() {
            if l.trim_start().starts_with("```") {
                break;
            }
            body.push_str(l);
            body.push('\n');
        }
        out.push((lang, body));
    }
    out
}

/// Every string in a YAML document, depth first.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
        Value::Object(m) => m.values().for_each(|i| strings(i, out)),
        _ => {}
    }
}

fn yaml_blocks(doc: &str) -> Vec<Value> {
    fenced(doc)
        .into_iter()
        .filter(|(lang, _)| lang == "yaml")
        .map(|(_, text)| {
            serde_saphyr::from_str::<Value>(&text)
                .unwrap_or_else(|e| panic!("a YAML block of {doc} does not parse: {e}\n{text}"))
        })
        .collect()
}

/// Lines of the docs' YAML that run the runner.
fn runner_commands(doc: &str) -> Vec<String> {
    let mut all = Vec::new();
    for v in yaml_blocks(doc) {
        strings(&v, &mut all);
    }
    all.iter()
        .flat_map(|s| {
            s.lines()
                .map(str::trim)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter(|l| {
            l.split_whitespace()
                .next()
                .is_some_and(|p| p == "runner" || p.ends_with("/runner"))
        })
        .collect()
}

/// Copy `scenarios/` (and the schema its files point at) into `dir`.
fn copy_suite(dir: &Path) {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).expect("mkdir");
        for e in std::fs::read_dir(from).expect("read dir").flatten() {
            let p = e.path();
            let target = to.join(e.file_name());
            if p.is_dir() {
                copy(&p, &target);
            } else {
                std::fs::copy(&p, &target).expect("copy");
            }
        }
    }
    copy(&root().join("scenarios"), &dir.join("scenarios"));
    copy(&root().join("schemas"), &dir.join("schemas"));
}

/// `runner ARGS` with the binary under test.
fn run_line(dir: &Path, line: &str, env: &[(&str, &str)]) -> dx::Output {
    assert!(!line.contains('$'), "a variable was left in `{line}`");
    let args: Vec<&str> = line.split_whitespace().skip(1).collect();
    dx::run_with_limit(dir, &args, env, LIMIT)
}

/// (suite, testcase) pairs of a JUnit file.
fn testcases(xml: &str) -> Vec<String> {
    let suite_re = regex::Regex::new(r#"<testsuite name="([^"]+)""#).expect("regex");
    let case_re = regex::Regex::new(r#"<testcase name="([^"]+)""#).expect("regex");
    let mut out = Vec::new();
    let mut suite = String::new();
    for line in xml.lines() {
        if let Some(c) = suite_re.captures(line) {
            suite = c[1].to_string();
        }
        if let Some(c) = case_re.captures(line) {
            out.push(format!("{suite} :: {}", &c[1]));
        }
    }
    out
}

#[test]
fn every_yaml_block_of_the_ci_and_live_api_docs_parses() {
    assert!(yaml_blocks("docs/ci.md").len() >= 3);
    assert!(!yaml_blocks("docs/live-api.md").is_empty());
}

#[test]
fn each_ci_recipe_runs_every_scenario_exactly_once_across_its_shards() {
    let commands: Vec<String> = runner_commands("docs/ci.md")
        .into_iter()
        .filter(|c| c.contains("--shard"))
        .collect();
    assert_eq!(
        commands.len(),
        3,
        "one sharded command per recipe (GitHub, GitLab, Kubernetes): {commands:#?}"
    );
    let listing = {
        let tmp = tempfile::tempdir().expect("tmp");
        copy_suite(tmp.path());
        let out = dx::run_with_limit(tmp.path(), &["list", "scenarios/"], &[], LIMIT);
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        out.stdout.lines().count()
    };
    assert!(listing >= 5, "the suite is too small to show anything");
    for command in &commands {
        let tmp = tempfile::tempdir().expect("tmp");
        copy_suite(tmp.path());
        // The recipes' `--shard-timings timings/`: empty, as on a first run.
        std::fs::create_dir_all(tmp.path().join("timings")).expect("mkdir timings");
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for k in 1..=3 {
            // What GitHub's matrix, GitLab's `parallel:` and Kubernetes set.
            let line = command
                .replace("${{ matrix.shard }}", &k.to_string())
                .replace("$CI_NODE_INDEX", &k.to_string())
                .replace("$CI_NODE_TOTAL", "3")
                .replace("$((JOB_COMPLETION_INDEX + 1))", &k.to_string())
                .replace("$JOB_COMPLETION_INDEX", &(k - 1).to_string())
                .replace(" /reports/", " reports/");
            let out = run_line(tmp.path(), &line, &[]);
            assert_eq!(out.code, Some(0), "`{line}`:\n{}{}", out.stdout, out.stderr);
            let junit = line
                .split_whitespace()
                .skip_while(|a| *a != "--junit")
                .nth(1)
                .unwrap_or_else(|| panic!("`{line}` writes no JUnit"));
            let xml = std::fs::read_to_string(tmp.path().join(junit))
                .unwrap_or_else(|e| panic!("`{line}`: no {junit}: {e}"));
            for case in testcases(&xml) {
                *seen.entry(case).or_default() += 1;
            }
        }
        assert_eq!(seen.len(), listing, "`{command}`: {seen:#?}");
        assert!(
            seen.values().all(|n| *n == 1),
            "`{command}` ran a scenario twice: {seen:#?}"
        );
    }
}

#[test]
fn the_validate_steps_of_the_ci_recipes_pass() {
    let commands: Vec<String> = runner_commands("docs/ci.md")
        .into_iter()
        .chain(runner_commands("docs/live-api.md"))
        .filter(|c| c.contains(" validate "))
        .collect();
    assert!(commands.len() >= 3, "{commands:#?}");
    let tmp = tempfile::tempdir().expect("tmp");
    copy_suite(tmp.path());
    for line in commands {
        let out = run_line(tmp.path(), &line, &[]);
        assert_eq!(out.code, Some(0), "`{line}`: {}", out.stderr);
        assert!(out.stdout.starts_with("ok: "), "`{line}`: {}", out.stdout);
    }
}

/// The Layers mock on 127.0.0.1, standing in for the live API.
struct StandIn {
    base: String,
    _server: layers_mock::MockServer,
    _rt: tokio::runtime::Runtime,
}

fn stand_in() -> StandIn {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let server = rt
        .block_on(layers_mock::MockServer::start(
            layers_mock::MockConfig::default(),
            ([127, 0, 0, 1], 0).into(),
        ))
        .expect("the mock starts");
    StandIn {
        base: server.base_url().to_string(),
        _server: server,
        _rt: rt,
    }
}

/// `LAYERS_API_KEY=lp_test_… runner ARGS \` (continued) as one line.
fn shell_commands(doc: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (lang, text) in fenced(doc) {
        if lang != "sh" {
            continue;
        }
        let joined = text.replace("\\\n", " ");
        for line in joined.lines() {
            let line = line.split(" #").next().unwrap_or("").trim();
            if line.contains("runner ") {
                out.push(line.to_string());
            }
        }
    }
    out
}

#[test]
fn the_live_api_procedure_works_against_a_stand_in() {
    let api = stand_in();
    let key = layers_mock::DEMO_KEY;
    let tmp = tempfile::tempdir().expect("tmp");
    copy_suite(tmp.path());
    let commands = shell_commands("docs/live-api.md");
    assert!(commands.len() >= 4, "{commands:#?}");
    for command in commands {
        let line = command
            .replace("LAYERS_API_KEY=lp_test_… ", "")
            .replace("https://api.layers.com", &api.base);
        let out = run_line(tmp.path(), &line, &[("LAYERS_API_KEY", key)]);
        assert_eq!(
            out.code,
            Some(0),
            "`{command}`:\n{}{}",
            out.stdout,
            out.stderr
        );
        let all = format!("{}{}", out.stdout, out.stderr);
        assert!(!all.contains(key), "`{command}` printed the key");
    }
    // The nightly workflow: its run steps, with the env it sets.
    let mut env_base = None;
    let mut steps = Vec::new();
    for v in yaml_blocks("docs/live-api.md") {
        let Some(jobs) = v["jobs"].as_object() else {
            continue;
        };
        for job in jobs.values() {
            for step in job["steps"].as_array().into_iter().flatten() {
                if let Some(run) = step["run"].as_str()
                    && run.contains("runner")
                {
                    if let Some(b) = step["env"]["RUNNER_BASE_URL"].as_str() {
                        env_base = Some(b.to_string());
                    }
                    steps.push(run.to_string());
                }
            }
        }
    }
    assert_eq!(env_base.as_deref(), Some("https://api.layers.com"));
    assert!(steps.len() >= 2, "{steps:#?}");
    for run in steps {
        let out = run_line(
            tmp.path(),
            &run,
            &[("RUNNER_BASE_URL", &api.base), ("LAYERS_API_KEY", key)],
        );
        assert_eq!(out.code, Some(0), "`{run}`:\n{}{}", out.stdout, out.stderr);
    }
    assert!(
        tmp.path().join("reports/live.xml").is_file(),
        "the nightly run writes its report"
    );
}

/// Every `runner` command in the shell blocks of the pages this test covers uses
/// flags and values the runner accepts: with `--help` appended, the command line
/// parser reads every argument before it, and fails on an unknown flag or a bad value.
#[test]
fn every_runner_command_in_these_docs_is_accepted() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut checked = 0;
    for doc in [
        "README.md",
        "docs/validate.md",
        "docs/reports.md",
        "docs/exit-codes.md",
        "docs/ci.md",
        "docs/live-api.md",
    ] {
        for command in shell_commands(doc) {
            let Some(start) = command.find("runner ") else {
                continue;
            };
            let rest = &command[start + "runner ".len()..];
            // The runner's arguments end where the shell's redirections and pipes start.
            let mut args: Vec<&str> = rest
                .split_whitespace()
                .take_while(|a| !matches!(*a, ">" | ">>" | "|" | "&&" | ";"))
                .collect();
            if args.first() == Some(&"--release") {
                continue; // `cargo run --release -- ...`: the runner's part follows `--`
            }
            args.push("--help");
            let out = dx::run_with_limit(tmp.path(), &args, &[], LIMIT);
            assert_eq!(
                out.code,
                Some(0),
                "{doc}: `{command}` is refused:\n{}",
                out.stderr
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} commands found");
}
