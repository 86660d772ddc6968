//! The command line as CI uses it: the smoke scenario, `run` as the default command,
//! folders as paths, several scenarios in a file, where requests go (base URL
//! precedence), the console's shape, exit codes, and scenarios running concurrently.

#[path = "support/http_server.rs"]
mod http_server;
#[path = "support/junit_check.rs"]
mod junit_check;
#[path = "support/runner_cli.rs"]
mod runner_cli;

use std::collections::BTreeMap;
use std::time::Duration;

use http_server::{Reply, TestServer};
use runner_cli::{Runner, Workspace};
use serde_json::json;

#[test]
fn the_smoke_scenario_passes_against_the_embedded_mock_and_says_what_it_did() {
    let repo = env!("CARGO_MANIFEST_DIR");
    let ws = Workspace::new();
    let report = ws.path("smoke.xml");
    let out = Runner::new(std::path::Path::new(repo))
        .arg("scenarios/smoke.yaml")
        .arg("--junit")
        .arg(&report)
        .run();
    out.expect_code(0);
    out.stderr_has("using the embedded Layers mock at http://127.0.0.1:");
    let pass = out
        .stdout
        .lines()
        .find(|l| l.starts_with("PASS"))
        .unwrap_or_else(|| panic!("no PASS line:\n{}", out.stdout));
    assert!(
        pass.contains("ci smoke") && pass.contains("scenarios/smoke.yaml"),
        "{pass}"
    );
    assert!(
        out.last_line().starts_with("1 passed, 0 failed"),
        "last line: {:?}",
        out.last_line()
    );
    let junit = junit_check::check(&report);
    let case = junit.case("ci smoke");
    assert_eq!(case.attr("classname"), Some("scenarios.smoke"));
    let log = &case.child("system-out").expect("system-out").text;
    for step in [
        "step 1 \"whoami\": ok",
        "step 2 \"create throwaway project\": ok",
        "step 3 \"start App Store ingest\": ok",
        "finally step 1 \"cancel the ingest\": ok",
    ] {
        assert!(log.contains(step), "{step:?} missing from\n{log}");
    }
}

#[test]
fn run_is_the_default_subcommand() {
    let server = TestServer::echo();
    let ws = Workspace::new();
    ws.write(
        "one.yaml",
        "name: default command\nsteps:\n  - request: {url: /hello}\n    expect: {status: 200}\n",
    );
    let base = server.base_url();
    let explicit = ws
        .runner()
        .args(["run", "one.yaml", "--base-url", &base])
        .run();
    let implicit = ws.runner().args(["one.yaml", "--base-url", &base]).run();
    explicit.expect_code(0);
    implicit.expect_code(0);
    assert_eq!(
        server.requests_to("/hello").len(),
        2,
        "both forms ran the scenario"
    );
    for out in [&explicit, &implicit] {
        out.stdout_has("PASS  default command");
        assert!(
            out.last_line().starts_with("1 passed, 0 failed"),
            "{}",
            out.stdout
        );
    }
}

#[test]
fn folders_expand_to_every_yaml_file_below_in_sorted_order() {
    let server = TestServer::echo();
    let ws = Workspace::new();
    let scenario = |n: &str| format!("name: {n}\nsteps:\n  - request: {{url: /{n}}}\n");
    ws.write("suite/b.yaml", &scenario("b"));
    ws.write("suite/a.yml", &scenario("a"));
    ws.write("suite/nested/c.yaml", &scenario("c"));
    ws.write("suite/nested/deeper/d.yml", &scenario("d"));
    ws.write("suite/notes.txt", "not a scenario");
    ws.write("suite/README.md", "# not a scenario either");
    ws.write("extra.yaml", &scenario("e"));
    let out = ws
        .runner()
        .args(["suite", "extra.yaml", "--jobs", "1", "--junit", "r.xml"])
        .args(["--base-url", &server.base_url()])
        .run();
    out.expect_code(0);
    let order: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        order,
        ["/a", "/b", "/c", "/d", "/e"],
        "sorted files, then the next path"
    );
    let junit = junit_check::check(&ws.path("r.xml"));
    let suites: Vec<&str> = junit.suites().iter().map(|s| s.req("name")).collect();
    assert_eq!(
        suites,
        [
            "suite/a.yml",
            "suite/b.yaml",
            "suite/nested/c.yaml",
            "suite/nested/deeper/d.yml",
            "extra.yaml"
        ]
    );
    assert!(
        out.last_line().starts_with("5 passed, 0 failed"),
        "{}",
        out.stdout
    );
}

#[test]
fn several_scenarios_in_one_file_share_its_vars_and_headers() {
    let server = TestServer::echo();
    let ws = Workspace::new();
    ws.write(
        "many.yaml",
        r#"vars:
  tenant: acme
  region: eu
headers:
  X-Tenant: "{{ tenant }}"
scenarios:
  - name: first
    steps:
      - request: {url: "/first/{{ tenant }}/{{ region }}"}
  - name: second
    vars:
      region: us
    headers:
      X-Extra: "yes"
    steps:
      - request: {url: "/second/{{ tenant }}/{{ region }}"}
"#,
    );
    let out = ws
        .runner()
        .args([
            "many.yaml",
            "--base-url",
            &server.base_url(),
            "--junit",
            "r.xml",
        ])
        .run();
    out.expect_code(0);
    let first = server.requests_to("/first/acme/eu");
    let second = server.requests_to("/second/acme/us");
    assert_eq!(
        (first.len(), second.len()),
        (1, 1),
        "{:?}",
        server.requests()
    );
    assert_eq!(first[0].header("x-tenant"), Some("acme"));
    assert_eq!(first[0].header("x-extra"), None);
    assert_eq!(second[0].header("x-tenant"), Some("acme"));
    assert_eq!(second[0].header("x-extra"), Some("yes"));
    let junit = junit_check::check(&ws.path("r.xml"));
    assert_eq!(junit.suites().len(), 1, "one testsuite per file");
    let names: Vec<&str> = junit.cases().iter().map(|c| c.req("name")).collect();
    assert_eq!(names, ["first", "second"]);
}

#[test]
fn base_url_precedence_flag_then_env_then_file_then_embedded_mock() {
    let flag = TestServer::echo();
    let env = TestServer::echo();
    let file = TestServer::echo();
    let ws = Workspace::new();
    ws.write(
        "where.yaml",
        &format!(
            "name: where\nbase_url: {}\nsteps:\n  - request: {{url: /where}}\n",
            file.base_url()
        ),
    );
    ws.write(
        "nowhere.yaml",
        r#"name: nowhere
headers:
  X-Api-Key: lp_test_01JMOCKDEM0KEY00_bW9jay1vbmx5LWRlbW8ta2V5LW5vdC1hLXNlY3JldDA
steps:
  - request: {url: /v1/whoami}
    expect: {status: 200}
"#,
    );
    let count = || [&flag, &env, &file].map(|s| s.requests_to("/where").len());

    let out = ws
        .runner()
        .args(["where.yaml", "--base-url", &flag.base_url()])
        .env("RUNNER_BASE_URL", &env.base_url())
        .run();
    out.expect_code(0);
    assert_eq!(count(), [1, 0, 0], "--base-url wins");

    ws.runner()
        .arg("where.yaml")
        .env("RUNNER_BASE_URL", &env.base_url())
        .run()
        .expect_code(0);
    assert_eq!(
        count(),
        [1, 1, 0],
        "RUNNER_BASE_URL beats the file's base_url"
    );

    let out = ws.runner().arg("where.yaml").run();
    out.expect_code(0);
    assert_eq!(
        count(),
        [1, 1, 1],
        "the file's base_url when nothing else is given"
    );
    assert!(
        !out.stderr.contains("embedded Layers mock"),
        "no mock when the file names a server: {}",
        out.stderr
    );

    let out = ws.runner().arg("nowhere.yaml").run();
    out.expect_code(0);
    out.stderr_has("no base URL given")
        .stderr_has("using the embedded Layers mock at http://127.0.0.1:");
    assert_eq!(
        count(),
        [1, 1, 1],
        "the mock run sent nothing to the test servers"
    );
}

#[test]
fn the_console_prints_a_line_per_scenario_and_a_summary_last() {
    let server = TestServer::start(|r| match r.path.as_str() {
        "/bad" => Reply::json(500, json!({"error": "boom"})),
        _ => Reply::json(200, json!({"ok": true})),
    });
    let ws = Workspace::new();
    ws.write(
        "mixed.yaml",
        r#"scenarios:
  - name: good one
    steps:
      - request: {url: /good}
        expect: {status: 200}
  - name: bad one
    steps:
      - name: call bad
        request: {url: /bad}
        expect: {status: 200}
  - name: good two
    steps:
      - request: {url: /good}
"#,
    );
    let out = ws
        .runner()
        .args([
            "mixed.yaml",
            "--base-url",
            &server.base_url(),
            "--retries",
            "0",
        ])
        .run();
    out.expect_code(1);
    let scenario_lines: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("PASS") || l.starts_with("FAIL"))
        .collect();
    assert_eq!(scenario_lines.len(), 3, "{}", out.stdout);
    for (name, verdict) in [
        ("good one", "PASS"),
        ("bad one", "FAIL"),
        ("good two", "PASS"),
    ] {
        let line = scenario_lines
            .iter()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("no line for {name}:\n{}", out.stdout));
        assert!(line.starts_with(verdict), "{line}");
        assert!(line.contains("mixed.yaml"), "{line}");
        let ms = line
            .trim_end()
            .strip_suffix(" ms")
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse::<u64>().ok());
        assert!(ms.is_some(), "no duration at the end of {line:?}");
    }
    out.stdout_has(&format!("step 1 \"call bad\"  GET {}", server.url("/bad")))
        .stdout_has("expected status 200, got 500")
        .stdout_has(r#"body: {"error":"boom"}"#);
    assert!(
        out.last_line().starts_with("2 passed, 1 failed"),
        "last line: {:?}",
        out.last_line()
    );
}

#[test]
fn exit_codes_are_0_passed_1_failed_2_bad_input() {
    let server = TestServer::start(|r| match r.path.as_str() {
        "/no" => Reply::json(404, json!({})),
        _ => Reply::json(200, json!({})),
    });
    let ws = Workspace::new();
    ws.write(
        "pass.yaml",
        "name: p\nsteps:\n  - request: {url: /yes}\n    expect: {status: 200}\n",
    );
    ws.write(
        "fail.yaml",
        "name: f\nsteps:\n  - request: {url: /no}\n    expect: {status: 200}\n",
    );
    ws.write("broken.yaml", "name: b\nsteps:\n  - request: {url: /yes\n");
    ws.write(
        "unknown_key.yaml",
        "name: u\nstepz:\n  - request: {url: /yes}\n",
    );
    let base = server.base_url();
    let code = |args: &[&str]| {
        ws.runner()
            .args(args)
            .args(["--base-url", &base])
            .run()
            .code
    };
    assert_eq!(code(&["pass.yaml"]), Some(0));
    assert_eq!(code(&["fail.yaml"]), Some(1));
    assert_eq!(code(&["pass.yaml", "fail.yaml"]), Some(1));
    let before = server.requests().len();
    assert_eq!(code(&["broken.yaml"]), Some(2), "YAML syntax error");
    assert_eq!(
        code(&["pass.yaml", "unknown_key.yaml"]),
        Some(2),
        "unknown key"
    );
    assert_eq!(code(&["missing.yaml"]), Some(2), "no such file");
    assert_eq!(
        code(&["pass.yaml", "--no-such-flag"]),
        Some(2),
        "unknown flag"
    );
    assert_eq!(
        code(&["pass.yaml", "--jobs", "0"]),
        Some(2),
        "bad flag value"
    );
    assert_eq!(
        server.requests().len(),
        before,
        "bad input sends nothing, not even the good files' requests"
    );
    let out = ws.runner().arg("missing.yaml").run();
    out.stderr_has("missing.yaml");
}

#[test]
fn fifty_scenarios_with_jobs_8_overlap_at_the_server_and_all_pass() {
    let server = TestServer::start(|r| Reply::echo(r).delay(Duration::from_millis(100)));
    let ws = Workspace::new();
    let mut yaml = String::from("scenarios:\n");
    for i in 0..50 {
        yaml.push_str(&format!(
            "  - name: scenario {i:02}\n    steps:\n      - request: {{url: /s/{i}}}\n        expect: {{status: 200, json: {{$.path: /s/{i}}}}}\n"
        ));
    }
    ws.write("fifty.yaml", &yaml);
    let out = ws
        .runner()
        .args(["fifty.yaml", "--jobs", "8", "--junit", "r.xml"])
        .args(["--base-url", &server.base_url()])
        .run();
    out.expect_code(0);
    assert!(
        out.last_line().starts_with("50 passed, 0 failed"),
        "{}",
        out.stdout
    );
    let mut per_path: BTreeMap<String, usize> = BTreeMap::new();
    for r in server.requests() {
        *per_path.entry(r.path).or_default() += 1;
    }
    assert_eq!(per_path.len(), 50, "{per_path:?}");
    assert!(per_path.values().all(|n| *n == 1), "{per_path:?}");
    let max = server.max_in_flight();
    assert!(
        max > 1,
        "requests never overlapped at the server (max in flight {max})"
    );
    assert!(max <= 8, "--jobs 8 allowed {max} scenarios at once");
    let junit = junit_check::check(&ws.path("r.xml"));
    assert_eq!(junit.cases().len(), 50);
}

#[test]
fn an_empty_runner_base_url_is_refused_with_a_clear_message() {
    let server = TestServer::echo();
    let ws = Workspace::new();
    ws.write(
        "where.yaml",
        &format!(
            "name: where\nbase_url: {}\nsteps:\n  - request: {{url: /where}}\n",
            server.base_url()
        ),
    );
    // `RUNNER_BASE_URL: ${{ vars.STAGING_URL }}` with the variable unset: CI must not
    // quietly test something else.
    let out = ws
        .runner()
        .arg("where.yaml")
        .env("RUNNER_BASE_URL", "")
        .run();
    out.expect_code(2);
    out.stderr_has("RUNNER_BASE_URL").stderr_has("empty");
    assert!(
        !out.stderr.contains("embedded Layers mock"),
        "{}",
        out.stderr
    );
    assert!(server.requests().is_empty());
    let out = ws.runner().args(["where.yaml", "--base-url", " "]).run();
    out.expect_code(2);
    out.stderr_has("--base-url").stderr_has("empty");
    assert!(server.requests().is_empty());
}
