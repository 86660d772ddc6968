//! What people see after a run, locally and in CI: the JUnit `file`/`line` read the
//! way GitHub's two JUnit actions read them, GitHub workflow commands and job
//! summary, the failure recap, failing `finally` steps, reports on stdout.

#[path = "support/http_server.rs"]
mod http_server;
#[path = "support/junit_check.rs"]
mod junit_check;
#[path = "support/runner_cli.rs"]
mod runner_cli;

use http_server::{Reply, TestServer};
use junit_check::Element;
use runner_cli::Workspace;
use serde_json::json;

/// Step 1 fails at line 3; the steps after it (lines 8 and 12) do not run. GitHub's
/// actions used to annotate line 12, the last location of the failure text.
const FAIL_YAML: &str = "name: the key works
steps:
  - name: who am I
    request: {url: /whoami}
    expect:
      status: 200
      json: {$.killSwitch: true}
  - name: second
    request: {url: /whoami}
    expect: {status: 200}
  - name: third
    request: {url: /whoami}
";

const PASS_YAML: &str = "name: fine
steps:
  - name: read
    request: {url: /whoami}
";

/// A passing scenario whose cleanup fails.
const CLEANUP_YAML: &str = "name: leaves a mess
retries: 0
steps:
  - name: create
    request: {url: /whoami}
finally:
  - name: delete it
    request: {method: DELETE, url: /things/1}
";

fn server() -> TestServer {
    TestServer::start(|r| match r.path.as_str() {
        "/whoami" => Reply::json(200, json!({"killSwitch": false, "name": "demo"})),
        "/things/1" => Reply::json(500, json!({"error": "cannot delete"})),
        _ => Reply::echo(r),
    })
}

fn workspace() -> Workspace {
    let ws = Workspace::new();
    ws.write("fail.yaml", FAIL_YAML);
    ws.write("pass.yaml", PASS_YAML);
    ws.write("cleanup.yaml", CLEANUP_YAML);
    ws
}

/// `(testcase name, file, line)` as mikepenz/action-junit-report computes the
/// annotation's position (src/testParser.ts, `parseSuite` + `resolveFileAndLine`),
/// rewritten here: `file` and `line` of the testcase, else of its `<failure>`, else
/// of its testsuite; with a file and a non-zero line, those are the position;
/// otherwise the last ` …file…:NN` found in the failure text, else line 1.
fn mikepenz_positions(root: &Element, use_line_attr: bool) -> Vec<(String, String, i64)> {
    let mut out = Vec::new();
    for suite in root.children_named("testsuite") {
        for case in suite.children_named("testcase") {
            let failure = case.child("failure");
            let problem = failure.or(case.child("error"));
            let stack = problem
                .map(|p| p.text.trim().to_string())
                .unwrap_or_default();
            let file = case
                .attr("file")
                .or(failure.and_then(|f| f.attr("file")))
                .or(suite.attr("file"));
            let line = if use_line_attr {
                case.attr("line")
                    .or(failure.and_then(|f| f.attr("line")))
                    .or(suite.attr("line"))
            } else {
                None
            };
            let class = case.attr("classname").unwrap_or(case.req("name"));
            let (f, l) = resolve_file_and_line(file, line, class, &stack);
            out.push((case.req("name").to_string(), f, l));
        }
    }
    out
}

/// JavaScript's `parseInt` on the leading digits; `None` where it gives NaN.
fn parse_int(s: &str) -> Option<i64> {
    let digits: String = s.trim().chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

fn resolve_file_and_line(
    file: Option<&str>,
    line: Option<&str>,
    class: &str,
    output: &str,
) -> (String, i64) {
    let file_name = match file {
        Some(f) if !f.is_empty() => f.to_string(),
        _ => class.rsplit('.').next().unwrap_or_default().to_string(),
    };
    let number = line.and_then(parse_int);
    if let Some(n) = number
        && n != 0
        && !file_name.is_empty()
    {
        return (file_name, n);
    }
    let escaped = regex::escape(&file_name).replacen("::", "/", 1);
    let re = regex::Regex::new(&format!(" [^ ]*{escaped}.*?:\\d+")).expect("regex");
    let Some(last) = re.find_iter(output).last() else {
        return (file_name, number.filter(|n| *n != 0).unwrap_or(1));
    };
    let line = last.as_str().rsplit(':').next().unwrap_or("0");
    (file_name, parse_int(line).filter(|n| *n != 0).unwrap_or(-1))
}

/// `(testcase name, file, line, result)` as EnricoMi/publish-unit-test-result-action
/// reads them (python/publish/junit.py: junitparser, then `case._elem.get('file')`
/// and `int(case._elem.get('line'))`, the most severe result's tag). `None` when
/// python3 or junitparser is missing (`.ci/run` installs junitparser).
/// `(testcase name, file, line, result)`.
type ReadCase = (String, String, Option<i64>, String);

fn enricomi_cases(report: &std::path::Path) -> Option<Vec<ReadCase>> {
    const SCRIPT: &str = r#"
import sys
from junitparser import JUnitXml
xml = JUnitXml.fromfile(sys.argv[1])
suites = xml if xml._tag == 'testsuites' else [xml]
for suite in suites:
    for case in suite:
        results = case.result
        tags = [r._tag for r in results]
        kind = next((t for t in ['error', 'failure', 'skipped'] if t in tags), 'success')
        line = case._elem.get('line')
        print('\t'.join([case.name, case._elem.get('file') or '', str(int(line)) if line else '', kind]))
"#;
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .arg(report)
        .output()
        .ok()?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("No module named 'junitparser'"),
            "junitparser could not read the report:\n{err}"
        );
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    Some(
        text.lines()
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                (
                    f[0].to_string(),
                    f[1].to_string(),
                    f[2].parse().ok(),
                    f[3].to_string(),
                )
            })
            .collect(),
    )
}

#[test]
fn github_junit_readers_put_each_testcase_on_the_failing_steps_line() {
    let server = server();
    let ws = workspace();
    let out = ws.run_at(
        &server.base_url(),
        ["fail.yaml", "pass.yaml", "cleanup.yaml", "--junit", "r.xml"],
    );
    out.expect_code(1);
    let junit = junit_check::check(&ws.path("r.xml"));
    let want = vec![
        ("the key works".to_string(), "fail.yaml".to_string(), 3),
        ("fine".to_string(), "pass.yaml".to_string(), 1),
        ("leaves a mess".to_string(), "cleanup.yaml".to_string(), 7),
    ];
    assert_eq!(
        mikepenz_positions(&junit.root, true),
        want,
        "{}",
        junit.text
    );
    // Without the `line` attribute the action searches the failure text: its only
    // location is the failing step, so it lands on the same line.
    let from_text = mikepenz_positions(&junit.root, false);
    assert_eq!(from_text[0], want[0], "{}", junit.text);
    assert_eq!(from_text[2], want[2], "{}", junit.text);

    match enricomi_cases(&ws.path("r.xml")) {
        Some(cases) => assert_eq!(
            cases,
            vec![
                (
                    "the key works".into(),
                    "fail.yaml".into(),
                    Some(3),
                    "failure".into()
                ),
                ("fine".into(), "pass.yaml".into(), Some(1), "success".into()),
                (
                    "leaves a mess".into(),
                    "cleanup.yaml".into(),
                    Some(7),
                    "failure".into()
                ),
            ]
        ),
        None => eprintln!(
            "note: python3's junitparser is not installed (`.ci/run` installs it): EnricoMi's reading of the report was not checked"
        ),
    }
}

#[test]
fn a_failing_finally_step_fails_its_scenario_everywhere() {
    let server = server();
    let ws = workspace();
    let out = ws.run_at(
        &server.base_url(),
        [
            "cleanup.yaml",
            "--junit",
            "r.xml",
            "--report-json",
            "r.json",
        ],
    );
    out.expect_code(1);
    out.stdout_has("FAIL  leaves a mess  cleanup.yaml")
        .stdout_has("      finally step 1 \"delete it\"  DELETE ")
        .stdout_has("0 passed, 1 failed");
    let junit = junit_check::check(&ws.path("r.xml"));
    let case = &junit.first_case();
    let failure = case.child("failure").expect("a <failure>");
    assert!(
        failure
            .req("message")
            .starts_with("finally step 1 \"delete it\": status: expected a success"),
        "{}",
        junit.text
    );
    assert!(
        failure
            .text
            .starts_with("finally step 1 \"delete it\" (cleanup.yaml:7)"),
        "{}",
        junit.text
    );
    let report: serde_json::Value = serde_json::from_str(&ws.read("r.json")).expect("JSON report");
    assert_eq!(report["summary"]["failed"], 1);
    assert_eq!(report["scenarios"][0]["steps"][1]["phase"], "finally");
    assert_eq!(report["scenarios"][0]["steps"][1]["outcome"], "failed");
}

#[test]
fn the_console_ends_with_a_recap_of_what_did_not_pass() {
    let server = server();
    let ws = workspace();
    let out = ws.run_at(
        &server.base_url(),
        ["fail.yaml", "pass.yaml", "cleanup.yaml"],
    );
    out.expect_code(1);
    let recap: Vec<&str> = out
        .stdout
        .split("did not pass (2):\n")
        .nth(1)
        .unwrap_or_default()
        .lines()
        .collect();
    assert_eq!(
        recap.get(..2).unwrap_or_default(),
        [
            "  FAIL  the key works  fail.yaml:3  step 1 \"who am I\": $.killSwitch: expected true, got false",
            "  FAIL  leaves a mess  cleanup.yaml:7  finally step 1 \"delete it\": status: expected a success (2xx; write `expect: status:` to accept others), got 500",
        ],
        "{}",
        out.stdout
    );
    assert!(
        recap
            .get(2)
            .is_some_and(|l| l.starts_with("1 passed, 2 failed  (")),
        "{}",
        out.stdout
    );
}

#[test]
fn github_actions_gets_annotations_and_a_job_summary() {
    let server = server();
    let ws = workspace();
    let summary = ws.path("step-summary.md");
    std::fs::write(&summary, "earlier step\n").expect("summary file");
    let out = ws
        .runner()
        .args(["fail.yaml", "pass.yaml"])
        .base_url(&server.base_url())
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", summary.to_str().expect("utf-8 path"))
        .run();
    out.expect_code(1);
    out.stdout_has(
        "::error file=fail.yaml,line=3,title=FAIL%3A the key works::step 1 \"who am I\": $.killSwitch: expected true, got false\n",
    );
    assert!(!out.stdout.contains("file=pass.yaml"), "{}", out.stdout);
    let md = ws.read("step-summary.md");
    assert!(
        md.starts_with("earlier step\n### runner: 1 passed, 1 failed"),
        "{md}"
    );
    assert!(
        md.contains("| FAIL | the key works | `fail.yaml:3` |"),
        "{md}"
    );

    // Outside GitHub Actions: no workflow commands.
    let plain = ws.run_at(&server.base_url(), ["fail.yaml"]);
    assert!(!plain.stdout.contains("::error"), "{}", plain.stdout);
}

#[test]
fn reports_go_to_stdout_with_a_dash() {
    let server = server();
    let ws = workspace();
    let out = ws.run_at(&server.base_url(), ["fail.yaml", "--junit", "-"]);
    out.expect_code(1);
    assert!(out.stdout.starts_with("<?xml"), "{}", out.stdout);
    assert!(
        out.stdout.trim_end().ends_with("</testsuites>"),
        "{}",
        out.stdout
    );
    assert!(!ws.path("-").exists(), "no file named `-`");
    assert!(
        out.stderr.contains("FAIL  the key works"),
        "the console goes to stderr: {}",
        out.stderr
    );

    let out = ws.run_at(&server.base_url(), ["fail.yaml", "--report-json", "-"]);
    out.expect_code(1);
    let report: serde_json::Value =
        serde_json::from_str(&out.stdout).expect("stdout is the JSON report");
    let step = &report["scenarios"][0]["steps"][0];
    let curl = step["curl"].as_str().unwrap_or_default();
    assert!(
        curl.starts_with(&format!("curl \\\n  {}/whoami \\\n", server.base_url())),
        "a failing step carries its curl reproducer: {curl}"
    );
    assert!(report["scenarios"][0]["steps"][1].get("curl").is_none());

    let sent = server.requests().len();
    let both = ws.run_at(
        &server.base_url(),
        ["fail.yaml", "--junit", "-", "--report-json", "-"],
    );
    both.expect_code(2)
        .stderr_has("both ask for standard output");
    assert_eq!(
        server.requests().len(),
        sent,
        "nothing is sent for a refused command line"
    );
}

#[test]
fn a_misspelt_subcommand_gets_a_suggestion_not_a_run() {
    let ws = workspace();
    for (typo, meant) in [
        ("valdate", "validate"),
        ("lsit", "list"),
        ("shcema", "schema"),
    ] {
        let out = ws.runner().args([typo, "pass.yaml"]).run();
        out.expect_code(2);
        assert!(
            out.stderr.contains(&format!("'{meant}'")),
            "`{typo}` should suggest `{meant}`:\n{}",
            out.stderr
        );
        assert!(!out.stderr.contains("no such file"), "{}", out.stderr);
    }
    // A path is still a path, whatever it looks like.
    ws.write(
        "valdate",
        "name: x\nskip: not now\nsteps:\n  - request: {url: /x}\n",
    );
    let out = ws.runner().arg("valdate").run();
    out.expect_code(0).stdout_has("SKIP  x  valdate");
}

#[test]
fn completions_and_a_man_page_are_printed() {
    let ws = Workspace::new();
    for (shell, marker) in [
        ("bash", "complete -F _runner"),
        ("zsh", "#compdef runner"),
        ("fish", "complete -c runner"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = ws.runner().args(["completions", shell]).run();
        out.expect_code(0).stdout_has(marker).stdout_has("validate");
    }
    let out = ws.runner().args(["completions", "tcsh"]).run();
    out.expect_code(2);
    let man = ws.runner().arg("man").run();
    man.expect_code(0)
        .stdout_has(".TH runner")
        .stdout_has("validate");
}

/// A server whose `/flaky` fails the first `fails` times, then answers 200.
fn flaky_server(fails: usize) -> TestServer {
    let seen = std::sync::atomic::AtomicUsize::new(0);
    TestServer::start(move |r| match r.path.as_str() {
        "/flaky" => {
            let n = seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if n < fails {
                Reply::json(500, json!({"n": n}))
            } else {
                Reply::json(200, json!({"n": n}))
            }
        }
        "/always-500" => Reply::json(500, json!({})),
        _ => Reply::json(200, json!({})),
    })
}

const FLAKY_YAML: &str = "name: sometimes
retries: 0
scenario_retries: 2
steps:
  - name: flaky
    request: {url: /flaky}
    expect: {status: 200}
finally:
  - name: cleanup
    request: {url: /cleanup}
";

#[test]
fn a_scenario_that_passes_on_a_later_attempt_is_flaky() {
    let server = flaky_server(1);
    let ws = Workspace::new();
    ws.write("flaky.yaml", FLAKY_YAML);
    let out = ws.run_at(
        &server.base_url(),
        ["flaky.yaml", "--junit", "r.xml", "--report-json", "r.json"],
    );
    out.expect_code(0)
        .stdout_has("FLAKY sometimes  flaky.yaml")
        .stdout_has("attempt 1 of the scenario did not pass (flaky.yaml:5): step 1 \"flaky\": status: expected 200, got 500")
        .stdout_has("1 passed, 0 failed, 1 flaky");
    assert_eq!(
        server.requests_to("/flaky").len(),
        2,
        "run again from its first step"
    );
    assert_eq!(
        server.requests_to("/cleanup").len(),
        2,
        "its finally steps each time"
    );
    let junit = junit_check::check(&ws.path("r.xml"));
    let case = junit.first_case();
    assert!(!case.has_child("failure"), "{}", junit.text);
    let flaky: Vec<&Element> = case.children_named("flakyFailure").collect();
    assert_eq!(flaky.len(), 1, "{}", junit.text);
    assert_eq!(
        flaky[0].req("message"),
        "attempt failed: step 1 \"flaky\": status: expected 200, got 500"
    );
    let report: serde_json::Value = serde_json::from_str(&ws.read("r.json")).expect("JSON");
    assert_eq!(report["summary"]["flaky"], 1);
    assert_eq!(report["scenarios"][0]["flaky"], true);
    assert_eq!(
        report["scenarios"][0]["previous_attempts"][0]["location"],
        "flaky.yaml:5"
    );

    // --flaky-fails: the same run fails.
    let server = flaky_server(1);
    let out = ws.run_at(&server.base_url(), ["flaky.yaml", "--flaky-fails"]);
    out.expect_code(1).stdout_has("1 flaky");
}

#[test]
fn scenario_retries_from_the_command_line_and_their_limit() {
    let ws = Workspace::new();
    ws.write(
        "always.yaml",
        "name: always broken\nretries: 0\nsteps:\n  - request: {url: /always-500}\n    expect: {status: 200}\n",
    );
    // Without retries a failure runs once.
    let server = flaky_server(0);
    ws.run_at(&server.base_url(), ["always.yaml"])
        .expect_code(1);
    assert_eq!(server.requests_to("/always-500").len(), 1);
    // --scenario-retries 2: three attempts, all failed: a failure with two reruns.
    let server = flaky_server(0);
    let out = ws.run_at(
        &server.base_url(),
        ["always.yaml", "--scenario-retries", "2", "--junit", "r.xml"],
    );
    out.expect_code(1)
        .stdout_has("RETRY always broken  attempt 2 of 3 did not pass");
    assert_eq!(server.requests_to("/always-500").len(), 3);
    let junit = junit_check::check(&ws.path("r.xml"));
    let case = junit.first_case();
    assert!(case.has_child("failure"), "{}", junit.text);
    assert_eq!(
        case.children_named("rerunFailure").count(),
        2,
        "{}",
        junit.text
    );
    // A scenario's own `scenario_retries: 0` wins over the command line.
    ws.write(
        "always.yaml",
        "name: always broken\nretries: 0\nscenario_retries: 0\nsteps:\n  - request: {url: /always-500}\n    expect: {status: 200}\n",
    );
    let server = flaky_server(0);
    ws.run_at(
        &server.base_url(),
        ["always.yaml", "--scenario-retries", "2"],
    )
    .expect_code(1);
    assert_eq!(server.requests_to("/always-500").len(), 1);
}

#[test]
fn rerun_failed_runs_only_what_failed_last_time() {
    let server = server();
    let ws = workspace();
    let first = ws.run_at(
        &server.base_url(),
        [
            "fail.yaml",
            "pass.yaml",
            "cleanup.yaml",
            "--report-json",
            "run.json",
        ],
    );
    first.expect_code(1);
    // Bare --rerun-failed reads the file of --report-json.
    let again = ws
        .runner()
        .args([
            "fail.yaml",
            "pass.yaml",
            "cleanup.yaml",
            "--report-json",
            "run.json",
        ])
        .args(["--rerun-failed"])
        .base_url(&server.base_url())
        .run();
    again
        .expect_code(1)
        .stderr_has("running the 2 scenarios that failed or errored in run.json");
    again.stdout_has("FAIL  the key works");
    again.stdout_has("FAIL  leaves a mess");
    assert!(!again.stdout.contains("fine"), "{}", again.stdout);
    // An explicit file; a previous run that passed leaves nothing to run.
    ws.run_at(
        &server.base_url(),
        ["pass.yaml", "--report-json", "green.json"],
    )
    .expect_code(0);
    let sent = server.requests().len();
    let nothing = ws.run_at(
        &server.base_url(),
        ["pass.yaml", "fail.yaml", "--rerun-failed=green.json"],
    );
    nothing
        .expect_code(0)
        .stderr_has("no scenario failed or errored in green.json: nothing to run");
    assert_eq!(server.requests().len(), sent);
    // Problems with the previous report are usage errors: nothing is sent.
    ws.write("not-a-report.json", "[1, 2]");
    for (args, says) in [
        (vec!["--rerun-failed"], "which report?"),
        (
            vec!["--rerun-failed=missing.json"],
            "cannot read the previous run's report missing.json",
        ),
        (vec!["--rerun-failed=fail.yaml"], "is not a JSON report"),
        (
            vec!["--rerun-failed=not-a-report.json"],
            "has no `scenarios` list",
        ),
        (
            vec!["--rerun-failed", "green.json"],
            "write --rerun-failed=green.json (with `=`)",
        ),
    ] {
        let out = ws
            .runner()
            .arg("pass.yaml")
            .args(args)
            .base_url(&server.base_url())
            .run();
        out.expect_code(2).stderr_has(says);
    }
    assert_eq!(server.requests().len(), sent);
}

#[test]
fn a_dry_run_shows_the_base_url_a_real_run_would_use() {
    let ws = workspace();
    let given = ws
        .runner()
        .args([
            "pass.yaml",
            "--dry-run",
            "--base-url",
            "https://staging.example.com/api",
        ])
        .run();
    given
        .expect_code(0)
        .stdout_has("> GET https://staging.example.com/api/whoami");
    let from_env = ws
        .runner()
        .args(["pass.yaml", "--dry-run"])
        .env("RUNNER_BASE_URL", "https://env.example.com")
        .run();
    from_env
        .expect_code(0)
        .stdout_has("> GET https://env.example.com/whoami");
    let mock = ws.runner().args(["pass.yaml", "--dry-run"]).run();
    mock.expect_code(0)
        .stdout_has("> GET http://layers-mock.invalid/whoami")
        .stderr_has("a real run would use the embedded Layers mock");
    assert!(!mock.all().contains("127.0.0.1:0"), "{}", mock.all());
}

#[test]
fn validate_lists_every_problem_of_a_file_in_one_run() {
    let ws = Workspace::new();
    ws.write(
        "many.yaml",
        r#"name: many problems
steps:
  - name: one
    request:
      method: GTE
      url: "/v1/projects/{{ projct_id }}"
    timeout: 5 parsecs
    expect:
      status: 200
      json:
        "$.[bad": 1
      body:
        matches: "(unclosed"
"#,
    );
    let out = ws.runner().args(["validate", "many.yaml"]).run();
    out.expect_code(2)
        .stderr_has("5 problems found; nothing was sent");
    let at = |what: &str| {
        out.stderr
            .find(what)
            .unwrap_or_else(|| panic!("no {what:?} in:\n{}", out.stderr))
    };
    let order = [
        at("unknown method `GTE`"),
        at("undefined variable `projct_id`"),
        at("unknown unit `parsecs`"),
        at("invalid JSONPath `$.[bad`"),
        at("invalid regex `(unclosed`"),
    ];
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "in file order:\n{}",
        out.stderr
    );
}

#[test]
fn a_capture_that_finds_nothing_is_a_failure_everywhere_and_shows_the_body_once() {
    let server = server();
    let ws = Workspace::new();
    ws.write(
        "capture.yaml",
        "name: capture misses\nsteps:\n  - name: read\n    request: {url: /whoami}\n    capture:\n      job_id: $.jobId\n",
    );
    let out = ws.run_at(
        &server.base_url(),
        [
            "capture.yaml",
            "--junit",
            "r.xml",
            "--report-json",
            "r.json",
        ],
    );
    out.expect_code(1)
        .stdout_has("FAIL  capture misses")
        .stdout_has("capture job_id: expected a value at $.jobId, got nothing; body: {");
    let details = out
        .stdout
        .split("did not pass (1):")
        .next()
        .unwrap_or_default();
    assert_eq!(
        details.matches("\"killSwitch\"").count(),
        1,
        "{}",
        out.stdout
    );
    let junit = junit_check::check(&ws.path("r.xml"));
    let case = junit.first_case();
    assert_eq!(
        case.child("failure")
            .map(|f| f.req("type").to_string())
            .as_deref(),
        Some("Assertion"),
        "{}",
        junit.text
    );
    let report: serde_json::Value = serde_json::from_str(&ws.read("r.json")).expect("JSON");
    assert_eq!(report["scenarios"][0]["outcome"], "failed");
    assert_eq!(report["summary"]["errors"], 0);
}
