//! The JUnit report as CI reads it: valid against the schema, counts that add up,
//! failures told from errors, one testcase per scenario or per step, hostile
//! response bodies, bounded logs, and an atomic write.

#[path = "support/http_server.rs"]
mod http_server;
#[path = "support/junit_check.rs"]
mod junit_check;
#[path = "support/runner_cli.rs"]
mod runner_cli;

use std::time::Duration;

use http_server::{Reply, TestServer, closed_port};
use junit_check::Junit;
use runner_cli::Workspace;
use serde_json::json;

/// Every byte a server could use to break XML: C0 and C1 controls, `]]>`, a
/// non-character, markup characters and invalid UTF-8.
fn hostile_body() -> Vec<u8> {
    let mut b: Vec<u8> = (0u8..0x20).collect();
    b.extend_from_slice(b"\x7f ]]> <![CDATA[ x ]]> </testcase> & &amp; &#1; \"'<>");
    b.extend_from_slice("\u{80}\u{85}\u{9f} \u{FFFE}\u{FFFF} é ✓ 😀".as_bytes());
    b.extend_from_slice(&[0xff, 0xfe, 0xc3, 0x28, 0xe2, 0x82, 0xed, 0xa0, 0x80]);
    b.extend_from_slice(b" end");
    b
}

fn hostile_server() -> TestServer {
    TestServer::start(|r| match r.path.as_str() {
        "/raw" => Reply::bytes(422, "text/plain", hostile_body()),
        "/claims-json" => Reply::bytes(200, "application/json", hostile_body()),
        "/json-strings" => Reply::json(
            200,
            json!({"a": "x\u{0}y\u{1b}[31m]]>\u{7f}\u{85}\u{FFFF}", "n": 1}),
        ),
        _ => Reply::echo(r),
    })
}

const HOSTILE_SCENARIOS: &str = r#"scenarios:
  - name: "control \u0007 chars \u001b[0m in a name ]]>"
    steps:
      - name: "raw \u0001 body"
        request: {url: /raw}
        expect:
          status: 200
          body: {contains: "never there"}
  - name: capture from a hostile body
    steps:
      - name: capture
        request: {url: /claims-json}
        capture:
          x: $.x
  - name: hostile strings in JSON
    steps:
      - request: {url: /json-strings}
        expect:
          json:
            $.a: "plain"
    finally:
      - name: after
        request: {url: /raw}
        expect: {status: 422}
"#;

fn run_hostile(yaml: &str, granularity: &str) -> (Junit, runner_cli::Output) {
    let server = hostile_server();
    let ws = Workspace::new();
    ws.write("hostile.yaml", yaml);
    let out = ws.run_at(
        &server.base_url(),
        [
            "hostile.yaml",
            "--junit",
            "r.xml",
            "--junit-granularity",
            granularity,
        ],
    );
    out.expect_code(1);
    let junit = junit_check::check(&ws.path("r.xml"));
    (junit, out)
}

#[test]
fn a_mixed_run_validates_with_correct_counts_and_tells_failures_from_errors() {
    let server = TestServer::start(|r| match r.path.as_str() {
        "/slow" => Reply::echo(r).delay(Duration::from_secs(20)),
        "/missing" => Reply::json(404, json!({"error": "no such thing"})),
        _ => Reply::echo(r),
    });
    let ws = Workspace::new();
    let dead = format!("http://127.0.0.1:{}/nothing-listens", closed_port());
    ws.write(
        "api/users.yaml",
        &format!(
            r#"retries: 0
scenarios:
  - name: passes
    steps:
      - request: {{url: /ok}}
        expect: {{status: 200}}
  - name: fails an assertion
    steps:
      - name: get missing
        request: {{url: /missing}}
        expect: {{status: 200}}
  - name: cannot connect
    steps:
      - name: dead server
        request: {{url: "{dead}"}}
  - name: times out
    steps:
      - name: slow
        request: {{url: /slow}}
        timeout: 300ms
  - name: template error at run time
    vars: {{nothing: {{}}}}
    steps:
      - name: needs env
        request: {{url: "/x/{{{{ nothing.FT_RUNNER_SURELY_UNSET_VAR }}}}"}}
  - name: skipped on purpose
    skip: not ready yet
    steps:
      - request: {{url: /never}}
"#
        ),
    );
    ws.write(
        "api/health.yml",
        "name: health\nsteps:\n  - request: {url: /health}\n    expect: {status: 2xx}\n",
    );
    let out = ws.run_at(&server.base_url(), ["api", "--junit", "reports/junit.xml"]);
    out.expect_code(1);
    let junit = junit_check::check(&ws.path("reports/junit.xml"));

    assert_eq!(junit.root.name, "testsuites");
    let suites = junit.suites();
    let names: Vec<&str> = suites.iter().map(|s| s.req("name")).collect();
    assert_eq!(
        names,
        ["api/health.yml", "api/users.yaml"],
        "one testsuite per file"
    );
    assert_eq!(junit.root.req("tests"), "7");
    assert_eq!(junit.root.req("failures"), "1");
    assert_eq!(junit.root.req("errors"), "3");
    assert_eq!(junit.root.attr("skipped"), Some("1"));

    let case_names: Vec<&str> = junit.cases().iter().map(|c| c.req("name")).collect();
    assert_eq!(
        case_names,
        [
            "health",
            "passes",
            "fails an assertion",
            "cannot connect",
            "times out",
            "template error at run time",
            "skipped on purpose"
        ],
        "one testcase per scenario, named after it"
    );
    for c in junit.cases() {
        let (classname, file) = if c.req("name") == "health" {
            ("api.health", "api/health.yml")
        } else {
            ("api.users", "api/users.yaml")
        };
        assert_eq!(c.attr("classname"), Some(classname));
        assert_eq!(c.attr("file"), Some(file));
        assert!(c.attr("time").is_some());
    }
    let kind = |name: &str| -> Vec<&str> {
        junit
            .case(name)
            .children
            .iter()
            .map(|c| c.name.as_str())
            .filter(|n| matches!(*n, "failure" | "error" | "skipped"))
            .collect()
    };
    assert_eq!(kind("passes"), Vec::<&str>::new());
    assert_eq!(kind("health"), Vec::<&str>::new());
    assert_eq!(kind("fails an assertion"), ["failure"]);
    assert_eq!(
        kind("cannot connect"),
        ["error"],
        "a transport problem is an error"
    );
    assert_eq!(kind("times out"), ["error"], "a timeout is an error");
    assert_eq!(kind("template error at run time"), ["error"]);
    assert_eq!(kind("skipped on purpose"), ["skipped"]);

    let error = |name: &str| {
        junit
            .case(name)
            .child("error")
            .expect("error")
            .req("message")
            .to_string()
    };
    assert!(
        error("cannot connect").contains("connection refused"),
        "{}",
        error("cannot connect")
    );
    assert!(
        error("times out").contains("timed out"),
        "{}",
        error("times out")
    );
    assert!(
        error("template error at run time").contains("FT_RUNNER_SURELY_UNSET_VAR"),
        "{}",
        error("template error at run time")
    );
    let skipped = junit
        .case("skipped on purpose")
        .child("skipped")
        .expect("skipped");
    assert_eq!(skipped.attr("message"), Some("not ready yet"));
    assert!(server.requests_to("/never").is_empty());
}

#[test]
fn step_granularity_gives_a_testcase_per_step_and_skips_steps_after_a_failure() {
    let server = TestServer::start(|r| match r.path.as_str() {
        "/fail" => Reply::json(409, json!({"error": "conflict"})),
        "/make" => Reply::json(201, json!({"id": 5})),
        _ => Reply::echo(r),
    });
    let ws = Workspace::new();
    ws.write(
        "flow.yaml",
        r#"name: flow
steps:
  - name: make
    request: {method: POST, url: /make}
    capture: {id: $.id}
  - name: conflict
    request: {method: POST, url: /fail}
    expect: {status: 201}
  - name: after
    request: {url: "/after/{{ id }}"}
    capture: {other: $.path}
finally:
  - name: clean
    request: {method: DELETE, url: "/things/{{ id }}"}
  - name: needs other
    request: {url: "/other/{{ other }}"}
"#,
    );
    let out = ws.run_at(
        &server.base_url(),
        [
            "flow.yaml",
            "--junit",
            "r.xml",
            "--junit-granularity",
            "step",
        ],
    );
    out.expect_code(1);
    let junit = junit_check::check(&ws.path("r.xml"));
    let cases: Vec<(String, Vec<String>)> = junit
        .cases()
        .iter()
        .map(|c| {
            (
                c.req("name").to_string(),
                c.children
                    .iter()
                    .map(|k| k.name.clone())
                    .filter(|n| matches!(n.as_str(), "failure" | "error" | "skipped"))
                    .collect(),
            )
        })
        .collect();
    let expected: Vec<(String, Vec<String>)> = [
        ("flow / 1. make", vec![]),
        ("flow / 2. conflict", vec!["failure"]),
        ("flow / 3. after", vec!["skipped"]),
        ("flow / finally 1. clean", vec![]),
        ("flow / finally 2. needs other", vec!["skipped"]),
    ]
    .into_iter()
    .map(|(n, k)| (n.to_string(), k.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(cases, expected);
    assert_eq!(junit.root.req("tests"), "5");
    assert_eq!(junit.root.req("failures"), "1");
    assert_eq!(junit.root.attr("skipped"), Some("2"));
    let msg = junit
        .case("flow / 2. conflict")
        .child("failure")
        .expect("failure")
        .req("message")
        .to_string();
    assert!(msg.contains("201") && msg.contains("409"), "{msg}");
    assert_eq!(
        server.requests_to("/things/5").len(),
        1,
        "finally ran with the capture"
    );
    assert!(server.requests_to("/after/5").is_empty());
}

#[test]
fn hostile_response_bodies_keep_the_report_valid_per_scenario() {
    let (junit, _) = run_hostile(HOSTILE_SCENARIOS, "scenario");
    assert_eq!(junit.cases().len(), 3);
    assert_eq!(junit.root.req("failures"), "3");
    let named = junit
        .cases()
        .into_iter()
        .find(|c| c.req("name").starts_with("control"))
        .expect("the scenario with control characters in its name");
    assert!(named.req("name").contains("]]>"), "{:?}", named.req("name"));
    let failure = named.child("failure").expect("failure");
    assert!(
        failure.text.contains("end"),
        "the body excerpt survives: {:?}",
        failure.text
    );
}

#[test]
fn hostile_response_bodies_keep_the_report_valid_per_step() {
    let (junit, _) = run_hostile(HOSTILE_SCENARIOS, "step");
    assert_eq!(junit.cases().len(), 4);
    assert_eq!(junit.root.req("failures"), "3");
}

#[test]
fn the_console_does_not_pass_a_servers_control_characters_to_the_terminal() {
    // Names without control characters: only what the server sent is under test here.
    let yaml = HOSTILE_SCENARIOS
        .replace(
            r#""control \u0007 chars \u001b[0m in a name ]]>""#,
            "plain name",
        )
        .replace(r#""raw \u0001 body""#, "raw body");
    assert!(!yaml.contains("\\u00"), "{yaml}");
    let (_, out) = run_hostile(&yaml, "scenario");
    for c in out.stdout.chars() {
        assert!(
            !c.is_control() || c == '\n',
            "stdout holds U+{:04X}, which a server sent:\n{:?}",
            c as u32,
            out.stdout
        );
    }
}

#[test]
fn system_out_is_bounded_however_much_a_scenario_logs() {
    let big = "y".repeat(3 * 1024 * 1024);
    let server = TestServer::start(move |r| match r.path.as_str() {
        "/big" => Reply::text(500, &big),
        _ => Reply::echo(r),
    });
    let ws = Workspace::new();
    let mut yaml = String::from("name: long log\nretries: 0\nsteps:\n");
    let long_name = "n".repeat(200);
    for i in 0..400 {
        yaml.push_str(&format!(
            "  - name: step {i} {long_name}\n    request: {{url: /s/{i}/{long_name}}}\n"
        ));
    }
    yaml.push_str("  - name: big\n    request: {url: /big}\n    expect: {status: 200, body: {contains: zzz}}\n");
    ws.write("long.yaml", &yaml);
    let out = ws.run_at(&server.base_url(), ["long.yaml", "--junit", "r.xml"]);
    out.expect_code(1);
    let junit = junit_check::check(&ws.path("r.xml"));
    let case = junit.case("long log");
    let log = &case.child("system-out").expect("system-out").text;
    assert!(
        log.len() > 64 * 1024 / 2,
        "the log is there: {} bytes",
        log.len()
    );
    assert!(log.len() <= 65 * 1024, "system-out is {} bytes", log.len());
    let failure = case.child("failure").expect("failure");
    assert!(
        failure.req("message").len() < 4096,
        "message is {} bytes",
        failure.req("message").len()
    );
    assert!(
        failure.text.len() < 16 * 1024,
        "failure text is {} bytes",
        failure.text.len()
    );
    assert!(
        junit.text.len() < 256 * 1024,
        "the report is {} bytes",
        junit.text.len()
    );
}

#[test]
fn the_report_is_written_whole_and_replaces_an_old_one() {
    let server = TestServer::echo();
    let ws = Workspace::new();
    ws.write("one.yaml", "name: one\nsteps:\n  - request: {url: /one}\n");
    ws.write("out/r.xml", "<old>half a report");
    let out = ws.run_at(&server.base_url(), ["one.yaml", "--junit", "out/r.xml"]);
    out.expect_code(0);
    let junit = junit_check::check(&ws.path("out/r.xml"));
    assert_eq!(junit.cases().len(), 1);
    let left: Vec<String> = std::fs::read_dir(ws.path("out"))
        .expect("out")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        left,
        ["r.xml"],
        "no temporary file is left beside the report"
    );

    let out = ws.run_at(
        &server.base_url(),
        ["one.yaml", "--junit", "new/deep/r.xml"],
    );
    out.expect_code(0);
    junit_check::check(&ws.path("new/deep/r.xml"));

    std::fs::create_dir_all(ws.path("a-folder")).expect("mkdir");
    let out = ws.run_at(&server.base_url(), ["one.yaml", "--junit", "a-folder"]);
    out.expect_code(3);
    out.stderr_has("a-folder");
}

// --- the checker itself must be able to fail -------------------------------------------

fn rejects(xml: &str) -> bool {
    let xml = xml.to_string();
    std::panic::catch_unwind(move || {
        let junit = junit_check::parse_report(xml.as_bytes());
        junit_check::check_counts(&junit);
    })
    .is_err()
}

const GOOD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="r" tests="3" failures="1" errors="0" skipped="1" time="0.1">
  <testsuite name="f.yaml" tests="3" failures="1" errors="0" skipped="1" time="0.1">
    <testcase name="a &amp; b" classname="f" time="0.001"/>
    <testcase name="c" classname="f" time="0.001"><failure message="m">x ]]&gt; y<![CDATA[z]]></failure></testcase>
    <testcase name="d" classname="f" time="0"><skipped/></testcase>
  </testsuite>
</testsuites>"#;

#[test]
fn the_junit_checker_accepts_a_good_report_and_rejects_broken_ones() {
    assert!(!rejects(GOOD), "a good report passes");
    let junit = junit_check::parse_report(GOOD.as_bytes());
    assert_eq!(junit.case("a & b").attr("classname"), Some("f"));
    assert_eq!(
        junit.case("c").child("failure").expect("failure").text,
        "x ]]> yz"
    );
    for (why, bad) in [
        ("count", GOOD.replacen("tests=\"3\"", "tests=\"4\"", 1)),
        (
            "suite count",
            GOOD.replace(
                "failures=\"1\" errors=\"0\" skipped=\"1\" time=\"0.1\">\n    <testcase",
                "failures=\"0\" errors=\"0\" skipped=\"1\" time=\"0.1\">\n    <testcase",
            ),
        ),
        ("raw control", GOOD.replace("x ]]&gt; y", "x \u{1} y")),
        ("char ref", GOOD.replace("x ]]&gt; y", "x &#1; y")),
        ("cdata end in text", GOOD.replace("x ]]&gt; y", "x ]]> y")),
        ("unbalanced", GOOD.replace("</testsuite>", "")),
        ("entity", GOOD.replace("&amp;", "&nbsp;")),
    ] {
        assert_ne!(bad, GOOD, "{why}: the replacement applied");
        assert!(rejects(&bad), "{why} should be rejected");
    }
}

#[test]
fn the_schema_check_rejects_a_report_that_breaks_the_schema() {
    if !junit_check::xmllint_available() {
        eprintln!("note: xmllint is not installed; schema rejection not exercised");
        return;
    }
    let ws = Workspace::new();
    let good = ws.write("good.xml", GOOD);
    assert!(junit_check::schema_check(&good));
    let bad = ws.write(
        "bad.xml",
        &GOOD.replace("<testcase name=\"c\"", "<testcase"),
    );
    let result = std::panic::catch_unwind(|| junit_check::schema_check(&bad));
    assert!(
        result.is_err(),
        "a testcase without a name must fail the schema"
    );
}

#[test]
fn a_pass_after_a_retried_503_is_marked_flaky_and_still_validates() {
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let server = TestServer::start(move |r| match r.path.as_str() {
        "/shaky" if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 => {
            Reply::json(503, json!({"error": "warming up"}))
        }
        _ => Reply::echo(r),
    });
    let ws = Workspace::new();
    ws.write(
        "flaky.yaml",
        "name: shaky\nsteps:\n  - request: {url: /shaky}\n    expect: {status: 200}\n",
    );
    for granularity in ["scenario", "step"] {
        let report = format!("{granularity}.xml");
        let out = ws.run_at(
            &server.base_url(),
            [
                "flaky.yaml",
                "--junit",
                &report,
                "--junit-granularity",
                granularity,
            ],
        );
        out.expect_code(0);
        junit_check::check(&ws.path(&report));
        if granularity == "scenario" {
            out.stdout_has("flaky");
            let junit = junit_check::check(&ws.path(&report));
            let case = junit.case("shaky");
            assert!(
                case.has_child("flakyFailure"),
                "the retried attempt is recorded: {case:?}"
            );
        }
    }
    assert_eq!(
        server.requests_to("/shaky").len(),
        3,
        "503 then 200, twice over"
    );
}
