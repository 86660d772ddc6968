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
    let explicit = ws.runner().args(["run", "one.yaml"]).base_url(&base).run();
    let implicit = ws.runner().args(["one.yaml"]).base_url(&base).run();
    let flag_first = ws.runner().args(["--base-url", &base, "one.yaml"]).run();
    for out in [&explicit, &implicit, &flag_first] {
        out.expect_code(0);
    }
    assert_eq!(
        server.requests_to("/hello").len(),
        3,
        "every form ran the scenario"
    );
    for out in [&explicit, &implicit, &flag_first] {
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
    let out = ws.run_at(
        &server.base_url(),
        ["suite", "extra.yaml", "--jobs", "1", "--junit", "r.xml"],
    );
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
        .args(["where.yaml"])
        .base_url(&flag.base_url())
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
    let code = |args: &[&str]| ws.runner().args(args).base_url(&base).run().code;
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
    let out = ws.run_at(
        &server.base_url(),
        ["fifty.yaml", "--jobs", "8", "--junit", "r.xml"],
    );
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
    let reqs = server.requests();
    let overlapping = reqs.iter().enumerate().any(|(i, a)| {
        reqs.iter()
            .skip(i + 1)
            .any(|b| match (a.finished, b.finished) {
                (Some(fa), Some(fb)) => b.arrived < fa && a.arrived < fb,
                _ => false,
            })
    });
    assert!(
        overlapping,
        "no two requests were in flight at the same time"
    );
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

#[test]
fn bad_scenario_files_exit_2_naming_the_file_and_never_panic() {
    let server = TestServer::echo();
    let ws = Workspace::new();
    let ok_step = "steps:\n  - request: {url: /x}\n";
    let deep = format!(
        "name: deep\nvars:\n  v: {}{}\n{ok_step}",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let mut bomb = String::from("name: bomb\nvars:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let prev = i - 1;
        bomb.push_str(&format!(
            "  a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
        ));
    }
    bomb.push_str(ok_step);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", b"".to_vec()),
        ("comments only", b"# nothing\n# here\n".to_vec()),
        ("nul byte", b"name: a\0b\nsteps: []\n".to_vec()),
        ("not utf-8", b"name: \xff\xfe\nsteps: []\n".to_vec()),
        ("a list", b"- a\n- b\n".to_vec()),
        ("a scalar", b"just text\n".to_vec()),
        ("tab indent", b"name: t\nsteps:\n\t- request: {url: /x}\n".to_vec()),
        ("unclosed quote", b"name: \"open\nsteps: []\n".to_vec()),
        ("unclosed flow", b"name: u\nsteps:\n  - request: {url: /x\n".to_vec()),
        ("deep nesting", deep.into_bytes()),
        ("alias bomb", bomb.into_bytes()),
        ("duplicate key", format!("name: a\nname: b\n{ok_step}").into_bytes()),
        ("no name", ok_step.as_bytes().to_vec()),
        ("no steps", b"name: lonely\n".to_vec()),
        ("steps not a list", b"name: s\nsteps: 5\n".to_vec()),
        ("no url", b"name: s\nsteps:\n  - request: {method: GET}\n".to_vec()),
        ("status 999", b"name: s\nsteps:\n  - request: {url: /x}\n    expect: {status: 999}\n".to_vec()),
        ("status words", b"name: s\nsteps:\n  - request: {url: /x}\n    expect: {status: okay}\n".to_vec()),
        ("bad method", b"name: s\nsteps:\n  - request: {method: FETCH, url: /x}\n".to_vec()),
        ("nan body", b"name: s\nsteps:\n  - request: {url: /x, json: {a: .nan}}\n".to_vec()),
        ("huge number", b"name: s\nsteps:\n  - request: {url: /x, json: {a: 1e999}}\n".to_vec()),
        ("negative timeout", b"name: s\nsteps:\n  - request: {url: /x}\n    timeout: -5s\n".to_vec()),
        ("zero attempts", b"name: s\nsteps:\n  - request: {url: /x}\n    retry: {until: {status: 200}, attempts: 0}\n".to_vec()),
        ("shrinking backoff", b"name: s\nsteps:\n  - request: {url: /x}\n    retry: {until: {status: 200}, backoff: 0.5}\n".to_vec()),
        ("nan backoff", b"name: s\nsteps:\n  - request: {url: /x}\n    retry: {until: {status: 200}, backoff: .nan}\n".to_vec()),
        ("template syntax", b"name: s\nsteps:\n  - request: {url: \"/{{ unclosed\"}\n".to_vec()),
        ("unknown filter", b"name: s\nsteps:\n  - request: {url: \"/{{ 'a' | nope }}\"}\n".to_vec()),
        ("unknown function", b"name: s\nsteps:\n  - request: {url: \"/{{ nope() }}\"}\n".to_vec()),
        ("bad jsonpath", b"name: s\nsteps:\n  - request: {url: /x}\n    capture: {a: \"$[?(\"}\n".to_vec()),
        ("bad regex", b"name: s\nsteps:\n  - request: {url: /x}\n    expect: {body: {matches: \"(\"}}\n".to_vec()),
        ("missing include", b"name: s\nsteps:\n  - include: nowhere.yaml\n".to_vec()),
        ("self include", b"name: s\nsteps:\n  - include: self_include.yaml\n".to_vec()),
        ("empty matrix", b"name: s\nmatrix: {a: []}\nsteps:\n  - request: {url: /x}\n".to_vec()),
        ("huge matrix", b"name: s\nmatrix: {a: [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25], b: [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25], c: [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25]}\nsteps:\n  - request: {url: /x}\n".to_vec()),
        ("two bodies", b"name: s\nsteps:\n  - request: {url: /x, json: {}, body: text}\n".to_vec()),
    ];
    for (what, bytes) in &cases {
        let file = format!("{}.yaml", what.replace(' ', "_"));
        std::fs::write(ws.path(&file), bytes).expect("write");
        let out = ws
            .runner()
            .args([file.as_str(), "--base-url", &server.base_url()])
            .run();
        assert_eq!(
            out.code,
            Some(2),
            "{what}: expected exit 2\n--- stdout:\n{}\n--- stderr:\n{}",
            out.stdout,
            out.stderr
        );
        assert!(!out.stderr.contains("panicked"), "{what}: {}", out.stderr);
        assert!(
            out.stderr.contains("error"),
            "{what}: no error shown: {}",
            out.stderr
        );
        assert!(
            out.stderr.contains(&file),
            "{what}: the message does not name {file}: {}",
            out.stderr
        );
    }
    assert!(server.requests().is_empty(), "{:?}", server.requests());
}

#[test]
fn a_file_named_twice_runs_once() {
    let server = TestServer::echo();
    let ws = Workspace::new();
    ws.write("suite/a.yaml", "name: a\nsteps:\n  - request: {url: /a}\n");
    ws.write("suite/b.yaml", "name: b\nsteps:\n  - request: {url: /b}\n");
    // A link to a file of the folder is that file again.
    #[cfg(unix)]
    std::os::unix::fs::symlink("a.yaml", ws.path("suite/c.yaml")).unwrap();
    let out = ws.run_at(
        &server.base_url(),
        [
            "suite",
            "suite/a.yaml",
            "./suite/b.yaml",
            "--junit",
            "r.xml",
        ],
    );
    out.expect_code(0);
    assert_eq!(server.requests_to("/a").len(), 1);
    assert_eq!(server.requests_to("/b").len(), 1);
    let junit = junit_check::check(&ws.path("r.xml"));
    let suites: Vec<&str> = junit.suites().iter().map(|s| s.req("name")).collect();
    assert_eq!(suites, ["suite/a.yaml", "suite/b.yaml"]);
    assert!(
        out.last_line().starts_with("2 passed, 0 failed"),
        "{}",
        out.stdout
    );
}
